"""A small convolutional network on the 8x8 digits: Conv2d, BatchNorm2d, ReLU, MaxPool2d, Linear.

The same data as examples/digits.py (scikit-learn's 1,797 8x8 images of the
digits 0-9, split 75% / 25% with `minigrad.data.train_test_split`), but
seen as images, shape (N, 1, 8, 8), by a network PyTorch users will
recognise line for line:

    conv 3x3, 16 channels -> batch norm -> ReLU -> max pool 2x2   (16 x 4 x 4)
    conv 3x3, 32 channels -> batch norm -> ReLU -> max pool 2x2   (32 x 2 x 2)
    flatten -> linear 128 -> 10 logits

trained with softmax cross-entropy and Adam on mini-batches of 32, the
learning rate decaying 20x over the run. Pixels are scaled to [0, 1]; the
training images get one-pixel shifted copies (the test images are only
measured). Batch norm uses batch statistics while training and its running
statistics in eval mode (`model.eval()`), as in PyTorch.

It prints a progress line per epoch and saves the learning curves as a PNG.

    python examples/cnn_digits.py             # 12 epochs, saves examples/out/cnn_digits.png
    python examples/cnn_digits.py --fast      # 2 epochs (also: MINIGRAD_FAST=1)
"""
import argparse
import importlib.util
import os
import sys

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.data import batches, train_test_split
from minigrad.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # the data helpers of digits.py
from digits import fast_mode_requested, load_data, one_blas_thread, save_plot  # noqa: E402
from digits import with_shifted_copies as _shifted_rows  # noqa: E402

EPOCHS = 12
FAST_EPOCHS = 2
BATCH_SIZE = 32
START_LR, END_LR = 3e-3, 1.5e-4
SEED = 0
DEFAULT_PLOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "cnn_digits.png")


def load_images():
    """The digits as images X (1797, 1, 8, 8) scaled to [0, 1], and labels y (1797,)."""
    X, y = load_data()
    return as_images(X), y


def as_images(X):
    """Rows of 64 pixel values 0-16 as (N, 1, 8, 8) images in [0, 1]."""
    return X.reshape(-1, 1, 8, 8) / 16.0


def build_model():
    """The CNN above; PyTorch's modules, arguments and state_dict keys."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
    )


def accuracy(model, X, y):
    """The fraction of X the model classifies as y, in eval mode (running statistics)."""
    model.eval()
    with mg.no_grad():
        right = sum(int((model(X[i:i + 512]).numpy().argmax(axis=1) == y[i:i + 512]).sum())
                    for i in range(0, len(X), 512))
    model.train()
    return right / len(X)


def main(epochs=None, fast=None, plot_path=DEFAULT_PLOT, seed=SEED, log=print):
    """Train, print one line per epoch, save the learning curves; returns what the run showed.

    `epochs` overrides the count; `fast` (default: MINIGRAD_FAST) uses FAST_EPOCHS;
    `plot_path=None` skips the plot.
    """
    if fast is None:
        fast = fast_mode_requested()
    if epochs is None:
        epochs = FAST_EPOCHS if fast else EPOCHS

    mg.manual_seed(seed)   # the split, the initial weights and the batch order
    X, y = load_data()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_ratio=0.25)
    X_train, y_train = _shifted_rows(X_train, y_train)   # digits.py's augmentation, on rows
    X_train, X_test = as_images(X_train), as_images(X_test)
    model = build_model()
    log(f"8x8 digits as images: {len(X_train)} training images (1/5 original, 4/5 shifted), "
        f"{len(X_test)} test images; a CNN of {model.num_parameters():,} parameters, Adam, "
        f"batches of {BATCH_SIZE}")

    optimizer = mg.optim.Adam(model.parameters(), lr=START_LR)
    history = {"loss": [], "train_accuracy": [], "test_accuracy": []}
    with one_blas_thread():
        for epoch in range(1, epochs + 1):
            optimizer.lr = START_LR * (END_LR / START_LR) ** ((epoch - 1) / max(1, epochs - 1))
            batch_losses = []
            for X_batch, y_batch in batches(X_train, y_train, BATCH_SIZE):
                optimizer.zero_grad()
                loss = F.cross_entropy(model(X_batch), y_batch)
                loss.backward()
                optimizer.step()
                batch_losses.append(loss.item())
            history["loss"].append(float(np.mean(batch_losses)))
            history["train_accuracy"].append(accuracy(model, X_train, y_train))
            history["test_accuracy"].append(accuracy(model, X_test, y_test))
            log(f"epoch {epoch:2d}/{epochs}   loss {history['loss'][-1]:.4f}   "
                f"train accuracy {history['train_accuracy'][-1]:.4f}   "
                f"test accuracy {history['test_accuracy'][-1]:.4f}")

    test_accuracy = history["test_accuracy"][-1]
    wrong = round((1 - test_accuracy) * len(y_test))
    log(f"test accuracy {test_accuracy:.2%} ({len(y_test) - wrong} of {len(y_test)} right)")
    if plot_path and importlib.util.find_spec("matplotlib") is None:
        log("no plot: matplotlib is not installed (pip install 'minigrad[examples]')")
    elif plot_path:
        save_plot(history, plot_path, target=0.985)
        log(f"learning curves saved to {plot_path}")
    return {"epochs": epochs, "history": history, "test_accuracy": test_accuracy,
            "model": model, "plot_path": plot_path}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help=f"{FAST_EPOCHS} epochs, for tests")
    parser.add_argument("--epochs", type=int, help=f"number of epochs (default {EPOCHS})")
    parser.add_argument("--seed", type=int, default=SEED,
                        help=f"the split, the weights and the batch order (default {SEED})")
    parser.add_argument("--plot", default=DEFAULT_PLOT, help="where to save the PNG")
    parser.add_argument("--no-plot", action="store_true", help="do not plot (no matplotlib needed)")
    args = parser.parse_args()
    main(epochs=args.epochs, fast=args.fast or None, seed=args.seed,
         plot_path=None if args.no_plot else args.plot)
