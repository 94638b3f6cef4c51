"""Initial weights: Dense's initialisers by name, and PyTorch's torch.nn.init functions.

Each initialiser takes (generator, in_features, out_features, bias) and returns
float64 arrays (weight of shape (out, in), bias of shape (out,) or None); the
layer casts them to its dtype, so a float32 model built from the same seed
holds the float64 model's weights rounded. All draws come from minigrad's
generator, so `minigrad.manual_seed(n)` makes them reproducible.
"""
import math

import numpy as np

from ..engine import Tensor
from ..random import get_generator
from ..validation import is_real_number

__all__ = ["he", "xavier", "small_normal", "INITIALIZERS", "resolve", "calculate_gain", "uniform_",
           "normal_", "constant_", "zeros_", "ones_", "xavier_uniform_", "xavier_normal_",
           "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "default_linear"]


def he(rng, in_features, out_features, bias):
    """He: weight and bias `randn * sqrt(2 / in_features)`, which keeps ReLU layers' variance."""
    scale = np.sqrt(2.0 / in_features)
    weight = rng.standard_normal((out_features, in_features)) * scale
    return weight, (rng.standard_normal(out_features) * scale if bias else None)


def xavier(rng, in_features, out_features, bias):
    """Xavier/Glorot uniform: weight ~ U(-a, a), a = sqrt(6 / (in + out)); zero bias (tanh, sigmoid)."""
    limit = np.sqrt(6.0 / (in_features + out_features))
    weight = rng.uniform(-limit, limit, size=(out_features, in_features))
    return weight, (np.zeros(out_features) if bias else None)


def small_normal(rng, in_features, out_features, bias):
    """`0.2 * randn` for weight and bias: small weights, for a shallow sigmoid or tanh net."""
    weight = 0.2 * rng.standard_normal((out_features, in_features))
    return weight, (0.2 * rng.standard_normal(out_features) if bias else None)


INITIALIZERS = {"he": he, "xavier": xavier, "small_normal": small_normal}


def resolve(name, where="init"):
    """The initialiser called `name` (any letter case); a clear error for anything else."""
    if not isinstance(name, str):
        hint = " (pass its name as a string)" if callable(name) else ""
        raise TypeError(f"{where}: init must be a name, one of {', '.join(INITIALIZERS)}; "
                        f"got {name!r} of type {type(name).__name__}{hint}")
    initializer = INITIALIZERS.get(name.lower())
    if initializer is None:
        raise ValueError(f"{where}: unknown init {name!r}; known names: {', '.join(INITIALIZERS)}")
    return initializer


# -- PyTorch's torch.nn.init: fill a Parameter (or array) in place, drawing from minigrad's generator.

def _fill(tensor, values, where):
    """Write `values` into `tensor` (a Tensor/Parameter or a float ndarray) in its dtype; return it."""
    if isinstance(tensor, Tensor):
        tensor.data = np.asarray(values, dtype=tensor.dtype)
    elif isinstance(tensor, np.ndarray) and tensor.dtype.kind == "f":
        tensor[...] = values
    else:
        raise TypeError(f"{where} fills a Tensor, Parameter or float numpy array in place, got "
                        f"{type(tensor).__name__}")
    return tensor


def _shape_of(tensor, where):
    if not isinstance(tensor, (Tensor, np.ndarray)):
        raise TypeError(f"{where} fills a Tensor, Parameter or float numpy array in place, got "
                        f"{type(tensor).__name__}")
    return tuple(tensor.shape)


def calculate_gain(nonlinearity, param=None):
    """The gain PyTorch recommends for `nonlinearity`: 1 for linear/conv/sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope `param`, default 0.01),
    3/4 for selu."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if not is_real_number(slope):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _fans(shape, where):
    """(fan_in, fan_out) of a weight: (in * receptive field, out * receptive field)."""
    if len(shape) < 2:
        raise ValueError(f"{where}: fan in and fan out need a weight with at least 2 axes, got "
                         f"shape {shape}")
    receptive = int(np.prod(shape[2:], dtype=np.int64))
    return shape[1] * receptive, shape[0] * receptive


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with draws from U(a, b)."""
    shape = _shape_of(tensor, "uniform_")
    return _fill(tensor, get_generator().uniform(a, b, size=shape), "uniform_")


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with draws from N(mean, std^2)."""
    shape = _shape_of(tensor, "normal_")
    return _fill(tensor, mean + std * get_generator().standard_normal(shape), "normal_")


def constant_(tensor, val):
    """Fill with the number `val`."""
    return _fill(tensor, np.full(_shape_of(tensor, "constant_"), val), "constant_")


def zeros_(tensor):
    """Fill with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor):
    """Fill with 1."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(_shape_of(tensor, "xavier_uniform_"), "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(_shape_of(tensor, "xavier_normal_"), "xavier_normal_")
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity, where):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{where}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(_shape_of(tensor, where), where)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He uniform: U(-b, b), b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).

    nn.Linear's and nn.Conv2d's default weights are kaiming_uniform_(w, a=sqrt(5)),
    i.e. U(+-1/sqrt(fan_in)).
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He normal: N(0, std^2), std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_"))


def orthogonal_(tensor, gain=1.0):
    """A (semi-)orthogonal matrix times `gain`, from the QR of a normal draw (PyTorch's recipe).

    The tensor is read as (shape[0], everything else); rows or columns,
    whichever are fewer, come out orthonormal.
    """
    shape = _shape_of(tensor, "orthogonal_")
    if len(shape) < 2:
        raise ValueError(f"orthogonal_ needs a tensor with at least 2 axes, got shape {shape}")
    rows = shape[0]
    cols = int(np.prod(shape[1:], dtype=np.int64))
    flat = get_generator().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))   # makes the decomposition unique: uniform over orthogonal matrices
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(shape), "orthogonal_")


def default_linear(rng, in_features, out_features, bias):
    """PyTorch's nn.Linear default: weight and bias uniform in +-1/sqrt(in_features).

    (kaiming_uniform_ with a = sqrt(5) gives exactly this bound for the weight.)
    """
    bound = 1.0 / math.sqrt(in_features)
    weight = rng.uniform(-bound, bound, size=(out_features, in_features))
    return weight, (rng.uniform(-bound, bound, size=out_features) if bias else None)
