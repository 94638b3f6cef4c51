"""Activation modules: each calls the function of the same name in nn.functional (or the op).

PyTorch's names and arguments: ReLU(), LeakyReLU(negative_slope), Sigmoid(),
Tanh(), Softmax(axis), LogSoftmax(axis), GELU(approximate), ELU(alpha),
SiLU(), Softsign(), Identity().
"""
from .. import ops
from ..validation import is_integer
from . import functional as F
from .functional.activation import _check_alpha, _check_slope
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Identity", "GELU",
           "ELU", "SiLU", "Softsign"]



class _OutputActivation(Module):
    """A module for one of ops.OUTPUT_ACTIVATIONS (relu, sigmoid, tanh): Dense can fuse it."""
    op = None

    def forward(self, x):
        return self.op.apply(x)


def _module_of(name):
    op = ops.OUTPUT_ACTIVATIONS[name]
    return type(op.__name__, (_OutputActivation,), {"op": op, "__doc__": op.__doc__,
                                                    "__module__": __name__})


ReLU, Sigmoid, Tanh = _module_of("relu"), _module_of("sigmoid"), _module_of("tanh")

# The activation module for each name Linear fuses, derived from the one table.
FUSABLE = {module: name for name, module in (("relu", ReLU), ("sigmoid", Sigmoid), ("tanh", Tanh))}


class LeakyReLU(Module):
    """x where x > 0, else negative_slope * x."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = _check_slope(negative_slope)

    def forward(self, x):
        return ops.LeakyReLU.apply(x, negative_slope=self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """exp(x) / sum(exp(x)) along `axis` (the class axis, last by default)."""

    def __init__(self, axis=-1):
        super().__init__()
        if not is_integer(axis):
            raise TypeError(f"Softmax: axis must be an integer, got {axis!r}")
        self.axis = int(axis)

    def forward(self, x):
        return ops.Softmax.apply(x, axis=self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class Identity(Module):
    """Returns its input (the "linear" activation, no nonlinearity)."""

    def forward(self, x):
        return x



class LogSoftmax(Module):
    """x - log(sum(exp(x))) along `axis` (the class axis, last by default)."""

    def __init__(self, axis=-1):
        super().__init__()
        if not is_integer(axis):
            raise TypeError(f"LogSoftmax: axis must be an integer, got {axis!r}")
        self.axis = int(axis)

    def forward(self, x):
        return ops.LogSoftmax.apply(x, axis=self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF; approximate="tanh" uses PyTorch's tanh formula."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class ELU(Module):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = _check_alpha(alpha, "ELU")

    def forward(self, x):
        return F.elu(x, alpha=self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class SiLU(Module):
    """x * sigmoid(x)."""

    def forward(self, x):
        return F.silu(x)


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, x):
        return F.softsign(x)
