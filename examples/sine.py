"""Document one's example: a 1-20-1 sigmoid network learns a sine wave.

The facts, from the author's published code: one input, 20 sigmoid hidden
units, one identity output; x = arange(-5, 5, 0.1) (100 points), y = sin(x);
weights and biases initialised as 0.2 * randn with seed 0; plain gradient
descent with learning rate 0.1 on the whole batch for 20,000 epochs; the loss
is 0.5 * ||A - Y||^2 / m. The document computes the gradient by hand; here
`loss.backward()` records and replays it.

    python examples/sine.py                 # 20,000 epochs, saves examples/out/sine.png
    python examples/sine.py --fast          # 2,000 epochs (also: MINIGRAD_FAST=1)
    python examples/sine.py --plot fit.png  # the plot somewhere else
"""
import argparse
import importlib.util
import os

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

EPOCHS = 20_000
FAST_EPOCHS = 2_000
PRINT_EVERY = 1_000
LEARNING_RATE = 0.1
SEED = 0
DEFAULT_PLOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "sine.png")


def fast_mode_requested():
    """MINIGRAD_FAST=1 (anything but empty or 0) asks every example for a short run."""
    return os.environ.get("MINIGRAD_FAST", "") not in ("", "0")


def document_loss(prediction, target):
    """Document one's loss, 0.5 * ||A - Y||^2 / m; its gradient is dA = (A - Y) / m."""
    m = len(target)
    return 0.5 * F.mse_loss(prediction, target, reduction="sum") / m


def build_model():
    """Document one's network: Z = W A + b per layer, 0.2 * randn for weights and biases."""
    return nn.Sequential(
        nn.Dense(1, 20, activation="sigmoid", init="small_normal"),
        nn.Dense(20, 1, init="small_normal"),            # identity output
    )


def train(epochs=EPOCHS, print_every=PRINT_EVERY, log=print):
    """Fit sin(x) on [-5, 5); returns the model, the data and the loss of every epoch."""
    mg.manual_seed(SEED)
    model = build_model()
    x = np.arange(-5, 5, 0.1)
    X, Y = x.reshape(-1, 1), np.sin(x).reshape(-1, 1)   # batch-first: 100 samples x 1 feature
    optimizer = mg.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    losses = []
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad()
        loss = document_loss(model(X), Y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if epoch % print_every == 0 or epoch == epochs:
            log(f"epoch {epoch:6d}   loss {losses[-1]:.6f}")
    return model, X, Y, losses


def save_plot(X, Y, prediction, losses, path):
    """Target and network output, and the loss curve, as a PNG (matplotlib, no screen needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (fit, curve) = plt.subplots(1, 2, figsize=(10, 4))
    fit.plot(X[:, 0], Y[:, 0], label="target: sin(x)", linewidth=3, alpha=0.5)
    fit.plot(X[:, 0], prediction[:, 0], label="network output", linestyle="--")
    fit.set_xlabel("x")
    fit.set_title("1-20-1 sigmoid network")
    fit.set_ylim(-1.4, 1.7)                              # room for the legend above the curves
    fit.legend(loc="upper center", ncol=2)
    curve.semilogy(np.arange(1, len(losses) + 1), losses)
    curve.set_xlabel("epoch")
    curve.set_ylabel("0.5 * ||A - Y||^2 / m")
    curve.set_title("training loss")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(epochs=None, fast=None, plot_path=DEFAULT_PLOT, log=print):
    """Train, print the loss every 1,000 epochs, save the plot; returns what the run showed.

    `epochs` overrides the count; `fast` (default: MINIGRAD_FAST) uses FAST_EPOCHS;
    `plot_path=None` skips the plot.
    """
    if fast is None:
        fast = fast_mode_requested()
    if epochs is None:
        epochs = FAST_EPOCHS if fast else EPOCHS
    log(f"document one: 1-20-1 sigmoid network, SGD lr {LEARNING_RATE}, {epochs} full-batch "
        "epochs on y = sin(x)")
    model, X, Y, losses = train(epochs, log=log)
    with mg.no_grad():
        prediction = model(X)
        final_loss = document_loss(prediction, Y).item()
    max_error = float(np.abs(prediction.numpy() - Y).max())
    log(f"final loss {final_loss:.6f}; largest |network - sin(x)| on the grid: {max_error:.4f}")
    if plot_path and importlib.util.find_spec("matplotlib") is None:
        log("no plot: matplotlib is not installed (pip install 'minigrad[examples]')")
    elif plot_path:
        save_plot(X, Y, prediction.numpy(), losses, plot_path)
        log(f"plot saved to {plot_path}")
    return {"epochs": epochs, "losses": losses, "final_loss": final_loss, "max_error": max_error,
            "model": model, "plot_path": plot_path}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help=f"{FAST_EPOCHS} epochs, for tests")
    parser.add_argument("--epochs", type=int, help=f"number of epochs (default {EPOCHS})")
    parser.add_argument("--plot", default=DEFAULT_PLOT, help="where to save the PNG")
    parser.add_argument("--no-plot", action="store_true", help="do not plot (no matplotlib needed)")
    args = parser.parse_args()
    main(epochs=args.epochs, fast=args.fast or None, plot_path=None if args.no_plot else args.plot)
