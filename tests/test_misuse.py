"""Bad input everywhere in the public API: each case gets a clear error naming what was wrong
(TypeError for a wrong type, ValueError for a bad value or shape), raised before anything changes.

Cases are listed per area; each is its own test. The last sections check "before anything
changes": a model, an optimizer, a scaler, the random generator and files on disk are untouched
by a refused call.
"""
import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.data import StandardScaler, batches, train_test_split
from minigrad.nn import functional as F
from minigrad.optim import SGD, Adam
from minigrad.random import get_generator

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def case(call, error, message, id):
    return pytest.param(call, error, message, id=id)


def check(call, error, message):
    with pytest.raises(error, match=message):
        call()


def leaf(values):
    return mg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


X2 = leaf([1.0, 2.0])
P = nn.Parameter(np.zeros(2))


# -- tensors ----------------------------------------------------------------------------------

TENSOR_CASES = [
    case(lambda: mg.Tensor("abc"), TypeError, "real numbers; got data of dtype <U3", "string data"),
    case(lambda: mg.Tensor(None), TypeError, "real numbers.*from NoneType", "None"),
    case(lambda: mg.Tensor({"a": 1}), TypeError, "real numbers.*from dict", "a dict"),
    case(lambda: mg.Tensor(1 + 2j), TypeError, "complex128", "complex"),
    case(lambda: mg.Tensor(np.array([1, None])), TypeError, "dtype object", "object array"),
    case(lambda: mg.Tensor(np.arange(3), requires_grad=True), TypeError,
         "only floating-point tensors can require grad; this one has dtype int64",
         "integer tensor requiring grad"),
    case(lambda: mg.Tensor(np.array([True]), requires_grad=True), TypeError, "dtype bool",
         "bool tensor requiring grad"),
    case(lambda: nn.Parameter(np.arange(3)), TypeError, "floating-point", "integer Parameter"),
    case(lambda: X2 + np.ones(3), ValueError, r"shapes \(2,\) \(3,\)", "add mismatched shapes"),
    case(lambda: X2 @ mg.Tensor(np.ones((3, 2))), ValueError, r"\(2,\) and \(3, 2\) do not align",
         "matmul mismatched shapes"),
    case(lambda: X2.reshape(3), ValueError, r"shape \(2,\) \(2 elements\)", "reshape"),
    case(lambda: X2.sum(axis=2), np.exceptions.AxisError, "axis 2 is out of bounds", "bad axis"),
    case(lambda: mg.Tensor(np.zeros(0)).max(), ValueError, r"max of an empty tensor of shape \(0,\)",
         "max of empty"),
    case(lambda: mg.concatenate([]), ValueError, "at least one tensor", "concatenate nothing"),
    case(lambda: (X2 * 2).backward(np.ones(3)), ValueError,
         r"grad of shape \(3,\) given for a tensor of shape \(2,\)", "backward seed shape"),
    case(lambda: (X2 * 2).backward(), RuntimeError, r"shape \(2,\) needs `grad`",
         "backward of non-scalar without seed"),
    case(lambda: setattr(mg.Tensor([1.0, 2.0]), "data", np.zeros(3)), ValueError,
         r"cannot assign data of shape \(3,\)", "data of another shape"),
    case(lambda: np.arcsinh(X2), TypeError, "arcsinh", "numpy ufunc without an op"),
]


@pytest.mark.parametrize("call, error, message", TENSOR_CASES)
def test_tensor_misuse(call, error, message):
    check(call, error, message)


def test_nan_and_empty_tensors_are_legal():
    assert np.isnan(mg.Tensor(np.nan).item())
    empty = mg.Tensor(np.zeros((0, 3)), requires_grad=True)
    empty.sum().backward()
    assert empty.grad.shape == (0, 3)


def test_assigning_an_object_array_to_data_is_refused():
    t = mg.Tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="real numbers"):
        t.data = np.array([None, None])


