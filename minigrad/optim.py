"""Optimizers: SGD and Adam with the update rules PyTorch documents.

An optimizer holds a list of parameters and, per parameter, a dict of state
buffers (a momentum buffer, Adam's moment estimates). `step()` updates every
parameter that has a gradient, in place, under no_grad: the parameter
objects stay the same, so the model and the optimizer keep pointing at them.

`state_dict()` is flat: hyperparameters under their names ("lr",
"momentum", ...) and buffers under "state.<parameter index>.<buffer name>",
so `minigrad.save(optimizer.state_dict(), path)` stores it as it is.
"""
from collections.abc import Mapping

import numpy as np

from .engine import Tensor, no_grad
from .engine.modes import current_tracer

__all__ = ["Optimizer", "SGD", "Adam"]


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_lr(lr):
    return _check_non_negative("learning rate", lr)


def _checked_params(params):
    if isinstance(params, Tensor):
        raise TypeError("an optimizer takes an iterable of parameters, such as model.parameters(), "
                        "not a single Tensor (wrap it in a list)")
    if callable(getattr(params, "parameters", None)):
        raise TypeError(f"an optimizer takes an iterable of parameters: pass "
                        f"model.parameters(), not the {type(params).__name__} itself")
    if isinstance(params, (Mapping, str, bytes)) or not hasattr(params, "__iter__"):
        raise TypeError(f"an optimizer takes an iterable of parameters, such as "
                        f"model.parameters(), not a {type(params).__name__} (parameter groups "
                        "are not supported)")
    params = list(params)
    if not params:
        raise ValueError("the optimizer got an empty parameter list (did the model register no "
                         "Parameters, or was a parameters() generator already used up?)")
    seen = set()
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameter {i} given to the optimizer is a {type(p).__name__}, "
                            "not a Tensor")
        if not p.requires_grad or not p.is_leaf:
            raise ValueError(f"parameter {i} given to the optimizer, of shape {p.shape}, is not a "
                             "leaf tensor that requires grad, so it never gets a .grad")
        if id(p) in seen:
            raise ValueError(f"parameter {i} of shape {p.shape} is given to the optimizer twice "
                             "(it would be updated twice per step)")
        seen.add(id(p))
    return params


class Optimizer:
    """Base class: the parameters, per-parameter `state`, `zero_grad()`, `step()`, `lr`, state dicts.

    Subclasses list their `hyperparameter_names` (set as attributes, saved in
    the state dict) and `buffer_names` (per-parameter state: "step" is an
    integer, every other buffer has its parameter's shape and dtype), check
    hyperparameters in `_check_hyperparameters` and define `step`.
    """
    hyperparameter_names = ("lr",)
    buffer_names = ()

    def __init__(self, params, **hyperparameters):
        self.params = _checked_params(params)
        for name, value in self._check_hyperparameters(**hyperparameters).items():
            setattr(self, name, value)
        self.state = [{} for _ in self.params]   # state[i]: buffers of params[i]

    @property
    def lr(self):
        """The learning rate; assign to change it between steps (a schedule)."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = _check_lr(value)

    def _check_hyperparameters(self, lr):
        return {"lr": _check_lr(lr)}

    def zero_grad(self):
        """Set every parameter's `.grad` to None (PyTorch's default): the next backward starts afresh."""
        for p in self.params:
            p.grad = None

    def step(self):
        raise NotImplementedError(f"{type(self).__name__} defines no step()")

    def _gradients(self):
        """(parameter, its state, its gradient plus weight decay) for each parameter with a .grad."""
        weight_decay = getattr(self, "weight_decay", 0)
        for p, state in zip(self.params, self.state):
            g = p.grad
            if g is None:
                continue
            if weight_decay:
                g = g + weight_decay * p.data
            yield p, state, g

    def state_dict(self):
        """{hyperparameter name: value} and {"state.<i>.<buffer>": array or int}, copies."""
        state = {name: getattr(self, name) for name in self.hyperparameter_names}
        for i, buffers in enumerate(self.state):
            for name, value in buffers.items():
                state[f"state.{i}.{name}"] = value.copy() if isinstance(value, np.ndarray) else value
        return state

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and buffers from `state_dict()`'s output (or a loaded checkpoint).

        Every key, shape and value is checked first; on any problem a ValueError
        lists them all and the optimizer is left untouched. Buffers are copied,
        cast to their parameter's dtype.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict takes a mapping, not a {type(state_dict).__name__}")
        problems = [f"missing key '{name}'" for name in self.hyperparameter_names
                    if name not in state_dict]
        seen = {}   # (parameter index, buffer name) -> key
        refused = set()   # parameters with a refused buffer: no need to also call their state incomplete
        new_state = [{} for _ in self.params]
        for key, value in state_dict.items():
            if key in self.hyperparameter_names:
                continue
            parts = key.split(".") if isinstance(key, str) else ()
            if len(parts) != 3 or parts[0] != "state" or not _is_index(parts[1]) \
                    or parts[2] not in self.buffer_names:
                problems.append(f"unexpected key {key!r}")
                continue
            index, name = int(parts[1]), parts[2]
            if (index, name) in seen:
                problems.append(f"'{key}' and '{seen[index, name]}' name the same buffer")
                continue
            seen[index, name] = key
            if index >= len(self.params):
                problems.append(f"'{key}': this optimizer has only {len(self.params)} parameters")
                continue
            try:
                value = np.asarray(value)
            except (TypeError, ValueError) as error:   # e.g. a ragged nested list
                problems.append(f"'{key}': not an array of numbers ({error})")
                refused.add(index)
                continue
            if name == "step":
                if value.shape != () or value.dtype.kind not in "iu" or value < 0:
                    problems.append(f"'{key}': a step count must be an integer >= 0, got {value!r}")
                    refused.add(index)
                else:
                    new_state[index][name] = int(value)
                continue
            param = self.params[index]
            if value.dtype.kind not in "biuf":
                problems.append(f"'{key}': values of dtype {value.dtype} are not real numbers")
                refused.add(index)
            elif value.shape != param.shape:
                problems.append(f"'{key}': parameter {index} has shape {param.shape}, the state "
                                f"dict gives shape {value.shape}")
                refused.add(index)
            else:
                with np.errstate(over="ignore"):
                    value = value.astype(param.dtype, copy=True)
                problem = self._check_buffer(name, value)
                if problem:
                    problems.append(f"'{key}': {problem}")
                    refused.add(index)
                else:
                    new_state[index][name] = value
        for index, buffers in enumerate(new_state):
            if buffers and set(buffers) != set(self.buffer_names) and index not in refused:
                problems.append(f"the state of parameter {index} has {sorted(buffers)}; it needs "
                                f"all of {sorted(self.buffer_names)}")
        hyperparameters = {}
        if not problems:
            try:
                hyperparameters = self._check_hyperparameters(
                    **{name: _python_value(state_dict[name]) for name in self.hyperparameter_names})
            except (TypeError, ValueError) as error:
                problems.append(str(error))
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__} failed; nothing was "
                             "changed:\n  " + "\n  ".join(problems))
        for name, value in hyperparameters.items():
            setattr(self, name, value)
        self.state = new_state

    def _check_buffer(self, name, value):
        """A problem with a loaded buffer (cast to its parameter's dtype), in words; None if fine."""
        if not np.isfinite(value).all():
            return (f"holds a non-finite value ({_first_non_finite(value)}); a NaN or inf buffer "
                    "would make every later step NaN")
        return None

    def __repr__(self):
        settings = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameter_names)
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"


