"""Every arithmetic, reduction and elementwise op: forward values against numpy, and first and
second derivatives against central finite differences in float64, on hypothesis-drawn shapes.

Shape, indexing and joining ops are in test_ops_shape.py.
"""
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import minigrad as mg
from minigrad.testing import (assert_gradients, assert_values, axes, broadcastable_shapes,
                              broadcastable_tensors, check_op, shapes, tensors, untied_tensors)

FEW = settings(max_examples=15, deadline=None)


# References by the textbook formulas, without the max shift the ops use (fine for |x| <= 3).
def np_softmax(x, axis):
    return np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis):
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


# -- binary arithmetic on broadcastable pairs ---------------------------------

test_add_broadcasts_and_matches_numpy = check_op(lambda a, b: a + b, broadcastable_tensors(2),
                                                 reference=np.add)
test_sub_broadcasts_and_matches_numpy = check_op(lambda a, b: a - b, broadcastable_tensors(2),
                                                 reference=np.subtract)
test_mul_broadcasts_and_matches_numpy = check_op(lambda a, b: a * b, broadcastable_tensors(2),
                                                 reference=np.multiply)
test_div_broadcasts_and_matches_numpy = check_op(
    lambda a, b: a / b, broadcastable_tensors(2, avoid=(0,), margin=0.5), reference=np.divide)
test_neg_matches_numpy = check_op(lambda a: -a, tensors(), reference=np.negative)

positive_base_any_exponent = broadcastable_shapes(2).flatmap(
    lambda s: st.tuples(tensors(s[0], low=0.2, high=3.0), tensors(s[1], low=-2.0, high=2.0)))
test_pow_of_two_tensors_broadcasts_and_matches_numpy = check_op(
    lambda a, b: a ** b, positive_base_any_exponent, reference=np.power)


@pytest.mark.parametrize("exponent", [2, 3, -1, 0.5, 2.5])
@FEW
@given(data=st.data())
def test_pow_with_python_exponent(exponent, data):
    # Negative bases are fine for integer exponents; other exponents need positive ones.
    low = -3.0 if isinstance(exponent, int) else 0.2
    x = data.draw(tensors(low=low, avoid=(0,) if exponent == -1 else (), margin=0.3))
    assert_values(lambda x: x ** exponent, lambda x: x ** exponent, x)
    assert_gradients(lambda x: x ** exponent, x)


test_rpow_python_base_matches_numpy = check_op(lambda x: 2.0 ** x, tensors(),
                                               reference=lambda x: 2.0 ** x)
test_rsub_and_rtruediv_with_python_numbers = check_op(
    lambda x: (2 - x) + 3 / x, tensors(avoid=(0,), margin=0.5), reference=lambda x: (2 - x) + 3 / x)

untied_pair = broadcastable_shapes(2).flatmap(lambda s: untied_tensors(*s))
test_maximum_broadcasts_and_matches_numpy = check_op(mg.maximum, untied_pair, reference=np.maximum)
test_minimum_broadcasts_and_matches_numpy = check_op(mg.minimum, untied_pair, reference=np.minimum)

where_args = broadcastable_shapes(3).flatmap(lambda s: st.tuples(
    hnp.arrays(np.bool_, s[0]), tensors(s[1]), tensors(s[2])))
test_where_broadcasts_and_matches_numpy = check_op(mg.where, where_args, reference=np.where)


def test_maximum_and_minimum_split_the_gradient_at_ties():
    a = mg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = mg.Tensor([1.0, 0.0, 5.0], requires_grad=True)
    mg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 1.0])
    a.grad = b.grad = None
    mg.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0, 0.0])


def test_where_with_a_tensor_condition_sends_gradient_to_the_chosen_side():
    x = mg.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = mg.Tensor([10.0, 20.0, 30.0], requires_grad=True)
    out = mg.where(x > 0, x, y)
    np.testing.assert_array_equal(out.data, [1.0, 20.0, 3.0])
    out.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(y.grad, [0.0, 2.0, 0.0])


# -- reductions ----------------------------------------------------------------

def tensor_axis_keepdims(tensor_strategy=None):
    """(tensor, axis, keepdims) with an axis valid for the tensor's shape."""
    def build(shape):
        if tensor_strategy is None:
            t = tensors(shape)
        else:
            t = tensor_strategy(shape).map(lambda drawn: drawn[0])
        return st.tuples(t, axes(len(shape)), st.booleans())
    return shapes().flatmap(build)


def reduce_with(method):
    """`x.method(axis=..., keepdims=...)`, the same call for Tensors and numpy arrays."""
    def call(x, axis, keepdims):
        return getattr(x, method)(axis=axis, keepdims=keepdims)
    call.__name__ = call.__qualname__ = method
    return call


test_sum_over_drawn_axes_matches_numpy = check_op(
    reduce_with("sum"), tensor_axis_keepdims(), reference=reduce_with("sum"))
test_mean_over_drawn_axes_matches_numpy = check_op(
    reduce_with("mean"), tensor_axis_keepdims(), reference=reduce_with("mean"))
