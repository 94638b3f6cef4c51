"""Gradient clipping and flat parameter vectors, as torch.nn.utils has them.

    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
    flat = nn.utils.parameters_to_vector(model.parameters())
    nn.utils.vector_to_parameters(flat, model.parameters())

The clip functions run between `backward()` and `optimizer.step()`. They
give each clipped parameter a new `.grad` array rather than scaling the old
one in place: two parameters may share one gradient array (the engine may
hand the same array to both inputs of an addition), and scaling it in place
would scale it twice.
"""
import math

import numpy as np

from ..engine import Tensor, no_grad
from ..ops import concatenate
from ..validation import check_flag, check_non_negative, first_non_finite, is_real_number

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _parameters(parameters, where):
    """A list of Tensors from one Tensor or an iterable of them (a generator is read once)."""
    if isinstance(parameters, Tensor):
        return [parameters]
    if callable(getattr(parameters, "parameters", None)):
        raise TypeError(f"{where} takes parameters: pass model.parameters(), not the "
                        f"{type(parameters).__name__} itself")
    if isinstance(parameters, (str, bytes)) or not hasattr(parameters, "__iter__"):
        raise TypeError(f"{where} takes a Tensor or an iterable of Tensors, not a "
                        f"{type(parameters).__name__}")
    parameters = list(parameters)
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: parameter {i} is a {type(p).__name__}, not a Tensor")
    return parameters


def _norm(array, norm_type):
    """The p-norm of all entries of `array` (the largest magnitude for p = inf)."""
    if norm_type == math.inf:
        return np.max(np.abs(array)) if array.size else array.dtype.type(0)
    return np.linalg.norm(array.ravel(), ord=norm_type)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients so that their total norm is at most `max_norm`; returns the total norm.

    The total norm is the `norm_type`-norm of the vector of every gradient's
    norm (= the norm of all gradients concatenated). Every gradient is
    multiplied by min(1, max_norm / (total + 1e-6)), as PyTorch does.
    Parameters whose .grad is None are skipped.

    Parameters:
        parameters: a Tensor or an iterable of Tensors (model.parameters()).
        max_norm: the largest total norm allowed, a number >= 0.
        norm_type: p of the p-norm, a number > 0 or math.inf (default 2).
        error_if_nonfinite: raise a ValueError, changing nothing, if the
            total norm is NaN or inf (otherwise the gradients become NaN).
    Returns the total norm before clipping, as a float.
    """
    where = "clip_grad_norm_"
    parameters = _parameters(parameters, where)
    max_norm = check_non_negative("max_norm", max_norm)
    if not is_real_number(norm_type) or not norm_type > 0:
        raise ValueError(f"{where}: norm_type must be a number > 0 or math.inf, got {norm_type!r}")
    error_if_nonfinite = check_flag("error_if_nonfinite", error_if_nonfinite, where)
    grads = [(p, np.asarray(p.grad)) for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    norms = np.array([_norm(g, norm_type) for _, g in grads])
    total = _norm(norms, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise ValueError(f"{where}: the total norm of the gradients is {total} "
                         f"(parameter {_first_bad(grads)}); nothing was changed. Pass "
                         "error_if_nonfinite=False to clip anyway")
    scale = min(max_norm / (float(total) + 1e-6), 1.0)
    for p, g in grads:
        p.grad = np.multiply(g, scale, out=np.empty_like(g))   # new, in the gradient's dtype
    return float(total)


def _first_bad(grads):
    for i, (_, g) in enumerate(grads):
        where = first_non_finite(g)
        if where:
            return f"{i} holds {where}"
    return "none alone: the sum overflows"


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient entry into [-clip_value, clip_value]; .grad None is skipped.

    Parameters:
        parameters: a Tensor or an iterable of Tensors (model.parameters()).
        clip_value: a number >= 0.
    """
    parameters = _parameters(parameters, "clip_grad_value_")
    clip_value = check_non_negative("clip_value", clip_value)
    for p in parameters:
        if p.grad is not None:
            # A new array in the gradient's dtype (numpy keeps it for a Python bound); asanyarray,
            # so that minigrad.compile's traced .grad stays traced and the clip is replayed.
            p.grad = np.clip(np.asanyarray(p.grad), -clip_value, clip_value)


def parameters_to_vector(parameters):
    """One 1-D Tensor of every parameter's values, flattened and joined in order (differentiable)."""
    parameters = _parameters(parameters, "parameters_to_vector")
    if not parameters:
        raise ValueError("parameters_to_vector got no parameters")
    return concatenate([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D `vec` into the parameters (the inverse of parameters_to_vector).

    `vec` must have exactly as many entries as the parameters together;
    otherwise a ValueError is raised and no parameter changes. Each parameter
    keeps its dtype; the copy is not recorded for autograd.
    """
    parameters = _parameters(parameters, "vector_to_parameters")
    values = np.asarray(vec.data if isinstance(vec, Tensor) else vec)
    if values.ndim != 1:
        raise ValueError(f"vector_to_parameters takes a 1-D vector, got shape {values.shape}")
    needed = sum(p.size for p in parameters)
    if values.size != needed:
        raise ValueError(f"vector_to_parameters: the vector has {values.size} entries, the "
                         f"parameters {[p.shape for p in parameters]} hold {needed}")
    start = 0
    with no_grad():
        for p in parameters:
            p.data = values[start:start + p.size].reshape(p.shape).copy()
            start += p.size
