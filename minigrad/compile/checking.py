"""check=True: run the eager function alongside a replay, and name the first value that differs.

The state a call changes (the parameters, their `.grad`, the optimizers'
buffers, minigrad's generator) is copied before the replay, restored after
it, and the eager function runs from the same state; then the returned
values and that state are compared. The eager run's results are kept.
"""
import itertools

from collections import defaultdict

import numpy as np

from .. import random as _random
from ..engine import Tensor

__all__ = ["snapshot", "restore", "first_difference", "compare_states", "flatten"]


def snapshot(leaves, optimizers):
    """Copies of the leaves' arrays and .grad, the optimizers' state and the generator's state."""
    return dict(
        data=[p._data.copy() for p in leaves],
        grad=[None if p.grad is None else np.array(p.grad) for p in leaves],
        optim=[[_copy(o.state.get(p, {})) for p in _params(o)] for o in optimizers],
        generator=_random.get_generator().bit_generator.state)


def _params(optimizer):
    """The optimizer's parameters, group by group (the order its state dict numbers them)."""
    return [p for group in optimizer.param_groups for p in group["params"]]


def _copy(buffers):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in buffers.items()}


def restore(snapshot, leaves, optimizers):
    """Put back what `snapshot` copied (arrays in place, so every reference sees it)."""
    for p, data, grad in zip(leaves, snapshot["data"], snapshot["grad"]):
        np.copyto(p._data, data)
        p.grad = None if grad is None else grad.copy()
    for o, states in zip(optimizers, snapshot["optim"]):
        o.state = defaultdict(dict, {p: _copy(s) for p, s in zip(_params(o), states) if s})
    _random.get_generator().bit_generator.state = snapshot["generator"]


def flatten(value):
    if isinstance(value, Tensor):
        return [value._data]
    if isinstance(value, (tuple, list)):
        return list(itertools.chain.from_iterable(flatten(v) for v in value))
    if isinstance(value, dict):
        return list(itertools.chain.from_iterable(flatten(v) for v in value.values()))
    return [value]


def _close(a, b):
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind != "f" and b.dtype.kind != "f":
        return np.array_equal(a, b)
    rtol = 1e-5 if np.float32 in (a.dtype, b.dtype) else 1e-9
    return np.allclose(a, b, rtol=rtol, atol=rtol * 1e-3, equal_nan=True)


def first_difference(replayed, eager, what):
    """Words for the first of `replayed` and `eager` (lists of values) that differ; None if none."""
    if len(replayed) != len(eager):
        return f"{what} has {len(replayed)} parts in the replay, {len(eager)} eagerly"
    for i, (a, b) in enumerate(zip(replayed, eager)):
        if not _close(a, b):
            part = f" (part {i})" if len(replayed) > 1 else ""
            return f"{what}{part}: replay {_show(a)}, eager {_show(b)}"
    return None


def _show(value):
    array = np.asarray(value) if value is not None else None
    if array is None:
        return "None"
    return np.array2string(array, threshold=6, precision=6)


def compare_states(replay, eager, leaves, optimizers, names):
    """Words for the first leaf, .grad or optimizer buffer that differs between two snapshots."""
    for p, a, b in zip(leaves, replay["grad"], eager["grad"]):
        if not _close(a, b):
            return f"the .grad of {names[id(p)]}: replay {_show(a)}, eager {_show(b)}"
    for p, a, b in zip(leaves, replay["data"], eager["data"]):
        if not _close(a, b):
            return f"{names[id(p)]} after the call: replay {_show(a)}, eager {_show(b)}"
    for o, sa, sb in zip(optimizers, replay["optim"], eager["optim"]):
        for i, (x, y) in enumerate(zip(sa, sb)):
            for k in set(x) | set(y):
                if not _close(x.get(k), y.get(k)):
                    return f"the optimizer's {k} of parameter {i}"
    return None
