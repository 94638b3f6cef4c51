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
import re
import weakref

import numpy as np

from ..engine import Tensor
from ..engine.modes import state
from ..engine.walk import _reduction_plan, _Start
from .grads import GradFollowing
from .program import Line, assemble
from .traced import CompileError, TracedArray, plain

__all__ = ["Tracer"]


def _mem_key(array):
    """What identifies an array's values by their memory: address, shape, strides, dtype."""
    return (array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str)


class _Names:
    """object -> value, by identity, without keeping the object alive.

    The trace must not hold the arrays of a step longer than the eager run
    does (its peak memory would grow), and an id() can be reused once its
    object is gone, so each entry keeps a weak reference and is valid only
    while that reference still gives the object.
    """

    def __init__(self):
        self._entries = {}

    def __setitem__(self, obj, value):
        self._entries[id(obj)] = (weakref.ref(obj), value)

    def get(self, obj):
        entry = self._entries.get(id(obj))
        return entry[1] if entry is not None and entry[0]() is obj else None


class OpRecord:
    """What the trace knows of one op call: enough to write its backward."""
    __slots__ = ("cls", "ins", "arrays", "params", "out", "out_array", "out_shape", "out_dtype",
                 "info")


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Tracer(GradFollowing):
    """Records one call of a function as a straight-line program (see the module docstring).

    Parameters: labels ({id(leaf tensor): dotted name}, from the modules the
    function refers to), leaves (the tensors whose `.grad` the function may
    change: the modules' and optimizers' parameters).
    """

    def __init__(self, labels, leaves, optimizers, constants=()):
        self.lines = []
        self.env = {"np": np}
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
        for leaf in leaves:
            self._watch(leaf)
        for opt in optimizers:
            self._optimizer_name(opt)

    # -- names and constants -----------------------------------------------------------
    def fresh(self, base):
        """A new variable name starting with `base` (a valid identifier)."""
        base = re.sub(r"\W", "_", base) or "v"
        if base[0].isdigit():
            base = "v" + base
        name, k = base, 1
        while name in self.used_names:
            k += 1
            name = f"{base}{k}" if not base[-1].isdigit() else f"{base}_{k}"
        self.used_names.add(name)
        return name

    def emit(self, text, out=None, pure=True, owned=False, alias_of=None, victim=None, alt=None,
             mutates=True):
        """Add a line. `owned`: it makes a new array only the program holds; `alias_of`: its
        output is (a view of) that name's array; `victim`/`alt`: see Line."""
        self.lines.append(Line(text, out, pure, victim, alt))
        if owned:
            self.owned.add(out)
        if alias_of is not None:
            self.aliases[out] = alias_of
        if not pure and mutates:
            self.mutated = self.mutated or out is None
        return out

    def const(self, value, hint="const"):
        """The program's name for a constant object (kept by reference)."""
        key = id(value)
        if key not in self.const_index:
            self.const_index[key] = self.fresh(hint)
            self.consts.append(value)
            self.env[self.const_index[key]] = value
        return self.const_index[key]

    def op_name(self, cls):
        name = self.ops.get(cls)
        if name is None:
            name = self.ops[cls] = self.fresh(cls.__name__)
            self.env[name] = cls
        return name

    def _optimizer_name(self, opt):
        if id(opt) not in self.optimizer_index:   # (kept alive by self.keep below)
            self.optimizer_index[id(opt)] = self.fresh(self.labels.get(id(opt), "optimizer"))
            self.optimizers.append(opt)
            self.env[self.optimizer_index[id(opt)]] = opt
            self.keep.append(opt)
        return self.optimizer_index[id(opt)]

    def register(self, name, value):
        """Name `value` (a Tensor or an array) in the program."""
        if isinstance(value, Tensor):
            self.tensor_names[value] = name
            value = value._data
        if isinstance(value, np.ndarray):
            self.array_names[value] = name
            self.sizes[name] = max(self.sizes.get(name, 0), value.nbytes)
            key = _mem_key(value)
            entry = self.mem_names.get(key)
            if entry is None or entry[0]() is None:
                self.mem_names[key] = (weakref.ref(value), name)
        return name

    def traced_view(self, array, name):
        """A TracedArray view of `array`, known to the program as `name`."""
        view = plain(array).view(TracedArray)
        self.register(name, view)
        return view

    # -- references: the program's text for a value ---------------------------------------
    def ref(self, value):
        """Python source naming `value` in the program (a variable, a literal or a constant)."""
        if isinstance(value, Tensor):
            name = self.tensor_names.get(value)
            if name is None:
                name = self._known_array(value._data)
                if name is None and not value._requires_grad and id(value) not in self.labels:
                    name = self._converted_argument(value._data)
                    if name is None:
                        raise _untracked("a tensor", value._data)
                if name is None and id(value) not in self.labels:
                    raise CompileError(
                        f"a {value._describe()} that requires grad is used by the compiled "
                        "function, but it is not a parameter of a module, an optimizer or a "
                        "tensor the function refers to by name: if the function creates it, "
                        "every replay would reuse the first call's tensor. Create it outside "
                        "the function (a parameter of a module it uses)")
                if name is None:
                    name = self.leaf(value)
                self.tensor_names[value] = name
            return name
        if isinstance(value, np.ndarray):
            name = self._known_array(value)
            if name is None:
                if type(value) is TracedArray:
                    raise CompileError(
                        "a numpy operation on a traced array that minigrad.compile cannot follow "
                        "(iteration, or a view made by numpy internally) reached an op; use "
                        "Tensor ops, or do this outside the compiled function")
                name = self._converted_argument(value)
                if name is None and id(value) not in self.constants:
                    raise _untracked("an array", value)
            return name if name is not None else self.const(value)
        if value is None or isinstance(value, (bool, int, str)):
            return repr(value)
        if isinstance(value, float):
            return repr(value) if np.isfinite(value) else f"float({str(value)!r})"
        if type(value) in (tuple, list):
            items = ", ".join(self.ref(v) for v in value)
            if type(value) is tuple:
                return f"({items},)" if len(value) == 1 else f"({items})"
            return f"[{items}]"
        if type(value) is dict:
            return "{" + ", ".join(f"{k!r}: {self.ref(v)}" for k, v in value.items()) + "}"
        if isinstance(value, slice):
            return f"slice({self.ref(value.start)}, {self.ref(value.stop)}, {self.ref(value.step)})"
        if value is Ellipsis:
            return "..."
        if isinstance(value, np.dtype):
            return f"np.dtype({value.str!r})"
        if isinstance(value, type) and issubclass(value, np.generic):
            return f"np.{value.__name__}"
        return self.const(value)

    def _known_array(self, array):
        name = self.array_names.get(array)
        if name is None and type(array) is np.ndarray:   # a plain view of a known array?
            entry = self.mem_names.get(_mem_key(array))
            if entry is not None and entry[0]() is not None:
                name = entry[1]
        return name

    def _converted_argument(self, array):
        """For an array numpy made from an argument (np.asarray(x, dtype)): the line that makes it."""
        for name, source in self.argument_arrays:
            if source.shape == array.shape and source.dtype != array.dtype:
                with np.errstate(all="ignore"):
                    same = np.array_equal(plain(source).astype(array.dtype), array)
                if same:
                    out = self.fresh(f"{name}_{array.dtype}")
                    self.emit(f"{out} = {name}.astype(np.{array.dtype})", out)
                    return self.register(out, array)
        return None

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
    def data_of(self, tensor):
        """`tensor.data` during the trace: a traced view, so numpy work on it is recorded."""
        view = self.data_views.get(tensor)
        view = view() if view is not None else None
        if view is None:
            view = self.traced_view(tensor._data, self.ref(tensor))
            self.data_views[tensor] = weakref.ref(view)
        return view

    def refuse_read(self, tensor, what):
        """Raise: a tensor's value read as Python would be frozen into the program."""
        raise CompileError(
            f"{what} of a {tensor._describe()} during minigrad.compile's trace would freeze the "
            "value of the first call into every later call. Return the tensor from the compiled "
            "function and read it outside (loss = step(x, y); loss.item()), or move the Python "
            "branch (if loss < 0.1: ...) outside the compiled function.")

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
        if not isinstance(tensor, Tensor):
            raise CompileError(f"{cls.__name__} returned {type(tensor).__name__}, not one tensor; "
                               "minigrad.compile does not capture ops with several outputs yet: "
                               "call the function uncompiled")
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
        else:
            rec = self.nodes.get(node)
            if rec is None:
                raise CompileError("backward() reached a graph made before the compiled function "
                                   "was called (or outside its trace); minigrad.compile replays "
                                   "only graphs the function builds itself")
            if node._hooks:
                raise _hook_error()
            names = codegen.emit_backward(self, rec, self.node_grad.pop(id(node)), input_grads)
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
        from . import codegen_optim
        self._event()
        for leaf in self.leaves_known():
            self._strip(leaf)
        codegen_optim.emit_step(self, optimizer)
        with self.paused():
            optimizer.step()
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
            stretched, added = _reduction_plan(ig.shape, data.shape)
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


def _untracked(what, array):
    return CompileError(
        f"{what} of shape {array.shape} and dtype {array.dtype} that minigrad.compile cannot "
        "trace back to the arguments, the parameters or a constant the function refers to "
        "reached an op or the result. It was made inside the function by numpy from values "
        "compile cannot follow (np.ones(...), a tensor's argmax or comparison, an integer "
        "astype), so its first value would be frozen into every later call. Make constant "
        "arrays outside the function, use Tensor ops, or keep that code outside the compiled "
        "function.")


def _hook_error():
    return CompileError("a tensor hook (register_hook) runs Python on each gradient, which "
                        "minigrad.compile does not replay; remove the hook, or call the function "
                        "uncompiled")


def _anomaly_error():
    return CompileError("detect_anomaly() checks every value as it is computed, which a compiled "
                        "replay skips; call the function uncompiled inside detect_anomaly()")
