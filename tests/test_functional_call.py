"""functional_call: a Module run with some parameters or buffers replaced, unchanged afterwards;
Jacobians and Hessians with respect to a model's parameters."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.functional import functional_call, hessian, jacobian


def tiny_net():
    mg.manual_seed(3)
    return nn.Sequential(nn.Dense(3, 4, activation="tanh"), nn.Dense(4, 2))


X = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])


def by_hand(params, x):
    hidden = np.tanh(x @ params["0.weight"].T + params["0.bias"])
    return hidden @ params["1.weight"].T + params["1.bias"]


def snapshot(model):
    return {name: (p, p.data.copy()) for name, p in model.named_parameters()}


def assert_unchanged(model, before):
    after = dict(model.named_parameters())
    assert after.keys() == before.keys()
    for name, (param, data) in before.items():
        assert after[name] is param and getattr_path(model, name) is param
        np.testing.assert_array_equal(param.data, data)


def getattr_path(module, dotted):
    for part in dotted.split("."):
        module = getattr(module, part) if not part.isdigit() else module[int(part)]
    return module


def test_the_given_tensors_are_used_and_the_module_is_unchanged_afterwards():
    model = tiny_net()
    before = snapshot(model)
    new = {name: mg.Tensor(np.full(p.shape, 0.1 * (i + 1))) for i, (name, p)
           in enumerate(model.named_parameters())}
    out = functional_call(model, new, (X,))
    np.testing.assert_allclose(out.data, by_hand({k: v.data for k, v in new.items()}, X))
    assert_unchanged(model, before)
    own = {name: p.data for name, p in model.named_parameters()}
    np.testing.assert_allclose(model(X).data, by_hand(own, X))


def test_a_partial_replacement_keeps_the_other_parameters():
    model = tiny_net()
    own = {name: p.data for name, p in model.named_parameters()}
    bias = np.array([5.0, -5.0])
    out = functional_call(model, {"1.bias": bias}, X)          # one argument, not in a tuple
    np.testing.assert_allclose(out.data, by_hand({**own, "1.bias": bias}, X))


def test_gradients_flow_to_the_given_tensors_not_to_the_model():
    model = tiny_net()
    weight = mg.Tensor(model[1].weight.data.copy(), requires_grad=True)
    functional_call(model, {"1.weight": weight}, (X,)).sum().backward()
    assert weight.grad is not None and model[1].weight.grad is None
    hidden = np.tanh(X @ model[0].weight.data.T + model[0].bias.data)
    np.testing.assert_allclose(weight.grad, np.ones((2, 2)).T @ hidden)


def test_the_module_is_restored_when_forward_raises():
    model = tiny_net()
    before = snapshot(model)
    with pytest.raises(Exception):
        functional_call(model, {"0.bias": np.zeros(4)}, (np.ones((2, 5)),))   # wrong input width
    assert_unchanged(model, before)


def test_bad_names_values_and_shapes_are_refused_before_anything_changes():
    model = tiny_net()
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"no parameter or buffer '0\.weigth'.*0\.weight"):
        functional_call(model, {"0.weigth": np.zeros((4, 3))}, (X,))
    with pytest.raises(ValueError, match=r"'1\.bias' has shape \(2,\).*shape \(3,\)"):
        functional_call(model, {"0.bias": np.zeros(4), "1.bias": np.zeros(3)}, (X,))
    with pytest.raises(TypeError, match="Tensor or an array, not list"):
        functional_call(model, {"1.bias": [1.0, 2.0]}, (X,))
    with pytest.raises(TypeError, match="dict"):
        functional_call(model, [("1.bias", np.zeros(2))], (X,))
    with pytest.raises(ValueError, match=r"strict=True.*0\.weight"):
        functional_call(model, {"1.bias": np.zeros(2)}, (X,), strict=True)
    assert_unchanged(model, before)


class Shared(nn.Module):
    """Two layers sharing one weight (tied), and a buffer in a `_buffers` dict."""

    def __init__(self):
        super().__init__()
        mg.manual_seed(1)
        self.first = nn.Dense(2, 2, bias=False)
        self.second = nn.Dense(2, 2, bias=False)
        self.second.weight = self.first.weight
        object.__setattr__(self, "_buffers", {"offset": mg.Tensor(np.array([1.0, -1.0]))})
        object.__setattr__(self, "offset", self._buffers["offset"])

    def forward(self, x):
        return self.second(self.first(x)) + self.offset


def test_tied_weights_are_replaced_together_and_buffers_can_be_replaced():
    model = Shared()
    x = np.array([[1.0, 2.0]])
    w = np.array([[0.0, 1.0], [1.0, 0.0]])               # a swap, twice: the identity
    out = functional_call(model, {"second.weight": w, "offset": np.array([10.0, 20.0])}, (x,))
    np.testing.assert_allclose(out.data, x + [10.0, 20.0])
    assert model.first.weight is model.second.weight
    assert model.offset is model._buffers["offset"]
    np.testing.assert_array_equal(model.offset.data, [1.0, -1.0])
    untied = functional_call(model, {"second.weight": w}, (x,), tie_weights=False)
    np.testing.assert_allclose(untied.data, x @ model.first.weight.data.T @ w.T + [1.0, -1.0])
    with pytest.raises(ValueError, match="tied"):
        functional_call(model, {"first.weight": w, "second.weight": w * 2}, (x,))


def test_jacobian_and_hessian_with_respect_to_parameters():
    model = tiny_net()
    names = [name for name, _ in model.named_parameters()]
    values = tuple(p for _, p in model.named_parameters())

    def output(*params):
        return functional_call(model, dict(zip(names, params)), (X,))

    J = jacobian(output, values)
    assert [j.shape for j in J] == [(2, 2) + p.shape for p in values]
    hidden = np.tanh(X @ model[0].weight.data.T + model[0].bias.data)
    # d out[n, k] / d W1[k', h] = [k == k'] hidden[n, h]
    expected = np.einsum("kj,nh->nkjh", np.eye(2), hidden)
    np.testing.assert_allclose(J[2].data, expected, rtol=1e-12)
    np.testing.assert_allclose(J[3].data, np.broadcast_to(np.eye(2), (2, 2, 2)), rtol=1e-12)
    assert all(p.grad is None for p in values)

    H = hessian(lambda w, b: (output(model[0].weight, model[0].bias, w, b) ** 2).sum(),
                (values[2], values[3]))
    # Loss = sum (h W^T + b)^2 is quadratic in (W, b): d2/db db' = 2 N I.
    np.testing.assert_allclose(H[1][1].data, 2 * len(X) * np.eye(2), rtol=1e-12)


def test_parameter_jacobian_equals_torch_func():
    torch = pytest.importorskip("torch")
    model = tiny_net()
    names = [name for name, _ in model.named_parameters()]
    values = tuple(p for _, p in model.named_parameters())
    ours = jacobian(lambda *p: functional_call(model, dict(zip(names, p)), (X,)), values)

    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    reference = reference.double()
    torch_names = ["0.weight", "0.bias", "2.weight", "2.bias"]
    tensors = tuple(torch.tensor(p.data) for p in values)
    theirs = torch.autograd.functional.jacobian(
        lambda *p: torch.func.functional_call(reference, dict(zip(torch_names, p)),
                                              (torch.tensor(X),)), tensors)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-10, atol=1e-12)