test_max_over_drawn_axes_matches_numpy = check_op(
    reduce_with("max"), tensor_axis_keepdims(untied_tensors), reference=reduce_with("max"))
test_min_over_drawn_axes_matches_numpy = check_op(
    reduce_with("min"), tensor_axis_keepdims(untied_tensors), reference=reduce_with("min"))

tensor_and_axis = shapes().flatmap(lambda s: st.tuples(tensors(s), axes(len(s))))
test_softmax_over_drawn_axes_matches_numpy = check_op(
    lambda x, axis: x.softmax(axis=axis), tensor_and_axis, reference=np_softmax)
test_log_softmax_over_drawn_axes_matches_numpy = check_op(
    lambda x, axis: x.log_softmax(axis=axis), tensor_and_axis, reference=np_log_softmax)


def test_softmax_default_axis_is_the_last():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(mg.Tensor(x).softmax().data, np_softmax(x, -1), rtol=1e-12)
    np.testing.assert_allclose(mg.Tensor(x).log_softmax().data, np_log_softmax(x, -1), rtol=1e-12)


def test_max_ties_share_the_gradient_evenly_like_amax():
    x = mg.Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    out = x.max(axis=1)
    np.testing.assert_array_equal(out.data, [3.0, 2.0])
    out.backward(np.array([1.0, 6.0]))
    np.testing.assert_allclose(x.grad, [[0.0, 0.5, 0.5], [2.0, 2.0, 2.0]], rtol=1e-15)


def test_min_ties_over_all_axes_share_the_gradient_evenly():
    x = mg.Tensor([[0.0, 1.0], [0.0, 0.0]], requires_grad=True)
    x.min().backward()
    np.testing.assert_allclose(x.grad, [[1 / 3, 0.0], [1 / 3, 1 / 3]], rtol=1e-15)


def test_max_with_keepdims_and_ties_over_a_tuple_of_axes():
    x = mg.Tensor([[[5.0, 1.0], [5.0, 5.0]], [[0.0, 2.0], [1.0, 2.0]]], requires_grad=True)
    out = x.max(axis=(0, -1), keepdims=True)
    np.testing.assert_array_equal(out.data, np.max(x.data, axis=(0, -1), keepdims=True))
    out.sum().backward()
    np.testing.assert_allclose(x.grad, [[[1.0, 0.0], [0.5, 0.5]], [[0.0, 0.0], [0.0, 0.0]]],
                               rtol=1e-15)


def test_max_ties_second_order_is_zero():
    x = mg.Tensor([2.0, 2.0, 1.0], requires_grad=True)
    g, = mg.grad(x.max(), x, create_graph=True)
    np.testing.assert_allclose(g.data, [0.5, 0.5, 0.0])
    assert_gradients(lambda x: x.max(), mg.Tensor([2.0, 1.0, 0.0], requires_grad=True))


# -- matmul and linear ---------------------------------------------------------

matmul_shapes = hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2,
                                                  max_side=3).map(lambda r: r.input_shapes)
matmul_pair = matmul_shapes.flatmap(lambda s: st.tuples(tensors(s[0]), tensors(s[1])))
test_matmul_on_numpys_rules_matches_numpy = check_op(lambda a, b: a @ b, matmul_pair,
                                                     reference=np.matmul)


@pytest.mark.parametrize("shape_a, shape_b", [
    ((3,), (3,)),              # vector . vector -> scalar
    ((3,), (3, 2)),            # vector promoted to a row
    ((2, 3), (3,)),            # vector promoted to a column
    ((4, 2, 3), (3, 2)),       # stack @ matrix
    ((3,), (4, 3, 2)),         # vector @ stack
    ((4, 2, 3), (3,)),         # stack @ vector
    ((2, 1, 2, 3), (4, 3, 2)),  # stacks broadcast against each other
])
def test_matmul_each_of_numpys_shape_rules(shape_a, shape_b):
    rng = np.random.default_rng(0)
    a = mg.Tensor(rng.standard_normal(shape_a), requires_grad=True)
    b = mg.Tensor(rng.standard_normal(shape_b), requires_grad=True)
    assert_values(lambda a, b: a @ b, np.matmul, a, b)
    assert_gradients(lambda a, b: a @ b, a, b)


def linear_args(with_bias):
    def build(sizes):
        batch, n_in, n_out = sizes
        parts = [tensors(batch + (n_in,)), tensors((n_out, n_in))]
        parts.append(tensors((n_out,)) if with_bias else st.none())
        return st.tuples(*parts)
    sizes = st.tuples(shapes(max_dims=2, max_side=3), st.integers(1, 4), st.integers(1, 3))
    return sizes.flatmap(build)


def np_linear(x, weight, bias):
    return x @ weight.T + (0.0 if bias is None else bias)


test_linear_with_bias_matches_x_at_w_transpose_plus_b = check_op(mg.linear, linear_args(True),
                                                                 reference=np_linear)
test_linear_without_bias_matches_x_at_w_transpose = check_op(mg.linear, linear_args(False),
                                                             reference=np_linear)


# -- elementwise functions -----------------------------------------------------

