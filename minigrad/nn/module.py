"""Parameter, Module and Sequential: models as classes, as in PyTorch.

A Module keeps two registries, `_parameters` and `_modules` (name -> object,
in assignment order). Assigning a Parameter or a Module as an attribute files
it there, so `self.weight = Parameter(...)` in `__init__` is all a user
writes. The object is also stored as an ordinary attribute, so reading
`self.weight` in `forward` is a plain attribute lookup (the hot path).

Forward hooks (`register_forward_hook`, `register_forward_pre_hook`) take
PyTorch's signatures; a module without hooks pays one attribute check per call.
"""
from collections import namedtuple
from collections.abc import Mapping

import numpy as np

from ..engine import Tensor

__all__ = ["Parameter", "Module", "Sequential"]


class Parameter(Tensor):
    """A Tensor that requires grad; assigned to a Module attribute, it becomes one of its parameters."""
    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None, name=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _ForwardHooks:
    """A module's hooks: `pre` run before forward, `post` after it, each in registration order."""
    __slots__ = ("pre", "post")

    def __init__(self):
        self.pre, self.post = [], []


class RemovableHandle:
    """Returned by the register_*_hook methods: `.remove()` unregisters the hook (also as `with`)."""

    def __init__(self, module, registry, hook):
        self._module, self._registry, self._hook = module, registry, hook

    def remove(self):
        """Unregister the hook; removing it twice does nothing."""
        if self._registry is None:
            return
        registry, self._registry = self._registry, None
        for i, hook in enumerate(registry):
            if hook is self._hook:
                del registry[i]
                break
        hooks = self._module.__dict__.get("_call_hooks")
        if hooks is not None and not hooks.pre and not hooks.post:
            del self._module.__dict__["_call_hooks"]   # back to the hook-free fast path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _check_name(owner, name):
    if not isinstance(name, str) or not name or "." in name:
        raise KeyError(f"{type(owner).__name__}: a parameter or submodule name must be a non-empty "
                       f"string without dots (dots join names in state_dict keys), got {name!r}")


