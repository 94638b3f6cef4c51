"""In-place arithmetic and assignment: `x += y`, `x[i] = v`, as PyTorch records them.

On a tensor nothing records (no input requires grad, or under no_grad()),
they change the array itself, and the in-place guard notes the change. When
the result must be recorded (the tensor is in a graph, or the other operand
requires grad), the op runs as a new node and the tensor object is made to
stand for its result (`Tensor._rebind`); ops that used the old value keep
using it. A leaf that requires grad cannot be changed while recording, as in
PyTorch: its gradient would be the gradient of a value it no longer holds.
"""
import operator

import numpy as np

from ..engine import Function, Tensor, is_grad_enabled
from .arithmetic import Add, Div, Mul, Pow, Sub
from .base import call
from .elementwise import Cast
from .shape import GetItem, plain_index


class SetItem(Function):
    """x with `value` written at `index` (a copy); x's gradient is 0 there, value's is g[index]."""

    @staticmethod
    def forward(ctx, x, value, index):
        ctx.index = index
        ctx.kept = np.ones(x.shape, dtype=bool)
        ctx.kept[index] = False      # where x's own value survives: a constant mask
        out = x.copy()
        out[index] = value
        return out

    @staticmethod
    def backward(ctx, g):
        dx, dvalue = ctx.needs_input_grad
        return (g * ctx.kept if dx else None,
                call(GetItem, g, index=ctx.index) if dvalue else None)   # summed to value's shape


def _records(tensor, other):
    return is_grad_enabled() and (tensor._requires_grad
                                  or isinstance(other, Tensor) and other._requires_grad)


def _refuse_leaf(tensor, what):
    if tensor._ctx is None and tensor._requires_grad:
        raise RuntimeError(
            f"{what} of a {tensor._describe()} that requires grad: a leaf that requires grad "
            "cannot be changed in place while recording (as in PyTorch); wrap it in "
            "`with minigrad.no_grad():` (e.g. an optimizer step), or write `x = x + y` to "
            "make a new tensor")


def _recorded(tensor, result, what):
    """Make `tensor` stand for `result` after checks that numpy's in-place rules would make."""
    if result.shape != tensor.shape:
        raise ValueError(f"{what}: the result has shape {result.shape}, which does not fit the "
                         f"{tensor._describe()} (in place, the shape cannot change)")
    if result.dtype != tensor.dtype:
        if not np.can_cast(result.dtype, tensor.dtype, "same_kind"):
            raise TypeError(f"{what}: cannot cast the result of dtype {result.dtype} into the "
                            f"{tensor._describe()} in place")
        result = Cast.apply(result, dtype=tensor.dtype)   # float32 stays float32
    tensor._rebind(result)
    return tensor


def _in_place(op, array_op):
    """`x op= y`: recorded as `x = x op y` when it must be, else an in-place change of the array."""
    symbol = {"iadd": "+=", "isub": "-=", "imul": "*=", "itruediv": "/=", "ipow": "**="}[
        array_op.__name__]

    def method(self, other):
        if _records(self, other):
            _refuse_leaf(self, f"`{symbol}`")
            return _recorded(self, op.apply(self, other), f"`{symbol}`")
        array_op(self._data, other._data if isinstance(other, Tensor) else other)
        self._changed_in_place()   # numpy's in-place operator refused unsafe casts above
        return self
    method.__name__ = f"__{array_op.__name__}__"
    method.__qualname__ = f"Tensor.{method.__name__}"
    method.__doc__ = (f"`x {symbol} y`: recorded in the graph as `x = x {symbol[:-1]} y` when x "
                      "is in a graph or y requires grad (x then stands for the new value, with a "
                      "new grad_fn); otherwise the array is changed in place.")
    return method


def __setitem__(self, index, value):
    """`x[index] = value` (basic, integer-array and boolean indices; value broadcast).

    Recorded in the graph when x is in a graph or value requires grad (x then
    stands for the new value, with a new grad_fn; value gets g[index]);
    otherwise written into the array in place.
    """
    index = plain_index(index)
    if _records(self, value):
        _refuse_leaf(self, "`x[index] = value`")
        return _recorded(self, SetItem.apply(self, value, index=index), "`x[index] = value`")
    self._data[index] = value._data if isinstance(value, Tensor) else value
    self._changed_in_place()


def bind():
    """Attach the in-place operators and item assignment to Tensor."""
    for op, array_op in ((Add, operator.iadd), (Sub, operator.isub), (Mul, operator.imul),
                         (Div, operator.itruediv), (Pow, operator.ipow)):
        method = _in_place(op, array_op)
        setattr(Tensor, method.__name__, method)
    __setitem__.__qualname__ = "Tensor.__setitem__"
    Tensor.__setitem__ = __setitem__
