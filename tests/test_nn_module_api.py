"""Containers, buffers, the new Module API, nn.Linear and nn.init."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


class Tower(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 2)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(2, 5), "reg": nn.Linear(2, 1)})
        self.register_buffer("scale", np.array([2.0]))
        self.register_buffer("cache", np.zeros(3), persistent=False)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.heads["cls"](x) * self.scale


def test_module_list_and_dict_register_their_modules_under_pytorchs_keys():
    model = Tower()
    assert list(model.state_dict()) == [
        "scale", "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
        "heads.cls.weight", "heads.cls.bias", "heads.reg.weight", "heads.reg.bias"]
    assert len(list(model.parameters())) == 8
    assert [name for name, _ in model.named_modules()] == [
        "", "layers", "layers.0", "layers.1", "heads", "heads.cls", "heads.reg"]
    assert model(np.ones((2, 3))).shape == (2, 5)
    assert len(model.layers) == 2 and isinstance(model.layers[-1], nn.Linear)
    assert isinstance(model.layers[:1], nn.ModuleList) and len(model.layers[:1]) == 1
    model.layers.append(nn.ReLU())
    model.layers.insert(0, nn.Identity())
    assert [type(m).__name__ for m in model.layers] == ["Identity", "Linear", "Linear", "ReLU"]
    del model.layers[0]
    assert list(model.layers._modules) == ["0", "1", "2"]
    assert "cls" in model.heads and model.heads.keys() == ["cls", "reg"]
    assert model.heads.pop("reg") is not None and len(model.heads) == 1
    with pytest.raises(KeyError, match="ModuleDict has no module 'box'; its keys: 'cls'"):
        model.heads["box"]
    with pytest.raises(IndexError, match="index 7 is out of range for a ModuleList of 3"):
        model.layers[7]
    with pytest.raises(TypeError, match="ModuleList.append takes a Module"):
        model.layers.append(np.zeros(2))


@pytest.mark.parametrize("container, hint", [
    (lambda: [nn.Linear(2, 2)], "ModuleList"), (lambda: (nn.ReLU(), nn.Linear(2, 2)), "ModuleList"),
    (lambda: {"a": nn.Linear(2, 2)}, "ModuleDict")])
def test_a_plain_container_of_modules_is_refused_and_points_to_the_right_one(container, hint):
    model = nn.Module()
    with pytest.raises(TypeError, match=rf"Module.layers: a \w+ of Modules is not registered.*"
                                        rf"self.layers = nn.{hint}\(...\)"):
        model.layers = container()
    model.sizes = [1, 2, 3]                       # a list of numbers is an ordinary attribute
    assert model.sizes == [1, 2, 3]


def test_buffers_are_state_but_not_parameters():
    model = Tower()
    assert [name for name, _ in model.named_buffers()] == ["scale", "cache"]
    assert "cache" not in model.state_dict()      # not persistent
    assert all(not isinstance(b, mg.Tensor) for b in model.buffers())
    state = model.state_dict()
    state["scale"] = np.array([3.0])
    other = Tower()
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.scale, [3.0])
    np.testing.assert_array_equal(other._buffers["scale"], [3.0])
    out = other(np.ones((1, 3)))
    np.testing.assert_allclose(out.numpy(), model(np.ones((1, 3))).numpy() * 1.5)


def test_load_state_dict_checks_buffers_and_changes_nothing_on_any_problem():
    model = Tower()
    before = model.state_dict()
    state = dict(before)
    state["scale"] = np.array([1.0, 2.0])
    state["layers.0.bias"] = np.full(4, np.nan)
    with pytest.raises(ValueError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "load_state_dict into Tower failed; nothing was changed" in message
    assert "'scale': the model expects shape (1,), the state dict gives shape (2,)" in message
    assert "'layers.0.bias': holds NaN at index (0,) (as float64); parameters must be finite" in message
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    bn = nn.BatchNorm1d(2)
    with pytest.raises(ValueError, match="'running_var': holds inf at index .*buffers must be finite"):
        bn.load_state_dict(dict(bn.state_dict(), running_var=np.array([1.0, np.inf])))


def test_register_buffer_refuses_names_taken_and_non_numbers():
    layer = nn.Linear(2, 2)
    with pytest.raises(KeyError, match="'weight' is already a parameter"):
        layer.register_buffer("weight", np.zeros(2))
    with pytest.raises(TypeError, match="buffer 'names' must hold real numbers"):
        layer.register_buffer("names", np.array(["a"]))
    with pytest.raises(TypeError, match="persistent must be True or False"):
        layer.register_buffer("x", np.zeros(1), persistent=1)


def test_requires_grad_to_float_double_num_parameters_and_summary():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))
    assert model.num_parameters() == 2 * 9 + 2 + 2 + 2 + 8 * 3 + 3
    model[0].requires_grad_(False)
    assert not model[0].weight.requires_grad and model[3].weight.requires_grad
    assert model.num_parameters(trainable_only=True) == 2 + 2 + 8 * 3 + 3
    weight = model[3].weight
    assert model.float() is model and weight is model[3].weight   # same objects, cast
    assert weight.dtype == np.float32 and model[1].running_mean.dtype == np.float32
    assert model[1].num_batches_tracked.dtype == np.int64       # integer buffers keep their dtype
    x = np.ones((2, 1, 4, 4), dtype=np.float32)
    assert model(x).dtype == np.float32
    model.double()
    assert weight.dtype == np.float64 and model[1].running_var.dtype == np.float64
    with pytest.raises(TypeError, match="must have a floating dtype, got int32"):
        model.to(np.int32)
    lines = []
    text = model.summary(print_fn=lines.append)
    assert lines == [text]
    assert "Conv2d" in text and "weight(2, 1, 3, 3)" in text and "total parameters: 51 (31 trainable)" in text


def test_linear_is_pytorchs_default_init_and_runs_the_fused_node():
    mg.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for values in (layer.weight.data, layer.bias.data):
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.95 * bound
    assert abs(layer.weight.data.std() - bound / math.sqrt(3)) < 0.01 * bound   # uniform's std
    x = np.random.default_rng(0).standard_normal((5, 400))
    out = layer(x)
    assert type(out.grad_fn).__name__ == "Linear"
    np.testing.assert_allclose(out.numpy(), x @ layer.weight.data.T + layer.bias.data, rtol=1e-12)
    assert repr(nn.Linear(2, 3, bias=False)) == "Linear(in_features=2, out_features=3, bias=False)"
    with pytest.raises(ValueError, match=r"Linear expects inputs with 400 features.*shape \(5, 3\)"):
        layer(np.zeros((5, 3)))


def test_init_functions_follow_torchs_formulas_and_minigrads_seed():
    w = nn.Parameter(np.zeros((200, 300)))
    mg.manual_seed(3)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    first = w.data.copy()
    bound = math.sqrt(2 / (1 + 5)) * math.sqrt(3 / 300)
    assert np.abs(first).max() <= bound and np.abs(first).max() > 0.99 * bound
    mg.manual_seed(3)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    np.testing.assert_array_equal(w.data, first)   # the seed decides
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.data.std() - math.sqrt(2 / 200)) < 0.03 * math.sqrt(2 / 200)
    nn.init.xavier_uniform_(w, gain=2.0)
    assert np.abs(w.data).max() <= 2 * math.sqrt(6 / 500)
    nn.init.xavier_normal_(w)
    assert abs(w.data.std() - math.sqrt(2 / 500)) < 0.03 * math.sqrt(2 / 500)
    nn.init.normal_(w, 1.0, 0.5)
    assert abs(w.data.mean() - 1.0) < 0.01 and abs(w.data.std() - 0.5) < 0.01
    nn.init.uniform_(w, -2, -1)
    assert w.data.min() >= -2 and w.data.max() <= -1
    assert (nn.init.constant_(w, 0.3).data == 0.3).all() and (nn.init.ones_(w).data == 1).all()
    assert (nn.init.zeros_(w).data == 0).all()
    conv = np.zeros((4, 3, 2, 2))
    nn.init.orthogonal_(conv, gain=1.5)
    flat = conv.reshape(4, 12)
    np.testing.assert_allclose(flat @ flat.T, 2.25 * np.eye(4), atol=1e-12)
    w32 = nn.Parameter(np.zeros((3, 3), dtype=np.float32))
    assert nn.init.orthogonal_(w32).dtype == np.float32
    assert nn.init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    with pytest.raises(ValueError, match="at least 2 axes, got shape \\(3,\\)"):
        nn.init.xavier_uniform_(np.zeros(3))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        nn.init.calculate_gain("swish")


def test_conv2d_default_init_is_pytorchs_bound():
    mg.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3)
    bound = 1 / math.sqrt(8 * 9)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.95 * bound


def test_a_buffer_name_taken_over_by_a_parameter_stops_being_a_buffer():
    layer = nn.Linear(2, 2)
    layer.register_buffer("extra", np.zeros(2))
    layer.extra = nn.Parameter(np.ones(2))
    assert "extra" in dict(layer.named_parameters()) and "extra" not in dict(layer.named_buffers())
    with pytest.raises(KeyError, match="attribute 'training' already exists"):
        layer.register_buffer("training", np.zeros(1))


def test_a_batchnorm_model_round_trips_through_a_checkpoint(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    model(np.random.default_rng(0).random((3, 1, 5, 5)))
    mg.save(model.state_dict(), tmp_path / "bn.npz")
    restored = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    restored.load_state_dict(mg.load(tmp_path / "bn.npz"))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(restored.state_dict()[key], value, err_msg=key)
    assert restored[1].num_batches_tracked.dtype == np.int64
