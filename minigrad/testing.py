"""Property-test an op in a few lines: hypothesis strategies and a gradient check.

This module needs `hypothesis` (``pip install "minigrad[test]"``); nothing
else in minigrad imports it.

- Strategies: `shapes`, `broadcastable_shapes`, `arrays`, `tensors`,
  `broadcastable_tensors`, `untied_arrays` and `untied_tensors` (no two
  values close, for max-like ops), `axes`.
- `assert_gradients(fn, *inputs)`: gradcheck, then gradgradcheck, with an
  assertion message that names the function and the inputs.
- `assert_values(fn, reference, *inputs)`: forward values, shape and dtype
  against a numpy reference.
- `check_op(fn, inputs, reference=...)`: all of the above as a ready-made
  hypothesis test.

Worked example: a user-defined op, checked in three lines (put it in a file
`test_cube.py` and run ``pytest``)::

    import minigrad as mg
    from minigrad.testing import check_op, tensors

    class Cube(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 3 * x * x     # Tensor-friendly, so second order works too

    test_cube = check_op(Cube.apply, tensors(), reference=lambda x: x ** 3)

`check_op` draws float64 tensors of small shapes, compares `Cube.apply(x)`
with `x ** 3` in numpy, and checks first and second derivatives against
central finite differences. Ops with several inputs or with parameters draw
a tuple; Tensors and float arrays in it are differentiated, anything else
(an axis, a flag) is passed through as a constant::

    import hypothesis.strategies as st
    import numpy as np
    from minigrad.testing import axes, broadcastable_tensors, shapes, untied_tensors

    test_mul = check_op(lambda a, b: a * b, broadcastable_tensors(2), reference=np.multiply)

    def sum_of(x, axis, keepdims):        # the same call works on Tensors and on arrays
        return x.sum(axis=axis, keepdims=keepdims)

    test_sum = check_op(sum_of, shapes().flatmap(
        lambda s: st.tuples(tensors(s), axes(len(s)), st.booleans())), reference=sum_of)

    test_max = check_op(lambda x: x.max(), untied_tensors(shapes()), reference=np.max)

Inside your own hypothesis test, call `assert_gradients(fn, *inputs)` and
`assert_values(fn, reference, *inputs)` directly.

Kinks are avoided by drawing data away from them, not by loosening the
tolerances: `tensors(avoid=(0,))` for relu or abs, `tensors(low=0.1)` for log,
`untied_tensors` for max, where two equal values make the derivative undefined.
"""
import re
import warnings

import numpy as np
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
from hypothesis import given, settings
from hypothesis.strategies import SearchStrategy

from .engine import Tensor, graph_nodes
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["shapes", "broadcastable_shapes", "arrays", "tensors", "broadcastable_tensors",
           "untied_arrays", "untied_tensors", "axes", "assert_gradients", "assert_values",
           "check_op"]


def _strategy(value):
    return value if isinstance(value, SearchStrategy) else st.just(value)


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------

def shapes(*, min_dims=0, max_dims=4, min_side=1, max_side=4):
    """Small array shapes: 0 to 4 dimensions of 1 to 4 elements by default."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(n=2, *, min_dims=0, max_dims=4, min_side=1, max_side=4):
    """Tuples of `n` shapes that broadcast together under numpy's rules."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda drawn: drawn.input_shapes)


def _float_elements(low, high, dtype, avoid, margin):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"arrays() draws floating-point data, not {dtype}")
    width = 8 * dtype.itemsize
    if width < 64:
        # hypothesis wants bounds exactly representable in the narrower float: round inwards.
        low32, high32 = dtype.type(low), dtype.type(high)
        low = float(low32 if low32 >= low else np.nextafter(low32, dtype.type(np.inf)))
        high = float(high32 if high32 <= high else np.nextafter(high32, dtype.type(-np.inf)))
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=width)
    if avoid:
        points = tuple(float(p) for p in avoid)
        elements = elements.filter(lambda v: all(abs(v - p) >= margin for p in points))
    return elements


def arrays(shape=None, low=-3.0, high=3.0, dtype=np.float64, *, avoid=(), margin=0.1):
    """Float arrays of `shape` (a tuple or a strategy; default `shapes()`), values in [low, high].

    `avoid` lists points where the op is not differentiable (0 for relu, the
    bounds of clip); no value is drawn within `margin` of them.
    """
    shape = shapes() if shape is None else shape
    return hnp.arrays(np.dtype(dtype), _strategy(shape),
                      elements=_float_elements(low, high, dtype, avoid, margin))


