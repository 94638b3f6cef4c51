"""minigrad.optim: SGD and Adam against their update rules written out by hand in numpy.

The optimizer under test gets a fixed sequence of gradients (assigned to
`.grad`), so each test checks the update rule alone.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.optim import SGD, Adam, Optimizer

STEPS = 6


def gradient_sequence(shape, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(STEPS)]


def run(optimizer_class, start, gradients, **settings):
    """Apply the optimizer to a parameter starting at `start`; the values after each step."""
    p = nn.Parameter(start.copy())
    optimizer = optimizer_class([p], **settings)
    trajectory = []
    for g in gradients:
        p.grad = g.copy()
        optimizer.step()
        trajectory.append(p.data.copy())
    return trajectory


START = np.random.default_rng(1).standard_normal((3, 2))
GRADIENTS = gradient_sequence((3, 2))


@pytest.mark.parametrize("momentum, nesterov, weight_decay", [
    (0.0, False, 0.0), (0.0, False, 0.1), (0.9, False, 0.0), (0.9, False, 0.05),
    (0.8, True, 0.0), (0.8, True, 0.05),
])
def test_sgd_follows_pytorchs_rule(momentum, nesterov, weight_decay):
    lr = 0.1
    got = run(SGD, START, GRADIENTS, lr=lr, momentum=momentum, nesterov=nesterov,
              weight_decay=weight_decay)
    # PyTorch's documented SGD, by hand.
    p, buffer = START.copy(), None
    for step, g in enumerate(GRADIENTS):
        g = g + weight_decay * p
        if momentum:
            buffer = g if buffer is None else momentum * buffer + g
            g = g + momentum * buffer if nesterov else buffer
        p = p - lr * g
        np.testing.assert_allclose(got[step], p, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("betas, weight_decay", [((0.9, 0.999), 0.0), ((0.8, 0.99), 0.0),
                                                  ((0.9, 0.999), 0.1)])
def test_adam_follows_pytorchs_rule_with_bias_correction(betas, weight_decay):
    lr, eps = 0.01, 1e-8
    got = run(Adam, START, GRADIENTS, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    beta1, beta2 = betas
    p, m, v = START.copy(), np.zeros_like(START), np.zeros_like(START)
    for t, g in enumerate(GRADIENTS, start=1):
        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(got[t - 1], p, rtol=1e-12, atol=1e-15)


def test_optimizers_agree_with_torch():
    torch = pytest.importorskip("torch")
    cases = [(SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
             (Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.01))]
    for ours, theirs, settings in cases:
        got = run(ours, START, GRADIENTS, **settings)
        reference = torch.nn.Parameter(torch.from_numpy(START.copy()))
        optimizer = theirs([reference], **settings)
        for step, g in enumerate(GRADIENTS):
            reference.grad = torch.from_numpy(g.copy())
            optimizer.step()
            np.testing.assert_allclose(got[step], reference.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_a_parameter_without_grad_is_skipped_and_keeps_its_own_step_count():
    a, b = nn.Parameter(START.copy()), nn.Parameter(START.copy())
    optimizer = Adam([a, b], lr=0.1)
    for g in GRADIENTS[:3]:
        a.grad, b.grad = g.copy(), None
        optimizer.step()
    np.testing.assert_array_equal(b.data, START)
    assert optimizer.state[b] == {}
    b.grad = GRADIENTS[3].copy()
    a.grad = None
    a_before = a.data.copy()
    optimizer.step()
    np.testing.assert_array_equal(a.data, a_before)
    # b's first step: bias correction makes it lr * g / (|g| + eps) elementwise.
    g = GRADIENTS[3]
    np.testing.assert_allclose(b.data, START - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    assert optimizer.state[a]["step"] == 3 and optimizer.state[b]["step"] == 1


def test_step_updates_in_place_and_bumps_the_version():
    p = nn.Parameter(START.copy())
    array, version = p.data, p._version
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    p.grad = GRADIENTS[0].copy()
    optimizer.step()
    assert p.data is array                 # the same memory, updated in place
    assert p._version > version            # so a graph that saved p notices
    np.testing.assert_array_equal(p.grad, GRADIENTS[0])   # the momentum buffer is not .grad


def test_zero_grad_sets_grads_to_none():
    model = nn.Sequential(nn.Dense(2, 3), nn.Dense(3, 1))
    optimizer = SGD(model.parameters(), lr=0.1)
    model(np.ones((4, 2))).sum().backward()
    optimizer.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_lr_is_mutable_between_steps():
    p = nn.Parameter(np.zeros(2))
    optimizer = SGD([p], lr=0.1)
    p.grad = np.ones(2)
    optimizer.step()
    optimizer.lr = 0.01
    optimizer.step()
    np.testing.assert_allclose(p.data, -0.11, rtol=1e-14)
    with pytest.raises(ValueError, match="learning rate must be a finite number >= 0, got -1"):
        optimizer.lr = -1
    assert optimizer.lr == 0.01


def test_bad_settings_are_refused():
    p = nn.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    model = nn.Dense(2, 2)
    parameters = model.parameters()
    SGD(parameters, lr=0.1)
    with pytest.raises(ValueError, match="used up"):
        SGD(parameters, lr=0.1)                # a generator is consumed once
    with pytest.raises(ValueError, match="got -0.1"):
        SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas must be two numbers"):
        Adam([p], betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="not a single Tensor"):
        SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="parameter 1 .* is a ndarray"):
        SGD([p, np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="never gets a .grad"):
        SGD([mg.Tensor(np.arange(2))], lr=0.1)
    with pytest.raises(ValueError, match="twice"):
        SGD([p, p], lr=0.1)
    p.grad = np.ones(2)
    with pytest.raises(NotImplementedError):
        Optimizer([p], dict(lr=0.1)).step()


@pytest.mark.parametrize("optimizer_class", [SGD, Adam])
def test_a_float32_model_keeps_float32_parameters_and_state(optimizer_class):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Dense(2, 3, activation="tanh", dtype=np.float32),
                          nn.Dense(3, 1, dtype=np.float32))
    settings = dict(lr=0.1, momentum=0.9) if optimizer_class is SGD else dict(lr=0.1)
    optimizer = optimizer_class(model.parameters(), **settings)
    x = np.random.default_rng(0).standard_normal((8, 2)).astype(np.float32)
    for _ in range(3):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), np.ones((8, 1), dtype=np.float32)).backward()
        optimizer.step()
    assert all(p.dtype == np.float32 for p in model.parameters())
    buffers = [v for state in optimizer.state_dict()["state"].values() for v in state.values()
               if isinstance(v, np.ndarray)]
    assert buffers and all(v.dtype == np.float32 for v in buffers)


# -- state dicts --------------------------------------------------------------------------

def _train(model, optimizer, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x, y = rng.standard_normal((8, 2)), rng.standard_normal((8, 1))
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()


def _model(seed=0):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Dense(2, 4, activation="tanh"), nn.Dense(4, 1))


@pytest.mark.parametrize("make_optimizer", [
    lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: Adam(ps, lr=0.01, betas=(0.8, 0.99), weight_decay=0.01),
])
def test_resuming_from_state_dicts_equals_training_on(make_optimizer):
    model = _model()
    optimizer = make_optimizer(model.parameters())
    _train(model, optimizer, 3, seed=1)
    model_state, optimizer_state = model.state_dict(), optimizer.state_dict()
    _train(model, optimizer, 3, seed=2)

    resumed = _model(seed=99)
    resumed_optimizer = make_optimizer(resumed.parameters())
    resumed_optimizer.lr = 123.0                       # restored from the state dict
    resumed.load_state_dict(model_state)
    resumed_optimizer.load_state_dict(optimizer_state)
    assert resumed_optimizer.lr == optimizer.lr
    _train(resumed, resumed_optimizer, 3, seed=2)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value)


def test_optimizer_state_dict_has_pytorchs_layout_and_is_a_snapshot():
    model = _model()
    optimizer = Adam(model.parameters(), lr=0.01)
    _train(model, optimizer, 2, seed=1)
    state = optimizer.state_dict()
    assert set(state) == {"state", "param_groups"}
    assert sorted(state["state"]) == [0, 1, 2, 3]
    assert all(set(s) == {"step", "exp_avg", "exp_avg_sq"} for s in state["state"].values())
    assert state["state"][0]["step"] == 2 and state["state"][0]["exp_avg"].shape == (4, 2)
    assert state["param_groups"] == [{"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8,
                                      "weight_decay": 0.0, "amsgrad": False, "maximize": False,
                                      "decoupled_weight_decay": False, "params": [0, 1, 2, 3]}]
    before = state["state"][3]["exp_avg"].copy()
    _train(model, optimizer, 1, seed=2)
    np.testing.assert_array_equal(state["state"][3]["exp_avg"], before)


def _assert_same_state(optimizer, state):
    current = optimizer.state_dict()
    assert current["param_groups"] == state["param_groups"]
    assert set(current["state"]) == set(state["state"])
    for index, buffers in state["state"].items():
        assert set(current["state"][index]) == set(buffers)
        for name, value in buffers.items():
            np.testing.assert_array_equal(current["state"][index][name], value)


def _with(state, index, name, value):
    """A copy of an optimizer state dict with one buffer replaced (or removed, for None)."""
    new = {"state": {i: dict(s) for i, s in state["state"].items()},
           "param_groups": [dict(g) for g in state["param_groups"]]}
    if value is None:
        del new["state"][index][name]
    else:
        new["state"][index][name] = value
    return new


def test_load_state_dict_refuses_mismatches_and_changes_nothing():
    model = _model()
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)
    _train(model, optimizer, 2, seed=1)
    before = optimizer.state_dict()

    wrong_shape = _with(before, 1, "momentum_buffer", np.zeros(5))
    wrong_shape["param_groups"][0]["lr"] = 0.5
    with pytest.raises(ValueError, match=r"'state\.1\.momentum_buffer': parameter 1 has shape "
                                         r"\(4,\), the state dict gives shape \(5,\)"):
        optimizer.load_state_dict(wrong_shape)
    _assert_same_state(optimizer, before)

    adam_state = Adam(model.parameters()).state_dict()
    with pytest.raises(ValueError) as error:
        optimizer.load_state_dict(adam_state)
    assert "missing key 'momentum'" in str(error.value)
    assert "unexpected key 'betas'" in str(error.value)
    _assert_same_state(optimizer, before)

    bad_lr = _with(before, 0, "momentum_buffer", before["state"][0]["momentum_buffer"])
    bad_lr["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="learning rate"):
        optimizer.load_state_dict(bad_lr)
    with pytest.raises(ValueError, match="only 4 parameters"):
        optimizer.load_state_dict({**before, "state": {**before["state"],
                                                       7: {"momentum_buffer": np.zeros(1)}}})
    _assert_same_state(optimizer, before)


def test_a_state_for_fewer_parameters_or_other_groups_is_refused():
    model = _model()
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)
    _train(model, optimizer, 2, seed=1)
    before = optimizer.state_dict()
    smaller = SGD(list(model.parameters())[:3], lr=0.05, momentum=0.9)
    with pytest.raises(ValueError, match=r"'param_groups\.0' has 3 parameters in the state dict; "
                                         "this optimizer's group 0 has 4"):
        optimizer.load_state_dict(smaller.state_dict())
    params = list(model.parameters())
    two_groups = SGD([{"params": params[:2]}, {"params": params[2:]}], lr=0.05, momentum=0.9)
    with pytest.raises(ValueError, match="the state dict has 2 parameter groups, this optimizer "
                                         "has 1"):
        optimizer.load_state_dict(two_groups.state_dict())
    _assert_same_state(optimizer, before)


def test_adam_state_must_be_complete_per_parameter():
    model = _model()
    optimizer = Adam(model.parameters())
    _train(model, optimizer, 1, seed=1)
    state = _with(optimizer.state_dict(), 2, "exp_avg_sq", None)
    with pytest.raises(ValueError, match="state of parameter 2"):
        optimizer.load_state_dict(state)