def test_a_wrongly_shaped_grad_is_refused():
    x = leaf([1.0, 2.0])
    x.grad = np.ones((3, 1))
    with pytest.raises(ValueError, match=r"\(3, 1\)"):
        (x * 2).sum().backward()


def test_grad_of_a_number_names_the_problem():
    with pytest.raises(TypeError, match="output"):
        mg.grad(3.0, leaf([1.0]))


# -- gradcheck ------------------------------------------------------------------------------------

def test_gradcheck_refuses_a_function_returning_an_array():
    with pytest.raises(TypeError, match="must return a Tensor, not ndarray"):
        mg.gradcheck(lambda a: a.data, [leaf([1.0])])


def test_gradcheck_with_nothing_to_check_refuses():
    with pytest.raises(ValueError, match="float|nothing"):
        mg.gradcheck(lambda a: a * 2, [np.arange(3)])


def test_gradcheck_refuses_a_zero_step():
    with pytest.raises(ValueError, match="eps"):
        mg.gradcheck(lambda a: a * 2, [leaf([1.0])], eps=0)


# -- nn: layers and modules -------------------------------------------------------------------

NN_CASES = [
    case(lambda: nn.Dense(0, 2), ValueError, "in_features must be a positive integer, got 0",
         "Dense zero inputs"),
    case(lambda: nn.Dense(2.0, 3), ValueError, "in_features must be a positive integer, got 2.0",
         "Dense float size"),
    case(lambda: nn.Dense(2, True), ValueError, "out_features must be a positive integer, got True",
         "Dense bool size"),
    case(lambda: nn.Dense(2, 3, bias="no"), TypeError, "bias must be True or False, got 'no'",
         "Dense bias not a bool"),
    case(lambda: nn.Dense(2, 3, dtype=int), TypeError, "floating dtype, got int64", "Dense int dtype"),
    case(lambda: nn.Dense(2, 3, dtype="foo"), TypeError, "dtype must be a floating dtype.*'foo'",
         "Dense unknown dtype"),
    case(lambda: nn.Dense(2, 3, init="kaiming"), ValueError,
         "unknown init 'kaiming'; known names: he, xavier, small_normal", "unknown init"),
    case(lambda: nn.Dense(2, 3, init=nn.init.he), TypeError, "init must be a name.*as a string",
         "init given as a function"),
    case(lambda: nn.Dense(2, 3, init=None), TypeError, "init must be a name", "init None"),
    case(lambda: nn.Dense(2, 3, activation="relu6"), ValueError,
         "unknown activation 'relu6'; known names:.*relu", "unknown activation"),
    case(lambda: nn.Dense(2, 3, activation=nn.ReLU), TypeError, r"pass an instance, ReLU\(\)",
         "activation class"),
    case(lambda: nn.Dense(2, 3, activation=F.relu), TypeError, "not a function",
         "activation function"),
    case(lambda: nn.Dense(3, 2)(np.zeros((5, 4))), ValueError,
         r"expects inputs with 3 features.*shape \(5, 4\)", "Dense wrong width"),
    case(lambda: nn.Dropout(1.5), ValueError, "between 0 and 1, got 1.5", "Dropout p > 1"),
    case(lambda: nn.Dropout(float("nan")), ValueError, "between 0 and 1, got nan", "Dropout p NaN"),
    case(lambda: nn.Dropout("0.5"), TypeError, "p must be a number.*'0.5'", "Dropout p string"),
    case(lambda: nn.Dropout(True), TypeError, "p must be a number.*True", "Dropout p bool"),
    case(lambda: F.dropout(X2, -0.1), ValueError, "between 0 and 1, got -0.1", "dropout p < 0"),
    case(lambda: F.dropout("ab", 0.5), TypeError, "array of numbers, got dtype <U2",
         "dropout of strings"),
    case(lambda: nn.LeakyReLU("a"), TypeError, "negative_slope must be a number, got 'a'",
         "LeakyReLU slope string"),
    case(lambda: nn.LeakyReLU(float("inf")), ValueError, "negative_slope must be finite",
         "LeakyReLU slope inf"),
    case(lambda: F.leaky_relu(X2, None), TypeError, "negative_slope must be a number",
         "leaky_relu slope None"),
    case(lambda: nn.Softmax(axis="rows"), TypeError, "axis must be an integer, got 'rows'",
         "Softmax axis string"),
    case(lambda: nn.Sequential(nn.Dense(2, 2), nn.ReLU), TypeError, r"write ReLU\(\)",
         "Sequential of a class"),
    case(lambda: nn.Sequential(nn.Dense(2, 2), None), TypeError, "item '1' is None",
         "Sequential with None"),
    case(lambda: nn.Sequential(nn.Dense(2, 2)).append(None), TypeError, "takes a Module, not None",
         "Sequential.append(None)"),
    case(lambda: nn.Sequential(nn.Dense(2, 2))["0"], TypeError,
         "indices are integers or slices, not str", "Sequential indexed by a string"),
    case(lambda: nn.Sequential(nn.Dense(2, 2))[3], IndexError, "out of range for a Sequential of 1",
         "Sequential index out of range"),
    case(lambda: nn.Dense(2, 2).train("no"), TypeError, "train.mode. takes True or False, got 'no'",
         "train('no')"),
    case(lambda: mg.set_grad_enabled("no"), TypeError,
         "set_grad_enabled: mode must be True or False, got 'no'", "set_grad_enabled('no')"),
    case(lambda: nn.Dense(2, 2).apply("init"), TypeError, "apply takes a function of a module",
         "apply of a non-callable"),
    case(lambda: nn.Dense(2, 2).register_parameter("w", np.zeros(2)), TypeError,
         "takes a Parameter or None, not a ndarray", "register_parameter of an array"),
    case(lambda: nn.Dense(2, 2).add_module("a.b", nn.ReLU()), KeyError, "without dots",
         "submodule name with a dot"),
    case(lambda: nn.Dense(2, 2).load_state_dict([("weight", np.zeros((2, 2)))]), TypeError,
         "mapping", "load_state_dict of a list"),
    case(lambda: nn.Dense(2, 2).load_state_dict({}, strict="yes"), TypeError,
         "strict must be True or False", "load_state_dict strict not a bool"),
]


