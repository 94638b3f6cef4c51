"""Tensor factories, as numpy's and PyTorch's: tensor, zeros, ones, full, arange, eye, rand ...

Each takes `dtype=` (float64 by default for floating data, as everywhere in
minigrad) and `requires_grad=`. rand and randn draw from minigrad's one
generator (`minigrad.random`), so `manual_seed` makes them reproducible.
"""
import numpy as np

from ..engine import Tensor
from ..random import get_generator

__all__ = ["tensor", "zeros", "ones", "full", "empty", "arange", "linspace", "eye", "zeros_like",
           "ones_like", "full_like", "rand", "randn"]


def _make(array, dtype, requires_grad):
    return Tensor(array, requires_grad=requires_grad, dtype=dtype)


def _shape(shape):
    """numpy's `zeros((2, 3))` and PyTorch's `zeros(2, 3)` both give shape (2, 3)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    return tuple(int(n) for n in shape)


def _float_dtype(dtype):
    return np.float64 if dtype is None else dtype


def tensor(data, dtype=None, requires_grad=False):
    """A new Tensor holding a copy of `data` (a number, nested list, array or Tensor).

    Parameters: data; dtype (numbers and lists default to float64, arrays
    keep theirs); requires_grad (bool).
    """
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.ndarray):
        data = data.copy()   # a number or a list becomes a new array anyway (float64)
    return _make(data, dtype, requires_grad)


def zeros(*shape, dtype=None, requires_grad=False):
    """A Tensor of zeros of `shape` (`zeros(2, 3)` or `zeros((2, 3))`); float64 unless `dtype`."""
    return _make(np.zeros(_shape(shape), _float_dtype(dtype)), None, requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """A Tensor of ones of `shape` (`ones(2, 3)` or `ones((2, 3))`); float64 unless `dtype`."""
    return _make(np.ones(_shape(shape), _float_dtype(dtype)), None, requires_grad)


def empty(*shape, dtype=None, requires_grad=False):
    """A Tensor of `shape` whose values are whatever memory held (numpy.empty); float64 unless `dtype`."""
    return _make(np.empty(_shape(shape), _float_dtype(dtype)), None, requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    """A Tensor of `shape` filled with `fill_value`; float64 unless `dtype`."""
    return _make(np.full(_shape((shape,)), fill_value, _float_dtype(dtype)), None, requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop) with `step`, as numpy.arange; float64 unless `dtype`."""
    values = np.arange(start, step=step) if stop is None else np.arange(start, stop, step)
    return _make(values.astype(_float_dtype(dtype)), None, requires_grad)


def linspace(start, stop, num=50, endpoint=True, dtype=None, requires_grad=False):
    """`num` evenly spaced values from start to stop (included if `endpoint`), as numpy.linspace."""
    return _make(np.linspace(start, stop, num, endpoint=endpoint, dtype=_float_dtype(dtype)), None,
                 requires_grad)


def eye(N, M=None, k=0, dtype=None, requires_grad=False):
    """An N x M matrix (M = N by default) with ones on diagonal k, as numpy.eye."""
    return _make(np.eye(N, M, k, dtype=_float_dtype(dtype)), None, requires_grad)


def _like(other):
    return other._data if isinstance(other, Tensor) else np.asarray(other)


def zeros_like(other, dtype=None, requires_grad=False):
    """Zeros of the shape and dtype of `other` (a Tensor or array), or of `dtype`."""
    return _make(np.zeros_like(_like(other), dtype=dtype), None, requires_grad)


def ones_like(other, dtype=None, requires_grad=False):
    """Ones of the shape and dtype of `other` (a Tensor or array), or of `dtype`."""
    return _make(np.ones_like(_like(other), dtype=dtype), None, requires_grad)


def full_like(other, fill_value, dtype=None, requires_grad=False):
    """`fill_value` in the shape and dtype of `other` (a Tensor or array), or of `dtype`."""
    return _make(np.full_like(_like(other), fill_value, dtype=dtype), None, requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1) of `shape`, from minigrad's seeded generator (see manual_seed)."""
    values = get_generator().random(_shape(shape))
    return _make(values.astype(_float_dtype(dtype), copy=False), None, requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal samples of `shape`, from minigrad's seeded generator (see manual_seed)."""
    values = get_generator().standard_normal(_shape(shape))
    return _make(values.astype(_float_dtype(dtype), copy=False), None, requires_grad)
