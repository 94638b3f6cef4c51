"""User-defined ops: the Function API (forward/backward, save_for_backward, saved_tensors,
needs_input_grad, parameters), the engine's handling of what a backward returns, and the
minigrad.testing kit offered to users who write ops."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minigrad as mg
import minigrad.testing
from minigrad.testing import assert_gradients, check_op, tensors


class Cube(mg.Function):
    """x ** 3, its backward written with operations Tensors support: any order works."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x * x


class Gelu(mg.Function):
    """The tanh approximation of GELU, its backward written with operations Tensors support."""
    C = np.sqrt(2 / np.pi)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * x * (1 + np.tanh(Gelu.C * (x + 0.044715 * x ** 3)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        inner = Gelu.C * (x + 0.044715 * x ** 3)
        t = np.tanh(inner)              # np.tanh on a Tensor is minigrad's Tanh
        d_inner = Gelu.C * (1 + 3 * 0.044715 * x * x)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)


class NumpySin(mg.Function):
    """sin, its backward in plain numpy: first order only."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * np.cos(x)


class ScaledPower(mg.Function):
    """scale * x ** alpha, with two non-tensor parameters."""

    @staticmethod
    def forward(ctx, x, alpha=2.0, scale=1.0):
        ctx.alpha, ctx.scale = alpha, scale
        ctx.save_for_backward(x)
        return scale * x ** alpha

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * ctx.scale * ctx.alpha * x ** (ctx.alpha - 1)


def leaf(values):
    return mg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


# -- writing an op -----------------------------------------------------------------

def test_cube_matches_its_hand_derivative():
    x = leaf([1.0, -2.0, 0.5])
    out = Cube.apply(x)
    np.testing.assert_array_equal(out.data, x.data ** 3)
    assert isinstance(out.grad_fn, Cube)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, 3 * x.data ** 2)


def test_cube_passes_gradcheck_and_gradgradcheck():
    x = leaf([[1.0, -2.0], [0.5, 0.1]])
    assert mg.gradcheck(Cube.apply, [x])
    assert mg.gradgradcheck(Cube.apply, [x])


def test_gelu_with_a_tensor_friendly_backward_passes_gradgradcheck():
    x = leaf(np.linspace(-3, 3, 7))
    np.testing.assert_allclose(
        Gelu.apply(x).data,
        0.5 * x.data * (1 + np.tanh(np.sqrt(2 / np.pi) * (x.data + 0.044715 * x.data ** 3))),
        rtol=1e-15)
    assert mg.gradcheck(Gelu.apply, [x])
    assert mg.gradgradcheck(Gelu.apply, [x])


def test_numpy_backward_passes_gradcheck():
    x = leaf(np.linspace(-3, 3, 5))
    assert mg.gradcheck(NumpySin.apply, [x])
    NumpySin.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, np.cos(x.data), rtol=1e-15)


def test_a_backward_with_numpy_ufuncs_that_are_ops_is_differentiable_again():
    x = leaf([0.5, 1.0])
    assert mg.gradgradcheck(NumpySin.apply, [x])    # np.cos on a Tensor runs as an op


def test_numpy_backward_under_create_graph_fails_loudly_naming_the_ufunc():
    class NumpyCbrt(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.cbrt(x)

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g / (3 * np.cbrt(x) ** 2)        # np.cbrt has no minigrad op

    x = leaf([0.5, 1.0])
    with pytest.raises(TypeError, match="cbrt"):
        mg.grad(NumpyCbrt.apply(x).sum(), x, create_graph=True)


# The kit shipped in minigrad.testing, used exactly as its docstring shows.
test_cube_with_the_testing_kit = check_op(Cube.apply, tensors(), reference=lambda x: x ** 3)
test_gelu_with_the_testing_kit = check_op(Gelu.apply, tensors())
test_numpy_sin_first_order_with_the_testing_kit = check_op(
    NumpySin.apply, tensors(), reference=np.sin, second_order=False)


def docstring_code_blocks(doc):
    """The indented blocks that follow a line ending in '::' (reStructuredText literal blocks)."""
    lines, blocks, i = doc.splitlines(), [], 0
    while i < len(lines):
        i += 1
        if lines[i - 1].rstrip().endswith("::"):
            block = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                block.append(lines[i])
                i += 1
            blocks.append(textwrap.dedent("\n".join(block)))
    return blocks


def test_the_testing_kit_docstring_examples_run_and_pass():
    namespace = {}
    for block in docstring_code_blocks(minigrad.testing.__doc__):
        exec(compile(block, "minigrad.testing docstring", "exec"), namespace)
    tests = {name: fn for name, fn in namespace.items() if name.startswith("test_")}
    assert set(tests) == {"test_cube", "test_mul", "test_sum", "test_max"}
    for fn in tests.values():
        fn()


def test_importing_minigrad_does_not_import_hypothesis():
    code = "import sys, minigrad; assert 'hypothesis' not in sys.modules, 'hypothesis imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_function_with_non_tensor_parameters():
    x = leaf([1.0, 2.0, 3.0])
    out = ScaledPower.apply(x, alpha=3.0, scale=0.5)
    np.testing.assert_allclose(out.data, 0.5 * x.data ** 3, rtol=1e-15)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, 1.5 * x.data ** 2, rtol=1e-15)
    assert_gradients(lambda x: ScaledPower.apply(x, alpha=2.5, scale=-2.0), leaf([0.5, 1.5]))


def test_function_with_a_python_number_as_positional_input():
    class AddConstant(mg.Function):
        @staticmethod
        def forward(ctx, x, c):
            return x + c

        @staticmethod
        def backward(ctx, g):
            return g, None

    x = leaf([1.0, 2.0])
    out = AddConstant.apply(x, 10.0)
    np.testing.assert_array_equal(out.data, [11.0, 12.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_needs_input_grad_and_saved_tensors_inside_backward():
    seen = {}

    class Probe(mg.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            seen["needs"] = ctx.needs_input_grad
            seen["types"] = (type(a), type(b), type(g))
            da, db = ctx.needs_input_grad
            return (g * b if da else None), (g * a if db else None)

    a, b = leaf([2.0]), mg.Tensor([5.0])
    Probe.apply(a, b).sum().backward()
    assert seen["needs"] == (True, False)
    assert seen["types"] == (np.ndarray, np.ndarray, np.ndarray)
    np.testing.assert_array_equal(a.grad, [5.0])
    assert b.grad is None

    # Under create_graph the saved inputs are the graph's own Tensors: backward is differentiable.
    g, = mg.grad(Probe.apply(a, a).sum(), a, create_graph=True)
    assert seen["types"] == (mg.Tensor, mg.Tensor, mg.Tensor)
    np.testing.assert_array_equal(g.data, [4.0])
    assert g.requires_grad


def test_a_function_whose_inputs_do_not_require_grad_records_nothing():
    out = Cube.apply(mg.Tensor([1.0, 2.0]))
    assert not out.requires_grad and out.grad_fn is None


# -- what backward may return ---------------------------------------------------------

class FirstOnly(mg.Function):
    """a * 1 + 0 * b in value; backward gives b no gradient (None)."""

    @staticmethod
    def forward(ctx, a, b):
        return a * 1.0

    @staticmethod
    def backward(ctx, g):
        return g, None


def test_backward_returning_none_for_a_leaf_input():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    FirstOnly.apply(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0])
    assert b.grad is None


def test_backward_returning_none_does_not_block_other_paths_to_an_intermediate():
    # y feeds FirstOnly (which gives it no gradient) and also y * 2: x still gets 3 * 2 = 6.
    x, a = leaf([1.0, 2.0]), leaf([0.0, 0.0])
    y = x * 3
    (FirstOnly.apply(a, y) + y * 2).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_backward_returning_none_for_every_use_of_an_intermediate_leaves_no_grad():
    x, a = leaf([1.0, 2.0]), leaf([0.0, 0.0])
    y = x * 3
    FirstOnly.apply(a, y).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0])
    assert x.grad is None


class AddRowVector(mg.Function):
    """x + b, b broadcast against x; backward returns g, of x's shape, for both."""

    @staticmethod
    def forward(ctx, x, b):
        return x + b

    @staticmethod
    def backward(ctx, g):
        return g, g


def test_backward_returning_a_broadcast_shaped_gradient_is_summed_by_the_engine():
    x, b = leaf(np.zeros((3, 2))), leaf([0.0, 0.0])
    AddRowVector.apply(x, b).backward(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    np.testing.assert_array_equal(b.grad, [9.0, 12.0])
    np.testing.assert_array_equal(x.grad, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert mg.gradcheck(AddRowVector.apply, [leaf(np.ones((3, 2))), leaf([1.0, 2.0])])


def test_backward_returning_a_gradient_broadcast_over_size_one_axes_is_summed():
    x, b = leaf(np.zeros((2, 3))), leaf([[0.0], [0.0]])    # b of shape (2, 1)
    AddRowVector.apply(x, b).backward(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(b.grad, [[3.0], [12.0]])


def test_backward_returning_the_wrong_number_of_gradients_names_the_op():
    class TwoForOne(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    with pytest.raises(ValueError, match=r"TwoForOne.*2 gradients for 1 input"):
        TwoForOne.apply(leaf([1.0])).sum().backward()


def test_backward_returning_one_gradient_for_two_inputs_names_the_op():
    class OneForTwo(mg.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(ValueError, match=r"OneForTwo.*1 gradients for 2 inputs"):
        OneForTwo.apply(leaf([1.0]), leaf([2.0])).sum().backward()


@pytest.mark.parametrize("bad_shape", [(3,), (2, 3), (4, 1)])
def test_backward_returning_an_incompatible_shape_names_the_op_and_the_shapes(bad_shape):
    class WrongShape(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return np.ones(bad_shape)

    with pytest.raises(ValueError) as info:
        WrongShape.apply(leaf([[1.0, 2.0], [3.0, 4.0]])).backward()
    message = str(info.value)
    assert "WrongShape" in message
    assert str(bad_shape) in message and "(2, 2)" in message


def test_forward_returning_a_numpy_scalar_becomes_a_zero_dim_tensor():
    class Total(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.n = x.shape
            return np.sum(x)            # a numpy scalar, not an array

        @staticmethod
        def backward(ctx, g):
            return np.ones(ctx.n) * g

    x = leaf([1.0, 2.0])
    out = Total.apply(x)
    assert isinstance(out.data, np.ndarray) and out.shape == ()
    out.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_saved_output_of_a_zero_dim_op_stays_differentiable_under_create_graph():
    # d/dx exp(x) = exp(x); the second derivative needs the saved output to be the graph's output
    # even when numpy hands forward a scalar for a 0-d input.
    x = leaf(0.5)
    g, = mg.grad(x.exp(), x, create_graph=True)
    gg, = mg.grad(g, x)
    np.testing.assert_allclose(gg.data, np.exp(0.5), rtol=1e-14)
