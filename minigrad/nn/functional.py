"""Activations and losses as functions of Tensors (or arrays), PyTorch's definitions.

Each loss is ONE Function node: forward on arrays, backward a few lines that
read like the derivative. The backwards use only operations numpy arrays and
Tensors both support (arithmetic, `.sum`, `.reshape`, ops applied through
`_call`), so they are differentiable again (gradgradcheck passes).

`reduction` is "mean" (the default), "sum" or "none" (one value per element,
per sample for cross_entropy).
"""
import numpy as np

from .. import ops
from ..engine import Function, Tensor
from ..ops import _call, linear
from ..random import get_generator

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "identity",
           "dropout", "linear", "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits"]


# -- activations ---------------------------------------------------------------

def relu(x):
    return ops.ReLU.apply(x)


def leaky_relu(x, negative_slope=0.01):
    return ops.LeakyReLU.apply(x, negative_slope=_check_slope(negative_slope))


def sigmoid(x):
    return ops.Sigmoid.apply(x)


def tanh(x):
    return ops.Tanh.apply(x)


def softmax(x, axis=-1):
    return ops.Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    return ops.LogSoftmax.apply(x, axis=axis)


def identity(x):
    return x


def dropout(x, p=0.5, training=True):
    """Zero each element with probability `p`, scale the rest by 1 / (1 - p); identity unless training."""
    _check_probability(p, "dropout")
    if not training or p == 0:
        return x
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.dtype.kind not in "biuf":
        raise TypeError(f"dropout takes an array of numbers, got dtype {data.dtype}")
    keep = get_generator().random(data.shape) >= p
    # Scaling the survivors keeps each unit's expected value, so eval needs no rescaling.
    mask = keep.astype(data.dtype) * (1.0 / (1.0 - p) if p < 1 else 0.0)
    return ops.Mul.apply(x, mask)


def _is_real_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_probability(p, where):
    """`p` as a float in [0, 1]; a TypeError or ValueError naming `where` otherwise."""
    if not _is_real_number(p):
        raise TypeError(f"{where}: the probability p must be a number between 0 and 1, "
                        f"got {p!r} of type {type(p).__name__}")
    if not 0 <= p <= 1:   # NaN fails this too
        raise ValueError(f"{where} probability must be between 0 and 1, got {p}")
    return float(p)


def _check_slope(negative_slope):
    if not _is_real_number(negative_slope):
        raise TypeError(f"leaky_relu: negative_slope must be a number, got {negative_slope!r} of "
                        f"type {type(negative_slope).__name__}")
    if not np.isfinite(negative_slope):
        raise ValueError(f"leaky_relu: negative_slope must be finite, got {negative_slope}")
    return float(negative_slope)


# -- helpers for the losses -------------------------------------------------------

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
    if x.dtype.kind not in "biuf":
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


# -- losses ------------------------------------------------------------------------------

class SquaredError(Function):
    """(pred - target)**2, reduced."""

    @staticmethod
    def forward(ctx, pred, target, reduction="mean"):
        if not ctx.needs_input_grad[1]:
            target = _in_layout_of(target, pred)
        ctx.reduction, ctx.count = reduction, pred.size
        diff = pred - target
        # diff is kept for an ordinary backward to reuse; a differentiable backward
        # recomputes it from pred and target (saved, it would be a constant).
        ctx.save_for_backward(pred, target, diff)
        if reduction == "none":
            return diff * diff
        flat = diff.ravel(order="K")   # a view, in memory order
        total = flat @ flat            # the sum of squares as one BLAS dot product
        return total / ctx.count if reduction == "mean" else total

    @staticmethod
    def backward(ctx, g):
        pred, target, diff = ctx.saved_tensors
        if isinstance(pred, Tensor):   # differentiable: the difference, in the graph
            diff = pred - target
        d_pred = diff * (2 * _per_element(g, ctx.reduction, ctx.count))
        wants_pred, wants_target = ctx.needs_input_grad
        return (d_pred if wants_pred else None), (-d_pred if wants_target else None)


def _in_layout_of(array, like):
    """`array` in the memory order of `like`, when `like` is column-ordered and `array` is not.

    Dense layers return column-ordered arrays (see ops.Linear); an elementwise op
    between a column- and a row-ordered array reads one of them across memory,
    which costs more than copying it into the matching order first.
    """
    if (isinstance(array, np.ndarray) and like.ndim >= 2 and like.flags.f_contiguous
            and not like.flags.c_contiguous and not array.flags.f_contiguous):
        return np.asfortranarray(array)
    return array


def mse_loss(pred, target, reduction="mean"):
    """Squared error `(pred - target)**2`, averaged over all elements by default (PyTorch's)."""
    _check_reduction(reduction)
    pred, target = _loss_input(pred, "mse_loss", "prediction"), _loss_input(target, "mse_loss", "target")
    _check_same_shape("mse_loss", pred, target, reduction)
    return SquaredError.apply(pred, _as_float_like(target, _dtype(pred)), reduction=reduction)


