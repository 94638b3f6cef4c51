"""What every op file shares: running an op inside a backward, and numpy's axis rules."""
import numpy as np

from ..engine import Tensor


def call(op, *args, **params):
    """Run `op` on arrays (no graph) or apply it to Tensors (recorded).

    Lets a backward use another op and stay differentiable under create_graph.
    """
    if any(isinstance(a, Tensor) for a in args):
        return op.apply(*args, **params)
    return op.forward(op.__new__(op), *args, **params)


def norm_axis(axis, ndim):
    """`axis` as a sorted tuple of non-negative ints (None: all axes), checked against `ndim`."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for a tensor of {ndim} dimensions")
        out.append(a % max(ndim, 1))
    return tuple(sorted(out))


def keepdims_shape(shape, axes):
    """`shape` with the reduced `axes` kept as size 1 (numpy's keepdims=True shape)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))
