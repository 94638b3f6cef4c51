"""examples/cnn_digits.py runs, prints a line per epoch, learns, saves its plot, and runs as a
reader runs it (a fresh process, MINIGRAD_FAST=1). Needs scikit-learn (the examples extra)."""
import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load_cnn_example():
    spec = importlib.util.spec_from_file_location("minigrad_example_cnn_digits",
                                                  EXAMPLES / "cnn_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cnn_fast_mode_prints_a_line_per_epoch_and_learns():
    pytest.importorskip("sklearn")
    lines = []
    result = load_cnn_example().main(fast=True, plot_path=None, log=lines.append)
    progress = [line for line in lines if line.startswith("epoch")]
    assert len(progress) == result["epochs"] == 2
    assert all("loss" in line and "test accuracy" in line for line in progress)
    assert result["history"]["loss"][1] < result["history"]["loss"][0]
    assert result["test_accuracy"] >= 0.97         # measured: 0.989 after 2 epochs (0.991 after 12)
    batches_per_epoch = -(-6735 // 32)             # 1347 training images and 4 shifted copies each
    state = result["model"].state_dict()
    assert state["1.num_batches_tracked"] == 2 * batches_per_epoch


def test_the_cnn_augmentation_shifts_images_without_wrapping_around():
    cnn = load_cnn_example()
    image = np.zeros((1, 1, 8, 8))
    image[0, 0, 0, 7] = 16.0                       # top-right corner pixel
    rows, y = cnn._shifted_rows(image.reshape(1, 64), np.array([4]))   # digits.py's, on rows
    X = cnn.as_images(rows)
    assert X.shape == (5, 1, 8, 8) and list(y) == [4] * 5
    assert X[1, 0, 1, 7] == 1                      # down one row
    assert X[2].sum() == 0 and X[3].sum() == 0     # up and right: off the edge, not wrapped
    assert X[4, 0, 0, 6] == 1                      # left one column


def test_cnn_example_runs_from_the_command_line_and_saves_its_plot(tmp_path):
    pytest.importorskip("sklearn")
    has_matplotlib = importlib.util.find_spec("matplotlib") is not None
    plot = tmp_path / "cnn.png"
    command = [sys.executable, str(EXAMPLES / "cnn_digits.py")]
    command += ["--plot", str(plot)] if has_matplotlib else ["--no-plot"]
    path = os.pathsep.join(filter(None, [str(EXAMPLES.parent), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, MINIGRAD_FAST="1", OPENBLAS_NUM_THREADS="1", PYTHONPATH=path)
    finished = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.count("\nepoch ") == 2 and "test accuracy" in finished.stdout
    if has_matplotlib:
        with open(plot, "rb") as file:
            assert file.read(8) == b"\x89PNG\r\n\x1a\n"
