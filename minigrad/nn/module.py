"""Parameter and Module: models as classes, as in PyTorch.

A Module keeps three registries, `_parameters`, `_buffers` and `_modules`
(name -> object, in assignment order). Assigning a Parameter or a Module as an
attribute files it there, so `self.weight = Parameter(...)` in `__init__` is
all a user writes; `register_buffer` files a numpy array that is state but not
a parameter (BatchNorm's running statistics). The object is also stored as an
ordinary attribute, so reading `self.weight` in `forward` is a plain attribute
lookup (the hot path).

Forward hooks (`register_forward_hook`, `register_forward_pre_hook`) take
PyTorch's signatures; a module without hooks pays one attribute check per call.
"""
from collections import namedtuple
from collections.abc import Mapping

import numpy as np

from ..engine import Tensor
from .hooks import ForwardHookMethods
from ..validation import (check_flag, check_float_dtype, first_non_finite, has_real_dtype, is_flag, loaded_array,
                          refuse_if_problems)

__all__ = ["Parameter", "Module"]


class _Registries:
    """How many times any module's registries (parameters, buffers, submodules) changed.

    minigrad.compile reads it to know, with one comparison per call, that no
    module object a trace read was replaced since.
    """
    version = 0


registries = _Registries()


class Parameter(Tensor):
    """A Tensor that requires grad; assigned to a Module attribute, it becomes one of its parameters."""
    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None, name=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _check_name(owner, name):
    if not isinstance(name, str) or not name or "." in name:
        raise KeyError(f"{type(owner).__name__}: a parameter or submodule name must be a non-empty "
                       f"string without dots (dots join names in state_dict keys), got {name!r}")


