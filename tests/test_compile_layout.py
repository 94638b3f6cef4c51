"""Dense layers replayed in the column layout give eager's numbers wherever their values go.

The replay keeps each dense layer's output as `Z = W A + b` (features x samples) and
hands out batch-first views only where something else reads the value: these runs
send the values to such places (returned, a per-element loss, a second layer on the
same input, a gradient into a parameter that is a layer's input) and compare every
loss, output, parameter and `.grad` with the eager run's, in float64 to 1e-12.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.compile import compile
from minigrad.nn import functional as F


class TwoHeads(nn.Module):
    """Two dense layers reading the same few-feature input; a learned input offset."""

    def __init__(self):
        super().__init__()
        self.offset = nn.Parameter(np.zeros((1, 2)))
        self.a = nn.Dense(2, 3, activation="tanh")
        self.b = nn.Dense(2, 3)
        self.out = nn.Dense(3, 2, activation="sigmoid")

    def forward(self, x):
        shifted = x + self.offset
        return self.out(self.a(shifted) * self.b(shifted)), self.b(x)


def _steps(loss_of, use_compile, steps=6):
    mg.manual_seed(0)
    model = TwoHeads()
    opt = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((9, 2)), rng.standard_normal((9, 2))

    def step(x, y):
        opt.zero_grad()
        out, side = model(x)
        loss = loss_of(out, side, y)
        loss.backward()
        opt.step()
        return loss, out
    fn = compile(step) if use_compile else step
    record = []
    for _ in range(steps):
        loss, out = fn(mg.Tensor(x), mg.Tensor(y))
        record.append(loss.numpy().copy())
        record.append(out.numpy().copy())
    for p in model.parameters():
        record += [p.data.copy(), p.grad.copy()]
    return record


LOSSES = {
    "mean squared error": lambda out, side, y: F.mse_loss(out, y),
    "per-element error, summed": lambda out, side, y: F.mse_loss(out, y, reduction="none").sum(),
    "error plus a second head": lambda out, side, y: F.mse_loss(out, y) + (side * side).mean(),
    "error against a head": lambda out, side, y: F.mse_loss(out, side[:, :2]),
}


@pytest.mark.parametrize("loss", list(LOSSES))
def test_column_layout_replay_equals_eager(loss):
    compiled, eager = _steps(LOSSES[loss], True), _steps(LOSSES[loss], False)
    assert len(compiled) == len(eager)
    for a, b in zip(compiled, eager):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_the_code_writes_dense_layers_in_the_column_layout():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Dense(3, 4, activation="relu"), nn.Dense(4, 1))
    opt = mg.optim.SGD(model.parameters(), lr=0.1)

    @compile
    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss
    x, y = np.ones((5, 3)), np.ones((5, 1))
    step(x, y)
    step(x, y)
    code = step.code
    assert "A1 = np.dot(model_0_weight, x_T)" in code      # Z = W A, one column per sample
    assert "Z2 = np.dot(model_1_weight, A1)" in code
    assert "dA1 = np.dot(model_1_weight.T, dZ2)" in code   # no transposed copies on the way
