"""The NumPy boundary: numpy's functions and ufuncs on Tensors never return a silent ndarray.

numpy hands a call with a Tensor argument to `Tensor.__array_function__`
(np.sum, np.dot, np.concatenate ...) or `Tensor.__array_ufunc__` (np.exp,
np.add, `ndarray * tensor` ...). Each either runs as minigrad ops, returning
a Tensor in the graph, or raises a TypeError naming the function and what to
use instead. An `out=` array or a `where=` mask is refused, never ignored.
Functions whose result has no gradient (np.shape, np.argmax, np.allclose,
comparisons) run on the data and give numbers or Tensors without gradient.

`np.asarray(t)` and any other conversion numpy makes on its own go through
`Tensor.__array__`, defined in `boundary.py` with the other conversions.
"""
import functools

import numpy as np

from ..engine import Tensor
from . import norms, products, rearrange, reductions
from .elementwise import Clip, Maximum, Minimum, where as _where
from .math import Rounded
from .shape import Concatenate, Reshape, Stack, Transpose
from .ufuncs import UFUNC_OPS, data_ufunc

_NO_VALUE = np._NoValue


def refuse_out(name, out):
    """Refuse an `out=` array: writing into it would leave the graph without a word."""
    if out is not None and not (isinstance(out, tuple) and all(o is None for o in out)):
        raise TypeError(f"numpy.{name}(..., out=...) on a Tensor would write the result outside the "
                        "graph; leave out= away to get a Tensor, or pass .numpy() arrays to use out=")


def refuse_where(name, where):
    """Refuse a `where=` mask (minigrad's reductions and ufuncs have none); True is accepted."""
    if where is not True and where is not _NO_VALUE:
        raise TypeError(f"numpy.{name}(..., where=...) on a Tensor has no minigrad op; mask the "
                        "input first, e.g. minigrad.where(mask, x, 0).sum()")


def _refuse_initial(name, initial):
    if initial is not _NO_VALUE:
        raise TypeError(f"numpy.{name}(..., initial=...) on a Tensor has no minigrad op; combine "
                        "the initial value yourself (e.g. minigrad.maximum(x.max(), initial))")


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _with_dtype(name, x, dtype):
    """x in `dtype` (a floating dtype, recorded) before a reduction; None keeps x's."""
    x = _tensor(x)
    if dtype is None:
        return x
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"numpy.{name}(..., dtype={np.dtype(dtype)}) on a Tensor: only floating "
                        "dtypes keep a gradient; use .numpy() for an integer result")
    return x.astype(dtype)


def _keep(keepdims):
    return False if keepdims is _NO_VALUE else bool(keepdims)


# -- reductions ---------------------------------------------------------------------------------

def _reduction(name, method):
    def handler(a, axis=None, dtype=None, out=None, keepdims=_NO_VALUE, initial=_NO_VALUE,
                where=_NO_VALUE):
        refuse_out(name, out)
        refuse_where(name, where)
        _refuse_initial(name, initial)
        return method(_with_dtype(name, a, dtype), axis=axis, keepdims=_keep(keepdims))
    return handler


def _max_like(name, method):
    def handler(a, axis=None, out=None, keepdims=_NO_VALUE, initial=_NO_VALUE, where=_NO_VALUE):
        refuse_out(name, out)
        refuse_where(name, where)
        _refuse_initial(name, initial)
        return method(_tensor(a), axis=axis, keepdims=_keep(keepdims))
    return handler


def _mean(a, axis=None, dtype=None, out=None, keepdims=_NO_VALUE, *, where=_NO_VALUE):
    refuse_out("mean", out)
    refuse_where("mean", where)
    return _with_dtype("mean", a, dtype).mean(axis=axis, keepdims=_keep(keepdims))


