"""Custom Functions without blind spots: several outputs, first-order-only backwards.

A Function may return a tuple (one Tensor per output, one gradient per output in
backward); a backward that cannot be differentiated again (marked once_differentiable,
written in plain numpy, or reading a saved array that is neither an input nor the
output) gives right first derivatives and an error, naming the op, at the second.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import assert_gradients


def leaf(values):
    return mg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


class MaxWithIndex(mg.Function):
    """(max over the last axis, its index): values and indices, as torch.max(x, dim)."""

    @staticmethod
    def forward(ctx, x):
        index = x.argmax(axis=-1)
        values = np.take_along_axis(x, index[..., None], axis=-1)[..., 0]
        ctx.mark_non_differentiable(index)
        ctx.index, ctx.shape = index, x.shape
        return values, index

    @staticmethod
    def backward(ctx, g_values, g_index):
        assert np.all(g_index == 0)                 # an index gets zeros, never a gradient
        onehot = np.zeros(ctx.shape)
        np.put_along_axis(onehot, ctx.index[..., None], 1.0, axis=-1)
        return g_values[..., None] * onehot


class SquareExp(mg.Function):
    """(x**2, exp(x)): two differentiable outputs; backward reads an input and output 1."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(x)
        ctx.save_for_backward(x, e)
        return x * x, e

    @staticmethod
    def backward(ctx, g_square, g_exp):
        x, e = ctx.saved_tensors
        return g_square * 2 * x + g_exp * e


