"""Elementwise functions of one or two arrays: exp, log, sqrt, abs, clip, where, max/min, casts."""
import numpy as np

from ..engine import Function, Tensor


class Exp(Function):
    """exp(x); d/dx = exp(x), the output."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * out


class Log(Function):
    """log(x); d/dx = 1 / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / x


class Sqrt(Function):
    """sqrt(x); d/dx = 1 / (2 sqrt(x))."""

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g / (2 * out)


class Abs(Function):
    """|x|; d/dx = sign(x), 0 at 0 (as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.sign = np.sign(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.sign


class Clip(Function):
    """x limited to [a_min, a_max]; the gradient passes where x is inside (bounds included)."""

    @staticmethod
    def forward(ctx, x, a_min=None, a_max=None):
        if a_min is None and a_max is None:
            raise ValueError("clip needs a_min or a_max")
        ctx.inside = np.ones(x.shape, dtype=bool)
        if a_min is not None:
            ctx.inside &= x >= a_min
        if a_max is not None:
            ctx.inside &= x <= a_max
        return np.clip(x, a_min, a_max)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.inside


class Where(Function):
    """where(condition, x, y); the gradient flows to x where condition holds, else to y."""

    @staticmethod
    def forward(ctx, condition, x, y):
        ctx.mask = np.asarray(condition, dtype=bool)
        return np.where(ctx.mask, x, y)

    @staticmethod
    def backward(ctx, g):
        return None, g * ctx.mask, g * ~ctx.mask


class Maximum(Function):
    """Elementwise max; at ties each side gets half the gradient (as PyTorch)."""
    pick = staticmethod(np.maximum)

    @staticmethod
    def forward(ctx, a, b):
        out = ctx.pick(a, b)
        # 1 where a won, 0.5 at a tie; in out's dtype so float32 stays float32
        ctx.share_a = ((a == out) * 0.5 + (b != out) * 0.5).astype(np.result_type(out))
        return out

    @staticmethod
    def backward(ctx, g):
        return g * ctx.share_a, g * (1 - ctx.share_a)


class Minimum(Maximum):
    """Elementwise min; at ties each side gets half the gradient (as PyTorch)."""
    pick = staticmethod(np.minimum)


class Cast(Function):
    """x in another floating dtype; the gradient comes back in x's dtype (the engine casts it)."""

    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g


def where(condition, x, y):
    """numpy.where(condition, x, y) for Tensors; the gradient flows to x where condition holds, else to y.

    Parameters: condition (bool array or Tensor: no gradient), x, y (Tensors,
    arrays or numbers, broadcast together).
    """
    return Where.apply(condition._data if isinstance(condition, Tensor) else condition, x, y)


def maximum(a, b):
    """Elementwise maximum of `a` and `b` (numpy.maximum); ties share the gradient."""
    return Maximum.apply(a, b)


def minimum(a, b):
    """Elementwise minimum of `a` and `b` (numpy.minimum); ties share the gradient."""
    return Minimum.apply(a, b)
