"""minigrad.nn: Parameter, Module, Sequential, Dense, Dropout, activations, losses."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, ops
from minigrad.nn import functional as F


def make_mlp(seed=0, dtype=np.float64):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Dense(2, 4, dtype=dtype), nn.ReLU(), nn.Dense(4, 3, dtype=dtype))


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Dense(3, 5, activation="tanh")
        self.scale = nn.Parameter(np.ones(5))
        self.out = nn.Dense(5, 2)

    def forward(self, x):
        return self.out(self.hidden(x) * self.scale)


# -- Parameter and Module ---------------------------------------------------------

def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter(np.zeros(3))
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.is_leaf
    assert "Parameter containing" in repr(p)
    assert type(p * 2) is mg.Tensor        # results of ops are ordinary tensors


def test_attributes_register_in_assignment_order_with_dotted_names():
    model = TwoLayer()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert [type(m).__name__ for m in model.children()] == ["Dense", "Dense"]
    assert [type(m).__name__ for m in model.modules()] == ["TwoLayer", "Dense", "Tanh", "Dense"]
    assert [name for name, _ in model.named_modules()] == ["", "hidden", "hidden.activation", "out"]
    assert len(list(model.parameters())) == 5
    assert list(model.state_dict()) == names


def test_a_shared_parameter_is_listed_once_but_saved_under_each_name():
    first = nn.Dense(2, 2)
    second = nn.Dense(2, 2)
    second.weight = first.weight
    model = nn.Sequential(first, second)
    assert len(list(model.parameters())) == 3
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_assigning_a_plain_tensor_to_a_parameter_name_is_refused():
    layer = nn.Dense(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        layer.weight = layer.weight * 2
    assert isinstance(layer.weight, nn.Parameter)
    layer.weight = nn.Parameter(np.zeros((2, 2)))        # a new Parameter replaces it
    np.testing.assert_array_equal(layer.state_dict()["weight"], np.zeros((2, 2)))
    del layer.bias
    assert list(layer.state_dict()) == ["weight"]


def test_registering_before_super_init_says_what_to_do():
    class Forgot(nn.Module):
        def __init__(self):
            self.layer = nn.Dense(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgot()


def test_call_runs_forward_and_a_module_without_forward_says_so():
    model = TwoLayer()
    x = np.ones((4, 3))
    np.testing.assert_array_equal(model(x).numpy(), model.forward(x).numpy())
    with pytest.raises(NotImplementedError, match="Module defines no forward"):
        nn.Module()(x)


def test_zero_grad_sets_every_grad_to_none():
    model = TwoLayer()
    model(np.ones((4, 3))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_and_eval_set_the_flag_on_every_submodule():
    model = nn.Sequential(nn.Dense(2, 2), nn.Dropout(0.5), nn.Sequential(nn.Dropout(0.1)))
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    assert model.train() is model
    assert all(m.training for m in model.modules())


def test_repr_shows_the_tree():
    text = repr(make_mlp())
    assert text.startswith("Sequential(\n")
    assert "(0): Dense(in_features=2, out_features=4, bias=True)" in text
    assert "(1): ReLU()" in text
    assert "(activation): Sigmoid()" in repr(nn.Dense(1, 2, activation="sigmoid"))


# -- state_dict / load_state_dict -------------------------------------------------------

def test_state_dict_has_pytorchs_keys_and_shapes_and_holds_copies():
    model = make_mlp()
    state = model.state_dict()
    # torch.nn.Sequential(Linear(2, 4), ReLU(), Linear(4, 3)).state_dict(), keys and shapes:
    assert {k: v.shape for k, v in state.items()} == {
        "0.weight": (4, 2), "0.bias": (4,), "2.weight": (3, 4), "2.bias": (3,)}
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    before = state["0.weight"].copy()
    with mg.no_grad():
        model[0].weight -= 1.0
    np.testing.assert_array_equal(state["0.weight"], before)     # a snapshot, not a view


def test_state_dict_loads_into_the_equivalent_torch_model():
    torch = pytest.importorskip("torch")
    model = make_mlp(seed=3)
    reference = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    reference.double()
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 2))
    np.testing.assert_allclose(reference(torch.from_numpy(x)).detach().numpy(), model(x).numpy(),
                               rtol=1e-12, atol=1e-14)


def test_load_state_dict_round_trip_copies_the_values():
    source, target = make_mlp(seed=1), make_mlp(seed=2)
    x = np.random.default_rng(0).standard_normal((5, 2))
    assert not np.allclose(source(x).numpy(), target(x).numpy())
    state = source.state_dict()
    result = target.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())
    state["0.weight"][...] = 0            # the model does not share memory with the dict
    assert np.any(target[0].weight.data != 0)


def test_load_state_dict_accepts_tensors_and_casts_to_the_parameter_dtype():
    model = make_mlp(dtype=np.float32)
    state = {k: mg.Tensor(v.astype(np.float64)) for k, v in make_mlp(seed=5).state_dict().items()}
    model.load_state_dict(state)
    assert all(p.dtype == np.float32 for p in model.parameters())
    np.testing.assert_allclose(model[2].bias.data, state["2.bias"].numpy(), rtol=1e-6)


def _snapshot(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def _assert_unchanged(model, snapshot):
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshot[key])


def test_a_wrong_shape_names_key_and_shapes_and_changes_nothing():
    model = make_mlp()
    before = _snapshot(model)
    state = make_mlp(seed=9).state_dict()
    state["2.weight"] = np.zeros((4, 4))          # the earlier keys are fine, still not loaded
    with pytest.raises(ValueError, match=r"'2\.weight'.*expects shape \(3, 4\).*gives shape \(4, 4\)"):
        model.load_state_dict(state)
    _assert_unchanged(model, before)


def test_missing_and_unexpected_keys_are_refused_when_strict():
    model = make_mlp()
    before = _snapshot(model)
    state = make_mlp(seed=9).state_dict()
    del state["0.bias"]
    state["3.weight"] = np.zeros((1, 1))
    with pytest.raises(ValueError) as error:
        model.load_state_dict(state)
    assert "missing keys: '0.bias'" in str(error.value)
    assert "unexpected keys: '3.weight'" in str(error.value)
    _assert_unchanged(model, before)

    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["3.weight"]
    np.testing.assert_array_equal(model[0].weight.data, state["0.weight"])
    np.testing.assert_array_equal(model[0].bias.data, before["0.bias"])


def test_a_shape_mismatch_is_refused_even_when_not_strict():
    model = make_mlp()
    before = _snapshot(model)
    with pytest.raises(ValueError, match=r"'0\.bias'"):
        model.load_state_dict({"0.bias": np.zeros(5)}, strict=False)
    _assert_unchanged(model, before)


def test_non_numeric_values_and_non_mappings_are_refused():
    model = make_mlp()
    state = model.state_dict()
    state["0.bias"] = np.array(["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="not real numbers"):
        model.load_state_dict(state)
    with pytest.raises(TypeError, match="mapping"):
        model.load_state_dict([("0.bias", np.zeros(4))])


# -- Sequential -----------------------------------------------------------------------------

def test_sequential_is_iterable_indexable_and_sized():
    model = make_mlp()
    assert len(model) == 3
    assert [type(m).__name__ for m in model] == ["Dense", "ReLU", "Dense"]
    assert model[0] is list(model)[0] and model[-1] is list(model)[2]
    head = model[1:]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[1] is model[2]
    assert list(head.state_dict()) == ["2.weight", "2.bias"]     # names kept, as PyTorch
    with pytest.raises(IndexError, match="out of range for a Sequential of 3"):
        model[3]
    x = np.random.default_rng(0).standard_normal((4, 2))
    np.testing.assert_array_equal(model(x).numpy(), model[2](model[1](model[0](x))).numpy())
    model.append(nn.Sigmoid())
    assert len(model) == 4 and list(model.state_dict())[-1] == "2.bias"


def test_sequential_refuses_non_modules_with_a_hint():
    with pytest.raises(TypeError, match=r"write ReLU\(\)"):
        nn.Sequential(nn.Dense(2, 2), nn.ReLU)
    with pytest.raises(TypeError, match="must be a Module"):
        nn.Sequential(F.relu)


# -- Dense -----------------------------------------------------------------------------------

def test_dense_is_x_weight_transposed_plus_bias_in_one_linear_node():
    layer = nn.Dense(3, 2)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    x = np.random.default_rng(0).standard_normal((5, 3))
    out = layer(x)
    assert isinstance(out.grad_fn, ops.Linear)
    np.testing.assert_allclose(out.numpy(), x @ layer.weight.data.T + layer.bias.data, rtol=1e-14)
    assert layer(x[0]).shape == (2,)         # a single sample works too


@pytest.mark.parametrize("name, formula", [
    ("relu", lambda z: np.maximum(z, 0)),
    ("leaky_relu", lambda z: np.where(z > 0, z, 0.01 * z)),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
    ("tanh", np.tanh),
    ("softmax", lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)),
    ("identity", lambda z: z),
    ("linear", lambda z: z),
])
def test_dense_activation_by_name(name, formula):
    layer = nn.Dense(3, 4, activation=name)
    x = np.random.default_rng(1).standard_normal((6, 3))
    z = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(x).numpy(), formula(z), rtol=1e-12, atol=1e-15)


def test_dense_activation_as_a_module():
    layer = nn.Dense(3, 4, activation=nn.LeakyReLU(0.2))
    x = np.random.default_rng(1).standard_normal((6, 3))
    z = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(x).numpy(), np.where(z > 0, z, 0.2 * z), rtol=1e-12)
    assert list(layer.state_dict()) == ["weight", "bias"]


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="unknown activation 'relu6'.*relu, sigmoid, softmax, tanh"):
        nn.Dense(2, 2, activation="relu6")
    with pytest.raises(ValueError, match="unknown init 'kaiming'.*he, xavier, small_normal"):
        nn.Dense(2, 2, init="kaiming")
    with pytest.raises(TypeError, match=r"ReLU\(\)"):
        nn.Dense(2, 2, activation=nn.ReLU)
    with pytest.raises(ValueError, match="in_features must be a positive integer"):
        nn.Dense(0, 2)


def test_a_failed_construction_does_not_consume_random_draws():
    mg.manual_seed(0)
    with pytest.raises(ValueError):
        nn.Dense(2, 2, activation="nope")
    layer = nn.Dense(2, 2)
    mg.manual_seed(0)
    np.testing.assert_array_equal(layer.weight.data, nn.Dense(2, 2).weight.data)


def test_a_wrong_input_width_names_expected_and_given():
    layer = nn.Dense(3, 2)
    with pytest.raises(ValueError, match=r"expects inputs with 3 features.*shape \(5, 4\) with 4"):
        layer(np.zeros((5, 4)))


def test_dense_without_bias():
    layer = nn.Dense(3, 2, bias=False)
    assert layer.bias is None and list(layer.state_dict()) == ["weight"]
    x = np.ones((2, 3))
    np.testing.assert_allclose(layer(x).numpy(), x @ layer.weight.data.T)


def test_initialisations_have_their_documented_scales():
    mg.manual_seed(0)
    he = nn.Dense(200, 300)
    np.testing.assert_allclose(he.weight.data.std(), np.sqrt(2 / 200), rtol=0.03)
    np.testing.assert_allclose(he.bias.data.std(), np.sqrt(2 / 200), rtol=0.2)
    xavier = nn.Dense(200, 300, init="xavier")
    limit = np.sqrt(6 / 500)
    assert np.abs(xavier.weight.data).max() <= limit
    np.testing.assert_allclose(xavier.weight.data.std(), limit / np.sqrt(3), rtol=0.03)
    np.testing.assert_array_equal(xavier.bias.data, 0)
    small = nn.Dense(200, 300, init="small_normal")
    np.testing.assert_allclose(small.weight.data.std(), 0.2, rtol=0.03)
    np.testing.assert_allclose(small.bias.data.std(), 0.2, rtol=0.2)


def test_manual_seed_makes_initialisation_reproducible():
    first, second, other = make_mlp(seed=4), make_mlp(seed=4), make_mlp(seed=5)
    for key, value in first.state_dict().items():
        np.testing.assert_array_equal(value, second.state_dict()[key])
        assert not np.array_equal(value, other.state_dict()[key])
    with pytest.raises(ValueError, match="non-negative integer"):
        mg.manual_seed(-1)


def test_a_float32_model_stays_float32():
    model = make_mlp(dtype=np.float32)
    float64_model = make_mlp(dtype=np.float64)
    np.testing.assert_array_equal(model[0].weight.data, float64_model[0].weight.data.astype(np.float32))
    x = np.random.default_rng(0).standard_normal((5, 2))        # float64 data is cast
    y = np.random.default_rng(1).standard_normal((5, 3))
    out = model(x)
    assert out.dtype == np.float32
    loss = F.mse_loss(out, y)
    assert loss.dtype == np.float32
    loss.backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    assert all(v.dtype == np.float32 for v in model.state_dict().values())


# -- activations and Dropout ---------------------------------------------------------------

@pytest.mark.parametrize("module, function, formula", [
    (nn.ReLU(), F.relu, lambda z: np.maximum(z, 0)),
    (nn.LeakyReLU(0.1), lambda z: F.leaky_relu(z, 0.1), lambda z: np.where(z > 0, z, 0.1 * z)),
    (nn.Sigmoid(), F.sigmoid, lambda z: 1 / (1 + np.exp(-z))),
    (nn.Tanh(), F.tanh, np.tanh),
    (nn.Softmax(axis=0), lambda z: F.softmax(z, axis=0),
     lambda z: np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)),
    (nn.Identity(), F.identity, lambda z: z),
])
def test_activation_modules_and_functions(module, function, formula):
    z = mg.Tensor(np.random.default_rng(2).standard_normal((4, 3)), requires_grad=True)
    expected = formula(z.numpy())
    np.testing.assert_allclose(module(z).numpy(), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(function(z).numpy(), expected, rtol=1e-12, atol=1e-15)
    if not isinstance(module, nn.Identity):
        assert mg.gradcheck(module, [z])


def test_dropout_in_training_zeros_about_p_and_scales_the_rest():
    mg.manual_seed(0)
    dropout = nn.Dropout(0.25)
    x = mg.Tensor(np.ones((200, 50)), requires_grad=True)
    out = dropout(x)
    kept = out.numpy() != 0
    assert abs(1 - kept.mean() - 0.25) < 0.02
    np.testing.assert_allclose(out.numpy()[kept], 1 / 0.75)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.75)          # the gradient goes where x went


def test_dropout_is_the_identity_in_eval_mode_and_reproducible_in_training():
    x = mg.Tensor(np.ones((3, 4)))
    dropout = nn.Dropout(0.5)
    assert dropout.eval()(x) is x
    dropout.train()
    mg.manual_seed(3)
    first = dropout(x).numpy()
    mg.manual_seed(3)
    np.testing.assert_array_equal(dropout(x).numpy(), first)
    assert nn.Dropout(0.0)(x) is x
    assert nn.Dropout(0.5)(np.ones(4, dtype=np.float32)).dtype == np.float32
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).numpy(), 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


# -- losses: PyTorch's definitions, written out in numpy ------------------------------------

RNG = np.random.default_rng(42)
PRED, TARGET = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
LOGITS = RNG.standard_normal((5, 4)) * 3
LABELS = np.array([0, 3, 1, 1, 2])
PROBS = RNG.dirichlet(np.ones(4), size=5)
BINARY = (RNG.random((5, 4)) > 0.5).astype(float)


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _reduce(values, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](values)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_values_follow_pytorchs_definitions(reduction):
    np.testing.assert_allclose(F.mse_loss(PRED, TARGET, reduction).numpy(),
                               _reduce((PRED - TARGET) ** 2, reduction), rtol=1e-13)
    log_p = _log_softmax(LOGITS)
    np.testing.assert_allclose(F.cross_entropy(LOGITS, LABELS, reduction).numpy(),
                               _reduce(-log_p[np.arange(5), LABELS], reduction), rtol=1e-13)
    np.testing.assert_allclose(F.cross_entropy(LOGITS, PROBS, reduction).numpy(),
                               _reduce(-(PROBS * log_p).sum(axis=1), reduction), rtol=1e-13)
    s = 1 / (1 + np.exp(-LOGITS))
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(LOGITS, BINARY, reduction).numpy(),
        _reduce(-(BINARY * np.log(s) + (1 - BINARY) * np.log(1 - s)), reduction), rtol=1e-12)


def test_loss_modules_equal_the_functions():
    assert nn.MSELoss()(PRED, TARGET).item() == F.mse_loss(PRED, TARGET).item()
    assert nn.CrossEntropyLoss("sum")(LOGITS, LABELS).item() == \
        F.cross_entropy(LOGITS, LABELS, "sum").item()
    np.testing.assert_array_equal(nn.BCEWithLogitsLoss("none")(LOGITS, BINARY).numpy(),
                                  F.binary_cross_entropy_with_logits(LOGITS, BINARY, "none").numpy())
    assert repr(nn.MSELoss("sum")) == "MSELoss(reduction='sum')"
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum', 'none'; got 'avg'"):
        nn.CrossEntropyLoss("avg")


def test_loss_values_equal_torchs():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    t = torch.from_numpy
    assert np.isclose(F.mse_loss(PRED, TARGET).item(), tF.mse_loss(t(PRED), t(TARGET)).item(),
                      rtol=1e-13)
    assert np.isclose(F.cross_entropy(LOGITS, LABELS).item(),
                      tF.cross_entropy(t(LOGITS), t(LABELS)).item(), rtol=1e-13)
    assert np.isclose(F.cross_entropy(LOGITS, PROBS).item(),
                      tF.cross_entropy(t(LOGITS), t(PROBS)).item(), rtol=1e-13)
    assert np.isclose(F.binary_cross_entropy_with_logits(LOGITS, BINARY).item(),
                      tF.binary_cross_entropy_with_logits(t(LOGITS), t(BINARY)).item(), rtol=1e-13)


def test_losses_are_stable_for_large_logits():
    logits = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    assert np.isfinite(F.cross_entropy(logits, np.array([1, 0])).item())
    assert np.isfinite(F.binary_cross_entropy_with_logits(logits, np.ones((2, 2))).item())
    np.testing.assert_allclose(F.cross_entropy(logits, np.array([0, 1])).item(), 0.0, atol=1e-12)


LOSS_CASES = {
    "mse": (F.mse_loss, [PRED, TARGET]),
    "cross_entropy_labels": (lambda z, reduction: F.cross_entropy(z, LABELS, reduction), [LOGITS]),
    "cross_entropy_probabilities": (F.cross_entropy, [LOGITS, PROBS]),
    "cross_entropy_one_sample": (lambda z, reduction: F.cross_entropy(z, np.array(2), reduction),
                                 [LOGITS[0]]),
    "bce_with_logits": (F.binary_cross_entropy_with_logits, [LOGITS, RNG.random((5, 4))]),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", sorted(LOSS_CASES))
def test_loss_gradients_first_and_second_order(case, reduction):
    loss, inputs = LOSS_CASES[case]
    fn = lambda *args: loss(*args, reduction=reduction)   # noqa: E731
    tensors = [mg.Tensor(a, requires_grad=True) for a in inputs]   # targets too, where floats
    assert mg.gradcheck(fn, tensors)
    assert mg.gradgradcheck(fn, tensors)


def test_loss_gradient_is_the_textbook_one():
    logits = mg.Tensor(LOGITS, requires_grad=True)
    F.cross_entropy(logits, LABELS).backward()
    p = np.exp(_log_softmax(LOGITS))
    np.testing.assert_allclose(logits.grad, (p - np.eye(4)[LABELS]) / 5, rtol=1e-12)
    pred = mg.Tensor(PRED, requires_grad=True)
    F.mse_loss(pred, TARGET).backward()
    np.testing.assert_allclose(pred.grad, 2 * (PRED - TARGET) / PRED.size, rtol=1e-12)


def test_losses_refuse_mismatched_shapes_naming_both():
    with pytest.raises(ValueError, match=r"prediction of shape \(4, 3\) and target of shape \(4, 1\)"):
        F.mse_loss(PRED, TARGET[:, :1])
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(3, 4\)"):
        F.binary_cross_entropy_with_logits(PRED, TARGET.T)
    with pytest.raises(ValueError, match=r"labels must have shape \(5,\).*got shape \(4,\)"):
        F.cross_entropy(LOGITS, LABELS[:4])
    with pytest.raises(ValueError, match=r"label 4 is out of range for 4 classes"):
        F.cross_entropy(LOGITS, np.array([0, 1, 2, 3, 4]))
    with pytest.raises(ValueError, match="integer array"):
        F.cross_entropy(LOGITS, LABELS.astype(float))
    with pytest.raises(ValueError, match=r"shape \(N, C\) or \(C,\)"):
        F.cross_entropy(np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(PRED, TARGET, reduction="max")
