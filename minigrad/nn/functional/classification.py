"""Classification losses: cross_entropy (from logits) and nll_loss (from log-probabilities).

PyTorch's definitions, including class `weight`, `ignore_index` and
`label_smoothing`. With class labels and weights, "mean" divides by the sum
of the weights of the counted samples (PyTorch's weighted mean), not by their
number. Backwards are differentiable again.
"""
import numpy as np

from ... import ops
from ...engine import Function, Tensor
from ...ops import _call
from ...validation import is_integer, is_real_number
from ._checks import (_as_float_like, _check_not_empty, _check_reduction, _dtype, _loss_input,
                      _per_element, _reduce)

__all__ = ["cross_entropy", "nll_loss"]


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


class NegativeLogLikelihood(Function):
    """-w[y_i] * log_probs[i, y_i] per sample (0 for an ignored one); mean divides by `divisor`.

    The gradient is the same weights scattered back to the picked entries (an
    IndexAdd, itself differentiable).
    """

    @staticmethod
    def forward(ctx, log_probs, index=None, sample_weight=None, divisor=1.0, reduction="mean"):
        ctx.index, ctx.sample_weight, ctx.shape = index, sample_weight, log_probs.shape
        ctx.divisor, ctx.reduction = divisor, reduction
        per_sample = -sample_weight * log_probs[index]
        if reduction == "none":
            return per_sample
        total = per_sample.sum()
        if reduction == "sum":
            return total
        with np.errstate(invalid="ignore", divide="ignore"):   # every sample ignored: NaN, as PyTorch
            return total / divisor

    @staticmethod
    def backward(ctx, g):
        if ctx.reduction == "mean":
            g = g / ctx.divisor
        picked = -g * ctx.sample_weight
        return _call(ops.IndexAdd, picked, shape=ctx.shape, index=ctx.index)


def _class_weight(weight, classes, dtype, where):
    """`weight` as a float array of one non-negative number per class (None stays None)."""
    if weight is None:
        return None
    values = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if values.shape != (classes,) or values.dtype.kind not in "iuf":
        raise ValueError(f"{where}: weight must hold one number per class, shape ({classes},); "
                         f"got shape {values.shape} of dtype {values.dtype}")
    return values.astype(dtype)


def _check_labels(values, shape, classes, ignore_index, where):
    """Raise unless `values` are integer labels of `shape`, each in [0, classes) or ignore_index."""
    if values.shape != shape:
        raise ValueError(f"{where}: integer class labels must have shape {shape} for inputs of "
                         f"shape {shape + (classes,)}, got shape {values.shape}")
    if not values.size or (values.min() >= 0 and values.max() < classes):
        return   # every label in range (two reductions; the mask below only when one is not)
    bad = ((values < 0) | (values >= classes)) & (values != ignore_index)
    if bad.any():
        raise ValueError(f"{where}: class label {values[bad].flat[0]} is out of range for "
                         f"{classes} classes (labels run from 0 to {classes - 1})")


def _nll(log_probs, labels, weight, ignore_index, reduction):
    """nll_loss on checked inputs: labels an integer array, weight None or a per-class array."""
    ignored = labels == ignore_index
    safe = np.where(ignored, 0, labels)
    sample_weight = (np.ones(labels.shape, _dtype(log_probs)) if weight is None
                     else weight[safe]) * ~ignored
    divisor = sample_weight.sum()
    return NegativeLogLikelihood.apply(log_probs, index=_label_index(safe), sample_weight=sample_weight,
                                       divisor=divisor, reduction=reduction)


def _classes_of(x, where, what):
    shape = x.shape
    if len(shape) not in (1, 2) or shape[-1] == 0:
        raise ValueError(f"{where} takes {what} of shape (N, C) or (C,) with C >= 1 classes, "
                         f"got shape {shape}")
    return shape[-1]


