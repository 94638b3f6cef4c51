"""Reductions over axes: sum, mean, max, min (numpy's axis and keepdims)."""
import numpy as np

from ..engine import Function
from .base import call, keepdims_shape, norm_axis
from .shape import BroadcastTo


class Sum(Function):
    """Sum over axes; the gradient is broadcast back over them."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axes = x.shape, norm_axis(axis, x.ndim)
        return x.sum(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        g = g.reshape(keepdims_shape(ctx.shape, ctx.axes))
        return call(BroadcastTo, g, shape=ctx.shape)


class Mean(Function):
    """Mean over axes; the gradient is broadcast back over them, divided by their count."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axes = x.shape, norm_axis(axis, x.ndim)
        ctx.count = int(np.prod([x.shape[a] for a in ctx.axes]))
        return x.mean(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        g = g.reshape(keepdims_shape(ctx.shape, ctx.axes)) / ctx.count
        return call(BroadcastTo, g, shape=ctx.shape)


class Max(Function):
    """Max over axes; ties share the gradient evenly (as PyTorch's amax)."""
    reduce = staticmethod(np.max)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        if x.size == 0:
            raise ValueError(f"{ctx.reduce.__name__} of an empty tensor of shape {x.shape}")
        axes = norm_axis(axis, x.ndim)
        out = ctx.reduce(x, axis=axes, keepdims=True)
        mask = x == out
        ctx.weights = (mask / mask.sum(axis=axes, keepdims=True)).astype(out.dtype)   # a constant
        ctx.kept_shape = out.shape
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.kept_shape) * ctx.weights


class Min(Max):
    """Min over axes; ties share the gradient evenly (as PyTorch's amin)."""
    reduce = staticmethod(np.min)
