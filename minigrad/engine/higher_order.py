"""Backwards that are themselves differentiated (create_graph=True), and those that cannot be.

Under `create_graph=True` the walk runs each node's backward on Tensors, so
its arithmetic is recorded and can be differentiated again
(`differentiable_backward`). That is right only when the backward computes
with what the graph knows: the gradient it was given and the node's saved
inputs and output, as Tensors. Two kinds of backward cannot promise it:

- one marked `@once_differentiable`, which works on plain arrays;
- one that reads a saved array that is neither an input nor the output
  (a constant to the graph, though it depends on the inputs), or that returns
  plain arrays although its gradient is a Tensor.

Their first-order results are right, so they are returned, but as outputs of
a `FirstOrderOnly` node: differentiating through them raises an error naming
the op, never a silently wrong second derivative.
"""
import functools

import numpy as np

from . import guards
from .function import Function
from .modes import no_grad, state
from .outputs import _Grads
from .tensor import Tensor

__all__ = ["once_differentiable"]


def once_differentiable(backward):
    """Mark a Function's `backward` as first-order only: it works on plain numpy arrays.

    A first-order gradient, also with create_graph=True, still works; any
    attempt to differentiate that gradient through the op raises an error
    naming the op. Use it for a backward that cannot be written with
    operations Tensors support. Apply it below `@staticmethod`:

        @staticmethod
        @minigrad.once_differentiable
        def backward(ctx, g): ...
    """
    if isinstance(backward, staticmethod):
        return staticmethod(once_differentiable(backward.__func__))

    @functools.wraps(backward)
    def marked(ctx, *grads):
        return backward(ctx, *grads)
    marked.once_differentiable = True
    return marked


class FirstOrderOnly(Function):
    """A gradient computed by a first-order-only backward; differentiating it raises `reason`.

    Its inputs are the gradient's value, the gradient the backward was given
    and the op's inputs, so any second derivative through the op reaches it.
    """
    _internal = True

    @staticmethod
    def forward(ctx, value, *sources, reason):
        ctx.reason = reason
        return value

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(ctx.reason)


def differentiable_backward(node, g):
    """Run `node`'s backward on Tensors, recorded; first-order-only results come out as such."""
    if node._internal:   # the engine's own nodes (a multi-output node's outputs, ...)
        return node.backward(node, g)
    op = type(node).__name__
    if getattr(node.backward, "once_differentiable", False):
        with no_grad():
            grads = node.backward(node, *_plain(g)) if type(g) is _Grads else \
                node.backward(node, _value(g))
        return _first_order_only(node, grads, g, f"{op}.backward is first-order only (it is marked "
                                 "once_differentiable), so a second derivative cannot pass through "
                                 f"{op}; write its backward with operations Tensors support to make "
                                 "it differentiable")
    arrays = node.saved_tensors
    node.saved_tensors = saved = node._differentiable_saved()
    start = next(guards.clock)   # nodes the backward records come after this
    outer, state.differentiating = state.differentiating, node
    node._read_values = False
    try:
        grads = node.backward(node, g)
    finally:
        node.saved_tensors = arrays
        state.differentiating = outer
    if node._read_values:
        return _first_order_only(node, grads, g, (
            f"{op}.backward read a Tensor's values as a numpy array (t.data, t.numpy(), "
            f"np.asarray(t)) while computing a gradient with create_graph=True, so what it "
            f"computed from them is not recorded and a second derivative through {op} would be "
            "wrong; use operations Tensors support (arithmetic, @, .sum, numpy ufuncs with a "
            "minigrad op), or mark the backward @minigrad.once_differentiable"))
    constants = {id(value) for value, role, array in zip(saved, node._saved_roles, arrays)
                 if role is None and isinstance(array, (np.ndarray, np.generic))}
    if constants and _uses(grads, constants, start):
        return _first_order_only(node, grads, g, (
            f"{op}.backward uses an array saved in forward that is neither an input nor the "
            f"output of {op}; to a second derivative such an array is a constant, so the result "
            f"would be wrong. Save {op}'s inputs and output instead (and compute the rest from "
            "them in backward), or mark the backward @minigrad.once_differentiable"))
    if _returned_arrays(grads):
        return _first_order_only(node, grads, g, (
            f"{op}.backward returned a numpy array while the gradient it was given was a Tensor "
            f"(create_graph=True), so its result is not recorded and a second derivative through "
            f"{op} would be wrong; write the backward with operations Tensors support "
            "(arithmetic, @, .sum, numpy ufuncs), or mark it @minigrad.once_differentiable"))
    return grads


def note_values_read(tensor):
    """Called when a Tensor's array is handed out: inside a create_graph backward, that leaves the graph."""
    node = state.differentiating
    if node is not None and tensor._requires_grad:
        node._read_values = True


def _value(g):
    return g._data if isinstance(g, Tensor) else g


def _plain(grads):
    return [_value(g) for g in _Grads_filled(grads)]


def _Grads_filled(grads):
    return [grads.parts.get(k) for k in range(max(grads.parts) + 1)]


def _uses(grads, constants, start):
    """True if the recorded backward (nodes after `start`) computed `grads` from a constant in `constants`."""
    grads = grads if type(grads) is tuple else (grads,)
    stack = []
    for g in grads:
        if id(g) in constants:
            return True
        if isinstance(g, Tensor) and g._ctx is not None:
            stack.append(g._ctx)
    seen = set()
    while stack:
        node = stack.pop()
        if node in seen or node._seq <= start or node.inputs is None:
            continue
        seen.add(node)
        for t in node.inputs:
            if id(t) in constants:
                return True
            if isinstance(t, Tensor) and t._ctx is not None:
                stack.append(t._ctx)
    return False


def _returned_arrays(grads):
    grads = grads if type(grads) is tuple else (grads,)
    return any(g is not None and not isinstance(g, Tensor) for g in grads)


def _first_order_only(node, grads, g, reason):
    """`grads` as Tensors that carry their values but raise `reason` when differentiated."""
    single = type(grads) is not tuple
    sources = [t for t in node.inputs if isinstance(t, Tensor) and t._requires_grad]
    sources += [x for x in (g.parts.values() if type(g) is _Grads else (g,)) if isinstance(x, Tensor)]
    wrapped = []
    for grad in ((grads,) if single else grads):
        if grad is None:
            wrapped.append(None)
            continue
        value = np.asarray(_value(grad))
        wrapped.append(FirstOrderOnly.apply(value, *sources, reason=reason) if sources
                       else Tensor(value))
    return wrapped[0] if single else tuple(wrapped)
