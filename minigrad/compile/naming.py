"""How a trace names what it sees: fresh names, constants, arrays by identity, program lines.

`ProgramNames` is the part of the Tracer (tracer.py) that turns values into
Python source: each argument, parameter load, op output and gradient gets a
name as it appears; an object the program needs as it is becomes a constant.
"""
import re
import weakref

import numpy as np

from ..engine import Tensor
from .program import Line
from .traced import CompileError, TracedArray, plain

__all__ = ["ProgramNames"]


def _mem_key(array):
    """What identifies an array's values by their memory: address, shape, strides, dtype."""
    return (array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str)


class _Names:
    """object -> value, by identity, without keeping the object alive.

    The trace must not hold the arrays of a step longer than the eager run
    does (its peak memory would grow), and an id() can be reused once its
    object is gone, so each entry keeps a weak reference and is valid only
    while that reference still gives the object.
    """

    def __init__(self):
        self._entries = {}

    def __setitem__(self, obj, value):
        self._entries[id(obj)] = (weakref.ref(obj), value)

    def get(self, obj):
        entry = self._entries.get(id(obj))
        return entry[1] if entry is not None and entry[0]() is obj else None


class ProgramNames:
    """The Tracer's naming of values (a mixin: the Tracer's __init__ sets the tables it uses)."""

    def fresh(self, base):
        """A new variable name starting with `base` (a valid identifier)."""
        base = re.sub(r"\W", "_", base) or "v"
        if base[0].isdigit():
            base = "v" + base
        name, k = base, 1
        while name in self.used_names:
            k += 1
            name = f"{base}{k}" if not base[-1].isdigit() else f"{base}_{k}"
        self.used_names.add(name)
        return name

    def emit(self, text, out=None, pure=True, owned=False, alias_of=None, victim=None, alt=None,
             mutates=True):
        """Add a line. `owned`: it makes a new array only the program holds; `alias_of`: its
        output is (a view of) that name's array; `victim`/`alt`: see Line."""
        self.lines.append(Line(text, out, pure, victim, alt))
        if owned:
            self.owned.add(out)
        if alias_of is not None:
            self.aliases[out] = alias_of
        if not pure and mutates:
            self.mutated = self.mutated or out is None
        return out

    def const(self, value, hint="const"):
        """The program's name for a constant object (kept by reference)."""
        key = id(value)
        if key not in self.const_index:
            self.const_index[key] = self.fresh(hint)
            self.consts.append(value)
            self.env[self.const_index[key]] = value
        return self.const_index[key]

    def op_name(self, cls):
        name = self.ops.get(cls)
        if name is None:
            name = self.ops[cls] = self.fresh(cls.__name__)
            self.env[name] = cls
        return name

    def _optimizer_name(self, opt):
        if id(opt) not in self.optimizer_index:   # (kept alive by self.keep below)
            self.optimizer_index[id(opt)] = self.fresh(self.labels.get(id(opt), "optimizer"))
            self.optimizers.append(opt)
            self.env[self.optimizer_index[id(opt)]] = opt
            self.keep.append(opt)
        return self.optimizer_index[id(opt)]

    def register(self, name, value):
        """Name `value` (a Tensor or an array) in the program."""
        if isinstance(value, Tensor):
            self.tensor_names[value] = name
            value = value._data
        if isinstance(value, np.ndarray):
            self.array_names[value] = name
            self.sizes[name] = max(self.sizes.get(name, 0), value.nbytes)
            key = _mem_key(value)
            entry = self.mem_names.get(key)
            if entry is None or entry[0]() is None:
                self.mem_names[key] = (weakref.ref(value), name)
        return name

    def traced_view(self, array, name):
        """A TracedArray view of `array`, known to the program as `name`."""
        view = plain(array).view(TracedArray)
        self.register(name, view)
        return view

    # -- references: the program's text for a value ---------------------------------------
    def ref(self, value):
        """Python source naming `value` in the program (a variable, a literal or a constant)."""
        if isinstance(value, Tensor):
            name = self.tensor_names.get(value)
            if name is None:
                name = self._known_array(value._data)
                if name is None and not value._requires_grad and id(value) not in self.labels:
                    name = self._converted_argument(value._data)
                    if name is None:
                        raise _untracked("a tensor", value._data)
                if name is None and id(value) not in self.labels:
                    raise CompileError(
                        f"a {value._describe()} that requires grad is used by the compiled "
                        "function, but it is not a parameter of a module, an optimizer or a "
                        "tensor the function refers to by name: if the function creates it, "
                        "every replay would reuse the first call's tensor. Create it outside "
                        "the function (a parameter of a module it uses)")
                if name is None:
                    name = self.leaf(value)
                self.tensor_names[value] = name
            return name
        if isinstance(value, np.ndarray):
            name = self._known_array(value)
            if name is None:
                if type(value) is TracedArray:
                    raise CompileError(
                        "a numpy operation on a traced array that minigrad.compile cannot follow "
                        "(iteration, or a view made by numpy internally) reached an op; use "
                        "Tensor ops, or do this outside the compiled function")
                name = self._converted_argument(value)
                if name is None and id(value) not in self.constants:
                    raise _untracked("an array", value)
            return name if name is not None else self.const(value)
        if value is None or isinstance(value, (bool, int, str)):
            return repr(value)
        if isinstance(value, float):
            return repr(value) if np.isfinite(value) else f"float({str(value)!r})"
        if type(value) in (tuple, list):
            items = ", ".join(self.ref(v) for v in value)
            if type(value) is tuple:
                return f"({items},)" if len(value) == 1 else f"({items})"
            return f"[{items}]"
        if type(value) is dict:
            return "{" + ", ".join(f"{k!r}: {self.ref(v)}" for k, v in value.items()) + "}"
        if isinstance(value, slice):
            return f"slice({self.ref(value.start)}, {self.ref(value.stop)}, {self.ref(value.step)})"
        if value is Ellipsis:
            return "..."
        if isinstance(value, np.dtype):
            return f"np.dtype({value.str!r})"
        if isinstance(value, type) and issubclass(value, np.generic):
            return f"np.{value.__name__}"
        return self.const(value)

    def _known_array(self, array):
        name = self.array_names.get(array)
        if name is None and type(array) is np.ndarray:   # a plain view of a known array?
            entry = self.mem_names.get(_mem_key(array))
            if entry is not None and entry[0]() is not None:
                name = entry[1]
        return name

    def _converted_argument(self, array):
        """For an array numpy made from an argument (np.asarray(x, dtype)): the line that makes it."""
        for name, source in self.argument_arrays:
            if source.shape == array.shape and source.dtype != array.dtype:
                with np.errstate(all="ignore"):
                    same = np.array_equal(plain(source).astype(array.dtype), array)
                if same:
                    out = self.fresh(f"{name}_{array.dtype}")
                    self.emit(f"{out} = {name}.astype(np.{array.dtype})", out)
                    return self.register(out, array)
        return None


def _untracked(what, array):
    return CompileError(
        f"{what} of shape {array.shape} and dtype {array.dtype} that minigrad.compile cannot "
        "trace back to the arguments, the parameters or a constant the function refers to "
        "reached an op or the result. It was made inside the function by numpy from values "
        "compile cannot follow (np.ones(...), a tensor's argmax or comparison, an integer "
        "astype; in minigrad's own layers, BatchNorm's running statistics, which compile does "
        "not replay yet), so its first value would be frozen into every later call. Make "
        "constant arrays outside the function, use Tensor ops, or keep that code outside the "
        "compiled function.")
