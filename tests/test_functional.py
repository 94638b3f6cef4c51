"""minigrad.functional: vjp, jvp, jacobian, hessian, vhp, hvp against finite differences always,
and against torch.autograd.functional where torch is installed; float32 kept; clear errors."""
import importlib.util

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import minigrad as mg
from minigrad import functional as AF

FEW = settings(max_examples=12, deadline=None)

# Steps that read the same on minigrad and torch tensors: (name, function of (z, y)). None grows
# |z| by more than 1.5 (|y| <= 1.5) or 1.5 added, so values stay moderate over four steps.
STEPS = [
    ("tanh", lambda z, y: z.tanh()),
    ("sigmoid", lambda z, y: z.sigmoid()),
    ("exp", lambda z, y: (z.tanh() * 0.5).exp()),
    ("square", lambda z, y: z.tanh() * z),
    ("times y", lambda z, y: z * y),
    ("plus y", lambda z, y: z + y),
    ("over", lambda z, y: z / (y * y + 1)),
    ("cube", lambda z, y: z.tanh() ** 3),
]


@st.composite
def problems(draw):
    """(vector function of (x, y), scalar function of (x, y), x, y, W) for drawn steps and data."""
    n = draw(st.integers(1, 4))
    m = draw(st.integers(1, 3))
    steps = draw(st.lists(st.sampled_from(STEPS), min_size=1, max_size=4))
    values = st.floats(-1.5, 1.5, allow_nan=False)
    x, y = (np.array(draw(st.lists(values, min_size=n, max_size=n))) for _ in range(2))
    W = np.array(draw(st.lists(values, min_size=m * n, max_size=m * n))).reshape(m, n)

    def vector(x, y, W=W):
        z = x
        for _, step in steps:
            z = step(z, y)
        return W @ z if isinstance(z, mg.Tensor) else _torch().tensor(W) @ z

    def scalar(x, y):
        return (vector(x, y) * vector(y, x)).sum()
    return vector, scalar, x, y, W


def _torch():
    import torch
    return torch


def numeric_jacobian(f, x, eps=1e-6):
    """d f / d x by central differences, shape f.shape + x.shape (f maps an array to an array)."""
    x = np.array(x, dtype=np.float64)
    out = np.asarray(f(x))
    J = np.zeros(out.shape + x.shape)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        J[(Ellipsis,) + index] = (np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * eps)
    return J


def values(fn):
    """fn of Tensors as a function of arrays returning an array (no graph)."""
    def f(*arrays):
        with mg.no_grad():
            return fn(*[mg.Tensor(a) for a in arrays]).data
    return f


# -- against finite differences (always) ---------------------------------------------------

