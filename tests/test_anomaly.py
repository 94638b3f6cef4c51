"""detect_anomaly(): the first NaN or inf, forward or backward, raises AnomalyError naming the op
and the line of user code that created it."""
import os
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")   # numpy's divide/invalid warnings


def leaf(values):
    return mg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def next_line():
    """'this_file:<the caller's next line>': where the op under test is called."""
    return f"{__file__}:{sys._getframe(1).f_lineno + 1}"


def assert_names(error, op, location, direction):
    message = str(error.value)
    assert message.startswith(f"{op}.{direction} produced"), message
    assert f"the op was called at {location}" in message, message
    path = os.path.abspath(message.split("called at ")[1].split(":")[0])
    package = os.path.dirname(os.path.abspath(mg.__file__))
    assert not path.startswith(package + os.sep), \
        "the location must be the user's line, not a line inside the minigrad package"


# -- forward --------------------------------------------------------------------------

@pytest.mark.parametrize("make, op, bad", [
    (lambda x: x.log(), "Log", "NaN"),                    # log of a negative number
    (lambda x: (x * 0).log(), "Log", "inf"),              # log(0) = -inf
    (lambda x: (x * 0) / (x * 0), "Div", "NaN"),          # 0 / 0
    (lambda x: x / (x * 0), "Div", "inf"),                # 1 / 0
    (lambda x: (x * -1000).exp(), "Exp", "inf"),          # overflow
    (lambda x: x.sqrt(), "Sqrt", "NaN"),
    (lambda x: x ** 0.5, "Pow", "NaN"),
])
def test_a_nan_or_inf_in_forward_names_the_op_and_the_line(make, op, bad):
    x = leaf([-1.0, -2.0])
    with mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError, match=bad) as error:
            make(x)
    assert_names(error, op, f"{__file__}:{make.__code__.co_firstlineno}", "forward")


def test_the_first_anomaly_is_reported_not_a_later_one():
    x = leaf([-1.0])
    with mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError) as error:
            location = next_line()
            y = x.log()
            y.exp()                                  # never reached: Log already raised
    assert_names(error, "Log", location, "forward")


def test_an_anomaly_in_an_op_that_records_nothing_is_caught_too():
    with mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError, match="Log.forward produced inf"):
            mg.Tensor([0.0]).log()                    # no grad involved: still a bad value


def test_nan_data_is_legal_until_an_op_uses_it():
    with mg.detect_anomaly():
        x = mg.Tensor(np.nan)                         # a leaf is data, not an op
        assert np.isnan(x.item())
        with pytest.raises(mg.AnomalyError, match="Add.forward produced NaN"):
            x + 1


def test_a_dense_layer_names_its_fused_node_and_the_users_call():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Dense(2, 3, activation="relu"), nn.Dense(3, 1))
    x = np.array([[1.0, np.nan]])
    with mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError) as error:
            location = next_line()
            model(x)
    assert_names(error, "Linear", location, "forward")


def test_a_loss_on_a_nan_target_names_the_loss_node():
    pred = leaf([1.0, 2.0])
    with mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError) as error:
            location = next_line()
            F.mse_loss(pred, np.array([0.0, np.nan]))
    assert_names(error, "SquaredError", location, "forward")


# -- backward ---------------------------------------------------------------------------

def test_sqrt_at_zero_is_finite_forward_and_caught_backward():
    x = leaf([0.0, 4.0])
    with mg.detect_anomaly():
        location = next_line()
        y = x.sqrt()
        loss = y.exp().sum()                         # Exp's and Sum's backwards stay finite
        assert np.isfinite(loss.item())
        with pytest.raises(mg.AnomalyError, match=r"input 0 \(shape \(2,\)\)") as error:
            loss.backward()
    assert_names(error, "Sqrt", location, "backward")
    assert "inf" in str(error.value)
    assert x.grad is None                            # nothing was accumulated


def test_a_nan_only_in_backward_is_caught():
    x = leaf([0.0])
    with mg.detect_anomaly():
        location = next_line()
        y = x.sqrt()
        loss = (y * 0).sum()                         # d/dy = 0, then 0 / (2 * sqrt(0)) = NaN
        with pytest.raises(mg.AnomalyError, match="NaN") as error:
            loss.backward()
    assert_names(error, "Sqrt", location, "backward")


def test_backward_through_grad_is_checked_too():
    x = leaf([0.0, 1.0])
    with mg.detect_anomaly():
        location = next_line()
        y = (x ** 0.5).sum()
        with pytest.raises(mg.AnomalyError) as error:
            mg.grad(y, x)
    assert_names(error, "Pow", location, "backward")


def test_a_user_functions_bad_backward_is_named():
    class Halve(mg.Function):
        @staticmethod
        def forward(ctx, a):
            return a / 2

        @staticmethod
        def backward(ctx, g):
            return g * np.inf                        # a bug in the user's derivative

    x = leaf([1.0, 2.0])
    with mg.detect_anomaly():
        location = next_line()
        y = Halve.apply(x).sum()
        with pytest.raises(mg.AnomalyError) as error:
            y.backward()
    assert_names(error, "Halve", location, "backward")


def test_second_order_anomalies_are_caught_under_create_graph():
    x = leaf([0.0, 1.0])
    with mg.detect_anomaly():
        y = x.sqrt().sum()
        with pytest.raises(mg.AnomalyError, match="inf"):
            mg.grad(y, x, create_graph=True)


def test_anomaly_mode_only_around_backward_still_names_the_op():
    x = leaf([0.0])
    y = x.sqrt().sum()                               # recorded outside the mode: no line known
    with mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError, match=r"^Sqrt\.backward produced inf"):
            y.backward()


def test_anomaly_mode_only_around_backward_says_how_to_find_the_line():
    x = leaf([0.0])
    y = x.sqrt().sum()
    with mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError, match="detect_anomaly.*forward|forward.*detect_anomaly"):
            y.backward()


# -- the mode itself ---------------------------------------------------------------------------

def test_without_the_mode_nan_passes_silently():
    x = leaf([0.0])
    y = x.sqrt().sum()
    y.backward()                                     # no error: this is what the mode is for
    assert np.isinf(x.grad).all()
    assert np.isnan(mg.Tensor([-1.0]).log().item())


def test_the_mode_is_restored_after_an_error_and_works_as_a_decorator():
    with pytest.raises(mg.AnomalyError):
        with mg.detect_anomaly():
            mg.Tensor([-1.0]).log()
    mg.Tensor([-1.0]).log()                          # off again: no error

    @mg.detect_anomaly()
    def step(t):
        return t.log()

    with pytest.raises(mg.AnomalyError):
        step(mg.Tensor([-1.0]))
    mg.Tensor([-1.0]).log()


def test_finite_values_pass_unchanged_under_the_mode():
    x = leaf([1.0, 2.0])
    with mg.detect_anomaly():
        (x.exp() * x).sum().backward()
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])), rtol=1e-14)


# -- where the engine blames the wrong place (see the reasons) -------------------------------

def test_a_nan_seed_gradient_is_blamed_on_the_seed():
    x = leaf([1.0, 2.0])
    with mg.detect_anomaly():
        y = x * 3
        with pytest.raises(mg.AnomalyError, match=r"given to backward\(\)|seed"):
            y.backward(np.array([np.nan, 1.0]))


def test_a_hook_returning_nan_is_caught():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * np.nan)
    with mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError, match="hook"):
            (x * 3).sum().backward()
