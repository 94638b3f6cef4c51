"""Traced arrays: numpy values that the tracer follows, and the generator that hands them out.

While a trace runs, the arrays whose values vary from call to call (the
arguments, a traced tensor's `.data`, a leaf's `.grad`, each draw from
minigrad's generator) are handed to `fn` as `TracedArray` views. numpy
arithmetic on them (ufuncs, reductions, `astype`, `reshape`, indexing, most
numpy functions) is computed as usual and also recorded as a line of the
program, so a dropout mask made from a draw, or `x / 255` of an argument, is
recomputed at every call instead of frozen. What cannot be recorded is
refused: reading a value as Python (`float()`, `bool()`, `.item()`,
`.tolist()`), and writing into a traced array in place.

Outside a trace a TracedArray computes like a plain array and returns plain
arrays, so one that escapes does no harm.
"""
import sys

import numpy as np

from ..engine.modes import current_tracer

__all__ = ["TracedArray", "CompileError", "plain"]


class CompileError(RuntimeError):
    """What minigrad.compile cannot capture: the message says why and what to do instead."""


def plain(value):
    """`value` with every TracedArray inside (a tuple, list or dict) replaced by a plain view."""
    if type(value) is TracedArray:
        return value.view(np.ndarray)
    if type(value) in (tuple, list):
        return type(value)(plain(v) for v in value)
    if type(value) is dict:
        return {k: plain(v) for k, v in value.items()}
    return value


# The layers a refused numpy call passes through on its way from the code that made it.
_PASSING = ("numpy", "minigrad.compile", "minigrad.engine", "minigrad.ops")


def calling_code(passing):
    """Who made the call being handled: (module, function) of the first calling frame outside
    the modules named by the prefixes `passing`, and whether numpy's `__array__` was passed."""
    frame = sys._getframe(2)
    through_array = False
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(passing):
            return module, frame.f_code.co_name, through_array
        through_array = through_array or frame.f_code.co_name == "__array__"
        frame = frame.f_back
    return "", "", through_array


def library_caller():
    """`module.function` of minigrad's own code (nn, optim, ...) that made the numpy call or op
    being refused, or None when the function being compiled made it."""
    module, function, _ = calling_code(_PASSING)
    return f"{module}.{function}" if module.startswith("minigrad.") else None


def _refuse_read(what):
    raise CompileError(
        f"{what} reads the value of a traced array as Python during minigrad.compile's trace; the "
        "value of the first call would be frozen into every later call. Return the array or "
        "tensor from the compiled function instead, or move the Python code that needs the value "
        "outside it.")


class TracedArray(np.ndarray):
    """A view of an array whose value varies per call; numpy operations on it are recorded."""

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        if any(hasattr(x, "_ctx") for x in inputs):   # a Tensor operand: let it apply its op
            return NotImplemented
        tracer = current_tracer()
        if out is not None:
            if tracer is not None:
                writer = library_caller()
                raise CompileError(
                    f"an in-place numpy operation ({ufunc.__name__}, out=...) writes traced values "
                    "into an array, which minigrad.compile cannot replay: " + (
                        f"here it is minigrad's own {writer} (a layer's running statistics, "
                        "such as BatchNorm's in training, are such a write), which compile does "
                        "not replay yet: call a function that uses it uncompiled."
                        if writer else
                        "write `x = x * y` instead of `x *= y` inside the compiled function. (A "
                        "parameter updated by hand, or by an optimizer whose step() minigrad "
                        "does not know, is such a write: update it outside the compiled "
                        "function.)"))
            kwargs["out"] = plain(out)
        result = getattr(ufunc, method)(*plain(inputs), **kwargs)
        if tracer is None or out is not None:
            return result
        name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        return tracer.derived(name, inputs, kwargs, result)

    def __array_function__(self, func, types, args, kwargs):
        tracer = current_tracer()
        result = func(*plain(args), **plain(kwargs))
        if tracer is None or func.__name__ in ("shape", "ndim", "size", "result_type"):
            return result
        if "out" in kwargs:
            raise CompileError(f"numpy.{func.__name__}(..., out=...) on a traced array cannot be "
                               "replayed by minigrad.compile; use the returned array instead")
        return tracer.derived(f"np.{func.__name__}", args, kwargs, result)

    def _method(name):
        def method(self, *args, **kwargs):
            base = self.view(np.ndarray)
            result = getattr(base, name)(*plain(args), **plain(kwargs))
            tracer = current_tracer()
            if tracer is None:
                return result
            return tracer.derived(f".{name}", (self,) + args, kwargs, result)
        method.__name__ = name
        return method

    for _name in ("astype", "reshape", "transpose", "swapaxes", "ravel", "flatten", "copy",
                  "squeeze", "__getitem__", "sum", "mean", "max", "min", "argmax", "argmin",
                  "std", "var", "prod", "clip", "dot", "cumsum", "all", "any", "nonzero"):
        locals()[_name] = _method(_name)
    del _name, _method

    @property
    def T(self):
        return self.transpose()

    def __setitem__(self, index, value):
        if current_tracer() is not None:
            raise CompileError("writing into a traced array (x[...] = ...) cannot be replayed by "
                               "minigrad.compile; build a new array (np.where, or Tensor ops)")
        self.view(np.ndarray)[plain(index)] = plain(value)

    def item(self, *args):
        if current_tracer() is not None:
            _refuse_read(".item()")
        return self.view(np.ndarray).item(*args)

    def tolist(self):
        if current_tracer() is not None:
            _refuse_read(".tolist()")
        return self.view(np.ndarray).tolist()

    def __bool__(self):
        value = bool(self.view(np.ndarray))
        tracer = current_tracer()
        if tracer is not None:   # a check of the values: replayed as a guard
            tracer.guard(self, value)
        return value

    def __float__(self):
        if current_tracer() is not None:
            _refuse_read("float()")
        return float(self.view(np.ndarray))

    def __int__(self):
        if current_tracer() is not None:
            _refuse_read("int()")
        return int(self.view(np.ndarray))

    def __index__(self):
        if current_tracer() is not None:
            _refuse_read("using a traced array as an index")
        return self.view(np.ndarray).__index__()

    def __repr__(self):
        return repr(self.view(np.ndarray))

    __str__ = __repr__


class TracingGenerator:
    """Stands in for minigrad's generator during a trace: each draw is recorded as a line.

    Parameters: generator (the numpy Generator it draws from), tracer (the
    Tracer that records; draws from other threads are passed through).
    """

    def __init__(self, generator, tracer):
        self.generator, self.tracer = generator, tracer

    def __getattr__(self, name):
        attribute = getattr(self.generator, name)
        if not callable(attribute):
            return attribute

        def draw(*args, **kwargs):
            result = attribute(*args, **kwargs)
            if current_tracer() is not self.tracer:
                return result
            if not isinstance(result, np.ndarray):
                raise CompileError(
                    f"generator.{name}() returned a Python number during minigrad.compile's trace; "
                    "it would be frozen into every later call. Draw an array (pass a size), or "
                    "draw outside the compiled function and pass the value as an argument")
            return self.tracer.drawn(name, args, kwargs, result)
        return draw