def tensors(shape=None, low=-3.0, high=3.0, dtype=np.float64, *, avoid=(), margin=0.1,
            requires_grad=True):
    """Tensors (float64, requires_grad=True unless told otherwise) of `arrays(shape, ...)`."""
    return arrays(shape, low, high, dtype, avoid=avoid, margin=margin).map(
        lambda data: Tensor(data, requires_grad=requires_grad))


def broadcastable_tensors(n=2, low=-3.0, high=3.0, dtype=np.float64, *, avoid=(), margin=0.1,
                          max_dims=4, max_side=4):
    """Tuples of `n` tensors whose shapes broadcast together (for binary ops like `+`)."""
    def build(shape_tuple):
        return st.tuples(*[tensors(s, low, high, dtype, avoid=avoid, margin=margin)
                           for s in shape_tuple])
    return broadcastable_shapes(n, max_dims=max_dims, max_side=max_side).flatmap(build)


@st.composite
def untied_arrays(draw, *shapes_, low=-3.0, high=3.0, dtype=np.float64):
    """A tuple of arrays, one per shape, in which no two values (across all arrays) are close.

    For ops whose derivative is undefined at ties (max, min, maximum, sort):
    the values are a drawn permutation of evenly spaced points in [low, high],
    each moved by at most a quarter of the spacing, so any two differ by at
    least half the spacing, far more than a finite-difference step.
    """
    drawn = [draw(_strategy(s)) for s in shapes_]
    sizes = [int(np.prod(s)) for s in drawn]
    total = sum(sizes)
    order = np.asarray(draw(st.permutations(range(total))), dtype=np.float64)
    jitter = draw(hnp.arrays(np.float64, total, elements=st.floats(-0.25, 0.25)))
    values = (low + (order + 0.5 + jitter) * (high - low) / max(total, 1)).astype(dtype)
    bounds = np.cumsum([0] + sizes)
    return tuple(values[lo:hi].reshape(s) for lo, hi, s in zip(bounds[:-1], bounds[1:], drawn))


def untied_tensors(*shapes_, low=-3.0, high=3.0, dtype=np.float64):
    """`untied_arrays` as a tuple of Tensors with requires_grad=True."""
    return untied_arrays(*shapes_, low=low, high=high, dtype=dtype).map(
        lambda drawn: tuple(Tensor(a, requires_grad=True) for a in drawn))


def axes(ndim, *, allow_none=True, allow_int=True, allow_tuple=True):
    """Valid `axis` arguments for an array of `ndim` dimensions.

    None, an int in [-ndim, ndim), or a tuple of distinct axes (each maybe
    written as a negative int), as numpy's reductions accept.
    """
    options = []
    if allow_none:
        options.append(st.none())
    if allow_int and ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
    if allow_tuple:
        distinct = st.lists(st.integers(0, max(ndim - 1, 0)), unique=True, max_size=ndim)
        options.append(distinct.flatmap(
            lambda chosen: st.tuples(*[st.sampled_from((a, a - ndim)) for a in chosen])))
    if not options:
        raise ValueError(f"no kind of axis allowed for ndim={ndim}")
    return st.one_of(options)


# ---------------------------------------------------------------------------
# Assertions
# ---------------------------------------------------------------------------

def _is_differentiable(value):
    return isinstance(value, (Tensor, np.ndarray)) and np.dtype(value.dtype).kind == "f"


def _describe(inputs):
    parts = []
    for a in inputs:
        if _is_differentiable(a):
            kind = "Tensor" if isinstance(a, Tensor) else "array"
            parts.append(f"{kind} of shape {a.shape} ({a.dtype})")
        else:
            parts.append(repr(a))
    return ", ".join(parts)


def _name(fn):
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, type):              # a classmethod such as MyOp.apply
        return f"{owner.__name__}.{fn.__name__}"
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _origin(fn):
    """Where fn was written, to tell lambdas apart."""
    code = getattr(fn, "__code__", None)
    return (code.co_filename, code.co_firstlineno) if code is not None else None