@pytest.mark.parametrize("call, error, message", NN_CASES)
def test_nn_misuse(call, error, message):
    check(call, error, message)


def test_init_names_ignore_letter_case_like_activation_names():
    mg.manual_seed(0)
    upper = nn.Dense(2, 3, init="Xavier", activation="ReLU")
    mg.manual_seed(0)
    np.testing.assert_array_equal(upper.weight.data, nn.Dense(2, 3, init="xavier").weight.data)


# -- nn: losses ----------------------------------------------------------------------------------

N = 5
PRED_COLUMN = leaf(np.zeros((N, 1)))


LOSS_CASES = [
    # (N, 1) against (N,) would broadcast to (N, N): a silently wrong loss, so it is refused.
    case(lambda: F.mse_loss(PRED_COLUMN, np.zeros(N)), ValueError,
         r"mse_loss: prediction of shape \(5, 1\) and target of shape \(5,\) differ",
         "mse (N,1) vs (N,)"),
    case(lambda: F.mse_loss(np.zeros(N), np.zeros((N, 1))), ValueError,
         r"prediction of shape \(5,\) and target of shape \(5, 1\)", "mse (N,) vs (N,1)"),
    case(lambda: nn.MSELoss()(PRED_COLUMN, mg.Tensor(np.zeros(N))), ValueError,
         r"\(5, 1\).*\(5,\)", "MSELoss module, tensor target"),
    case(lambda: F.binary_cross_entropy_with_logits(PRED_COLUMN, np.zeros(N)), ValueError,
         r"binary_cross_entropy_with_logits: prediction of shape \(5, 1\)", "bce (N,1) vs (N,)"),
    case(lambda: F.cross_entropy(np.zeros((N, 3)), np.zeros((N, 1), dtype=int)), ValueError,
         r"labels must have shape \(5,\).*got shape \(5, 1\)", "cross_entropy labels (N,1)"),
    case(lambda: F.cross_entropy(np.zeros((N, 3)), np.array([0, 1, 2, 3, 0])), ValueError,
         "class label 3 is out of range for 3 classes", "cross_entropy label out of range"),
    case(lambda: F.cross_entropy(np.zeros((N, 3)), np.zeros(N)), ValueError,
         "integer array", "cross_entropy float labels"),
    case(lambda: F.cross_entropy(np.zeros((N, 3)), np.zeros(N, dtype=bool)), TypeError,
         "got dtype bool", "cross_entropy bool labels"),
    case(lambda: F.cross_entropy(np.array([["a", "b"]]), np.array([0])), TypeError,
         "logits must be an array of real numbers", "cross_entropy string logits"),
    case(lambda: F.mse_loss(np.zeros(2), None), TypeError,
         "target must be an array of real numbers, got NoneType None", "mse target None"),
    case(lambda: F.mse_loss(np.zeros(2), ["a", "b"]), TypeError,
         "target must be an array of real numbers", "mse target strings"),
    case(lambda: F.mse_loss([[1.0], [1.0, 2.0]], np.zeros(2)), ValueError,
         "prediction is not a rectangular array", "mse ragged prediction"),
    case(lambda: F.mse_loss(np.zeros((0, 1)), np.zeros((0, 1))), ValueError,
         r"mean over an empty prediction of shape \(0, 1\) is undefined", "mse of an empty batch"),
    case(lambda: F.cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int)), ValueError,
         "empty prediction", "cross_entropy of an empty batch"),
    case(lambda: F.binary_cross_entropy_with_logits(np.zeros(0), np.zeros(0)), ValueError,
         "empty prediction", "bce of an empty batch"),
    case(lambda: F.mse_loss(np.zeros(2), np.zeros(2), reduction="avg"), ValueError,
         "reduction must be one of 'mean', 'sum', 'none'; got 'avg'", "unknown reduction"),
    case(lambda: nn.CrossEntropyLoss(reduction=None), ValueError, "got None", "reduction None"),
]


