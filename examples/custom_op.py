"""Extending minigrad: a new op, checked, then trained with.

Swish (also called SiLU), swish(x) = x * sigmoid(x), written as a
`minigrad.Function`: a forward on numpy arrays and a backward that returns
the gradient of the input. Then:

1. `minigrad.gradcheck` compares its backward with finite differences, and
   `minigrad.gradgradcheck` does the same for second derivatives;
2. a deliberately wrong backward shows what a failed check says;
3. `minigrad.testing` (needs hypothesis: the test extra) property-tests it
   on many drawn shapes and values against a numpy reference;
4. a small network with Swish hidden units learns to tell the points inside a
   circle from those outside.

    python examples/custom_op.py            # 100 epochs
    python examples/custom_op.py --fast     # 10 epochs (also: MINIGRAD_FAST=1)
"""
import argparse
import os

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

EPOCHS = 100
FAST_EPOCHS = 10
SEED = 0


def fast_mode_requested():
    """MINIGRAD_FAST=1 (anything but empty or 0) asks every example for a short run."""
    return os.environ.get("MINIGRAD_FAST", "") not in ("", "0")


class Swish(mg.Function):
    """swish(x) = x * sigmoid(x);  swish'(x) = s + x * s * (1 - s), with s = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1 + np.exp(-x))     # for x < -709, exp overflows to inf: still the limit 0

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        # In an ordinary backward, x and grad_output are numpy arrays. Under
        # create_graph=True they are Tensors, and because these lines use only
        # arithmetic and a numpy ufunc, which Tensors support too, the backward is
        # itself recorded: second derivatives come for free. (Saving s in forward
        # would be faster, but a saved array that is neither an input nor the
        # output is a constant to the engine, so second derivatives would be wrong.)
        s = 1 / (1 + np.exp(-x))
        return grad_output * (s + x * s * (1 - s))


def swish(x):
    return Swish.apply(x)


class WrongSwish(Swish):
    """The same forward with a backward that forgets the x * s * (1 - s) term."""

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        return grad_output / (1 + np.exp(-x))


class SwishLayer(nn.Module):
    """Swish as a Module, so it can be a layer's activation."""

    def forward(self, x):
        return Swish.apply(x)


def check_with_gradcheck(log=print):
    """Finite differences agree with Swish's backward (first and second order); a wrong one fails."""
    rng = np.random.default_rng(0)
    x = mg.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    mg.gradcheck(swish, [x])
    mg.gradgradcheck(swish, [x])
    log("gradcheck and gradgradcheck: Swish's first and second derivatives match finite differences")

    try:
        mg.gradcheck(lambda t: (WrongSwish.apply(t) * 2).sum(), [x])
    except mg.GradcheckError as error:
        log("gradcheck of a wrong backward fails, and says where:\n  "
            + str(error).replace("\n", "\n  "))
        return str(error)
    raise AssertionError("gradcheck accepted a wrong backward")


def check_with_testing_kit(log=print):
    """Property test with minigrad.testing: values against numpy, gradients, on drawn tensors."""
    try:
        from minigrad.testing import check_op, tensors
    except ImportError:   # hypothesis is in the test extra, not a dependency
        log("minigrad.testing needs hypothesis (pip install 'minigrad[test]'): check skipped")
        return False
    # check_op returns a hypothesis test; pytest would collect it as `test_swish = ...`.
    # Calling it runs it here: 25 drawn float64 tensors of up to 4 dimensions.
    test_swish = check_op(swish, tensors(), reference=lambda x: x / (1 + np.exp(-x)))
    test_swish()
    log("minigrad.testing.check_op: values, gradients and second derivatives agree on 25 "
        "drawn tensors")
    return True


def make_circle_data(n, rng):
    """Points in the square [-1, 1]^2; label 1 inside the circle of radius 0.6, else 0."""
    X = rng.uniform(-1, 1, size=(n, 2))
    y = (np.hypot(X[:, 0], X[:, 1]) < 0.6).astype(np.float64)
    return X, y.reshape(-1, 1)


def train_with_swish(epochs, log=print):
    """A 2-16-16-1 network with Swish hidden units separates inside from outside the circle."""
    mg.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    X_train, y_train = make_circle_data(1000, rng)
    X_test, y_test = make_circle_data(1000, rng)
    model = nn.Sequential(
        nn.Dense(2, 16, activation=SwishLayer(), init="xavier"),
        nn.Dense(16, 16, activation=SwishLayer(), init="xavier"),
        nn.Dense(16, 1),                      # a logit: the loss applies the sigmoid
    )
    optimizer = mg.optim.Adam(model.parameters(), lr=0.01)
    report_every = max(1, epochs // 5)
    for epoch in range(1, epochs + 1):
        batch_losses = []
        for X_batch, y_batch in mg.data.batches(X_train, y_train, 100):
            optimizer.zero_grad()
            loss = F.binary_cross_entropy_with_logits(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        if epoch % report_every == 0 or epoch == epochs:
            log(f"epoch {epoch:4d}   loss {np.mean(batch_losses):.4f}")
    with mg.no_grad():
        train_loss = F.binary_cross_entropy_with_logits(model(X_train), y_train).item()
        test_accuracy = float(((model(X_test).numpy() > 0) == (y_test > 0.5)).mean())
    log(f"training loss {train_loss:.4f}; test accuracy {test_accuracy:.2%} "
        "(inside vs outside the circle)")
    return train_loss, test_accuracy


def main(epochs=None, fast=None, log=print):
    """Check Swish three ways, then train with it; returns what the run showed."""
    if fast is None:
        fast = fast_mode_requested()
    if epochs is None:
        epochs = FAST_EPOCHS if fast else EPOCHS
    x = mg.Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = swish(x).sum()
    y.backward()
    log(f"swish({x.numpy()}) = {swish(x).numpy().round(4)}; gradient {x.grad.round(4)}")
    gradcheck_message = check_with_gradcheck(log)
    kit_ran = check_with_testing_kit(log)
    log(f"training a 2-16-16-1 Swish network for {epochs} epochs:")
    train_loss, test_accuracy = train_with_swish(epochs, log)
    return {"epochs": epochs, "gradcheck_message": gradcheck_message, "testing_kit_ran": kit_ran,
            "train_loss": train_loss, "test_accuracy": test_accuracy}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help=f"{FAST_EPOCHS} epochs, for tests")
    parser.add_argument("--epochs", type=int, help=f"number of epochs (default {EPOCHS})")
    args = parser.parse_args()
    main(epochs=args.epochs, fast=args.fast or None)
