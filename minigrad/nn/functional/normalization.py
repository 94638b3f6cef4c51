"""batch_norm, layer_norm and embedding, PyTorch's definitions.

The normalisations are compositions of minigrad ops (mean, subtraction,
sqrt, division), so their gradients, of every order, follow from the ops'.
batch_norm updates the running statistics in place, with the batch's
unbiased variance, as PyTorch does; every check runs before that update.
"""
import numpy as np

from ... import ops
from ...engine import Function, Tensor
from ...ops import _call
from ...validation import is_integer, is_real_number

__all__ = ["batch_norm", "layer_norm", "embedding"]


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _check_vector(name, value, size, where):
    if value is not None and np.shape(value) != (size,):
        raise ValueError(f"{where}: {name} must have shape ({size},), got shape {np.shape(value)}")


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Normalise each channel (axis 1) of x (N, C) or (N, C, ...) over the other axes.

    y = (x - mean) / sqrt(var + eps) * weight + bias. In training, mean and
    (biased) var are the batch's, and the running statistics (numpy arrays,
    or None) become (1 - momentum) * running + momentum * batch, the running
    variance taking the unbiased batch variance. Otherwise the running
    statistics normalise.
    """
    where = "batch_norm"
    shape = np.shape(x)
    if len(shape) < 2:
        raise ValueError(f"{where}: input must have shape (N, C) or (N, C, ...), got shape {shape}")
    channels = shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        _check_vector(name, value, channels, where)
    if not is_real_number(momentum) or not 0 <= momentum <= 1:
        raise ValueError(f"{where}: momentum must be a number in [0, 1], got {momentum!r}")
    if not is_real_number(eps) or not eps >= 0:
        raise ValueError(f"{where}: eps must be a number >= 0, got {eps!r}")
    axes = (0,) + tuple(range(2, len(shape)))
    count = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    if training and count < 2:
        raise ValueError(f"{where}: training needs more than 1 value per channel to compute a "
                         f"variance, got input of shape {shape}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError(f"{where}: without training, running_mean and running_var are needed")
    broadcast = (1, channels) + (1,) * (len(shape) - 2)
    x = _as_tensor(x)
    if training:
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=axes, keepdims=True)
        if running_mean is not None:   # in place, so the module's buffers see it
            batch_mean = mean.data.reshape(channels)
            running_mean *= 1 - momentum
            running_mean += momentum * batch_mean.astype(running_mean.dtype)
        if running_var is not None:
            unbiased = var.data.reshape(channels) * (count / (count - 1))
            running_var *= 1 - momentum
            running_var += momentum * unbiased.astype(running_var.dtype)
        out = centred / np.sqrt(var + eps)
    else:
        scale = 1 / np.sqrt(running_var.astype(x.dtype) + eps)
        out = (x - running_mean.astype(x.dtype).reshape(broadcast)) * scale.reshape(broadcast)
    if weight is not None:
        out = out * weight.reshape(broadcast)
    if bias is not None:
        out = out + bias.reshape(broadcast)
    return out


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise x over its last len(normalized_shape) axes: (x - mean) / sqrt(var + eps) * w + b.

    var is the biased variance; weight and bias have shape normalized_shape.
    """
    where = "layer_norm"
    normalized_shape = (normalized_shape,) if is_integer(normalized_shape) else tuple(normalized_shape)
    shape = np.shape(x)
    k = len(normalized_shape)
    if k == 0 or shape[len(shape) - k:] != normalized_shape or len(shape) < k:
        raise ValueError(f"{where}: the input's last axes must be normalized_shape "
                         f"{normalized_shape}, got an input of shape {shape}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and np.shape(value) != normalized_shape:
            raise ValueError(f"{where}: {name} must have shape {normalized_shape}, got shape "
                             f"{np.shape(value)}")
    axes = tuple(range(len(shape) - k, len(shape)))
    x = _as_tensor(x)
    centred = x - x.mean(axis=axes, keepdims=True)
    var = (centred * centred).mean(axis=axes, keepdims=True)
    out = centred / np.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


class EmbeddingLookup(Function):
    """weight[indices]: row i of the output is row indices[i] of the table.

    The gradient adds each output row back into its table row (repeated
    indices accumulate); rows of `padding_idx` get none.
    """

    @staticmethod
    def forward(ctx, weight, indices=None, padding_idx=None):
        ctx.shape, ctx.indices = weight.shape, indices
        ctx.keep = None if padding_idx is None else (indices != padding_idx)[..., None]
        return weight[indices]

    @staticmethod
    def backward(ctx, g):
        if ctx.keep is not None:
            g = g * ctx.keep
        return _call(ops.IndexAdd, g, shape=ctx.shape, index=ctx.indices)


def embedding(indices, weight, padding_idx=None):
    """Rows of `weight` (num_embeddings, dim) picked by integer `indices` of any shape.

    Output shape indices.shape + (dim,). Rows equal to padding_idx receive no
    gradient.
    """
    where = "embedding"
    values = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if values.dtype.kind not in "iu":
        raise TypeError(f"{where}: indices must be integers, got dtype {values.dtype}")
    rows = np.shape(weight)[0]
    bad = (values < 0) | (values >= rows)
    if bad.any():
        raise ValueError(f"{where}: index {values[bad].flat[0]} is out of range for an embedding "
                         f"of {rows} rows (indices run from 0 to {rows - 1})")
    if padding_idx is not None:
        padding_idx = _padding_index(padding_idx, rows, where)
    return EmbeddingLookup.apply(weight, indices=values, padding_idx=padding_idx)


def _padding_index(padding_idx, rows, where):
    """padding_idx in [-rows, rows) as a non-negative index (PyTorch allows negative ones)."""
    if not is_integer(padding_idx) or not -rows <= padding_idx < rows:
        raise ValueError(f"{where}: padding_idx must be an integer in [{-rows}, {rows}), got "
                         f"{padding_idx!r}")
    return int(padding_idx) % rows