@pytest.mark.parametrize("call, error, message", LOSS_CASES)
def test_loss_misuse(call, error, message):
    check(call, error, message)


def test_a_refused_loss_records_nothing():
    model = nn.Dense(2, 1)
    pred = model(np.ones((N, 2)))
    with pytest.raises(ValueError):
        F.mse_loss(pred, np.zeros(N))
    assert all(p.grad is None for p in model.parameters())


def test_empty_batches_are_fine_where_the_result_is_defined():
    assert F.mse_loss(np.zeros((0, 1)), np.zeros((0, 1)), reduction="sum").item() == 0
    assert F.mse_loss(np.zeros((0, 1)), np.zeros((0, 1)), reduction="none").shape == (0, 1)
    assert nn.Dense(2, 3)(np.zeros((0, 2))).shape == (0, 3)


def test_a_list_prediction_is_taken_as_an_array():
    assert F.mse_loss([1.0, 3.0], [1.0, 1.0]).item() == 2.0


# -- optim --------------------------------------------------------------------------------------

OPTIM_CASES = [
    case(lambda: SGD([], lr=0.1), ValueError, "empty parameter list", "no parameters"),
    case(lambda: SGD(nn.Dense(2, 2), lr=0.1), TypeError,
         r"pass model.parameters\(\), not the Dense itself", "a model instead of its parameters"),
    case(lambda: SGD(None, lr=0.1), TypeError, "not a NoneType", "None as parameters"),
    case(lambda: SGD({"w": P}, lr=0.1), TypeError, "not a dict.*wrap a single group in a list",
         "a dict of parameters"),
    case(lambda: SGD(P, lr=0.1), TypeError, "not a single Tensor", "a single tensor"),
    case(lambda: SGD([P, np.zeros(2)], lr=0.1), TypeError, "parameter 1 .* is a ndarray",
         "an array among the parameters"),
    case(lambda: SGD([mg.Tensor(np.arange(2))], lr=0.1), ValueError, "never gets a .grad",
         "an integer tensor"),
    case(lambda: SGD([P * 2], lr=0.1), ValueError, "not a leaf tensor", "a non-leaf tensor"),
    case(lambda: SGD([P, P], lr=0.1), ValueError, "twice", "a parameter given twice"),
    case(lambda: SGD([P], lr=-0.1), ValueError, "learning rate must be a finite number >= 0, got -0.1",
         "negative lr"),
    case(lambda: SGD([P], lr=float("nan")), ValueError, "got nan", "NaN lr"),
    case(lambda: SGD([P], lr="0.1"), TypeError, "got '0.1' of type str", "lr as a string"),
    case(lambda: SGD([P], lr=None), TypeError, "got None", "lr None"),
    case(lambda: SGD([P], lr=0.1, momentum=-0.5), ValueError, "momentum must be a finite number >= 0",
         "negative momentum"),
    case(lambda: SGD([P], lr=0.1, momentum=0.9, nesterov="yes"), TypeError,
         "nesterov must be True or False, got 'yes'", "nesterov not a bool"),
    case(lambda: SGD([P], lr=0.1, nesterov=True), ValueError, "Nesterov momentum needs momentum > 0",
         "nesterov without momentum"),
    case(lambda: SGD([P], lr=0.1, weight_decay=float("inf")), ValueError, "weight_decay", "inf decay"),
    case(lambda: Adam([P], betas=(0.9, 1.0)), ValueError, r"betas must be two numbers in \[0, 1\)",
         "beta2 = 1"),
    case(lambda: Adam([P], betas=(-0.1, 0.9)), ValueError, "betas", "negative beta"),
    case(lambda: Adam([P], betas=(0.9,)), ValueError, r"got \(0.9,\)", "one beta"),
    case(lambda: Adam([P], betas=("a", 0.9)), TypeError, "betas must be two numbers", "beta string"),
    case(lambda: Adam([P], eps=-1e-8), ValueError, "eps must be a finite number >= 0", "negative eps"),
]


