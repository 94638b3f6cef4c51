"""Normalisation layers: BatchNorm1d, BatchNorm2d and LayerNorm, PyTorch's arguments and keys.

BatchNorm keeps its running statistics as buffers (running_mean,
running_var, num_batches_tracked), so they are in state_dict under
PyTorch's keys but are not parameters. Every check of an input runs before
the running statistics change.
"""
import numpy as np

from ..validation import is_flag, is_integer, is_real_number
from . import functional as F
from ..validation import check_float_dtype
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; subclasses say which input ranks they take."""

    _ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 dtype=np.float64):
        super().__init__()
        where = type(self).__name__
        if not is_integer(num_features) or num_features < 1:
            raise ValueError(f"{where}: num_features must be a positive integer, got {num_features!r}")
        if not is_real_number(eps) or not eps >= 0:
            raise ValueError(f"{where}: eps must be a number >= 0, got {eps!r}")
        if momentum is not None and (not is_real_number(momentum) or not 0 <= momentum <= 1):
            raise ValueError(f"{where}: momentum must be a number in [0, 1] (or None for a "
                             f"cumulative average), got {momentum!r}")
        for name, value in (("affine", affine), ("track_running_stats", track_running_stats)):
            if not is_flag(value):
                raise TypeError(f"{where}: {name} must be True or False, got {value!r}")
        dtype = check_float_dtype(dtype, where)
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def forward(self, x):
        where = type(self).__name__
        shape = np.shape(x)
        if len(shape) not in self._ranks:
            raise ValueError(f"{where}: expected an input of shape {self._layout}, got shape {shape}")
        if shape[1] != self.num_features:
            raise ValueError(f"{where}: input of shape {shape} has {shape[1]} channels, but the "
                             f"layer was built for num_features={self.num_features}")
        use_batch = self.training or not self.track_running_stats
        if use_batch and np.prod(shape, dtype=np.int64) // shape[1] < 2:
            raise ValueError(f"{where}: training needs more than 1 value per channel to compute a "
                             f"variance, got input of shape {shape}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:   # a cumulative average over every batch so far
                momentum = 1.0 / int(self.num_batches_tracked)
        update = self.training and self.track_running_stats
        return F.batch_norm(x, self.running_mean if update or not use_batch else None,
                            self.running_var if update or not use_batch else None,
                            self.weight, self.bias, training=use_batch, momentum=momentum,
                            eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) per channel C.

    y = (x - mean) / sqrt(var + eps) * weight + bias, with the batch's mean and
    biased variance in training (updating running_mean and, with the unbiased
    variance, running_var: new = (1 - momentum) * old + momentum * batch;
    momentum=None gives the cumulative average) and the running statistics in
    eval mode. weight starts at 1, bias at 0.
    """

    _ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images (N, C, H, W) per channel C; otherwise as BatchNorm1d."""

    _ranks = (4,)
    _layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalise over the last axes, of shape `normalized_shape`: (x - mean) / sqrt(var + eps) * w + b.

    With elementwise_affine, weight (ones) and bias (zeros, unless bias=False)
    have shape normalized_shape.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=np.float64):
        super().__init__()
        shape = (normalized_shape,) if is_integer(normalized_shape) else tuple(normalized_shape)
        if not shape or not all(is_integer(n) and n >= 1 for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be a positive integer or a tuple "
                             f"of them, got {normalized_shape!r}")
        if not is_real_number(eps) or not eps >= 0:
            raise ValueError(f"LayerNorm: eps must be a number >= 0, got {eps!r}")
        for name, value in (("elementwise_affine", elementwise_affine), ("bias", bias)):
            if not is_flag(value):
                raise TypeError(f"LayerNorm: {name} must be True or False, got {value!r}")
        dtype = check_float_dtype(dtype, "LayerNorm")
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        if elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(np.zeros(shape, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