class SoftmaxCrossEntropy(Function):
    """-sum_c p_c * log_softmax(logits)_c per sample; integer labels are the one-hot p."""

    @staticmethod
    def forward(ctx, logits, target, reduction="mean", labels=False):
        log_probs = _call(ops.LogSoftmax, logits, axis=-1)
        if labels:
            ctx.labels = _label_index(target)   # a constant: no gradient flows to class indices
            per_sample = -log_probs[ctx.labels]
            # log_probs is saved for an ordinary backward to reuse; a differentiable
            # backward recomputes it from the logits (saved, it would be a constant).
            ctx.save_for_backward(logits, log_probs)
        else:
            per_sample = -(target * log_probs).sum(axis=-1)
            ctx.labels = None
            ctx.save_for_backward(logits, target)
        ctx.reduction, ctx.count = reduction, per_sample.size
        return _reduce(per_sample, reduction)

    @staticmethod
    def backward(ctx, g):
        saved = ctx.saved_tensors
        logits = saved[0]
        g = _per_element(g, ctx.reduction, ctx.count)
        if ctx.reduction == "none":
            g = g.reshape(g.shape + (1,))    # one value per sample, spread over its classes
        if ctx.labels is not None:
            if isinstance(logits, Tensor):   # differentiable: softmax(z) - one_hot, in the graph
                one_hot = np.zeros(logits.shape, dtype=logits.dtype)
                one_hot[ctx.labels] = 1
                return g * (_call(ops.Softmax, logits, axis=-1) - one_hot), None
            d_logits = np.exp(saved[1])      # softmax(z), from forward's log-probabilities
            d_logits[ctx.labels] -= 1        # - one_hot
            d_logits *= g
            return d_logits, None
        probs = _call(ops.Softmax, logits, axis=-1)
        target = saved[1]
        wants_logits, wants_target = ctx.needs_input_grad
        # d/dz of -sum_c p_c log softmax(z)_c = softmax(z) * sum_c p_c - p
        d_logits = g * (probs * target.sum(axis=-1, keepdims=True) - target) if wants_logits else None
        d_target = -g * _call(ops.LogSoftmax, logits, axis=-1) if wants_target else None
        return d_logits, d_target


def _label_index(labels):
    """The index that picks each sample's labelled class out of a (N, C) or (C,) array."""
    return (np.arange(labels.shape[0]), labels) if labels.ndim else labels


def cross_entropy(logits, target, reduction="mean"):
    """Softmax cross-entropy of `logits` (N, C) or (C,), PyTorch's definition.

    `target` is either integer class labels, shape (N,) (or a scalar for (C,)
    logits), each in [0, C); or class probabilities of the logits' shape. The
    mean is over samples.
    """
    _check_reduction(reduction)
    logits = _loss_input(logits, "cross_entropy", "logits")
    shape = logits.shape
    if len(shape) not in (1, 2) or shape[-1] == 0:
        raise ValueError(f"cross_entropy takes logits of shape (N, C) or (C,) with C >= 1 classes, "
                         f"got shape {shape}")
    _check_not_empty("cross_entropy", shape, reduction)
    classes = shape[-1]
    target = _loss_input(target, "cross_entropy", "target")
    values = target.data if isinstance(target, Tensor) else target
    if values.dtype.kind in "iu":
        if values.shape != shape[:-1]:
            raise ValueError(f"cross_entropy: integer class labels must have shape {shape[:-1]} "
                             f"for logits of shape {shape}, got shape {values.shape}")
        bad = (values < 0) | (values >= classes)
        if bad.any():
            raise ValueError(f"cross_entropy: class label {values[bad].flat[0]} is out of range for "
                             f"{classes} classes (labels run from 0 to {classes - 1})")
        return SoftmaxCrossEntropy.apply(logits, values, reduction=reduction, labels=True)
    if values.dtype.kind == "f":
        if values.shape != shape:
            raise ValueError(f"cross_entropy: a float target holds class probabilities and must "
                             f"have the logits' shape {shape}, got shape {values.shape} (class "
                             f"labels must be an integer array)")
        return SoftmaxCrossEntropy.apply(logits, _as_float_like(target, _dtype(logits)),
                                         reduction=reduction)
    raise TypeError(f"cross_entropy: target must hold integer class labels or float class "
                    f"probabilities, got dtype {values.dtype}")


class SigmoidBinaryCrossEntropy(Function):
    """-[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], written so exp never overflows."""

    @staticmethod
    def forward(ctx, logits, target, reduction="mean"):
        ctx.reduction, ctx.count = reduction, logits.size
        ctx.save_for_backward(logits, target)
        # log(1 + e^z) - z*y; Softplus computes log(1 + e^z) without overflow
        per_element = _call(ops.Softplus, logits) - logits * target
        return _reduce(per_element, reduction)

    @staticmethod
    def backward(ctx, g):
        logits, target = ctx.saved_tensors
        g = _per_element(g, ctx.reduction, ctx.count)
        wants_logits, wants_target = ctx.needs_input_grad
        d_logits = g * (_call(ops.Sigmoid, logits) - target) if wants_logits else None
        d_target = -g * logits if wants_target else None
        return d_logits, d_target


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """Binary cross-entropy of sigmoid(logits) against `target` in [0, 1], from logits (stable)."""
    _check_reduction(reduction)
    where = "binary_cross_entropy_with_logits"
    logits, target = _loss_input(logits, where, "logits"), _loss_input(target, where, "target")
    _check_same_shape(where, logits, target, reduction)
    return SigmoidBinaryCrossEntropy.apply(logits, _as_float_like(target, _dtype(logits)),
                                           reduction=reduction)