@pytest.mark.parametrize("call, error, message", OPTIM_CASES)
def test_optimizer_misuse(call, error, message):
    check(call, error, message)


def trained_adam():
    model = nn.Sequential(nn.Dense(2, 3), nn.Dense(3, 1))
    optimizer = Adam(model.parameters(), lr=0.01)
    for _ in range(2):
        optimizer.zero_grad()
        F.mse_loss(model(np.ones((4, 2))), np.zeros((4, 1))).backward()
        optimizer.step()
    return optimizer


def with_key(state, key, value):
    state = dict(state)
    state[key] = value
    return state


def without_key(state, key):
    return {k: v for k, v in state.items() if k != key}


def copied(state):
    """A copy of an optimizer state dict whose dicts can be changed without touching `state`."""
    return {"state": {i: dict(buffers) for i, buffers in state["state"].items()},
            "param_groups": [dict(group) for group in state["param_groups"]]}


def with_buffer(state, index, name, value):
    state = copied(state)
    state["state"].setdefault(index, {})[name] = value
    return state


def without_buffer(state, index, name):
    state = copied(state)
    del state["state"][index][name]
    return state


def with_option(state, key, value):
    state = copied(state)
    state["param_groups"][0][key] = value
    return state


def without_option(state, key):
    state = copied(state)
    del state["param_groups"][0][key]
    return state


def renumbered(state, old, new):
    state = copied(state)
    state["state"][new] = state["state"].pop(old)
    return state


