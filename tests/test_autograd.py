"""The engine's mechanics: accumulation, graph shapes, modes, grad(), dtypes, numpy interop,
in-place guards, hooks, aliasing and memory."""
import gc
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import assert_gradients


def leaf(values, dtype=np.float64):
    return mg.Tensor(np.array(values, dtype=dtype), requires_grad=True)


class CountingIdentity(mg.Function):
    """y = x, counting how many times its backward runs."""
    calls = 0

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        CountingIdentity.calls += 1
        return g


# -- accumulation and graph shapes ----------------------------------------------

def test_gradients_accumulate_across_backward_calls_until_reset():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_a_tensor_used_twice_by_one_op_gets_both_contributions():
    x = leaf([3.0, -1.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, -2.0])


def test_a_tensor_used_by_several_ops_sums_their_gradients():
    x = leaf([2.0])
    y = x.exp() + x * 3 + x ** 2 + x / 2
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [np.exp(2.0) + 3 + 4 + 0.5], rtol=1e-14)


def test_diamond_graph_runs_each_backward_once_and_sums_both_paths():
    CountingIdentity.calls = 0
    x = leaf([1.0, 2.0])
    top = CountingIdentity.apply(x * 2)      # shared by both branches
    left, right = top * 3, top.exp()
    (left + right).sum().backward()
    assert CountingIdentity.calls == 1
    np.testing.assert_allclose(x.grad, 2 * (3 + np.exp(2 * np.array([1.0, 2.0]))), rtol=1e-14)


def test_a_chain_of_100000_ops_backpropagates_without_recursion_error():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    expected = 1.00001 ** 100_000
    np.testing.assert_allclose(y.data, expected, rtol=1e-9)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-9)


def test_backward_on_a_non_scalar_without_grad_raises():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match="needs `grad`"):
        y.backward()


def test_backward_with_an_explicit_grad_weights_the_outputs():
    x = leaf([1.0, 2.0])
    (x * x).backward(np.array([10.0, 100.0]))
    np.testing.assert_array_equal(x.grad, [20.0, 400.0])


def test_backward_with_a_wrongly_shaped_grad_raises():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(ValueError, match=r"\(3,\)"):
        y.backward(np.ones(3))


def test_backward_on_a_tensor_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (mg.Tensor([1.0]) * 2).sum().backward()


def test_second_backward_without_retain_graph_raises_naming_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_second_backward_with_retain_graph_works_and_accumulates():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * np.exp([1.0, 2.0]), rtol=1e-14)


# -- modes ---------------------------------------------------------------------

def test_no_grad_context_records_nothing():
    x = leaf([1.0, 2.0])
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = (x * 2).exp().sum()
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_no_grad_as_decorator_records_nothing_and_restores_the_mode():
    @mg.no_grad()
    def step(t):
        return t * 2 + 1

    x = leaf([1.0])
    y = step(x)
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.data, [3.0])
    assert mg.is_grad_enabled()
    assert (x * 2).requires_grad


def test_enable_grad_inside_no_grad_records_again():
    x = leaf([1.0, 2.0])
    with mg.no_grad():
        with mg.enable_grad():
            y = (x * x).sum()
        z = x * 2
    assert y.requires_grad and not z.requires_grad
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_no_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with mg.no_grad():
            1 / 0
    assert mg.is_grad_enabled()


def test_detach_shares_data_but_leaves_the_graph():
    x = leaf([1.0, 2.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    y = (x * d).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])   # d is a constant: no d(d)/dx term
    x2 = leaf([5.0])
    assert x2.detach().data is x2.data


# -- minigrad.grad ---------------------------------------------------------------

