"""The built-in ops: each a `Function`, its backward beside its forward.

Read it as a table of derivatives. Every backward is written only with
operations that numpy arrays and Tensors both support (arithmetic, `@`,
`.sum`, `.reshape`, numpy ufuncs, `_call` of another op), so the same lines
run on plain arrays in an ordinary backward and on Tensors, recorded, under
`create_graph=True`: second derivatives come for free. Backwards may return
gradients in a broadcast shape; the engine sums them back to each input's
shape. Saved arrays other than inputs and outputs are constants (masks,
counts) whose derivative is zero.

At the bottom, these ops become Tensor's operators and methods.
"""
import numpy as np

from .engine import Function, Tensor


def _call(op, *args, **params):
    """Run `op` on arrays (no graph) or apply it to Tensors (recorded).

    Lets a backward use another op and stay differentiable.
    """
    if any(isinstance(a, Tensor) for a in args):
        return op.apply(*args, **params)
    return op.forward(op.__new__(op), *args, **params)


def _norm_axis(axis, ndim):
    """`axis` as a sorted tuple of non-negative ints (None: all axes)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for a tensor of {ndim} dimensions")
        out.append(a % max(ndim, 1))
    return tuple(sorted(out))


def _keepdims_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


# -- arithmetic ---------------------------------------------------------------

class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        return (g * b if da else None), (g * a if db else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        return (g / b if da else None), (-g * a / (b * b) if db else None)


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        if da and isinstance(b, (int, float)) and b == 0:
            da_value = g * 0   # d(a**0)/da = 0, also at a = 0 (where b * a**(b-1) is 0 * inf)
        else:
            da_value = g * b * a ** (b - 1) if da else None
        if not db:
            return da_value, None
        # log of a Python base stays a Python float, so it cannot upcast float32
        log_a = np.log(a) if isinstance(a, (np.ndarray, Tensor)) else float(np.log(a))
        return da_value, g * out * log_a


class MatMul(Function):
    """numpy's matmul: 1-D operands are promoted to a row (left) or a column (right)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return a @ b
        except ValueError:
            raise ValueError(f"matmul: shapes {np.shape(a)} and {np.shape(b)} do not align "
                             f"(the last axis of the first must equal the "
                             f"{'only' if np.ndim(b) == 1 else 'second-to-last'} axis of the second)") from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        a2 = a.reshape(1, -1) if a_vec else a
        b2 = b.reshape(-1, 1) if b_vec else b
        if a_vec:
            g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:]) if not b_vec else g.reshape(1, 1)
        if b_vec and not a_vec:
            g = g.reshape(g.shape + (1,))
        da, db = ctx.needs_input_grad
        ga = g @ b2.swapaxes(-1, -2) if da else None       # dA = dOut B^T
        gb = a2.swapaxes(-1, -2) @ g if db else None       # dB = A^T dOut
        if gb is not None and b_vec:
            gb = gb.reshape(gb.shape[:-1])
        return ga, gb


