"""Parameter groups as PyTorch has them: per-group options, defaults, add_param_group, frozen parameters."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.optim import SGD, Adagrad, Adam, AdamW, Optimizer


def parameters(n=3):
    return [nn.Parameter(np.full(2, float(i + 1))) for i in range(n)]


def test_groups_take_their_own_options_and_the_defaults_for_the_rest():
    p = parameters()
    optimizer = SGD([{"params": p[:2]}, {"params": [p[2]], "lr": 0.5, "momentum": 0.9}],
                    lr=0.1, weight_decay=0.01)
    assert optimizer.defaults == {"lr": 0.1, "momentum": 0.0, "dampening": 0.0,
                                  "weight_decay": 0.01, "nesterov": False, "maximize": False}
    first, second = optimizer.param_groups
    assert first["params"] == p[:2] and first["lr"] == 0.1 and first["momentum"] == 0
    assert second["params"][0] is p[2] and second["lr"] == 0.5 and second["momentum"] == 0.9
    assert second["weight_decay"] == 0.01
    for x in p:
        x.grad = np.ones(2)
    optimizer.step()
    np.testing.assert_allclose(p[0].data, 1 - 0.1 * (1 + 0.01 * 1), rtol=1e-15)
    np.testing.assert_allclose(p[2].data, 3 - 0.5 * (1 + 0.01 * 3), rtol=1e-15)
    assert set(optimizer.state[p[2]]) == {"momentum_buffer"} and not optimizer.state.get(p[0])


def test_add_param_group_checks_everything_first():
    p = parameters()
    optimizer = Adam(p[:1], lr=0.01)
    optimizer.add_param_group({"params": p[1], "lr": 0.1})        # a single tensor is a group
    assert len(optimizer.param_groups) == 2 and optimizer.param_groups[1]["params"] == [p[1]]
    assert optimizer.param_groups[1]["betas"] == (0.9, 0.999)
    groups = [dict(g) for g in optimizer.param_groups]
    for bad, error, message in [
        ({"params": [p[2]], "lr": -1}, ValueError, "parameter group 2: learning rate"),
        ({"params": [p[2]], "betas": (0.9, 1.2)}, ValueError, "betas"),
        ({"params": [p[2]], "momentum": 0.9}, ValueError, "unknown option 'momentum' for Adam"),
        ({"params": [p[2], p[0]]}, ValueError, "parameter 3 .* already in another"),
        ({"params": [p[2], p[2]]}, ValueError, "twice"),
        ({"params": [p[2] * 2]}, ValueError, "not a leaf tensor"),
        ([p[2]], TypeError, "a parameter group is a dict"),
    ]:
        with pytest.raises(error, match=message):
            optimizer.add_param_group(bad)
        assert [dict(g) for g in optimizer.param_groups] == groups


def test_frozen_parameters_are_accepted_and_parameters_without_grad_skipped():
    frozen = mg.Tensor(np.ones(2))                     # requires_grad=False: never gets a .grad
    trained, unused = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    optimizer = AdamW([frozen, trained, unused], lr=0.1)
    trained.grad = np.ones(2)
    optimizer.step()
    np.testing.assert_array_equal(frozen.data, 1.0)
    np.testing.assert_array_equal(unused.data, 1.0)   # no grad: not even weight decay touches it
    assert not np.allclose(trained.data, 1.0)
    assert sorted(optimizer.state_dict()["state"]) == [1]


def test_lr_reads_and_sets_every_group():
    p = parameters()
    optimizer = SGD([{"params": p[:1]}, {"params": p[1:]}], lr=0.1)
    assert optimizer.lr == 0.1
    optimizer.lr = 0.01
    assert [g["lr"] for g in optimizer.param_groups] == [0.01, 0.01]
    optimizer.param_groups[1]["lr"] = 0.5
    with pytest.raises(ValueError, match=r"different learning rates \[0.01, 0.5\]"):
        optimizer.lr
    with pytest.raises(ValueError, match="learning rate"):
        optimizer.lr = -1
    assert [g["lr"] for g in optimizer.param_groups] == [0.01, 0.5]


def test_options_given_as_numpy_values_are_normalised():
    p = parameters(1)
    optimizer = Adam([{"params": p, "betas": [0.8, 0.9]}], lr=np.float32(0.5))
    group = optimizer.param_groups[0]
    assert group["betas"] == (0.8, 0.9) and type(group["lr"]) is float
    p[0].grad = np.ones(2)
    optimizer.step()
    group["betas"] = np.array([0.5, 0.6])               # set by hand between steps
    optimizer.step()
    assert group["betas"] == (0.5, 0.6)
    group["lr"] = np.array(-1.0)                        # checked again at the next step
    with pytest.raises(ValueError, match="learning rate must be a finite number >= 0"):
        optimizer.step()


def test_zero_grad_and_closure():
    p = parameters(2)
    optimizer = SGD(p, lr=0.1)
    p[0].grad = np.ones(2)
    optimizer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p[0].grad, 0.0)
    assert p[1].grad is None
    optimizer.zero_grad()
    assert p[0].grad is None

    def closure():
        optimizer.zero_grad()
        loss = (p[0] * p[0]).sum()
        loss.backward()
        return loss

    with mg.no_grad():                                 # the closure runs with grad mode on
        loss = optimizer.step(closure)
    assert loss.item() == 2.0
    np.testing.assert_allclose(p[0].data, 1 - 0.1 * 2, rtol=1e-15)


def test_state_dict_numbers_parameters_across_groups_and_round_trips_groups():
    p = parameters()
    optimizer = Adagrad([{"params": [p[2]], "lr": 0.5}, {"params": p[:2], "lr_decay": 0.1}],
                        lr=0.1)
    state = optimizer.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1, 2]]
    assert sorted(state["state"]) == [0, 1, 2]         # Adagrad's state exists from the start
    other = Adagrad([{"params": [p[2]]}, {"params": p[:2]}], lr=0.3)
    other.load_state_dict(state)
    assert [(g["lr"], g["lr_decay"]) for g in other.param_groups] == [(0.5, 0.0), (0.1, 0.1)]
    assert other.param_groups[0]["params"][0] is p[2]


def test_a_scheduler_key_in_a_group_survives_a_state_dict():
    p = parameters(1)
    optimizer = SGD(p, lr=0.1)
    optimizer.param_groups[0]["initial_lr"] = 0.1
    state = optimizer.state_dict()
    fresh = SGD(parameters(1), lr=0.3)
    fresh.load_state_dict(state)
    assert fresh.param_groups[0]["initial_lr"] == 0.1


def test_the_base_class_needs_an_update_rule():
    p = nn.Parameter(np.zeros(2))
    p.grad = np.ones(2)
    with pytest.raises(NotImplementedError, match="no update rule"):
        Optimizer([p], {"lr": 0.1}).step()


def test_repr_lists_each_group():
    p = parameters(2)
    text = repr(SGD([{"params": p[:1]}, {"params": p[1:], "lr": 0.5}], lr=0.1))
    assert "Parameter Group 0 (1 parameters)" in text and "lr: 0.5" in text


def test_a_state_dict_of_two_groups_of_equal_size_loads_back():
    p = [nn.Parameter(np.ones((2, 3))), nn.Parameter(np.ones(3)), nn.Parameter(np.ones((3, 1))),
         nn.Parameter(np.ones(1))]
    optimizer = Adam([{"params": p[:2]}, {"params": p[2:], "lr": 0.5}], lr=0.1)
    for x in p:
        x.grad = np.ones(x.shape)
    optimizer.step()
    state = optimizer.state_dict()
    other = Adam([{"params": p[:2]}, {"params": p[2:]}])
    other.load_state_dict(state)
    assert other.state[p[3]]["step"] == 1 and other.param_groups[1]["lr"] == 0.5