def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    result = mg.grad((x * w).sum(), [x, w])
    assert isinstance(result, tuple) and len(result) == 2
    np.testing.assert_array_equal(result[0].data, [3.0, 4.0])
    np.testing.assert_array_equal(result[1].data, [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_grad_of_a_single_input_is_a_one_tuple():
    x = leaf([1.0, 2.0])
    result = mg.grad((x * x).sum(), x)
    assert isinstance(result, tuple) and len(result) == 1
    np.testing.assert_array_equal(result[0].data, [2.0, 4.0])


def test_grad_with_respect_to_an_intermediate_tensor():
    x = leaf([1.0, 2.0])
    h = x * 3
    out = (h * h).sum()
    dh, dx = mg.grad(out, [h, x])
    np.testing.assert_array_equal(dh.data, 2 * h.data)
    np.testing.assert_array_equal(dx.data, 18 * x.data)
    assert x.grad is None


def test_grad_of_an_unused_input_raises_unless_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        mg.grad((x * 2).sum(), [x, unused])
    dx, du = mg.grad((x * 2).sum(), [x, unused], allow_unused=True)
    np.testing.assert_array_equal(dx.data, [2.0])
    assert du is None


def test_hessian_vector_product_of_sum_of_cubes():
    # f(x) = sum(x^3): gradient 3x^2, Hessian diag(6x).
    x = leaf([1.0, -2.0, 0.5])
    v = np.array([1.0, 2.0, 3.0])
    g, = mg.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data ** 2, rtol=1e-14)
    hv, = mg.grad((g * v).sum(), x)
    np.testing.assert_allclose(hv.data, 6 * x.data * v, rtol=1e-14)


def test_hessian_vector_product_of_a_quadratic_form():
    # f(x) = x^T A x: gradient (A + A^T) x, Hessian A + A^T.
    a = np.array([[2.0, 1.0, 0.0], [-1.0, 3.0, 4.0], [0.5, 0.0, 1.0]])
    x = leaf([0.3, -1.2, 2.0])
    v = np.array([1.0, -1.0, 0.5])
    f = x @ (mg.Tensor(a) @ x)
    g, = mg.grad(f, x, create_graph=True)
    np.testing.assert_allclose(g.data, (a + a.T) @ x.data, rtol=1e-14)
    hv, = mg.grad((g * v).sum(), x)
    np.testing.assert_allclose(hv.data, (a + a.T) @ v, rtol=1e-14)


def test_gradient_penalty_differentiates_the_norm_of_a_gradient():
    # f(x, w) = sum(tanh(w * x)); penalty = |df/dx|^2 = sum((w (1 - tanh(wx)^2))^2).
    x, w = leaf([0.5, -1.0]), leaf([2.0, 0.7])
    g, = mg.grad(((w * x).tanh()).sum(), x, create_graph=True)
    penalty = (g * g).sum()
    penalty.backward()
    t = np.tanh(w.data * x.data)
    s = 1 - t ** 2
    # d/dw [w^2 s^2] = 2 w s^2 + w^2 * 2 s * (-2 t s x)
    expected_w = 2 * w.data * s ** 2 - 4 * w.data ** 2 * s ** 2 * t * x.data
    expected_x = w.data ** 2 * 2 * s * (-2 * t * s * w.data)
    np.testing.assert_allclose(w.grad, expected_w, rtol=1e-12)
    np.testing.assert_allclose(x.grad, expected_x, rtol=1e-12)


# -- dtypes ----------------------------------------------------------------------

FLOAT32_OPS = {
    "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
    "div": lambda x, y: x / (y * y + 1), "pow": lambda x, y: (x * x + 1) ** y,
    "neg": lambda x, y: -x, "matmul": lambda x, y: x @ y.T,
    "linear": lambda x, y: mg.linear(x, y, y[0]),
    "maximum": lambda x, y: mg.maximum(x, y), "minimum": lambda x, y: mg.minimum(x, y),
    "where": lambda x, y: mg.where(x > y, x, y),
    "sum": lambda x, y: x.sum(axis=0), "mean": lambda x, y: x.mean(axis=1, keepdims=True),
    "max": lambda x, y: x.max(axis=0), "min": lambda x, y: x.min(),
    "softmax": lambda x, y: x.softmax(axis=0), "log_softmax": lambda x, y: x.log_softmax(),
    "reshape": lambda x, y: x.reshape(-1), "transpose": lambda x, y: x.transpose(1, 0),
    "T": lambda x, y: x.T, "swapaxes": lambda x, y: x.swapaxes(0, 1),
    "flatten": lambda x, y: x.flatten(), "broadcast_to": lambda x, y: mg.broadcast_to(x, (3, 2, 2)),
    "getitem": lambda x, y: x[1, ::-1], "getitem_array": lambda x, y: x[[0, 0, 1]],
    "concatenate": lambda x, y: mg.concatenate([x, y], axis=1),
    "stack": lambda x, y: mg.stack([x, y], axis=-1),
    "exp": lambda x, y: x.exp(), "log": lambda x, y: (x * x + 1).log(),
    "sqrt": lambda x, y: (x * x + 1).sqrt(), "abs": lambda x, y: abs(x),
    "clip": lambda x, y: x.clip(-0.5, 0.5), "relu": lambda x, y: x.relu(),
    "leaky_relu": lambda x, y: x.leaky_relu(0.1), "sigmoid": lambda x, y: x.sigmoid(),
    "tanh": lambda x, y: x.tanh(), "softplus": lambda x, y: x.softplus(),
    "python_scalars": lambda x, y: 2.5 * x - 1.5 + 3 / (x * x + 1) + x ** 2 + 2.0 ** x,
}


USES_Y = {"add", "sub", "mul", "div", "pow", "matmul", "linear", "maximum", "minimum", "where",
          "concatenate", "stack"}


@pytest.mark.parametrize("name", sorted(FLOAT32_OPS))
def test_float32_in_gives_float32_out_and_float32_grads(name):
    x = mg.Tensor(np.array([[0.3, -1.2], [2.0, 0.7]], dtype=np.float32), requires_grad=True)
    y = mg.Tensor(np.array([[1.1, 0.4], [-0.6, 1.5]], dtype=np.float32), requires_grad=True)
    out = FLOAT32_OPS[name](x, y)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert x.grad.dtype == np.float32
    if name in USES_Y:
        assert y.grad.dtype == np.float32
    else:
        assert y.grad is None


@pytest.mark.parametrize("name", sorted(FLOAT32_OPS))
def test_float32_gradients_from_grad_with_create_graph_stay_float32(name):
    x = mg.Tensor(np.array([[0.3, -1.2], [2.0, 0.7]], dtype=np.float32), requires_grad=True)
    y = mg.Tensor(np.array([[1.1, 0.4], [-0.6, 1.5]], dtype=np.float32), requires_grad=True)
    out = FLOAT32_OPS[name](x, y)
    grads = mg.grad(out, [x, y], grad_outputs=mg.Tensor(np.ones(out.shape, dtype=np.float32)),
                    create_graph=True, allow_unused=True)
    assert [g.dtype for g in grads if g is not None] == [np.float32] * (1 + (name in USES_Y))


def test_float32_and_float64_tensors_promote_like_numpy():
    a = leaf([1.0, 2.0], dtype=np.float32)
    b = leaf([3.0, 4.0])
    out = a * b
    assert out.dtype == np.result_type(np.float32, np.float64) == np.float64
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])


