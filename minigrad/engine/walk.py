"""The backward walk: seeding, undoing broadcasting, hooks, the loop, and `grad()`.

`backward` walks the graph as a loop, no recursion: nodes run newest first
(every consumer of a node was created after it), so each node's `backward`
runs once, after all of its consumers have delivered their gradient. The
walk knows no op by name; it only sums gradients back to each input's shape
(undoing broadcasting: the one place that happens) and adds them up. It
calls the guards at two points: before a node's backward (were its saved
arrays changed?) and, under detect_anomaly(), after it (is every gradient
finite?).
"""
import functools
import heapq
import math

import numpy as np

from .function import Function
from .higher_order import differentiable_backward
from .outputs import is_gradients
from .guards import changes, check_finite, check_input_gradients, check_node, resolve_inputs
from .modes import begin_recording, end_recording, is_anomaly_enabled, is_grad_enabled, state, switched
from .tensor import Tensor, new_tensor

__all__ = ["grad", "graph_nodes"]

_RELEASED = ("the graph behind this tensor was already backpropagated through and its saved "
             "buffers were released; pass retain_graph=True to the first backward() to "
             "backpropagate through it again")


# -- undoing broadcasting ------------------------------------------------------------------

def _input_index(node, tensor):
    return next(i for i, t in enumerate(node.inputs) if t is tensor)


def unbroadcast(grad, shape, node, tensor):
    """Sum `grad` back to `shape`, undoing numpy broadcasting (the only place it is undone)."""
    plan = _reduction_plan(grad.shape, shape)
    if plan is None:
        raise ValueError(f"{type(node).__name__}.backward returned a gradient of shape "
                         f"{grad.shape} for input {_input_index(node, tensor)} of shape {shape}")
    stretched, added = plan
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if added:
        grad = grad.sum(axis=added)
    return grad


@functools.lru_cache(maxsize=512)   # training repeats a few shapes; bounded for everything else
def _reduction_plan(grad_shape, shape):
    """The axes to sum: (those where the input had size 1, those it lacked); None if none fit."""
    extra = len(grad_shape) - len(shape)
    if extra < 0:
        return None
    stretched = []
    for axis, size in enumerate(shape):
        if size != grad_shape[extra + axis]:
            if size != 1:
                return None
            stretched.append(extra + axis)
    return tuple(stretched), tuple(range(extra))


def _conform(grad, data, node, tensor):
    """The slow path for a gradient that is not already an array of its input's shape and dtype.

    A numpy scalar passes as is for a 0-d input: numpy's own arithmetic returns
    one for 0-d results, and the next op's arithmetic on it is much faster
    than on a 0-d array. Leaves, hooks and grad() get arrays (see as_gradient).
    """
    if is_gradients(grad):
        return grad   # for the outputs of a multi-output node: they keep their own shapes
    if not isinstance(grad, (np.ndarray, np.generic, Tensor)):
        grad = np.asarray(grad, dtype=data.dtype)   # a Python number
    if grad.shape != data.shape:
        grad = unbroadcast(grad, data.shape, node, tensor)
    if grad.dtype != data.dtype:
        grad = grad.astype(data.dtype)   # float32 inputs get float32 gradients (recorded for a Tensor)
    return grad


def as_gradient(g):
    """A gradient as the user sees it: an ndarray (or a Tensor, under create_graph), never a numpy scalar."""
    return g if type(g) is np.ndarray or isinstance(g, Tensor) else np.asarray(g)


# -- seeds and hooks ---------------------------------------------------------------------------

def _seed(tensor, grad, create_graph, anomaly):
    """The gradient the walk starts from at `tensor`: `grad` checked, or 1 for a single element."""
    if grad is None:
        if tensor._data.size != 1:
            raise RuntimeError(f"backward() of a tensor of shape {tensor.shape} needs `grad`, an "
                               "array of that shape; only a single-element output gets an "
                               "implicit gradient of 1")
        dtype = tensor._data.dtype
        if tensor._data.ndim == 0 and not create_graph:
            grad = dtype.type(1)   # a numpy scalar, as numpy's own 0-d arithmetic gives
        else:
            grad = np.ones(tensor._data.shape, dtype)
    elif isinstance(grad, Tensor) and create_graph:
        if grad.shape != tensor.shape:
            raise ValueError(f"grad of shape {grad.shape} given for a tensor of shape {tensor.shape}")
        return grad
    else:
        grad = np.array(grad._data if isinstance(grad, Tensor) else grad, dtype=tensor.dtype)
        if grad.shape != tensor.shape:
            raise ValueError(f"grad of shape {grad.shape} given for a tensor of shape {tensor.shape}")
    if anomaly:
        check_finite(grad, "the gradient given to backward()")
    return new_tensor(grad, None) if create_graph else grad


