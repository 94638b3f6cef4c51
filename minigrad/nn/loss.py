"""Loss modules: each holds its settings and calls the function of the same name in nn.functional.

PyTorch's names. `reduction` is the first argument of every one (minigrad's
order: PyTorch puts class `weight` first in CrossEntropyLoss and NLLLoss, so
pass that by name).
"""
import numpy as np

from . import functional as F
from .functional._checks import _check_reduction
from .module import Module

__all__ = ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
           "KLDivLoss", "CrossEntropyLoss", "NLLLoss"]



class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        _check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """`mse_loss(pred, target, reduction)`: squared error, mean over elements by default."""

    def forward(self, pred, target):
        return F.mse_loss(pred, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """`cross_entropy(logits, target, reduction, weight=, ignore_index=, label_smoothing=)`.

    Softmax cross-entropy of logits against class labels or probabilities.
    """

    def __init__(self, reduction="mean", *, weight=None, ignore_index=-100, label_smoothing=0.0):
        super().__init__(reduction)
        self.weight = None if weight is None else np.array(weight, dtype=float)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, self.reduction, weight=self.weight,
                               ignore_index=self.ignore_index, label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """`nll_loss(log_probs, target, reduction, weight=, ignore_index=)`: -log_probs[label]."""

    def __init__(self, reduction="mean", *, weight=None, ignore_index=-100):
        super().__init__(reduction)
        self.weight = None if weight is None else np.array(weight, dtype=float)
        self.ignore_index = ignore_index

    def forward(self, log_probs, target):
        return F.nll_loss(log_probs, target, self.reduction, weight=self.weight,
                          ignore_index=self.ignore_index)


class L1Loss(_Loss):
    """`l1_loss(pred, target, reduction)`: |pred - target|."""

    def forward(self, pred, target):
        return F.l1_loss(pred, target, self.reduction)


class SmoothL1Loss(_Loss):
    """`smooth_l1_loss(pred, target, reduction, beta=beta)`: quadratic below beta, linear above."""

    def __init__(self, reduction="mean", *, beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, pred, target):
        return F.smooth_l1_loss(pred, target, self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """`huber_loss(pred, target, reduction, delta=delta)`: 0.5 d^2 below delta, delta (|d| - delta/2) above."""

    def __init__(self, reduction="mean", *, delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, pred, target):
        return F.huber_loss(pred, target, self.reduction, delta=self.delta)


class BCELoss(_Loss):
    """`binary_cross_entropy(probs, target, reduction, weight=weight)`, logs clamped to >= -100."""

    def __init__(self, reduction="mean", *, weight=None):
        super().__init__(reduction)
        self.weight = weight

    def forward(self, probs, target):
        return F.binary_cross_entropy(probs, target, self.reduction, weight=self.weight)


class KLDivLoss(Module):
    """`kl_div(log_q, target, reduction, log_target=log_target)`; reduction may be "batchmean"."""

    def __init__(self, reduction="mean", *, log_target=False):
        super().__init__()
        if reduction not in ("mean", "batchmean", "sum", "none"):
            raise ValueError(f"KLDivLoss: reduction must be one of 'mean', 'batchmean', 'sum', "
                             f"'none'; got {reduction!r}")
        self.reduction, self.log_target = reduction, log_target

    def forward(self, log_q, target):
        return F.kl_div(log_q, target, self.reduction, log_target=self.log_target)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class BCEWithLogitsLoss(_Loss):
    """`binary_cross_entropy_with_logits(logits, target, reduction)`."""

    def forward(self, logits, target):
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)
