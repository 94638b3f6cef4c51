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
from ..nn.module import Module, registries
from ..optim import Optimizer

__all__ = ["scan", "scan_arguments", "add_once", "Bindings"]


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


def _collect(fn, found, depth, seen, places=None):
    if id(fn) in seen or depth > 2:
        return
    seen.add(id(fn))
    if isinstance(fn, functools.partial):
        for i, a in enumerate(fn.args):
            _consider(f"arg{i}", a, found, depth, seen, places)
        fn = fn.func
    bound = getattr(fn, "__self__", None)
    if bound is not None and not inspect.ismodule(bound):
        _consider("self", bound, found, depth, seen, places)
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        if isinstance(fn, (Module,)):
            _consider("model", fn, found, depth, seen, places)
        return
    cells = fn.__closure__ or ()
    for name, cell in zip(code.co_freevars, cells):
        try:
            _consider(name, cell.cell_contents, found, depth, seen, places, (cell, _CELL))
        except ValueError:   # an empty cell
            pass
    globals_ = getattr(fn, "__globals__", {})
    for name in _names(code):
        if name in globals_:
            _consider(name, globals_[name], found, depth, seen, places, (globals_, name))
    for i, default in enumerate(fn.__defaults__ or ()):
        _consider(f"default{i}", default, found, depth, seen, places)


def _names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _names(const)
    return names


def _consider(name, obj, found, depth, seen, places=None, place=None):
    """Note `obj` if it is a module, an optimizer, a tensor or an array; else look inside it.

    `place`: (container, key) where `obj` was found (a dict and a key, a list
    and an index, or a closure cell and _CELL); with `places`, the places of
    the modules, optimizers and tensors are appended to it (see Bindings).
    """
    if isinstance(obj, (Module, Optimizer, Tensor, np.ndarray)):
        if places is not None and place is not None and not isinstance(obj, np.ndarray):
            places.append((*place, obj))
        if not any(o is obj for o in found.values()):
            found[name if name not in found else f"{name}{len(found)}"] = obj
    elif inspect.isfunction(obj) or inspect.ismethod(obj) or isinstance(obj, functools.partial):
        _collect(obj, found, depth + 1, seen, places)
    elif isinstance(obj, (list, tuple)) and depth < 2:
        for i, item in enumerate(obj[:64]):
            _consider(f"{name}_{i}", item, found, depth + 1, seen, places,
                      (obj, i) if type(obj) is list else None)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type) and not inspect.ismodule(obj) \
            and depth < 2 and id(obj) not in seen:
        seen.add(id(obj))
        attributes = vars(obj)
        for attribute, value in list(attributes.items()):
            _consider(f"{name}.{attribute}" if name != "self" else attribute, value, found,
                      depth + 1, seen, places, (attributes, attribute))


_CELL = object()   # the key of a place that is a closure cell (its cell_contents)


class Bindings:
    """Notices, cheaply, a module, parameter or optimizer object replaced after a trace.

    A trace reads the parameter tensors it found (`scan`); after
    `model.fc = nn.Dense(...)`, `model.fc.weight = Parameter(...)` or a global
    `model` bound to another model, a replay would go on reading the old
    objects while the eager function reads the new ones: silently different
    numbers. `Bindings(fn, scanned)` notes where each object was found (the
    globals and closure cells `fn` reads, the attributes of the objects it
    refers to, one object deep, as `scan` looks), the optimizers' parameter
    lists and how many parameter groups each has, and every entry of the
    modules' registries (parameters, submodules, buffers) with their sizes.
    `changed()` tells whether any of them now holds another object. It is a
    straight-line function of identity tests written for these objects
    (which it keeps alive), to run before every call; it looks at the
    modules' registries only when `nn.module.registries.version` says some
    module's registry changed. A change means the traces are stale:
    `CompiledFunction.reset()`, then trace again.

    Parameters: fn (the compiled function), scanned (what `scan(fn)`
    returned for it).
    """

    def __init__(self, fn, scanned):
        modules, optimizers = scanned[0], scanned[2]
        places = []
        _collect(fn, {}, depth=0, seen=set(), places=places)
        for o in optimizers:
            places.append((o.__dict__, "param_groups", o.param_groups))
            places += [(group, "params", group["params"]) for group in o.param_groups]
        self.registries = tuple(r for m in modules for r in (m._parameters, m._modules, m._buffers))
        self.sizes = tuple(map(len, self.registries))
        self.entries = tuple((r, key, obj) for r in self.registries for key, obj in r.items())
        self.version = registries.version
        self.changed = self._straight_line(places, [o.param_groups for o in optimizers],
                                           [g["params"] for o in optimizers for g in o.param_groups])

    def _straight_line(self, places, group_lists, param_lists):
        """`changed()` as one function of straight-line identity tests (no loop to run per call).

        The objects tested against are bound into the function, which keeps
        them alive. A registry change anywhere sends it to `_registries_changed`.
        """
        env = {"registries": registries, "bindings": self, "Cell": _CELL}
        tests = []

        def bind(obj):
            name = f"o{len(env)}"
            env[name] = obj
            return name

        for container, key, obj in places:
            where = f"{bind(container)}.cell_contents" if key is _CELL else \
                f"{bind(container)}[{key!r}]" if type(key) in (str, int) else \
                f"{bind(container)}[{bind(key)}]"
            tests.append(f"{where} is not {bind(obj)}")
        for sequence in (*group_lists, *param_lists):
            name = bind(sequence)
            tests.append(f"len({name}) != {len(sequence)}")
            tests += [f"{name}[{i}] is not {bind(obj)}" for i, obj in enumerate(sequence)]
        source = ["def changed():",
                  "    try:",
                  "        if registries.version != bindings.version and "
                  "bindings._registries_changed(): return True"]
        source += [f"        if {test}: return True" for test in tests]
        source += ["        return False",
                   "    except (KeyError, IndexError, ValueError):   # gone, or a cell emptied",
                   "        return True"]
        exec(compile("\n".join(source), "<minigrad.compile bindings>", "exec"), env)
        return env["changed"]

    def _registries_changed(self):
        """Some module's registry changed: is it one of these? (If not, remember the version.)"""
        if tuple(map(len, self.registries)) != self.sizes or \
                any(registry.get(key, _CELL) is not obj for registry, key, obj in self.entries):
            return True
        self.version = registries.version
        return False

    def changed(self):
        """True if some place now holds another object than at the trace (see the class docstring).

        (Replaced in each instance by the straight-line function `_straight_line` writes.)
        """
        raise NotImplementedError
