"""The elementwise math and reductions of issue 11: values against numpy, first and second
derivatives against central finite differences (float64, hypothesis-drawn shapes), float32 kept.
"""
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import minigrad as mg
from minigrad.testing import (assert_gradients, assert_values, axes, broadcastable_shapes,
                              check_op, shapes, tensors, untied_tensors)

FEW = settings(max_examples=12, deadline=None)


# -- elementwise ------------------------------------------------------------------------------

test_square = check_op(lambda x: x.square(), tensors(), reference=np.square, max_examples=12)
test_sin = check_op(lambda x: x.sin(), tensors(), reference=np.sin, max_examples=12)
test_cos = check_op(lambda x: x.cos(), tensors(), reference=np.cos, max_examples=12)
test_tan = check_op(lambda x: x.tan(), tensors(low=-1.2, high=1.2), reference=np.tan, max_examples=12)
test_log1p = check_op(lambda x: x.log1p(), tensors(low=-0.6), reference=np.log1p, max_examples=12)
test_expm1 = check_op(lambda x: x.expm1(), tensors(), reference=np.expm1, max_examples=12)
test_log2 = check_op(lambda x: x.log2(), tensors(low=0.2), reference=np.log2, max_examples=12)
test_log10 = check_op(lambda x: x.log10(), tensors(low=0.2), reference=np.log10, max_examples=12)
test_reciprocal = check_op(lambda x: x.reciprocal(), tensors(avoid=(0,), margin=0.5),
                           reference=np.reciprocal, max_examples=12)
test_sign_has_zero_gradient = check_op(lambda x: x.sign(), tensors(avoid=(0,)), reference=np.sign,
                                       max_examples=12)
test_np_sinh = check_op(np.sinh, tensors(), reference=np.sinh, max_examples=10)
test_np_cosh = check_op(np.cosh, tensors(), reference=np.cosh, max_examples=10)
test_np_arctan = check_op(np.arctan, tensors(), reference=np.arctan, max_examples=10)
test_np_exp2 = check_op(np.exp2, tensors(), reference=np.exp2, max_examples=10)


def _away_from_jumps(a, b):
    """a / b at least 0.05 from an integer, where % jumps (and // steps)."""
    ratio = np.broadcast_arrays(a.data / b.data)[0]
    return np.all(np.abs(ratio - np.round(ratio)) > 0.05)


remainder_args = broadcastable_shapes(2).flatmap(
    lambda s: st.tuples(tensors(s[0]), tensors(s[1], low=0.5, high=2.0)))


# Most drawn pairs of arrays have some element near a jump: filtering is expected here.
NEAR_JUMPS = settings(FEW, suppress_health_check=[HealthCheck.filter_too_much])


@NEAR_JUMPS
@given(remainder_args)
def test_remainder_matches_numpy_and_pytorchs_gradients(args):
    a, b = args
    assume(_away_from_jumps(a, b))
    assert_values(lambda a, b: a % b, np.remainder, a, b)
    assert_gradients(lambda a, b: a % b, a, b)   # d/da = 1, d/db = -floor(a / b)


def test_remainder_gradients_by_hand_and_with_numbers():
    a = mg.Tensor([5.5, -5.5], requires_grad=True)
    b = mg.Tensor([2.0, 2.0], requires_grad=True)
    (a % b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0])
    np.testing.assert_array_equal(b.grad, [-2.0, 3.0])    # -floor(2.75), -floor(-2.75)
    np.testing.assert_array_equal((a % 2.0).data, [1.5, 0.5])
    np.testing.assert_array_equal((7.0 % b).data, [1.0, 1.0])


