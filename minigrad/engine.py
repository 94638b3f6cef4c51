"""The engine: Tensor, Function, and the reverse-mode graph walk.

A Tensor wraps a numpy array. Every operation on Tensors is a `Function`:
`Function.apply` runs the op's `forward` on plain arrays and, when some input
requires grad, keeps the Function instance (the "node", also called `ctx`) as
the output's `grad_fn`. A node points at its input Tensors, never at its
output, so a graph has no reference cycles and the garbage collector never has
to look for them.

`backward` walks the graph as a loop, no recursion: nodes run newest first
(every consumer of a node was created after it), so each node's `backward`
runs once, after all of its consumers have delivered their gradient. The
engine knows no op by name; it only sums gradients back to each input's shape
(undoing broadcasting, the one place that happens) and adds them up.
"""
import functools
import heapq
import itertools
import math
import operator
import os
import sys
import zlib

import numpy as np

__all__ = ["Tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled",
           "grad", "detect_anomaly", "AnomalyError"]


class _State:
    """Process-wide switches, read on every op (a class attribute is a fast lookup)."""
    grad_enabled = True   # False inside no_grad(): nothing is recorded
    create_graph = False  # True while a differentiable backward runs
    anomaly = False       # True inside detect_anomaly()
    last_change = 0       # the _clock reading of the latest in-place change of any tensor


_state = _State()

# One sequence numbers both the nodes (as they are created) and the in-place changes
# of tensors. A node's consumers all come after it, which orders the graph walk; and
# a node needs its saved arrays checked only if some change came after it, which in
# a training loop (forward, backward, then the optimizer's in-place step) is never.
_clock = itertools.count(1)


# ---------------------------------------------------------------------------
# Tensor
# ---------------------------------------------------------------------------