def _is_index(text):
    """True for a parameter index as state_dict() writes it: ASCII digits, no leading zero."""
    return text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))


def _first_non_finite(array):
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
    return f"{array[index]} at index {index}"


def _python_value(value):
    """A loaded 0-d array as a Python number; anything else as it is."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    return value


def _check_non_negative(name, value):
    if not _is_number(value):
        raise TypeError(f"{name} must be a finite number >= 0, got {value!r} of type "
                        f"{type(value).__name__}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's momentum, Nesterov momentum and weight decay.

    For each parameter p with gradient g, at step t:

        g = g + weight_decay * p
        b = g (t = 1),  b = momentum * b + g (t > 1)       if momentum
        g = g + momentum * b (nesterov),  g = b (otherwise)  if momentum
        p = p - lr * g
    """
    hyperparameter_names = ("lr", "momentum", "nesterov", "weight_decay")
    buffer_names = ("momentum_buffer",)

    def __init__(self, params, lr, momentum=0, nesterov=False, weight_decay=0):
        super().__init__(params, lr=lr, momentum=momentum, nesterov=nesterov,
                         weight_decay=weight_decay)

    def _check_hyperparameters(self, lr, momentum, nesterov, weight_decay):
        momentum = _check_non_negative("momentum", momentum)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        return {"lr": _check_lr(lr), "momentum": momentum, "nesterov": bool(nesterov),
                "weight_decay": _check_non_negative("weight_decay", weight_decay)}

    def step(self):
        """Update every parameter that has a gradient; those whose .grad is None are skipped."""
        tracer = current_tracer()   # compile: minigrad.compile records the update, then runs it
        if tracer is not None and tracer.record_step(self):
            return
        lr, momentum, nesterov = self._lr, self.momentum, self.nesterov
        with no_grad():
            for p, state, g in self._gradients():
                if momentum:
                    buffer = state.get("momentum_buffer")
                    if buffer is None:
                        buffer = state["momentum_buffer"] = g.copy()   # never alias .grad
                    else:
                        buffer *= momentum
                        buffer += g
                    g = g + momentum * buffer if nesterov else buffer
                p -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba) as PyTorch documents it; weight_decay adds `weight_decay * p` to the gradient.

    For each parameter p with gradient g, at its step t = 1, 2, ...:

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        p = p - lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)
    """
    hyperparameter_names = ("lr", "betas", "eps", "weight_decay")
    buffer_names = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _check_hyperparameters(self, lr, betas, eps, weight_decay):
        betas = tuple(betas) if isinstance(betas, (tuple, list, np.ndarray)) else (betas,)
        if not all(_is_number(b) for b in betas):
            raise TypeError(f"betas must be two numbers in [0, 1), got {betas!r}")
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        return {"lr": _check_lr(lr), "betas": (float(betas[0]), float(betas[1])),
                "eps": _check_non_negative("eps", eps),
                "weight_decay": _check_non_negative("weight_decay", weight_decay)}

    def _check_buffer(self, name, value):
        problem = super()._check_buffer(name, value)
        if problem is None and name == "exp_avg_sq" and (value < 0).any():
            return (f"a second-moment estimate must be >= 0, got {value.min()} (its square root "
                    "would be NaN)")
        return problem

    def step(self):
        """Update every parameter that has a gradient; those whose .grad is None are skipped."""
        tracer = current_tracer()   # compile: minigrad.compile records the update, then runs it
        if tracer is not None and tracer.record_step(self):
            return
        lr, (beta1, beta2), eps = self._lr, self.betas, self.eps
        with no_grad():
            for p, state, g in self._gradients():
                if not state:
                    state.update(step=0, exp_avg=np.zeros_like(p.data),
                                 exp_avg_sq=np.zeros_like(p.data))
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * (g * g)
                denominator = np.sqrt(v / (1 - beta2 ** t))
                denominator += eps
                p -= (lr / (1 - beta1 ** t)) * m / denominator