@FEW
@given(problem=problems())
def test_jacobian_jvp_and_vjp_match_finite_differences(problem):
    vector, _, x, y, _ = problem
    Jx = numeric_jacobian(lambda a: values(vector)(a, y), x)
    Jy = numeric_jacobian(lambda b: values(vector)(x, b), y)
    J = AF.jacobian(vector, (x, y))
    np.testing.assert_allclose(J[0].data, Jx, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(J[1].data, Jy, rtol=1e-5, atol=1e-7)
    u, v = np.linspace(-1, 1, x.size), np.cos(np.arange(Jx.shape[0]))
    _, (forward,) = AF.jvp(lambda a, b: (vector(a, b),), (x, y), (u, u))
    np.testing.assert_allclose(forward.data, Jx @ u + Jy @ u, rtol=1e-5, atol=1e-7)
    out, (back_x, back_y) = AF.vjp(vector, (x, y), v)
    np.testing.assert_allclose(back_x.data, v @ Jx, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(back_y.data, v @ Jy, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out.data, values(vector)(x, y), rtol=1e-12)


def numeric_hessian(f, x, h=1e-4):
    """Second-order central differences of the scalar f(x), shape x.shape + x.shape."""
    n = x.size
    H = np.zeros((n, n))
    basis = np.eye(n) * h
    for i in range(n):
        for j in range(n):
            ei, ej = basis[i].reshape(x.shape), basis[j].reshape(x.shape)
            H[i, j] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h * h)
    return H.reshape(x.shape + x.shape)


@FEW
@given(problem=problems())
def test_hessian_hvp_and_vhp_match_finite_differences(problem):
    _, scalar, x, y, _ = problem
    xy = np.concatenate([x, y])
    n = x.size
    joint = lambda a: values(scalar)(a[:n], a[n:])
    expected = numeric_hessian(joint, xy)
    H = AF.hessian(scalar, (x, y))
    got = np.block([[H[0][0].data, H[0][1].data], [H[1][0].data, H[1][1].data]])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    v = (np.sin(np.arange(n) + 1.0), np.cos(np.arange(n)))
    vv = np.concatenate(v)
    _, hv = AF.hvp(scalar, (x, y), v)
    _, vh = AF.vhp(scalar, (x, y), v)
    np.testing.assert_allclose(np.concatenate([t.data for t in hv]), expected @ vv, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.concatenate([t.data for t in vh]), vv @ expected, rtol=1e-4, atol=1e-5)


def test_closed_forms_and_shapes_for_matrix_inputs():
    x = np.arange(6.0).reshape(2, 3) / 4
    J = AF.jacobian(lambda t: t ** 3, x)
    assert J.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(J.data, _diag(3 * x ** 2), rtol=1e-12)
    H = AF.hessian(lambda t: (t ** 3).sum(), x)
    assert H.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(H.data, _diag(6 * x), rtol=1e-12)


def _diag(d):
    out = np.zeros(d.shape + d.shape)
    for i in np.ndindex(d.shape):
        out[i + i] = d[i]
    return out


def test_a_hessian_of_a_scalar_output_of_shape_one_has_the_inputs_shape_twice():
    x = np.array([0.5, -1.0])
    H = AF.hessian(lambda t: (t * t * t).sum().reshape((1,)), x)
    assert H.shape == (2, 2)
    np.testing.assert_allclose(H.data, np.diag(6 * x))
    out, hv = AF.hvp(lambda t: (t * t * t).sum().reshape((1,)), x, np.ones(2))
    assert out.shape == (1,)                          # the output as func returned it
    np.testing.assert_allclose(hv.data, 6 * x)


# -- structure, dtypes, graph mode --------------------------------------------------------

def test_single_and_tuple_inputs_and_outputs_nest_as_in_pytorch():
    x, y = np.array([1.0, 2.0]), np.array([3.0])
    assert isinstance(AF.jacobian(lambda a: a * 2, x), mg.Tensor)
    single_out = AF.jacobian(lambda a, b: a * b, (x, y))
    assert isinstance(single_out, tuple) and [j.shape for j in single_out] == [(2, 2), (2, 1)]
    tuple_out = AF.jacobian(lambda a: (a * 2, a.sum()), x)
    assert isinstance(tuple_out, tuple) and [j.shape for j in tuple_out] == [(2, 2), (2,)]
    both = AF.jacobian(lambda a, b: (a * b, b * 3), (x, y))
    assert [[j.shape for j in row] for row in both] == [[(2, 2), (2, 1)], [(1, 2), (1, 1)]]
    np.testing.assert_array_equal(both[1][0].data, np.zeros((1, 2)))   # b*3 ignores a
    np.testing.assert_array_equal(both[1][1].data, [[3.0]])
    H = AF.hessian(lambda a, b: (a * a * b).sum(), (x, y))
    assert [[h.shape for h in row] for row in H] == [[(2, 2), (2, 1)], [(1, 2), (1, 1)]]
    np.testing.assert_array_equal(H[0][1].data, 2 * x[:, None])


@pytest.mark.parametrize("call", [
    lambda x: AF.jacobian(lambda t: t.tanh() * t, x),
    lambda x: AF.hessian(lambda t: (t.tanh() * t).sum(), x),
    lambda x: AF.vjp(lambda t: t.tanh() * t, x, np.ones(3, np.float32))[1],
    lambda x: AF.jvp(lambda t: t.tanh() * t, x, np.ones(3, np.float32))[1],
    lambda x: AF.vhp(lambda t: (t.tanh() * t).sum(), x, np.ones(3, np.float32))[1],
    lambda x: AF.hvp(lambda t: (t.tanh() * t).sum(), x, np.ones(3, np.float32))[1],
    lambda x: AF.vjp(lambda t: t.tanh() * t, x, np.ones(3))[1],        # a float64 v is cast
])
def test_float32_in_gives_float32_out(call):
    x32 = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    result = call(x32)
    assert result.dtype == np.float32
    reference = call(x32.astype(np.float64))
    np.testing.assert_allclose(result.data, reference.data, rtol=1e-5)


def test_results_are_detached_unless_create_graph_and_then_differentiable():
    x = mg.Tensor([0.5, -1.0], requires_grad=True)
    J = AF.jacobian(lambda t: t ** 3, x)
    assert not J.requires_grad and J.grad_fn is None
    J = AF.jacobian(lambda t: t ** 3, x, create_graph=True)
    assert J.requires_grad
    J.sum().backward()                             # d/dx of sum(diag(3x^2)) = 6x
    np.testing.assert_allclose(x.grad, 6 * x.data)
    x.grad = None
    _, hv = AF.hvp(lambda t: (t ** 4).sum(), x, np.ones(2), create_graph=True)
    hv.sum().backward()                            # d/dx of 12 x^2 = 24 x
    np.testing.assert_allclose(x.grad, 24 * x.data)


def test_functions_run_with_grad_on_even_under_no_grad_and_leave_the_mode_alone():
    with mg.no_grad():
        J = AF.jacobian(lambda t: t * t, np.array([1.0, 3.0]))
        assert not mg.is_grad_enabled()
    np.testing.assert_array_equal(J.data, np.diag([2.0, 6.0]))


def test_outputs_independent_of_an_input_give_zeros_or_an_error_when_strict():
    x, y = np.array([1.0, 2.0]), np.array([3.0])
    _, (gx, gy) = AF.vjp(lambda a, b: a * 2, (x, y), np.ones(2))
    np.testing.assert_array_equal(gy.data, [0.0])
    with pytest.raises(RuntimeError, match="strict"):
        AF.vjp(lambda a, b: a * 2, (x, y), np.ones(2), strict=True)
    with pytest.raises(RuntimeError, match="input 1"):
        AF.jacobian(lambda a, b: a * 2, (x, y), strict=True)
    constant = AF.jacobian(lambda a: mg.Tensor(np.ones(3)), x)
    np.testing.assert_array_equal(constant.data, np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match="does not require grad"):
        AF.jvp(lambda a: mg.Tensor(np.ones(3)), x, np.ones(2), strict=True)
    _, linear = AF.hvp(lambda a: a.sum() * 2, x, np.ones(2))     # a zero Hessian
    np.testing.assert_array_equal(linear.data, [0.0, 0.0])


# -- clear errors --------------------------------------------------------------------------

def test_v_of_the_wrong_shape_or_count_is_refused_with_the_shapes():
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match=r"v has shape \(3,\), but the output of func has shape \(2,\)"):
        AF.vjp(lambda t: t * 2, x, np.ones(3))
    with pytest.raises(ValueError, match=r"v has shape \(1,\), but the input has shape \(2,\)"):
        AF.jvp(lambda t: t * 2, x, np.ones(1))
    with pytest.raises(ValueError, match=r"v\[1\] has shape \(2,\), but input 1 has shape \(1,\)"):
        AF.hvp(lambda a, b: (a * b).sum(), (x, np.ones(1)), (np.ones(2), np.ones(2)))
    with pytest.raises(ValueError, match="a tuple of 2"):
        AF.vhp(lambda a, b: (a * b).sum(), (x, np.ones(1)), np.ones(2))
    with pytest.raises(ValueError, match="left out only"):
        AF.vjp(lambda t: t * 2, x)
    with pytest.raises(ValueError, match="left out only"):
        AF.jvp(lambda t: t * 2, x)


