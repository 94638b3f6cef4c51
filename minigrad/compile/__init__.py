"""minigrad.compile: trace a function once, replay its array work as straight-line numpy.

- `api.py`: `compile(fn, *, check=False)`, the signatures, the cache of traces, check=True.
- `tracer.py`: the Tracer the engine's `# compile:` hooks call while a trace runs.
- `traced.py`: traced arrays (numpy work on varying values, recorded) and the traced generator.
- `codegen.py`: the numpy lines of the built-in ops; a call of forward/backward for the rest.
- `codegen_optim.py`: the lines of SGD's and Adam's update.
"""
from .api import CompiledFunction, compile
from .traced import CompileError

__all__ = ["compile", "CompiledFunction", "CompileError"]