class _Start(Function):
    """Where the walk starts: a node newer than every other, whose inputs are the roots.

    Its backward hands each root its seed gradient, so the walk's one loop
    delivers the seeds like any other gradient.
    """
    _seq = math.inf

    def __init__(self, roots, seeds):
        self.inputs, self.seeds = tuple(roots), tuple(seeds)
        self.needs_input_grad = (True,) * len(self.inputs)

    @staticmethod
    def backward(ctx, g):
        return ctx.seeds


def _run_hooks(hooks, grad):
    """Run a tensor's gradient hooks in order; each may replace the gradient or change it in place.

    The hooks get a copy no other tensor shares (`y + z` hands both inputs the
    same array), so a change in place stays with this tensor.
    """
    grad = grad if isinstance(grad, Tensor) else np.array(grad)
    for hook in list(hooks):
        result = hook(grad)
        if result is not None:
            if not isinstance(result, (np.ndarray, Tensor)):
                raise TypeError(f"a gradient hook returned a {type(result).__name__}; it must return "
                                f"None or an array of shape {grad.shape}")
            if result.shape != grad.shape:
                raise ValueError(f"a hook returned a gradient of shape {result.shape} "
                                 f"in place of one of shape {grad.shape}")
            if is_anomaly_enabled():
                check_finite(result, f"a gradient hook ({getattr(hook, '__name__', hook)}) returned")
            grad = result
    return grad


# -- the walk -----------------------------------------------------------------------------------

def _nodes_toward(roots, targets):
    """For grad(): the nodes whose backward must run to reach `targets`, and what may get a gradient.

    A node runs when one of its inputs is a target or comes from a node that
    runs; the walk stops at the targets, as PyTorch's grad() does, so the graph
    below them is neither walked nor released.
    """
    target_nodes = {t._ctx for t in targets if t._ctx is not None}
    target_leaves = {t for t in targets if t._ctx is None}
    runs = set()
    for node in graph_nodes(*roots):   # inputs before consumers
        for t, need in zip(node.inputs, node.needs_input_grad):
            if need and (t in target_leaves or t._ctx in runs or t._ctx in target_nodes):
                runs.add(node)
                break
    return runs, runs | target_nodes | target_leaves


def backward(roots, seeds, retain_graph, create_graph, targets=None):
    """Reverse-mode sweep from `roots` (Tensors) with gradients `seeds`.

    Without `targets`, leaf gradients are added to `.grad`. With `targets` (a
    list of Tensors), only what leads to them runs, their gradients are
    returned, and `.grad` is left alone.
    """
    if switched:   # some mode is on in some thread: read this thread's switches
        anomaly, tracer = state.anomaly, state.tracer
        if tracer is not None:   # compile: minigrad.compile records the walk as it runs
            tracer.record_backward(roots, seeds, retain_graph, create_graph, targets)
    else:
        anomaly = False
        tracer = None
    grads = {}          # node -> gradient of its output, summed over its consumers so far
    leaf_grads = {}     # leaf tensor -> gradient summed over this sweep
    wanted = found = runs = reach = None
    if targets is not None:
        # grad(): the node (or leaf) of each target -> its position in `targets`
        wanted = {(t._ctx if t._ctx is not None else t): i for i, t in enumerate(targets)}
        found = [None] * len(wanted)
        runs, reach = _nodes_toward(roots, targets)
    # Nodes run newest first. Every consumer of a node was created after it, so when a
    # node is picked, all the gradient it will receive has arrived. The waiting nodes
    # are a heap plus `newest`, the newest of them, held apart: in a chain each node
    # hands its gradient to the very next one, which then never touches the heap.
    newest = _Start(roots, [_seed(t, g, create_graph, anomaly) for t, g in zip(roots, seeds)])
    grads[newest] = None
    heap = []
    ndarray, generic, heappush, heappop = np.ndarray, np.generic, heapq.heappush, heapq.heappop
    previous_mode = begin_recording(bool(create_graph))   # record the backward only for create_graph
    try:
        while newest is not None:   # (the heap is empty when newest is None)
            if heap and -heap[0][0] > newest._seq:
                node = heappop(heap)[1]
            else:
                node, newest = newest, (heappop(heap)[1] if heap else None)
            g = grads.pop(node)
            if node.inputs is None:
                raise RuntimeError(_RELEASED)
            if node._hooks:
                g = _run_hooks(node._hooks, g)
            if wanted and node in wanted:
                found[wanted[node]] = g
                if node not in runs:
                    continue     # nothing grad() asked for lies below this node
            if changes.last > node._seq or node._fingerprints is not None:
                check_node(node, create_graph)   # guard 1: up to date, saved arrays unchanged
            if create_graph:
                input_grads = differentiable_backward(node, g)
            else:
                input_grads = node.backward(node, g)
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)
            if len(input_grads) != len(node.inputs):
                raise ValueError(f"{type(node).__name__}.backward returned {len(input_grads)} "
                                 f"gradients for {len(node.inputs)} inputs")
            if anomaly:
                check_input_gradients(node, input_grads)   # guard 2: every gradient finite
            if tracer is not None:   # compile: this node's backward, in the order it ran
                tracer.record_node(node, input_grads)
            for t, need, ig in zip(node.inputs, node.needs_input_grad, input_grads):
                if not need or ig is None:
                    continue
                data = t._data
                if (type(ig) is not ndarray and not isinstance(ig, generic)
                        or ig.shape != data.shape or ig.dtype is not data.dtype):
                    ig = _conform(ig, data, node, t)
                source = t._ctx
                if reach is not None and (t if source is None else source) not in reach:
                    continue     # grad(): nothing it asked for lies that way
                if source is None:   # a leaf
                    leaf_grads[t] = leaf_grads[t] + ig if t in leaf_grads else ig
                elif source in grads:
                    grads[source] = grads[source] + ig
                else:                # the first gradient for this node: it now waits its turn
                    grads[source] = ig
                    if newest is None:
                        newest = source
                    else:
                        if source._seq > newest._seq:
                            source, newest = newest, source
                        heappush(heap, (-source._seq, source))
            if not retain_graph:   # free the buffers as soon as this node is done with them
                node.saved_tensors = node.inputs = None
    finally:
        end_recording(previous_mode)
    _finish_leaves(leaf_grads, wanted, found, targets is not None)
    if tracer is not None:   # compile: the leaves' .grad as the walk left them
        tracer.backward_done(leaf_grads)
    return found