LOAD_CASES = [
    (lambda s: with_buffer(s, 0, "exp_avg", np.full((3, 2), np.nan)),
     r"'state\.0\.exp_avg': holds a non-finite value \(NaN at index \(0, 0\)\)", "NaN buffer"),
    (lambda s: with_buffer(s, 1, "exp_avg_sq", -np.ones(3)),
     r"'state\.1\.exp_avg_sq': a second-moment estimate must be >= 0", "negative second moment"),
    (lambda s: with_buffer(s, 0, "exp_avg", np.zeros((2, 3))),
     r"parameter 0 has shape \(3, 2\), the state dict gives shape \(2, 3\)", "transposed buffer"),
    (lambda s: with_buffer(s, 0, "exp_avg", [[1.0], [1.0, 2.0]]),
     r"'state\.0\.exp_avg': not an array of numbers", "ragged buffer"),
    (lambda s: with_buffer(s, 0, "step", 1.5), "a step count must be an integer >= 0",
     "fractional step"),
    (lambda s: renumbered(s, 0, "00"), "unexpected key 'state.00'", "index with a leading zero"),
    (lambda s: with_buffer(s, 9, "step", 2), "only 4 parameters", "index out of range"),
    (lambda s: with_option(s, "betas", (0.9, 1.5)), "betas must be two numbers", "bad betas"),
    (lambda s: with_option(s, "lr", "fast"), "learning rate", "lr as a string"),
    (lambda s: without_option(s, "eps"), "missing key 'eps'", "missing hyperparameter"),
    (lambda s: without_buffer(s, 2, "exp_avg"), "the state of parameter 2 has", "partial state"),
]


def assert_same_optimizer_state(after, before):
    assert after["param_groups"] == before["param_groups"]
    assert list(after["state"]) == list(before["state"])
    for index, buffers in before["state"].items():
        assert list(after["state"][index]) == list(buffers)
        for name, value in buffers.items():
            np.testing.assert_array_equal(after["state"][index][name], value)


@pytest.mark.parametrize("corrupt, message", [pytest.param(c, m, id=i) for c, m, i in LOAD_CASES])
def test_optimizer_load_state_dict_misuse_changes_nothing(corrupt, message):
    optimizer = trained_adam()
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(corrupt(before))
    assert_same_optimizer_state(optimizer.state_dict(), before)


def test_a_refused_lr_keeps_the_old_one():
    optimizer = SGD([nn.Parameter(np.zeros(2))], lr=0.1)
    for bad, error in ((-1, ValueError), ("0.01", TypeError), (float("inf"), ValueError)):
        with pytest.raises(error, match="learning rate"):
            optimizer.lr = bad
    assert optimizer.lr == 0.1


# -- model.load_state_dict ------------------------------------------------------------------------

def make_model(seed=0):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Dense(2, 3, activation="tanh"), nn.Dense(3, 1))


MODEL_LOAD_CASES = [
    (lambda s: with_key(s, "0.weight", np.full((3, 2), np.nan)),
     r"'0\.weight': holds NaN at index \(0, 0\).*parameters must be finite", "NaN weight"),
    (lambda s: with_key(s, "1.bias", np.array([np.inf])), "'1.bias': holds inf", "inf bias"),
    (lambda s: with_key(s, "0.weight", np.zeros((2, 3))),
     r"expects shape \(3, 2\), the state dict gives shape \(2, 3\)", "transposed weight"),
    (lambda s: with_key(s, "0.bias", [[1.0], [1.0, 2.0]]), "'0.bias': not an array of numbers",
     "ragged value"),
    (lambda s: with_key(s, "0.bias", np.array(["a", "b", "c"])), "not real numbers",
     "string values"),
    (lambda s: without_key(s, "1.weight"), "missing keys: '1.weight'", "missing key"),
    (lambda s: with_key(s, "2.weight", np.zeros(1)), "unexpected keys: '2.weight'",
     "unexpected key"),
]


@pytest.mark.parametrize("corrupt, message",
                         [pytest.param(c, m, id=i) for c, m, i in MODEL_LOAD_CASES])
