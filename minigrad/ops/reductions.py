"""Reductions over axes: sum, mean, max, min, prod, var, std, cumsum, logsumexp (numpy's axis and keepdims)."""
import numpy as np

from ..engine import Function, Tensor
from .base import call, keepdims_shape, norm_axis
from .norms import Norm2
from .shape import BroadcastTo, Concatenate


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


class CumSum(Function):
    """Running sum along `axis` (None: of the flattened tensor); the gradient is the reversed running sum."""

    @staticmethod
    def forward(ctx, x, axis=None):
        ctx.shape = x.shape
        if axis is None:
            x, axis = x.reshape(-1), 0
        ctx.axis = norm_axis(axis, x.ndim)[0]
        return np.cumsum(x, axis=ctx.axis)

    @staticmethod
    def backward(ctx, g):
        # d out[j] / d x[i] = 1 for j >= i: the sum of g from i to the end.
        reverse = (slice(None),) * ctx.axis + (slice(None, None, -1),)
        return call(CumSum, g[reverse], axis=ctx.axis)[reverse].reshape(ctx.shape)


def _reduced_count(shape, axes):
    return int(np.prod([shape[a] for a in axes]))


def _finish(out, shape, axes, keepdims):
    """`out` (reduced with keepdims=True) with the reduced axes dropped unless `keepdims`."""
    return out if keepdims else out.reshape([n for i, n in enumerate(shape) if i not in axes])


def prod(x, axis=None, keepdims=False):
    """Product of the elements over `axis`, as numpy.prod.

    Built as a tree of multiplications, so its gradient (the product of the
    other elements) and every higher derivative are right where elements are 0,
    as PyTorch's are.
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    axes = norm_axis(axis, x.ndim)
    kept = [a for a in range(x.ndim) if a not in axes]
    shape = x.shape
    flat = x.transpose(tuple(kept) + axes).reshape(tuple(shape[a] for a in kept) + (-1,))
    if flat.shape[-1] == 0:   # the empty product is 1
        flat = flat.sum(axis=-1, keepdims=True) + 1
    while flat.shape[-1] > 1:
        half = flat.shape[-1] // 2
        paired = flat[..., :half] * flat[..., half:2 * half]
        if flat.shape[-1] % 2:   # the odd one out waits for the next round
            paired = Concatenate.apply(paired, flat[..., 2 * half:], axis=-1)
        flat = paired
    out = flat.reshape(tuple(shape[a] for a in kept))
    return out.reshape(keepdims_shape(shape, axes)) if keepdims else out


def var(x, axis=None, ddof=0, keepdims=False):
    """Variance over `axis`, as numpy.var: sum((x - mean)**2) / (n - ddof)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    axes = norm_axis(axis, x.ndim)
    count = _reduced_count(x.shape, axes) - ddof
    centred = x - x.mean(axis=axes, keepdims=True)
    return (centred * centred).sum(axis=axes, keepdims=keepdims) / count


def std(x, axis=None, ddof=0, keepdims=False):
    """Standard deviation over `axis`, as numpy.std: sqrt(var(x, axis, ddof)) = |x - mean| / sqrt(n - ddof).

    Written with the 2-norm, whose gradient is 0 where x is constant (as PyTorch's std), not 0 / 0.
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    axes = norm_axis(axis, x.ndim)
    count = _reduced_count(x.shape, axes) - ddof
    centred = x - x.mean(axis=axes, keepdims=True)
    return Norm2.apply(centred, axes=axes, keepdims=keepdims) / count ** 0.5   # a Python float keeps float32


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, computed without overflow (the max is taken out first)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    axes = norm_axis(axis, x.ndim)
    data = x._data
    shift = np.max(data, axis=axes, keepdims=True) if data.size else np.zeros(keepdims_shape(data.shape, axes))
    shift = np.where(np.isfinite(shift), shift, 0).astype(data.dtype)   # a constant: no gradient needed
    out = ((x - shift).exp().sum(axis=axes, keepdims=True)).log() + shift
    return _finish(out, x.shape, axes, keepdims)


def cumsum(x, axis=None):
    """Running sum along `axis` (None: of the flattened x), as numpy.cumsum."""
    return CumSum.apply(x, axis=axis)
