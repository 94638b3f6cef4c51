"""Shape functions built from the shape ops: squeeze, flip, repeat, tile, split, pad, diag ...

Most are compositions of reshape, transpose, broadcasting and indexing, so
their gradients (of every order) come from those ops. Two need ops of their
own: Clone (a recorded copy) and Pad (constant padding).
"""
import numpy as np

from ..engine import Function, Tensor
from .base import call, norm_axis
from .shape import BroadcastTo, GetItem, IndexAdd, Reshape, Transpose


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


class Clone(Function):
    """A copy of x with its own memory; the gradient passes through unchanged."""

    @staticmethod
    def forward(ctx, x):
        return np.array(x, copy=True)

    @staticmethod
    def backward(ctx, g):
        return g


class Pad(Function):
    """x padded with a constant (numpy.pad, mode='constant'); the gradient is the middle part."""

    @staticmethod
    def forward(ctx, x, pad_width, constant_values=0):
        width = np.asarray(pad_width, dtype=np.int64)
        width = np.broadcast_to(width.reshape(-1, 2) if width.size == 0 else width, (x.ndim, 2))
        if (width < 0).any():
            raise ValueError(f"pad: widths must be non-negative, got {np.asarray(pad_width).tolist()}")
        ctx.middle = tuple(slice(int(before), int(before) + n) for (before, _), n in zip(width, x.shape))
        return np.pad(x, width, mode="constant", constant_values=constant_values)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.middle]


def pad(x, pad_width, mode="constant", constant_values=0):
    """numpy.pad for Tensors, constant mode only: `pad_width` as numpy takes it ((before, after) per axis)."""
    if mode != "constant":
        raise TypeError(f"pad: mode {mode!r} has no minigrad op; only mode='constant' is "
                        "differentiable here (use .numpy() to pad outside the graph)")
    if isinstance(constant_values, Tensor) or np.ndim(constant_values) != 0:
        raise TypeError("pad: constant_values must be one number (no gradient flows to it)")
    return Pad.apply(x, pad_width=pad_width, constant_values=constant_values)


def squeeze(x, axis=None):
    """x without its size-1 axes (those in `axis`, or all), as numpy.squeeze."""
    x = _tensor(x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = norm_axis(axis, x.ndim)
        if x.ndim == 0:
            raise np.exceptions.AxisError(f"squeeze: axis {axis} is out of bounds for a 0-d tensor")
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of a tensor of shape {x.shape} has size "
                                 f"{x.shape[a]}, not 1")
    return Reshape.apply(x, shape=tuple(n for i, n in enumerate(x.shape) if i not in axes))


def expand_dims(x, axis):
    """x with new size-1 axes at the positions `axis` (an int or tuple) of the result, as numpy.expand_dims."""
    x = _tensor(x)
    axes = norm_axis(axis, x.ndim + (1 if np.ndim(axis) == 0 else len(axis)))
    shape = iter(x.shape)
    new_ndim = x.ndim + len(axes)
    return Reshape.apply(x, shape=tuple(1 if i in axes else next(shape) for i in range(new_ndim)))


def ravel(x):
    """x as a 1-D tensor in row-major order, as numpy.ravel."""
    return Reshape.apply(_tensor(x), shape=(-1,))


