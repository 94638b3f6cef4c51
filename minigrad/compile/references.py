"""What a compiled function refers to: its modules, parameters and optimizers, found by name.

A trace must know the modules whose `training` flag and hooks it depends on,
and the parameters whose `.grad` it reads and writes, before `fn` runs. They
are found in what `fn` refers to by name: its closure, the globals it uses,
its defaults, the object of a bound method, looking one object deep (a
trainer's `self.model`). The names label the program (`model.0.weight`).
"""
import functools
import inspect

import numpy as np

from ..engine import Tensor
from ..nn.module import Module
from ..optim import Optimizer

__all__ = ["scan", "scan_arguments", "add_once"]


def scan(fn):
    """(modules, leaves, optimizers, labels, constants) that `fn` refers to, by name, one object deep.

    Labels name parameters as `<variable>.<parameter name>` ("model.0.weight").
    Constants are the numpy arrays found the same way (and the modules'
    array attributes): the arrays a trace may keep as constants of its program.
    """
    found = {}
    _collect(fn, found, depth=0, seen=set())
    return _sorted_out(found)


def scan_arguments(named_values):
    """The same as `scan`, for the values a call passes (a model given as an argument)."""
    found = {}
    for name, value in named_values:
        _consider(name, value, found, depth=1, seen=set())
    return _sorted_out(found)


def _sorted_out(found):
    constants = [obj for obj in found.values() if isinstance(obj, np.ndarray)]
    found = {name: obj for name, obj in found.items() if not isinstance(obj, np.ndarray)}
    modules, leaves, optimizers, labels = [], [], [], {}
    rank = {Module: 0, Optimizer: 1, Tensor: 2}   # a module names its parameters first
    items = sorted(found.items(), key=lambda item: min(r for cls, r in rank.items()
                                                       if isinstance(item[1], cls)))
    for name, obj in items:
        if isinstance(obj, Module):
            for sub_name, sub in obj.named_modules(prefix=name):
                add_once(modules, sub)
                constants.extend(v for v in vars(sub).values() if isinstance(v, np.ndarray))
            for param_name, p in obj.named_parameters(prefix=name):
                labels.setdefault(id(p), param_name)
                add_once(leaves, p)
        elif isinstance(obj, Optimizer):
            labels.setdefault(id(obj), name)
            add_once(optimizers, obj)
            params = [p for group in obj.param_groups for p in group["params"]]
            for i, p in enumerate(params):
                labels.setdefault(id(p), f"{name}.params.{i}")
                add_once(leaves, p)
        elif isinstance(obj, Tensor):
            labels.setdefault(id(obj), name)
            if obj._requires_grad:
                add_once(leaves, obj)
    return modules, leaves, optimizers, labels, constants


def add_once(items, obj):
    """Append `obj` to `items` unless it is there (by identity: tensors compare elementwise)."""
    if not any(item is obj for item in items):
        items.append(obj)


def _collect(fn, found, depth, seen):
    if id(fn) in seen or depth > 2:
        return
    seen.add(id(fn))
    if isinstance(fn, functools.partial):
        for i, a in enumerate(fn.args):
            _consider(f"arg{i}", a, found, depth, seen)
        fn = fn.func
    bound = getattr(fn, "__self__", None)
    if bound is not None and not inspect.ismodule(bound):
        _consider("self", bound, found, depth, seen)
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        if isinstance(fn, (Module,)):
            _consider("model", fn, found, depth, seen)
        return
    cells = fn.__closure__ or ()
    for name, cell in zip(code.co_freevars, cells):
        try:
            _consider(name, cell.cell_contents, found, depth, seen)
        except ValueError:   # an empty cell
            pass
    globals_ = getattr(fn, "__globals__", {})
    for name in _names(code):
        if name in globals_:
            _consider(name, globals_[name], found, depth, seen)
    for i, default in enumerate(fn.__defaults__ or ()):
        _consider(f"default{i}", default, found, depth, seen)


def _names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _names(const)
    return names


def _consider(name, obj, found, depth, seen):
    if isinstance(obj, (Module, Optimizer, Tensor, np.ndarray)):
        if not any(o is obj for o in found.values()):
            found[name if name not in found else f"{name}{len(found)}"] = obj
    elif inspect.isfunction(obj) or inspect.ismethod(obj) or isinstance(obj, functools.partial):
        _collect(obj, found, depth + 1, seen)
    elif isinstance(obj, (list, tuple)) and depth < 2:
        for i, item in enumerate(obj[:64]):
            _consider(f"{name}_{i}", item, found, depth + 1, seen)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type) and not inspect.ismodule(obj) \
            and depth < 2 and id(obj) not in seen:
        seen.add(id(obj))
        for attribute, value in list(vars(obj).items()):
            _consider(f"{name}.{attribute}" if name != "self" else attribute, value, found,
                      depth + 1, seen)
