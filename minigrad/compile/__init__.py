"""minigrad.compile: trace a function once, replay its array work as straight-line numpy.

- `api.py`: `compile(fn, *, check=False)`, the cache of traces, check=True.
- `signature.py`: a call's key, and the straight-line test that lets a call replay the trace it ran last.
- `tracer.py`: the Tracer the engine's `# compile:` hooks call while a trace runs.
- `naming.py`: how the Tracer names values and writes program lines.
- `grads.py`: how the trace follows the leaves' `.grad` (zero_grad, backward, steps).
- `traced.py`: traced arrays (numpy work on varying values, recorded) and the traced generator.
- `codegen.py`: the numpy lines of the built-in ops; a call of forward/backward for the rest.
- `several_outputs.py`: the lines of a Function whose forward returns several arrays.
- `codegen_optim.py`: the lines of an optimizer's update (its `_update` per parameter).
- `program.py`: the lines assembled into Python source, and what that source calls.
- `references.py`: the modules, parameters and optimizers a function refers to, and
  `Bindings`, which notices one of them replaced between calls.
- `checking.py`: check=True's snapshots and comparisons.
"""
from .api import CompiledFunction, compile
from .traced import CompileError

__all__ = ["compile", "CompiledFunction", "CompileError"]
