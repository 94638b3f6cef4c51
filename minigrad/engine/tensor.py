"""Tensor: a numpy array that can record the operations applied to it.

This file holds what a tensor *is*: its array, its gradient, its link to the
node that made it, and its flags. What a tensor can *do* (arithmetic,
reductions, shapes, math) is attached by `minigrad.ops`, each method an op;
the engine knows no op by name.
"""
import numpy as np

from ..validation import has_real_dtype
from . import guards
from .modes import state, switched

__all__ = ["Tensor"]


def as_array(data, dtype=None):
    """numpy array for `data`: arrays pass through uncopied; Python numbers and lists become float64."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.ndarray):
        array = data if dtype is None else data.astype(dtype, copy=False)
    else:
        array = np.asarray(data, dtype=dtype)
        if dtype is None and array.dtype.kind in "biu" and not isinstance(data, np.generic):
            array = array.astype(np.float64)  # Python ints and bools count as float64 data
    if not has_real_dtype(array):
        raise TypeError(f"minigrad tensors hold real numbers; got data of dtype {array.dtype} "
                        f"(from {type(data).__name__})")
    return array


def _read_only(array):
    view = array.view()
    view.flags.writeable = False
    return view


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Parameters:
        data: an ndarray (used as is, not copied, if no dtype change is asked),
            a Python number or a nested list (which become float64).
        requires_grad (bool): record operations on this tensor so that
            `backward()` computes its gradient into `.grad`.
        dtype: numpy dtype to convert `data` to.
        name (str): a label shown in errors and graph pictures.

    Operators, math methods and numpy's functions on Tensors are provided by
    `minigrad.ops`; this class holds the data, the gradient and the graph link.
    """
    # Every op makes a Tensor, so creating one must be cheap: the three fields every
    # tensor sets are slots; the rest start as class-level defaults until assigned.
    __slots__ = ("_data", "_ctx", "_requires_grad", "__dict__", "__weakref__")
    grad = None       # numpy array once a backward reaches this leaf
    _version = 0      # how many times the array was changed in place (or .data reassigned)
    _changed_at = 0   # the guards' clock reading of the latest such change
    _hooks = None
    _base = None      # the tensor whose array this one views (detach(), a slice, a reshape)
    _has_views = False   # some view (a slice, a reshape, a transpose) shares this array
    _history = None   # ((clock reading, this tensor before), ...): its recorded in-place ops
    name = None

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self._data = as_array(data, dtype)
        self._ctx = None          # the Function node that made this tensor (None: a leaf)
        self._requires_grad = False
        if name is not None:
            self.name = name
        if requires_grad:
            self.requires_grad = True

    # -- data and flags ----------------------------------------------------
    @property
    def data(self):
        """The numpy array behind this tensor, shared, not copied.

        A leaf's array is yours to change (changes through Tensor operators
        are tracked). The array of an op's output is handed out read-only while
        the graph that made it can still be backpropagated: a write into it
        would silently change what backward computes. Copy it
        (`t.data.copy()`) to change it. Assigning `t.data = array` replaces the
        array (same shape; cast to this tensor's dtype).
        """
        if switched:
            if state.tracer is not None:   # compile: refused, or followed (Tracer.data_of)
                return state.tracer.data_of(self)
            if state.differentiating is not None:
                _higher_order.note_values_read(self)
        if (self._ctx is not None or self._base is not None) and self._graph_holds():
            return _read_only(self._data)
        return self._data

    @data.setter
    def data(self, value):
        if switched and state.tracer is not None:   # compile: a replay would skip it
            state.tracer.refuse_write(self)
        array = as_array(value)
        if array.shape != self._data.shape:
            raise ValueError(f"cannot assign data of shape {array.shape} to {self._describe()}")
        if array is self._data:   # `t.data -= x` changed the array itself
            self._changed_in_place()
            return
        self._replace_data(array.astype(self._data.dtype, copy=False))

    def _replace_data(self, array):
        """Give this tensor a new array (of any dtype: `Module.to` casts parameters with it).

        Ops that saved the old array still hold it intact, but a create_graph
        backward can no longer tie it to this tensor: the guards note the change.
        """
        self._data = array
        guards.note_new_data(self)

    def _graph_holds(self):
        """True while a graph that may have saved this tensor's array can still run backward."""
        tensor = self
        while tensor is not None:
            ctx = tensor._ctx
            if ctx is not None and ctx.inputs is not None:
                return True
            tensor = tensor._base
        return False

    def _changed_in_place(self):
        """Note an in-place change of this tensor's array, for every op that saved that array."""
        guards.note_change(self)

    def _rebind(self, result):
        """Make this tensor stand for `result`: an in-place op recorded in the graph, as PyTorch does.

        `x += y` on a tensor in a graph computes `x + y` as a new node and makes
        the object `x` stand for it, with the new `grad_fn`. Ops that used `x`
        before still mean its old value: the old state moves to a new Tensor,
        kept in `_history`, which the walk hands those ops instead (see
        `as_of`). The old array is not written, so what they saved stays right.
        """
        if self._base is not None or self._has_views:
            raise RuntimeError(
                f"an in-place change of a {self._describe()} that "
                f"{'is a view of another tensor' if self._base is not None else 'has views'} "
                "(a slice, reshape, transpose or detach()) cannot be recorded in the graph: the "
                "views would not see the new value; write `x = x + y` instead, or change a copy")
        before = _allocate(Tensor)
        before._data, before._ctx, before._requires_grad = self._data, self._ctx, self._requires_grad
        before.__dict__.update(self.__dict__)
        when = guards.note_rebind()
        self._history = (self._history or ()) + ((when, before),)
        self._data, self._ctx, self._requires_grad = result._data, result._ctx, result._requires_grad
        self._version += 1

    def _as_of(self, seq):
        """This tensor as it was when the node numbered `seq` was made (see `_rebind`)."""
        for when, before in self._history:
            if seq < when:
                return before
        return self

    @property
    def requires_grad(self):
        """Whether operations on this tensor are recorded; settable on leaves (floats only)."""
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
        """True for a tensor no recorded op made (created by you, or under no_grad)."""
        return self._ctx is None

    shape = property(lambda self: self._data.shape, doc="The array's shape, a tuple of ints.")
    ndim = property(lambda self: self._data.ndim, doc="The number of dimensions.")
    dtype = property(lambda self: self._data.dtype, doc="The array's numpy dtype.")
    size = property(lambda self: self._data.size, doc="The number of elements.")

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def item(self):
        """The value of a single-element tensor as a Python number."""
        if switched and state.tracer is not None:   # compile: would freeze the value
            state.tracer.refuse_read(self, "item()")
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element; this one has shape "
                             f"{self.shape} ({self._data.size} elements)")
        return self._data.item()

    def numpy(self):
        """The data as a numpy array, shared, not copied (read-only for a recorded op's output; see `data`)."""
        if switched and state.tracer is not None:   # compile: refused, or followed (Tracer.data_of)
            return state.tracer.data_of(self, ".numpy()")
        return self.data

    def detach(self):
        """A new leaf sharing this tensor's data, cut off from the graph.

        In-place changes through it count as changes of this tensor too, so a
        graph that saved the shared array still notices them.
        """
        alias = Tensor(self._data)
        alias._base = self
        self._has_views = True
        return alias

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
        if switched and state.tracer is not None:   # compile: `if loss < 0.1` can't replay
            state.tracer.refuse_read(self, "bool()")
        if self._data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self._data)

    __hash__ = object.__hash__  # comparisons return tensors, so hash by identity

    # -- autograd --------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad.

        Parameters:
            grad: the gradient to start from, an array of this tensor's shape;
                not needed for a single-element tensor (it is 1).
            retain_graph (bool): keep the graph's saved arrays, so backward can
                run through it again; by default they are released.
        """
        if not self._requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: no input of the "
                               "computation that made it has requires_grad=True, or it was made "
                               "under no_grad()")
        _walk.backward([self], [grad], retain_graph=retain_graph, create_graph=False)

    def register_hook(self, hook):
        """Call `hook(grad)` with the gradient flowing into this tensor; a returned value replaces it.

        Parameters:
            hook: a callable taking the gradient (a numpy array; a Tensor under
                create_graph=True) and returning None or a new gradient of the
                same shape. It gets a gradient no other tensor shares, so it
                may change it in place.

        Returns a handle whose `.remove()` unregisters the hook.
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
        return RemovableHandle(owner._hooks, hook)


class RemovableHandle:
    """Returned by every register_*hook: `.remove()` unregisters the hook (also on leaving `with`).

    Parameters:
        registry: the list the hook was appended to.
        hook: the hook.
        on_remove: called after removal (a module uses it to drop its empty hook lists).
    """

    def __init__(self, registry, hook, on_remove=None):
        self._registry, self._hook, self._on_remove = registry, hook, on_remove

    def remove(self):
        """Unregister the hook; removing it twice does nothing."""
        if self._registry is None:
            return
        registry, self._registry = self._registry, None
        for i, hook in enumerate(registry):
            if hook is self._hook:
                del registry[i]
                break
        if self._on_remove is not None:
            self._on_remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_allocate = Tensor.__new__   # a Tensor without running __init__'s checks


def new_tensor(data, ctx):
    """Wrap an op's output array without the checks of Tensor() (the hot path)."""
    tensor = _allocate(Tensor)
    tensor._data = data
    tensor._ctx = ctx
    tensor._requires_grad = ctx is not None
    return tensor


from . import walk as _walk   # noqa: E402 (the walk imports Tensor: imported once Tensor exists)
from . import higher_order as _higher_order   # noqa: E402
