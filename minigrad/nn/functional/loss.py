"""Losses that compare a prediction with a target elementwise: mse, l1, smooth_l1, huber,
binary cross-entropy (from probabilities or logits) and KL divergence. PyTorch's definitions.

Each loss is ONE Function node: forward on arrays, backward a few lines that
read like the derivative. The backwards use only operations numpy arrays and
Tensors both support (arithmetic, `.sum`, numpy ufuncs, ops applied through
`_call`), so they are differentiable again (gradgradcheck passes). Masks
saved on ctx (which side of a kink an element is on) are constants.
"""
import numpy as np

from ... import ops
from ...engine import Function, Tensor
from ...ops import _call
from ...ops.linear import in_layout_of
from ...validation import is_finite_number, is_flag
from ._checks import (_as_float_like, _check_reduction, _check_same_shape, _dtype, _loss_input,
                      _per_element, _reduce)

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div"]



class SquaredError(Function):
    """(pred - target)**2, reduced."""

    @staticmethod
    def forward(ctx, pred, target, reduction="mean"):
        if not ctx.needs_input_grad[1]:
            target = in_layout_of(target, pred)   # Linear's column order
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


def mse_loss(pred, target, reduction="mean"):
    """Squared error `(pred - target)**2`, averaged over all elements by default (PyTorch's)."""
    _check_reduction(reduction)
    pred, target = _loss_input(pred, "mse_loss", "prediction"), _loss_input(target, "mse_loss", "target")
    _check_same_shape("mse_loss", pred, target, reduction)
    return SquaredError.apply(pred, _as_float_like(target, _dtype(pred)), reduction=reduction)




def _pair(name, pred, target, reduction):
    """The checked (prediction, target-in-the-prediction's-dtype) of an elementwise loss."""
    _check_reduction(reduction)
    pred, target = _loss_input(pred, name, "prediction"), _loss_input(target, name, "target")
    _check_same_shape(name, pred, target, reduction)
    return pred, _as_float_like(target, _dtype(pred))


class AbsoluteError(Function):
    """|pred - target|, reduced; d/dpred = sign(pred - target) (0 at a tie, as PyTorch)."""

    @staticmethod
    def forward(ctx, pred, target, reduction="mean"):
        diff = pred - target
        ctx.sign, ctx.reduction, ctx.count = np.sign(diff), reduction, diff.size
        return _reduce(np.abs(diff), reduction)

    @staticmethod
    def backward(ctx, g):
        d_pred = ctx.sign * _per_element(g, ctx.reduction, ctx.count)
        return d_pred, -d_pred


def l1_loss(pred, target, reduction="mean"):
    """Absolute error |pred - target|, averaged over all elements by default."""
    pred, target = _pair("l1_loss", pred, target, reduction)
    return AbsoluteError.apply(pred, target, reduction=reduction)


class HuberError(Function):
    """scale * (0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta), d = pred - target.

    smooth_l1_loss(beta) is scale 1; huber_loss(delta) is beta = delta, scale =
    delta. d/dd = scale * (d / beta inside, sign(d) outside).
    """

    @staticmethod
    def forward(ctx, pred, target, reduction="mean", beta=1.0, scale=1.0):
        diff = pred - target
        ctx.inside = np.abs(diff) < beta   # constant: which branch each element is on
        ctx.sign = np.sign(diff) * ~ctx.inside
        ctx.beta, ctx.scale, ctx.reduction, ctx.count = beta, scale, reduction, diff.size
        ctx.save_for_backward(pred, target)
        quadratic = 0.5 * diff * diff / beta if beta > 0 else 0.0
        per_element = np.where(ctx.inside, quadratic, np.abs(diff) - 0.5 * beta)
        return _reduce(per_element * scale if scale != 1 else per_element, reduction)

    @staticmethod
    def backward(ctx, g):
        pred, target = ctx.saved_tensors
        slope = ctx.sign
        if ctx.beta > 0:
            slope = slope + (pred - target) * (ctx.inside / ctx.beta)
        d_pred = slope * (ctx.scale * _per_element(g, ctx.reduction, ctx.count))
        return d_pred, -d_pred


def _check_threshold(name, value, where, positive):
    if not is_finite_number(value) or value < 0 or (positive and value == 0):
        kind = "> 0" if positive else ">= 0"
        raise ValueError(f"{where}: {name} must be a finite number {kind}, got {value!r}")
    return float(value)


def smooth_l1_loss(pred, target, reduction="mean", *, beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = pred - target); beta=0 is l1_loss."""
    beta = _check_threshold("beta", beta, "smooth_l1_loss", positive=False)
    pred, target = _pair("smooth_l1_loss", pred, target, reduction)
    return HuberError.apply(pred, target, reduction=reduction, beta=beta, scale=1.0)


def huber_loss(pred, target, reduction="mean", *, delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = pred - target)."""
    delta = _check_threshold("delta", delta, "huber_loss", positive=True)
    pred, target = _pair("huber_loss", pred, target, reduction)
    return HuberError.apply(pred, target, reduction=reduction, beta=delta, scale=delta)