def _as_array(data, dtype=None):
    """numpy array for `data`: arrays pass through uncopied; Python numbers and lists become float64."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.ndarray):
        array = data if dtype is None else data.astype(dtype, copy=False)
    else:
        array = np.asarray(data, dtype=dtype)
        if dtype is None and array.dtype.kind in "biu" and not isinstance(data, np.generic):
            array = array.astype(np.float64)  # Python ints and bools count as float64 data
    if array.dtype.kind not in "biuf":
        raise TypeError(f"minigrad tensors hold real numbers; got data of dtype {array.dtype} "
                        f"(from {type(data).__name__})")
    return array


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    `Tensor(data, requires_grad=False, dtype=None)`: an ndarray of the right dtype
    is used as is (not copied); Python numbers and lists become float64.
    Operators, math methods and numpy's ufuncs on Tensors are attached by
    `minigrad.ops`; this class holds the data, the gradient and the graph link.
    """
    # Every op makes a Tensor, so creating one must be cheap: the three fields every
    # tensor sets are slots; the rest start as class-level defaults until assigned.
    __slots__ = ("_data", "_ctx", "_requires_grad", "__dict__", "__weakref__")
    grad = None       # numpy array once a backward reaches this leaf
    _version = 0      # how many times the array was changed in place (or .data reassigned)
    _changed_at = 0   # the _clock reading of the latest such change
    _hooks = None
    _detached_from = None   # detach() shares the array: its in-place changes are the source's too
    name = None

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self._data = _as_array(data, dtype)
        self._ctx = None          # the Function node that made this tensor (None: a leaf)
        self._requires_grad = False
        if name is not None:
            self.name = name
        if requires_grad:
            self.requires_grad = True

    # -- data and flags ----------------------------------------------------
    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        array = _as_array(value)
        if array.shape != self._data.shape:
            raise ValueError(f"cannot assign data of shape {array.shape} to {self._describe()}")
        if array is self._data:   # `t.data -= x` changed the array itself
            self._changed_in_place()
            return
        self._data = array.astype(self._data.dtype, copy=False)
        # A new array: ops that saved the old one still hold it intact, but a
        # create_graph backward can no longer tie it to this tensor.
        self._version += 1
        self._changed_at = _state.last_change = next(_clock)

    def _changed_in_place(self):
        """Note an in-place change of this tensor's array, for every op that saved that array."""
        self._version += 1
        self._changed_at = _state.last_change = next(_clock)
        if self._ctx is not None:   # the output of an op, which may have saved it
            self._ctx._output_changed = True
        if self._detached_from is not None:
            self._detached_from._changed_in_place()

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = bool(value)
        if value and self._data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require grad; this one has dtype "
                            f"{self._data.dtype} (make it with dtype=np.float64 or np.float32)")
        if self._ctx is not None and not value:
            raise RuntimeError("requires_grad can only be changed on a leaf tensor; use .detach() instead")
        self._requires_grad = value

    @property
    def grad_fn(self):
        """The Function node that made this tensor, or None for a leaf."""
        return self._ctx

    @property
    def is_leaf(self):
        return self._ctx is None

    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    dtype = property(lambda self: self._data.dtype)
    size = property(lambda self: self._data.size)

    def __len__(self):
        return len(self._data)

    def item(self):
        return self._data.item()

    def numpy(self):
        """The data as a numpy array (shared, not copied)."""
        return self._data

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def detach(self):
        """A new leaf sharing this tensor's data, cut off from the graph.

        In-place changes through it count as changes of this tensor too, so a
        graph that saved the shared array still notices them.
        """
        alias = Tensor(self._data)
        alias._detached_from = self
        return alias

    def astype(self, dtype):
        """A copy in another dtype, cut off from the graph (like numpy's astype)."""
        return Tensor(self._data.astype(dtype))

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="Tensor(")
        extra = ""
        if self._data.dtype != np.float64:
            extra += f", dtype={self._data.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{type(self._ctx).__name__}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    def _describe(self):
        name = f"'{self.name}' " if self.name else ""
        return f"tensor {name}of shape {self._data.shape} and dtype {self._data.dtype}"

    def __bool__(self):
        if self._data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self._data)

    __hash__ = object.__hash__  # comparisons return tensors, so hash by identity

    # -- in-place arithmetic: only on tensors nothing is recording -------------
    def _in_place(op):
        """`x op= y` on the array, for a tensor nothing records (an optimizer's update, say)."""
        def method(self, other):
            if isinstance(other, Tensor):
                if other._requires_grad and _state.grad_enabled:
                    raise RuntimeError(f"an in-place {op.__name__} with a {other._describe()} that "
                                       "requires grad would not be recorded; write `x = x + y` "
                                       "instead")
                other = other._data
            if self._requires_grad and _state.grad_enabled:
                raise RuntimeError(f"in-place change of a {self._describe()} that requires grad: "
                                   "wrap it in `with minigrad.no_grad():` (e.g. an optimizer step) "
                                   "or write `x = x + y` to record it")
            op(self._data, other)   # numpy's in-place operator; it refuses unsafe casts (float into int)
            self._changed_in_place()
            return self
        method.__name__ = f"__{op.__name__}__"
        return method

    __iadd__ = _in_place(operator.iadd)
    __isub__ = _in_place(operator.isub)
    __imul__ = _in_place(operator.imul)
    __itruediv__ = _in_place(operator.itruediv)
    del _in_place

    # -- autograd --------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad.

        A scalar needs no `grad`; any other tensor needs one of its own shape.
        The graph's saved buffers are released afterwards unless `retain_graph`.
        """
        if not self._requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: no input of the "
                               "computation that made it has requires_grad=True, or it was made "
                               "under no_grad()")
        _backward([self], [grad], retain_graph=retain_graph, create_graph=False)

    def register_hook(self, hook):
        """Call `hook(grad)` with the gradient flowing into this tensor; a returned value replaces it.

        The gradient is a numpy array (a Tensor under create_graph=True). Returns a
        handle whose `.remove()` unregisters the hook.
        """
        if not callable(hook):
            raise TypeError(f"register_hook takes a callable, fn(grad) -> None or a new grad; got "
                            f"{type(hook).__name__}")
        if not self._requires_grad:
            raise RuntimeError(f"cannot register a hook on a {self._describe()} that does not require grad")
        owner = self if self._ctx is None else self._ctx   # a non-leaf's gradient is its node's
        if owner._hooks is None:
            owner._hooks = []
        owner._hooks.append(hook)
        return _HookHandle(owner._hooks, hook)


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


_allocate = Tensor.__new__   # a Tensor without running __init__'s checks


def _new_tensor(data, ctx):
    """Wrap an op's output array without the checks of Tensor() (the hot path)."""
    tensor = _allocate(Tensor)
    tensor._data = data
    tensor._ctx = ctx
    tensor._requires_grad = ctx is not None
    return tensor


