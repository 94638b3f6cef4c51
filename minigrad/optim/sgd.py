"""SGD: stochastic gradient descent with PyTorch's momentum, dampening, Nesterov and weight decay."""
import numpy as np

from .optimizer import Optimizer
from .checks import flag, learning_rate, non_negative

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's rule. For each parameter p with gradient g:

        g = -g                                              if maximize
        g = g + weight_decay * p
        b = g (first step),  b = momentum * b + (1 - dampening) * g (later)    if momentum
        g = g + momentum * b (nesterov),  g = b (otherwise)                     if momentum
        p = p - lr * g

    Parameters:
        params: model.parameters(), or a list of parameter groups (dicts).
        lr: the learning rate (default 1e-3, as PyTorch).
        momentum: the momentum factor (default 0: no buffer is kept).
        dampening: scales the gradient added to the momentum buffer by (1 - dampening).
        weight_decay: L2 penalty added to the gradient.
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend the objective instead of descending it.
    State per parameter: "momentum_buffer" (only with momentum).
    """
    option_checks = {"lr": learning_rate, "momentum": non_negative("momentum"),
                     "dampening": non_negative("dampening"),
                     "weight_decay": non_negative("weight_decay"), "nesterov": flag("nesterov"),
                     "maximize": flag("maximize")}
    state_names = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check_group(self, group, where):
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{where}: Nesterov momentum needs momentum > 0 and zero dampening, "
                             f"got momentum={group['momentum']}, dampening={group['dampening']}")

    def _required_state(self, group):
        return {"momentum_buffer"} if group["momentum"] else set()

    @staticmethod
    def _update(param, grad, state, group):
        """One SGD step on numpy arrays: `param` and the momentum buffer change in place."""
        g = -grad if group["maximize"] else grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * param
        momentum = group["momentum"]
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                # A new array (never .grad itself); np.array, because for a 0-d parameter
                # g is a numpy scalar, which `*=` below would rebind instead of changing.
                buffer = state["momentum_buffer"] = np.array(g, dtype=param.dtype)
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * g
            g = g + momentum * buffer if group["nesterov"] else buffer
        param -= group["lr"] * g
