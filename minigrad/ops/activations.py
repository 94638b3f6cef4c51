"""Activations, and the one table of those whose derivative is a function of their output.

ReLU, sigmoid and tanh have derivatives that need only the activation's
output: relu' = (out > 0), sigmoid' = out (1 - out), tanh' = 1 - out**2. The
table `OUTPUT_ACTIVATIONS` holds each once, as an op class; the ops
themselves, the fused Linear node (ops/linear.py) and the names nn.Dense
accepts are all read from it.
"""
import numpy as np

from ..engine import Function
from .base import call


class OutputActivation(Function):
    """An activation whose derivative is a function of its output: out = f(x), dx = f'(out) g.

    A subclass sets `activate(x, out=None)` (which may write into `out`) and
    `derivative(g, out)`, which returns g * f'(x) computed from out = f(x).
    """
    activate = derivative = None

    @staticmethod
    def forward(ctx, x):
        out = ctx.activate(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return ctx.derivative(g, out)


def _relu(x, out=None):
    return np.maximum(x, 0, out=out)


def _sigmoid(x, out=None):
    """1 / (1 + exp(-x)), accurate for every x and never overflowing.

    Where exp(-x) would overflow, sigmoid(x) is below the smallest normal float
    anyway, so x is first raised to that bound; each later step works in place.
    """
    dtype = x.dtype if type(x) is np.ndarray else np.result_type(x)
    out = np.maximum(x, _EXP_FLOOR.get(dtype, -708.0), out=out)
    if type(out) is not np.ndarray:
        out = np.asarray(out)   # a 0-d input gives a numpy scalar, which has no `out=`
    np.negative(out, out=out)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


# The most negative x whose exp(-x) is still finite, per float type.
_EXP_FLOOR = {np.dtype(np.float32): -88.0, np.dtype(np.float16): -11.0}


class ReLU(OutputActivation):
    """max(x, 0); d/dx = 1 where the output is positive, else 0."""
    activate = staticmethod(_relu)
    derivative = staticmethod(lambda g, out: g * (out > 0))


class Sigmoid(OutputActivation):
    """1 / (1 + exp(-x)); d/dx = out (1 - out)."""
    activate = staticmethod(_sigmoid)
    derivative = staticmethod(lambda g, out: g * out * (1 - out))


class Tanh(OutputActivation):
    """tanh(x); d/dx = 1 - out**2."""
    activate = staticmethod(np.tanh)
    derivative = staticmethod(lambda g, out: g * (1 - out * out))


# name -> op class; Linear fuses these, nn.Dense accepts their names.
OUTPUT_ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}


class LeakyReLU(Function):
    """x where x > 0, else negative_slope * x."""

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.slope = np.where(x > 0, 1.0, negative_slope).astype(x.dtype)
        return x * ctx.slope

    @staticmethod
    def backward(ctx, g):
        return g * ctx.slope


class Softplus(Function):
    """log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) so it never overflows; d/dx = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * call(Sigmoid, x)


class Softmax(Function):
    """exp(x) / sum(exp(x)) along `axis`; dx = out (g - sum(g out))."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return out * (g - (g * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """x - log(sum(exp(x))) along `axis`; dx = g - exp(out) sum(g)."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g - np.exp(out) * g.sum(axis=ctx.axis, keepdims=True)
