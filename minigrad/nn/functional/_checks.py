"""What every loss does first: check `reduction`, read the inputs, match dtypes and shapes; and reduce.

`reduction` is "mean" (the default), "sum" or "none" (one value per element,
per sample for the classification losses).
"""
import numpy as np

from ...engine import Tensor
from ...validation import has_real_dtype


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(map(repr, _REDUCTIONS))}; "
                         f"got {reduction!r}")


def _reduce(per_element, reduction):
    if reduction == "mean":
        return per_element.mean()
    if reduction == "sum":
        return per_element.sum()
    return per_element


def _per_element(g, reduction, count):
    """The gradient reaching each element of the unreduced loss from the reduced one."""
    return g / count if reduction == "mean" else g


def _dtype(x):
    return x.dtype if isinstance(x, (Tensor, np.ndarray)) else np.asarray(x).dtype


def _as_float_like(target, pred_dtype):
    """`target` in the prediction's float dtype (a float32 model gets a float32 loss).

    A target that requires grad is left alone, so its gradient stays connected.
    """
    dtype = pred_dtype if pred_dtype.kind == "f" else np.dtype(np.float64)
    if isinstance(target, Tensor):
        if target.requires_grad or target.dtype == dtype:
            return target
        return target.data.astype(dtype)
    return np.asarray(target, dtype=dtype)


def _loss_input(x, name, what):
    """`x` as a Tensor or an ndarray of real numbers; a clear error naming the loss otherwise."""
    if isinstance(x, Tensor):
        return x
    given = x
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except ValueError as error:   # a ragged nested list
            raise ValueError(f"{name}: the {what} is not a rectangular array of numbers "
                             f"({error})") from None
    if not has_real_dtype(x):
        found = f"an array of dtype {x.dtype}" if given is x else \
            f"{type(given).__name__} {given!r:.40}"
        raise TypeError(f"{name}: the {what} must be an array of real numbers, got {found}")
    return x


def _check_same_shape(name, pred, target, reduction):
    if pred.shape != target.shape:
        raise ValueError(f"{name}: prediction of shape {pred.shape} and target of shape "
                         f"{target.shape} differ; they must have the same shape (no broadcasting)")
    _check_not_empty(name, pred.shape, reduction)


def _check_not_empty(name, shape, reduction):
    if reduction == "mean" and 0 in shape:
        raise ValueError(f"{name}: the mean over an empty prediction of shape {shape} is "
                         "undefined (0 / 0); check the batch is not empty, or use "
                         "reduction='sum'")