def test_float32_tensor_and_float64_array_promote_like_numpy():
    a = leaf([1.0, 2.0], dtype=np.float32)
    assert (a + np.array([1.0, 1.0])).dtype == np.float64
    assert (a + np.array([1.0, 1.0], dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("data", [3, 2.5, True, [1, 2], [[1.0, 2.0]], [1, 2.5]])
def test_python_numbers_and_lists_become_float64(data):
    t = mg.Tensor(data)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.array(data, dtype=np.float64))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_an_ndarray_is_used_without_a_copy(dtype):
    arr = np.arange(3, dtype=dtype)
    assert mg.Tensor(arr).data is arr
    assert mg.Tensor(arr, dtype=dtype).data is arr


def test_an_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="floating"):
        mg.Tensor(np.array([1, 2]), requires_grad=True)
    t = mg.Tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match="floating"):
        t.requires_grad = True


# -- numpy interop ------------------------------------------------------------------

def test_ndarray_times_tensor_is_a_tensor_in_the_graph():
    x = leaf([1.0, 2.0])
    out = np.array([3.0, 4.0]) * x
    assert isinstance(out, mg.Tensor) and out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_ndarray_matmul_tensor_is_a_tensor_in_the_graph():
    x = leaf([1.0, 2.0])
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out = a @ x
    assert isinstance(out, mg.Tensor) and out.requires_grad
    np.testing.assert_array_equal(out.data, a @ x.data)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, a.sum(axis=0))