def test_bad_functions_and_inputs_are_refused_clearly():
    x = np.array([1.0, 2.0])
    with pytest.raises(TypeError, match="must be a Tensor.*not ndarray"):
        AF.jacobian(lambda t: t.data * 2, x)
    with pytest.raises(TypeError, match=r"\[1\] must be a Tensor.*not float"):
        AF.vjp(lambda t: (t * 2, 3.0), x, (np.ones(2), np.ones(())))
    with pytest.raises(ValueError, match=r"single-element.*shape \(2,\)"):
        AF.hessian(lambda t: t * 2, x)
    with pytest.raises(TypeError, match="single Tensor, not a tuple"):
        AF.hvp(lambda t: (t.sum(), t.sum()), x, np.ones(2))
    with pytest.raises(TypeError, match="not a list"):
        AF.jacobian(lambda t: t, [x, x])
    with pytest.raises(TypeError, match="floating-point"):
        AF.jacobian(lambda t: t, np.arange(3))
    with pytest.raises(TypeError, match="create_graph"):
        AF.jacobian(lambda t: t, x, create_graph="yes")


def test_forward_products_refuse_a_backward_that_leaves_the_graph():
    class NumpyDouble(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return 2 * np.asarray(g)          # a plain array even when g is a Tensor

    x = np.array([1.0, 2.0])
    _, back = AF.vjp(NumpyDouble.apply, x, np.ones(2))       # first order is fine
    np.testing.assert_array_equal(back.data, [2.0, 2.0])
    with pytest.raises(RuntimeError, match="NumpyDouble.backward .*numpy array"):
        AF.jvp(NumpyDouble.apply, x, np.ones(2))


# -- against torch.autograd.functional (where torch is installed) --------------------------

def _both(value, torch):
    return torch.tensor(np.asarray(value))


def _assert_same(ours, theirs):
    """Same nesting, shapes and values (rtol 1e-10: both are exact float64 reverse passes)."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_same(a, b)
        return
    assert isinstance(ours, mg.Tensor)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
@FEW
@given(problem=problems(), create_graph=st.booleans())
def test_all_six_equal_torch_on_drawn_functions(problem, create_graph):
    import torch
    TF = torch.autograd.functional
    vector, scalar, x, y, W = problem
    tx, ty = _both(x, torch), _both(y, torch)
    u = np.linspace(-1, 1, x.size)
    v = np.cos(np.arange(W.shape[0]))
    tu, tv = _both(u, torch), _both(v, torch)
    single = lambda a: vector(a, a * 0.5)
    pair_out = lambda a, b: (vector(a, b), scalar(a, b))
    kw = dict(create_graph=create_graph)
    _assert_same(AF.jacobian(single, x, **kw), TF.jacobian(single, tx, **kw))
    _assert_same(AF.jacobian(pair_out, (x, y), **kw), TF.jacobian(pair_out, (tx, ty), **kw))
    _assert_same(AF.hessian(scalar, (x, y), **kw), TF.hessian(scalar, (tx, ty), **kw))
    _assert_same(AF.hessian(lambda a: scalar(a, a), x, **kw), TF.hessian(lambda a: scalar(a, a), tx, **kw))
    _assert_same(AF.vjp(single, x, v, **kw), TF.vjp(single, tx, tv, **kw))
    _assert_same(AF.vjp(pair_out, (x, y), (v, np.array(2.0)), **kw),
                 TF.vjp(pair_out, (tx, ty), (tv, torch.tensor(2.0, dtype=torch.float64)), **kw))
    _assert_same(AF.jvp(single, x, u, **kw), TF.jvp(single, tx, tu, **kw))
    _assert_same(AF.jvp(pair_out, (x, y), (u, u), **kw), TF.jvp(pair_out, (tx, ty), (tu, tu), **kw))
    _assert_same(AF.hvp(scalar, (x, y), (u, u), **kw), TF.hvp(scalar, (tx, ty), (tu, tu), **kw))
    _assert_same(AF.vhp(scalar, (x, y), (u, u), **kw), TF.vhp(scalar, (tx, ty), (tu, tu), **kw))


def test_defaulted_v_for_single_elements_equals_torch():
    torch = pytest.importorskip("torch")
    TF = torch.autograd.functional
    x = np.array([0.7])
    f = lambda t: (t * t * t).tanh()
    tx = torch.tensor(x)
    _assert_same(AF.vjp(f, x), TF.vjp(f, tx))
    _assert_same(AF.jvp(f, x), TF.jvp(f, tx))
    g = lambda t: (t * t * t).sum()
    _assert_same(AF.hvp(g, x), TF.hvp(g, tx))
    _assert_same(AF.vhp(g, x), TF.vhp(g, tx))


def test_numpy_scalars_and_empty_outputs():
    J = AF.jacobian(lambda t: t * t, np.float32(3.0))     # a numpy scalar counts as a 0-d array
    assert J.shape == () and J.dtype == np.float32 and J.item() == 6.0
    assert AF.jacobian(lambda t: t[:0], np.array([1.0, 2.0])).shape == (0, 2)
