"""RMSprop (Hinton's lecture 6e) with PyTorch's momentum, centering and weight decay."""
import numpy as np

from .optimizer import Optimizer
from .checks import flag, learning_rate, non_negative

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop as PyTorch computes it. For each parameter p with gradient g:

        g = -g                                        if maximize
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g**2
        a = alpha * a + (1 - alpha) * g;  d = sqrt(v - a**2) + eps      if centered
        d = sqrt(v) + eps                                                otherwise
        b = momentum * b + g / d;  p = p - lr * b      if momentum > 0
        p = p - lr * g / d                             otherwise

    Parameters:
        params: model.parameters(), or a list of parameter groups (dicts).
        lr: the learning rate (default 1e-2, as PyTorch).
        alpha: the decay rate of the running averages.
        eps: added to the denominator, for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        momentum: the momentum factor.
        centered: divide by an estimate of the gradient's variance instead of its second moment.
        maximize: ascend the objective instead of descending it.
    State per parameter: "step", "square_avg", "momentum_buffer" (with momentum), "grad_avg"
    (when centered).
    """
    option_checks = {"lr": learning_rate, "alpha": non_negative("alpha"),
                     "eps": non_negative("eps"), "weight_decay": non_negative("weight_decay"),
                     "momentum": non_negative("momentum"), "centered": flag("centered"),
                     "maximize": flag("maximize")}
    state_names = ("step", "square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _required_state(self, group):
        names = {"step", "square_avg"}
        if group["momentum"] > 0:
            names.add("momentum_buffer")
        if group["centered"]:
            names.add("grad_avg")
        return names

    def _check_buffer(self, name, value):
        if name == "square_avg" and (value < 0).any():
            return f"a running average of squares must be >= 0, got {value.min()}"
        return None

    @staticmethod
    def _update(param, grad, state, group):
        """One RMSprop step on numpy arrays: `param` and the running averages change in place."""
        alpha, momentum = group["alpha"], group["momentum"]
        g = -grad if group["maximize"] else grad
        if "step" not in state:
            state.update(step=0, square_avg=np.zeros_like(param))
        for name, wanted in (("momentum_buffer", momentum > 0), ("grad_avg", group["centered"])):
            if wanted and name not in state:
                state[name] = np.zeros_like(param)
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * param
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * (g * g)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * g
            denominator = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            denominator = np.sqrt(square_avg)
        denominator += group["eps"]
        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += g / denominator
            param -= group["lr"] * buffer
        else:
            param -= group["lr"] * (g / denominator)