class Linear(Function):
    """activation(x @ weight.T + bias) as one node: a Dense layer, weight of shape (out, in).

    The documents' `A = g(W A_prev + b)` in batch-first layout. `activation` is
    None or a name in OUTPUT_ACTIVATIONS: their derivatives are functions of
    their outputs, so the fused node keeps only the output, as the documents do.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None, activation=None):
        # Every layer of every model runs this, so the checks are on the error path only.
        try:
            z = _column_ordered(weight, x) if x.ndim == 2 else x @ weight.T
            if activation is not None:
                activate, ctx.activation_grad = OUTPUT_ACTIVATIONS[activation]
        except (ValueError, KeyError):
            _check_linear(x, weight, activation)
            raise
        if bias is not None:
            if type(bias) is np.ndarray and bias.dtype == z.dtype:
                z += bias      # z is a fresh product: reuse its memory
            else:
                z = z + bias
        if activation is None:
            ctx.save_for_backward(x, weight)
            return z
        out = activate(z, out=z)
        ctx.save_for_backward(x, weight, out)   # the activation's derivative needs only its output
        return out

    @staticmethod
    def backward(ctx, g):
        saved = ctx.saved_tensors
        x, weight = saved[0], saved[1]
        if len(saved) == 3:
            g = ctx.activation_grad(g, saved[2])   # dZ = dA * g'(Z)
        dx, dw, db = ctx.needs_input_grad
        if type(g) is np.ndarray and g.ndim == 2 and x.ndim == 2:
            # A batch: the documents' three equations, transposed. (Tensors, under
            # create_graph, take the general lines below: np.dot is for arrays.)
            return (_column_ordered(weight.T, g) if dx else None,   # dA = W^T dZ
                    np.dot(g.T, x) if dw else None,                 # dW = dZ A^T
                    np.dot(_ones(len(g), g.dtype), g) if db else None)   # db = sum(dZ)
        if x.ndim == 1:   # one sample: a batch of one
            x, g = x.reshape(1, -1), g.reshape(1, -1)
        return (g @ weight if dx else None,
                g.swapaxes(-1, -2) @ x if dw else None,   # stacked batches: the engine sums them
                g.sum(axis=tuple(range(g.ndim - 1))) if db else None)


def _check_linear(x, weight, activation):
    """Why Linear's forward failed, as a clear error (or nothing, if the cause lies elsewhere)."""
    if np.shape(x)[-1:] != np.shape(weight)[1:]:
        n = np.shape(x)[-1] if np.ndim(x) else 0
        raise ValueError(f"linear: input of shape {np.shape(x)} has {n} features, but the weight "
                         f"of shape {np.shape(weight)} expects {np.shape(weight)[1]}")
    if activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"linear: unknown activation {activation!r}; fused ones are "
                         f"{', '.join(OUTPUT_ACTIVATIONS)}")


def _ones(n, dtype):
    """A read-only vector of n ones: `ones @ g` sums g's rows in one BLAS call.

    For a layer's bias gradient that is 2 to 3 times faster than g.sum(axis=0).
    Kept per (n, dtype), so a training loop makes each one once.
    """
    ones = _ONES.get((n, dtype))
    if ones is None:
        ones = _ONES[n, dtype] = np.ones(n, dtype)
        ones.flags.writeable = False
    return ones


_ONES = {}


def _column_ordered(w, x):
    """x @ w.T, computed as (w @ x.T).T.

    Same numbers, but the result is the transpose of a C-ordered array: the
    documents' column layout. NumPy's elementwise ops keep that order, so the
    bias add, the activations and the batch sums of backward run along contiguous
    memory; for a tall, narrow batch (7000 x 4) that is several times faster
    than the row order `x @ w.T` returns. (np.dot, not @: for 2-D arrays it is
    the same product, and a third of a microsecond faster a call.)
    """
    return np.dot(w, x.T).T


# -- reductions ---------------------------------------------------------------

class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axes = x.shape, _norm_axis(axis, x.ndim)
        return x.sum(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        g = g.reshape(_keepdims_shape(ctx.shape, ctx.axes))
        return _call(BroadcastTo, g, shape=ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axes = x.shape, _norm_axis(axis, x.ndim)
        ctx.count = int(np.prod([x.shape[a] for a in ctx.axes]))
        return x.mean(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        g = g.reshape(_keepdims_shape(ctx.shape, ctx.axes)) / ctx.count
        return _call(BroadcastTo, g, shape=ctx.shape)


class Max(Function):
    """max over axes; ties share the gradient evenly (as PyTorch's amax)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False, _reduce=np.max):
        if x.size == 0:
            raise ValueError(f"{_reduce.__name__} of an empty tensor of shape {x.shape}")
        axes = _norm_axis(axis, x.ndim)
        out = _reduce(x, axis=axes, keepdims=True)
        mask = x == out
        ctx.weights = (mask / mask.sum(axis=axes, keepdims=True)).astype(out.dtype)   # a constant
        ctx.kept_shape = out.shape
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.kept_shape) * ctx.weights


class Min(Max):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return Max.forward(ctx, x, axis, keepdims, _reduce=np.min)


# -- shapes and indexing ------------------------------------------------------

class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                             f"into shape {tuple(np.atleast_1d(shape))}") from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes=None):
        ctx.axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(a % x.ndim for a in axes)
        return x.transpose(ctx.axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(tuple(np.argsort(ctx.axes)))


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g   # the engine sums the broadcast axes away


def _plain_index(index):
    """`index` with Tensors replaced by their arrays."""
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index._data if isinstance(index, Tensor) else index


def _is_basic(index):
    """True for indices made of ints, slices, None and Ellipsis only (no repeats possible)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis))) for i in items)


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx, g):
        return _call(IndexAdd, g, shape=ctx.shape, index=ctx.index)


