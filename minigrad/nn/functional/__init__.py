"""Activations, losses, convolution, pooling and normalisation as functions of Tensors (or arrays).

PyTorch's names and definitions: `import minigrad.nn.functional as F`, then
`F.relu(x)`, `F.conv2d(x, w, b, padding=1)`, `F.cross_entropy(logits, y)`.
Files: activation (and dropout), loss (elementwise losses), classification
(cross_entropy, nll_loss), conv (conv1d, conv2d, pad), pooling,
normalization (batch_norm, layer_norm, embedding), erf (numpy's missing erf).

`reduction` is "mean" (the default), "sum" or "none" for every loss.
"""
from ...ops import linear
from ._checks import _check_reduction
from .activation import (_check_slope, dropout, elu, erf, gelu, identity, leaky_relu, log_softmax,
                         relu, sigmoid, silu, softmax, softsign, tanh)
from .classification import cross_entropy, nll_loss
from .conv import conv1d, conv2d, pad
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                   huber_loss, kl_div, l1_loss, mse_loss, smooth_l1_loss)
from .normalization import batch_norm, embedding, layer_norm
from .pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "identity",
           "gelu", "elu", "silu", "softsign", "erf", "dropout", "linear", "mse_loss", "l1_loss",
           "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div", "cross_entropy", "nll_loss", "conv1d",
           "conv2d", "pad", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm",
           "layer_norm", "embedding"]