def nll_loss(log_probs, target, reduction="mean", *, weight=None, ignore_index=-100):
    """Negative log-likelihood of integer class labels under `log_probs` (N, C) or (C,).

    Per sample -weight[y] * log_probs[y] (weight 1 without `weight`); samples
    whose label is `ignore_index` count 0 and are left out of the mean, which
    divides by the sum of the counted samples' weights.
    """
    where = "nll_loss"
    _check_reduction(reduction)
    log_probs = _loss_input(log_probs, where, "input")
    classes = _classes_of(log_probs, where, "log-probabilities")
    _check_not_empty(where, log_probs.shape, reduction)
    target = _loss_input(target, where, "target")
    values = target.data if isinstance(target, Tensor) else target
    if values.dtype.kind not in "iu":
        raise TypeError(f"{where}: target must hold integer class labels, got dtype {values.dtype}")
    if not is_integer(ignore_index):
        raise TypeError(f"{where}: ignore_index must be an integer, got {ignore_index!r}")
    _check_labels(values, log_probs.shape[:-1], classes, ignore_index, where)
    weight = _class_weight(weight, classes, _float_dtype(log_probs), where)
    return _nll(log_probs, values, weight, ignore_index, reduction)


def _float_dtype(x):
    dtype = _dtype(x)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def cross_entropy(logits, target, reduction="mean", *, weight=None, ignore_index=-100,
                  label_smoothing=0.0):
    """Softmax cross-entropy of `logits` (N, C) or (C,), PyTorch's definition.

    `target` is either integer class labels, shape (N,) (or a scalar for (C,)
    logits), each in [0, C) or equal to `ignore_index`; or class
    probabilities of the logits' shape. `weight` (C,) rescales each class;
    with labels, "mean" divides by the summed weights of the counted samples.
    `label_smoothing` eps mixes the target with the uniform distribution:
    loss = (1 - eps) * nll + eps * (-sum_c w_c log p_c) / C.
    """
    where = "cross_entropy"
    _check_reduction(reduction)
    logits = _loss_input(logits, where, "logits")
    shape = logits.shape
    if len(shape) not in (1, 2) or shape[-1] == 0:
        raise ValueError(f"cross_entropy takes logits of shape (N, C) or (C,) with C >= 1 classes, "
                         f"got shape {shape}")
    _check_not_empty(where, shape, reduction)
    classes = shape[-1]
    if not is_real_number(label_smoothing) or not 0 <= label_smoothing <= 1:
        raise ValueError(f"{where}: label_smoothing must be a number in [0, 1], got "
                         f"{label_smoothing!r}")
    if not is_integer(ignore_index):
        raise TypeError(f"{where}: ignore_index must be an integer, got {ignore_index!r}")
    weight = _class_weight(weight, classes, _float_dtype(logits), where)
    target = _loss_input(target, where, "target")
    values = target.data if isinstance(target, Tensor) else target
    if values.dtype.kind in "iu":
        _check_labels(values, shape[:-1], classes, ignore_index, where)
        if weight is None and not label_smoothing and not (values == ignore_index).any():
            return SoftmaxCrossEntropy.apply(logits, values, reduction=reduction, labels=True)
        log_probs = log_softmax_tensor(logits)
        loss = _nll(log_probs, values, weight, ignore_index, reduction)
        if not label_smoothing:
            return loss
        kept = values != ignore_index
        per_class = log_probs if weight is None else log_probs * weight
        smooth = -per_class.sum(axis=-1) * kept
        if reduction == "mean":
            divisor = kept.sum() if weight is None else (weight[np.where(kept, values, 0)] * kept).sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                smooth = smooth.sum() / divisor
        else:
            smooth = _reduce(smooth, reduction)
        return (1 - label_smoothing) * loss + smooth * (label_smoothing / classes)
    if values.dtype.kind == "f":
        if values.shape != shape:
            raise ValueError(f"cross_entropy: a float target holds class probabilities and must "
                             f"have the logits' shape {shape}, got shape {values.shape} (class "
                             f"labels must be an integer array)")
        target = _as_float_like(target, _dtype(logits))
        if weight is None and not label_smoothing:
            return SoftmaxCrossEntropy.apply(logits, target, reduction=reduction)
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / classes
        per_class = log_softmax_tensor(logits) * target
        if weight is not None:
            per_class = per_class * weight
        per_sample = -per_class.sum(axis=-1)
        return _reduce(per_sample, reduction)
    raise TypeError(f"cross_entropy: target must hold integer class labels or float class "
                    f"probabilities, got dtype {values.dtype}")


def log_softmax_tensor(x):
    """log_softmax(x) over the last axis, as a Tensor (so the loss composed on it is one too)."""
    return ops.LogSoftmax.apply(x if isinstance(x, Tensor) else Tensor(x), axis=-1)
