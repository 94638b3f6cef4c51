"""Adam and AdamW (Kingma & Ba; Loshchilov & Hutter) with PyTorch's update rule, AMSGrad included."""
import numpy as np

from .optimizer import Optimizer
from .checks import betas, flag, learning_rate, non_negative

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam as PyTorch computes it. For each parameter p with gradient g, at its step t = 1, 2, ...:

        g = -g                                          if maximize
        p = p * (1 - lr * weight_decay)                 if decoupled_weight_decay (AdamW)
        g = g + weight_decay * p                        otherwise
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v);  v = v_max               if amsgrad
        p = p - (lr / (1 - beta1**t)) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Parameters:
        params: model.parameters(), or a list of parameter groups (dicts).
        lr: the learning rate (default 1e-3).
        betas: (beta1, beta2), the decay rates of the moment estimates, each in [0, 1).
        eps: added to the denominator, for numerical stability.
        weight_decay: L2 penalty (added to the gradient), or with
            decoupled_weight_decay the decay rate applied to p directly (AdamW).
        amsgrad: use the largest second-moment estimate so far (AMSGrad).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: AdamW's decoupled weight decay.
    State per parameter: "step", "exp_avg", "exp_avg_sq" and, with amsgrad, "max_exp_avg_sq".
    """
    option_checks = {"lr": learning_rate, "betas": betas, "eps": non_negative("eps"),
                     "weight_decay": non_negative("weight_decay"), "amsgrad": flag("amsgrad"),
                     "maximize": flag("maximize"),
                     "decoupled_weight_decay": flag("decoupled_weight_decay")}
    state_names = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _required_state(self, group):
        names = {"step", "exp_avg", "exp_avg_sq"}
        return names | {"max_exp_avg_sq"} if group["amsgrad"] else names

    def _check_buffer(self, name, value):
        if name in ("exp_avg_sq", "max_exp_avg_sq") and (value < 0).any():
            return (f"a second-moment estimate must be >= 0, got {value.min()} (its square root "
                    "would be NaN)")
        return None

    @staticmethod
    def _update(param, grad, state, group):
        """One Adam step on numpy arrays: `param` and the moment estimates change in place."""
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        g = -grad if group["maximize"] else grad
        if "step" not in state:
            state.update(step=0, exp_avg=np.zeros_like(param), exp_avg_sq=np.zeros_like(param))
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if weight_decay:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * param
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denominator = np.sqrt(v)
        denominator /= (1 - beta2 ** t) ** 0.5
        denominator += group["eps"]
        param -= (lr / (1 - beta1 ** t)) * m / denominator


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): `p = p * (1 - lr * weight_decay)`
    before the Adam step, instead of adding `weight_decay * p` to the gradient.

    Parameters as Adam's, with weight_decay defaulting to 1e-2 (PyTorch's);
    `decoupled_weight_decay` is True in every group.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