def assert_gradients(fn, *inputs, second_order=True, **tolerances):
    """Assert that fn's first (and, if `second_order`, second) derivatives match finite differences.

    `inputs` are passed to `fn` in order. Tensors and float arrays among them
    are checked (those that require grad, if any do; all of them otherwise),
    in float64; anything else (ints, None, tuples, integer index arrays) is
    passed through unchanged. `tolerances` go to `minigrad.gradcheck` and
    `minigrad.gradgradcheck` (eps, atol, rtol, seed, fast_mode). A failure
    names a Jacobian entry (output element, input element, analytic and
    numeric values) and the first op whose backward is wrong.

    >>> x = Tensor([0.5, -1.0], requires_grad=True)
    >>> assert_gradients(lambda x: (x * x).sum(), x)
    """
    positions = [i for i, a in enumerate(inputs) if _is_differentiable(a)]
    if not positions:
        raise ValueError("assert_gradients needs at least one Tensor or float array input")

    def call(*checked):
        full = list(inputs)
        for p, t in zip(positions, checked):
            full[p] = t
        return fn(*full)

    checked = [inputs[p] for p in positions]
    for order, check in (("first", gradcheck), ("second", gradgradcheck)):
        if order == "second" and not second_order:
            break
        if order == "second" and _first_order_only_ops(call, checked):
            warnings.warn(f"{_name(fn)}: second derivatives not checked: "
                          f"{', '.join(_first_order_only_ops(call, checked))}.backward is marked "
                          "once_differentiable (first order only)", stacklevel=2)
            break
        try:
            check(call, checked, **tolerances)
        except GradcheckError as error:
            raise GradcheckError(f"{order}-order gradients of {_name(fn)} are wrong for inputs "
                                 f"({_describe(inputs)}):\n{error}") from None


def _first_order_only_ops(call, checked):
    """Names of the ops in call(*checked)'s graph whose backward is marked once_differentiable."""
    outs = call(*[Tensor(t.data if isinstance(t, Tensor) else t, requires_grad=True)
                  for t in checked])
    outs = outs if isinstance(outs, tuple) else (outs,)
    roots = [o for o in outs if isinstance(o, Tensor) and o.requires_grad]
    return sorted({type(node).__name__ for node in graph_nodes(*roots)
                   if getattr(node.backward, "once_differentiable", False)})


def assert_values(fn, reference, *inputs, rtol=1e-7, atol=1e-12):
    """Assert that fn(*inputs) has the values, shape and dtype of reference(*arrays).

    `reference` gets the same arguments with every Tensor replaced by its
    numpy array. For an op with several outputs, `fn` and `reference` return
    tuples, compared output by output.
    """
    outs = fn(*inputs)
    expected = reference(*[a.data if isinstance(a, Tensor) else a for a in inputs])
    single = not isinstance(outs, tuple)
    outs, expected = ((outs,), (expected,)) if single else (outs, tuple(expected))
    assert len(outs) == len(expected), \
        f"{_name(fn)} returned {len(outs)} outputs, the reference {len(expected)}"
    for k, (out, reference_value) in enumerate(zip(outs, expected)):
        if not isinstance(out, Tensor):
            raise AssertionError(f"{_name(fn)} returned {type(out).__name__}, not a Tensor")
        reference_value = np.asarray(reference_value)
        where = f"{_name(fn)}{'' if single else f' output {k}'} on ({_describe(inputs)})"
        assert out.shape == reference_value.shape, \
            f"{where}: shape {out.shape}, but the reference gives {reference_value.shape}"
        assert out.dtype == reference_value.dtype, \
            f"{where}: dtype {out.dtype}, but the reference gives {reference_value.dtype}"
        np.testing.assert_allclose(out.data, reference_value, rtol=rtol, atol=atol, err_msg=where)


def check_op(fn, inputs, *, reference=None, second_order=True, max_examples=25, **tolerances):
    """A hypothesis test of `fn` on examples drawn from `inputs`; assign it to a `test_...` name.

    `inputs` draws one Tensor or a tuple of arguments for `fn` (see
    `assert_gradients` for which are differentiated). Each example checks the
    gradients (and second derivatives unless `second_order=False`) against
    finite differences and, if `reference` is given, the forward values
    against it with `assert_values`. `tolerances` go to gradcheck. An op with
    several outputs is checked output by output; second derivatives through an
    op whose backward is marked once_differentiable are skipped with a warning
    that says so.

        test_tanh = check_op(lambda x: x.tanh(), tensors(), reference=np.tanh)
    """
    def test(args):
        args = args if isinstance(args, tuple) else (args,)
        if reference is not None:
            assert_values(fn, reference, *args)
        assert_gradients(fn, *args, second_order=second_order, **tolerances)

    name = _name(fn)
    test.__name__ = test.__qualname__ = "check_" + re.sub(r"\W+", "_", name).strip("_")
    # Tests made here share their code, so give each its own key in hypothesis's example database.
    key = (name, _origin(fn), _name(reference), _origin(reference), second_order,
           sorted(tolerances.items()))
    test._hypothesis_internal_add_digest = repr(key).encode()
    return settings(max_examples=max_examples, deadline=None)(given(inputs)(test))