class Module:
    """Base class of models and layers.

    Subclass it, assign Parameters and Modules as attributes in `__init__`
    (after `super().__init__()`), and define `forward`; calling the module runs
    `forward`. Parameters then appear in `parameters()` and `state_dict()` under
    dotted names (`"0.weight"`, `"encoder.bias"`), the names PyTorch gives the
    equivalent model.
    """

    _call_hooks = None   # a _ForwardHooks once a hook is registered (see __call__)

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    # -- registration ----------------------------------------------------------
    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if isinstance(value, (Parameter, Module)) and params is None:
            raise AttributeError(f"cannot assign {type(value).__name__} '{name}' before "
                                 f"Module.__init__() ran: call super().__init__() first in "
                                 f"{type(self).__name__}.__init__")
        if params is not None:
            modules = self._modules
            if isinstance(value, Parameter):
                modules.pop(name, None)
                params[name] = value
                if value.name is None:   # so errors about it can say which one ("Dense.weight")
                    value.name = f"{type(self).__name__}.{name}"
            elif isinstance(value, Module):
                params.pop(name, None)
                modules[name] = value
            elif name in params or name in modules:
                kind = "parameter" if name in params else "submodule"
                if value is not None:
                    # Silently unregistering would drop it from parameters() and state_dict().
                    expected = "nn.Parameter" if kind == "parameter" else "nn.Module"
                    raise TypeError(f"cannot assign a {type(value).__name__} to {kind} '{name}' of "
                                    f"{type(self).__name__} ({expected} or None expected)")
                (params if kind == "parameter" else modules)[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Add a Parameter (or None) under `name`, which need not be an identifier."""
        _check_name(self, name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter('{name}', ...) takes a Parameter or None, "
                            f"not a {type(param).__name__}")
        if param is None:
            self._modules.pop(name, None)
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def add_module(self, name, module):
        """Add a submodule (or None) under `name`, which need not be an identifier ("0", "1", ...)."""
        _check_name(self, name)
        if module is not None and not isinstance(module, Module):
            hint = ""
            if isinstance(module, type) and issubclass(module, Module):
                hint = f" (the class itself was given: write {module.__name__}() to make one)"
            raise TypeError(f"{type(self).__name__}: submodule '{name}' must be a Module, "
                            f"got {module!r} of type {type(module).__name__}{hint}")
        if module is None:
            self._parameters.pop(name, None)
            self._modules[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    # -- running -----------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args, **kwargs):
        if self._call_hooks is None:   # the common case: no hooks, one attribute check
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        hooks = self._call_hooks
        for hook in tuple(hooks.pre):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in tuple(hooks.post):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def _add_hook(self, kind, hook):
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}.register_{kind}: the hook must be callable, "
                            f"got {hook!r} of type {type(hook).__name__}")
        hooks = self.__dict__.get("_call_hooks")
        if hooks is None:
            hooks = _ForwardHooks()
            object.__setattr__(self, "_call_hooks", hooks)
        registry = hooks.pre if kind == "forward_pre_hook" else hooks.post
        registry.append(hook)
        return RemovableHandle(self, registry, hook)

    def register_forward_hook(self, hook):
        """Call `hook(module, inputs, output)` after every forward; a returned value replaces the output.

        `inputs` is the tuple of positional arguments forward got (keyword
        arguments are not passed). Use it to inspect or record activations: a
        Dense layer's output is its activated output. (A hook on a Dense's
        `activation` submodule fires too: while it is hooked, the layer calls
        it instead of computing it inside its own node.) Returns a handle whose
        `.remove()` unregisters the hook.
        """
        return self._add_hook("forward_hook", hook)

    def register_forward_pre_hook(self, hook):
        """Call `hook(module, inputs)` before every forward; a returned value replaces the inputs.

        A returned tuple becomes the positional arguments; any other value the
        single argument. Returns a handle whose `.remove()` unregisters the hook.
        """
        return self._add_hook("forward_pre_hook", hook)

    # -- the tree ---------------------------------------------------------------
    def named_children(self):
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module ("" or `prefix`) and every submodule, each once."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module.named_children()]
            stack.extend(reversed(children))   # depth first, in assignment order

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) pairs; a parameter shared by two layers is listed once."""
        seen = set()
        owners = self.named_modules(prefix) if recurse else [(prefix, self)]
        for owner_name, module in owners:
            for name, param in module._parameters.items():
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{owner_name}.{name}" if owner_name else name), param

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def apply(self, fn):
        """Call `fn(module)` on every submodule, then on this one (e.g. a custom initialisation)."""
        if not callable(fn):
            raise TypeError(f"apply takes a function of a module, got {fn!r} of type "
                            f"{type(fn).__name__}")
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- training --------------------------------------------------------------------
    def zero_grad(self):
        """Set every parameter's `.grad` to None (PyTorch's default)."""
        for param in self.parameters():
            param.grad = None

    def train(self, mode=True):
        """Set `training` on this module and every submodule (Dropout reads it); returns self."""
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"train(mode) takes True or False, got {mode!r} of type "
                            f"{type(mode).__name__}")
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self):
        """Evaluation mode: `train(False)`; returns self."""
        return self.train(False)

    # -- state -------------------------------------------------------------------------
    def _state_items(self, prefix=""):
        """(key, Parameter) for every state_dict entry; a shared parameter under each of its names."""
        for name, param in self._parameters.items():
            if param is not None:
                yield prefix + name, param
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_items(f"{prefix}{name}.")

    def state_dict(self):
        """{dotted name: numpy array} of every parameter: PyTorch's keys and shapes.

        The arrays are copies, so training on afterwards does not change a state
        already taken (a "best model so far" snapshot stays what it was).
        """
        return {key: param.data.copy() for key, param in self._state_items()}

    def load_state_dict(self, state_dict, strict=True):
        """Copy the arrays of `state_dict` into the parameters.

        Every key and shape is checked before anything changes: on a mismatch
        (a shape always; a missing or unexpected key when `strict`) a ValueError
        lists the problems and the model is left untouched. Values are cast to
        each parameter's dtype. Returns (missing_keys, unexpected_keys).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict takes a mapping of names to arrays, "
                            f"not a {type(state_dict).__name__}")
        if not isinstance(strict, (bool, np.bool_)):
            raise TypeError(f"strict must be True or False, got {strict!r}")
        expected = dict(self._state_items())
        missing = [key for key in expected if key not in state_dict]
        unexpected = [key for key in state_dict if key not in expected]
        problems = []
        new_values = {}
        for key, param in expected.items():
            if key not in state_dict:
                continue
            try:
                value = np.asarray(state_dict[key])
            except (TypeError, ValueError) as error:   # e.g. a ragged nested list
                problems.append(f"'{key}': not an array of numbers ({error})")
                continue
            if value.dtype.kind not in "biuf":
                problems.append(f"'{key}': values of dtype {value.dtype} are not real numbers")
            elif value.shape != param.shape:
                problems.append(f"'{key}': the model expects shape {param.shape}, "
                                f"the state dict gives shape {value.shape}")
            else:
                with np.errstate(over="ignore"):
                    value = value.astype(param.dtype, copy=True)   # never share memory
                if not np.isfinite(value).all():
                    # A NaN or inf weight makes every output NaN: a diverged run's checkpoint,
                    # or values too large for the parameter's dtype.
                    problems.append(f"'{key}': holds {_non_finite(value)} (as {param.dtype}); "
                                    "parameters must be finite")
                else:
                    new_values[key] = value
        if strict and missing:
            problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__} failed; nothing was "
                             "changed:\n  " + "\n  ".join(problems))
        for key, value in new_values.items():
            expected[key].data = value
        return IncompatibleKeys(missing, unexpected)

    # -- printing -------------------------------------------------------------------------
    def extra_repr(self):
        """The text between the parentheses of this module's repr: its settings."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [extra] if extra else []
        for name, module in children:
            lines.append(f"({name}): " + repr(module).replace("\n", "\n  "))
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _non_finite(array):
    """'NaN at index (0, 1)' for the first non-finite value of `array`, in words."""
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
    value = array[index]
    return f"{'NaN' if np.isnan(value) else value} at index {index}"


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
        if isinstance(index, bool) or not isinstance(index, (int, np.integer, slice)):
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
