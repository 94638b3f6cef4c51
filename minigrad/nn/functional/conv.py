"""Convolution as im2col: conv1d, conv2d, their Functions, and pad. NCHW, PyTorch's definitions.

Im2Col lays out each output position's receptive field as a row (a strided
view of the padded input, copied once); the convolution is then one matrix
product with the weight reshaped to (out_channels, in_channels*kh*kw). Its
adjoint Col2Im adds rows back into an image. Each is the other's backward,
so the convolution's backward, written with them and matrix products, is
recorded under create_graph=True: derivatives of every order are exact.

    backward of out = cols(x) @ W^T + b:
        dx = col2im(g @ W)        (the transposed convolution)
        dW = sum_n g^T @ cols(x)
        db = sum of g over batch and positions
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ...engine import Function, Tensor
from ...ops import _call
from ...validation import is_integer

__all__ = ["conv1d", "conv2d", "pad"]


def _pair(value, name, where, minimum):
    """An int or a pair of ints as a pair, each >= minimum; a clear error otherwise."""
    pair = (value, value) if is_integer(value) else tuple(value) if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(is_integer(v) for v in pair):
        raise TypeError(f"{where}: {name} must be an integer or a pair of integers, got {value!r}")
    if any(v < minimum for v in pair):
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in pair)


def output_size(size, kernel, stride, padding, dilation):
    """Positions a window of `kernel` taps (spaced `dilation`) takes along a padded axis of `size`."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _geometry(in_hw, kernel, stride, padding, dilation, where):
    """(OH, OW) of a window sweep over an image of in_hw; a ValueError if the window does not fit."""
    out = tuple(output_size(n, k, s, p, d)
                for n, k, s, p, d in zip(in_hw, kernel, stride, padding, dilation))
    if min(out) < 1:
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        padded = tuple(n + 2 * p for n, p in zip(in_hw, padding))
        raise ValueError(f"{where}: the kernel {kernel} (spanning {span} with dilation {dilation}) "
                         f"is larger than the padded input {padded} (input {in_hw}, padding "
                         f"{padding})")
    return out


def _windows(x, kernel, stride, padding, dilation, fill=0.0):
    """A strided view (N, C, OH, OW, kh, kw) of the windows of x padded with `fill`."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    view = sliding_window_view(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


class Im2Col(Function):
    """(N, C, H, W) -> (N, OH*OW, C*kh*kw): row l holds the window of output position l."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation):
        ctx.shape = x.shape
        ctx.geometry = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation)
        windows = _windows(x, kernel, stride, padding, dilation)
        n, c, oh, ow, kh, kw = windows.shape
        return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n, oh * ow, c * kh * kw)

    @staticmethod
    def backward(ctx, g):
        return _call(Col2Im, g, shape=ctx.shape, **ctx.geometry)


class Col2Im(Function):
    """Im2Col's adjoint: add each row back over its window of an image of `shape` (N, C, H, W)."""

    @staticmethod
    def forward(ctx, cols, shape, kernel, stride, padding, dilation):
        ctx.geometry = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation)
        n, c, h, w = shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        oh, ow = _geometry((h, w), kernel, stride, padding, dilation, "col2im")
        blocks = cols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
        image = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
        for i in range(kh):          # one strided add per kernel tap
            for j in range(kw):
                image[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                      j * dw:j * dw + sw * (ow - 1) + 1:sw] += blocks[:, :, i, j]
        return image[:, :, ph:ph + h, pw:pw + w]

    @staticmethod
    def backward(ctx, g):
        return _call(Im2Col, g, **ctx.geometry)


class Conv2d(Function):
    """out[n, o] = sum_{c, i, j} weight[o, c, i, j] x_pad[n, c, s*h + d*i, s*w + d*j] + bias[o]."""

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
        kernel = weight.shape[2:]
        ctx.geometry = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation)
        n, out_channels = x.shape[0], weight.shape[0]
        oh, ow = _geometry(x.shape[2:], kernel, stride, padding, dilation, "conv2d")
        cols = _call(Im2Col, x, **ctx.geometry)
        ctx.shape = x.shape
        ctx.cols = cols   # reused by an ordinary backward; a recorded one rebuilds it from x
        ctx.save_for_backward(x, weight)
        out = cols @ weight.reshape(out_channels, -1).T               # (N, L, O)
        out = out.transpose(0, 2, 1).reshape(n, out_channels, oh, ow)
        if bias is not None:
            out = out + bias.reshape(-1, 1, 1)
        return np.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        n, out_channels = g.shape[:2]
        g_rows = g.reshape(n, out_channels, -1)                        # (N, O, L)
        wants_x, wants_weight, wants_bias = ctx.needs_input_grad
        d_x = d_weight = d_bias = None
        if wants_x:   # the transposed convolution: spread g through the kernel, add back
            d_cols = g_rows.swapaxes(1, 2) @ weight.reshape(out_channels, -1)
            d_x = _call(Col2Im, d_cols, shape=ctx.shape, **ctx.geometry)
        if wants_weight:
            if isinstance(g, Tensor) or isinstance(x, Tensor):
                cols = _call(Im2Col, x, **ctx.geometry)
                d_weight = (g_rows @ cols).sum(axis=0).reshape(weight.shape)
            else:
                d_weight = np.tensordot(g_rows, ctx.cols, axes=([0, 2], [0, 1])).reshape(weight.shape)
        if wants_bias:
            d_bias = g.sum(axis=(0, 2, 3))
        return d_x, d_weight, d_bias


