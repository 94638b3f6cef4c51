"""The built-in ops: each a `Function`, its backward beside its forward.

Read them as a table of derivatives. Every backward is written only with
operations that numpy arrays and Tensors both support (arithmetic, `@`,
`.sum`, `.reshape`, numpy ufuncs, `call` of another op), so the same lines
run on plain arrays in an ordinary backward and on Tensors, recorded, under
`create_graph=True`: second derivatives come for free. Backwards may return
gradients in a broadcast shape; the engine sums them back to each input's
shape.

- `arithmetic.py`: + - * / ** @ and negation.
- `elementwise.py`: exp, log, sqrt, abs, clip, where, maximum, minimum, casts.
- `activations.py`: relu, sigmoid, tanh (the table Linear fuses), softmax ...
- `reductions.py`: sum, mean, max, min.
- `shape.py`: reshape, transpose, broadcasting, indexing, concatenate, stack.
- `linear.py`: the fused dense layer and its memory layout.
- `math.py`: sin, cos, tan, log1p, expm1, log2, log10, square, sign, reciprocal, % and //.
- `rearrange.py`: squeeze, expand_dims, flip, repeat, tile, split, pad, diag, trace, clone.
- `products.py`: einsum (gradients as einsums), dot, inner, outer.
- `norms.py`: numpy.linalg.norm's vector and matrix norms.
- `factories.py`: tensor, zeros, ones, full, arange, linspace, eye, rand, randn ...
- `tensor_methods.py`, `tensor_api.py`: these ops as Tensor's operators and methods.
- `boundary.py`: np.asarray / np.array, float(), int(), format() and iteration of a Tensor.
- `ufuncs.py`, `numpy_functions.py`: numpy's ufuncs and functions on Tensors run as these
  ops, or raise a TypeError: never a silent ndarray.
- `in_place.py`: `x += y` and `x[i] = v`, recorded in the graph when they must be.
"""
from .activations import (OUTPUT_ACTIVATIONS, LeakyReLU, LogSoftmax, OutputActivation, ReLU,
                          Sigmoid, Softmax, Softplus, Tanh)
from .arithmetic import Add, Div, MatMul, Mul, Neg, Pow, Sub
from .base import call
from .elementwise import (Abs, Cast, Clip, Exp, Log, Maximum, Minimum, Sqrt, Where, maximum,
                          minimum, where)
from .linear import Linear, linear
from .reductions import CumSum, Max, Mean, Min, Sum, cumsum, logsumexp, prod, std, var
from .math import (Arctan, Cos, Cosh, Expm1, FloorDivide, Log1p, Log2, Log10, Reciprocal, Remainder,
                   Rounded, Sign, Sin, Sinh, Square, Tan)
from .rearrange import (Clone, Pad, array_split, clone, diag, diagonal, expand_dims, flip, moveaxis,
                        pad, ravel, repeat, split, squeeze, swapaxes, tile, trace)
from .products import Einsum, dot, einsum, inner, outer
from .norms import Norm2, norm
from .factories import (arange, empty, eye, full, full_like, linspace, ones, ones_like, rand, randn,
                        tensor, zeros, zeros_like)
from .shape import (BroadcastTo, Concatenate, GetItem, IndexAdd, Reshape, Stack, Transpose,
                    broadcast_to, concatenate, stack)
from .in_place import SetItem
from . import in_place, tensor_methods

tensor_methods.bind()
in_place.bind()

_call = call   # the name nn and older code use
