"""Arithmetic: + - * / ** @ and negation, each with its derivative beside it."""
import numpy as np

from ..engine import Function, Tensor
from .base import call
from .elementwise import Where


class Add(Function):
    """a + b; d/da = d/db = 1."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """a - b; d/da = 1, d/db = -1."""

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Neg(Function):
    """-a."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Mul(Function):
    """a * b; d/da = b, d/db = a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        return (g * b if da else None), (g * a if db else None)


class Div(Function):
    """a / b; d/da = 1 / b, d/db = -a / b**2."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        return (g / b if da else None), (-g * a / (b * b) if db else None)


class Pow(Function):
    """a ** b; d/da = b a**(b-1), d/db = a**b log(a).

    At the points where these formulas read 0 * inf or 0 * log(0), the limits
    are taken, as PyTorch does: d/da = 0 where a == 0 and b == 0, and d/db = 0
    where a == 0 and b >= 0. The base is swapped for 1 at those points before
    the formula runs, so a second derivative stays finite too.
    """

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        ga = gb = None
        if da:
            if isinstance(b, (int, float)):   # a Python exponent: the common x ** 2
                ga = g * 0 if b == 0 else g * b * a ** (b - 1)
            else:
                zero_power = (_values(b) == 0) & (_values(a) == 0)   # 0 * 0**-1
                ga = g * b * _one_where(zero_power, a) ** (b - 1)   # b = 0 makes it 0 there
        if db:
            a_values = _values(a)
            base_zero = (a_values == 0) & (_values(b) >= 0)
            if isinstance(a, (np.ndarray, Tensor)):
                log_a = np.log(_one_where(base_zero, a))
            else:   # a Python base: its log stays a Python float, which cannot upcast float32
                log_a = 0.0 if a == 0 else float(np.log(a))
            gb = g * out * log_a
            if not isinstance(a, (np.ndarray, Tensor)) and a == 0:
                gb = call(Where, base_zero, 0.0, gb)
        return ga, gb


def _values(x):
    """The numbers of `x` (a Tensor, an array or a number), for a condition: no gradient flows."""
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _one_where(condition, x):
    """`x` with 1 where `condition` holds (recorded for a Tensor), so a formula stays finite there."""
    if not condition.any():
        return x
    return call(Where, condition, 1.0, x)


class MatMul(Function):
    """numpy's matmul: 1-D operands are promoted to a row (left) or a column (right).

    dA = dOut B^T, dB = A^T dOut.
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return a @ b
        except ValueError:
            raise ValueError(f"matmul: shapes {np.shape(a)} and {np.shape(b)} do not align "
                             f"(the last axis of the first must equal the "
                             f"{'only' if np.ndim(b) == 1 else 'second-to-last'} axis of the second)") from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        a2 = a.reshape(1, -1) if a_vec else a
        b2 = b.reshape(-1, 1) if b_vec else b
        if a_vec:
            g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:]) if not b_vec else g.reshape(1, 1)
        if b_vec and not a_vec:
            g = g.reshape(g.shape + (1,))
        da, db = ctx.needs_input_grad
        ga = g @ b2.swapaxes(-1, -2) if da else None       # dA = dOut B^T
        gb = a2.swapaxes(-1, -2) @ g if db else None       # dB = A^T dOut
        if gb is not None and b_vec:
            gb = gb.reshape(gb.shape[:-1])
        return ga, gb
