"""More of Tensor's methods: numpy's reductions, math and shape functions, with PyTorch's aliases.

Written as methods of `_MoreTensorMethods` and copied onto Tensor by
`tensor_methods.bind()`, like the core operators there.
"""
import numpy as np

from ..engine import Tensor
from . import norms, rearrange, reductions
from .math import (Cos, Expm1, FloorDivide, Log1p, Log2, Log10, Reciprocal, Remainder, Sign, Sin,
                   Square, Tan)
from .shape import BroadcastTo


def _boolean(ufunc, name, swap=False):
    def method(self, other):
        a = self._data
        b = other._data if isinstance(other, Tensor) else other
        return Tensor(ufunc(b, a) if swap else ufunc(a, b))
    method.__name__ = name
    method.__doc__ = (f"Elementwise numpy.{ufunc.__name__} of boolean (or integer) tensors; a "
                      "Tensor without gradient.")
    return method


class _MoreTensorMethods:
    # -- operators ------------------------------------------------------------------
    def __mod__(self, other):
        """self % other with the sign of `other` (Python's %); d/dself = 1, d/dother = -floor(self / other)."""
        return Remainder.apply(self, other)

    def __rmod__(self, other):
        """other % self (Python's %); d/dother = 1, d/dself = -floor(other / self)."""
        return Remainder.apply(other, self)

    def __floordiv__(self, other):
        """floor(self / other); piecewise constant, so the gradient is 0 (as PyTorch)."""
        return FloorDivide.apply(self, other)

    def __rfloordiv__(self, other):
        """floor(other / self); the gradient is 0."""
        return FloorDivide.apply(other, self)

    __and__ = _boolean(np.bitwise_and, "__and__")
    __rand__ = _boolean(np.bitwise_and, "__rand__", swap=True)
    __or__ = _boolean(np.bitwise_or, "__or__")
    __ror__ = _boolean(np.bitwise_or, "__ror__", swap=True)
    __xor__ = _boolean(np.bitwise_xor, "__xor__")
    __rxor__ = _boolean(np.bitwise_xor, "__rxor__", swap=True)

    def __invert__(self):
        """~self: logical not of a boolean tensor (bitwise not of an integer one); no gradient."""
        return Tensor(np.invert(self._data))

    # -- reductions ------------------------------------------------------------------
    def prod(self, axis=None, keepdims=False):
        """Product of the elements over `axis`, as numpy.prod; its gradient is right at zeros too.

        Parameters: axis (None for all, an int or a tuple of ints);
        keepdims (bool): keep reduced axes as size 1.
        """
        return reductions.prod(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, ddof=0, keepdims=False):
        """Variance over `axis`, as numpy.var: sum((x - mean)**2) / (n - ddof).

        Parameters: axis (None for all, an int or a tuple of ints); ddof (int):
        1 for the unbiased estimate (PyTorch's default); keepdims (bool).
        """
        return reductions.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        """Standard deviation over `axis`, as numpy.std: sqrt(var(axis, ddof)).

        Parameters: axis (None for all, an int or a tuple of ints); ddof (int);
        keepdims (bool).
        """
        return reductions.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis=None):
        """Running sum along `axis` (None: over the flattened tensor), as numpy.cumsum."""
        return reductions.CumSum.apply(self, axis=axis)

    def logsumexp(self, axis=None, keepdims=False):
        """log(sum(exp(x))) over `axis`, without overflow; its gradient is softmax(x).

        Parameters: axis (None for all, an int or a tuple of ints); keepdims (bool).
        """
        return reductions.logsumexp(self, axis=axis, keepdims=keepdims)

    def norm(self, ord=None, axis=None, keepdims=False):
        """A vector or matrix norm, as numpy.linalg.norm (see `minigrad.norm` for the `ord`s).

        Parameters: ord (None: 2-norm of vectors, Frobenius of matrices);
        axis (None, an int, or a pair of ints for matrix norms); keepdims (bool).
        The 2-norm's gradient x / |x| is 0 at x = 0 (as PyTorch).
        """
        return norms.norm(self, ord=ord, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        """Index of the largest element (along `axis`), as numpy.argmax; an integer Tensor, no gradient.

        Parameters: axis (None: index into the flattened tensor; or an int); keepdims (bool).
        """
        return Tensor(self._data.argmax(axis=axis, keepdims=keepdims))

    def argmin(self, axis=None, keepdims=False):
        """Index of the smallest element (along `axis`), as numpy.argmin; an integer Tensor, no gradient.

        Parameters: axis (None: index into the flattened tensor; or an int); keepdims (bool).
        """
        return Tensor(self._data.argmin(axis=axis, keepdims=keepdims))

    def all(self, axis=None, keepdims=False):
        """Whether every element (along `axis`) is non-zero, as numpy.all; a boolean Tensor, no gradient."""
        return Tensor(np.all(self._data, axis=axis, keepdims=keepdims))

    def any(self, axis=None, keepdims=False):
        """Whether some element (along `axis`) is non-zero, as numpy.any; a boolean Tensor, no gradient."""
        return Tensor(np.any(self._data, axis=axis, keepdims=keepdims))

    # -- elementwise math ---------------------------------------------------------------
    def square(self):
        """x ** 2, elementwise."""
        return Square.apply(self)

    def sin(self):
        """Sine, elementwise."""
        return Sin.apply(self)

    def cos(self):
        """Cosine, elementwise."""
        return Cos.apply(self)

    def tan(self):
        """Tangent, elementwise."""
        return Tan.apply(self)

    def log1p(self):
        """log(1 + x), elementwise, accurate for small x."""
        return Log1p.apply(self)

    def expm1(self):
        """exp(x) - 1, elementwise, accurate for small x."""
        return Expm1.apply(self)

    def log2(self):
        """Base-2 logarithm, elementwise."""
        return Log2.apply(self)

    def log10(self):
        """Base-10 logarithm, elementwise."""
        return Log10.apply(self)

    def sign(self):
        """-1, 0 or 1 by the sign of x, elementwise; its gradient is 0 (as PyTorch)."""
        return Sign.apply(self)

    def reciprocal(self):
        """1 / x, elementwise."""
        return Reciprocal.apply(self)

    # -- shapes ---------------------------------------------------------------------------
    def squeeze(self, axis=None):
        """The tensor without its size-1 axes (those in `axis`, an int or tuple; or all), as numpy.squeeze."""
        return rearrange.squeeze(self, axis)

    def expand_dims(self, axis):
        """The tensor with a new size-1 axis at position `axis` (an int or tuple), as numpy.expand_dims."""
        return rearrange.expand_dims(self, axis)

    def unsqueeze(self, dim):
        """PyTorch's name for expand_dims: a new size-1 axis at position `dim`."""
        return rearrange.expand_dims(self, dim)

    def broadcast_to(self, shape):
        """The tensor repeated along new or size-1 axes to `shape`, as numpy.broadcast_to."""
        return BroadcastTo.apply(self, shape=(shape,) if np.ndim(shape) == 0 else tuple(shape))

    def repeat(self, repeats, axis=None):
        """Each element repeated `repeats` times along `axis` (None: flattened), as numpy.repeat.

        Note: numpy's meaning, not PyTorch's Tensor.repeat (which is `tile`).
        """
        return rearrange.repeat(self, repeats, axis)

    def tile(self, reps):
        """The tensor repeated `reps` times along each axis, as numpy.tile."""
        return rearrange.tile(self, reps)

    def flip(self, axis=None):
        """The elements in reversed order along `axis` (None: all axes), as numpy.flip."""
        return rearrange.flip(self, axis)

    def moveaxis(self, source, destination):
        """The axes `source` moved to positions `destination`, as numpy.moveaxis."""
        return rearrange.moveaxis(self, source, destination)

    def pad(self, pad_width, constant_values=0):
        """The tensor padded with `constant_values`, as numpy.pad(mode='constant')."""
        return rearrange.pad(self, pad_width, constant_values=constant_values)

    def ravel(self):
        """The elements as a 1-D tensor (row-major order), as numpy.ravel."""
        return rearrange.ravel(self)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        """The diagonal in the plane (axis1, axis2), as numpy.diagonal."""
        return rearrange.diagonal(self, offset, axis1, axis2)

    def trace(self, offset=0, axis1=0, axis2=1):
        """Sum of the diagonal, as numpy.trace."""
        return rearrange.trace(self, offset, axis1, axis2)

    def clone(self):
        """A copy with its own memory, recorded in the graph (the gradient passes through), as PyTorch's clone."""
        return rearrange.clone(self)

    def copy(self):
        """A copy with its own memory, recorded in the graph (numpy's name for clone)."""
        return rearrange.clone(self)
