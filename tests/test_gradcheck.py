"""gradcheck and gradgradcheck must pass correct ops and catch wrong ones with a useful message;
and the kit in minigrad.testing built on them must do the same."""
import re

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import minigrad as mg
from minigrad.testing import (arrays, assert_gradients, axes, broadcastable_shapes,
                              broadcastable_tensors, check_op, shapes, tensors, untied_arrays)

FEW = settings(max_examples=15, deadline=None)
BUMP = 5.0
BAD_INDEX = (1, 2)


class Bad(mg.Function):
    """3 * x, but backward adds BUMP to the gradient at BAD_INDEX (for 2-D inputs)."""

    @staticmethod
    def forward(ctx, x):
        return 3 * x

    @staticmethod
    def backward(ctx, g):
        wrong = 3 * g
        wrong = wrong + 0.0       # a fresh array, so the bump does not touch g
        wrong[BAD_INDEX] += BUMP
        return wrong


class BadSecondInput(mg.Function):
    """a * b with b's gradient doubled."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b, 2 * g * a


class CubeConstantDerivative(mg.Function):
    """x ** 3 whose backward multiplies by 3x^2 saved as a derived array, a constant to the graph:
    first order right, second order wrong (it misses the 6x g term)."""

    @staticmethod
    def forward(ctx, x):
        ctx.derivative = 3 * x * x
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        return g * ctx.derivative


class Cube(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x * x


def leaf(values, dtype=np.float64):
    return mg.Tensor(np.array(values, dtype=dtype), requires_grad=True)


def reported_values(message):
    found = re.search(r"analytic (\S+), numeric (\S+)", message)
    assert found, f"no 'analytic ..., numeric ...' in: {message}"
    return float(found.group(1)), float(found.group(2))


X23 = [[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]]


# -- gradcheck -------------------------------------------------------------------

@pytest.mark.parametrize("fn, inputs", [
    (lambda x: x.tanh(), [leaf(X23)]),
    (lambda a, b: a * b + a / (b * b + 1), [leaf(X23), leaf([1.0, 2.0, 3.0])]),
    (lambda a, b: (a @ b).softmax(axis=0), [leaf(X23), leaf(np.ones((3, 2)) * 0.3)]),
])
def test_gradcheck_returns_true_on_correct_ops(fn, inputs):
    assert mg.gradcheck(fn, inputs) is True
    assert mg.gradgradcheck(fn, inputs) is True


def test_gradcheck_names_the_input_the_worst_index_and_both_values():
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(Bad.apply, [leaf(X23)])
    message = str(info.value)
    assert "input 0" in message
    assert str(BAD_INDEX) in message
    analytic, numeric = reported_values(message)
    assert analytic - numeric == pytest.approx(BUMP, abs=1e-6)


def test_gradcheck_names_the_second_input_when_its_gradient_is_wrong():
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(BadSecondInput.apply, [leaf([1.0, 2.0]), leaf([3.0, -4.0])])
    message = str(info.value)
    assert "input 1" in message and "input 0" not in message.split("\n")[0]
    analytic, numeric = reported_values(message)
    assert analytic == pytest.approx(2 * numeric, rel=1e-6)


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(mg.GradcheckError, AssertionError)


def test_gradcheck_names_the_wrong_op_inside_a_composite():
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x: (Bad.apply(x.exp()) + 1).sum(), [leaf(X23)])
    message = str(info.value)
    culprit = message.split("first op whose own backward disagrees:")[1]
    assert culprit.split()[0] == "Bad"
    assert "Exp" not in culprit


def test_gradcheck_names_the_earliest_of_two_wrong_ops_in_the_order_they_ran():
    # Bad runs before AlsoBad; both backwards are wrong, and the report must name Bad.
    class AlsoBad(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x + 1

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x: AlsoBad.apply(Bad.apply(x).tanh()), [leaf(X23)])
    culprit = str(info.value).split("first op whose own backward disagrees:")[1]
    assert culprit.split()[0] == "Bad"


def test_gradcheck_checks_float32_inputs_in_float64_and_leaves_them_alone():
    # In float32 a central difference with eps=1e-6 is mostly rounding error, so this
    # passes only if the check runs on float64 copies.
    x = leaf([[0.3, 1.7, -2.2], [0.9, -0.4, 1.1]], dtype=np.float32)
    before = x.data.copy()
    seen = []

    def fn(x):
        seen.append(x.dtype)
        return (x.exp() * x).sum()
    assert mg.gradcheck(fn, [x])
    assert set(seen) == {np.dtype(np.float64)}
    assert x.dtype == np.float32 and x.grad is None
    np.testing.assert_array_equal(x.data, before)


def test_gradcheck_checks_only_inputs_that_require_grad():
    # b's gradient is wrong, but b does not require grad, so it is not checked.
    a, b = leaf([1.0, 2.0]), mg.Tensor([3.0, -4.0])
    assert mg.gradcheck(BadSecondInput.apply, [a, b])


def test_gradcheck_of_a_function_not_returning_a_tensor_raises_type_error():
    with pytest.raises(TypeError, match="Tensor"):
        mg.gradcheck(lambda x: x.data.sum(), [leaf([1.0])])


# -- gradgradcheck -----------------------------------------------------------------

def test_gradgradcheck_passes_a_tensor_friendly_backward():
    assert mg.gradgradcheck(Cube.apply, [leaf(X23)])


def test_gradgradcheck_catches_a_backward_with_a_derived_constant():
    x = leaf(X23)
    assert mg.gradcheck(CubeConstantDerivative.apply, [x])    # first order is right
    with pytest.raises(mg.GradcheckError, match="second order") as info:
        mg.gradgradcheck(CubeConstantDerivative.apply, [x])
    analytic, numeric = reported_values(str(info.value))
    assert analytic != pytest.approx(numeric, rel=1e-3)


# -- the testing kit ----------------------------------------------------------------

def test_assert_gradients_passes_correct_ops_and_constant_arguments():
    x = leaf(X23)
    assert_gradients(lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims), x, (0,), True)
    assert_gradients(lambda x, index: x[index], x, np.array([1, 1, 0]))


def test_assert_gradients_message_names_the_function_the_order_and_the_inputs():
    with pytest.raises(AssertionError) as info:
        assert_gradients(Bad.apply, leaf(X23))
    message = str(info.value)
    assert "first-order" in message and "Bad.apply" in message and "(2, 3)" in message
    assert str(BAD_INDEX) in message

    with pytest.raises(AssertionError) as info:
        assert_gradients(CubeConstantDerivative.apply, leaf(X23))
    assert "second-order" in str(info.value)
    assert_gradients(CubeConstantDerivative.apply, leaf(X23), second_order=False)


def test_check_op_builds_a_test_that_fails_on_a_wrong_op():
    wrong_test = check_op(CubeConstantDerivative.apply, tensors(), max_examples=10)
    with pytest.raises(AssertionError, match="second-order"):
        wrong_test()
    right_test = check_op(Cube.apply, tensors(), reference=lambda x: x ** 3, max_examples=10)
    right_test()


def test_check_op_compares_values_with_the_reference():
    wrong_values = check_op(lambda x: x * 2, tensors(), reference=lambda x: x * 3, max_examples=10)
    with pytest.raises(AssertionError):
        wrong_values()


def test_check_op_compares_dtypes_with_the_reference():
    upcast = check_op(lambda x: x.astype(np.float64) * 1.0, tensors(dtype=np.float32),
                      reference=lambda x: x * 1.0, second_order=False, max_examples=5)
    with pytest.raises(AssertionError, match="dtype"):
        upcast()


@FEW
@given(data=st.data())
def test_axes_are_valid_and_distinct_for_numpy(data):
    shape = data.draw(shapes())
    axis = data.draw(axes(len(shape)))
    if isinstance(axis, tuple):
        assert len({a % len(shape) for a in axis}) == len(axis)
    assert np.sum(np.zeros(shape), axis=axis).ndim <= len(shape)   # numpy accepts it


@FEW
@given(data=st.data())
def test_broadcastable_shapes_broadcast_and_stay_small(data):
    shape_tuple = data.draw(broadcastable_shapes(3))
    assert len(shape_tuple) == 3
    np.broadcast_shapes(*shape_tuple)
    assert all(len(s) <= 4 and all(1 <= n <= 4 for n in s) for s in shape_tuple)
    pair = data.draw(broadcastable_tensors(2))
    assert np.broadcast_shapes(pair[0].shape, pair[1].shape) is not None
    assert all(t.requires_grad and t.dtype == np.float64 for t in pair)


@FEW
@given(x=arrays(low=-2.0, high=2.0, avoid=(0.0, 1.0), margin=0.2))
def test_arrays_stay_in_bounds_and_away_from_avoided_points(x):
    assert x.dtype == np.float64
    assert np.all((x >= -2.0) & (x <= 2.0))
    assert np.all(np.abs(x) >= 0.2) and np.all(np.abs(x - 1.0) >= 0.2)


@FEW
@given(x=tensors(dtype=np.float32, low=0.1, high=0.9))
def test_tensors_of_float32_respect_bounds(x):
    assert x.dtype == np.float32 and x.requires_grad
    assert np.all((x.data >= 0.1) & (x.data <= 0.9))


@FEW
@given(drawn=untied_arrays(shapes(), (2, 3)))
def test_untied_arrays_keep_every_pair_of_values_apart(drawn):
    values = np.sort(np.concatenate([a.ravel() for a in drawn]))
    assert drawn[1].shape == (2, 3)
    assert np.all((values >= -3.0) & (values <= 3.0))
    assert np.min(np.diff(values)) >= 0.5 * 6.0 / values.size - 1e-12
