"""nn.utils: gradient clipping and parameter vectors, against the formulas and torch.nn.utils."""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.utils as utils
from minigrad import nn

RNG = np.random.default_rng(3)
GRADS = [RNG.standard_normal((3, 2)) * 4, RNG.standard_normal(5)]


def parameters(grads=GRADS):
    params = [nn.Parameter(np.zeros(g.shape)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_follows_the_formula(norm_type, max_norm):
    p = parameters()
    total = utils.clip_grad_norm_(p, max_norm, norm_type=norm_type)
    flat = np.concatenate([g.ravel() for g in GRADS])
    expected = np.max(np.abs(flat)) if norm_type == math.inf else \
        np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    assert total == pytest.approx(expected, rel=1e-12)
    scale = min(1.0, max_norm / (expected + 1e-6))
    for param, g in zip(p, GRADS):
        np.testing.assert_allclose(param.grad, g * scale, rtol=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    p = parameters()
    total = utils.clip_grad_norm_(iter(p), 1.0, norm_type=norm_type)   # a generator works too
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in GRADS]
    for t, g in zip(tensors, GRADS):
        t.grad = torch.from_numpy(g.copy())
    expected = torch.nn.utils.clip_grad_norm_(tensors, 1.0, norm_type=norm_type)
    assert total == pytest.approx(expected.item(), rel=1e-12)
    for param, t in zip(p, tensors):
        np.testing.assert_allclose(param.grad, t.grad.numpy(), rtol=1e-12)


def test_clipping_skips_missing_grads_keeps_dtype_and_never_scales_a_shared_array_twice():
    shared = np.full(2, 10.0, dtype=np.float32)
    a, b, c = (nn.Parameter(np.zeros(2, dtype=np.float32)) for _ in range(3))
    a.grad, b.grad = shared, shared                 # one array for two parameters
    total = utils.clip_grad_norm_([a, b, c], 1.0)
    assert total == pytest.approx(20.0, rel=1e-6) and c.grad is None
    np.testing.assert_allclose(a.grad, 10 / (20 + 1e-6), rtol=1e-6)
    np.testing.assert_allclose(b.grad, a.grad)
    assert a.grad.dtype == np.float32
    np.testing.assert_array_equal(shared, 10.0)     # the caller's array is left alone
    assert utils.clip_grad_norm_([c], 1.0) == 0.0


def test_a_non_finite_norm_can_be_refused_before_anything_changes():
    p = parameters([np.array([1.0, np.nan]), np.ones(2)])
    with pytest.raises(ValueError, match=r"total norm of the gradients is nan \(parameter 0 holds "
                                         r"NaN at index \(1,\)\); nothing was changed"):
        utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(p[1].grad, 1.0)


def test_clip_grad_value_matches_torch():
    p = parameters()
    utils.clip_grad_value_(p, 0.7)
    for param, g in zip(p, GRADS):
        np.testing.assert_array_equal(param.grad, np.minimum(np.maximum(g, -0.7), 0.7))
    torch = pytest.importorskip("torch")
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in GRADS]
    for t, g in zip(tensors, GRADS):
        t.grad = torch.from_numpy(g.copy())
    torch.nn.utils.clip_grad_value_(tensors, 0.7)
    for param, t in zip(p, tensors):
        np.testing.assert_array_equal(param.grad, t.grad.numpy())


def test_parameter_vectors_round_trip_and_are_differentiable():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Dense(2, 3), nn.Dense(3, 1))
    vector = utils.parameters_to_vector(model.parameters())
    assert vector.shape == (13,)
    np.testing.assert_array_equal(vector.numpy(), np.concatenate(
        [p.data.ravel() for p in model.parameters()]))
    (vector * vector).sum().backward()
    for p in model.parameters():
        np.testing.assert_allclose(p.grad, 2 * p.data, rtol=1e-15)
    utils.vector_to_parameters(np.arange(13.0), model.parameters())
    np.testing.assert_array_equal(utils.parameters_to_vector(model.parameters()).numpy(),
                                  np.arange(13.0))


@pytest.mark.parametrize("call, error, message", [
    (lambda p: utils.clip_grad_norm_(p, -1.0), ValueError, "max_norm must be a finite number >= 0"),
    (lambda p: utils.clip_grad_norm_(p, 1.0, norm_type=0), ValueError, "norm_type must be"),
    (lambda p: utils.clip_grad_value_(p, float("inf")), ValueError, "clip_value"),
    (lambda p: utils.clip_grad_norm_(nn.Dense(2, 2), 1.0), TypeError, "not the Dense itself"),
    (lambda p: utils.vector_to_parameters(np.zeros(10), p), ValueError,
     r"the vector has 10 entries, the parameters \[\(3, 2\), \(5,\)\] hold 11"),
    (lambda p: utils.vector_to_parameters(np.zeros((11, 1)), p), ValueError, "1-D vector"),
])
def test_bad_arguments_change_nothing(call, error, message):
    p = parameters()
    with pytest.raises(error, match=message):
        call(p)
    for param, g in zip(p, GRADS):
        np.testing.assert_array_equal(param.grad, g)
        np.testing.assert_array_equal(param.data, 0.0)