def test_python_number_minus_tensor_is_a_tensor_in_the_graph():
    x = leaf([1.0, 2.0])
    out = 2 - x
    assert isinstance(out, mg.Tensor) and out.requires_grad
    np.testing.assert_array_equal(out.data, [1.0, 0.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, -1.0])


@pytest.mark.parametrize("ufunc, derivative", [
    (np.exp, np.exp), (np.log, lambda v: 1 / v), (np.sqrt, lambda v: 0.5 / np.sqrt(v)),
    (np.tanh, lambda v: 1 - np.tanh(v) ** 2), (np.negative, lambda v: -np.ones_like(v)),
    (np.absolute, np.sign),
])
def test_numpy_ufunc_on_a_tensor_is_a_tensor_in_the_graph(ufunc, derivative):
    x = leaf([0.5, 2.0])
    out = ufunc(x)
    assert isinstance(out, mg.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, ufunc(x.data), rtol=1e-15)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, derivative(x.data), rtol=1e-14)


def test_numpy_ufunc_without_an_op_raises_type_error_naming_it():
    with pytest.raises(TypeError, match="arcsinh"):
        np.arcsinh(leaf([1.0]))


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError) as info:
        leaf(np.ones((2, 3))) @ leaf(np.ones((4, 5)))
    assert "(2, 3)" in str(info.value) and "(4, 5)" in str(info.value)


def test_reassigning_data_with_another_shape_raises():
    t = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(3,\)"):
        t.data = np.zeros(3)
    t.data = np.array([5.0, 6.0])
    np.testing.assert_array_equal(t.data, [5.0, 6.0])


def test_in_place_update_of_a_tensor_requiring_grad_raises_outside_no_grad():
    t = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        t -= 1
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    with mg.no_grad():
        t -= 1
    np.testing.assert_array_equal(t.data, [0.0, 1.0])
    assert t.requires_grad


def test_in_place_change_of_a_saved_input_is_detected_at_backward():
    x = leaf([1.0, 2.0])
    w = mg.Tensor([3.0, 4.0])
    y = (x * w).sum()
    w += 1          # w does not require grad, so this is allowed, but Mul saved it
    with pytest.raises(RuntimeError, match="in place"):
        y.backward()


# -- hooks ---------------------------------------------------------------------------

def test_hook_on_a_leaf_sees_the_gradient_and_can_replace_it():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.copy()))
    x.register_hook(lambda g: g * 10)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(x.grad, [30.0, 30.0])


def test_hook_on_an_intermediate_sees_its_gradient_and_replacing_it_changes_the_leaf_grad():
    x = leaf([1.0, 2.0])
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.copy()))
    h.register_hook(lambda g: g + 1)
    (h * h).sum().backward()
    np.testing.assert_array_equal(seen[0], 2 * h.data)          # d(h.h)/dh = 2h = [4, 8]
    np.testing.assert_array_equal(x.grad, 2 * (2 * h.data + 1))  # [10, 18]


def test_removed_hook_is_not_called():
    x = leaf([1.0])
    calls = []
    handle = x.register_hook(lambda g: calls.append(1))
    handle.remove()
    (x * 2).sum().backward()
    assert calls == []
    np.testing.assert_array_equal(x.grad, [2.0])


# -- aliasing and memory ------------------------------------------------------------------

def test_gradients_of_x_plus_y_do_not_alias():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x + y).sum().backward()
    x.grad += 100
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


@pytest.mark.parametrize("make", [
    lambda x, y: (x + y).sum(),
    lambda x, y: (x.reshape(2, 1) + y.reshape(2, 1)).sum(),
    lambda x, y: (mg.stack([x, y]) * 1).sum(),
    lambda x, y: (x - (-y)).sum(),
])
def test_leaf_gradients_own_their_memory(make):
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    make(x, y).backward()
    for g in (x.grad, y.grad):
        assert g.base is None and g.flags.writeable
    assert not np.shares_memory(x.grad, y.grad)