class IndexAdd(Function):
    """zeros(shape) with `x` added at `index`; repeated indices accumulate. GetItem's backward."""

    @staticmethod
    def forward(ctx, x, shape, index):
        ctx.index = index
        out = np.zeros(shape, dtype=x.dtype)
        if _is_basic(index):
            out[index] = x
        else:
            np.add.at(out, index, x)
        return out

    @staticmethod
    def backward(ctx, g):
        return g[ctx.index]


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *xs, axis=0):
        if axis is None:   # numpy flattens the inputs first
            ctx.shapes = [x.shape for x in xs]
            xs = [x.reshape(-1) for x in xs]
            axis = 0
        ctx.axis = _norm_axis(axis, xs[0].ndim)[0]
        ctx.bounds = np.cumsum([0] + [x.shape[ctx.axis] for x in xs])
        return np.concatenate(xs, axis=ctx.axis)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        parts = [g[lead + (slice(lo, hi),)] for lo, hi in zip(ctx.bounds[:-1], ctx.bounds[1:])]
        if hasattr(ctx, "shapes"):
            parts = [part.reshape(shape) for part, shape in zip(parts, ctx.shapes)]
        return tuple(parts)


class Stack(Function):
    @staticmethod
    def forward(ctx, *xs, axis=0):
        out = np.stack(xs, axis=axis)
        ctx.axis = _norm_axis(axis, out.ndim)[0]
        return out

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        return tuple(g[lead + (i,)] for i in range(g.shape[ctx.axis]))


class Where(Function):
    @staticmethod
    def forward(ctx, condition, x, y):
        ctx.mask = np.asarray(condition, dtype=bool)
        return np.where(ctx.mask, x, y)

    @staticmethod
    def backward(ctx, g):
        return None, g * ctx.mask, g * ~ctx.mask


