"""Grad modes and anomaly mode: per-thread switches, usable as `with` blocks and as decorators.

Each thread has its own switches, as in PyTorch: a `no_grad()` block in an
inference thread does not stop a training thread from recording, and a new
thread starts with recording on and anomaly mode off. The switches are
attributes of a `threading.local`; their class-level values are the defaults
every thread starts from.

Reading a thread-local costs more than the rest of a small op's bookkeeping,
so `switched` holds one entry per switch in effect in any thread: while it is
empty, every thread is at the defaults and an op need not look further
(`current()`). It is a list because `append` and `pop` are atomic, so
threads opening and closing blocks at once need no lock to keep it right.
"""
import functools
import inspect
import threading

from ..validation import check_flag

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
           "is_anomaly_enabled"]


class _ThreadState(threading.local):
    """The switches of the current thread (read on every op)."""
    grad_enabled = True   # False inside no_grad(): nothing is recorded
    anomaly = False       # True inside detect_anomaly()
    differentiating = None   # the node whose backward runs under create_graph (higher_order.py)
    tracer = None         # compile: the Tracer recording this thread's ops (minigrad.compile)


state = _ThreadState()


switched = []   # one entry per mode block open in any thread (empty: all at the defaults)


def current():
    """(grad_enabled, anomaly) for the calling thread."""
    if switched:
        return state.grad_enabled, state.anomaly
    return True, False


class _Mode:
    """A switch of `state`, usable as a context manager and as a decorator.

    As a decorator it covers the whole call, and for a generator function
    every step of the generator: the switch is set each time the generator
    runs and restored each time it yields, as PyTorch's decorators do.
    """
    attribute, value = None, None

    def __enter__(self):
        switched.append(None)
        self._previous = getattr(state, self.attribute)
        setattr(state, self.attribute, self.value)
        return self

    def __exit__(self, *exc):
        setattr(state, self.attribute, self._previous)
        switched.pop()

    def _fresh(self):
        """A new switch with the same setting (a `with` block is entered once per object)."""
        return type(self)()

    def __call__(self, fn):
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def generator(*args, **kwargs):
                return (yield from _run_generator_under(self, fn(*args, **kwargs)))
            return generator

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return fn(*args, **kwargs)
        return wrapper


def _run_generator_under(mode, gen):
    """Drive `gen`, with `mode` switched on while its body runs and off while it is suspended."""
    try:
        with mode._fresh():
            request = gen.send(None)
        while True:
            try:
                response = yield request
            except GeneratorExit:
                with mode._fresh():
                    gen.close()
                raise
            except BaseException as error:
                with mode._fresh():
                    request = gen.throw(error)
            else:
                with mode._fresh():
                    request = gen.send(response)
    except StopIteration as stop:
        return stop.value


class no_grad(_Mode):
    """Record nothing: `with no_grad(): ...` or `@no_grad()` (also on generator functions).

    Use it for inference and for in-place updates of parameters (an optimizer
    step). It switches recording off for the current thread only.
    """
    attribute, value = "grad_enabled", False


class enable_grad(_Mode):
    """Record again inside a no_grad() block (current thread only)."""
    attribute, value = "grad_enabled", True


def begin_recording(value):
    """The walk's own switch, without a block object: set this thread's grad mode, return the old one.

    The walk records its backward only for create_graph. Pair it with
    `end_recording(previous)` in a `finally`.
    """
    switched.append(None)
    previous = state.grad_enabled
    state.grad_enabled = value
    return previous


def end_recording(previous):
    """Undo `begin_recording`: restore this thread's grad mode to `previous`."""
    state.grad_enabled = previous
    switched.pop()


class set_grad_enabled(_Mode):
    """Switch recording on or off: `with set_grad_enabled(mode): ...`.

    Parameters: mode (bool), True to record, False not to (current thread only).
    """
    attribute = "grad_enabled"

    def __init__(self, mode):
        self.value = check_flag("mode", mode, "set_grad_enabled")

    def _fresh(self):
        return type(self)(self.value)


class detect_anomaly(_Mode):
    """Raise at the first NaN or inf an op produces, forward or backward, naming the op and your line.

    It also checksums every array an op saves for backward, so writes minigrad
    cannot see (through `t.data[...]` of a leaf) are caught at backward. Slow:
    for debugging. Per thread, like the grad modes.
    """
    attribute, value = "anomaly", True


class tracing(_Mode):
    """compile: record this thread's ops into `tracer` (minigrad.compile's first call of a signature).

    Parameters: tracer, the object whose hooks Function.apply, the walk, Tensor
    and the optimizer call while the block runs (None: stop recording).
    """
    attribute = "tracer"

    def __init__(self, tracer):
        self.value = tracer

    def _fresh(self):
        return type(self)(self.value)


def current_tracer():
    """compile: the Tracer recording the calling thread, or None (free while no mode is on)."""
    return state.tracer if switched else None


def is_grad_enabled():
    """True when operations in this thread are being recorded (outside no_grad())."""
    return state.grad_enabled if switched else True


def is_anomaly_enabled():
    """True inside detect_anomaly() in this thread."""
    return state.anomaly if switched else False