def _spread(name, function):
    def handler(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NO_VALUE, *, where=_NO_VALUE,
                mean=_NO_VALUE, correction=_NO_VALUE):
        refuse_out(name, out)
        refuse_where(name, where)
        if mean is not _NO_VALUE:
            raise TypeError(f"numpy.{name}(..., mean=...) on a Tensor has no minigrad op; leave it out")
        if correction is not _NO_VALUE:
            ddof = correction
        return function(_with_dtype(name, a, dtype), axis=axis, ddof=ddof, keepdims=_keep(keepdims))
    return handler


def _cumsum(a, axis=None, dtype=None, out=None):
    refuse_out("cumsum", out)
    return reductions.CumSum.apply(_with_dtype("cumsum", a, dtype), axis=axis)


def _trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    refuse_out("trace", out)
    return rearrange.trace(_with_dtype("trace", a, dtype), offset, axis1, axis2)


# -- joining and shapes ---------------------------------------------------------------------------

def _joined(name, arrays, dtype, casting):
    arrays = list(arrays)
    if not arrays:
        raise ValueError(f"numpy.{name} needs at least one array")
    if casting not in (_NO_VALUE, "same_kind"):
        raise TypeError(f"numpy.{name}(..., casting={casting!r}) on Tensors has no minigrad op")
    return [_with_dtype(name, a, dtype) for a in arrays]


def _concatenate(arrays, axis=0, out=None, *, dtype=None, casting=_NO_VALUE):
    refuse_out("concatenate", out)
    return Concatenate.apply(*_joined("concatenate", arrays, dtype, casting), axis=axis)


def _stack(arrays, axis=0, out=None, *, dtype=None, casting=_NO_VALUE):
    refuse_out("stack", out)
    return Stack.apply(*_joined("stack", arrays, dtype, casting), axis=axis)


def _hstack(tup, *, dtype=None, casting=_NO_VALUE):
    arrays = [_atleast(1, a) for a in _joined("hstack", tup, dtype, casting)]
    return Concatenate.apply(*arrays, axis=0 if arrays[0].ndim == 1 else 1)


def _vstack(tup, *, dtype=None, casting=_NO_VALUE):
    return Concatenate.apply(*[_atleast(2, a) for a in _joined("vstack", tup, dtype, casting)], axis=0)


def _atleast(ndim, a):
    """numpy's atleast_1d/2d/3d for one Tensor: a -> (1, n) -> (1, n, 1) as numpy pads."""
    a = _tensor(a)
    if a.ndim >= ndim:
        return a
    if ndim == 3 and a.ndim == 2:
        shape = a.shape + (1,)
    elif ndim == 3:
        shape = (1,) + (a.shape or (1,)) + (1,)
    else:
        shape = (1,) * (ndim - a.ndim) + a.shape
    return Reshape.apply(a, shape=shape)


def _atleast_nd(ndim):
    def handler(*arys):
        out = [_atleast(ndim, a) for a in arys]
        return out[0] if len(out) == 1 else tuple(out)
    return handler


def _reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    if order != "C" or copy:
        raise TypeError("numpy.reshape on a Tensor supports order='C' and copy=None only")
    return Reshape.apply(_tensor(a), shape=newshape if shape is None else shape)


def _transpose(a, axes=None):
    return Transpose.apply(_tensor(a), axes=axes)


def _broadcast_to(array, shape, subok=False):
    return _tensor(array).broadcast_to(shape)


def _ravel(a, order="C"):
    if order not in ("C", "K", "A"):
        raise TypeError(f"numpy.ravel(..., order={order!r}) on a Tensor: only row-major order")
    return rearrange.ravel(a)


def _copy(a, order="K", subok=False):
    return rearrange.clone(a)


