"""More elementwise math: trigonometry, logs and exps near 1, squares, signs, % and //.

Each backward is written with operations arrays and Tensors share, so it is
differentiable again under create_graph.
"""
import numpy as np

from ..engine import Function


class Square(Function):
    """x ** 2; d/dx = 2 x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.square(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 2 * x


class Sin(Function):
    """sin(x); d/dx = cos(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * np.cos(x)


class Cos(Function):
    """cos(x); d/dx = -sin(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return -g * np.sin(x)


class Tan(Function):
    """tan(x); d/dx = 1 + tan(x)**2."""

    @staticmethod
    def forward(ctx, x):
        out = np.tan(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * (1 + out * out)


class Sinh(Function):
    """sinh(x); d/dx = cosh(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sinh(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * np.cosh(x)


class Cosh(Function):
    """cosh(x); d/dx = sinh(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cosh(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * np.sinh(x)


class Arctan(Function):
    """arctan(x); d/dx = 1 / (1 + x**2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arctan(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (1 + x * x)


class Log1p(Function):
    """log(1 + x), accurate near 0; d/dx = 1 / (1 + x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (1 + x)


class Expm1(Function):
    """exp(x) - 1, accurate near 0; d/dx = exp(x) = out + 1."""

    @staticmethod
    def forward(ctx, x):
        out = np.expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * (out + 1)


class Log2(Function):
    """log2(x); d/dx = 1 / (x ln 2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log2(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (x * np.log(2.0))


class Log10(Function):
    """log10(x); d/dx = 1 / (x ln 10)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log10(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (x * np.log(10.0))


class Reciprocal(Function):
    """1 / x; d/dx = -1 / x**2 = -out**2."""

    @staticmethod
    def forward(ctx, x):
        out = np.reciprocal(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return -g * out * out


class Sign(Function):
    """sign(x): -1, 0 or 1; its gradient is 0 everywhere (as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        return np.sign(x)

    @staticmethod
    def backward(ctx, g):
        return g * 0


class Remainder(Function):
    """a % b with the sign of b (Python's and numpy's %, PyTorch's remainder).

    a % b = a - floor(a / b) b, so d/da = 1 and d/db = -floor(a / b) (as PyTorch).
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.quotient = np.floor_divide(a, b)   # a constant: piecewise, its derivative is 0
        return np.remainder(a, b)

    @staticmethod
    def backward(ctx, g):
        da, db = ctx.needs_input_grad
        return (g if da else None), (-g * ctx.quotient if db else None)


class FloorDivide(Function):
    """floor(a / b) (Python's and numpy's //); piecewise constant, so its gradient is 0 (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        return np.floor_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        da, db = ctx.needs_input_grad
        return (g * 0 if da else None), (g * 0 if db else None)


class Rounded(Function):
    """floor, ceil, trunc, rint or round of x (the numpy function `ufunc`); piecewise constant,
    so the gradient is 0 (as PyTorch)."""

    @staticmethod
    def forward(ctx, x, ufunc):
        return ufunc(x)

    @staticmethod
    def backward(ctx, g):
        return g * 0