def test_model_load_state_dict_misuse_changes_nothing(corrupt, message):
    model = make_model()
    before = model.state_dict()
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(corrupt(make_model(seed=1).state_dict()))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_values_overflowing_a_float32_model_are_refused():
    mg.manual_seed(0)
    model = nn.Dense(2, 2, dtype=np.float32)
    before = model.state_dict()
    state = dict(before, weight=np.full((2, 2), 1e300))     # fine in float64, inf in float32
    with pytest.raises(ValueError, match=r"'weight': holds inf .*\(as float32\)"):
        model.load_state_dict(state)
    np.testing.assert_array_equal(model.weight.data, before["weight"])


# -- data -------------------------------------------------------------------------------------------

GOOD_X, GOOD_Y = np.arange(20.0).reshape(10, 2), np.arange(10.0)

DATA_CASES = [
    case(lambda: StandardScaler().fit(np.array([[1.0, np.nan], [2.0, 3.0]])), ValueError,
         "StandardScaler.fit: X holds nan at row 0, feature 1", "scaler fit on NaN"),
    case(lambda: StandardScaler().fit(np.array([[1.0, 2.0], [np.inf, 3.0]])), ValueError,
         "holds inf at row 1, feature 0", "scaler fit on inf"),
    case(lambda: StandardScaler().fit(np.zeros((0, 2))), ValueError,
         r"at least one sample and one feature, got an array of shape \(0, 2\)", "scaler zero rows"),
    case(lambda: StandardScaler().fit(np.zeros((3, 0))), ValueError, r"shape \(3, 0\)",
         "scaler zero features"),
    case(lambda: StandardScaler().fit(np.arange(5.0)), ValueError, r"reshape\(-1, 1\)",
         "scaler on 1-D data"),
    case(lambda: StandardScaler().fit([["a", "b"]]), TypeError, "real numbers, got dtype <U1",
         "scaler on strings"),
    case(lambda: StandardScaler().transform(GOOD_X), RuntimeError, "before fit", "transform unfitted"),
    case(lambda: StandardScaler().fit(GOOD_X).transform(np.array([[np.nan, 1.0]])), ValueError,
         "StandardScaler.transform: X holds nan", "transform NaN"),
    case(lambda: StandardScaler().fit(GOOD_X).transform(np.zeros((4, 3))), ValueError,
         r"fitted on 2 features, got an array of shape \(4, 3\)", "transform wrong width"),
    case(lambda: train_test_split(GOOD_X, GOOD_Y[:9]), ValueError,
         r"X has 10 samples \(shape \(10, 2\)\) but y has 9", "split length mismatch"),
    case(lambda: train_test_split(GOOD_X, GOOD_Y, test_ratio="0.3"), TypeError,
         "test_ratio must be a number.*'0.3'", "split ratio string"),
    case(lambda: train_test_split(GOOD_X, GOOD_Y, test_ratio=float("nan")), ValueError,
         "between 0 and 1.*got nan", "split ratio NaN"),
    case(lambda: train_test_split(GOOD_X, GOOD_Y, test_ratio=0.95), ValueError,
         "leaves no training samples", "split ratio too large"),
    case(lambda: train_test_split(GOOD_X[:1], GOOD_Y[:1]), ValueError, "at least 2 samples.*got 1",
         "split one sample"),
    case(lambda: train_test_split(np.zeros((0, 2)), np.zeros(0)), ValueError, "got 0",
         "split empty"),
    case(lambda: train_test_split(GOOD_X, GOOD_Y, seed=-1), ValueError,
         "seed must be None or a non-negative integer, got -1", "split negative seed"),
    case(lambda: train_test_split(GOOD_X, GOOD_Y, seed="abc"), TypeError, "seed must be None",
         "split string seed"),
    case(lambda: train_test_split(GOOD_X, GOOD_Y, shuffle="no"), TypeError,
         "shuffle must be True or False, got 'no'", "split shuffle string"),
    case(lambda: batches(np.zeros((0, 2)), np.zeros(0), 4), ValueError,
         r"batches: X and y hold no samples \(X has shape \(0, 2\)\)", "batches of nothing"),
    case(lambda: batches(GOOD_X, GOOD_Y, 32, drop_last=True), ValueError,
         "batch_size of 32 for 10 samples gives no batch at all", "drop_last drops everything"),
    case(lambda: batches(GOOD_X, GOOD_Y, 0), ValueError, "batch_size must be a positive integer, got 0",
         "batch_size zero"),
    case(lambda: batches(GOOD_X, GOOD_Y, 2.0), TypeError, "got 2.0 of type float",
         "batch_size float"),
    case(lambda: batches(GOOD_X, GOOD_Y[:8], 4), ValueError, "y has 8", "batches length mismatch"),
    case(lambda: batches([[1.0], [1.0, 2.0]], [1, 2], 1), ValueError, "X is not a rectangular array",
         "batches ragged X"),
    case(lambda: batches(GOOD_X, GOOD_Y, 2, drop_last=1), TypeError, "drop_last must be True or False",
         "drop_last not a bool"),
]