@NEAR_JUMPS
@given(remainder_args)
def test_floor_divide_matches_numpy_with_zero_gradient(args):
    a, b = args
    assume(_away_from_jumps(a, b))
    assert_values(lambda a, b: a // b, np.floor_divide, a, b)
    assert_gradients(lambda a, b: a // b, a, b)
    (a // b).sum().backward()
    assert not a.grad.any() and not b.grad.any()


def test_boolean_operators_on_boolean_tensors():
    p = mg.Tensor(np.array([True, True, False, False]))
    q = mg.Tensor(np.array([True, False, True, False]))
    np.testing.assert_array_equal((p & q).data, [True, False, False, False])
    np.testing.assert_array_equal((p | q).data, [True, True, True, False])
    np.testing.assert_array_equal((p ^ q).data, [False, True, True, False])
    np.testing.assert_array_equal((~p).data, [False, False, True, True])
    x = mg.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    mask = (x > 0) & (x < 2.5)
    assert mask.dtype == bool and not mask.requires_grad
    np.testing.assert_array_equal(mask.data, [True, False, False])
    np.testing.assert_array_equal((np.array([True, False, True]) & (x > 0)).data, [True, False, True])
    with pytest.raises(TypeError):
        x & x       # numpy refuses bitwise operations on floats


@pytest.mark.parametrize("name, low", [("square", -2), ("sin", -2), ("cos", -2), ("tan", -1),
                                       ("log1p", 0.1), ("expm1", -2), ("log2", 0.5),
                                       ("log10", 0.5), ("reciprocal", 0.5), ("sign", 0.5)])
def test_elementwise_keep_float32(name, low):
    x = mg.Tensor(np.linspace(low, low + 1, 5, dtype=np.float32), requires_grad=True)
    out = getattr(x, name)()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, getattr(np, name)(x.data.astype(np.float64)), rtol=2e-6)
    out.sum().backward()
    assert x.grad.dtype == np.float32


# -- reductions --------------------------------------------------------------------------------

def _axis_args(strategy_of_shape=None, **tensor_kwargs):
    return shapes().flatmap(lambda s: st.tuples(tensors(s, **tensor_kwargs), axes(len(s)),
                                                st.booleans()))


test_prod_over_drawn_axes = check_op(lambda x, axis, keep: x.prod(axis=axis, keepdims=keep),
                                     _axis_args(), max_examples=15,
                                     reference=lambda x, axis, keep: np.prod(x, axis=axis, keepdims=keep))
test_logsumexp_over_drawn_axes = check_op(
    lambda x, axis, keep: x.logsumexp(axis=axis, keepdims=keep), _axis_args(), max_examples=12,
    reference=lambda x, axis, keep: np.log(np.exp(x).sum(axis=axis, keepdims=keep)))


@FEW
@given(shapes(min_dims=1).flatmap(lambda s: st.tuples(untied_tensors(s), axes(len(s)), st.booleans(),
                                                      st.sampled_from([0, 1]))))
def test_var_and_std_over_drawn_axes(args):
    (x,), axis, keep, ddof = args
    count = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    assume(count > ddof)
    for method in ("var", "std"):
        fn = lambda x: getattr(x, method)(axis=axis, ddof=ddof, keepdims=keep)
        assert_values(fn, lambda x: getattr(np, method)(x, axis=axis, ddof=ddof, keepdims=keep), x,
                      rtol=1e-12)
        assert_gradients(fn, x)


@FEW
@given(shapes(min_dims=1).flatmap(lambda s: st.tuples(tensors(s), st.one_of(st.none(), st.integers(-len(s), len(s) - 1)))))
def test_cumsum_along_drawn_axes(args):
    x, axis = args
    assert_values(lambda x: x.cumsum(axis=axis), lambda x: np.cumsum(x, axis=axis), x)
    assert_gradients(lambda x: x.cumsum(axis=axis), x)


def test_prod_gradient_is_the_product_of_the_others_even_at_zeros():
    for values, expected in [([2.0, 0.0, 3.0], [0.0, 6.0, 0.0]), ([0.0, 0.0, 3.0], [0.0, 0.0, 0.0]),
                             ([2.0, 5.0, 3.0], [15.0, 6.0, 10.0])]:
        x = mg.Tensor(values, requires_grad=True)
        x.prod().backward()
        np.testing.assert_array_equal(x.grad, expected)
    x = mg.Tensor([[0.0, 2.0, 3.0], [1.0, 0.0, 0.0]], requires_grad=True)
    assert_gradients(lambda x: x.prod(axis=1), x)        # second order at zeros too
    assert_gradients(lambda x: x.prod(), x)


def test_prod_of_an_empty_axis_is_one():
    x = mg.Tensor(np.zeros((2, 0)), requires_grad=True)
    np.testing.assert_array_equal(x.prod(axis=1).data, [1.0, 1.0])


def test_logsumexp_is_finite_for_large_values():
    x = mg.Tensor([1000.0, 1000.0, -1000.0], requires_grad=True)
    out = x.logsumexp()
    np.testing.assert_allclose(out.data, 1000.0 + np.log(2.0), rtol=1e-15)
    out.backward()
    np.testing.assert_allclose(x.grad, [0.5, 0.5, 0.0], atol=1e-15)


def test_argmax_argmin_keepdims_all_any():
    x = mg.Tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    np.testing.assert_array_equal(x.argmax(axis=1, keepdims=True).data, [[1], [0]])
    np.testing.assert_array_equal(x.argmin(axis=0, keepdims=True).data, [[0, 1, 0]])
    assert x.argmax().item() == 3
    np.testing.assert_array_equal((x > 1).all(axis=1).data, [False, False])
    np.testing.assert_array_equal((x > 1).any(axis=0, keepdims=True).data, [[True, True, True]])
    assert x.all().dtype == bool and not x.any().requires_grad


@pytest.mark.parametrize("method, kwargs", [("prod", {"axis": 1}), ("var", {"axis": 0, "ddof": 1}),
                                            ("std", {}), ("cumsum", {"axis": 1}),
                                            ("logsumexp", {"axis": 1}), ("norm", {})])
def test_reductions_keep_float32(method, kwargs):
    x = mg.Tensor(np.array([[0.5, 1.5, -2.0], [1.0, 2.0, 0.25]], dtype=np.float32), requires_grad=True)
    out = getattr(x, method)(**kwargs)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


# -- float32 on drawn shapes: float32 out, float32 gradients, numbers as float64's ------------------

FLOAT32_OPS = {
    "square": (lambda x: x.square(), -2), "sin": (lambda x: x.sin(), -2),
    "cos": (lambda x: x.cos(), -2), "tan": (lambda x: (x / 3).tan(), -2),
    "log1p": (lambda x: x.log1p(), 0.1), "expm1": (lambda x: x.expm1(), -2),
    "log2": (lambda x: x.log2(), 0.1), "log10": (lambda x: x.log10(), 0.1),
    "reciprocal": (lambda x: x.reciprocal(), 0.5), "remainder": (lambda x: x % 0.5, -2),
    "prod": (lambda x: x.prod(axis=-1), -2), "var": (lambda x: x.var(axis=0, ddof=0), -2),
    "std": (lambda x: x.std(), -2), "cumsum": (lambda x: x.cumsum(axis=-1), -2),
    "logsumexp": (lambda x: x.logsumexp(axis=0), -2), "norm": (lambda x: x.norm(axis=-1), -2),
    "pnorm": (lambda x: x.norm(3, axis=-1), -2), "tile": (lambda x: x.tile(2), -2),
    "repeat": (lambda x: x.repeat(2), -2), "flip": (lambda x: x.flip(), -2),
    "pad": (lambda x: x.pad(1), -2), "einsum": (lambda x: mg.einsum("...i,...i", x, x), -2),
}


@pytest.mark.parametrize("name", list(FLOAT32_OPS))
@settings(max_examples=6, deadline=None)
@given(shape=shapes(min_dims=1, max_dims=3), data=st.data())
def test_float32_in_float32_out_on_drawn_shapes(name, shape, data):
    fn, low = FLOAT32_OPS[name]
    # no subnormal values: float32 keeps only a few bits of them (a norm of 3e-44 is 4e-44 or so)
    values = data.draw(tensors(shape, low=low, high=low + 2.5, dtype=np.float32,
                               avoid=(0,), margin=1e-30)).data
    x32 = mg.Tensor(values, requires_grad=True)
    x64 = mg.Tensor(values.astype(np.float64), requires_grad=True)
    out32, out64 = fn(x32), fn(x64)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.data, out64.data, rtol=2e-5, atol=2e-5)
    out32.sum().backward()
    out64.sum().backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_allclose(x32.grad, x64.grad, rtol=2e-4, atol=2e-4)
