"""Learning-rate schedules, PyTorch's: the same classes, arguments and learning-rate sequences.

A scheduler changes `group["lr"]` of each of its optimizer's parameter groups
when `step()` is called (once per epoch, or per batch for OneCycleLR), after
`optimizer.step()`:

    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        scheduler.step()

Constructing a scheduler records each group's starting rate as
`group["initial_lr"]` and applies the schedule's value for epoch 0. Most
schedules are computed as PyTorch computes them, "chainably" from the
group's current rate, so a rate changed by hand carries on from there; the
numbers equal PyTorch's. `state_dict()` holds numbers, lists, dicts and
strings only, so `minigrad.save` stores it beside the model and optimizer.
Arguments are checked before anything changes.
"""
import math
from collections import Counter
from collections.abc import Mapping

from .one_cycle import OneCycleLR
from .plateau import ReduceLROnPlateau
from .scheduler_base import LRScheduler, check_integer, check_number, check_optimizer, per_group

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LambdaLR", "LinearLR", "OneCycleLR", "ReduceLROnPlateau"]


class StepLR(LRScheduler):
    """Multiply each group's rate by `gamma` every `step_size` epochs.

    lr = base * gamma**(epoch // step_size).

    Parameters: optimizer; step_size (int >= 1); gamma (default 0.1); last_epoch.
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        check_optimizer(optimizer, "StepLR")
        self.step_size = check_integer("step_size", step_size, "StepLR", 1)
        self.gamma = check_number("gamma", gamma, "StepLR", low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        """Each group's rate for epoch `last_epoch`, as the class docstring says."""
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class MultiStepLR(LRScheduler):
    """Multiply each group's rate by `gamma` at each milestone epoch.

    lr = base * gamma**(number of milestones passed).

    Parameters: optimizer; milestones (epoch numbers, a milestone given twice
    multiplies twice); gamma (default 0.1); last_epoch.
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        check_optimizer(optimizer, "MultiStepLR")
        if isinstance(milestones, (str, bytes, Mapping)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"MultiStepLR: milestones must be a list of epoch numbers, got "
                            f"{milestones!r}")
        self.milestones = Counter(check_integer("a milestone", m, "MultiStepLR", 0)
                                  for m in milestones)
        self.gamma = check_number("gamma", gamma, "MultiStepLR", low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        """Each group's rate for epoch `last_epoch`, as the class docstring says."""
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    """Multiply each group's rate by `gamma` every epoch: lr = base * gamma**epoch.

    Parameters: optimizer; gamma; last_epoch.
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        check_optimizer(optimizer, "ExponentialLR")
        self.gamma = check_number("gamma", gamma, "ExponentialLR", low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        """Each group's rate for epoch `last_epoch`, as the class docstring says."""
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from each group's rate to `eta_min` over `T_max` epochs (no restarts):

        lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    computed step by step as PyTorch does (past T_max the rate rises again).
    Parameters: optimizer; T_max (int >= 1); eta_min (default 0); last_epoch.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        check_optimizer(optimizer, "CosineAnnealingLR")
        self.T_max = check_integer("T_max", T_max, "CosineAnnealingLR", 1)
        self.eta_min = check_number("eta_min", eta_min, "CosineAnnealingLR", low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        """Each group's rate for epoch `last_epoch`, as the class docstring says."""
        groups, epoch, T_max, eta_min = self.optimizer.param_groups, self.last_epoch, self.T_max, \
            self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and epoch > 0:
            return [eta_min + (base - eta_min) * (1 + math.cos(epoch * math.pi / T_max)) / 2
                    for base in self.base_lrs]
        if (epoch - 1 - T_max) % (2 * T_max) == 0:
            return [group["lr"] + (base - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * epoch / T_max)) / (1 + math.cos(math.pi * (epoch - 1) / T_max))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]


class LambdaLR(LRScheduler):
    """lr = base * lr_lambda(epoch), for a function of the epoch (one per group, or one for all).

    Parameters: optimizer; lr_lambda (a function or a list of functions);
    last_epoch. The functions are not part of the state dict.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        check_optimizer(optimizer, "LambdaLR")

        def callable_(f):
            if not callable(f):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch, got {f!r}")
            return f
        self.lr_lambdas = per_group("lr_lambda", lr_lambda, optimizer, "LambdaLR", callable_)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        """Each group's rate for epoch `last_epoch`, as the class docstring says."""
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]


class LinearLR(LRScheduler):
    """Scale each group's rate linearly from start_factor to end_factor over total_iters epochs:

        lr = base * (start + (end - start) * min(epoch, total_iters) / total_iters)

    Parameters: optimizer; start_factor in (0, 1] (default 1/3); end_factor
    in [0, 1] (default 1); total_iters (int >= 1, default 5); last_epoch.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        check_optimizer(optimizer, "LinearLR")
        self.start_factor = check_number("start_factor", start_factor, "LinearLR", 0, 1,
                                         low_open=True)
        self.end_factor = check_number("end_factor", end_factor, "LinearLR", 0, 1)
        self.total_iters = check_integer("total_iters", total_iters, "LinearLR", 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        """Each group's rate for epoch `last_epoch`, as the class docstring says."""
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        change = self.end_factor - self.start_factor
        return [group["lr"] * (1.0 + change / (self.total_iters * self.start_factor
                                               + (self.last_epoch - 1) * change))
                for group in groups]