@pytest.mark.parametrize("call, error, message", DATA_CASES)
def test_data_misuse(call, error, message):
    check(call, error, message)


def test_a_refused_fit_leaves_the_previous_fit():
    scaler = StandardScaler().fit(GOOD_X)
    mean, scale = scaler.mean_.copy(), scaler.scale_.copy()
    with pytest.raises(ValueError, match="nan"):
        scaler.fit(np.array([[np.nan, 1.0], [2.0, 3.0]]))
    np.testing.assert_array_equal(scaler.mean_, mean)
    np.testing.assert_array_equal(scaler.scale_, scale)


def test_float32_data_near_its_limit_is_standardised_without_overflow():
    X = np.array([[3e38], [2e38], [1e38]], dtype=np.float32)
    out = StandardScaler().fit_transform(X)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_allclose(out.ravel(), [1.2247449, 0.0, -1.2247449], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("call", [
    lambda: train_test_split(GOOD_X, GOOD_Y, test_ratio=2.0),
    lambda: train_test_split(GOOD_X, GOOD_Y, seed=-3),
    lambda: batches(GOOD_X, GOOD_Y, 0),
    lambda: batches(GOOD_X, GOOD_Y, 20, drop_last=True),
    lambda: nn.Dense(2, 2, init="nope"),
    lambda: F.dropout(np.ones(3), 1.5),
], ids=["split", "split seed", "batches", "batches drop_last", "Dense", "dropout"])
def test_refused_calls_draw_nothing_from_the_generator(call):
    mg.manual_seed(7)
    state = get_generator().bit_generator.state
    with pytest.raises((TypeError, ValueError)):
        call()
    assert get_generator().bit_generator.state == state


# -- io: refused saves leave the disk as it was ---------------------------------------------------

def test_saving_to_a_directory_is_refused_and_writes_nothing(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory; give a file name"):
        mg.save({"w": np.zeros(2)}, tmp_path)
    assert os.listdir(tmp_path) == []


def test_saving_into_a_missing_folder_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"the folder {tmp_path / 'nope'} does not exist"):
        mg.save({"w": np.zeros(2)}, tmp_path / "nope" / "model.npz")
    assert os.listdir(tmp_path) == []


def test_a_refused_save_leaves_the_old_checkpoint(tmp_path):
    path = tmp_path / "model.npz"
    mg.save({"w": np.arange(3.0)}, path)
    before = path.read_bytes()
    with pytest.raises(mg.CheckpointError, match="'note' has dtype <U"):
        mg.save({"w": np.zeros(3), "note": np.array(["hello"])}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_dense_given_strings_names_itself_in_a_type_error():
    layer = nn.Dense(2, 3)
    before = layer.weight.data.copy()
    with pytest.raises(TypeError, match="Dense takes numbers.*list"):
        layer([["a", "b"]])
    np.testing.assert_array_equal(layer.weight.data, before)
