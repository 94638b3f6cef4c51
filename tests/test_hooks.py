"""Hooks: Tensor.register_hook sees (and may replace) the gradient flowing into a tensor;
Module.register_forward_hook / register_forward_pre_hook see (and may replace) a module's output
and inputs, with PyTorch's signatures."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, ops


def leaf(values):
    return mg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


# -- Tensor.register_hook --------------------------------------------------------------------

def test_a_leaf_hook_sees_the_summed_gradient_once_per_backward():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.copy()))
    (x * 3 + x.exp() + x * x).sum().backward()      # three paths into x
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], 3 + np.exp(x.data) + 2 * x.data, rtol=1e-15)
    np.testing.assert_allclose(x.grad, seen[0], rtol=1e-15)


def test_a_leaf_hook_sees_this_backwards_gradient_not_the_accumulated_one():
    x = leaf([1.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.item()))
    (x * 2).sum().backward()
    (x * 5).sum().backward()
    assert seen == [2.0, 5.0]
    assert x.grad.item() == 7.0


def test_hooks_run_in_order_each_seeing_the_previous_replacement():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: seen.append(g.copy()))
    x.register_hook(lambda g: g + 1)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [30.0, 30.0])
    np.testing.assert_array_equal(x.grad, [31.0, 31.0])


def test_an_intermediate_hook_runs_once_on_the_sum_over_a_diamond_and_its_replacement_flows_on():
    x = leaf([1.0, 2.0])
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.copy()))
    h.register_hook(lambda g: g * 0.5)
    (h * 3 + h.exp()).sum().backward()               # two paths into h: one call with their sum
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], 3 + np.exp(h.data), rtol=1e-15)
    np.testing.assert_allclose(x.grad, 2 * 0.5 * seen[0], rtol=1e-15)


def test_a_removed_hook_stops_and_the_others_stay():
    x = leaf([1.0])
    calls = []
    first = x.register_hook(lambda g: calls.append("first"))
    x.register_hook(lambda g: calls.append("second"))
    first.remove()
    first.remove()                                   # twice is harmless
    (x * 2).sum().backward()
    assert calls == ["second"]


def test_hooks_fire_on_every_backward_through_a_retained_graph():
    x = leaf([1.0])
    calls = []
    h = x.exp()
    h.register_hook(lambda g: calls.append(1))
    y = h.sum()
    y.backward(retain_graph=True)
    y.backward()
    assert len(calls) == 2


def test_grad_returns_the_hooked_gradient_and_leaves_dot_grad_alone():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 10)
    dx, = mg.grad((x * 3).sum(), x)
    np.testing.assert_array_equal(dx.data, [30.0, 30.0])
    assert x.grad is None


def test_under_create_graph_a_hook_gets_a_tensor_and_its_result_stays_differentiable():
    x = leaf([1.0, 2.0])
    h = x * x
    kinds = []

    def double(g):
        kinds.append(type(g))
        return g * 2

    h.register_hook(double)
    g, = mg.grad(h.sum(), x, create_graph=True)      # 2 * 2x = 4x
    assert kinds == [mg.Tensor]
    np.testing.assert_array_equal(g.data, 4 * x.data)
    g.sum().backward()                               # d/dx sum(4x) = 4
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])


def test_a_hook_on_a_tensor_that_does_not_require_grad_is_refused():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.Tensor([1.0]).register_hook(lambda g: g)


def test_a_hook_returning_the_wrong_shape_is_refused_naming_both_shapes():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(3,\).*shape \(2,\)"):
        (x * 2).sum().backward()
    assert x.grad is None


def test_a_non_callable_tensor_hook_is_refused_at_registration():
    x = leaf([1.0])
    with pytest.raises(TypeError, match="callable"):
        x.register_hook(3)


def test_a_hook_returning_a_non_array_gets_a_type_error():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: [0.0, 0.0])
    with pytest.raises(TypeError, match="hook"):
        (x * 2).sum().backward()


# -- Module forward hooks -----------------------------------------------------------------------

def mlp(seed=0):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Dense(2, 3, activation="sigmoid"), nn.Dense(3, 1))


X = np.random.default_rng(0).standard_normal((4, 2))


def test_a_dense_forward_hook_sees_the_activated_output():
    model = mlp()
    dense = model[0]
    seen = []
    dense.register_forward_hook(lambda module, inputs, output: seen.append((module, inputs, output)))
    out = model(X)
    (module, inputs, output), = seen
    assert module is dense and isinstance(inputs, tuple) and inputs[0] is X
    z = X @ dense.weight.data.T + dense.bias.data
    np.testing.assert_allclose(output.data, 1 / (1 + np.exp(-z)), rtol=1e-14)   # after sigmoid
    np.testing.assert_allclose(out.data, model[1](output).data, rtol=1e-15)


def test_forward_hooks_record_every_layers_activation_in_order():
    model = nn.Sequential(nn.Dense(2, 4), nn.ReLU(), nn.Dense(4, 3), nn.Tanh())
    activations = []
    for name, module in model.named_modules():
        if name:
            module.register_forward_hook(lambda m, i, o, name=name: activations.append((name, o)))
    out = model(X)
    assert [name for name, _ in activations] == ["0", "1", "2", "3"]
    assert activations[-1][1] is out
    assert (activations[1][1].data >= 0).all()


def test_a_forward_hook_can_replace_the_output_and_gradients_follow_the_replacement():
    model = mlp()
    model[0].register_forward_hook(lambda m, i, output: output * 0)
    out = model(X)
    np.testing.assert_allclose(out.data, np.broadcast_to(model[1].bias.data, (4, 1)), rtol=1e-15)
    out.sum().backward()
    np.testing.assert_array_equal(model[1].weight.grad, 0)       # its input was zeroed
    np.testing.assert_array_equal(model[0].weight.grad, 0)       # nothing flows past the zeros


def test_a_pre_hook_sees_and_can_replace_the_inputs():
    layer = nn.Dense(2, 1)
    seen = []
    layer.register_forward_pre_hook(lambda module, inputs: seen.append(inputs))
    layer.register_forward_pre_hook(lambda module, inputs: inputs[0] * 2)   # a single value
    layer.register_forward_pre_hook(lambda module, inputs: (inputs[0] + 1,))  # or a tuple
    out = layer(X)
    assert seen[0][0] is X
    np.testing.assert_allclose(out.data, (2 * X + 1) @ layer.weight.data.T + layer.bias.data,
                               rtol=1e-14)


def test_hook_handles_remove_and_work_as_context_managers():
    layer = nn.Dense(2, 1)
    calls = []
    with layer.register_forward_hook(lambda *args: calls.append("post")):
        handle = layer.register_forward_pre_hook(lambda *args: calls.append("pre"))
        layer(X)
        handle.remove()
        handle.remove()                              # twice is harmless
        layer(X)
    layer(X)
    assert calls == ["pre", "post", "post"]
    assert "_call_hooks" not in vars(layer)          # no hooks left: back to the fast path


def test_hooks_are_not_state_and_do_not_change_parameters():
    model = mlp()
    before = list(model.state_dict())
    model[0].register_forward_hook(lambda *args: None)
    assert list(model.state_dict()) == before
    assert len(list(model.parameters())) == 4


def test_a_failing_hook_propagates_and_leaves_the_module_usable():
    layer = nn.Dense(2, 1)

    def broken(module, inputs, output):
        raise KeyError("inside the hook")

    handle = layer.register_forward_hook(broken)
    with pytest.raises(KeyError, match="inside the hook"):
        layer(X)
    handle.remove()
    assert layer(X).shape == (4, 1)


@pytest.mark.parametrize("register", ["register_forward_hook", "register_forward_pre_hook"])
def test_a_non_callable_module_hook_is_refused_and_nothing_is_registered(register):
    layer = nn.Dense(2, 1)
    with pytest.raises(TypeError, match="must be callable, got 'relu'"):
        getattr(layer, register)("relu")
    assert "_call_hooks" not in vars(layer)


def test_a_hook_on_a_dense_layers_fused_activation_module_fires():
    dense = nn.Dense(2, 3, activation="relu")
    fused = dense(X)
    assert isinstance(fused.grad_fn, ops.Linear)          # relu computed inside the Linear node
    seen = []
    handle = dense.activation.register_forward_hook(lambda m, inputs, output: seen.append(output))
    out = dense(X)
    assert len(seen) == 1 and seen[0] is out
    np.testing.assert_allclose(out.data, fused.data, rtol=1e-15)
    handle.remove()
    assert isinstance(dense(X).grad_fn, ops.Linear)       # unhooked: fused again
