"""Functions with several outputs: how they enter the graph and how their gradients gather.

A Function whose `forward` returns a tuple of arrays gets one Tensor per
output. Each output's `grad_fn` is a small `_Output` node that stands for
"output k of that node"; all of them point at one hidden tensor (the
bundle) made by the op's own node. The walk delivers each output's gradient
to the bundle as a `_Grads` (gradients by output index), which adds up like
any gradient; the op's backward then gets one gradient per output, zeros
where an output received none (as PyTorch's default).
"""
import weakref

import numpy as np

from . import guards
from .function import Function
from .tensor import new_tensor


class _Grads:
    """The gradients of some outputs of one multi-output node, by output index."""
    __slots__ = ("parts",)

    def __init__(self, parts):
        self.parts = parts

    def __add__(self, other):
        parts = dict(self.parts)
        for k, g in other.parts.items():
            parts[k] = parts[k] + g if k in parts else g
        return _Grads(parts)


class _Output(Function):
    """Stands for output `index` of a multi-output node; passes its gradient to the node's bundle."""
    _internal = True      # not an op of the user's (gradcheck and viz skip it)

    def __init__(self, bundle, index):
        self.inputs = (bundle,)
        self.needs_input_grad = (True,)
        self.index = index
        self._seq = next(guards.clock)

    @staticmethod
    def backward(ctx, g):
        return _Grads({ctx.index: g})

    def _mark_output_changed(self):
        self._output_changed = True
        owner = self.inputs[0]._ctx if self.inputs else None
        if owner is not None:
            owner._output_changed = True

    def __repr__(self):
        owner = self.inputs[0]._ctx if self.inputs else None
        return f"<output {self.index} of {type(owner).__name__ if owner else 'a released node'}>"


def make_outputs(ctx, returned, record, anomaly):
    """The Tensors for a forward that returned a tuple; records `ctx` in the graph if `record`."""
    outs = tuple(o if type(o) is np.ndarray else np.asarray(o) for o in returned)
    if anomaly:
        for out in outs:
            guards.watch_forward(ctx, out)
    fixed = ctx._non_differentiable_ids
    if not record:
        return tuple(new_tensor(out, None) for out in outs)
    ctx._out_ids = tuple(id(o) for o in returned)
    ctx._output_specs = tuple((out.shape, out.dtype) for out in outs)
    bundle = new_tensor(np.empty(0), ctx)        # what the _Output nodes point at
    ctx._bundle = weakref.ref(bundle)
    ctx.backward = _backward_per_output           # an instance attribute: the walk calls it
    results = []
    for k, (original, out) in enumerate(zip(returned, outs)):
        if id(original) in fixed or out.dtype.kind != "f":
            results.append(new_tensor(out, None))   # indices and the like: no gradient
        else:
            results.append(new_tensor(out, _Output(bundle, k)))
    return tuple(results)


def _backward_per_output(ctx, grads):
    """Call the op's backward with one gradient per output (zeros for those that got none)."""
    full = []
    for k, (shape, dtype) in enumerate(ctx._output_specs):
        g = grads.parts.get(k)
        full.append(np.zeros(shape, dtype) if g is None else g)
    return type(ctx).backward(ctx, *full)


def output_tensor(ctx, k, value):
    """Under create_graph: a Tensor for saved output `k` of `ctx`, routed to that output."""
    bundle = ctx._bundle() if getattr(ctx, "_bundle", None) is not None else None
    if bundle is None:   # the bundle is gone: no later op used any output
        return new_tensor(np.asarray(value), None)
    return new_tensor(np.asarray(value), _Output(bundle, k))


def is_gradients(g):
    """True for the gradients of a multi-output node (what its backward is called with)."""
    return type(g) is _Grads
