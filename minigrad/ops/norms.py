"""Norms, as numpy.linalg.norm, with PyTorch's subgradients where a norm has a kink.

The 2-norm (and Frobenius norm) and the p-norms have their own ops so that
their gradients are 0 where x is 0, as PyTorch defines them, rather than
0 / 0 or 0 * inf. The others are built from abs, sums and max/min, whose
ties share the gradient evenly, as PyTorch's do.
"""
import numpy as np

from ..engine import Function, Tensor
from .base import call, keepdims_shape, norm_axis
from .elementwise import Where


def _largest(x, axes):
    """max |x| over axes (kept), 1 where that is 0: the scale that keeps x**p from under- or overflowing."""
    largest = np.max(np.abs(x), axis=axes, keepdims=True) if x.size else np.ones(keepdims_shape(x.shape, axes), x.dtype)
    return np.where(largest == 0, 1, largest).astype(x.dtype)


class Norm2(Function):
    """sqrt(sum(x**2)) over `axes`; d/dx = x / norm, taken as 0 where the norm is 0.

    The sum is taken of (x / max|x|)**2, so the norm of tiny or huge float32
    values neither underflows to 0 nor overflows (as LAPACK's nrm2).
    """

    @staticmethod
    def forward(ctx, x, axes, keepdims=False):
        scale = _largest(x, axes)
        out = scale * np.sqrt(np.sum((x / scale) ** 2, axis=axes, keepdims=True))
        ctx.kept_shape = out.shape
        out = out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        out = out.reshape(ctx.kept_shape)
        zero = _values(out) == 0
        if zero.any():   # x is 0 there too: dividing by 1 instead gives the subgradient 0
            out = call(Where, zero, 1.0, out)
        return g.reshape(ctx.kept_shape) * (x / out)


class PNorm(Function):
    """(sum |x|**p)**(1/p) over `axes`; d/dx = sign(x) (|x| / out)**(p-1), taken as 0 where x is 0
    (finite for any p, as PyTorch). Scaled by max|x| like Norm2, so float32 neither under- nor overflows."""

    @staticmethod
    def forward(ctx, x, p, axes, keepdims=False):
        scale = _largest(x, axes)
        out = scale * np.sum((np.abs(x) / scale) ** p, axis=axes, keepdims=True) ** (1.0 / p)
        ctx.p, ctx.kept_shape = p, out.shape
        out = out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        p, out = ctx.p, out.reshape(ctx.kept_shape)
        out_zero = _values(out) == 0
        if out_zero.any():   # all of x is 0 there
            out = call(Where, out_zero, 1.0, out)
        ratio = np.abs(x) / out            # in [0, 1]: its powers stay finite
        x_zero = _values(x) == 0
        if x_zero.any():   # sign(x) is 0 there, so any finite stand-in gives 0
            ratio = call(Where, x_zero, 1.0, ratio)
        return g.reshape(ctx.kept_shape) * np.sign(x) * ratio ** (p - 1)


def _values(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _matrix_refused(ord):
    raise TypeError(f"numpy.linalg.norm with ord={ord!r} on a matrix (a singular-value norm) has "
                    "no minigrad op; use ord='fro', 1, -1, inf or -inf, or .numpy() to leave the graph")


def norm(x, ord=None, axis=None, keepdims=False):
    """numpy.linalg.norm for Tensors: vector norms over one axis, matrix norms over two.

    Parameters:
        x: a Tensor.
        ord: for vectors None or 2 (Euclidean), 1, inf, -inf, 0 (count of
            non-zeros, no gradient) or any other p (sum |x|**p)**(1/p); for
            matrices None or 'fro' (Frobenius), 1 / -1 (max / min column sum
            of |x|), inf / -inf (max / min row sum). Singular-value norms (2,
            -2, 'nuc') are refused.
        axis: None (the whole of a 1-D or 2-D x; any x when ord is None), an
            int (vector norms) or a pair of ints (matrix norms).
        keepdims (bool): keep the reduced axes as size 1.

    The 2-norm's gradient x / |x| is taken as 0 at x = 0, and a p-norm's at
    the zeros of x (as PyTorch).
    """
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if axis is None:
        if ord is None:
            return Norm2.apply(x, axes=norm_axis(None, x.ndim), keepdims=keepdims)
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} without an axis needs a 1-D or 2-D tensor, got shape {x.shape}")
        axis = tuple(range(x.ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    if len(axes) == 1:
        return _vector_norm(x, ord, norm_axis(axes, x.ndim), keepdims)
    if len(axes) != 2:
        raise ValueError(f"norm: axis must be an int or a pair of ints, got {axis!r}")
    rows, cols = (a % x.ndim for a in axes)
    if rows == cols:
        raise ValueError(f"norm: the two axes {axis!r} are the same axis")
    if ord is None or ord == "fro":
        return Norm2.apply(x, axes=tuple(sorted((rows, cols))), keepdims=keepdims)
    if ord in (1, -1):     # max / min over columns of the column sums
        summed, picked = rows, cols
    elif ord in (np.inf, -np.inf):
        summed, picked = cols, rows
    else:
        _matrix_refused(ord)
    sums = x.abs().sum(axis=summed, keepdims=True)
    out = sums.max(axis=picked, keepdims=True) if ord > 0 else sums.min(axis=picked, keepdims=True)
    return out.reshape(keepdims_shape(x.shape, (rows, cols))) if keepdims else \
        out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in (rows, cols)))


def _vector_norm(x, ord, axes, keepdims):
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector norm takes a number")
    if ord is None or ord == 2:
        return Norm2.apply(x, axes=axes, keepdims=keepdims)
    if ord == np.inf:
        return x.abs().max(axis=axes, keepdims=keepdims)
    if ord == -np.inf:
        return x.abs().min(axis=axes, keepdims=keepdims)
    if ord == 0:   # the number of non-zeros: piecewise constant, no gradient
        return Tensor((x._data != 0).sum(axis=axes, keepdims=keepdims).astype(x.dtype))
    if ord == 1:
        return x.abs().sum(axis=axes, keepdims=keepdims)
    return PNorm.apply(x, p=float(ord), axes=axes, keepdims=keepdims)
