"""Shapes and indexing: reshape, transpose, broadcast, indexing, concatenate, stack.

Reshape, transpose and basic indexing return views of their input, as numpy
does; as ViewFunctions, their outputs are linked to their input, so an
in-place change of either counts as a change of both.
"""
import numpy as np

from ..engine import Function, Tensor, ViewFunction
from .base import call, norm_axis


class Reshape(ViewFunction):
    """x with another shape of the same size; the gradient is reshaped back."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                             f"into shape {tuple(np.atleast_1d(shape))}") from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Transpose(ViewFunction):
    """x with its axes permuted (reversed by default); the gradient is permuted back."""

    @staticmethod
    def forward(ctx, x, axes=None):
        if axes is None:
            ctx.axes = tuple(range(x.ndim))[::-1]
        else:
            axes = tuple(axes)
            if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)) \
                    or not all(-x.ndim <= a < x.ndim for a in axes):
                raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                                 f"{x.ndim} axes of a tensor of shape {x.shape}")
            ctx.axes = tuple(a % x.ndim for a in axes)
        return x.transpose(ctx.axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(tuple(np.argsort(ctx.axes)))


class BroadcastTo(Function):
    """x broadcast to `shape` (a read-only view); the engine sums the broadcast axes away."""

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g


def plain_index(index):
    """`index` with Tensors replaced by their arrays."""
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index._data if isinstance(index, Tensor) else index


def _is_basic(index):
    """True for indices made of ints, slices, None and Ellipsis only (no repeats possible)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis))) for i in items)


class GetItem(ViewFunction):
    """x[index]; the gradient is added back at the indexed places (repeats accumulate)."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx, g):
        return call(IndexAdd, g, shape=ctx.shape, index=ctx.index)


class IndexAdd(Function):
    """zeros(shape) with `x` added at `index`; repeated indices accumulate. GetItem's backward."""

    @staticmethod
    def forward(ctx, x, shape, index):
        ctx.index = index
        out = np.zeros(shape, dtype=x.dtype)
        if _is_basic(index):
            out[index] = x
        else:
            np.add.at(out, index, x)
        return out

    @staticmethod
    def backward(ctx, g):
        return g[ctx.index]


class Concatenate(Function):
    """numpy.concatenate; each input gets its slice of the gradient."""

    @staticmethod
    def forward(ctx, *xs, axis=0):
        if axis is None:   # numpy flattens the inputs first
            ctx.shapes = [x.shape for x in xs]
            xs = [x.reshape(-1) for x in xs]
            axis = 0
        ctx.axis = norm_axis(axis, xs[0].ndim)[0]
        ctx.bounds = np.cumsum([0] + [x.shape[ctx.axis] for x in xs])
        return np.concatenate(xs, axis=ctx.axis)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        parts = [g[lead + (slice(lo, hi),)] for lo, hi in zip(ctx.bounds[:-1], ctx.bounds[1:])]
        if hasattr(ctx, "shapes"):
            parts = [part.reshape(shape) for part, shape in zip(parts, ctx.shapes)]
        return tuple(parts)


class Stack(Function):
    """numpy.stack; each input gets its slice of the gradient along the new axis."""

    @staticmethod
    def forward(ctx, *xs, axis=0):
        out = np.stack(xs, axis=axis)
        ctx.axis = norm_axis(axis, out.ndim)[0]
        return out

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        return tuple(g[lead + (i,)] for i in range(g.shape[ctx.axis]))


def concatenate(tensors, axis=0):
    """numpy.concatenate for Tensors: join a sequence along an existing `axis` (None: flatten first)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """numpy.stack for Tensors: join a sequence of same-shaped tensors along a new `axis`."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    return Stack.apply(*tensors, axis=axis)


def broadcast_to(x, shape):
    """numpy.broadcast_to for Tensors: `x` repeated along new or size-1 axes to `shape`."""
    return BroadcastTo.apply(x, shape=tuple(shape))
