"""minigrad: a small, readable autograd on NumPy.

engine (Tensor, Function, graph walk) <- ops <- nn, optim <- data, io, viz.
"""
from .engine import (AnomalyError, Function, Tensor, detect_anomaly, enable_grad, grad,
                     is_anomaly_enabled, is_grad_enabled, no_grad, once_differentiable,
                     set_grad_enabled)
from .ops import broadcast_to, concatenate, linear, maximum, minimum, stack, where
from .ops import (arange, array_split, clone, cumsum, diag, diagonal, dot, einsum, empty,
                  expand_dims, eye, flip, full, full_like, inner, linspace, logsumexp, moveaxis, norm,
                  ones, ones_like, outer, pad, prod, rand, randn, ravel, repeat, split, squeeze, std,
                  swapaxes, tensor, tile, trace, var, zeros, zeros_like)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .random import manual_seed
from . import nn, optim, data, functional
from .functional import functional_call
from .io import CheckpointError, load, save
from . import viz
from .compile import CompileError, compile  # noqa: E402  (the function; its package is minigrad/compile/)

__version__ = "0.1.0"

__all__ = ["Tensor", "Function", "once_differentiable", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "is_anomaly_enabled", "grad",
           "detect_anomaly", "AnomalyError", "concatenate", "stack", "where", "maximum",
           "minimum", "broadcast_to", "linear", "gradcheck", "gradgradcheck", "GradcheckError",
           "manual_seed", "compile", "CompileError", "nn", "optim", "data", "functional", "functional_call", "save", "load", "CheckpointError"]
__all__ += ["arange", "array_split", "clone", "cumsum", "diag", "diagonal", "dot", "einsum", "empty",
            "expand_dims", "eye", "flip", "full", "full_like", "inner", "linspace", "logsumexp",
            "moveaxis", "norm", "ones", "ones_like", "outer", "pad", "prod", "rand", "randn", "ravel",
            "repeat", "split", "squeeze", "std", "swapaxes", "tensor", "tile", "trace", "var", "zeros",
            "zeros_like"]
