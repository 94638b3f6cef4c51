"""`minigrad.compile(fn)`: trace a function once per signature, then replay the array work."""
import collections
import functools
import inspect

import numpy as np

from .. import random as _random
from ..engine import Tensor
from ..validation import check_flag, check_positive_integer
from ..engine.modes import state, switched, tracing
from ..nn import Module
from ..optim import Optimizer
from . import codegen_optim, signature
from .checking import compare_states, first_difference, flatten, restore, snapshot
from .program import FALLBACK, HELPERS, Program
from .references import Bindings, add_once, scan, scan_arguments
from .traced import CompileError, TracingGenerator, plain
from .tracer import Tracer

__all__ = ["compile", "CompiledFunction"]

CHECKED_CALLS = 3   # with check=True, the replays of each trace that also run eagerly


def compile(fn=None, *, check=False, cache_size=8):
    """Trace `fn` on its first call for each signature; replay the traced array work after.

    Parameters:
        fn: the function to compile (a training step or a prediction); also
            usable as `@compile` or `@compile(check=True)`.
        check (bool): for the first calls of each trace, also run `fn` eagerly
            and raise CompileError naming the first value (a returned tensor,
            a parameter, a `.grad`, an optimizer buffer) where the replay and
            the eager run differ by more than rounding.
        cache_size (int): how many traces (signatures) to keep, least recently
            used dropped first.

    Returns a `CompiledFunction`, called with `fn`'s arguments.

    What is replayed: every op's forward, the backward walk in the order the
    trace ran it (the sums of gradients, the undoing of broadcasting, dtype
    casts, the leaves' `.grad`), `zero_grad()` and the optimizer's update.
    An op of yours (a `minigrad.Function`, with one output or several) is
    replayed by calling its own `forward` and `backward` on a fresh ctx; an
    output that got no gradient gets zeros, as in the eager walk.

    What varies per call: the arguments' values; the parameters' current
    arrays (a `load_state_dict` or a `.data` assignment between calls is
    seen); the optimizer's hyperparameters as they are at the call (lr set by
    a schedule) and its state (momentum buffers, Adam's moments and step
    count); and randomness: each Dropout call draws a fresh mask from
    minigrad's generator, in the same order as an eager run, so with the same
    `manual_seed` compiled and eager runs draw the same masks.

    Signatures: a trace is keyed by the arguments' shapes and dtypes, the
    values of non-array arguments, grad mode, each module's `training` flag,
    which parameters have a `.grad` at the call and which require grad, their
    dtypes, and which terms the optimizer's update has (momentum, Nesterov,
    weight decay), for the modules and optimizers `fn` refers to and those
    passed to it. A new key (a smaller last batch, `model.eval()`) traces
    again. A call first tries the trace it ran last, through a straight-line
    test of that trace's key (see signature.py).

    What cannot be captured is refused with a CompileError, not frozen:
    reading the values of a tensor the trace tracks (an argument, an op's
    output, a parameter) in `fn`, as Python (`.item()`, `float()`, `int()`,
    `bool()`, `if loss < 0.1`) or as numpy (`.data`, `.numpy()`,
    `np.array(t)`): compute with Tensor ops instead, return the tensor and
    read it outside, or move that code outside `fn`. So are assigning
    `.data` inside `fn` (update parameters with an optimizer), tensor hooks,
    module forward hooks, `detect_anomaly()`, `grad()` and
    `create_graph=True` inside `fn`. (minigrad's own code inside `fn`, such
    as a loss checking its labels, reads values the trace follows.)

    numpy work on array arguments and on the `.grad` arrays (clipping by
    hand) is recorded too. An array made inside `fn` by numpy from
    values the trace cannot follow (np.ones, numpy's own random numbers, a
    tensor's argmax or comparison) is refused when it reaches an op or the
    result; arrays `fn` reads from outside (by name: globals, closures,
    attributes) are constants of the trace.

    Python side effects in `fn` (printing, appending to a list, rebinding a
    global) run only when tracing, and Python numbers read from outside are
    constants: `check=True` catches a function that depends on them.
    Tensors returned by a replay are new tensors holding the values, with no
    graph. A module, parameter or optimizer object the function uses that is
    replaced between calls (`model.fc = nn.Dense(...)`, a layer appended, a
    global bound to another model) is noticed at the next call, which traces
    again.
    """
    if fn is None:
        return functools.partial(compile, check=check, cache_size=cache_size)
    if not callable(fn):
        raise TypeError(f"minigrad.compile takes a function, got {type(fn).__name__}")
    check = check_flag("check", check, "minigrad.compile")
    cache_size = check_positive_integer("cache_size", cache_size, "minigrad.compile")
    return CompiledFunction(fn, check, cache_size)


