"""A call's signature: the key a trace is cached under, and the quick test that it has not changed.

`key` builds the signature (see `minigrad.compile`): the arguments' shapes
and dtypes, the values of the other arguments, grad mode, each module's
`training` flag and forward hooks, and for each parameter whether it has
a `.grad`, a hook, requires grad and its dtype, and the optimizers'
structure. Building and hashing it at every call costs about 25 us for 50
layers, a few percent of a small training step.

`guard_for` writes, when a trace is made, a function of the call's
arguments that is True only if `key` would give that trace's key again:
the same conditions as straight-line attribute tests against the values
traced for, each one as strict as the key or stricter (identity where the
key compares by value), so a True is always right and a False only sends
the call the slow way (`key` and the cache). The compiled function tries
the guard of the trace it ran last before anything else.
"""
import itertools
import operator

import numpy as np

from ..engine import Tensor
from ..engine.modes import state, switched
from ..optim import SGD
from . import codegen_optim
from .traced import CompileError

__all__ = ["key", "guard_for"]

_module_flags = operator.attrgetter("training", "_call_hooks")
_leaf_flags = operator.attrgetter("_requires_grad", "_data.dtype")
_hooks, _grad = operator.attrgetter("_hooks"), operator.attrgetter("grad")

# Python values a guard may compare by `==` (their equality is plain and gives a bool).
_PLAIN = (bool, int, float, complex, str, bytes, type(None))


def key(values, keywords, modules, leaves, optimizers):
    """The signature of a call with argument `values` (positional, then keyword values in
    sorted order; `keywords` their names); `optimizers` is [(optimizer, structure function)].

    Whatever is added here must be tested by `guard_for` too: a guard that misses a part
    of the key replays a trace the key would not (tests/test_compile_signature.py).
    """
    parts = [keywords, state.grad_enabled if switched else True]
    for i, value in enumerate(values):
        kind = type(value)
        if kind is np.ndarray:
            parts += (value.shape, value.dtype)
        elif isinstance(value, Tensor):
            if value._requires_grad:
                raise CompileError(
                    f"argument {i} is a tensor that requires grad; minigrad.compile treats "
                    "arguments as data. Make it a parameter of a module the function uses, or "
                    "pass its array (tensor.detach())")
            parts += (Tensor, value._data.shape, value._data.dtype)
        elif isinstance(value, np.ndarray):
            parts += (kind, value.shape, value.dtype)
        else:
            try:
                hash(value)
            except TypeError:
                raise CompileError(
                    f"argument {i}, a {type(value).__name__}, is neither an array, a tensor "
                    "nor a hashable value, so minigrad.compile cannot key a trace on it; pass "
                    "an array (np.asarray) or a tuple") from None
            parts += (kind, value)
    if len(values) > 1 and len(set(map(id, values))) < len(values):
        parts.append(_sharing(values))   # the same array passed twice is one value in the trace
    # The modules' and leaves' flags, read with C-level loops. A module's forward hooks are
    # part of its entry, so registering one traces again, and the trace refuses it.
    # (tuple(list(...)): a tuple built straight from an iterator is allocated oversized and
    # shrunk, which leaves one tuple per call in CPython's free lists.)
    parts.append(tuple(list(map(_module_flags, modules))))
    if any(map(_hooks, leaves)):
        raise CompileError(
            "a tensor hook (register_hook) is registered on a parameter the compiled "
            "function uses; hooks run Python on each gradient, which minigrad.compile "
            "does not replay. Remove it, or call the function uncompiled")
    parts.append(tuple(list(map(operator.is_, map(_grad, leaves), itertools.repeat(None)))))
    # Which require grad (a layer frozen between calls) and their dtypes (Module.to).
    parts.append(tuple(list(map(_leaf_flags, leaves))))
    if optimizers:
        parts.append(tuple([structure(o) for o, structure in optimizers]))
    return tuple(parts)


def _sharing(values):
    """Which arguments are the same object: for each, the position of its first occurrence."""
    ids = [id(v) for v in values]
    return tuple(ids.index(i) for i in ids)


