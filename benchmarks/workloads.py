"""The five training workloads and their three implementations.

A `Workload` says what network is trained on what data; `make_weights` and
`make_data` give every implementation the same starting point. Each
implementation is a small class with `step()` (forward + backward + SGD
update, returning the loss of that forward pass as a float) and `loss()`
(the loss at the current weights, no update):

- `NumpyNet`: the documents' equations by hand in their column layout,
  `Z = W A + b` with A of shape (features, samples); the yardstick.
- `MinigradNet`: `minigrad.nn.Dense` layers on batch-first data (samples, features).
- `CompiledMinigradNet`: the same minigrad step, wrapped in `minigrad.compile`.
- `TorchNet`: `torch.nn.Linear` layers, CPU; only when torch can be imported.

Losses, the same in all three: MSE as `0.5 * sum((yhat - y)**2) / m` (the
documents' loss, whose gradient is `(yhat - y) / m`), and softmax
cross-entropy averaged over the batch.
"""
from dataclasses import dataclass

import numpy as np

__all__ = ["Workload", "WORKLOADS", "NumpyNet", "MinigradNet", "CompiledMinigradNet", "TorchNet",
           "IMPLEMENTATIONS", "torch_version"]


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    sizes: tuple          # layer widths, input first
    hidden: str           # activation of the hidden layers: "relu", "sigmoid" or "tanh"
    output: str | None    # activation of the last layer (None: linear)
    loss: str             # "mse" or "cross_entropy"
    batch: int            # samples per step (all of them: full batch)
    dtype: type
    lr: float
    init: str             # "he" (document two), "doc1" (0.2 * randn), "lecun" (randn / sqrt(fan_in))
    data: str             # "doc2" (a+b, a-b, |a-b|), "doc1" (sin), "random"
    seed: int = 0

    @property
    def rtol(self):
        """How close the implementations' losses must be from identical weights."""
        return 1e-6 if self.dtype == np.float64 else 1e-4

    def make_weights(self):
        """[(W, b)] per layer in the documents' shapes: W (out, in), b (out, 1)."""
        rng = np.random.default_rng(self.seed)
        weights = []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            if self.init == "he":      # document two: randn * sqrt(2 / input_dim), biases too
                scale = bias_scale = np.sqrt(2.0 / fan_in)
            elif self.init == "doc1":  # document one: 0.2 * randn, biases too
                scale = bias_scale = 0.2
            else:                      # LeCun, for the deep tanh stack
                scale, bias_scale = 1.0 / np.sqrt(fan_in), 0.1
            W = rng.standard_normal((fan_out, fan_in)) * scale
            b = rng.standard_normal((fan_out, 1)) * bias_scale
            weights.append((W.astype(self.dtype), b.astype(self.dtype)))
        return weights

    def make_data(self):
        """Batch-first X (m, in) and Y: (m, out) targets for MSE, (m,) int64 labels for cross-entropy."""
        rng = np.random.default_rng(self.seed + 1)
        m, n_in, n_out = self.batch, self.sizes[0], self.sizes[-1]
        if self.data == "doc1":        # document one: x = arange(-5, 5, 0.1), y = sin(x)
            x = np.arange(-5, 5, 0.1)[:m]
            X, Y = x.reshape(-1, 1), np.sin(x).reshape(-1, 1)
        elif self.data == "doc2":      # document two: a, b in [0, 100); a+b, a-b, |a-b|; standardised
            ab = rng.uniform(0, 100, size=(m, 2))
            a, b = ab[:, 0], ab[:, 1]
            t = np.stack([a + b, a - b, np.abs(a - b)], axis=1)
            X = (ab - ab.mean(axis=0)) / ab.std(axis=0)
            Y = (t - t.mean(axis=0)) / t.std(axis=0)
        elif self.loss == "cross_entropy":
            X = rng.random((m, n_in))  # pixel-like values in [0, 1)
            Y = rng.integers(0, n_out, size=m)
            return X.astype(self.dtype), Y.astype(np.int64)
        else:
            X = rng.standard_normal((m, n_in))
            Y = np.tanh(rng.standard_normal((m, n_out)))
        return X.astype(self.dtype), Y.astype(self.dtype)


