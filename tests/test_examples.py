"""The examples run, show what they say, and reach the results the README quotes.

Each example's `main(...)` returns what its run showed, so most tests import
the example file and call it: in fast mode (a few epochs) and, where a full
run takes seconds, in full, to hold the README's numbers. One test per
example also runs it as a reader does, `python examples/NAME.py` with
MINIGRAD_FAST=1, in a fresh process. Parts that need matplotlib or
scikit-learn (the examples extra) are skipped when they are missing; CI
installs the extra, so there they run. Thresholds are the measured results
with a margin; nothing is timed.
"""
import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Run the examples' small matrix products on one BLAS thread, where threadpoolctl can say so.

    On a machine shared with other busy processes, OpenBLAS's threads spin against them and
    can make these runs ten times slower; one thread is as fast on a quiet machine. The
    results do not depend on it. threadpoolctl comes with scikit-learn (the examples extra).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def load_example(name):
    """Import examples/NAME.py as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"minigrad_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _has(module):
    return importlib.util.find_spec(module) is not None


def _is_png(path):
    with open(path, "rb") as file:
        return file.read(8) == b"\x89PNG\r\n\x1a\n"


# -- sine: document one ----------------------------------------------------------------

def test_sine_is_document_one():
    sine = load_example("sine")
    assert (sine.EPOCHS, sine.LEARNING_RATE, sine.PRINT_EVERY, sine.SEED) == (20_000, 0.1, 1_000, 0)
    mg.manual_seed(sine.SEED)
    model = sine.build_model()
    hidden, output = model
    assert hidden.weight.shape == (20, 1) and output.weight.shape == (1, 20)
    assert type(hidden.activation).__name__ == "Sigmoid" and output.activation is None
    # weights AND biases 0.2 * randn, drawn from minigrad's generator seeded with 0
    rng = np.random.default_rng(0)
    for layer in model:
        for param in (layer.weight, layer.bias):
            np.testing.assert_array_equal(param.data, 0.2 * rng.standard_normal(param.shape))
    # the loss is 0.5 * sum((yhat - y)**2) / m
    prediction, target = np.array([[1.0], [2.0]]), np.array([[0.0], [0.0]])
    assert sine.document_loss(mg.Tensor(prediction), target).item() == pytest.approx(0.5 * 5 / 2)


def test_sine_fast_mode_prints_the_loss_every_1000_epochs():
    lines = []
    result = load_example("sine").main(fast=True, plot_path=None, log=lines.append)
    assert result["epochs"] == 2_000
    loss_lines = [line for line in lines if line.startswith("epoch")]
    assert [int(line.split()[1]) for line in loss_lines] == [1_000, 2_000]
    assert result["losses"][-1] < result["losses"][0] / 10
    assert result["final_loss"] < 0.0085          # measured: 0.00816


def test_sine_full_run_fits_the_sine_as_the_document_does():
    lines = []
    result = load_example("sine").main(fast=False, plot_path=None, log=lines.append)
    assert result["epochs"] == 20_000
    assert sum(line.startswith("epoch") for line in lines) == 20
    assert result["final_loss"] < 0.0040          # measured: 0.00389
    assert result["max_error"] < 0.3              # measured: 0.277, at the ends of the range


def test_sine_saves_its_plot(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "plots" / "sine.png"
    load_example("sine").main(epochs=20, plot_path=str(path), log=lambda *_: None)
    assert _is_png(path)


# -- arithmetic: document two ------------------------------------------------------------

def test_arithmetic_data_is_document_two():
    arithmetic = load_example("arithmetic")
    X, y = arithmetic.make_data()
    assert X.shape == (10_000, 2) and y.shape == (10_000, 3)
    assert X.min() >= 0 and X.max() < 100
    np.testing.assert_allclose(y, arithmetic.targets_of(X))
    np.testing.assert_array_equal(X[0], np.random.RandomState(42).rand(2, 10_000)[:, 0] * 100)
    sizes = [(layer.in_features, layer.out_features) for layer in arithmetic.build_model()]
    assert sizes == [(2, 4), (4, 4), (4, 3)]


def test_arithmetic_fast_mode_learns_and_prints_the_table():
    lines = []
    result = load_example("arithmetic").main(fast=True, log=lines.append)
    text = "\n".join(lines)
    assert result["epochs"] == 40
    assert result["train_loss"] < 0.05             # measured: 0.0054 (it starts near 0.5)
    assert result["test_loss"] < 2 * result["train_loss"]
    assert "train loss" in text and "test loss" in text
    for a, b in [(30, 70), (70, 30), (3, 5), (888, 122)]:
        assert any(line.split()[:2] == [str(a), str(b)] for line in lines)
    assert list(result["in_range"]) == [True, True, True, False]


def test_arithmetic_full_run_predicts_in_range_within_one_of_the_truth():
    result = load_example("arithmetic").main(fast=False, log=lambda *_: None)
    in_range_errors = result["errors"][result["in_range"]]
    assert in_range_errors.max() < 1               # measured: 0.001
    assert result["test_loss"] < 2 * result["train_loss"] + 1e-8   # no overfitting


# -- custom_op: extending minigrad -----------------------------------------------------------

def test_custom_op_is_checked_and_trains():
    lines = []
    result = load_example("custom_op").main(fast=True, log=lines.append)
    assert "WrongSwish" in result["gradcheck_message"]   # the wrong backward is caught, by name
    assert result["testing_kit_ran"] == _has("hypothesis")
    assert result["test_accuracy"] > 0.9           # measured: 0.974 in fast mode, 0.988 in full


def test_custom_op_swish_has_correct_second_derivatives():
    pytest.importorskip("hypothesis")
    from minigrad.testing import assert_gradients
    custom_op = load_example("custom_op")
    x = mg.Tensor(np.linspace(-4, 4, 9).reshape(3, 3), requires_grad=True)
    assert_gradients(custom_op.swish, x)           # first and second order


# -- digits: a real data set ------------------------------------------------------------------

def test_digits_fast_mode_prints_a_line_per_epoch():
    pytest.importorskip("sklearn")
    lines = []
    result = load_example("digits").main(fast=True, plot_path=None, log=lines.append)
    progress = [line for line in lines if line.startswith("epoch")]
    assert len(progress) == result["epochs"] == 3
    assert all("loss" in line and "test accuracy" in line for line in progress)
    # The learning rate in each line: the cosine schedule's, 1e-3 in the first epoch, 5e-5 in the last.
    assert [line.split("lr ")[1].split()[0] for line in progress] == ["1.00e-03", "5.25e-04", "5.00e-05"]
    assert result["test_accuracy"] >= 0.9          # measured: 0.973


def test_digits_full_run_reaches_97_percent():
    pytest.importorskip("sklearn")
    result = load_example("digits").main(fast=False, plot_path=None, log=lambda *_: None)
    assert result["test_accuracy"] >= 0.97         # measured: 0.991


def test_digits_saves_its_learning_curves(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    path = tmp_path / "digits.png"
    load_example("digits").main(epochs=1, plot_path=str(path), log=lambda *_: None)
    assert _is_png(path)


def test_the_digits_augmentation_shifts_without_wrapping_around():
    digits = load_example("digits")
    image = np.zeros((8, 8))
    image[0, 7] = 1.0                              # top-right corner pixel
    X, y = digits.with_shifted_copies(image.reshape(1, 64), np.array([4]))
    assert X.shape == (5, 64) and list(y) == [4] * 5
    moved = X.reshape(5, 8, 8)
    assert moved[1, 1, 7] == 1                     # down one row
    assert moved[2].sum() == 0                     # up: off the top edge, not wrapped to the bottom
    assert moved[3].sum() == 0                     # right: off the edge
    assert moved[4, 0, 6] == 1                     # left one column


# -- each example as a reader runs it --------------------------------------------------------

CLI = {   # example -> (modules it needs, text its output must contain)
    "sine": ((), "epoch   2000   loss"),
    "arithmetic": ((), "largest error on the in-range queries"),
    "custom_op": ((), "gradcheck and gradgradcheck"),
    "digits": (("sklearn",), "test accuracy"),
}


@pytest.mark.parametrize("name", sorted(CLI))
def test_example_runs_from_the_command_line_in_fast_mode(name, tmp_path):
    needs, expected = CLI[name]
    for module in needs:
        pytest.importorskip(module)
    command = [sys.executable, str(EXAMPLES / f"{name}.py")]
    if name in ("sine", "digits"):   # the plot goes to tmp_path, or is skipped without matplotlib
        command += ["--plot", str(tmp_path / f"{name}.png")] if _has("matplotlib") else ["--no-plot"]
    # This checkout's minigrad, installed or not; one BLAS thread, as in one_blas_thread.
    path = os.pathsep.join(filter(None, [str(EXAMPLES.parent), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, MINIGRAD_FAST="1", OPENBLAS_NUM_THREADS="1", PYTHONPATH=path)
    finished = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert expected in finished.stdout
    if name in ("sine", "digits") and _has("matplotlib"):
        assert _is_png(tmp_path / f"{name}.png")