def test_backward_releases_the_saved_buffers():
    x = leaf(np.ones(1000))
    h = x.exp()                          # Exp saves its output, the array of h
    out = (h * 2).sum()
    buffer = weakref.ref(h._data)         # (h.data is a read-only view while the graph holds it)
    node = h.grad_fn
    del h
    gc.collect()
    assert buffer() is not None           # still held by the graph before backward
    out.backward()
    gc.collect()
    assert buffer() is None
    assert node.inputs is None


def test_backward_releases_the_inputs_of_a_node_whose_output_you_still_hold():
    # As in a training loop that keeps `logits` around: after backward, the node behind a
    # tensor you hold must not keep that node's inputs (and their arrays) alive.
    x = leaf(np.ones(1000))
    h = x.exp()
    held = h * x                          # Mul saves both of its inputs
    held.sum().backward()
    tensor, buffer = weakref.ref(h), weakref.ref(h.data)
    del h
    gc.collect()
    assert held.grad_fn.inputs is None
    assert tensor() is None and buffer() is None


def test_retain_graph_keeps_the_saved_buffers():
    x = leaf(np.ones(10))
    h = x.exp()
    out = (h * 2).sum()
    buffer = weakref.ref(h._data)
    del h
    out.backward(retain_graph=True)
    gc.collect()
    assert buffer() is not None


def test_composite_of_many_ops_passes_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(1)
    x = mg.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = mg.Tensor(rng.standard_normal((2, 4)), requires_grad=True)

    def net(x, w):
        h = mg.linear(x, w).tanh()
        return (h.log_softmax(axis=1) * h.sigmoid()).mean() + (x ** 2).sum() / 10
    assert_gradients(net, x, w)


# -- 0-d gradients: numpy scalars inside the walk, arrays wherever a user sees them ----------

def test_a_zero_dim_loss_gives_ndarray_gradients_to_leaves_hooks_and_grad():
    x = mg.Tensor(2.0, requires_grad=True)
    seen = []
    h = x * 3.0
    h.register_hook(lambda g: seen.append(g))
    y = h * x                                   # 3 x^2: every gradient in the walk is 0-d
    y.backward()
    assert type(x.grad) is np.ndarray and x.grad.shape == () and x.grad == 12.0
    assert type(seen[0]) is np.ndarray and seen[0] == 2.0
    (g,) = mg.grad(x * x * x, x)
    assert type(g.data) is np.ndarray and g.data == 12.0


def test_a_zero_dim_float32_gradient_stays_float32():
    x = mg.Tensor(np.float32(2.0), requires_grad=True)
    (x * 3.0 * x).backward()
    assert x.grad.dtype == np.float32 and type(x.grad) is np.ndarray


def test_a_user_backward_of_a_zero_dim_output_may_compute_on_its_gradient_like_an_array():
    class Square(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2 * x * g.reshape(())        # ndarray methods work on a numpy scalar too

    x = mg.Tensor(3.0, requires_grad=True)
    (Square.apply(x) * 2.0).backward()
    assert x.grad == 12.0


# -- the walk's order: newest node first, each once ---------------------------------------------

def test_each_node_runs_once_after_all_its_consumers_when_branches_interleave():
    calls = []

    class Scale(mg.Function):
        @staticmethod
        def forward(ctx, x, factor):
            ctx.factor = factor
            return x * factor

        @staticmethod
        def backward(ctx, g):
            calls.append(ctx.factor)
            return g * ctx.factor, None

    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    a = Scale.apply(x, 2.0)                     # consumed by b, c and the final sum
    b = Scale.apply(a, 3.0)
    c = Scale.apply(a, 5.0)                     # made after b: runs before b
    d = Scale.apply(b, 7.0)                     # the newest: the walk reaches it first, then must
    (d + c + a).sum().backward()                # take c from the heap before b
    assert sorted(calls) == [2.0, 3.0, 5.0, 7.0]            # each node once
    assert calls.index(2.0) == 3                              # a after all three consumers
    assert calls.index(5.0) < calls.index(3.0)                # c (newer) before b
    np.testing.assert_allclose(x.grad, [2 * (3 * 7 + 5 + 1)] * 2)
