"""OneCycleLR: the one-cycle learning-rate (and momentum) policy of Smith & Topin, PyTorch's numbers."""
import math

from ..validation import check_flag
from .scheduler_base import LRScheduler, check_integer, check_number, check_optimizer, per_group

__all__ = ["OneCycleLR"]


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
        check_optimizer(optimizer, where)
        if total_steps is not None:
            total = check_integer("total_steps", total_steps, where, 1)
        elif epochs is not None and steps_per_epoch is not None:
            total = check_integer("epochs", epochs, where, 1) * \
                check_integer("steps_per_epoch", steps_per_epoch, where, 1)
        else:
            raise ValueError(f"{where}: give total_steps, or both epochs and steps_per_epoch")
        pct_start = check_number("pct_start", pct_start, where, 0, 1)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{where}: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        cycle_momentum = check_flag("cycle_momentum", cycle_momentum, where)
        three_phase = check_flag("three_phase", three_phase, where)
        div_factor = check_number("div_factor", div_factor, where, 0, low_open=True)
        final_div_factor = check_number("final_div_factor", final_div_factor, where, 0, low_open=True)
        max_lrs = per_group("max_lr", max_lr, optimizer, where,
                             lambda v: check_number("max_lr", v, where, low=0))
        use_beta1 = "betas" in optimizer.defaults
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and not use_beta1:
                raise ValueError(f"{where}: cycle_momentum needs an optimizer with momentum or "
                                 f"betas; {type(optimizer).__name__} has neither (pass "
                                 "cycle_momentum=False)")
            high = 1 if use_beta1 else None
            check = (lambda v: check_number("momentum", v, where, 0, high, high_open=use_beta1))
            max_momentums = per_group("max_momentum", max_momentum, optimizer, where, check)
            base_momentums = per_group("base_momentum", base_momentum, optimizer, where, check)
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
        """Each group's rate for epoch `last_epoch`, as the class docstring says."""
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