def moveaxis(x, source, destination):
    """x with axes `source` moved to positions `destination`, the others in order (numpy.moveaxis)."""
    x = _tensor(x)
    source = [norm_axis(int(a), x.ndim)[0] for a in np.atleast_1d(source)]
    destination = [norm_axis(int(a), x.ndim)[0] for a in np.atleast_1d(destination)]
    if len(source) != len(destination):
        raise ValueError(f"moveaxis: source {source} and destination {destination} differ in length")
    order = [a for a in range(x.ndim) if a not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return Transpose.apply(x, axes=tuple(order))


def swapaxes(x, axis1, axis2):
    """x with `axis1` and `axis2` interchanged, as numpy.swapaxes."""
    x = _tensor(x)
    axis1, axis2 = norm_axis(axis1, x.ndim)[0], norm_axis(axis2, x.ndim)[0]
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return Transpose.apply(x, axes=tuple(axes))


def flip(x, axis=None):
    """x with the order of elements reversed along `axis` (None: all axes), as numpy.flip."""
    x = _tensor(x)
    axes = norm_axis(axis, x.ndim)
    return GetItem.apply(x, index=tuple(slice(None, None, -1) if i in axes else slice(None)
                                        for i in range(x.ndim)))


def repeat(x, repeats, axis=None):
    """Each element repeated `repeats` times along `axis` (None: of the flattened x), as numpy.repeat.

    `repeats` is an int or one int per element along the axis; the gradient of
    each element is the sum over its copies.
    """
    x = _tensor(x)
    if axis is None:
        x, axis = ravel(x), 0
    axis = norm_axis(axis, x.ndim)[0]
    picks = np.repeat(np.arange(x.shape[axis]), repeats)
    return GetItem.apply(x, index=(slice(None),) * axis + (picks,))


def tile(x, reps):
    """x repeated `reps` times along each axis, as numpy.tile (built from broadcasting)."""
    x = _tensor(x)
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    ndim = max(x.ndim, len(reps))
    shape = (1,) * (ndim - x.ndim) + x.shape
    reps = (1,) * (ndim - len(reps)) + reps
    spread = tuple(n for pair in zip((1,) * ndim, shape) for n in pair)      # (1, a, 1, b ...)
    target = tuple(n for pair in zip(reps, shape) for n in pair)             # (r1, a, r2, b ...)
    tiled = BroadcastTo.apply(Reshape.apply(x, shape=spread), shape=target)
    return Reshape.apply(tiled, shape=tuple(r * n for r, n in zip(reps, shape)))


def array_split(x, indices_or_sections, axis=0):
    """x cut along `axis` into a list of Tensors, as numpy.array_split (sections may differ by one)."""
    x = _tensor(x)
    axis = norm_axis(axis, x.ndim)[0]
    n = x.shape[axis]
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"split: the number of sections must be positive, got {sections}")
        each, extra = divmod(n, sections)
        bounds = np.cumsum([0] + extra * [each + 1] + (sections - extra) * [each])
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    lead = (slice(None),) * axis
    return [GetItem.apply(x, index=lead + (slice(int(lo), int(hi)),))
            for lo, hi in zip(bounds[:-1], bounds[1:])]


def split(x, indices_or_sections, axis=0):
    """x cut along `axis` into a list of Tensors, as numpy.split (equal sections, or at the given indices)."""
    x = _tensor(x)
    if np.ndim(indices_or_sections) == 0:
        n = x.shape[norm_axis(axis, x.ndim)[0]]
        if int(indices_or_sections) <= 0 or n % int(indices_or_sections):
            raise ValueError(f"split: an axis of size {n} does not split into "
                             f"{indices_or_sections} equal sections (array_split allows unequal ones)")
    return array_split(x, indices_or_sections, axis=axis)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of x in the plane (axis1, axis2), moved to the last axis, as numpy.diagonal."""
    x = moveaxis(x, (axis1, axis2), (-2, -1))
    rows, cols = x.shape[-2:]
    start_row, start_col = max(-offset, 0), max(offset, 0)
    length = max(min(rows - start_row, cols - start_col), 0)
    steps = np.arange(length)
    return GetItem.apply(x, index=(Ellipsis, steps + start_row, steps + start_col))


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of the diagonal (of each plane (axis1, axis2)), as numpy.trace."""
    return diagonal(x, offset, axis1, axis2).sum(axis=-1)


def diag(v, k=0):
    """numpy.diag: a 1-D v becomes a square matrix with v on diagonal k; a 2-D v gives its diagonal k."""
    v = _tensor(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag takes a 1-D or 2-D tensor, got shape {v.shape}")
    n = v.shape[0] + abs(k)
    steps = np.arange(v.shape[0])
    index = (steps + max(-k, 0), steps + max(k, 0))
    return call(IndexAdd, v, shape=(n, n), index=index)


def clone(x):
    """A copy of x with its own memory, recorded in the graph (the gradient passes through)."""
    return Clone.apply(_tensor(x))