def test_a_function_returning_values_and_indices_gives_two_tensors():
    x = leaf([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values, index = MaxWithIndex.apply(x)
    np.testing.assert_array_equal(values.data, [5.0, 7.0])
    np.testing.assert_array_equal(index.data, [1, 0])
    assert values.requires_grad and not index.requires_grad
    (values * np.array([2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 2, 0], [3, 0, 0]])


def test_two_outputs_used_in_different_places_each_bring_their_gradient():
    x = leaf([0.3, -1.2, 2.0])
    s, e = SquareExp.apply(x)
    (s * 3).sum().backward(retain_graph=True)       # only the square is used: exp gets zeros
    np.testing.assert_allclose(x.grad, 6 * x.data, rtol=1e-15)
    x.grad = None
    loss = (s * s).sum() + (e * 2).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad, 4 * x.data ** 3 + 2 * np.exp(x.data), rtol=1e-14)


def test_a_multi_output_function_passes_first_and_second_order_checks():
    def fn(x):
        s, e = SquareExp.apply(x)
        return s * e + e * e * x
    assert_gradients(fn, leaf([0.3, -1.2, 2.0]))


def test_hooks_on_each_output_of_a_multi_output_function():
    x = leaf([0.5])
    s, e = SquareExp.apply(x)
    seen = []
    s.register_hook(lambda g: seen.append(("square", float(g[0]))))
    e.register_hook(lambda g: seen.append(("exp", float(g[0]))))
    (2 * s + 5 * e).sum().backward()
    assert sorted(seen) == [("exp", 5.0), ("square", 2.0)]


def test_grad_with_respect_to_one_output_of_a_multi_output_function():
    x = leaf([0.5, 1.0])
    s, e = SquareExp.apply(x)
    gs, = mg.grad((s * e).sum(), [s])
    np.testing.assert_allclose(gs.data, np.exp(x.data), rtol=1e-15)


# -- first-order-only backwards ------------------------------------------------------------------

class CubeSavingSquare(mg.Function):
    """x**3, whose backward reads x*x, saved in forward: neither an input nor the output."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x * x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        square, = ctx.saved_tensors
        return 3 * square * g


class CubeOnce(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    @mg.once_differentiable
    def backward(ctx, g):
        x, = ctx.saved_tensors
        assert isinstance(x, np.ndarray) and isinstance(g, (np.ndarray, np.generic))
        return 3 * x * x * g


class CubeNumpy(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * np.asarray(getattr(x, "data", x)) ** 2 * np.asarray(getattr(g, "data", g))


@pytest.mark.parametrize("op, why", [
    (CubeSavingSquare, "neither an input nor the output"),
    (CubeOnce, "marked once_differentiable"),
    (CubeNumpy, "as a numpy array"),
], ids=["saves-x-squared", "once_differentiable", "plain-numpy"])
def test_a_first_order_only_backward_is_right_once_and_refuses_a_second_time(op, why):
    x = leaf(2.0)
    first, = mg.grad(op.apply(x), [x], create_graph=True)   # first order with create_graph works
    assert first.item() == 12.0
    with pytest.raises(RuntimeError, match=f"{op.__name__}.backward.*{why}"):
        mg.grad(first, [x])                                  # f''(2) = 12, never 2 or 0 silently


def test_once_differentiable_costs_nothing_outside_create_graph():
    x = leaf([1.0, 2.0])
    CubeOnce.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 12.0])


def test_a_backward_that_saves_only_inputs_and_output_is_differentiable_for_free():
    class Cube(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * x * x * g

    x = leaf(2.0)
    first, = mg.grad(Cube.apply(x), [x], create_graph=True)
    second, = mg.grad(first, [x])
    assert second.item() == 12.0                             # 6 x


def test_gradgradcheck_names_the_first_order_only_op():
    with pytest.raises(mg.GradcheckError, match="CubeSavingSquare"):
        mg.gradgradcheck(lambda t: CubeSavingSquare.apply(t * 1.5).sum(), [leaf([0.5, 1.0])])


# -- forward mode: an op's own jvp rule -------------------------------------------------------

class CubeWithJvp(CubeOnce):
    """x**3 with a first-order-only backward but a forward-mode rule of its own."""

    @staticmethod
    def jvp(ctx, t):
        x, = ctx.saved_tensors
        return 3 * x * x * t


def test_an_ops_own_jvp_rule_gives_forward_mode_through_a_first_order_only_backward():
    x = np.array([0.5, -1.0, 2.0])
    v = np.array([1.0, 2.0, -1.0])

    def f(t):
        return CubeWithJvp.apply(t.exp() * 2).sum() * t    # ops with and without a rule

    _, ours = mg.functional.jvp(f, mg.Tensor(x), mg.Tensor(v))
    eps = 1e-6
    numeric = (f(mg.Tensor(x + eps * v)).data - f(mg.Tensor(x - eps * v)).data) / (2 * eps)
    np.testing.assert_allclose(ours.data, numeric, rtol=1e-7)


def test_the_jvp_rule_is_what_forward_mode_uses():
    class WrongJvp(CubeWithJvp):
        @staticmethod
        def jvp(ctx, t):
            return 0 * t + 7.0

    _, product = mg.functional.jvp(lambda t: WrongJvp.apply(t), mg.Tensor([1.0, 2.0]),
                                   mg.Tensor([1.0, 1.0]))
    np.testing.assert_array_equal(product.data, [7.0, 7.0])


# -- minigrad.testing.check_op for such ops ------------------------------------------------------

from minigrad.testing import check_op, tensors   # noqa: E402

test_check_op_handles_a_multi_output_op = check_op(
    SquareExp.apply, tensors(), reference=lambda x: (x * x, np.exp(x)), max_examples=5)


def test_check_op_skips_second_order_of_a_once_differentiable_op_and_says_why():
    test = check_op(CubeOnce.apply, tensors(), reference=lambda x: x ** 3, max_examples=3)
    with pytest.warns(UserWarning, match="CubeOnce.backward is marked once_differentiable"):
        test()


def test_check_op_still_fails_a_wrong_multi_output_reference():
    test = check_op(SquareExp.apply, tensors(), reference=lambda x: (x * x, np.exp(x) + 1),
                    max_examples=3)
    with pytest.raises(AssertionError):
        test()


def test_a_backward_that_reads_a_saved_tensors_values_as_an_array_is_first_order_only():
    class CubeViaValues(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * (3 * x.numpy() ** 2)          # g stays a Tensor; x's values do not

    x = leaf(2.0)
    first, = mg.grad(CubeViaValues.apply(x), [x], create_graph=True)
    assert first.item() == 12.0
    with pytest.raises(RuntimeError, match="CubeViaValues.backward read a Tensor's values"):
        mg.grad(first, [x])                           # never the silent 0 of a constant