WORKLOADS = {w.name: w for w in [
    Workload("W1", "document two's net: 2-4-4-3 ReLU, linear output, 7,000 samples, full batch, float64",
             sizes=(2, 4, 4, 3), hidden="relu", output=None, loss="mse", batch=7000,
             dtype=np.float64, lr=0.01, init="he", data="doc2"),
    Workload("W2", "document one's net: 1-20-1 sigmoid, 100 points, full batch, float64",
             sizes=(1, 20, 1), hidden="sigmoid", output=None, loss="mse", batch=100,
             dtype=np.float64, lr=0.1, init="doc1", data="doc1"),
    Workload("W3", "784-256-128-10 ReLU MLP, softmax cross-entropy, batch 128, float32",
             sizes=(784, 256, 128, 10), hidden="relu", output=None, loss="cross_entropy",
             batch=128, dtype=np.float32, lr=0.05, init="he", data="random"),
    Workload("W4", "1024-4096-4096-10 ReLU MLP, cross-entropy, batch 512, float32 (matmul-bound)",
             sizes=(1024, 4096, 4096, 10), hidden="relu", output=None, loss="cross_entropy",
             batch=512, dtype=np.float32, lr=0.003, init="he", data="random"),
    Workload("W5", "50 x (Dense 32->32 + tanh), MSE, batch 32, float64 (per-op overhead)",
             sizes=(32,) * 51, hidden="tanh", output="tanh", loss="mse", batch=32,
             dtype=np.float64, lr=0.01, init="lecun", data="random"),
]}


# ---------------------------------------------------------------------------
# (a) NumPy by hand, the documents' column layout
# ---------------------------------------------------------------------------

def _np_activation(name, Z):
    """g(Z) as a new array."""
    if name == "relu":
        return np.maximum(Z, 0)
    if name == "sigmoid":
        A = np.exp(-Z)
        A += 1
        return np.reciprocal(A, out=A)
    if name == "tanh":
        return np.tanh(Z)
    return Z


def _np_times_derivative(name, dA, Z, A):
    """dZ = dA * g'(Z), overwriting dA (a fresh array nobody else holds)."""
    if name == "relu":
        dA *= Z > 0
    elif name == "sigmoid":
        dA *= A
        dA *= 1 - A
    elif name == "tanh":
        dA *= 1 - A * A
    return dA


class NumpyNet:
    """The documents' forward and hand-coded backward: Z = W A + b, A = g(Z), column layout."""
    label = "numpy"

    def __init__(self, workload, weights, X, Y):
        self.w = workload
        self.params = [(W.copy(), b.copy()) for W, b in weights]
        self.X = np.ascontiguousarray(X.T)   # (features, samples)
        self.m = X.shape[0]
        if workload.loss == "cross_entropy":
            self.labels = Y
            self.cols = np.arange(self.m)
        else:
            self.Y = np.ascontiguousarray(Y.T)
        self.acts = [workload.hidden] * (len(weights) - 1) + [workload.output]

    def _forward(self):
        """Every layer's (A_prev, Z, A)."""
        cache = []
        A = self.X
        for (W, b), act in zip(self.params, self.acts):
            Z = W @ A
            Z += b
            A_prev, A = A, _np_activation(act, Z)
            cache.append((A_prev, Z, A))
        return cache

    def _loss_and_grad(self, A_L):
        """The loss and dZ of the output layer's pre-activation (before g' of the output)."""
        m = self.m
        if self.w.loss == "mse":
            D = A_L - self.Y
            loss = 0.5 * float(np.vdot(D, D)) / m
            D /= m                                      # dA_L = (A_L - Y) / m
            return loss, D
        Z = A_L - A_L.max(axis=0)                       # softmax over the classes (rows)
        E = np.exp(Z)
        S = E.sum(axis=0)
        loss = float(np.mean(np.log(S) - Z[self.labels, self.cols]))
        E /= S                                          # probabilities P
        E[self.labels, self.cols] -= 1                  # dZ_L = (P - onehot) / m
        E /= m
        return loss, E

    def loss(self):
        return self._loss_and_grad(self._forward()[-1][2])[0]

    def step(self):
        cache = self._forward()
        loss, dA = self._loss_and_grad(cache[-1][2])
        lr = self.w.lr
        for l in range(len(self.params) - 1, -1, -1):
            W, b = self.params[l]
            A_prev, Z, A = cache[l]
            dZ = _np_times_derivative(self.acts[l], dA, Z, A)
            dW = dZ @ A_prev.T
            db = dZ.sum(axis=1, keepdims=True)
            if l:
                dA = W.T @ dZ                           # before W changes
            W -= lr * dW
            b -= lr * db
        return loss


