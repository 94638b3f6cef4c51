"""The Tracer: runs `fn` once, eagerly, and writes down the array work as lines of Python.

The engine calls it at its `# compile:` hooks while a trace runs:

- `record_op` for every op (Function.apply): it runs the op as usual and
  writes the op's forward, inlined for the built-ins (codegen.py), or as a
  call of the op's own `forward` with a fresh ctx;
- `record_backward`, `record_node`, `backward_done` for the walk: each node's
  backward in the order the walk ran it, the unbroadcasting and casts it
  applied, the sums of gradients and the leaves' `.grad`;
- `record_step` for an optimizer's update (codegen_optim.py);
- `data_of`, `refuse_read` for reads of a tensor's value.

Values are named as they appear: the arguments, the loads of parameters
(read again at every call), each op's output and gradient. Arrays that come
from nowhere the tracer knows are constants of the program.
"""
import weakref

import numpy as np

from ..engine import Tensor
from ..engine.modes import state
from ..engine.outputs import _Output
from ..engine.walk import _reduction_plan, _Start
from . import several_outputs
from .grads import GradFollowing
from .naming import ProgramNames, _Names
from .program import _IDENT, assemble
from .traced import CompileError, calling_code, plain

__all__ = ["Tracer"]


class OpRecord:
    """What the trace knows of one op call: enough to write its backward."""
    __slots__ = ("cls", "ins", "arrays", "params", "out", "out_array", "out_shape", "out_dtype",
                 "info")


