"""Tensor's operators and methods: each a named function that applies an op.

The engine's Tensor knows no op; this file gives it `+`, `.sum()`, `.exp()`
and the rest (more methods in tensor_api.py, conversions in boundary.py,
numpy's functions and ufuncs in numpy_functions.py). They are written as methods of `_TensorMethods` (so `help()`
shows each one's parameters) and copied onto Tensor by `bind()`.
"""
import numpy as np

from ..engine import Tensor
from .activations import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .arithmetic import Add, Div, MatMul, Mul, Neg, Pow, Sub
from .elementwise import Abs, Cast, Clip, Exp, Log, Sqrt
from . import rearrange
from .reductions import Max, Mean, Min, Sum
from .shape import GetItem, Reshape, Transpose, plain_index


def _shape_args(args):
    """numpy accepts reshape(2, 3) and reshape((2, 3)); so do we."""
    return args[0] if len(args) == 1 and not isinstance(args[0], (int, np.integer)) else args


def _compare(ufunc):
    def compare(self, other):
        return Tensor(ufunc(self._data, other._data if isinstance(other, Tensor) else other))
    compare.__name__ = f"__{ufunc.__name__}__"
    compare.__doc__ = f"Elementwise numpy.{ufunc.__name__}, a boolean Tensor (no gradient)."
    return compare


class _TensorMethods:
    # -- operators ------------------------------------------------------------------
    def __add__(self, other):
        return Add.apply(self, other)

    def __radd__(self, other):
        return Add.apply(other, self)

    def __sub__(self, other):
        return Sub.apply(self, other)

    def __rsub__(self, other):
        return Sub.apply(other, self)

    def __mul__(self, other):
        return Mul.apply(self, other)

    def __rmul__(self, other):
        return Mul.apply(other, self)

    def __truediv__(self, other):
        return Div.apply(self, other)

    def __rtruediv__(self, other):
        return Div.apply(other, self)

    def __pow__(self, other):
        return Pow.apply(self, other)

    def __rpow__(self, other):
        return Pow.apply(other, self)

    def __matmul__(self, other):
        return MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return MatMul.apply(other, self)

    def __neg__(self):
        return Neg.apply(self)

    def __abs__(self):
        return Abs.apply(self)

    def __getitem__(self, index):
        """self[index]: numpy's basic and advanced indexing; the gradient flows back to the picked places."""
        return GetItem.apply(self, index=plain_index(index))

    __lt__, __le__ = _compare(np.less), _compare(np.less_equal)
    __gt__, __ge__ = _compare(np.greater), _compare(np.greater_equal)
    __eq__, __ne__ = _compare(np.equal), _compare(np.not_equal)

    # -- reductions (numpy's axis and keepdims) ----------------------------------------
    def sum(self, axis=None, keepdims=False):
        """Sum of the elements over `axis`, as numpy.sum.

        Parameters: axis (None for all, an int or a tuple of ints);
        keepdims (bool): keep reduced axes as size 1.
        """
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """Mean of the elements over `axis`, as numpy.mean.

        Parameters: axis (None for all, an int or a tuple of ints);
        keepdims (bool): keep reduced axes as size 1.
        """
        return Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        """Largest element over `axis`, as numpy.max; tied maxima share the gradient evenly.

        Parameters: axis (None for all, an int or a tuple of ints);
        keepdims (bool): keep reduced axes as size 1.
        """
        return Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        """Smallest element over `axis`, as numpy.min; tied minima share the gradient evenly.

        Parameters: axis (None for all, an int or a tuple of ints);
        keepdims (bool): keep reduced axes as size 1.
        """
        return Min.apply(self, axis=axis, keepdims=keepdims)

    # -- shapes ---------------------------------------------------------------------------
    def reshape(self, *shape):
        """The same elements in another shape, as numpy's reshape: `t.reshape(2, 3)` or `t.reshape((2, -1))`."""
        return Reshape.apply(self, shape=_shape_args(shape))

    def flatten(self):
        """The elements as a 1-D tensor (row-major order)."""
        return Reshape.apply(self, shape=(-1,))

    def transpose(self, *axes):
        """The axes permuted, as numpy's transpose: reversed by default, or in the order `axes` gives."""
        return Transpose.apply(self, axes=_shape_args(axes) if axes else None)

    @property
    def T(self):
        """The tensor with its axes reversed (the matrix transpose for 2-D)."""
        return Transpose.apply(self)

    def swapaxes(self, axis1, axis2):
        """The tensor with `axis1` and `axis2` interchanged, as numpy.swapaxes."""
        return rearrange.swapaxes(self, axis1, axis2)

    def astype(self, dtype):
        """A copy in another dtype, as numpy's astype.

        To another float dtype the copy stays in the graph (its gradient comes
        back in this tensor's dtype); to an integer or bool dtype it is a new
        tensor without gradient.
        """
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            return Tensor(self._data.astype(dtype))
        return Cast.apply(self, dtype=dtype)

    # -- elementwise math ---------------------------------------------------------------
    def exp(self):
        """e ** x, elementwise."""
        return Exp.apply(self)

    def log(self):
        """Natural logarithm, elementwise."""
        return Log.apply(self)

    def sqrt(self):
        """Square root, elementwise."""
        return Sqrt.apply(self)

    def abs(self):
        """Absolute value, elementwise (gradient 0 at 0)."""
        return Abs.apply(self)

    def clip(self, a_min=None, a_max=None):
        """Values limited to [a_min, a_max], as numpy.clip; the gradient passes where x is inside."""
        return Clip.apply(self, a_min=a_min, a_max=a_max)

    def relu(self):
        """max(x, 0), elementwise."""
        return ReLU.apply(self)

    def leaky_relu(self, negative_slope=0.01):
        """x where x > 0, else negative_slope * x (PyTorch's default slope 0.01)."""
        return LeakyReLU.apply(self, negative_slope=negative_slope)

    def sigmoid(self):
        """1 / (1 + exp(-x)), elementwise, never overflowing."""
        return Sigmoid.apply(self)

    def tanh(self):
        """Hyperbolic tangent, elementwise."""
        return Tanh.apply(self)

    def softplus(self):
        """log(1 + exp(x)), elementwise, never overflowing."""
        return Softplus.apply(self)

    def softmax(self, axis=-1):
        """exp(x) / sum(exp(x)) along `axis`."""
        return Softmax.apply(self, axis=axis)

    def log_softmax(self, axis=-1):
        """x - log(sum(exp(x))) along `axis`, computed stably."""
        return LogSoftmax.apply(self, axis=axis)


def bind():
    """Copy the methods here, in tensor_api.py and boundary.py onto Tensor (named `Tensor.<name>` for help())."""
    from .boundary import _Conversions
    from .numpy_functions import array_function, array_ufunc
    from .tensor_api import _MoreTensorMethods
    for source in (_TensorMethods, _MoreTensorMethods, _Conversions):
        for name, value in vars(source).items():
            if name.startswith("__") and name.endswith("__") and not callable(value):
                continue   # __module__, __dict__, __doc__, the __hash__ = None that __eq__ implies
            if name in ("__dict__", "__weakref__"):
                continue
            function = value.fget if isinstance(value, property) else value
            function.__qualname__ = f"Tensor.{name}"
            setattr(Tensor, name, value)
    array_ufunc.__qualname__ = "Tensor.__array_ufunc__"
    array_function.__qualname__ = "Tensor.__array_function__"
    Tensor.__array_ufunc__ = array_ufunc
    Tensor.__array_function__ = array_function
