"""Convolution layers Conv1d and Conv2d (NCHW), PyTorch's arguments, defaults and state-dict keys."""
import math

import numpy as np

from ..engine import Tensor
from ..validation import is_flag, is_integer
from . import functional as F
from .functional.conv import _pair, _single
from .init import kaiming_uniform_, uniform_
from ..validation import check_float_dtype
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d"]


class _ConvNd(Module):
    """What Conv1d and Conv2d share: checked settings, weight and bias, PyTorch's initialisation."""

    _spatial = 2
    _function = None

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, dtype):
        super().__init__()
        where = type(self).__name__
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not is_integer(value) or value < 1:
                raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
        if not is_integer(groups) or groups != 1:
            raise NotImplementedError(f"{where}: only groups=1 is supported, got {groups!r}")
        if not is_flag(bias):
            raise TypeError(f"{where}: bias must be True or False, got {bias!r}")
        dtype = check_float_dtype(dtype, where)
        convert = _pair if self._spatial == 2 else (lambda v, n, w, m: (_single(v, n, w, m),))
        kernel = convert(kernel_size, "kernel_size", where, 1)
        self.stride = convert(stride, "stride", where, 1)
        self.padding = convert(padding, "padding", where, 0)
        self.dilation = convert(dilation, "dilation", where, 1)
        self.in_channels, self.out_channels, self.kernel_size = int(in_channels), int(out_channels), kernel
        self.groups = 1
        # PyTorch's reset_parameters: kaiming_uniform_(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in)) for
        # the weight, and the bias from the same range.
        weight = np.empty((out_channels, in_channels) + kernel, dtype=dtype)
        kaiming_uniform_(weight, a=math.sqrt(5))
        self.weight = Parameter(weight)
        if bias:
            bound = 1 / math.sqrt(in_channels * int(np.prod(kernel)))
            self.bias = Parameter(uniform_(np.empty(out_channels, dtype=dtype), -bound, bound))
        else:
            self.register_parameter("bias", None)

    def _settings(self):
        unwrap = (lambda t: t[0]) if self._spatial == 1 else (lambda t: t)
        return dict(stride=unwrap(self.stride), padding=unwrap(self.padding),
                    dilation=unwrap(self.dilation))

    def forward(self, x):
        """The convolution of x with this layer's weight and bias."""
        if not isinstance(x, Tensor):   # data in the parameters' dtype: float32 model, float32 out
            x = np.asarray(x, dtype=self.weight.dtype)
        conv = F.conv2d if self._spatial == 2 else F.conv1d
        return conv(x, self.weight, self.bias, **self._settings())

    def extra_repr(self):
        unwrap = (lambda t: t[0]) if self._spatial == 1 else (lambda t: t)
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={unwrap(self.kernel_size)}, "
                f"stride={unwrap(self.stride)}")
        if any(self.padding):
            text += f", padding={unwrap(self.padding)}"
        if any(d != 1 for d in self.dilation):
            text += f", dilation={unwrap(self.dilation)}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """2-D convolution of (N, C_in, H, W) into (N, C_out, OH, OW); weight (C_out, C_in, kh, kw).

    stride, padding (zeros) and dilation are ints or (h, w) pairs; groups must
    be 1. Weight and bias start uniform in +-1/sqrt(C_in*kh*kw), PyTorch's
    default, drawn from minigrad's generator. dtype: the parameters' dtype.
    """

    _spatial = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, dtype=np.float64):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, dtype)


class Conv1d(_ConvNd):
    """1-D convolution of (N, C_in, L) into (N, C_out, L_out); weight (C_out, C_in, k).

    stride, padding and dilation are ints; groups must be 1. Initialised as
    PyTorch's (U(+-1/sqrt(C_in*k))).
    """

    _spatial = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, dtype=np.float64):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, dtype)