# ---------------------------------------------------------------------------
# Function: the one mechanism every op goes through
# ---------------------------------------------------------------------------

class Function:
    """Base class of every op, built-in or yours.

    Subclass it with two static methods:

    - `forward(ctx, *inputs, **params)` gets numpy arrays (non-Tensor arguments
      pass through as given, so a Python number stays a number) and returns a
      numpy array. Call `ctx.save_for_backward(...)` with what backward needs;
      other values can be stored as attributes of `ctx`.
    - `backward(ctx, grad_output)` returns one gradient per input (None where
      there is none), each of the input's shape or broadcastable to it: the
      engine sums broadcast dimensions away.

    In an ordinary backward, `grad_output` and `ctx.saved_tensors` are numpy
    arrays (for a 0-d output, `grad_output` may be a numpy scalar, which is
    what numpy's own 0-d arithmetic returns; it has the same methods). Under
    `minigrad.grad(..., create_graph=True)` they are Tensors (saved
    inputs and outputs become the graph's own Tensors, so they stay
    differentiable); a backward written with operations both support
    (arithmetic, `@`, `.sum`, `.reshape`, `.T`, numpy ufuncs such as `np.exp`)
    therefore gives higher-order derivatives for free. A backward written in
    plain numpy only promises first order.

    Use it as `MyOp.apply(*inputs, **params)`, which returns a Tensor.
    `ctx.needs_input_grad` (one bool per input) tells forward and backward
    which inputs need a gradient.
    """
    saved_tensors = ()    # what forward saved; set to None once backward has released it
    _params = {}          # the keyword arguments of apply (read-only here: never mutated)
    _out_id = None        # id() of the array forward returned, to find it among the saved ones
    _output_changed = False   # the output was changed in place (see Tensor._changed_in_place)
    _hooks = None
    _trace = None         # where the op was called from, under detect_anomaly()
    _fingerprints = None  # checksums of the saved arrays, under detect_anomaly()

    @staticmethod
    def forward(ctx, *inputs, **params):
        raise NotImplementedError("a Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError(f"{type(ctx).__name__} defines no backward")

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    def _differentiable_saved(self):
        """The saved arrays as the graph's Tensors (inputs, the output; others constants).

        A create_graph sweep hands these to backward, so its arithmetic is recorded.
        """
        inputs = {id(t._data): t for t in self.inputs if isinstance(t, Tensor)}
        result = []
        for array in self.saved_tensors:
            if id(array) == self._out_id:
                result.append(_new_tensor(np.asarray(array), self))
            elif id(array) in inputs:
                result.append(inputs[id(array)])
            else:
                result.append(_new_tensor(array, None) if isinstance(array, np.ndarray) else array)
        return tuple(result)

    @classmethod
    def apply(cls, *args, **params):
        """Run `forward` on the inputs' arrays; keep this node in the graph if an input requires grad."""
        ctx = cls()
        ctx.inputs = args
        enabled = _state.grad_enabled
        # Unwrap Tensors to their arrays and note which need a gradient. Every op runs
        # this, so the cases of one to three inputs avoid building lists, and none uses
        # a comprehension (on CPython 3.11 each costs a frame: ~1 us an op).
        if len(args) == 2:
            a, b = args
            need_a = need_b = False
            if isinstance(a, Tensor):
                need_a, a = enabled and a._requires_grad, a._data
            if isinstance(b, Tensor):
                need_b, b = enabled and b._requires_grad, b._data
            ctx.needs_input_grad = (need_a, need_b)
            record = need_a or need_b
            out = cls.forward(ctx, a, b, **params) if params else cls.forward(ctx, a, b)
        elif len(args) == 3:   # a layer's (x, weight, bias)
            a, b, c = args
            need_a = need_b = need_c = False
            if isinstance(a, Tensor):
                need_a, a = enabled and a._requires_grad, a._data
            if isinstance(b, Tensor):
                need_b, b = enabled and b._requires_grad, b._data
            if isinstance(c, Tensor):
                need_c, c = enabled and c._requires_grad, c._data
            ctx.needs_input_grad = (need_a, need_b, need_c)
            record = need_a or need_b or need_c
            out = cls.forward(ctx, a, b, c, **params)
        elif len(args) == 1 and isinstance(args[0], Tensor):
            record = enabled and args[0]._requires_grad
            ctx.needs_input_grad = (record,)
            out = cls.forward(ctx, args[0]._data, **params) if params else cls.forward(ctx, args[0]._data)
        else:
            needs, arrays = [], []
            for a in args:
                if isinstance(a, Tensor):
                    needs.append(enabled and a._requires_grad)
                    arrays.append(a._data)
                else:
                    needs.append(False)
                    arrays.append(a)
            ctx.needs_input_grad = tuple(needs)
            record = True in needs
            out = cls.forward(ctx, *arrays, **params)
        returned = out
        if type(out) is not np.ndarray:
            out = np.asarray(out)   # numpy returns scalars, not 0-d arrays, for 0-d results
        if _state.anomaly:
            _check_forward(ctx, out)
        tensor = _allocate(Tensor)
        tensor._data = out
        tensor._requires_grad = record
        if not record:
            tensor._ctx = None
            return tensor
        tensor._ctx = ctx
        ctx._seq = next(_clock)
        if params:
            ctx._params = params
        if ctx.saved_tensors:
            ctx._out_id = id(returned)   # an int: the node must not hold its output alive
        return tensor

    def __repr__(self):
        return f"<{type(self).__name__}>"


# ---------------------------------------------------------------------------
# The graph walk
# ---------------------------------------------------------------------------

_RELEASED = ("the graph behind this tensor was already backpropagated through and its saved "
             "buffers were released; pass retain_graph=True to the first backward() to "
             "backpropagate through it again")


def _input_index(node, tensor):
    return next(i for i, t in enumerate(node.inputs) if t is tensor)


def _unbroadcast(grad, shape, node, tensor):
    """Sum `grad` back to `shape`, undoing numpy broadcasting (the only place it is undone)."""
    plan = _reduction_plans.get((grad.shape, shape))
    if plan is None:
        plan = _reduction_plans[grad.shape, shape] = _reduction_plan(grad.shape, shape)
    if plan is False:
        raise ValueError(_bad_gradient(node, tensor, grad.shape, shape))
    stretched, added = plan
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if added:
        grad = grad.sum(axis=added)
    return grad


_reduction_plans = {}   # (gradient shape, input shape) -> _reduction_plan; training repeats shapes


def _reduction_plan(grad_shape, shape):
    """The axes to sum: (those where the input had size 1, those it lacked); False if none fit."""
    extra = len(grad_shape) - len(shape)
    if extra < 0:
        return False
    stretched = []
    for axis, size in enumerate(shape):
        if size != grad_shape[extra + axis]:
            if size != 1:
                return False
            stretched.append(extra + axis)
    return tuple(stretched), tuple(range(extra))


def _bad_gradient(node, tensor, got, expected):
    return (f"{type(node).__name__}.backward returned a gradient of shape {got} for input "
            f"{_input_index(node, tensor)} of shape {expected}")


def _conform(grad, data, node, tensor):
    """The slow path for a gradient that is not already an array of its input's shape and dtype.

    A numpy scalar passes as is for a 0-d input: numpy's own arithmetic returns
    one for 0-d results, and the next op's arithmetic on it is ten times faster
    than on a 0-d array. Leaves, hooks and grad() get arrays (see _as_gradient).
    """
    if not isinstance(grad, (np.ndarray, np.generic, Tensor)):
        grad = np.asarray(grad, dtype=data.dtype)   # a Python number
    if grad.shape != data.shape:
        grad = _unbroadcast(grad, data.shape, node, tensor)
    if not isinstance(grad, Tensor) and grad.dtype != data.dtype:
        grad = grad.astype(data.dtype)   # float32 inputs get float32 gradients
    return grad


def _check_saved(node, create_graph):
    """Raise if an array this node saved was changed in place after its forward.

    Only called when some tensor changed after the node was made (the slow path).
    """
    op = type(node).__name__
    saved = node.saved_tensors
    for i, t in enumerate(node.inputs):
        if not isinstance(t, Tensor) or t._changed_at < node._seq:
            continue
        if any(array is t._data for array in saved):
            raise RuntimeError(
                f"{t._describe()} (input {i} of {op}) was changed in place after {op} saved it "
                f"for backward (it is at version {t._version} now), so its gradient would be "
                "wrong; change a copy instead, or do the in-place update after backward()"
                + _where(node))
        if create_graph:   # a new array: the saved old one can no longer be tied to the tensor
            raise RuntimeError(
                f"{t._describe()} (input {i} of {op}) got new .data after {op} used it, so a "
                "create_graph backward cannot differentiate through its old value; assign "
                ".data after computing the gradients" + _where(node))
    if node._output_changed and any(id(array) == node._out_id for array in saved):
        raise RuntimeError(
            f"the output of {op} was changed in place after {op} saved it for backward, so its "
            "gradient would be wrong; change a copy instead (y = y * 2 rather than y *= 2)"
            + _where(node))


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
        seen[node] = None
        stack.extend(t._ctx for t, need in zip(node.inputs, node.needs_input_grad)
                     if need and t._ctx is not None)
    return sorted(seen, key=lambda node: node._seq)


def _differentiable_backward(node, g):
    """Run node's backward on Tensors, recorded: the saved arrays are swapped for the graph's Tensors."""
    arrays = node.saved_tensors
    node.saved_tensors = node._differentiable_saved()
    try:
        return node.backward(node, g)
    finally:
        node.saved_tensors = arrays


def _seed(tensor, grad, create_graph):
    if grad is None:
        if tensor._data.size != 1:
            raise RuntimeError(f"backward() of a tensor of shape {tensor.shape} needs `grad`, an "
                               "array of that shape; only a single-element output gets an "
                               "implicit gradient of 1")
        dtype = tensor._data.dtype
        if tensor._data.ndim == 0 and not create_graph:
            # A 0-d loss: a numpy scalar, as numpy's own 0-d arithmetic gives (ten
            # times faster to compute with than a 0-d array).
            grad = dtype.type(1)
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
    if _state.anomaly:
        _check_finite(grad, "the gradient given to backward()")
    return _new_tensor(grad, None) if create_graph else grad


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


def _as_gradient(g):
    """A gradient as the user sees it: an ndarray (or a Tensor, under create_graph), never a numpy scalar."""
    return g if type(g) is np.ndarray or isinstance(g, Tensor) else np.asarray(g)


def _run_hooks(hooks, grad):
    grad = _as_gradient(grad)
    for hook in list(hooks):
        result = hook(grad)
        if result is not None:
            if not isinstance(result, (np.ndarray, Tensor)):
                raise TypeError(f"a gradient hook returned a {type(result).__name__}; it must return "
                                f"None or an array of shape {grad.shape}")
            if result.shape != grad.shape:
                raise ValueError(f"a hook returned a gradient of shape {result.shape} "
                                 f"in place of one of shape {grad.shape}")
            if _state.anomaly:
                _check_finite(result, f"a gradient hook ({getattr(hook, '__name__', hook)}) returned")
            grad = result
    return grad


def _backward(roots, seeds, retain_graph, create_graph, targets=None):
    """Reverse-mode sweep from `roots` (Tensors) with gradients `seeds`.

    Without `targets`, leaf gradients are added to `.grad`. With `targets` (a
    list of Tensors), their gradients are returned instead and `.grad` is
    left alone.
    """
    grads = {}          # node -> gradient of its output, summed over its consumers so far
    leaf_grads = {}     # leaf tensor -> gradient summed over this sweep
    wanted = {}         # node (or leaf) whose gradient grad() returns -> position in `targets`
    for i, t in enumerate(targets or ()):
        wanted[t._ctx if t._ctx is not None else t] = i
    found = [None] * len(wanted)
    # Nodes run newest first. Every consumer of a node was created after it, so when a
    # node is picked, all the gradient it will receive has arrived: each backward runs
    # once, after all of its consumers, with no pass to count them. The waiting nodes
    # are a heap plus `newest`, the newest of them, held apart: in a chain each node
    # hands its gradient to the very next one, which then never touches the heap.
    # The walk starts at a node newer than all, whose backward hands out the seeds.
    newest = _Start(roots, [_seed(t, g, create_graph) for t, g in zip(roots, seeds)])
    grads[newest] = None
    heap = []

    anomaly = _state.anomaly
    ndarray, generic, heappush, heappop = np.ndarray, np.generic, heapq.heappush, heapq.heappop
    saved_modes = _state.grad_enabled, _state.create_graph
    _state.grad_enabled = _state.create_graph = create_graph
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
            if node.saved_tensors and _state.last_change > node._seq:
                _check_saved(node, create_graph)
            if node._fingerprints:   # after the check above, whose messages name the tensor
                _check_fingerprints(node)
            if create_graph:
                input_grads = _differentiable_backward(node, g)
            else:
                input_grads = node.backward(node, g)
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)
            if len(input_grads) != len(node.inputs):
                raise ValueError(f"{type(node).__name__}.backward returned {len(input_grads)} "
                                 f"gradients for {len(node.inputs)} inputs")
            for t, need, ig in zip(node.inputs, node.needs_input_grad, input_grads):
                if not need or ig is None:
                    continue
                data = t._data
                if (type(ig) is not ndarray and not isinstance(ig, generic)
                        or ig.shape != data.shape or ig.dtype is not data.dtype):
                    ig = _conform(ig, data, node, t)
                if anomaly:
                    _check_backward(node, t, ig)
                source = t._ctx
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
        _state.grad_enabled, _state.create_graph = saved_modes

    if targets is not None:   # grad(): hand the gradients back, leave .grad alone
        for leaf, g in leaf_grads.items():
            if leaf._hooks:
                g = _run_hooks(leaf._hooks, g)
            if leaf in wanted:
                found[wanted[leaf]] = g
        return [None if g is None else _as_gradient(g) for g in found]
    handed_out = set()
    for leaf, g in leaf_grads.items():
        if type(g) is not np.ndarray:
            g = _as_gradient(g)
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g)
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
    return found


def grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None,
         allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, as a tuple of Tensors; `.grad` is untouched.

    With `create_graph=True` the results are part of a graph themselves, so they
    can be differentiated again (Hessian-vector products, gradient penalties).
    """
    if not isinstance(outputs, (Tensor, list, tuple)):
        raise TypeError(f"grad() takes a Tensor (or a list of Tensors) as outputs, not a "
                        f"{type(outputs).__name__}")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs) if len(outputs) == 1 or grad_outputs is None \
            else grad_outputs
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"{len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError(f"output {i} does not require grad, so it has no gradient")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError(f"input {i} of grad() is not a tensor that requires grad")
    if retain_graph is None:
        retain_graph = create_graph
    found = _backward(outputs, grad_outputs, retain_graph, create_graph, targets=inputs)
    result = []
    for i, g in enumerate(found):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"input {i} of grad() is not used in computing the outputs "
                                   "(pass allow_unused=True to get None for it)")
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else _new_tensor(g, None))
    return tuple(result)


# ---------------------------------------------------------------------------
# Modes: no_grad, enable_grad, detect_anomaly
# ---------------------------------------------------------------------------

class _Mode:
    """A switch of `_state` usable as a context manager and as a decorator."""
    attribute, value = None, None

    def __enter__(self):
        self._previous = getattr(_state, self.attribute)
        setattr(_state, self.attribute, self.value)
        return self

    def __exit__(self, *exc):
        setattr(_state, self.attribute, self._previous)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_Mode):
    """Record nothing: `with no_grad(): ...` or `@no_grad()`."""
    attribute, value = "grad_enabled", False


class enable_grad(_Mode):
    """Record again inside a no_grad() block."""
    attribute, value = "grad_enabled", True


class detect_anomaly(_Mode):
    """Raise at the first NaN or inf an op produces, forward or backward, naming the op and your line."""
    attribute, value = "anomaly", True


def is_grad_enabled():
    return _state.grad_enabled


class AnomalyError(FloatingPointError):
    """A NaN or inf appeared under detect_anomaly()."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_line():
    """'file:line: code' of the innermost caller outside minigrad."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    import linecache
    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}: {code}"


def _where(node):
    if node._trace:
        return f"\n  the op was called at {node._trace}"
    if _state.anomaly:
        return ("\n  (its forward ran outside detect_anomaly(); run the forward inside it too to "
                "see the line that called the op)")
    return ""


def _fingerprint(array):
    return zlib.crc32(np.ascontiguousarray(array))


def _check_forward(ctx, out):
    ctx._trace = _user_line()
    # Writes into t.data[...] or t.numpy() bypass the version counters; a checksum of
    # each saved array, compared at backward, catches them while the mode is on.
    ctx._fingerprints = [(i, _fingerprint(a)) for i, a in enumerate(ctx.saved_tensors)
                         if isinstance(a, np.ndarray)]
    if out.dtype.kind == "f" and not np.isfinite(out).all():
        bad = "NaN" if np.isnan(out).any() else "inf"
        raise AnomalyError(f"{type(ctx).__name__}.forward produced {bad} in an output of shape "
                           f"{out.shape}\n  the op was called at {ctx._trace}")


def _check_fingerprints(node):
    for i, checksum in node._fingerprints:
        array = node.saved_tensors[i]
        if _fingerprint(array) != checksum:
            op = type(node).__name__
            raise RuntimeError(
                f"an array of shape {array.shape} that {op} saved for backward was changed in "
                "place after forward, by a write minigrad cannot see (t.data[...] = ... or "
                f"t.numpy()[...]), so its gradient would be wrong" + _where(node))


def _check_finite(values, source):
    values = values._data if isinstance(values, Tensor) else np.asarray(values)
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        bad = "NaN" if np.isnan(values).any() else "inf"
        raise AnomalyError(f"{source} contains {bad} (shape {values.shape})")


def _check_backward(node, tensor, g):
    values = g._data if isinstance(g, Tensor) else g
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        bad = "NaN" if np.isnan(values).any() else "inf"
        raise AnomalyError(f"{type(node).__name__}.backward produced {bad} in the gradient of "
                           f"input {_input_index(node, tensor)} (shape {values.shape})" + _where(node))
