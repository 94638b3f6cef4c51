"""Activations as functions of Tensors (or arrays), PyTorch's definitions; and dropout.

GELU, ELU, SiLU and Softsign are Functions of their own. Each backward is
written with arithmetic, numpy ufuncs and `_call` of other ops, so on
Tensors (create_graph=True) it is recorded and differentiable again: second
and higher derivatives are exact.
"""
import math

import numpy as np

from ... import ops
from ...engine import Function, Tensor
from ...ops import _call
from ...random import get_generator
from ...validation import check_probability, has_real_dtype, is_finite_number, is_real_number
from .erf import erf as _erf_array

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "identity",
           "dropout", "gelu", "elu", "silu", "softsign", "erf"]

_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_ONE_OVER_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def relu(x):
    """max(x, 0), elementwise."""
    return ops.ReLU.apply(x)


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else negative_slope * x."""
    return ops.LeakyReLU.apply(x, negative_slope=_check_slope(negative_slope))


def sigmoid(x):
    """1 / (1 + exp(-x)), elementwise."""
    return ops.Sigmoid.apply(x)


def tanh(x):
    """tanh(x), elementwise."""
    return ops.Tanh.apply(x)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis`."""
    return ops.Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    """x - log(sum(exp(x))) along `axis`, computed without overflow."""
    return ops.LogSoftmax.apply(x, axis=axis)


def identity(x):
    """x itself."""
    return x


def dropout(x, p=0.5, training=True):
    """Zero each element with probability `p`, scale the rest by 1 / (1 - p); identity unless training."""
    check_probability(p, "dropout")
    if not training or p == 0:
        return x
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if not has_real_dtype(data):
        raise TypeError(f"dropout takes an array of numbers, got dtype {data.dtype}")
    keep = get_generator().random(data.shape) >= p
    # Scaling the survivors keeps each unit's expected value, so eval needs no rescaling.
    mask = keep.astype(data.dtype) * (1.0 / (1.0 - p) if p < 1 else 0.0)
    return ops.Mul.apply(x, mask)


def _check_slope(negative_slope):
    if not is_real_number(negative_slope):
        raise TypeError(f"leaky_relu: negative_slope must be a number, got {negative_slope!r} of "
                        f"type {type(negative_slope).__name__}")
    if not is_finite_number(negative_slope):
        raise ValueError(f"leaky_relu: negative_slope must be finite, got {negative_slope}")
    return float(negative_slope)


def _check_alpha(alpha, where):
    if not is_finite_number(alpha):
        raise ValueError(f"{where}: alpha must be a finite number, got {alpha!r}")
    return float(alpha)


# -- Functions -------------------------------------------------------------------------------

class Erf(Function):
    """erf(x); d/dx = 2/sqrt(pi) exp(-x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf_array(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (_TWO_OVER_SQRT_PI * np.exp(-(x * x)))


class GELU(Function):
    """x * Phi(x), Phi the standard normal CDF (exact), or its tanh approximation.

    exact:  d/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi)
    tanh:   0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3);
            d/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) du/dx
    """

    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)))
        return 0.5 * x * (1 + _erf_array(x / _SQRT_2))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x)))
            du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * (x * x))
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
        cdf = 0.5 + 0.5 * _call(Erf, x / _SQRT_2)
        pdf = _ONE_OVER_SQRT_2PI * np.exp(-0.5 * (x * x))
        return g * (cdf + x * pdf)


class ELU(Function):
    """x for x > 0, alpha (exp(x) - 1) otherwise; d/dx = 1 or alpha exp(x)."""

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        ctx.positive = x > 0   # a constant mask: the kink is where the derivative jumps
        return np.where(ctx.positive, x, alpha * np.expm1(np.minimum(x, 0)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        negative = ~ctx.positive
        # exp only of the non-positive part, so a large x cannot overflow to inf * 0
        return g * (ctx.positive + negative * (ctx.alpha * np.exp(x * negative)))


class SiLU(Function):
    """x * sigmoid(x); d/dx = s (1 + x (1 - s)), s = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * _call(ops.Sigmoid, x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        s = _call(ops.Sigmoid, x)
        return g * (s * (1 + x * (1 - s)))


class Softsign(Function):
    """x / (1 + |x|); d/dx = 1 / (1 + |x|)^2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1 + np.abs(x))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        denominator = 1 + np.abs(x)
        return g / (denominator * denominator)


def erf(x):
    """The error function, elementwise; differentiable (d/dx = 2/sqrt(pi) exp(-x^2))."""
    return Erf.apply(x)


def gelu(x, approximate="none"):
    """x * Phi(x) (exact, with erf), or with approximate="tanh" PyTorch's tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return ELU.apply(x, alpha=_check_alpha(alpha, "elu"))


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    return SiLU.apply(x)


def softsign(x):
    """x / (1 + |x|)."""
    return Softsign.apply(x)
