"""What an optimizer is given, checked: its parameters, its parameter groups, its options.

Each option check takes a value and returns it in its normal form (a float,
a bool, a pair of floats) or raises a TypeError/ValueError naming the option;
optimizers list theirs in `option_checks`.
"""
from collections.abc import Mapping

import numpy as np

from ..engine import Tensor
from ..validation import check_flag, check_non_negative, is_real_number

__all__ = ["learning_rate", "non_negative", "flag", "betas", "scheduler_value", "plain",
           "as_groups", "checked_params"]

def learning_rate(value):
    """A learning rate: a finite number >= 0, as a float."""
    return check_non_negative("learning rate", value)


def non_negative(name):
    """A check of option `name`: a finite number >= 0, as a float."""
    return lambda value: check_non_negative(name, value)


def flag(name):
    """A check of option `name`: True or False."""
    return lambda value: check_flag(name, value, "optimizer option")


def betas(value):
    """Two numbers in [0, 1): Adam's decay rates of its first and second moment estimates."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not all(is_real_number(b) for b in pair):
        raise TypeError(f"betas must be two numbers in [0, 1), got {value!r}")
    if len(pair) != 2 or not all(0 <= b < 1 for b in pair):
        raise ValueError(f"betas must be two numbers in [0, 1), got {value!r}")
    return float(pair[0]), float(pair[1])


def scheduler_value(name):
    """A check of a key a scheduler writes into a group: a number >= 0 (or a betas pair)."""
    def check(value):
        if isinstance(value, tuple):
            return betas(value)
        return check_non_negative(name, value)
    return check


def plain(value):
    """A 0-d numpy array or numpy scalar as a Python number (a loaded checkpoint's option)."""
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return value.item()
    return value



def as_groups(params):
    """The constructor's `params` as a list of group dicts, with the errors PyTorch users expect."""
    if isinstance(params, Tensor):
        raise TypeError("an optimizer takes an iterable of parameters, such as model.parameters(), "
                        "not a single Tensor (wrap it in a list)")
    if callable(getattr(params, "parameters", None)):
        raise TypeError(f"an optimizer takes an iterable of parameters: pass "
                        f"model.parameters(), not the {type(params).__name__} itself")
    if isinstance(params, (Mapping, str, bytes)) or not hasattr(params, "__iter__"):
        raise TypeError(f"an optimizer takes an iterable of parameters, such as "
                        f"model.parameters(), or a list of parameter groups, not a "
                        f"{type(params).__name__} (wrap a single group in a list: "
                        "[{'params': ...}])")
    items = list(params)
    if not items:
        raise ValueError("the optimizer got an empty parameter list (did the model register no "
                         "Parameters, or was a parameters() generator already used up?)")
    groups = [isinstance(item, Mapping) for item in items]
    if all(groups):
        return items
    if any(groups):
        raise TypeError("an optimizer takes either parameters or parameter groups (dicts), "
                        "not a mix of both")
    return [{"params": items}]


def checked_params(params, where, first):
    """The group's parameters as a list, each a leaf floating-point Tensor, none twice."""
    if isinstance(params, Tensor):
        params = [params]
    elif isinstance(params, (set, frozenset)):
        raise TypeError(f"{where}: parameters must be in an ordered collection (a list), not a "
                        "set, so that state dicts number them the same way every run")
    elif isinstance(params, (Mapping, str, bytes)) or not hasattr(params, "__iter__"):
        raise TypeError(f"{where}: 'params' must be an iterable of Tensors, not a "
                        f"{type(params).__name__}")
    params = list(params)
    if not params:
        raise ValueError(f"{where} has an empty parameter list")
    seen = set()
    for i, p in enumerate(params, start=first):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameter {i} given to the optimizer is a {type(p).__name__}, "
                            "not a Tensor")
        if not p.is_leaf:
            raise ValueError(f"parameter {i} given to the optimizer, of shape {p.shape}, is not a "
                             "leaf tensor (it is an operation's result), so it never gets a .grad")
        if p.dtype.kind != "f":
            raise ValueError(f"parameter {i} given to the optimizer, of shape {p.shape}, has dtype "
                             f"{p.dtype}; only floating-point tensors can require grad, so it "
                             "never gets a .grad")
        if id(p) in seen:
            raise ValueError(f"parameter {i} of shape {p.shape} is given to the optimizer twice "
                             "(it would be updated twice per step)")
        seen.add(id(p))
    return params