class Maximum(Function):
    """Elementwise max; at ties each side gets half the gradient (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b, _pick=np.maximum):
        out = _pick(a, b)
        # 1 where a won, 0.5 at a tie; in out's dtype so float32 stays float32
        ctx.share_a = ((a == out) * 0.5 + (b != out) * 0.5).astype(np.result_type(out))
        return out

    @staticmethod
    def backward(ctx, g):
        return g * ctx.share_a, g * (1 - ctx.share_a)


class Minimum(Maximum):
    @staticmethod
    def forward(ctx, a, b):
        return Maximum.forward(ctx, a, b, _pick=np.minimum)


# -- elementwise functions ----------------------------------------------------

class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * out


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / x


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g / (2 * out)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.sign = np.sign(x)   # 0 at 0, as PyTorch
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.sign


class Clip(Function):
    @staticmethod
    def forward(ctx, x, a_min=None, a_max=None):
        if a_min is None and a_max is None:
            raise ValueError("clip needs a_min or a_max")
        ctx.inside = np.ones(x.shape, dtype=bool)
        if a_min is not None:
            ctx.inside &= x >= a_min
        if a_max is not None:
            ctx.inside &= x <= a_max
        return np.clip(x, a_min, a_max)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.inside


# Activations whose derivative is a function of their output. Each is a node of its
# own, and Linear fuses them; forward(z, out=None) may write into `out`.

def _relu(x, out=None):
    return np.maximum(x, 0, out=out)


def _relu_grad(g, out):
    return g * (out > 0)


def _sigmoid_grad(g, out):
    return g * out * (1 - out)


def _tanh_grad(g, out):
    return g * (1 - out * out)


class ReLU(Function):
    @staticmethod
    def forward(ctx, x):
        out = _relu(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return _relu_grad(g, out)


class LeakyReLU(Function):
    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.slope = np.where(x > 0, 1.0, negative_slope).astype(x.dtype)
        return x * ctx.slope

    @staticmethod
    def backward(ctx, g):
        return g * ctx.slope


def _sigmoid(x, out=None):
    """1 / (1 + exp(-x)), accurate for every x and never overflowing.

    Where exp(-x) would overflow, sigmoid(x) is below the smallest normal float
    anyway, so x is first raised to that bound; each later step works in place.
    """
    dtype = x.dtype if type(x) is np.ndarray else np.result_type(x)
    out = np.maximum(x, _EXP_FLOOR.get(dtype, -708.0), out=out)
    if type(out) is not np.ndarray:
        out = np.asarray(out)   # a 0-d input gives a numpy scalar, which has no `out=`
    np.negative(out, out=out)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


# The most negative x whose exp(-x) is still finite, per float type.
_EXP_FLOOR = {np.dtype(np.float32): -88.0, np.dtype(np.float16): -11.0}

# name -> (activation, its derivative given the gradient and the activation's output)
OUTPUT_ACTIVATIONS = {"relu": (_relu, _relu_grad), "sigmoid": (_sigmoid, _sigmoid_grad),
                      "tanh": (np.tanh, _tanh_grad)}


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        out = _sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return _sigmoid_grad(g, out)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return _tanh_grad(g, out)


class Softplus(Function):
    """log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) so it never overflows."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * _call(Sigmoid, x)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return out * (g - (g * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g - np.exp(out) * g.sum(axis=ctx.axis, keepdims=True)


# -- module-level functions ---------------------------------------------------

def concatenate(tensors, axis=0):
    """numpy.concatenate for Tensors."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """numpy.stack for Tensors."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    return Stack.apply(*tensors, axis=axis)


def where(condition, x, y):
    """numpy.where(condition, x, y); the gradient flows to x where condition holds, else to y."""
    return Where.apply(condition._data if isinstance(condition, Tensor) else condition, x, y)


def maximum(a, b):
    return Maximum.apply(a, b)


def minimum(a, b):
    return Minimum.apply(a, b)


def linear(x, weight, bias=None, activation=None):
    """activation(x @ weight.T + bias), one node; weight of shape (out_features, in_features)."""
    return Linear.apply(x, weight, bias, activation=activation)


def broadcast_to(x, shape):
    return BroadcastTo.apply(x, shape=tuple(shape))


# -- Tensor's operators and methods are these ops -----------------------------

def _shape_args(args):
    """numpy accepts reshape(2, 3) and reshape((2, 3)); so do we."""
    return args[0] if len(args) == 1 and not isinstance(args[0], (int, np.integer)) else args


def _compare(ufunc):
    def compare(self, other):
        return Tensor(ufunc(self._data, other._data if isinstance(other, Tensor) else other))
    return compare


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """Lets numpy ufuncs take Tensors: `ndarray * tensor` and `np.exp(tensor)` stay in the graph."""
    op = _UFUNC_OPS.get(ufunc)
    if method != "__call__" or kwargs or op is None:
        raise TypeError(f"numpy's {ufunc.__name__}{'' if method == '__call__' else '.' + method} "
                        f"{'with ' + ', '.join(kwargs) + ' ' if kwargs else ''}has no minigrad op; "
                        "use the Tensor's methods, or .numpy() to leave the graph")
    return op(*inputs)


