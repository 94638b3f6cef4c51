"""Pooling over NCHW images: max_pool2d, avg_pool2d, adaptive_avg_pool2d. PyTorch's definitions.

Both pools read their windows as a strided view (see conv.py). Max pooling
remembers which input each output came from and scatters the gradient back
there (an IndexAdd, whose own backward is the matching gather); average
pooling spreads g / (kh*kw) over each window with Col2Im. Both backwards are
recorded under create_graph=True, so second derivatives are exact (zero for
max pooling's piecewise-linear map, away from ties).
"""
import numpy as np

from ... import ops
from ...engine import Function, Tensor
from ...ops import _call
from .conv import Col2Im, _geometry, _pair, _windows

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


class MaxPool2d(Function):
    """out[n, c, h, w] = max of the window at (h, w); the gradient goes to that maximum.

    Ties go to the first maximum in the window (row by row), as PyTorch's.
    """

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation):
        windows = _windows(x, kernel, stride, padding, dilation, fill=-np.inf)
        n, c, oh, ow, kh, kw = windows.shape
        flat = windows.reshape(n, c, oh, ow, kh * kw)
        tap = flat.argmax(axis=-1)
        out = np.take_along_axis(flat, tap[..., None], axis=-1)[..., 0]
        # Where each maximum sits in x, as a flat index (the padding is never a maximum).
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        rows = np.arange(oh).reshape(-1, 1) * sh + (tap // kw) * dh - ph
        cols = np.arange(ow) * sw + (tap % kw) * dw - pw
        h, w = x.shape[2:]
        planes = np.arange(n * c).reshape(n, c, 1, 1) * (h * w)
        ctx.index = (planes + rows * w + cols).ravel()
        ctx.shape = x.shape
        return out

    @staticmethod
    def backward(ctx, g):
        spread = _call(ops.IndexAdd, g.reshape(-1), shape=(int(np.prod(ctx.shape)),),
                       index=ctx.index)
        return spread.reshape(ctx.shape)


class AvgPool2d(Function):
    """out = the mean of each window of x padded with zeros (the padding counts, PyTorch's default)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        ctx.shape = x.shape
        ctx.geometry = dict(kernel=kernel, stride=stride, padding=padding, dilation=(1, 1))
        return _windows(x, kernel, stride, padding, (1, 1)).mean(axis=(-2, -1))

    @staticmethod
    def backward(ctx, g):
        n, c, oh, ow = g.shape
        taps = ctx.geometry["kernel"][0] * ctx.geometry["kernel"][1]
        share = np.full((1, 1, 1, taps), 1.0 / taps, dtype=g.dtype)
        rows = g.reshape(n, c, oh * ow).swapaxes(1, 2).reshape(n, oh * ow, c, 1) * share
        return _call(Col2Im, rows.reshape(n, oh * ow, c * taps), shape=ctx.shape, **ctx.geometry)


def _pool_args(x, kernel_size, stride, padding, where, dilation=1):
    """Checked (kernel, stride, padding, dilation) pairs for pooling x of shape (N, C, H, W)."""
    if np.ndim(x) != 4:
        raise ValueError(f"{where}: input must have shape (N, C, H, W), got shape {np.shape(x)}")
    kernel = _pair(kernel_size, "kernel_size", where, 1)
    stride = kernel if stride is None else _pair(stride, "stride", where, 1)
    padding = _pair(padding, "padding", where, 0)
    dilation = _pair(dilation, "dilation", where, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{where}: padding {padding} must be at most half the kernel "
                         f"{kernel} (PyTorch's rule: a window must not be all padding)")
    _geometry(np.shape(x)[2:], kernel, stride, padding, dilation, where)
    return kernel, stride, padding, dilation


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    """The maximum of each kernel_size window of x (N, C, H, W); stride defaults to kernel_size.

    Padding is -inf (never the maximum). Output (N, C, OH, OW),
    OH = (H + 2p - d (k - 1) - 1) // s + 1.
    """
    kernel, stride, padding, dilation = _pool_args(x, kernel_size, stride, padding, "max_pool2d",
                                                   dilation)
    return MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """The mean of each kernel_size window of x (N, C, H, W), zero padding counted.

    stride defaults to kernel_size. Output (N, C, OH, OW), OH = (H + 2p - k) // s + 1.
    """
    kernel, stride, padding, _ = _pool_args(x, kernel_size, stride, padding, "avg_pool2d")
    return AvgPool2d.apply(x, kernel=kernel, stride=stride, padding=padding)


def adaptive_avg_pool2d(x, output_size):
    """Average x (N, C, H, W) down to output_size (oh, ow) (an int means (n, n)).

    (1, 1) is the global average pool. Other sizes must divide H and W (the
    windows are then PyTorch's: equal, non-overlapping); uneven windows are
    not supported.
    """
    where = "adaptive_avg_pool2d"
    if np.ndim(x) != 4:
        raise ValueError(f"{where}: input must have shape (N, C, H, W), got shape {np.shape(x)}")
    h, w = np.shape(x)[2:]
    oh, ow = _pair(output_size, "output_size", where, 1)
    if (oh, ow) == (1, 1):
        x = x if isinstance(x, Tensor) else Tensor(x)
        return x.mean(axis=(2, 3), keepdims=True)
    if h % oh or w % ow:
        raise NotImplementedError(f"{where}: output size {(oh, ow)} must divide the input size "
                                  f"{(h, w)} (uneven windows are not supported)")
    kernel = (h // oh, w // ow)
    return AvgPool2d.apply(x, kernel=kernel, stride=kernel, padding=(0, 0))