def _finish_leaves(leaf_grads, wanted, found, for_grad):
    """Run the leaves' hooks, then hand each gradient to grad()'s results or add it to `.grad`."""
    handed_out = set()
    for leaf, g in leaf_grads.items():
        if type(g) is not np.ndarray:
            g = as_gradient(g)
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g)
        if for_grad:
            if leaf in wanted:
                found[wanted[leaf]] = g
            continue
        # .grad must own its memory: a view, or an array already given to another
        # leaf (x + y hands both the same gradient), is copied.
        if g.base is not None or id(g) in handed_out:
            g = g.copy()
        handed_out.add(id(g))
        if leaf.grad is None:
            leaf.grad = g
        elif leaf.grad.shape == g.shape:
            leaf.grad = leaf.grad + g
        else:
            raise ValueError(f"{leaf._describe()} holds a .grad of shape {leaf.grad.shape}, "
                             f"which cannot accumulate a gradient of shape {g.shape}; set "
                             ".grad = None (or zero_grad()) first")


def graph_nodes(*roots):
    """The Function nodes behind `roots`, in the order they were created (inputs before consumers)."""
    seen = {}
    stack = [t._ctx for t in roots if t._ctx is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        if node.inputs is None:
            raise RuntimeError(_RELEASED)
        if changes.last_rebind > node._seq:
            resolve_inputs(node)
        seen[node] = None
        stack.extend(t._ctx for t, need in zip(node.inputs, node.needs_input_grad)
                     if need and t._ctx is not None)
    return sorted(seen, key=lambda node: node._seq)


def grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None,
         allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, as a tuple of Tensors; `.grad` is untouched.

    Parameters:
        outputs: a Tensor or a list of Tensors to differentiate.
        inputs: a Tensor or a list of Tensors (leaves or intermediate results)
            to differentiate with respect to; the walk stops at them.
        grad_outputs: the gradient to start from at each output (None: 1 for
            single-element outputs).
        create_graph (bool): record the gradient computation, so the results
            can be differentiated again (Hessian-vector products, penalties).
        retain_graph (bool): keep the graph for another backward; defaults to
            `create_graph`.
        allow_unused (bool): give None for an input the outputs do not depend
            on, instead of raising.
    """
    if not isinstance(outputs, (Tensor, list, tuple)):
        raise TypeError(f"grad() takes a Tensor (or a list of Tensors) as outputs, not a "
                        f"{type(outputs).__name__}")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs) if len(outputs) == 1 or grad_outputs is None \
            else grad_outputs
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"{len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor) or not t._requires_grad:
            off = "" if is_grad_enabled() else (
                " (grad mode is off here, inside no_grad(): nothing was recorded; compute the "
                "outputs outside it, or inside enable_grad())")
            raise RuntimeError(f"output {i} does not require grad, so it has no gradient{off}")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError(f"input {i} of grad() is not a tensor that requires grad")
    if retain_graph is None:
        retain_graph = create_graph
    found = backward(outputs, grad_outputs, retain_graph, create_graph, targets=inputs)
    result = []
    for i, g in enumerate(found):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"input {i} of grad() is not used in computing the outputs "
                                   "(pass allow_unused=True to get None for it)")
            result.append(None)
        else:
            g = as_gradient(g)
            result.append(g if isinstance(g, Tensor) else new_tensor(g, None))
    return tuple(result)