_UFUNC_OPS = {
    np.add: Add.apply, np.subtract: Sub.apply, np.multiply: Mul.apply,
    np.true_divide: Div.apply, np.power: Pow.apply, np.matmul: MatMul.apply,
    np.negative: Neg.apply, np.exp: Exp.apply, np.log: Log.apply, np.sqrt: Sqrt.apply,
    np.absolute: Abs.apply, np.tanh: Tanh.apply, np.maximum: Maximum.apply,
    np.minimum: Minimum.apply,
    np.less: _compare(np.less), np.less_equal: _compare(np.less_equal),
    np.greater: _compare(np.greater), np.greater_equal: _compare(np.greater_equal),
    np.equal: _compare(np.equal), np.not_equal: _compare(np.not_equal),
}


def _bind():
    T = Tensor
    T.__array_ufunc__ = _array_ufunc
    T.__add__ = lambda a, b: Add.apply(a, b)
    T.__radd__ = lambda a, b: Add.apply(b, a)
    T.__sub__ = lambda a, b: Sub.apply(a, b)
    T.__rsub__ = lambda a, b: Sub.apply(b, a)
    T.__mul__ = lambda a, b: Mul.apply(a, b)
    T.__rmul__ = lambda a, b: Mul.apply(b, a)
    T.__truediv__ = lambda a, b: Div.apply(a, b)
    T.__rtruediv__ = lambda a, b: Div.apply(b, a)
    T.__pow__ = lambda a, b: Pow.apply(a, b)
    T.__rpow__ = lambda a, b: Pow.apply(b, a)
    T.__matmul__ = lambda a, b: MatMul.apply(a, b)
    T.__rmatmul__ = lambda a, b: MatMul.apply(b, a)
    T.__neg__ = lambda a: Neg.apply(a)
    T.__abs__ = lambda a: Abs.apply(a)
    T.__getitem__ = lambda a, index: GetItem.apply(a, index=_plain_index(index))
    T.__lt__, T.__le__ = _compare(np.less), _compare(np.less_equal)
    T.__gt__, T.__ge__ = _compare(np.greater), _compare(np.greater_equal)
    T.__eq__, T.__ne__ = _compare(np.equal), _compare(np.not_equal)

    T.sum = lambda a, axis=None, keepdims=False: Sum.apply(a, axis=axis, keepdims=keepdims)
    T.mean = lambda a, axis=None, keepdims=False: Mean.apply(a, axis=axis, keepdims=keepdims)
    T.max = lambda a, axis=None, keepdims=False: Max.apply(a, axis=axis, keepdims=keepdims)
    T.min = lambda a, axis=None, keepdims=False: Min.apply(a, axis=axis, keepdims=keepdims)
    T.argmax = lambda a, axis=None: Tensor(a._data.argmax(axis=axis))
    T.argmin = lambda a, axis=None: Tensor(a._data.argmin(axis=axis))
    T.reshape = lambda a, *shape: Reshape.apply(a, shape=_shape_args(shape))
    T.flatten = lambda a: Reshape.apply(a, shape=(-1,))
    T.transpose = lambda a, *axes: Transpose.apply(a, axes=_shape_args(axes) if axes else None)
    T.T = property(lambda a: Transpose.apply(a))
    T.swapaxes = _swapaxes
    T.exp = lambda a: Exp.apply(a)
    T.log = lambda a: Log.apply(a)
    T.sqrt = lambda a: Sqrt.apply(a)
    T.abs = lambda a: Abs.apply(a)
    T.clip = lambda a, a_min=None, a_max=None: Clip.apply(a, a_min=a_min, a_max=a_max)
    T.relu = lambda a: ReLU.apply(a)
    T.leaky_relu = lambda a, negative_slope=0.01: LeakyReLU.apply(a, negative_slope=negative_slope)
    T.sigmoid = lambda a: Sigmoid.apply(a)
    T.tanh = lambda a: Tanh.apply(a)
    T.softplus = lambda a: Softplus.apply(a)
    T.softmax = lambda a, axis=-1: Softmax.apply(a, axis=axis)
    T.log_softmax = lambda a, axis=-1: LogSoftmax.apply(a, axis=axis)


def _swapaxes(a, axis1, axis2):
    axes = list(range(a.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return Transpose.apply(a, axes=tuple(axes))


_bind()