class Tracer(ProgramNames, GradFollowing):
    """Records one call of a function as a straight-line program (see the module docstring).

    Parameters: labels ({id(leaf tensor): dotted name}, from the modules the
    function refers to), leaves (the tensors whose `.grad` the function may
    change: the modules' and optimizers' parameters).
    """

    def __init__(self, labels, leaves, optimizers, constants=()):
        self.lines = []
        self.env = {"np": np, "as_outputs": several_outputs.as_outputs}
        self.used_names = set(self.env) | {"leaves", "args", "optimizers", "consts", "ops"}
        self.tensor_names, self.array_names = _Names(), _Names()
        self.mem_names = {}         # _mem_key -> (weak reference to the array, name)
        self.keep = []              # objects the trace needs alive (arguments, optimizers)
        self.labels = labels
        self.constants = {id(a): a for a in constants}   # arrays fn reads from outside it
        self.leaves, self.leaf_index = [], {}
        self.consts, self.const_index = [], {}
        self.ops = {}
        self.optimizers, self.optimizer_index = [], {}
        self.argument_arrays = []   # (name, array) of the arguments, for conversions of them
        self.nodes = _Names()       # ctx -> OpRecord
        self.grad_state = {}        # id(leaf) -> name of its .grad's value, or None
        self.grad_seen = {}         # id(leaf) -> the object last seen in leaf.grad
        self.grad_plain = _Names()  # traced view in a .grad -> the plain array it views
        self.synced = {}            # id(leaf) -> True when the leaf's .grad attribute holds grad_state
        self.mutated = False        # a draw, a step or a .grad write is in the program already
        self.counts = {}
        self.owned = set()          # names of arrays only the program holds (see emit)
        self.sizes = {}             # name -> bytes of its array in the trace
        self.step_lines = set()     # id() of the lines where an optimizer's update starts
        self.aliases = {}           # name -> the name whose array it views
        self.pinned = set()         # names handed to code the program cannot see into
        self.ones = {}              # (n, dtype) -> the name of a vector of n ones
        self.data_views = _Names()
        self.keep_leaves = []       # the tensors whose .grad is followed
        self.needs_generator_state = False
        self.drew = False           # a draw from the generator is in the program
        self.state_changed = False  # this eager run of fn has written .grad or stepped already
        for leaf in leaves:
            self._watch(leaf)
        for opt in optimizers:
            self._optimizer_name(opt)

    # -- names and constants -----------------------------------------------------------
    def leaf(self, tensor):
        """The name of a leaf tensor's array, loaded from the tensor at every call."""
        index = self.leaf_index.get(id(tensor))
        if index is None:
            index = self.leaf_index[id(tensor)] = len(self.leaves)
            self.leaves.append(tensor)
            self.keep.append(tensor)
            self._watch(tensor)
        name = self.fresh(self.labels.get(id(tensor), tensor.name or "leaf"))
        label = self.labels.get(id(tensor))
        comment = f"   # {label}" if label else ""
        self.emit(f"{name} = leaves[{index}]._data{comment}", name)
        self.register(name, tensor._data)
        self.tensor_names[tensor] = name
        return name

    def leaf_object(self, tensor):
        """`leaves[i]`: the program's reference to the tensor object itself."""
        if id(tensor) not in self.leaf_index:
            self.leaf_index[id(tensor)] = len(self.leaves)
            self.leaves.append(tensor)
            self.keep.append(tensor)
        return f"leaves[{self.leaf_index[id(tensor)]}]"

    # -- arguments -------------------------------------------------------------------
    def argument(self, position, value, label):
        """The value `fn` gets in place of argument `value` during the trace."""
        name = self.fresh(label)
        if isinstance(value, Tensor):
            self.emit(f"{name} = args[{position}]._data", name)
            self.register(name, value)
            self.argument_arrays.append((name, value._data))
            return value
        if isinstance(value, np.ndarray):
            self.emit(f"{name} = args[{position}]", name)
            self.keep.append(value)
            self.register(name, value)
            self.argument_arrays.append((name, value))
            return self.traced_view(value, name)
        return value

    # -- what the hooks call ---------------------------------------------------------
    def data_of(self, tensor, what=".data"):
        """`tensor.data` or `.numpy()` (`what`) during the trace.

        Read by the compiled function's own code, the values of a tensor the
        trace tracks (an argument, an op's output, a parameter or another
        tensor loaded at every call) are refused: they would be frozen. Read
        by minigrad's own code inside the step (a layer's running statistics,
        a loss checking its labels), they are a traced view, so the numpy work
        on them is recorded and replayed.
        """
        what, library = _reader(what)
        if not library:
            if self.tracks(tensor):
                update = (" To update a parameter, use an optimizer (its step() is replayed) "
                          "or update it outside the compiled function."
                          if tensor._requires_grad and tensor._ctx is None else "")
                raise self._frozen_error(
                    what, tensor, "Compute with the tensor itself (Tensor ops: t * 2, t.sum(), "
                    f"t.clip(0, 1)), return it from the compiled function and take {what} "
                    "outside (out = step(x); out.numpy()), or move the code that needs the "
                    f"numpy array outside the compiled function.{update}")
            return tensor._data   # a tensor made inside fn from constants: a constant too
        view = self.data_views.get(tensor)
        view = view() if view is not None else None
        if view is None:
            view = self.traced_view(tensor._data, self.ref(tensor))
            self.data_views[tensor] = weakref.ref(view)
        return view

    def tracks(self, tensor):
        """True for a tensor whose values the program reads or computes at every call."""
        return (self.tensor_names.get(tensor) is not None or tensor._requires_grad
                or id(tensor) in self.labels or self._known_array(tensor._data) is not None)

    def refuse_write(self, tensor):
        """Raise: assigning `tensor.data` inside the traced function is not replayed."""
        raise CompileError(
            f"assigning .data of a {tensor._describe()} inside a function minigrad.compile "
            "traces would run only while tracing: every later call would skip it. Update "
            "parameters with an optimizer (its step() is replayed), or assign .data outside the "
            "compiled function (a replay reads the parameters' current arrays at every call)."
            + self._ran_so_far())

    def _frozen_error(self, what, tensor, advice):
        return CompileError(f"{what} of a {tensor._describe()} during minigrad.compile's trace "
                            "would hand the compiled function the value of the first call, "
                            f"frozen into every later call. {advice}{self._ran_so_far()}")

    def _ran_so_far(self):
        """Words saying what the refused call already did: a trace runs fn eagerly up to the refusal."""
        if not self.state_changed:
            return ""
        return (" (This first call ran the function eagerly up to this point, so the gradients "
                "and any optimizer step before it are already applied.)")

    def refuse_read(self, tensor, what):
        """Raise: a tensor's value read as Python would be frozen into the program."""
        raise self._frozen_error(
            what, tensor, "Return the tensor from the compiled function and read it outside "
            "(loss = step(x, y); loss.item()), or move the Python branch (if loss < 0.1: ...) "
            "outside the compiled function.")

    def guard(self, array, value):
        """Replay this trace only while bool(array) is `value`; else the call runs eagerly.

        numpy-level tests of an argument (a loss checking its labels are in
        range) become such guards; they must come before any state changes.
        """
        if self.mutated:
            raise CompileError(
                "the compiled function tests a traced array's value (an `if` on it) after a "
                "backward or an optimizer step; minigrad.compile cannot replay that. Move the "
                "test to the start of the function or outside it.")
        if self.drew:
            self.needs_generator_state = True
        self.emit(f"if bool({self.ref(array)}) is not {value}: return fallback()", None, pure=False)
        self.mutated = False

    def paused(self):
        return _Paused(self)

    def record_op(self, cls, args, params):
        """Run `cls.apply(*args, **params)` as usual and write its forward into the program."""
        self._event()
        from . import codegen
        rec = OpRecord()
        rec.cls = cls
        rec.ins = [self.ref(a) for a in args]
        rec.params = {k: plain(v) for k, v in params.items()}
        param_refs = {k: self.ref(v) for k, v in params.items()}
        rec.arrays = [a._data if isinstance(a, Tensor) else plain(a) for a in args]
        with self.paused():
            tensor = cls.apply(*[plain(a) for a in args], **rec.params)
        if type(tensor) is tuple:   # a forward that returned several arrays
            return self._record_several(rec, tensor, args, param_refs)
        ctx = tensor._ctx
        needs = ctx.needs_input_grad if ctx is not None else (False,) * len(args)
        rec.out_array = tensor._data
        rec.info = {}
        rec.out = codegen.emit_forward(self, rec, needs, param_refs)
        self.register(rec.out, tensor)
        rec.out_shape, rec.out_dtype = tensor._data.shape, tensor._data.dtype
        rec.arrays = rec.out_array = None   # the eager run frees them when it is done with them
        if ctx is not None:
            self.nodes[ctx] = rec
        return tensor

    def _record_several(self, rec, outputs, args, param_refs):
        """record_op for an op with several outputs (see several_outputs.py)."""
        rec.info = {}
        rec.out = several_outputs.emit_forward(self, rec, outputs, several_outputs.needs_of(args),
                                               param_refs)
        rec.arrays = None
        owners = {id(t._ctx.inputs[0]._ctx): t._ctx.inputs[0]._ctx
                  for t in outputs if t._ctx is not None}
        for ctx in owners.values():   # (one: the op's node, reached through its outputs' nodes)
            self.nodes[ctx] = rec
        return outputs

    def record_backward(self, roots, seeds, retain_graph, create_graph, targets):
        """The walk starts: check it can be replayed; name the seeds."""
        self._event()
        if create_graph or targets is not None:
            raise CompileError("minigrad.compile replays backward() into .grad only; grad() and "
                               "create_graph=True are not captured: call them outside the "
                               "compiled function")
        if state.anomaly:
            raise _anomaly_error()
        self.node_grad, self.leaf_acc, self.leaf_order = {}, {}, []
        self.seed_names = []
        for root, seed in zip(roots, seeds):
            if root._hooks if root._ctx is None else root._ctx._hooks:
                raise _hook_error()
            data = root._data
            if seed is None:
                name = self.fresh("d" + self.ref(root))
                if data.ndim == 0:
                    self.emit(f"{name} = np.{data.dtype}(1)", name)
                else:
                    self.emit(f"{name} = np.ones({data.shape}, np.{data.dtype})", name)
            else:
                name = self.fresh("seed")
                self.emit(f"{name} = np.array({self.ref(seed)}, dtype=np.{data.dtype})", name)
            self.seed_names.append(name)
        for leaf in self.leaves_known():
            self._strip(leaf)

    def record_node(self, node, input_grads):
        """One node's backward ran: write it, then the sums it made."""
        from . import codegen
        if isinstance(node, _Start):
            names = self.seed_names
        elif type(node) is _Output:   # output k of an op with several: no line, just note it
            if self.nodes.get(node.inputs[0]._ctx) is None:
                raise _foreign_graph_error()
            several_outputs.gather_output_gradient(self, node, self.node_grad.pop(id(node)))
            return
        else:
            rec = self.nodes.get(node)
            if rec is None:
                raise _foreign_graph_error()
            if node._hooks:
                raise _hook_error()
            g = self.node_grad.pop(id(node))
            if rec.info["kind"] == "several":
                names = several_outputs.emit_backward(self, rec, g, input_grads)
            else:
                names = codegen.emit_backward(self, rec, g, input_grads)
        for t, need, ig, name in zip(node.inputs, node.needs_input_grad, input_grads, names):
            if not need or ig is None:
                continue
            self.sizes[name] = max(self.sizes.get(name, 0), getattr(ig, "nbytes", 0))
            name = self._conform(name, ig, t._data)
            self.sizes[name] = max(self.sizes.get(name, 0), t._data.nbytes)
            source = t._ctx
            if source is None:   # a leaf
                if t._hooks:
                    raise _hook_error()
                if id(t) in self.leaf_acc:
                    total = self.fresh("d" + self.ref(t))
                    self.emit(f"{total} = {self.leaf_acc[id(t)]} + {name}", total, owned=True)
                    name = total
                else:
                    self.leaf_order.append(t)
                self.leaf_acc[id(t)] = name
            elif id(source) in self.node_grad:
                total = self.fresh(self.node_grad[id(source)])
                self.emit(f"{total} = {self.node_grad[id(source)]} + {name}", total, owned=True)
                self.node_grad[id(source)] = total
            else:
                self.node_grad[id(source)] = name

    def backward_done(self, leaf_grads):
        """The walk ended: write how each leaf's .grad gets its gradient."""
        self.state_changed = True
        handed_out = set()
        for leaf in self.leaf_order:
            name = self.leaf_acc[id(leaf)]
            g = leaf_grads[leaf]
            if type(g) is not np.ndarray:
                self.emit(f"{name} = np.asarray({name})", name)
                self.owned.discard(name)
                g = np.asarray(g)
            if g.base is not None or id(g) in handed_out:
                copy = self.fresh(name)
                self.emit(f"{copy} = {name}.copy()   # .grad owns its memory", copy)
                name = copy
            handed_out.add(id(g))
            self.ref(leaf)
            self._watch(leaf)
            before = self.grad_state[id(leaf)]
            if before is not None:
                total = self.fresh(name)
                self.emit(f"{total} = {before} + {name}", total)
                name = total
            self.grad_state[id(leaf)] = name
            self.synced[id(leaf)] = False
            self.grad_seen[id(leaf)] = leaf.grad
            self.register(name, leaf.grad)
        for leaf in self.leaves_known():
            self._taint(leaf)

    def record_step(self, optimizer):
        """An optimizer's step(): write the update, run it, return True (the step is done)."""
        self.state_changed = True
        from . import codegen_optim
        self._event()
        for leaf in self.leaves_known():
            self._strip(leaf)
        codegen_optim.emit_step(self, optimizer)
        with self.paused():
            codegen_optim.run_step(optimizer)
        for leaf in self.leaves_known():
            self._taint(leaf)
        return True

    def drawn(self, method, args, kwargs, result):
        """A draw from minigrad's generator: redrawn at every call, in the same order."""
        call = ", ".join([self.ref(a) for a in args] + [f"{k}={self.ref(v)}" for k, v in kwargs.items()])
        name = self.fresh("draw")
        self.emit(f"{name} = get_generator().{method}({call})", name, pure=False)
        self.drew = True
        return self.traced_view(result, name)

    def derived(self, function, inputs, kwargs, result):
        """numpy work on traced arrays: `result = function(*inputs, **kwargs)`, as a program line."""
        if not isinstance(result, np.ndarray):
            if isinstance(result, (np.generic, float, int, bool)):
                result = np.asarray(result)
                function_text = self._call_text(function, inputs, kwargs)
                name = self.fresh("v")
                self.emit(f"{name} = np.asarray({function_text})", name)
                return self.traced_view(result, name)
            if isinstance(result, tuple) and all(isinstance(r, np.ndarray) for r in result):
                name = self.fresh("parts")
                self.emit(f"{name} = {self._call_text(function, inputs, kwargs)}", name)
                views = []
                for i, part in enumerate(result):
                    item = self.fresh(f"{name}_{i}")
                    self.emit(f"{item} = {name}[{i}]", item)
                    views.append(self.traced_view(part, item))
                return tuple(views)
            raise CompileError(f"{function}() on a traced array returned a "
                               f"{type(result).__name__}, which minigrad.compile cannot replay")
        name = self.fresh("v")
        self.emit(f"{name} = {self._call_text(function, inputs, kwargs)}", name)
        self.pinned.update(_IDENT.findall(self.lines[-1].text))   # it may view what it reads
        return self.traced_view(result, name)

    def _call_text(self, function, inputs, kwargs):
        keywords = [f"{k}={self.ref(plain_keyword(v))}" for k, v in kwargs.items()]
        if function.startswith("."):   # a method of the first input
            args = ", ".join([self.ref(a) for a in inputs[1:]] + keywords)
            return f"{self.ref(inputs[0])}{function}({args})" if function != ".__getitem__" \
                else f"{self.ref(inputs[0])}[{self.ref(inputs[1])}]"
        return f"{function}({', '.join([self.ref(a) for a in inputs] + keywords)})"

    def source(self, result_text, params):
        """The program as Python source: `def replay(params): ...` returning `result_text`."""
        return assemble(self, result_text, params)

    def _conform(self, name, ig, data):
        """Lines that bring a gradient to its input's shape and dtype, as the walk did."""
        if not isinstance(ig, (np.ndarray, np.generic)):
            out = self.fresh(name)
            self.emit(f"{out} = np.asarray({name}, dtype=np.{data.dtype})", out)
            name, ig = out, np.asarray(ig, dtype=data.dtype)
        if ig.shape != data.shape:
            plan = _reduction_plan(ig.shape, data.shape)
            if plan is None:   # a backward's wrong shape: the walk raises its error right after
                return name
            stretched, added = plan
            out = self.fresh(name)
            parts = name
            if stretched:
                parts += f".sum(axis={stretched}, keepdims=True)"
            if added:
                parts += f".sum(axis={added})"
            self.emit(f"{out} = {parts}   # undo broadcasting to {data.shape}", out, owned=True)
            name = out
        if ig.dtype != data.dtype:
            out = self.fresh(name)
            self.emit(f"{out} = {name}.astype(np.{data.dtype})", out, owned=True)
            name = out
        return name

    # -- the program ----------------------------------------------------------------------