class CompiledFunction:
    """A function compiled by `minigrad.compile`: call it as the function; `.code` shows the replay.

    Parameters: fn, check, cache_size (see `minigrad.compile`).
    """

    def __init__(self, fn, check, cache_size):
        self.fn, self.check, self.cache_size = fn, check, cache_size
        self.programs = collections.OrderedDict()
        self.traces = 0          # how many times fn was traced
        self._last = None
        self._scanned = self._bindings = None
        functools.update_wrapper(self, fn)

    def reset(self):
        """Forget every trace and what `fn` refers to: the next call traces again.

        A call does this by itself when a module, parameter or optimizer
        object `fn` uses was replaced (`model.fc = nn.Dense(...)`, a global
        bound to another model); assigning `.data`, `load_state_dict` and
        optimizer settings are seen without tracing again.
        """
        self.programs.clear()
        self._scanned = self._bindings = self._last = None

    @property
    def code(self):
        """The straight-line numpy program the latest call replayed (or traced), as Python source."""
        if self._last is None:
            return "# not traced yet: call the compiled function once"
        return self._last.code

    def __call__(self, *args, **kwargs):
        if switched:   # some mode is on somewhere: read this thread's
            if state.tracer is not None:   # inside another compiled function's trace: inline it
                return self.fn(*args, **kwargs)
            if state.anomaly:
                raise CompileError("detect_anomaly() checks every value as it is computed, which "
                                   "a compiled replay skips; call the function uncompiled inside "
                                   "detect_anomaly()")
        if self._bindings is not None and self._bindings.changed():
            self.reset()   # an object the traces read was replaced: they are stale
        program, values = self._last, args
        # The quick way: the trace run last, if its guard says this call has its key.
        if program is None or kwargs or program.guard is None or not program.guard(args):
            program, values = self._lookup(args, kwargs)
            if program is None:   # traced now: `values` is the result
                return values
        if self.check and program.replays < CHECKED_CALLS:
            program.replays += 1
            return self._checked(program, values, args, kwargs)
        result = program.replay(values)
        if result is FALLBACK:
            return self.fn(*args, **kwargs)
        return result

    def _lookup(self, args, kwargs):
        """The slow way: (the trace of the call's key, the values it replays), from the cache;
        or (None, the result) after tracing it now."""
        if self._scanned is None:
            self._scanned = scan(self.fn)
            self._bindings = Bindings(self.fn, self._scanned)
            self._optimizers = [(o, codegen_optim.structure_of(o)) for o in self._scanned[2]]
        if kwargs:
            values = args + tuple(kwargs[k] for k in sorted(kwargs))
            key = self._key(values, tuple(sorted(kwargs)))
        else:
            values = args
            key = self._key(values, ())
        program = self.programs.get(key)
        if program is None:
            # The key holds the optimizers' groups by id(): the trace keeps them alive, so
            # that no other group can take one's id while the key is cached.
            groups = [g for o, _ in self._keyed_objects(values)[2]
                      for g in getattr(o, "param_groups", ())]
            result = self._trace(key, args, kwargs)
            self._last.groups = groups
            return None, result
        if program.guard is None and not kwargs:
            # Written at the first replay, from this call: its key is the trace's key. (Not
            # when tracing, so the tracing calls do not hold it too.)
            program.guard = signature.guard_for(args, *self._keyed_objects(args))
        if program is not self._last:
            self.programs.move_to_end(key)
            self._last = program
        return program, values

    # -- keys -------------------------------------------------------------------------
    def _key(self, values, keywords):
        """The signature of a call (see `compile` and signature.py)."""
        return signature.key(values, keywords, *self._keyed_objects(values))

    def _keyed_objects(self, values):
        """The modules, leaves and [(optimizer, structure function)] whose flags a key holds:
        those `fn` refers to, and those of modules and optimizers passed as arguments."""
        modules, leaves, optimizers = self._scanned[0], self._scanned[1], self._optimizers
        if any(isinstance(v, (Module, Optimizer)) for v in values):
            passed = scan_arguments([(str(i), v) for i, v in enumerate(values)])
            modules, leaves = modules + passed[0], leaves + passed[1]
            optimizers = optimizers + [(o, codegen_optim.structure_of(o)) for o in passed[2]]
        return modules, leaves, optimizers

    # -- tracing --------------------------------------------------------------------
    def _trace(self, key, args, kwargs):
        modules, leaves, optimizers, labels, constants = self._scanned
        if any(m._call_hooks is not None for m in modules):
            raise CompileError(
                "a forward hook is registered on a module the compiled function uses; hooks run "
                "Python on each call, which minigrad.compile does not replay. Remove the hook "
                "(handle.remove()) or call the function uncompiled")
        names = _argument_names(self.fn, len(args))
        # Parameters of a module passed as an argument are the caller's: loaded at each call.
        passed = scan_arguments(list(zip(names, args)) + sorted(kwargs.items()))
        labels = {**passed[3], **labels}
        tracer = Tracer(labels, leaves, optimizers, list(constants) + passed[4])
        traced_args = [tracer.argument(i, a, names[i]) for i, a in enumerate(args)]
        traced_kwargs = {k: tracer.argument(len(args) + j, kwargs[k], k)
                         for j, k in enumerate(sorted(kwargs))}
        generator = _random._generator
        _random._generator = TracingGenerator(generator, tracer)
        try:
            with tracing(tracer):
                result = self.fn(*traced_args, **traced_kwargs)
                result_text = _result_text(tracer, result)
        finally:
            reseeded = not isinstance(_random._generator, TracingGenerator)
            if not reseeded:
                _random._generator = generator
            tracer.finish()
        if reseeded:
            raise CompileError("manual_seed() inside a compiled function would run only when "
                               "tracing; call it before the compiled function")
        source = _header(self.fn, names, args, kwargs) + tracer.source(result_text, "args")
        env = dict(tracer.env, **HELPERS, leaves=tuple(tracer.leaves))
        program = Program(source, env, tracer.leaves, optimizers, result_text)
        self.traces += 1
        self.programs[key] = program
        if len(self.programs) > self.cache_size:
            self.programs.popitem(last=False)
        self._last = program
        return _plain_result(result)

    # -- check=True ----------------------------------------------------------------
    def _checked(self, program, values, args, kwargs):
        """Replay, then run `fn` eagerly from the same state; raise if they differ."""
        modules, leaves, optimizers, labels, _ = self._scanned
        leaves = list(leaves)
        for p in program.leaves:
            add_once(leaves, p)
        before = snapshot(leaves, optimizers)
        replayed = program.replay(values)
        if replayed is FALLBACK:
            return self.fn(*args, **kwargs)
        after_replay = snapshot(leaves, optimizers)
        restore(before, leaves, optimizers)
        eager = self.fn(*args, **kwargs)
        after_eager = snapshot(leaves, optimizers)
        names = {id(p): labels.get(id(p), p.name or f"leaf {i}") for i, p in enumerate(leaves)}
        problem = first_difference(flatten(replayed), flatten(eager), "the returned value")
        if problem is None:
            problem = compare_states(after_replay, after_eager, leaves, optimizers, names)
        if problem:
            raise CompileError(
                f"check=True: the compiled replay and the eager run of {self.fn.__name__} differ: "
                f"{problem}. The function does something a trace cannot capture (a value read from "
                "outside it that changes between calls, numpy's own random numbers, a Python "
                "branch on data); keep that outside the compiled function. The eager run's "
                "results are kept.")
        return eager


