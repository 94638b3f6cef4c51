"""Fully connected layers (Dense, and PyTorch's Linear) and Dropout."""
import numpy as np

from .. import ops
from ..engine import Tensor
from ..random import get_generator
from ..validation import check_float_dtype, check_probability, is_flag, is_integer
from . import functional as F
from .activation import FUSABLE, Identity, LeakyReLU, Softmax
from .init import default_linear, resolve as resolve_init
from .module import Module, Parameter

__all__ = ["Dense", "Linear", "Dropout", "ACTIVATIONS"]


# Names Dense(activation=...) accepts: those Linear fuses (from ops.OUTPUT_ACTIVATIONS) and
# a few more; "linear" is another common name for the identity.
ACTIVATIONS = {**{name: module for module, name in FUSABLE.items()}, "leaky_relu": LeakyReLU,
               "softmax": Softmax, "identity": Identity, "linear": Identity}


# Activation modules that Linear computes inside its own node (None: no activation).
_FUSED = {type(None): None, Identity: None, **FUSABLE}


def _activation_module(activation):
    """None, a Module, or an activation's name -> None or a Module (resolved once, at construction)."""
    if activation is None or isinstance(activation, Module):
        return activation
    if isinstance(activation, str):
        key = activation.lower()
        if key not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known names: "
                             f"{', '.join(sorted(ACTIVATIONS))} (or pass a Module)")
        return ACTIVATIONS[key]()
    if isinstance(activation, type) and issubclass(activation, Module):
        raise TypeError(f"activation={activation.__name__} is a class; pass an instance, "
                        f"{activation.__name__}(), or a name such as 'relu'")
    raise TypeError(f"activation must be a name ({', '.join(sorted(ACTIVATIONS))}), a Module or "
                    f"None, not a {type(activation).__name__}")


def _check_layer_args(in_features, out_features, bias, dtype, where):
    """Raise unless the sizes are positive integers, bias a flag, dtype floating; returns the dtype."""
    for name, value in (("in_features", in_features), ("out_features", out_features)):
        if not is_integer(value) or value < 1:
            raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    if not is_flag(bias):
        raise TypeError(f"{where}: bias must be True or False, got {bias!r}")
    return check_float_dtype(dtype, where)


# -- Dense -----------------------------------------------------------------------------

class Dense(Module):
    """A fully connected layer: `activation(x @ weight.T + bias)` on batch-first x (samples x features).

    `weight` has shape (out_features, in_features), `bias` (out_features,), as
    PyTorch's Linear: `Z = W A + b` of the column layout (features x samples)
    transposed. `activation` is a name (relu, leaky_relu, sigmoid, tanh,
    softmax, identity / linear), a Module, or None. `init` names the initial
    weights:

    - "he" (default): weight and bias `randn * sqrt(2 / in_features)` (He et al., for ReLU);
    - "xavier": weight uniform in +-sqrt(6 / (in + out)), zero bias;
    - "small_normal": weight and bias `0.2 * randn`.

    Draws come from minigrad's generator (`minigrad.manual_seed`). The
    parameters have `dtype` (float64 by default); input data is cast to it.
    """

    def __init__(self, in_features, out_features, bias=True, activation=None, init="he",
                 dtype=np.float64):
        super().__init__()
        dtype = _check_layer_args(in_features, out_features, bias, dtype, "Dense")
        initializer = resolve_init(init, "Dense")
        self._build(in_features, out_features, bias, _activation_module(activation), initializer,
                    dtype)

    def _build(self, in_features, out_features, bias, activation, initializer, dtype):
        """Draw the weights with `initializer` and register them (every argument already checked)."""
        # Everything is checked before drawing, so a failed construction leaves the generator alone.
        weight, bias_values = initializer(get_generator(), int(in_features),
                                          int(out_features), bool(bias))
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(weight.astype(dtype))
        if bias:
            self.bias = Parameter(bias_values.astype(dtype))
        else:
            self.register_parameter("bias", None)
        self.activation = activation

    def forward(self, x):
        weight = self.weight
        if not isinstance(x, Tensor):
            try:
                x = np.asarray(x, dtype=weight.dtype)
            except (TypeError, ValueError) as error:
                raise TypeError(f"Dense takes numbers (an array or a Tensor), but could not read "
                                f"its input, a {type(x).__name__}, as {weight.dtype}: {error}") from None
        elif x.dtype != weight.dtype and not x.requires_grad:
            x = x.data.astype(weight.dtype)
        activation = self.activation
        fused = _FUSED.get(type(activation), False)
        if fused is not False and activation is not None and activation._call_hooks is not None:
            fused = False   # a hooked activation module must really be called
        if fused is not False:   # one node for the affine map and its activation
            return ops.Linear.apply(x, weight, self.bias, activation=fused)
        return activation(ops.Linear.apply(x, weight, self.bias))

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Linear(Dense):
    """PyTorch's nn.Linear: `x @ weight.T + bias`, weight (out_features, in_features).

    Initialised as PyTorch initialises it: weight by kaiming_uniform_ with
    a = sqrt(5), which is U(-1/sqrt(in), 1/sqrt(in)), and bias from the same
    range; draws come from minigrad's generator. It runs through the fused
    ops.Linear node, like Dense without an activation.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float64):
        Module.__init__(self)
        dtype = _check_layer_args(in_features, out_features, bias, dtype, "Linear")
        self._build(in_features, out_features, bias, None, default_linear, dtype)


# -- Dropout -------------------------------------------------------------------------------

class Dropout(Module):
    """In training mode, zero each element with probability `p` and scale the rest by 1 / (1 - p).

    In eval mode (`model.eval()`) it returns its input unchanged.
    """

    def __init__(self, p=0.5):
        super().__init__()
        self.p = check_probability(p, "Dropout")

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