test_exp_matches_numpy = check_op(lambda x: x.exp(), tensors(), reference=np.exp)
test_log_of_positive_inputs_matches_numpy = check_op(lambda x: x.log(), tensors(low=0.1),
                                                     reference=np.log)
test_sqrt_of_positive_inputs_matches_numpy = check_op(lambda x: x.sqrt(), tensors(low=0.1),
                                                      reference=np.sqrt)
test_abs_away_from_zero_matches_numpy = check_op(lambda x: abs(x), tensors(avoid=(0,)),
                                                 reference=np.abs)
test_relu_away_from_zero_matches_numpy = check_op(
    lambda x: x.relu(), tensors(avoid=(0,)), reference=lambda x: np.maximum(x, 0))
test_sigmoid_matches_numpy = check_op(lambda x: x.sigmoid(), tensors(),
                                      reference=lambda x: 1 / (1 + np.exp(-x)))
test_tanh_matches_numpy = check_op(lambda x: x.tanh(), tensors(), reference=np.tanh)
test_softplus_matches_numpy = check_op(lambda x: x.softplus(), tensors(),
                                       reference=lambda x: np.log1p(np.exp(x)))


@FEW
@given(x=tensors(avoid=(0,)), slope=st.sampled_from([0.01, 0.2, 1.5]))
def test_leaky_relu_away_from_zero_matches_numpy(x, slope):
    def fn(x):
        return x.leaky_relu(negative_slope=slope)
    assert_values(fn, lambda x: np.where(x > 0, x, slope * x), x)
    assert_gradients(fn, x)


def test_leaky_relu_default_slope_is_a_hundredth():
    x = mg.Tensor([-2.0, 3.0], requires_grad=True)
    out = x.leaky_relu()
    np.testing.assert_allclose(out.data, [-0.02, 3.0], rtol=1e-15)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, [0.01, 1.0], rtol=1e-15)


@pytest.mark.parametrize("a_min, a_max", [(-1.0, 1.0), (None, 0.5), (-0.5, None)])
@FEW
@given(data=st.data())
def test_clip_away_from_the_bounds_matches_numpy(a_min, a_max, data):
    bounds = tuple(b for b in (a_min, a_max) if b is not None)
    x = data.draw(tensors(avoid=bounds))

    def fn(x):
        return x.clip(a_min, a_max)
    assert_values(fn, lambda x: np.clip(x, a_min, a_max), x)
    assert_gradients(fn, x)


def test_abs_and_relu_have_zero_gradient_at_zero_like_pytorch():
    x = mg.Tensor([0.0, -0.0, 2.0, -2.0], requires_grad=True)
    (abs(x) + x.relu()).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 2.0, -1.0])


def test_clip_passes_gradient_only_inside_the_bounds():
    x = mg.Tensor([-3.0, -0.5, 0.5, 3.0], requires_grad=True)
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 0.0])


# -- numerical stability at |x| = 1000 -------------------------------------------

BIG = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])


def test_sigmoid_is_finite_and_correct_at_large_magnitudes():
    x = mg.Tensor(BIG, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = x.sigmoid()
        out.sum().backward()
    # sigmoid(-1000) = 5e-435 is below the smallest float64: anything within 1e-300 of 0 is right.
    expected = np.array([0.0, np.exp(-30) / (1 + np.exp(-30)), 0.5, 1 / (1 + np.exp(-30)), 1.0])
    np.testing.assert_allclose(out.data, expected, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(x.grad, expected * (1 - expected), rtol=1e-12, atol=1e-300)


def test_softplus_is_finite_and_correct_at_large_magnitudes():
    x = mg.Tensor(BIG, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = x.softplus()
        out.sum().backward()
    expected = np.array([0.0, np.log1p(np.exp(-30.0)), np.log(2.0), 30 + np.log1p(np.exp(-30.0)),
                         1000.0])
    np.testing.assert_allclose(out.data, expected, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(x.grad, [0.0, 1 / (1 + np.exp(30)), 0.5, 1 / (1 + np.exp(-30)), 1.0],
                               rtol=1e-12, atol=1e-300)


def test_log_softmax_and_softmax_are_finite_and_correct_at_large_magnitudes():
    x = mg.Tensor([[-1000.0, 0.0, 1000.0], [1000.0, 1000.0, -1000.0]], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        log_p = x.log_softmax(axis=1)
        p = x.softmax(axis=1)
        (log_p * mg.Tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])).sum().backward()
    log2 = np.log(2)
    np.testing.assert_allclose(log_p.data, [[-2000.0, -1000.0, 0.0],
                                            [-log2, -log2, -2000.0 - log2]], rtol=1e-14)
    np.testing.assert_allclose(p.data, [[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]], rtol=1e-14, atol=1e-300)
    # d/dx of log_softmax(x)[k] is onehot(k) - softmax(x)
    np.testing.assert_allclose(x.grad, [[1.0, 0.0, -1.0], [-0.5, -0.5, 1.0]], rtol=1e-14,
                               atol=1e-300)
    assert np.isfinite(x.grad).all()