# ---------------------------------------------------------------------------
# (b) minigrad: nn.Dense on batch-first data
# ---------------------------------------------------------------------------

class MinigradNet:
    """minigrad.nn.Sequential of Dense layers, nn.functional losses, optim.SGD."""
    label = "minigrad"

    def __init__(self, workload, weights, X, Y):
        import minigrad as mg
        from minigrad import nn, optim
        from minigrad.nn import functional as F
        self.w, self.F = workload, F
        acts = [workload.hidden] * (len(weights) - 1) + [workload.output]
        layers = []
        for (W, b), act in zip(weights, acts):
            layer = nn.Dense(W.shape[1], W.shape[0], activation=act, dtype=workload.dtype)
            layer.weight.data = W.copy()
            layer.bias.data = b.ravel().copy()
            layers.append(layer)
        self.model = nn.Sequential(*layers)
        self.opt = optim.SGD(self.model.parameters(), lr=workload.lr)
        self.X = mg.Tensor(X)
        self.Y = mg.Tensor(Y)
        self.scale = 0.5 / X.shape[0]

    def _loss(self):
        return self._loss_of(self.X, self.Y)

    def _loss_of(self, X, Y):
        out = self.model(X)
        if self.w.loss == "mse":
            return self.F.mse_loss(out, Y, reduction="sum") * self.scale
        return self.F.cross_entropy(out, Y)

    def loss(self):
        import minigrad as mg
        with mg.no_grad():
            return self._loss().item()

    def step(self):
        self.opt.zero_grad()
        loss = self._loss()
        loss.backward()
        self.opt.step()
        return loss.item()


class CompiledMinigradNet(MinigradNet):
    """MinigradNet's step (zero_grad, loss, backward, SGD step) compiled by `minigrad.compile`."""
    label = "compiled"

    def __init__(self, workload, weights, X, Y):
        super().__init__(workload, weights, X, Y)
        from minigrad.compile import compile

        def train_step(x, y):
            self.opt.zero_grad()
            loss = self._loss_of(x, y)
            loss.backward()
            self.opt.step()
            return loss
        self.train_step = compile(train_step)

    def step(self):
        return self.train_step(self.X, self.Y).item()


# ---------------------------------------------------------------------------
# (c) PyTorch, CPU
# ---------------------------------------------------------------------------

def torch_version():
    """torch's version string, or None when it cannot be imported."""
    try:
        import torch
    except Exception:   # not installed, or a broken install: the torch rows are skipped
        return None
    return torch.__version__


class TorchNet:
    """torch.nn.Sequential of Linear layers, the same losses, torch.optim.SGD; default threads."""
    label = "torch"

    def __init__(self, workload, weights, X, Y):
        import torch
        from torch import nn
        self.torch, self.w = torch, workload
        dtype = {np.float64: torch.float64, np.float32: torch.float32}[workload.dtype]
        activation = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
        acts = [workload.hidden] * (len(weights) - 1) + [workload.output]
        layers = []
        for (W, b), act in zip(weights, acts):
            layer = nn.Linear(W.shape[1], W.shape[0], dtype=dtype)
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(W))
                layer.bias.copy_(torch.from_numpy(b.ravel()))
            layers.append(layer)
            if act is not None:
                layers.append(activation[act]())
        self.model = nn.Sequential(*layers)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=workload.lr)
        self.X = torch.from_numpy(X.copy())
        self.Y = torch.from_numpy(Y.copy())
        self.scale = 0.5 / X.shape[0]

    def _loss(self):
        out = self.model(self.X)
        if self.w.loss == "mse":
            return self.torch.nn.functional.mse_loss(out, self.Y, reduction="sum") * self.scale
        return self.torch.nn.functional.cross_entropy(out, self.Y)

    def loss(self):
        with self.torch.no_grad():
            return self._loss().item()

    def step(self):
        self.opt.zero_grad()
        loss = self._loss()
        loss.backward()
        self.opt.step()
        return loss.item()


IMPLEMENTATIONS = [NumpyNet, MinigradNet, CompiledMinigradNet, TorchNet]