def _clip(a, a_min=_NO_VALUE, a_max=_NO_VALUE, out=None, *, min=_NO_VALUE, max=_NO_VALUE, **kwargs):
    refuse_out("clip", out)
    refuse_where("clip", kwargs.pop("where", _NO_VALUE))
    if kwargs:
        raise TypeError(f"numpy.clip(..., {', '.join(kwargs)}) on a Tensor has no minigrad op")
    low = min if a_min is _NO_VALUE else a_min
    high = max if a_max is _NO_VALUE else a_max
    low = None if low is _NO_VALUE else low
    high = None if high is _NO_VALUE else high
    if isinstance(low, Tensor) or isinstance(high, Tensor):   # bounds in the graph too
        out = _tensor(a)
        out = out if low is None else Maximum.apply(out, low)
        return out if high is None else Minimum.apply(out, high)
    return Clip.apply(_tensor(a), a_min=low, a_max=high)


def _where_function(condition, x=_NO_VALUE, y=_NO_VALUE):
    if x is _NO_VALUE and y is _NO_VALUE:   # np.where(condition): the indices, no gradient
        return tuple(Tensor(i) for i in np.nonzero(_data(condition)))
    if x is _NO_VALUE or y is _NO_VALUE:
        raise ValueError("numpy.where takes either condition alone or condition, x and y")
    return _where(condition, x, y)


def _pad(array, pad_width, mode="constant", **kwargs):
    constant_values = kwargs.pop("constant_values", 0)
    if kwargs:
        raise TypeError(f"numpy.pad(..., {', '.join(kwargs)}) on a Tensor has no minigrad op")
    return rearrange.pad(_tensor(array), pad_width, mode=mode, constant_values=constant_values)


def _round(a, decimals=0, out=None):
    refuse_out("round", out)
    return Rounded.apply(_tensor(a), ufunc=functools.partial(np.round, decimals=decimals))


def _diff(a, n=1, axis=-1, prepend=_NO_VALUE, append=_NO_VALUE):
    a = _tensor(a)
    if prepend is not _NO_VALUE or append is not _NO_VALUE:
        raise TypeError("numpy.diff(..., prepend/append) on a Tensor has no minigrad op; "
                        "concatenate first with minigrad.concatenate")
    axis = axis % a.ndim
    lead = (slice(None),) * axis
    for _ in range(n):
        a = a[lead + (slice(1, None),)] - a[lead + (slice(None, -1),)]
    return a


# -- products ---------------------------------------------------------------------------------

def _dot(a, b, out=None):
    refuse_out("dot", out)
    return products.dot(a, b)


def _outer(a, b, out=None):
    refuse_out("outer", out)
    return products.outer(a, b)


def _einsum(*operands, out=None, optimize=False, **kwargs):
    refuse_out("einsum", out)
    dtype = kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"numpy.einsum(..., {', '.join(kwargs)}) on Tensors has no minigrad op")
    result = products.einsum(*operands)
    return result if dtype is None else _with_dtype("einsum", result, dtype)


def _norm(x, ord=None, axis=None, keepdims=False):
    return norms.norm(_tensor(x), ord=ord, axis=axis, keepdims=keepdims)


def _vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    x = _tensor(x)
    if axis is None:
        x, axis = rearrange.ravel(x), 0
    return norms.norm(x, ord=ord, axis=axis, keepdims=keepdims)


# -- functions without gradient: they run on the data ------------------------------------------

def _data(x):
    """x with every Tensor (also inside lists and tuples) replaced by its array."""
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (list, tuple)):
        return type(x)(_data(i) for i in x)
    return x


def _wrap(value):
    """Arrays in a result become Tensors without gradient (integers, booleans, shapes)."""
    if isinstance(value, np.ndarray):
        return Tensor(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_wrap(v) for v in value)
    return value


def _on_data(func):
    """Run numpy's `func` on the data, for a result that carries no gradient (indices, flags, shapes).

    A floating result (np.bincount with weights, say) would be a gradient dropped: refused.
    """
    def handler(*args, **kwargs):
        refuse_out(func.__name__, kwargs.get("out"))
        result = func(*_data(args), **{k: _data(v) for k, v in kwargs.items()})
        if isinstance(result, np.ndarray) and result.dtype.kind in "fc":
            raise TypeError(f"numpy.{func.__name__} with these arguments gives floating values, "
                            "and it has no minigrad op; use .numpy() to leave the graph on purpose")
        return _wrap(result)
    handler.__name__ = func.__name__
    return handler