def _check_conv_inputs(x, weight, bias, spatial, where):
    """Raise unless x, weight and bias have the ranks and channel counts a convolution needs."""
    x_shape, w_shape = np.shape(x), np.shape(weight)
    rank = 2 + spatial
    layout = "(N, C, L)" if spatial == 1 else "(N, C, H, W)"
    if len(x_shape) != rank:
        raise ValueError(f"{where}: input must have shape {layout}, got shape {x_shape}")
    if len(w_shape) != rank:
        raise ValueError(f"{where}: weight must have {rank} axes (out_channels, in_channels, "
                         f"kernel...), got shape {w_shape}")
    if x_shape[1] != w_shape[1]:
        raise ValueError(f"{where}: input of shape {x_shape} has {x_shape[1]} channels, but the "
                         f"weight of shape {w_shape} expects {w_shape[1]}")
    if bias is not None and np.shape(bias) != (w_shape[0],):
        raise ValueError(f"{where}: bias must have shape ({w_shape[0]},) for {w_shape[0]} output "
                         f"channels, got shape {np.shape(bias)}")


def _check_groups(groups, where):
    if not is_integer(groups) or groups != 1:
        raise NotImplementedError(f"{where}: only groups=1 is supported, got groups={groups!r}")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of x (N, C, H, W) with weight (O, C, kh, kw), plus bias (O,).

    stride, padding (zeros, on both sides) and dilation are ints or (h, w)
    pairs. Output (N, O, OH, OW), OH = (H + 2p - d (kh - 1) - 1) // s + 1.
    """
    where = "conv2d"
    _check_groups(groups, where)
    stride, padding = _pair(stride, "stride", where, 1), _pair(padding, "padding", where, 0)
    dilation = _pair(dilation, "dilation", where, 1)
    _check_conv_inputs(x, weight, bias, 2, where)
    _geometry(np.shape(x)[2:], np.shape(weight)[2:], stride, padding, dilation, where)
    return Conv2d.apply(x, weight, bias, stride=stride, padding=padding, dilation=dilation)


def _single(value, name, where, minimum):
    if not is_integer(value) and not (isinstance(value, (tuple, list)) and len(value) == 1):
        raise TypeError(f"{where}: {name} must be an integer, got {value!r}")
    value = value if is_integer(value) else value[0]
    return _pair(value, name, where, minimum)[0]


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of x (N, C, L) with weight (O, C, k), plus bias (O,).

    Computed as conv2d on a height-1 image. Output (N, O, L_out),
    L_out = (L + 2p - d (k - 1) - 1) // s + 1.
    """
    where = "conv1d"
    _check_groups(groups, where)
    stride, padding = _single(stride, "stride", where, 1), _single(padding, "padding", where, 0)
    dilation = _single(dilation, "dilation", where, 1)
    _check_conv_inputs(x, weight, bias, 1, where)
    n, c, length = np.shape(x)
    o, _, k = np.shape(weight)
    _geometry((1, length), (1, k), (1, stride), (0, padding), (1, dilation), where)
    out = Conv2d.apply(x.reshape(n, c, 1, length), weight.reshape(o, c, 1, k), bias,
                       stride=(1, stride), padding=(0, padding), dilation=(1, dilation))
    return out.reshape(n, o, -1)


class Pad(Function):
    """x padded with a constant; the gradient is g with the padding cut off."""

    @staticmethod
    def forward(ctx, x, widths, value=0.0):
        ctx.inside = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.inside]


def pad(x, pad, mode="constant", value=0.0):
    """Pad x with `value`: pad = (left, right) for the last axis, then (top, bottom) for the one
    before, and so on (PyTorch's order, last axis first). Only mode="constant" is supported."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is supported, got mode={mode!r}")
    shape = np.shape(x)
    if (not isinstance(pad, (tuple, list)) or len(pad) % 2 or len(pad) // 2 > len(shape)
            or not all(is_integer(p) and p >= 0 for p in pad)):
        raise ValueError(f"pad: pad must be an even-length tuple of integers >= 0, at most two per "
                         f"axis of the input of shape {shape}; got {pad!r}")
    widths = [(0, 0)] * len(shape)
    for i in range(len(pad) // 2):
        widths[len(shape) - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return Pad.apply(x, widths=tuple(widths), value=value)
