"""The fused Linear node: activation(x @ weight.T + bias), and the memory layout it works in.

A dense layer is `Z = W A + b`, `A = g(Z)` in the column layout (features x
samples) that backpropagation is usually written in; with batch-first data it
is `x @ W.T + b`. Its backward is that layout's three equations, transposed:
dZ = dA * g'(Z), dW = dZ^T x, db = the column sums of dZ, and dx = dZ W.

Linear computes the product as (W x^T)^T, which is the column layout in
memory, so the bias add, the activation and the batch sums run along
contiguous memory (`column_ordered`). `in_layout_of` lets a loss bring its
target into the same order. The activation is one of `OUTPUT_ACTIVATIONS`,
whose derivatives need only the layer's output, so the node keeps only that.
"""
import functools

import numpy as np

from ..engine import Function
from .activations import OUTPUT_ACTIVATIONS


class Linear(Function):
    """activation(x @ weight.T + bias) as one node: a dense layer, weight of shape (out, in).

    `activation` is None or a name in OUTPUT_ACTIVATIONS.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None, activation=None):
        # Every layer of every model runs this, so the checks are on the error path only.
        try:
            z = column_ordered(weight, x) if x.ndim == 2 else x @ weight.T
            if activation is not None:
                op = OUTPUT_ACTIVATIONS[activation]
        except (ValueError, KeyError):
            check_linear(x, weight, activation)
            raise
        if bias is not None:
            if type(bias) is np.ndarray and bias.dtype == z.dtype:
                z += bias      # z is a fresh product: reuse its memory
            else:
                z = z + bias
        if activation is None:
            ctx.save_for_backward(x, weight)
            return z
        ctx.derivative = op.derivative
        out = op.activate(z, out=z)
        ctx.save_for_backward(x, weight, out)   # the activation's derivative needs only its output
        return out

    @staticmethod
    def backward(ctx, g):
        saved = ctx.saved_tensors
        x, weight = saved[0], saved[1]
        if len(saved) == 3:
            g = ctx.derivative(g, saved[2])   # dZ = dA * g'(Z)
        dx, dw, db = ctx.needs_input_grad
        if type(g) is np.ndarray and g.ndim == 2 and x.ndim == 2:
            # A batch: dW = dZ^T x, db = 1^T dZ, dx = dZ W in column order. (Tensors, under
            # create_graph, take the general lines below: np.dot is for arrays.)
            return (column_ordered(weight.T, g) if dx else None,   # dA = W^T dZ
                    np.dot(g.T, x) if dw else None,                # dW = dZ A^T
                    np.dot(_ones(len(g), g.dtype), g) if db else None)   # db = sum(dZ)
        if x.ndim == 1:   # one sample: a batch of one
            x, g = x.reshape(1, -1), g.reshape(1, -1)
        return (g @ weight if dx else None,
                g.swapaxes(-1, -2) @ x if dw else None,   # stacked batches: the engine sums them
                g.sum(axis=tuple(range(g.ndim - 1))) if db else None)


def check_linear(x, weight, activation, layer="Linear"):
    """Raise the clear error for inputs Linear cannot take (or nothing, if the cause lies elsewhere).

    Parameters: x, weight (arrays or Tensors), activation (a name or None),
    layer: the name to start the message with.
    """
    if np.shape(x)[-1:] != np.shape(weight)[1:]:
        n = np.shape(x)[-1] if np.ndim(x) else "no"
        raise ValueError(f"{layer} expects inputs with {np.shape(weight)[1]} features (the last "
                         f"axis), but got an input of shape {np.shape(x)} with {n} features "
                         f"(weight of shape {np.shape(weight)})")
    if activation is not None and activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"{layer}: unknown activation {activation!r}; fused ones are "
                         f"{', '.join(OUTPUT_ACTIVATIONS)}")


@functools.lru_cache(maxsize=64)   # a training loop has one or two batch sizes; bounded otherwise
def _ones(n, dtype):
    """A read-only vector of n ones: `ones @ g` sums g's rows in one BLAS call.

    For a layer's bias gradient that is faster than g.sum(axis=0), which reduces
    in Python-level chunks rather than in one BLAS call.
    """
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones


def column_ordered(w, x):
    """x @ w.T, computed as (w @ x.T).T.

    Same numbers, but the result is the transpose of a C-ordered array: the
    column layout (features x samples). NumPy's elementwise ops keep that
    order, so the bias add, the activations and the batch sums of backward run
    along contiguous memory; for a tall, narrow batch (thousands of samples,
    a few features) that beats the row order `x @ w.T` returns. (np.dot, not @:
    for 2-D arrays it is the same product with less overhead a call.)
    """
    return np.dot(w, x.T).T


def in_layout_of(array, like):
    """`array` in the memory order of `like`, when `like` is column-ordered and `array` is not.

    Linear returns column-ordered arrays; an elementwise op between a column-
    and a row-ordered array reads one of them across memory, which costs more
    than copying it into the matching order first.
    """
    if (isinstance(array, np.ndarray) and like.ndim >= 2 and like.flags.f_contiguous
            and not like.flags.c_contiguous and not array.flags.f_contiguous):
        return np.asfortranarray(array)
    return array


def linear(x, weight, bias=None, activation=None):
    """activation(x @ weight.T + bias) as one node (PyTorch's F.linear, plus a fused activation).

    Parameters: x (..., in_features); weight (out_features, in_features);
    bias (out_features,) or None; activation None, "relu", "sigmoid" or "tanh".
    """
    return Linear.apply(x, weight, bias, activation=activation)