def _header(fn, names, args, kwargs):
    """Comment lines naming what a program was traced for."""
    described = []
    for name, value in list(zip(names, args)) + sorted(kwargs.items()):
        if isinstance(value, (Tensor, np.ndarray)):
            described.append(f"{name}: {type(value).__name__} {value.shape} {value.dtype}")
        elif isinstance(value, (bool, int, float, str, type(None))):
            described.append(f"{name}: {value!r:.40}".replace("\n", " "))
        else:
            described.append(f"{name}: a {type(value).__name__}")
    mode = "on" if (state.grad_enabled if switched else True) else "off (no_grad)"
    return (f"# {getattr(fn, '__name__', 'fn')}, replayed by minigrad.compile; traced for "
            f"{', '.join(described) or 'no arguments'}; grad mode {mode}\n")


def _argument_names(fn, n):
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"arg{i}" for i in range(n)]


def _result_text(tracer, result):
    """The source of the replay's return value: the same structure, today's values."""
    if isinstance(result, Tensor):
        return f"tensor({tracer.ref(result)})"
    if isinstance(result, np.ndarray):
        return tracer.ref(result)
    if type(result) in (tuple, list):
        items = ", ".join(_result_text(tracer, r) for r in result)
        if type(result) is tuple:
            return f"({items},)" if len(result) == 1 else f"({items})"
        return f"[{items}]"
    if type(result) is dict:
        return "{" + ", ".join(f"{tracer.ref(k)}: {_result_text(tracer, v)}"
                               for k, v in result.items()) + "}"
    return tracer.ref(result)


def _plain_result(result):
    if isinstance(result, np.ndarray):
        return plain(result)
    if type(result) in (tuple, list):
        return type(result)(_plain_result(r) for r in result)
    if type(result) is dict:
        return {k: _plain_result(v) for k, v in result.items()}
    return result
