"""Function: the one mechanism every op goes through, built-in or yours.

`Function.apply` unwraps the inputs' arrays, runs the op's `forward`, and,
when some input requires grad, keeps the Function instance (the "node", also
called `ctx`) as the output's `grad_fn`. A node points at its input Tensors,
never at its output, so a graph has no reference cycles.
"""
import numpy as np

from . import guards
from .guards import OUTPUT
from .modes import state, switched
from .tensor import Tensor, new_tensor

__all__ = ["Function", "ViewFunction"]

_allocate = Tensor.__new__
_clock = guards.clock


class Function:
    """Base class of every op, built-in or yours.

    Subclass it with two static methods:

    - `forward(ctx, *inputs, **params)` gets numpy arrays (non-Tensor arguments
      pass through as given, so a Python number stays a number) and returns a
      numpy array. Call `ctx.save_for_backward(...)` with the inputs and the
      output that backward needs; other values can be stored as attributes of
      `ctx`.
    - `backward(ctx, grad_output)` returns one gradient per input (None where
      there is none), each of the input's shape or broadcastable to it: the
      engine sums broadcast dimensions away.

    In an ordinary backward, `grad_output` and `ctx.saved_tensors` are numpy
    arrays (for a 0-d output, `grad_output` may be a numpy scalar, which is
    what numpy's own 0-d arithmetic returns; it has the same methods). Under
    `minigrad.grad(..., create_graph=True)` they are Tensors: each saved value
    is known by its role (input i, or the output: the very array forward was
    given or returned), and backward gets the graph's own Tensor for it, so the
    backward's arithmetic is recorded too. A backward written with operations both arrays
    and Tensors support (arithmetic, `@`, `.sum`, `.reshape`, `.T`, numpy
    ufuncs such as `np.exp`) therefore gives higher-order derivatives for free.
    Any other backward is first-order only: its first derivatives are right,
    and a second derivative through it raises an error naming the op (mark it
    `@minigrad.once_differentiable` to say so; see higher_order.py).

    Several outputs: `forward` may return a tuple of arrays; `apply` then
    returns a tuple of Tensors and `backward(ctx, *grad_outputs)` gets one
    gradient per output (zeros for an output that received none);
    `ctx.mark_non_differentiable(*arrays)` marks outputs such as indices.

    Forward mode: an optional static `jvp(ctx, *tangents)` returns the tangent
    of the output from one tangent per input; minigrad.functional's jvp and
    hvp use it, and the double-vjp construction for ops without one.

    Use it as `MyOp.apply(*inputs, **params)`, which returns a Tensor.
    `ctx.needs_input_grad` (one bool per input) tells forward and backward
    which inputs need a gradient.
    """
    saved_tensors = ()    # what forward saved; set to None once backward has released it
    _out_id = None        # id() of the array forward returned (alive as long as a saved value is)
    _params = {}          # the keyword arguments of apply (read-only here: never mutated)
    _output_changed = False   # the output was changed in place (see guards.note_change)
    _out_ids = None       # for several outputs: the id() of each (see outputs.py)
    _non_differentiable_ids = frozenset()   # outputs marked by mark_non_differentiable
    _internal = False     # True for the engine's own nodes, which are no op of the user's
    _hooks = None
    _trace = None         # where the op was called from, under detect_anomaly()
    _fingerprints = None  # checksums of the saved arrays, under detect_anomaly()

    @staticmethod
    def forward(ctx, *inputs, **params):
        """Compute the op on numpy arrays; see the class docstring."""
        raise NotImplementedError("a Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx, grad_output):
        """Return one gradient per input, given the gradient of the output; see the class docstring."""
        raise NotImplementedError(f"{type(ctx).__name__} defines no backward")

    def save_for_backward(self, *values):
        """Keep `values` (the op's input arrays and output) for backward, as `ctx.saved_tensors`.

        Each is known by its role, input i or the output (the same array object
        forward was given or returned), so a create_graph backward gets the
        graph's Tensor in its place. Any other array is a constant to a second
        derivative, and a backward that reads one is first-order only.
        """
        self.saved_tensors = values

    def mark_non_differentiable(self, *outputs):
        """Call in forward with output arrays (such as indices) that get no gradient.

        Their Tensors do not require grad; backward still receives a gradient
        argument for them (zeros).
        """
        self._non_differentiable_ids = frozenset(id(o) for o in outputs)

    def _mark_output_changed(self):
        self._output_changed = True

    def _differentiable_saved(self):
        """The saved values as the graph's Tensors, by role (inputs, the output; others constants)."""
        result = []
        for value, role in zip(self.saved_tensors, self._saved_roles):
            if role is None:   # a constant; requiring grad, so that a use of it is recorded
                result.append(Tensor(value, requires_grad=np.result_type(value).kind == "f")
                              if isinstance(value, (np.ndarray, np.generic)) else value)
            elif role < 0 and self._out_ids is not None:   # output -role-1 of several
                result.append(outputs.output_tensor(self, -role - 1, value))
            elif role == OUTPUT:
                result.append(new_tensor(np.asarray(value), self))
            else:
                result.append(self.inputs[role])
        return tuple(result)

    @classmethod
    def apply(cls, *args, **params):
        """Run `forward` on the inputs' arrays; keep this node in the graph if an input requires grad.

        Parameters: the op's inputs (Tensors, arrays or numbers) and its
        keyword parameters, passed on to `forward`. Returns a Tensor.
        """
        ctx = cls()
        ctx.inputs = args
        if switched:   # some thread is inside a mode: read this thread's switches
            enabled, anomaly = state.grad_enabled, state.anomaly
            if state.tracer is not None:   # compile: the tracer runs and records the op
                return state.tracer.record_op(cls, args, params)
        else:
            enabled = True
            anomaly = False
        # Unwrap Tensors to their arrays and note which need a gradient. Every op runs
        # this, so the cases of one to three inputs avoid building lists.
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
            if type(out) is tuple:   # several outputs: see outputs.py
                if record:
                    ctx._seq = next(_clock)
                    if params:
                        ctx._params = params
                return outputs.make_outputs(ctx, out, record, anomaly)
            out = np.asarray(out)   # numpy returns scalars, not 0-d arrays, for 0-d results
        if anomaly:
            guards.watch_forward(ctx, out)
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
            # With the inputs, enough to tell each saved value's role when a create_graph
            # backward or the in-place guard asks (_saved_roles): no saved value can share
            # the output's id while both are alive.
            ctx._out_id = id(returned)
        return tensor

    @property
    def _saved_roles(self):
        """Per saved value: the position of the input it is, -1 - k for output k (OUTPUT), or None.

        Found when asked (under create_graph, or by the in-place guard), with
        the answer forward's return would have given: a saved value is alive
        from forward on, so it has the output's id only if it is the output;
        and it is input i's array unless that array was replaced since, which
        the guard checks first (a create_graph backward through a replaced
        input raises). Finding roles when forward returns instead costs
        0.2 to 0.4 us per recorded op, a third of a small op's time.
        """
        roles = []
        out_ids = self._out_ids or (self._out_id,)
        for value in self.saved_tensors:
            if id(value) in out_ids:
                roles.append(-1 - out_ids.index(id(value)))   # OUTPUT for output 0
                continue
            for i, given in enumerate(self.inputs):
                if (given._data if isinstance(given, Tensor) else given) is value:
                    roles.append(i)
                    break
            else:
                roles.append(None)
        return tuple(roles)

    def __repr__(self):
        return f"<{type(self).__name__}>"


_apply = Function.apply.__func__   # Function.apply as a plain function: faster than super()


class ViewFunction(Function):
    """A Function whose output may be a view of its first input (reshape, transpose, basic slicing).

    When the output shares the input's memory, the output tensor is linked to
    the input, so an in-place change of either counts as a change of both and
    a graph that saved either notices it at backward.
    """

    @classmethod
    def apply(cls, *args, **params):
        """As `Function.apply`, then link the output to input 0 if it views its memory."""
        tensor = _apply(cls, *args, **params)
        base = tensor._data.base   # numpy's .base is the array that owns the memory
        if base is not None and isinstance(args[0], Tensor):
            data = args[0]._data
            if base is data or base is data.base:
                tensor._base = args[0]
                args[0]._has_views = True
        return tensor


from . import outputs   # noqa: E402 (outputs.py builds on Function)