class Module(ForwardHookMethods):
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
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
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
            if isinstance(value, (Parameter, Module)) or name in params or name in modules \
                    or name in self._buffers:
                registries.version += 1
            if isinstance(value, Parameter):
                modules.pop(name, None)
                self._buffers.pop(name, None)
                params[name] = value
                if value.name is None:   # so errors about it can say which one ("Dense.weight")
                    value.name = f"{type(self).__name__}.{name}"
            elif isinstance(value, Module):
                params.pop(name, None)
                self._buffers.pop(name, None)
                modules[name] = value
            elif name in self._buffers:
                self._buffers[name] = self._buffer_value(name, value)
                value = self._buffers[name]
            elif _holds_modules(value):
                # A plain container would hide its modules from parameters() and state_dict().
                kind = "ModuleDict" if isinstance(value, Mapping) else "ModuleList"
                raise TypeError(f"{type(self).__name__}.{name}: a {type(value).__name__} of Modules "
                                f"is not registered, so its parameters would be missed; wrap it: "
                                f"self.{name} = nn.{kind}(...)")
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
        registries.version += 1
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent.discard(name)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name, array, persistent=True):
        """Add a buffer: a numpy array of state that is not a parameter (no gradient, no optimizer).

        `array` is array-like (copied into a numpy array) or None. Buffers are
        read as attributes (`self.running_mean`), follow `to(dtype)` when they
        hold floats, and, if `persistent`, appear in `state_dict()` and are
        loaded by `load_state_dict` (PyTorch's BatchNorm running statistics).
        """
        _check_name(self, name)
        persistent = check_flag("persistent", persistent, f"{type(self).__name__}.register_buffer")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"{type(self).__name__}.register_buffer: '{name}' is already a "
                           f"{'parameter' if name in self._parameters else 'submodule'}")
        if name not in self._buffers and hasattr(self, name):
            raise KeyError(f"{type(self).__name__}.register_buffer: attribute '{name}' already "
                           "exists")
        value = self._buffer_value(name, array)
        registries.version += 1
        self._buffers[name] = value
        (self._non_persistent.discard if persistent else self._non_persistent.add)(name)
        object.__setattr__(self, name, value)

    def _buffer_value(self, name, value):
        """`value` as a buffer's array (or None); a TypeError for anything that is not numbers."""
        if value is None:
            return None
        if isinstance(value, Tensor):
            value = value.data
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{type(self).__name__}: buffer '{name}' must be an array of numbers "
                            f"({error})") from None
        if not has_real_dtype(array):
            raise TypeError(f"{type(self).__name__}: buffer '{name}' must hold real numbers, got "
                            f"dtype {array.dtype}")
        return array

    def register_parameter(self, name, param):
        """Add a Parameter (or None) under `name`, which need not be an identifier."""
        _check_name(self, name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter('{name}', ...) takes a Parameter or None, "
                            f"not a {type(param).__name__}")
        if param is None:
            registries.version += 1
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
            registries.version += 1
            self._parameters.pop(name, None)
            self._modules[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    # -- running -----------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """The computation of this module; subclasses define it, and calling the module runs it."""
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args, **kwargs):
        if self._call_hooks is None:   # the common case: no hooks, one attribute check
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    # -- the tree ---------------------------------------------------------------
    def named_children(self):
        """(name, module) for each direct submodule, in assignment order."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self):
        """Each direct submodule, in assignment order."""
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
        """This module and every submodule, depth first, each once."""
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
        """Every Parameter of this module (and its submodules, if `recurse`), each once."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True):
        """(dotted name, array) for every buffer (persistent or not), each array once."""
        seen = set()
        owners = self.named_modules(prefix) if recurse else [(prefix, self)]
        for owner_name, module in owners:
            for name, array in module._buffers.items():
                if array is None or id(array) in seen:
                    continue
                seen.add(id(array))
                yield (f"{owner_name}.{name}" if owner_name else name), array

    def buffers(self, recurse=True):
        """Every buffer array of this module (and its submodules, if `recurse`)."""
        for _, array in self.named_buffers(recurse=recurse):
            yield array

    def num_parameters(self, trainable_only=False):
        """The number of scalars in the parameters (each shared parameter once).

        trainable_only: count only parameters with requires_grad set.
        """
        return sum(param.size for param in self.parameters()
                   if param.requires_grad or not trainable_only)

    def summary(self, print_fn=print):
        """Print one line per module: dotted name, class, parameter shapes and counts; a total.

        print_fn: where each line goes (print by default). Returns the text.
        """
        lines = [f"{'name':<24} {'module':<20} {'parameters':<32} {'count':>10}"]
        for name, module in self.named_modules():
            own = [(n, p) for n, p in module._parameters.items() if p is not None]
            shapes = ", ".join(f"{n}{tuple(p.shape)}" for n, p in own)
            count = sum(p.size for _, p in own)
            lines.append(f"{name or '(root)':<24} {type(module).__name__:<20} {shapes:<32} {count:>10,}")
        total = self.num_parameters()
        trainable = self.num_parameters(trainable_only=True)
        lines.append(f"total parameters: {total:,} ({trainable:,} trainable)")
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad on every parameter (False freezes them); returns self."""
        flag = check_flag("requires_grad", requires_grad, f"{type(self).__name__}.requires_grad_")
        for param in self.parameters():
            param.requires_grad = flag
        return self

    def to(self, dtype):
        """Cast every parameter, its gradient and every floating buffer to the floating `dtype`.

        The Parameters stay the same objects (an optimizer made before still
        holds them); returns self. Integer buffers (num_batches_tracked) keep
        their dtype.
        """
        dtype = check_float_dtype(dtype, f"{type(self).__name__}.to")
        for param in self.parameters():
            if param.dtype != dtype:
                # The data setter keeps a tensor's dtype; a cast is the one place to change it.
                param._replace_data(param._data.astype(dtype))
                if param.grad is not None:
                    param.grad = param.grad.astype(dtype)
        for module in self.modules():
            for name, array in module._buffers.items():
                if array is not None and array.dtype.kind == "f" and array.dtype != dtype:
                    setattr(module, name, array.astype(dtype))
        return self

    def float(self):
        """Cast parameters and floating buffers to float32 (`to(np.float32)`); returns self."""
        return self.to(np.float32)

    def double(self):
        """Cast parameters and floating buffers to float64 (`to(np.float64)`); returns self."""
        return self.to(np.float64)

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
        if not is_flag(mode):
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
        """(key, owner module, name, Parameter or array) for every state_dict entry.

        PyTorch's order: a module's parameters, then its persistent buffers, then
        its submodules'; a shared parameter appears under each of its names.
        """
        for name, param in self._parameters.items():
            if param is not None:
                yield prefix + name, self, name, param
        for name, array in self._buffers.items():
            if array is not None and name not in self._non_persistent:
                yield prefix + name, self, name, array
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_items(f"{prefix}{name}.")

    def state_dict(self):
        """{dotted name: numpy array} of every parameter and persistent buffer: PyTorch's keys and shapes.

        The arrays are copies, so training on afterwards does not change a state
        already taken (a "best model so far" snapshot stays what it was).
        """
        return {key: (value.data if isinstance(value, Tensor) else value).copy()
                for key, _, _, value in self._state_items()}

    def load_state_dict(self, state_dict, strict=True):
        """Copy the arrays of `state_dict` into the parameters and persistent buffers.

        Every key and shape is checked before anything changes: on a mismatch
        (a shape always; a missing or unexpected key when `strict`) a ValueError
        lists the problems and the model is left untouched. Values are cast to
        each parameter's (buffer's) dtype. Returns (missing_keys, unexpected_keys).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict takes a mapping of names to arrays, "
                            f"not a {type(state_dict).__name__}")
        if not is_flag(strict):
            raise TypeError(f"strict must be True or False, got {strict!r}")
        expected = {key: (owner, name, value) for key, owner, name, value in self._state_items()}
        missing = [key for key in expected if key not in state_dict]
        unexpected = [key for key in state_dict if key not in expected]
        problems = []
        new_values = {}
        for key, (_, _, target) in expected.items():
            if key not in state_dict:
                continue
            value, problem = loaded_array(key, state_dict[key], target.shape, target.dtype,
                                          "the model expects")
            if problem is None and value.dtype.kind == "f":
                where = first_non_finite(value)
                if where is not None:
                    # A NaN or inf weight makes every output NaN: a diverged run's checkpoint,
                    # or values too large for the parameter's dtype.
                    kind = "parameters" if isinstance(target, Tensor) else "buffers"
                    problem = f"'{key}': holds {where} (as {target.dtype}); {kind} must be finite"
            if problem is None:
                new_values[key] = value
            else:
                problems.append(problem)
        if strict and missing:
            problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        refuse_if_problems(problems, f"load_state_dict into {type(self).__name__}")
        for key, value in new_values.items():
            owner, name, target = expected[key]
            if isinstance(target, Tensor):
                target.data = value
            else:
                setattr(owner, name, value)
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


def _holds_modules(value):
    """True for a plain list, tuple, set or dict with a Module among its items."""
    if isinstance(value, Mapping):
        value = value.values()
    elif not isinstance(value, (list, tuple, set, frozenset)):
        return False
    return any(isinstance(item, Module) for item in value)