def guard_for(values, modules, leaves, optimizers):
    """A function `guard(args)`, True only when positional `args` have the key `values` have now.

    Made before the trace runs (the trace changes `.grad`). Returns None when
    no guard is written (the call always takes the slow way).
    """
    env, lines = {"Tensor": Tensor, "state": state, "switched": switched}, []

    def bind(obj, prefix):
        name = f"{prefix}{len(env)}"
        env[name] = obj
        return name

    def fail_if(condition):
        lines.append(f"    if {condition}: return False")

    n = len(values)
    lines.append(f"    if len(args) != {n}: return False")
    arguments = [f"a{i}" for i in range(n)]
    if n:
        lines.append(f"    {', '.join(arguments)}, = args")
    for a, value in zip(arguments, values):
        kind = bind(type(value), "kind")
        if isinstance(value, Tensor):
            data = value._data
            fail_if(f"type({a}) is not {kind} or {a}._requires_grad")
            lines.append(f"    d = {a}._data")
            fail_if(f"d.shape != {data.shape!r} or d.dtype is not {bind(data.dtype, 'dtype')}")
        elif isinstance(value, np.ndarray):
            fail_if(f"type({a}) is not {kind} or {a}.shape != {value.shape!r} "
                    f"or {a}.dtype is not {bind(value.dtype, 'dtype')}")
        elif type(value) in _PLAIN:
            fail_if(f"type({a}) is not {kind} or {a} != {bind(value, 'value')}")
        else:   # identity: never looser than the key's equality
            fail_if(f"{a} is not {bind(value, 'value')}")
    if n > 1:
        if len(set(map(id, values))) == n and n <= 4:   # the usual case, tested without a call
            fail_if(" or ".join(f"{a} is {b}" for a, b in itertools.combinations(arguments, 2)))
        else:
            fail_if(f"{bind(_sharing, 'sharing')}(args) != {_sharing(values)!r}")
    grad_mode = state.grad_enabled if switched else True
    fail_if(f"(state.grad_enabled if switched else True) is not {grad_mode!r}")
    for m in modules:
        if m._call_hooks is not None:
            return None   # the trace refuses forward hooks
        name = bind(m, "module")
        fail_if(f"{name}.training is not {_literal(m.training, bind)} "
                f"or {name}._call_hooks is not None")
    for p in leaves:
        if p._hooks:
            return None   # the key refuses tensor hooks
        t = bind(p, "p")
        fail_if(f"{t}._hooks or {t}.grad is {'not ' if p.grad is None else ''}None "
                f"or {t}._requires_grad is not {_literal(p._requires_grad, bind)} "
                f"or {t}._data.dtype is not {bind(p._data.dtype, 'dtype')}")
    for o, structure in optimizers:
        _optimizer_conditions(o, structure, bind, fail_if)
    lines.append("    return True")
    # The objects tested are the cells of a closure: reading one is as quick as a local.
    names = ", ".join(env)
    source = (f"def make_guard({names}):\n    def guard(args):\n"
              + "\n".join("    " + line for line in lines) + "\n    return guard\n")
    namespace = {}
    exec(compile(source, "<minigrad.compile guard>", "exec"), namespace)
    return namespace["make_guard"](**env)


def _literal(flag, bind):
    """`flag` as source: True, False and None as themselves (constants), else a bound name."""
    return repr(flag) if flag is None or type(flag) is bool else bind(flag, "value")


def _optimizer_conditions(o, structure, bind, fail_if):
    """The guard's tests that `structure(o)` is what it is now, as straight lines where known."""
    name = bind(o, "optimizer")
    if structure is codegen_optim._nothing:
        return
    if structure is not codegen_optim._groups:
        fail_if(f"{bind(structure, 'structure')}({name}) != {bind(structure(o), 'value')}")
        return
    fail_if(f"type({name}) is not {bind(type(o), 'kind')} "
            f"or len({name}.param_groups) != {len(o.param_groups)}")
    for k, group in enumerate(o.param_groups):   # the same group objects (the key has their id)
        g = bind(group, "group")
        fail_if(f"{name}.param_groups[{k}] is not {g} or len({g}['params']) != {len(group['params'])}")
        if type(o) is SGD:   # whether the group is plain SGD (codegen_optim._plain_sgd)
            plain = codegen_optim._plain_sgd(o, group)
            fail_if(f"(not {g}['momentum'] and not {g}['weight_decay'] and not {g}['maximize']) "
                    f"is not {plain!r}")
