"""functional_call: run a Module with some of its parameters or buffers replaced, then put them back."""
from collections.abc import Mapping

import numpy as np

from ..engine import Tensor
from ..validation import check_flag, refuse_if_problems

__all__ = ["functional_call"]


def _slots(module):
    """{dotted name: (owning module, registry dict, key)} for every parameter and buffer.

    A parameter (or a submodule) shared by two owners is listed under each of
    its names, so any of them can be given.
    """
    slots = {}
    stack = [("", module, ())]
    while stack:
        prefix, owner, ancestors = stack.pop()
        registries = (owner._parameters, getattr(owner, "_buffers", None) or {})
        for registry in registries:
            for key, value in registry.items():
                if value is not None:
                    slots[prefix + key] = (owner, registry, key)
        for name, child in owner.named_children():
            if child not in ancestors:   # a module that contains itself is walked once
                stack.append((f"{prefix}{name}.", child, ancestors + (owner,)))
    return slots


def _replacements(module, parameters_and_buffers, tie_weights, strict):
    """Validate everything; return [(owner, registry, key, new tensor)] without changing anything."""
    if not isinstance(parameters_and_buffers, Mapping):
        raise TypeError("functional_call: parameters_and_buffers must be a dict of dotted name -> "
                        f"Tensor, not {type(parameters_and_buffers).__name__}")
    slots = _slots(module)
    problems, given = [], {}
    for name, value in parameters_and_buffers.items():
        if name not in slots:
            known = ", ".join(sorted(slots)[:8]) + (", ..." if len(slots) > 8 else "")
            problems.append(f"{type(module).__name__} has no parameter or buffer {name!r} "
                            f"(it has: {known or 'none'})")
            continue
        if isinstance(value, np.ndarray):
            value = Tensor(value)
        if not isinstance(value, Tensor):
            raise TypeError(f"functional_call: the value for {name!r} must be a Tensor or an "
                            f"array, not {type(value).__name__}")
        owner, registry, key = slots[name]
        current = registry[key]
        if value.shape != current.shape:
            problems.append(f"{name!r} has shape {current.shape}, but the value given for it has "
                            f"shape {value.shape}")
            continue
        given[name] = value
    if strict:
        missing = sorted(set(slots) - set(parameters_and_buffers))
        if missing:
            problems.append(f"strict=True, but no value was given for {', '.join(missing)}")
    refuse_if_problems(problems, "functional_call")

    chosen = dict(given)
    if tie_weights:   # a tensor registered under several names is replaced under all of them
        by_object = {}
        for name, (owner, registry, key) in slots.items():
            by_object.setdefault(id(registry[key]), []).append(name)
        for name, value in given.items():
            owner, registry, key = slots[name]
            for tied in by_object[id(registry[key])]:
                if tied in given and given[tied] is not value:
                    problems.append(f"{name!r} and {tied!r} are the same (tied) tensor, but "
                                    "different values were given for them")
                chosen[tied] = value
        refuse_if_problems(sorted(set(problems)), "functional_call")
    return [slots[name] + (value,) for name, value in chosen.items()]


def functional_call(module, parameters_and_buffers, args=(), kwargs=None, *, tie_weights=True,
                    strict=False):
    """module(*args, **kwargs) with the named parameters and buffers replaced by the given Tensors.

    module: an nn.Module.
    parameters_and_buffers: {dotted name (as in named_parameters()): Tensor or
        array}; each value must have the shape of what it replaces. The values
        are used as they are, so gradients flow to them (and not to the
        module's own parameters): jacobian or hessian with respect to a model's
        parameters is jacobian of `lambda *p: functional_call(model,
        dict(zip(names, p)), x)`.
    args: the positional arguments (a tuple, or one argument).
    kwargs: the keyword arguments, a dict.
    tie_weights: a tensor registered under several names (shared between
        layers) is replaced under all of them when one is given, as in PyTorch.
    strict: every parameter and buffer must be given a value.

    Everything is checked before anything changes; the module's own tensors
    are put back afterwards, also when forward raises.
    """
    check_flag("tie_weights", tie_weights, "functional_call")
    check_flag("strict", strict, "functional_call")
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise TypeError(f"functional_call: kwargs must be a dict, not {type(kwargs).__name__}")
    args = args if isinstance(args, tuple) else (args,)
    swaps = _replacements(module, parameters_and_buffers, tie_weights, strict)
    originals = []
    try:
        for owner, registry, key, value in swaps:
            # A Module keeps each parameter both in its registry and as a plain attribute
            # (forward reads the attribute): both are swapped, and both put back.
            attributes = owner.__dict__
            in_attributes = attributes.get(key) is registry[key]
            originals.append((owner, registry, key, registry[key], in_attributes))
            registry[key] = value
            if in_attributes:
                attributes[key] = value
        return module(*args, **(kwargs or {}))
    finally:
        for owner, registry, key, original, in_attributes in reversed(originals):
            registry[key] = original
            if in_attributes:
                owner.__dict__[key] = original
