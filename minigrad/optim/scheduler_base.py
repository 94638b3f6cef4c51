"""The base of the learning-rate schedules: LRScheduler and the checks of their arguments."""
import math
from collections import Counter
from collections.abc import Mapping

from ..validation import is_integer, is_real_number
from .optimizer import Optimizer

__all__ = ["LRScheduler", "check_number", "check_integer", "per_group", "check_optimizer"]


def check_number(name, value, where, low=None, high=None, low_open=False, high_open=False):
    """`value` as a float within the bounds, or a TypeError/ValueError naming `where` and `name`."""
    if not is_real_number(value) or not math.isfinite(value):
        raise (TypeError if not is_real_number(value) else ValueError)(
            f"{where}: {name} must be a finite number, got {value!r}")
    if (low is not None and (value < low or low_open and value == low)) or \
            (high is not None and (value > high or high_open and value == high)):
        bounds = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{where}: {name} must be in {bounds}, got {value!r}")
    return float(value)


def check_integer(name, value, where, low):
    if not is_integer(value):
        raise TypeError(f"{where}: {name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{where}: {name} must be an integer >= {low}, got {value}")
    return int(value)


def per_group(name, value, optimizer, where, check):
    """One value per parameter group: a list of them, or one value for every group."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{where}: {name} has {len(value)} values, the optimizer has "
                             f"{len(optimizer.param_groups)} parameter groups")
        return [check(v) for v in value]
    return [check(value)] * len(optimizer.param_groups)


def check_optimizer(optimizer, where):
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
        check_optimizer(optimizer, where)
        last_epoch = check_integer("last_epoch", last_epoch, where, -1)
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