def _like(factory):
    def handler(prototype, *args, **kwargs):
        return Tensor(factory(_data(prototype), *args, **kwargs))
    return handler


_NO_GRADIENT = [np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.argwhere,
                np.nonzero, np.flatnonzero, np.count_nonzero, np.all, np.any, np.allclose,
                np.isclose, np.array_equal, np.array_equiv, np.isreal, np.iscomplex,
                np.isrealobj, np.iscomplexobj, np.result_type, np.can_cast, np.min_scalar_type,
                np.searchsorted, np.digitize, np.isin, np.unravel_index, np.ravel_multi_index,
                np.may_share_memory, np.shares_memory, np.isfortran, np.bincount]

HANDLED = {
    np.sum: _reduction("sum", lambda x, **kw: x.sum(**kw)),
    np.prod: _reduction("prod", reductions.prod),
    np.mean: _mean,
    np.max: _max_like("max", lambda x, **kw: x.max(**kw)),
    np.amax: _max_like("amax", lambda x, **kw: x.max(**kw)),
    np.min: _max_like("min", lambda x, **kw: x.min(**kw)),
    np.amin: _max_like("amin", lambda x, **kw: x.min(**kw)),
    np.var: _spread("var", reductions.var),
    np.std: _spread("std", reductions.std),
    np.cumsum: _cumsum,
    np.trace: _trace,
    np.concatenate: _concatenate,
    np.stack: _stack,
    np.hstack: _hstack,
    np.vstack: _vstack,
    np.atleast_1d: _atleast_nd(1),
    np.atleast_2d: _atleast_nd(2),
    np.atleast_3d: _atleast_nd(3),
    np.where: _where_function,
    np.clip: _clip,
    np.reshape: _reshape,
    np.transpose: _transpose,
    np.matrix_transpose: lambda x, /: rearrange.swapaxes(x, -1, -2),
    np.squeeze: lambda a, axis=None: rearrange.squeeze(a, axis),
    np.expand_dims: lambda a, axis: rearrange.expand_dims(a, axis),
    np.broadcast_to: _broadcast_to,
    np.ravel: _ravel,
    np.copy: _copy,
    np.moveaxis: lambda a, source, destination: rearrange.moveaxis(a, source, destination),
    np.swapaxes: lambda a, axis1, axis2: rearrange.swapaxes(a, axis1, axis2),
    np.flip: lambda m, axis=None: rearrange.flip(m, axis),
    np.fliplr: lambda m: rearrange.flip(m, 1),
    np.flipud: lambda m: rearrange.flip(m, 0),
    np.tile: lambda A, reps: rearrange.tile(A, reps),
    np.repeat: lambda a, repeats, axis=None: rearrange.repeat(a, repeats, axis),
    np.split: lambda ary, indices_or_sections, axis=0: rearrange.split(ary, indices_or_sections, axis),
    np.array_split: lambda ary, indices_or_sections, axis=0: rearrange.array_split(
        ary, indices_or_sections, axis),
    np.pad: _pad,
    np.diag: lambda v, k=0: rearrange.diag(v, k),
    np.diagonal: lambda a, offset=0, axis1=0, axis2=1: rearrange.diagonal(a, offset, axis1, axis2),
    np.diff: _diff,
    np.round: _round,
    np.around: _round,
    np.dot: _dot,
    np.inner: lambda a, b: products.inner(a, b),
    np.outer: _outer,
    np.einsum: _einsum,
    np.linalg.norm: _norm,
    np.linalg.vector_norm: _vector_norm,
    np.linalg.outer: lambda x1, x2, /: products.outer(x1, x2),
    np.linalg.trace: lambda x, /, *, offset=0, dtype=None: _trace(x, offset, -2, -1, dtype),
    np.linalg.diagonal: lambda x, /, *, offset=0: rearrange.diagonal(x, offset, -2, -1),
    np.linalg.matrix_transpose: lambda x, /: rearrange.swapaxes(x, -1, -2),
    np.zeros_like: _like(np.zeros_like),
    np.ones_like: _like(np.ones_like),
    np.empty_like: _like(np.empty_like),
    np.full_like: _like(np.full_like),
}
HANDLED.update({f: _on_data(f) for f in _NO_GRADIENT})


