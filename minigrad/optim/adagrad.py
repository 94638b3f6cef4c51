"""Adagrad (Duchi, Hazan & Singer) with PyTorch's learning-rate decay and weight decay."""
import numpy as np

from .optimizer import Optimizer
from .checks import flag, learning_rate, non_negative

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad as PyTorch computes it. For each parameter p with gradient g, at its step t = 1, 2, ...:

        g = -g                                         if maximize
        g = g + weight_decay * p
        s = s + g**2           (s starts at initial_accumulator_value)
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    Parameters:
        params: model.parameters(), or a list of parameter groups (dicts).
        lr: the learning rate (default 1e-2, as PyTorch).
        lr_decay: the learning rate's decay per step.
        weight_decay: L2 penalty added to the gradient.
        initial_accumulator_value: the starting value of the sum of squares.
        eps: added to the denominator, for numerical stability (default 1e-10).
        maximize: ascend the objective instead of descending it.
    State per parameter: "step" and "sum", made when the parameter is added, as in PyTorch
    (but from its own group's initial_accumulator_value, where PyTorch takes the
    constructor's for every group).
    """
    option_checks = {"lr": learning_rate, "lr_decay": non_negative("lr_decay"),
                     "weight_decay": non_negative("weight_decay"),
                     "initial_accumulator_value": non_negative("initial_accumulator_value"),
                     "eps": non_negative("eps"), "maximize": flag("maximize")}
    state_names = ("step", "sum")

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _new_group(self, group):
        for p in group["params"]:
            self.state[p] = {"step": 0, "sum": np.full_like(p.data,
                                                            group["initial_accumulator_value"])}

    def _check_buffer(self, name, value):
        if name == "sum" and (value < 0).any():
            return f"a sum of squares must be >= 0, got {value.min()}"
        return None

    @staticmethod
    def _update(param, grad, state, group):
        """One Adagrad step on numpy arrays: `param` and the sum of squares change in place."""
        g = -grad if group["maximize"] else grad
        if "step" not in state:
            state.update(step=0, sum=np.full_like(param, group["initial_accumulator_value"]))
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * param
        step_size = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        total = state["sum"]
        total += g * g
        denominator = np.sqrt(total)
        denominator += group["eps"]
        param -= step_size * (g / denominator)