class BinaryCrossEntropy(Function):
    """-w [y log p + (1 - y) log(1 - p)], each log clamped to >= -100 (PyTorch's), reduced.

    d/dp = w (p - y) / max(p (1 - p), 1e-12) (PyTorch's backward);
    d/dy = -w (log p - log(1 - p)), clamped logs.
    """

    @staticmethod
    def forward(ctx, probs, target, weight=None, reduction="mean"):
        ctx.save_for_backward(probs, target)
        ctx.weight, ctx.reduction, ctx.count = weight, reduction, probs.size
        log_p, log_q = _clamped_logs(probs)
        per_element = -(target * log_p + (1 - target) * log_q)
        return _reduce(per_element if weight is None else per_element * weight, reduction)

    @staticmethod
    def backward(ctx, g):
        probs, target = ctx.saved_tensors
        g = _per_element(g, ctx.reduction, ctx.count)
        if ctx.weight is not None:
            g = g * ctx.weight
        wants_probs, wants_target = ctx.needs_input_grad
        d_probs = g * (probs - target) / np.maximum(probs * (1 - probs), 1e-12) if wants_probs else None
        d_target = None
        if wants_target:
            log_p, log_q = _clamped_logs(probs)
            d_target = -g * (log_p - log_q)
        return d_probs, d_target


def _clamped_logs(p):
    """(max(log p, -100), max(log(1 - p), -100)): finite at p = 0 and p = 1, as PyTorch's."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), -100.0), np.maximum(np.log(1 - p), -100.0)


def binary_cross_entropy(probs, target, reduction="mean", *, weight=None):
    """Binary cross-entropy of probabilities `probs` in [0, 1] against `target` (same shape).

    -w [y log p + (1 - y) log(1 - p)] with each log clamped to >= -100, as
    PyTorch does, so p = 0 or 1 gives a finite loss. `weight` (broadcast to
    the input's shape) rescales each element. Prefer
    binary_cross_entropy_with_logits on logits: it is exact where this clamps.
    """
    where = "binary_cross_entropy"
    probs, target = _pair(where, probs, target, reduction)
    values = probs.data if isinstance(probs, Tensor) else probs
    outside = ~((values >= 0) & (values <= 1))
    if outside.any():
        raise ValueError(f"{where}: the input must hold probabilities in [0, 1], got "
                         f"{values[outside].flat[0]} (use binary_cross_entropy_with_logits "
                         "for logits)")
    if weight is not None:
        weight = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=values.dtype)
        try:
            np.broadcast_shapes(weight.shape, values.shape)
        except ValueError:
            raise ValueError(f"{where}: weight of shape {weight.shape} does not broadcast to the "
                             f"input's shape {values.shape}") from None
    return BinaryCrossEntropy.apply(probs, target, weight=weight, reduction=reduction)


class KLDivergence(Function):
    """target * (log target - input), input a log-probability (PyTorch's kl_div).

    With log_target the target is a log-probability too: exp(t) (t - input).
    d/dinput = -target (or -exp(t)); d/dtarget = log target + 1 - input
    (or exp(t) (t - input + 1)). A zero target contributes 0 (0 log 0 = 0).
    """

    @staticmethod
    def forward(ctx, log_q, target, reduction="mean", log_target=False, count=1):
        ctx.save_for_backward(log_q, target)
        ctx.log_target, ctx.reduction, ctx.count = log_target, reduction, count
        if log_target:
            per_element = np.exp(target) * (target - log_q)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                t_log_t = np.where(target > 0, target * np.log(target), 0.0)
            per_element = t_log_t - target * log_q
        if reduction in ("mean", "batchmean"):
            return per_element.sum() / count
        return _reduce(per_element, reduction)

    @staticmethod
    def backward(ctx, g):
        log_q, target = ctx.saved_tensors
        if ctx.reduction in ("mean", "batchmean"):
            g = g / ctx.count
        wants_input, wants_target = ctx.needs_input_grad
        p = np.exp(target) if ctx.log_target else target
        d_input = -g * p if wants_input else None
        d_target = None
        if wants_target:
            if ctx.log_target:
                d_target = g * p * (target - log_q + 1)
            else:
                d_target = g * (np.log(target) + 1 - log_q)
        return d_input, d_target


def kl_div(input, target, reduction="mean", *, log_target=False):
    """Kullback-Leibler divergence, PyTorch's convention: `input` holds log-probabilities.

    Elementwise target * (log target - input) (exp(target) * (target - input)
    if `log_target`). `reduction`: "mean" over all elements (what PyTorch does,
    though not the mathematical KL), "batchmean" (sum / batch size: the true
    KL per sample), "sum" or "none".
    """
    where = "kl_div"
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(f"{where}: reduction must be one of 'mean', 'batchmean', 'sum', 'none'; "
                         f"got {reduction!r}")
    if not is_flag(log_target):
        raise TypeError(f"{where}: log_target must be True or False, got {log_target!r}")
    input, target = _pair(where, input, target, "mean" if reduction == "batchmean" else reduction)
    shape = input.shape
    if reduction == "batchmean" and not shape:
        raise ValueError(f"{where}: reduction='batchmean' needs a batch axis; got a 0-d input")
    count = shape[0] if reduction == "batchmean" else int(np.prod(shape, dtype=np.int64))
    return KLDivergence.apply(input, target, reduction=reduction, log_target=bool(log_target),
                              count=count)

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
