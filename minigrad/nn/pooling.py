"""Pooling layers MaxPool2d, AvgPool2d and AdaptiveAvgPool2d (NCHW), PyTorch's arguments."""
from . import functional as F
from .functional.conv import _pair
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


class MaxPool2d(Module):
    """The maximum of each kernel_size window; stride defaults to kernel_size, padding is -inf."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        super().__init__()
        where = "MaxPool2d"
        self.kernel_size = _pair(kernel_size, "kernel_size", where, 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", where, 1)
        self.padding = _pair(padding, "padding", where, 0)
        self.dilation = _pair(dilation, "dilation", where, 1)

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}")


class AvgPool2d(Module):
    """The mean of each kernel_size window (zero padding counted); stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        where = "AvgPool2d"
        self.kernel_size = _pair(kernel_size, "kernel_size", where, 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", where, 1)
        self.padding = _pair(padding, "padding", where, 0)

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average down to output_size (an int n means (n, n)); (1, 1) is the global average pool."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = _pair(output_size, "output_size", "AdaptiveAvgPool2d", 1)

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
