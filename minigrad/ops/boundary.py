"""How a Tensor becomes something else: a numpy array, a Python number, an iterator, a string.

`np.asarray(t)` gives the tensor's data (shared, read-only while a graph
holds it) and `np.array(t)` a copy, numpy's copy=True. numpy's functions
never get here for a Tensor: `__array_function__` and `__array_ufunc__`
(numpy_functions.py) take them first.

A known gap: numpy 2.x asks `__array__` in the same way (copy=None, no
dtype) for `np.asarray(t)` and for each element of `np.array([t1, t2])`, so
the second cannot be refused without refusing the first.
"""
import numpy as np

from ..engine.modes import state, switched



class _Conversions:
    def __array__(self, dtype=None, copy=None):
        """The data for numpy: `np.array(t)` copies it; `np.asarray(t)` shares it (see `Tensor.data`).

        A tensor that requires grad gives numpy its data only as a copy
        (`np.array(t)`); `np.asarray(t)` of it raises, as PyTorch's does: numpy
        asks a tensor for its array the same way in `np.asarray(t)` and for
        each element of `np.array([t1, t2])`, and the second would silently take
        the tensors out of the graph. (`t.numpy()` and `t.data` give the values.)
        Inside a backward run with create_graph=True, the values are handed out
        and the op becomes first-order only.
        Parameters: dtype (convert to it: a copy); copy (numpy's: True always
        copies, False refuses a copy, None copies only to change dtype).
        """
        if self._requires_grad and not copy and not (switched and state.differentiating):
            # (Inside a create_graph backward, handing out the values makes that op
            # first-order only instead: see engine/higher_order.py.)
            raise TypeError(
                f"numpy asked for the array of a {self._describe()} that requires grad without "
                "copying it (np.asarray(t), or np.array([t1, t2]) of such tensors), which would "
                "silently leave the graph: join tensors with minigrad.stack or "
                "minigrad.concatenate, and take the values with t.numpy() or t.data "
                "(np.array(t) copies)")
        array = self.data
        if dtype is not None and array.dtype != dtype:
            if copy is False:
                raise ValueError(f"np.array(t, dtype={np.dtype(dtype)}, copy=False): a "
                                 f"{self._describe()} cannot change dtype without a copy")
            return array.astype(dtype)
        return array.copy() if copy else array

    def __iter__(self):
        """The sub-tensors along the first axis, each in the graph (t[0], t[1], ...); a 0-d tensor is not iterable."""
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    def __float__(self):
        """float(t) for a tensor of one element."""
        return float(self._single("float"))

    def __int__(self):
        """int(t) for a tensor of one element (truncated toward 0, as int() does)."""
        return int(self._single("int"))

    def __format__(self, spec):
        """format(t, '.3f') formats the value of a one-element tensor; an empty spec gives str(t)."""
        if not spec:
            return str(self)
        return format(self._single(f"format with {spec!r}"), spec)

    def _single(self, what):
        if switched and state.tracer is not None:   # compile: the value would be frozen
            state.tracer.refuse_read(self, f"{what}()" if what in ("float", "int") else what)
        if self._data.size != 1:
            raise TypeError(f"{what} needs a tensor with one element; this one has shape "
                            f"{self._data.shape} ({self._data.size} elements)")
        return self._data.item()
