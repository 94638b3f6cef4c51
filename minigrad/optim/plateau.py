"""ReduceLROnPlateau: lower the learning rate when a metric stops improving, as PyTorch does."""
import math

from .scheduler_base import LRScheduler, check_integer, check_number, check_optimizer, per_group

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(LRScheduler):
    """Multiply each group's rate by `factor` when a metric has stopped improving for `patience` epochs.

    `step(metric)` takes the epoch's metric (a validation loss, say). It
    improves when below best * (1 - threshold) (mode "min", threshold_mode
    "rel"; "abs": best - threshold; mode "max" the other way). After more than
    `patience` epochs without improvement, every rate becomes
    max(lr * factor, min_lr) (unless that changes it by less than eps), and
    `cooldown` epochs pass before counting again. A NaN metric is refused
    (PyTorch would count it as an epoch without improvement).

    Parameters: optimizer; mode ("min"); factor (0.1, in [0, 1)); patience
    (10); threshold (1e-4); threshold_mode ("rel"); cooldown (0); min_lr (0,
    or one per group); eps (1e-8).
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        where = "ReduceLROnPlateau"
        check_optimizer(optimizer, where)
        if mode not in ("min", "max"):
            raise ValueError(f"{where}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{where}: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        self.factor = check_number("factor", factor, where, 0, 1, high_open=True)
        self.min_lrs = per_group("min_lr", min_lr, optimizer, where,
                                  lambda v: check_number("min_lr", v, where, low=0))
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else self.min_lrs[0]
        self.patience = check_integer("patience", patience, where, 0)
        self.cooldown = check_integer("cooldown", cooldown, where, 0)
        self.threshold = check_number("threshold", threshold, where, low=0)
        self.eps = check_number("eps", eps, where, low=0)
        self.mode, self.threshold_mode = mode, threshold_mode
        self.optimizer = optimizer
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _is_better(self, value, best):
        if self.mode == "min":
            return value < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                            else best - self.threshold)
        return value > (best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                        else best + self.threshold)

    def step(self, metrics):
        """Record this epoch's metric; reduce the rates after `patience` epochs without improvement."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step takes the epoch's metric as a number, got "
                            f"{metrics!r}") from None
        if math.isnan(current):
            raise ValueError("ReduceLROnPlateau.step got a NaN metric: the run has diverged, and "
                             "NaN is neither better nor worse than the best so far")
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(self.min_lrs) != len(groups):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter "
                                   f"groups now, min_lr was given for {len(self.min_lrs)}")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new