def plain_keyword(value):
    return plain(value)


class _Paused:
    """Run the engine as usual (no recording) for a moment of the trace."""

    def __init__(self, tracer):
        self.tracer = tracer

    def __enter__(self):
        state.tracer = None

    def __exit__(self, *exc):
        state.tracer = self.tracer


# Where a read of a tensor's values comes from: the first frame outside these modules,
# which only pass the read on (`.numpy()` reads `.data`; numpy's np.asarray asks `__array__`).
_PASSING_ON = ("numpy.", "minigrad.engine.tensor", "minigrad.ops.boundary", "minigrad.compile.tracer")


def _reader(what):
    """(words for the read, True when minigrad's own code made it) for a read of `.data`/`.numpy()`."""
    module, _, through_array = calling_code(_PASSING_ON)
    if through_array:
        what = "np.asarray(t) (or np.array(t))"
    return what, module == "minigrad" or module.startswith("minigrad.")


def _foreign_graph_error():
    return CompileError("backward() reached a graph made before the compiled function was called "
                        "(or outside its trace); minigrad.compile replays only graphs the "
                        "function builds itself")


def _hook_error():
    return CompileError("a tensor hook (register_hook) runs Python on each gradient, which "
                        "minigrad.compile does not replay; remove the hook, or call the function "
                        "uncompiled")


def _anomaly_error():
    return CompileError("detect_anomaly() checks every value as it is computed, which a compiled "
                        "replay skips; call the function uncompiled inside detect_anomaly()")
