"""Containers of modules: Sequential, ModuleList, ModuleDict; and Flatten.

A plain Python list or dict of layers assigned to a Module attribute is not
registered (its parameters would be invisible to `parameters()` and
`state_dict()`), so Module refuses it and points here. These containers
register their items as submodules named "0", "1", ... or by key, which gives
PyTorch's state_dict keys ("layers.0.weight", "heads.cls.bias").
"""
from collections.abc import Mapping

import numpy as np

from ..validation import is_integer
from .module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict", "Flatten"]


def _position(index, length, kind):
    """An integer index into a container of `length` items as 0..length-1; clear errors otherwise."""
    if not is_integer(index):
        raise TypeError(f"{kind} indices are integers or slices, not {type(index).__name__} "
                        f"({index!r}); getattr(model, name) gets a submodule by name")
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for a {kind} of {length} modules")
    return int(index) % length


class Sequential(Module):
    """Modules applied one after the other: `Sequential(Dense(2, 4), ReLU(), Dense(4, 1))`.

    The submodules are named "0", "1", ... (or by the keys of a single dict
    argument), so state_dict keys are PyTorch's: "0.weight", "2.bias". It is
    iterable, indexable (a slice gives a Sequential of the same modules) and
    has a `len`.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            items = modules[0].items()
        else:
            items = ((str(i), module) for i, module in enumerate(modules))
        for name, module in items:
            if module is None:
                raise TypeError(f"Sequential: item '{name}' is None, not a Module")
            self.add_module(name, module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if not (is_integer(index) or isinstance(index, slice)):
            raise TypeError(f"Sequential indices are integers or slices, not "
                            f"{type(index).__name__} ({index!r}); getattr(model, name) gets a "
                            "submodule by name")
        if isinstance(index, slice):
            return Sequential(dict(items[index]))
        try:
            return items[index][1]
        except IndexError:
            raise IndexError(f"index {index} is out of range for a Sequential of {len(items)} "
                             "modules") from None

    def append(self, module):
        """Add `module` at the end; returns self."""
        if module is None:   # add_module takes None as a placeholder; a Sequential would call it
            raise TypeError("Sequential.append takes a Module, not None")
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules, registered as submodules "0", "1", ...: `self.layers = ModuleList([...])`.

    It is indexable (a slice gives a ModuleList of the same modules),
    iterable, has a `len`, and takes `append`, `extend` and `insert`. It has
    no forward: the owner decides how its modules are called.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _items(self):
        return list(self._modules.values())

    def _renumber(self, modules):
        for name in list(self._modules):
            delattr(self, name)
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._items())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(self._items()[index])
        return self._items()[_position(index, len(self), "ModuleList")]

    def __setitem__(self, index, module):
        self.add_module(str(_position(index, len(self), "ModuleList")), module)

    def __delitem__(self, index):
        items = self._items()
        if isinstance(index, slice):
            del items[index]
        else:
            del items[_position(index, len(items), "ModuleList")]
        self._renumber(items)

    def append(self, module):
        """Add `module` at the end; returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append takes a Module, got {module!r} of type "
                            f"{type(module).__name__}")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Append each module of the iterable `modules`; returns self."""
        if isinstance(modules, (Module, Mapping)) or not hasattr(modules, "__iter__"):
            raise TypeError(f"ModuleList takes an iterable of Modules, got a "
                            f"{type(modules).__name__}")
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index, module):
        """Insert `module` before position `index`."""
        items = self._items()
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.insert takes a Module, got a {type(module).__name__}")
        items.insert(index, module)
        self._renumber(items)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("a ModuleList has no forward: iterate over it and call its "
                                  "modules (or use Sequential)")


class ModuleDict(Module):
    """A dict of modules registered under its keys: `self.heads = ModuleDict({"cls": Linear(8, 3)})`.

    Keys are non-empty strings without dots; order is insertion order. It
    supports `[key]`, `in`, `len`, iteration over keys, `keys()`, `values()`,
    `items()`, `update()` and `pop()`.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r}; its keys: "
                           f"{', '.join(map(repr, self._modules)) or 'none'}")
        return self._modules[key]

    def __setitem__(self, key, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict['{key}'] must be a Module, got {module!r} of type "
                            f"{type(module).__name__}")
        self.add_module(key, module)

    def __delitem__(self, key):
        self[key]   # the KeyError naming the keys
        delattr(self, key)

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(list(self._modules))

    def keys(self):
        """The keys, in insertion order."""
        return list(self._modules)

    def values(self):
        """The modules, in insertion order."""
        return list(self._modules.values())

    def items(self):
        """(key, module) pairs, in insertion order."""
        return list(self._modules.items())

    def pop(self, key):
        """Remove the module under `key` and return it."""
        module = self[key]
        delattr(self, key)
        return module

    def update(self, modules):
        """Add the (key, module) pairs of a mapping or an iterable of pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in list(pairs):
            self[key] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError("a ModuleDict has no forward: call its modules by key")


class Flatten(Module):
    """Merge axes start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default (PyTorch's)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not is_integer(value):
                raise TypeError(f"Flatten: {name} must be an integer, got {value!r}")
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        shape = np.shape(x)
        ndim = len(shape)
        start = self.start_dim + ndim if self.start_dim < 0 else self.start_dim
        end = self.end_dim + ndim if self.end_dim < 0 else self.end_dim
        if not 0 <= start <= end < max(ndim, 1):
            raise ValueError(f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) does not "
                             f"fit an input of shape {shape}")
        merged = int(np.prod(shape[start:end + 1], dtype=np.int64))
        return x.reshape(shape[:start] + (merged,) + shape[end + 1:])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
