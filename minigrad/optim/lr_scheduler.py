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

from ..validation import check_flag, is_integer, is_real_number
from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LambdaLR", "LinearLR", "OneCycleLR", "ReduceLROnPlateau"]


def _number(name, value, where, low=None, high=None, low_open=False, high_open=False):
    """`value` as a float within the bounds, or a TypeError/ValueError naming `where` and `name`."""
    if not is_real_number(value) or not math.isfinite(value):
        raise (TypeError if not is_real_number(value) else ValueError)(
            f"{where}: {name} must be a finite number, got {value!r}")
    if (low is not None and (value < low or low_open and value == low)) or \
            (high is not None and (value > high or high_open and value == high)):
        bounds = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{where}: {name} must be in {bounds}, got {value!r}")
    return float(value)


def _integer(name, value, where, low):
    if not is_integer(value):
        raise TypeError(f"{where}: {name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{where}: {name} must be an integer >= {low}, got {value}")
    return int(value)


def _per_group(name, value, optimizer, where, check):
    """One value per parameter group: a list of them, or one value for every group."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{where}: {name} has {len(value)} values, the optimizer has "
                             f"{len(optimizer.param_groups)} parameter groups")
        return [check(v) for v in value]
    return [check(value)] * len(optimizer.param_groups)


def _check_optimizer(optimizer, where):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{where} takes an optimizer (such as minigrad.optim.SGD(...)), not a "
                        f"{type(optimizer).__name__}")


class LRScheduler:
    """Base class: `step()`, `get_last_lr()`, `state_dict()`, `load_state_dict()`.

    Subclasses check their arguments, then call `super().__init__`, and define
    `get_lr()`: the rates for epoch `self.last_epoch`, for every group.

    Parameters:
        optimizer: the Optimizer whose groups' "lr" the schedule sets.
        last_epoch: the index of the last epoch done; -1 (default) starts a
            new schedule. A resumed schedule (>= 0) needs "initial_lr" in every
            group, as a loaded optimizer state dict has.
    """

    def __init__(self, optimizer, last_epoch=-1):
        where = type(self).__name__
        _check_optimizer(optimizer, where)
        last_epoch = _integer("last_epoch", last_epoch, where, -1)
        if last_epoch >= 0:
            missing = [i for i, g in enumerate(optimizer.param_groups) if "initial_lr" not in g]
            if missing:
                raise ValueError(f"{where}: resuming with last_epoch={last_epoch} needs "
                                 f"'initial_lr' in every parameter group; groups {missing} have "
                                 "none (load the optimizer's state dict first)")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The learning rate of each group for epoch `last_epoch` (called by step)."""
        raise NotImplementedError(f"{type(self).__name__} defines no get_lr()")

    def step(self):
        """Advance one epoch and set every group's "lr" to the schedule's value."""
        self._step_count += 1
        self.last_epoch += 1
        rates = self.get_lr()
        for group, rate in zip(self.optimizer.param_groups, rates):
            group["lr"] = rate
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates `step()` set last, one per parameter group (a new list)."""
        return list(self._last_lr)

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Every attribute except the optimizer: numbers, lists, dicts and strings."""
        return {key: _savable(value) for key, value in self.__dict__.items()
                if key not in ("optimizer", "lr_lambdas")}

    def load_state_dict(self, state_dict):
        """Restore what `state_dict()` returned (or `minigrad.load` gave back of it).

        Keys are checked first: one this scheduler does not have, or one
        missing, raises a ValueError and changes nothing.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict takes a mapping, not a {type(state_dict).__name__}")
        expected = set(self.state_dict())
        unexpected = sorted(set(state_dict) - expected)
        missing = sorted(expected - set(state_dict))
        if unexpected or missing:
            raise ValueError(f"load_state_dict into {type(self).__name__} failed; nothing was "
                             f"changed: unexpected keys {unexpected}, missing keys {missing}")
        self.__dict__.update({key: _restored(self.__dict__[key], value)
                              for key, value in state_dict.items()})


def _savable(value):
    if isinstance(value, Counter):
        return dict(value)
    return value


def _restored(current, value):
    """A loaded value in the type the scheduler keeps (a Counter, a list, a Python number)."""
    if isinstance(current, Counter):
        return Counter({int(k): int(v) for k, v in value.items()})
    if isinstance(current, list) and isinstance(value, (list, tuple)):
        return [_restored(c, v) for c, v in zip(current, value)] if len(current) == len(value) \
            else list(value)
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


class StepLR(LRScheduler):
    """Multiply each group's rate by `gamma` every `step_size` epochs: lr = base * gamma**(epoch // step_size).

    Parameters: optimizer; step_size (int >= 1); gamma (default 0.1); last_epoch.
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _check_optimizer(optimizer, "StepLR")
        self.step_size = _integer("step_size", step_size, "StepLR", 1)
        self.gamma = _number("gamma", gamma, "StepLR", low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class MultiStepLR(LRScheduler):
    """Multiply each group's rate by `gamma` at each milestone epoch: lr = base * gamma**(milestones passed).

    Parameters: optimizer; milestones (epoch numbers, a milestone given twice
    multiplies twice); gamma (default 0.1); last_epoch.
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        _check_optimizer(optimizer, "MultiStepLR")
        if isinstance(milestones, (str, bytes, Mapping)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"MultiStepLR: milestones must be a list of epoch numbers, got "
                            f"{milestones!r}")
        self.milestones = Counter(_integer("a milestone", m, "MultiStepLR", 0) for m in milestones)
        self.gamma = _number("gamma", gamma, "MultiStepLR", low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    """Multiply each group's rate by `gamma` every epoch: lr = base * gamma**epoch.

    Parameters: optimizer; gamma; last_epoch.
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        _check_optimizer(optimizer, "ExponentialLR")
        self.gamma = _number("gamma", gamma, "ExponentialLR", low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from each group's rate to `eta_min` over `T_max` epochs (SGDR without restarts):

        lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    computed step by step as PyTorch does (past T_max the rate rises again).
    Parameters: optimizer; T_max (int >= 1); eta_min (default 0); last_epoch.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _check_optimizer(optimizer, "CosineAnnealingLR")
        self.T_max = _integer("T_max", T_max, "CosineAnnealingLR", 1)
        self.eta_min = _number("eta_min", eta_min, "CosineAnnealingLR", low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
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
        return [(1 + math.cos(math.pi * epoch / T_max)) / (1 + math.cos(math.pi * (epoch - 1) / T_max))
                * (group["lr"] - eta_min) + eta_min for group in groups]


class LambdaLR(LRScheduler):
    """lr = base * lr_lambda(epoch), for a function of the epoch number (one per group, or one for all).

    Parameters: optimizer; lr_lambda (a function or a list of functions);
    last_epoch. The functions are not part of the state dict.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(optimizer, "LambdaLR")

        def callable_(f):
            if not callable(f):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch, got {f!r}")
            return f
        self.lr_lambdas = _per_group("lr_lambda", lr_lambda, optimizer, "LambdaLR", callable_)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]


class LinearLR(LRScheduler):
    """Scale each group's rate linearly from start_factor to end_factor over total_iters epochs:

        lr = base * (start + (end - start) * min(epoch, total_iters) / total_iters)

    Parameters: optimizer; start_factor in (0, 1] (default 1/3); end_factor
    in [0, 1] (default 1); total_iters (int >= 1, default 5); last_epoch.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        _check_optimizer(optimizer, "LinearLR")
        self.start_factor = _number("start_factor", start_factor, "LinearLR", 0, 1, low_open=True)
        self.end_factor = _number("end_factor", end_factor, "LinearLR", 0, 1)
        self.total_iters = _integer("total_iters", total_iters, "LinearLR", 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        change = self.end_factor - self.start_factor
        return [group["lr"] * (1.0 + change / (self.total_iters * self.start_factor
                                               + (self.last_epoch - 1) * change))
                for group in groups]


class OneCycleLR(LRScheduler):
    """The one-cycle policy (Smith & Topin), stepped once per batch.

    The rate rises from max_lr / div_factor to max_lr over the first
    pct_start of total_steps, then falls to max_lr / div_factor /
    final_div_factor (three_phase: back down to the start first), by cosine or
    linear annealing; with cycle_momentum, momentum (or Adam's beta1) moves
    the opposite way between max_momentum and base_momentum.

    Parameters: optimizer; max_lr (one, or one per group); total_steps, or
    epochs and steps_per_epoch; pct_start (0.3); anneal_strategy ("cos" or
    "linear"); cycle_momentum (True); base_momentum (0.85); max_momentum
    (0.95); div_factor (25); final_div_factor (1e4); three_phase (False);
    last_epoch. Stepping past total_steps raises a ValueError.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        where = "OneCycleLR"
        _check_optimizer(optimizer, where)
        if total_steps is not None:
            total = _integer("total_steps", total_steps, where, 1)
        elif epochs is not None and steps_per_epoch is not None:
            total = _integer("epochs", epochs, where, 1) * \
                _integer("steps_per_epoch", steps_per_epoch, where, 1)
        else:
            raise ValueError(f"{where}: give total_steps, or both epochs and steps_per_epoch")
        pct_start = _number("pct_start", pct_start, where, 0, 1)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{where}: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        cycle_momentum = check_flag("cycle_momentum", cycle_momentum, where)
        three_phase = check_flag("three_phase", three_phase, where)
        div_factor = _number("div_factor", div_factor, where, 0, low_open=True)
        final_div_factor = _number("final_div_factor", final_div_factor, where, 0, low_open=True)
        max_lrs = _per_group("max_lr", max_lr, optimizer, where,
                             lambda v: _number("max_lr", v, where, low=0))
        use_beta1 = "betas" in optimizer.defaults
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and not use_beta1:
                raise ValueError(f"{where}: cycle_momentum needs an optimizer with momentum or "
                                 f"betas; {type(optimizer).__name__} has neither (pass "
                                 "cycle_momentum=False)")
            high = 1 if use_beta1 else None
            check = (lambda v: _number("momentum", v, where, 0, high, high_open=use_beta1))
            max_momentums = _per_group("max_momentum", max_momentum, optimizer, where, check)
            base_momentums = _per_group("base_momentum", base_momentum, optimizer, where, check)
        # Everything is checked: from here on the groups change.
        self.total_steps = total
        if three_phase:
            self._schedule_phases = [
                dict(end_step=float(pct_start * total) - 1, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * total) - 2, start_lr="max_lr",
                     end_lr="initial_lr", start_momentum="base_momentum",
                     end_momentum="max_momentum"),
                dict(end_step=total - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum")]
        else:
            self._schedule_phases = [
                dict(end_step=float(pct_start * total) - 1, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=total - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum")]
        self._anneal_func_type = anneal_strategy
        if last_epoch == -1:
            for rate, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = rate / div_factor
                group["max_lr"] = rate
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = use_beta1
            if last_epoch == -1:
                for high, low, group in zip(max_momentums, base_momentums, optimizer.param_groups):
                    if use_beta1:
                        group["betas"] = (high, *group["betas"][1:])
                    else:
                        group["momentum"] = high
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; total_steps is "
                             f"{self.total_steps}")
        rates = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    rate = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]],
                                                group[phase["end_momentum"]], pct)
                    break
                start_step = phase["end_step"]
            rates.append(rate)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return rates

    def step(self):
        """Advance one batch; past total_steps a ValueError is raised and nothing changes."""
        if self.last_epoch + 1 > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {self.last_epoch + 1} times; "
                             f"total_steps is {self.total_steps}")
        super().step()


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
        _check_optimizer(optimizer, where)
        if mode not in ("min", "max"):
            raise ValueError(f"{where}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{where}: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        self.factor = _number("factor", factor, where, 0, 1, high_open=True)
        self.min_lrs = _per_group("min_lr", min_lr, optimizer, where,
                                  lambda v: _number("min_lr", v, where, low=0))
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else self.min_lrs[0]
        self.patience = _integer("patience", patience, where, 0)
        self.cooldown = _integer("cooldown", cooldown, where, 0)
        self.threshold = _number("threshold", threshold, where, low=0)
        self.eps = _number("eps", eps, where, low=0)
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
