"""numpy's ufuncs as minigrad ops: the table `np.exp(t)`, `ndarray * t` and the operators read.

A ufunc with an op here runs as that op. One without runs on the data only
when its result carries no gradient (comparisons, logical and bitwise
operations, isfinite ...): a Tensor without gradient. Any other (a floating
result with no op) raises a TypeError, so no result leaves the graph unnoticed.
"""
import numpy as np

from ..engine import Tensor
from .activations import Tanh
from .arithmetic import Add, Div, MatMul, Mul, Neg, Pow, Sub
from .elementwise import Abs, Exp, Log, Maximum, Minimum, Sqrt
from .math import (Arctan, Cos, Cosh, Expm1, FloorDivide, Log1p, Log2, Log10, Reciprocal, Remainder,
                   Rounded, Sign, Sin, Sinh, Square, Tan)
from .rearrange import clone


def _rounded(ufunc):
    return lambda x: Rounded.apply(x, ufunc=ufunc)


UFUNC_OPS = {
    np.add: Add.apply, np.subtract: Sub.apply, np.multiply: Mul.apply, np.true_divide: Div.apply,
    np.power: Pow.apply, np.matmul: MatMul.apply, np.negative: Neg.apply, np.positive: clone,
    np.exp: Exp.apply, np.exp2: lambda x: Pow.apply(2.0, x), np.log: Log.apply,
    np.sqrt: Sqrt.apply, np.absolute: Abs.apply, np.fabs: Abs.apply, np.tanh: Tanh.apply,
    np.maximum: Maximum.apply, np.minimum: Minimum.apply, np.fmax: Maximum.apply,
    np.fmin: Minimum.apply, np.square: Square.apply, np.sin: Sin.apply, np.cos: Cos.apply,
    np.tan: Tan.apply, np.sinh: Sinh.apply, np.cosh: Cosh.apply, np.arctan: Arctan.apply,
    np.log1p: Log1p.apply, np.expm1: Expm1.apply, np.log2: Log2.apply, np.log10: Log10.apply,
    np.sign: Sign.apply, np.reciprocal: Reciprocal.apply, np.remainder: Remainder.apply,
    np.floor_divide: FloorDivide.apply, np.floor: _rounded(np.floor), np.ceil: _rounded(np.ceil),
    np.trunc: _rounded(np.trunc), np.rint: _rounded(np.rint),
}


def data_ufunc(ufunc, inputs):
    """Run a ufunc without an op on the data, if its result has no gradient; else a TypeError."""
    result = ufunc(*[x._data if isinstance(x, Tensor) else x for x in inputs])
    results = result if ufunc.nout > 1 else (result,)
    if any(np.asarray(r).dtype.kind in "fc" for r in results):
        raise TypeError(f"numpy.{ufunc.__name__} has no minigrad op, so it cannot take a Tensor; "
                        "use the Tensor's methods, or .numpy() to leave the graph on purpose")
    wrapped = tuple(Tensor(r) for r in results)
    return wrapped if ufunc.nout > 1 else wrapped[0]