def _function_name(func):
    module = getattr(func, "__module__", "numpy") or "numpy"
    module = "numpy" if module.startswith("numpy._") or module == "numpy" else module
    return f"{module}.{func.__name__}"


def array_function(self, func, types, args, kwargs):
    """numpy functions on Tensors run as minigrad ops (a Tensor in the graph) or raise a TypeError."""
    handler = HANDLED.get(func)
    if handler is None:
        raise TypeError(f"{_function_name(func)} has no minigrad op, so it cannot take a Tensor "
                        "(its result would drop out of the graph); use the Tensor's methods or "
                        "minigrad's functions, or .numpy() to leave the graph on purpose")
    return handler(*args, **kwargs)


# -- ufuncs ---------------------------------------------------------------------------------------

_REDUCE = {np.add: "sum", np.multiply: "prod", np.maximum: "max", np.minimum: "min"}
_HARMLESS = {"casting": "same_kind", "order": "K", "subok": True}


def _ufunc_keywords(name, kwargs):
    """Check a ufunc call's keywords: out= and where= are refused, dtype= becomes a cast."""
    refuse_out(name, kwargs.pop("out", None))
    refuse_where(name, kwargs.pop("where", True))
    dtype = kwargs.pop("dtype", None)
    for key, value in list(kwargs.items()):
        if key in _HARMLESS and (value == _HARMLESS[key] or key == "casting"):
            kwargs.pop(key)
    if kwargs:
        raise TypeError(f"numpy.{name}(..., {', '.join(kwargs)}) on a Tensor has no minigrad op")
    return dtype


def array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """numpy ufuncs on Tensors (`np.exp(t)`, `ndarray * t`, `np.add.reduce(t)`) run as minigrad ops."""
    if method == "__call__" and not kwargs:   # the common case (`ndarray * t`), kept short
        op = UFUNC_OPS.get(ufunc)
        return data_ufunc(ufunc, inputs) if op is None else op(*inputs)
    name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
    if method == "__call__":
        dtype = _ufunc_keywords(name, kwargs)
        op = UFUNC_OPS.get(ufunc)
        if op is None:
            return data_ufunc(ufunc, inputs)
        out = op(*inputs)
        return out if dtype is None else _with_dtype(name, out, dtype)
    if method in ("reduce", "accumulate") and len(inputs) == 1:
        axis = kwargs.pop("axis", 0)
        if method == "reduce" and ufunc in _REDUCE:
            keepdims = kwargs.pop("keepdims", False)
            _refuse_initial(name, kwargs.pop("initial", _NO_VALUE))
            x = _with_dtype(name, inputs[0], _ufunc_keywords(name, kwargs))
            if _REDUCE[ufunc] == "prod":
                return reductions.prod(x, axis=axis, keepdims=keepdims)
            return getattr(x, _REDUCE[ufunc])(axis=axis, keepdims=keepdims)
        if method == "accumulate" and ufunc is np.add:
            x = _with_dtype(name, inputs[0], _ufunc_keywords(name, kwargs))
            return reductions.CumSum.apply(x, axis=axis)
    raise TypeError(f"numpy.{name} has no minigrad op, so it cannot take a Tensor; use the "
                    "Tensor's methods, or .numpy() to leave the graph on purpose")
