"""minigrad against the two reference documents (../shared/reference/).

The documents hand-code backprop in the column layout: A is (features x
samples), W is (out x in), b is (out x 1). minigrad is batch-first: X is
(samples x features), weight is (out x in), bias is (out,). So the documents'
A is our X.T, their W is our weight, their b is our bias as a column. Each
test transcribes the documents' equations in numpy, in their layout, and
compares.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.data import StandardScaler, train_test_split
from minigrad.nn import functional as F


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# g and g' for each hidden activation, as the documents write them.
ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "identity": (lambda z: z, np.ones_like),
}


def documents_gradients(Ws, bs, activations, A0, Y):
    """Document one's backward, verbatim in the column layout: lists of dW and db.

    Loss 0.5 * ||A_L - Y||^2 / m: output dA = (A_L - Y) / m, hidden dA = W_{l+1}^T dZ_{l+1},
    dZ = dA * g'(Z), dW = dZ A_{l-1}^T, db = sum(dZ, axis=1, keepdims=True).
    """
    m = A0.shape[1]
    As, Zs = [A0], []
    for W, b, name in zip(Ws, bs, activations):
        Z = np.dot(W, As[-1]) + b
        Zs.append(Z)
        As.append(ACTIVATIONS[name][0](Z))
    dWs, dbs = [None] * len(Ws), [None] * len(Ws)
    dA = (As[-1] - Y) / m
    for l in reversed(range(len(Ws))):
        dZ = dA * ACTIVATIONS[activations[l]][1](Zs[l])
        dWs[l] = np.dot(dZ, As[l].T)
        dbs[l] = np.sum(dZ, axis=1, keepdims=True)
        dA = np.dot(Ws[l].T, dZ)
    return dWs, dbs


def document_two_gradients(Ws, bs, activations, A0, Y):
    """Document two's form: dZ_L = y_hat - y, and the division by m at dW and db. Same gradient."""
    m = A0.shape[1]
    As, Zs = [A0], []
    for W, b, name in zip(Ws, bs, activations):
        Zs.append(np.dot(W, As[-1]) + b)
        As.append(ACTIVATIONS[name][0](Zs[-1]))
    dWs, dbs = [None] * len(Ws), [None] * len(Ws)
    dZ = (As[-1] - Y) * ACTIVATIONS[activations[-1]][1](Zs[-1])
    for l in reversed(range(len(Ws))):
        if l < len(Ws) - 1:
            dZ = np.multiply(np.dot(Ws[l + 1].T, dZ), ACTIVATIONS[activations[l]][1](Zs[l]))
        dWs[l] = np.dot(dZ, As[l].T) / m
        dbs[l] = np.sum(dZ, axis=1, keepdims=True) / m
    return dWs, dbs


@settings(max_examples=25, deadline=None)
@given(widths=st.lists(st.integers(1, 6), min_size=2, max_size=5),
       batch=st.integers(1, 9),
       hidden=st.lists(st.sampled_from(sorted(ACTIVATIONS)), min_size=3, max_size=3),
       seed=st.integers(0, 2 ** 32 - 1))
def test_dense_stack_gradients_equal_the_documents_closed_form(widths, batch, hidden, seed):
    layer_activations = hidden[:len(widths) - 2] + ["identity"]   # the documents' output is linear
    mg.manual_seed(seed)
    model = nn.Sequential(*[nn.Dense(n_in, n_out, activation=name)
                            for n_in, n_out, name in zip(widths, widths[1:], layer_activations)])
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, widths[0]))      # batch-first: samples x features
    Y = rng.standard_normal((batch, widths[-1]))
    m = batch

    loss = 0.5 * F.mse_loss(model(X), Y, reduction="sum") / m
    loss.backward()

    Ws = [layer.weight.data for layer in model]
    bs = [layer.bias.data.reshape(-1, 1) for layer in model]   # the documents' column b
    # The documents' A0 and Y are ours transposed (features x samples).
    for closed_form in (documents_gradients, document_two_gradients):
        dWs, dbs = closed_form(Ws, bs, layer_activations, X.T, Y.T)
        for layer, dW, db in zip(model, dWs, dbs):
            np.testing.assert_allclose(layer.weight.grad, dW, rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(layer.bias.grad, db[:, 0], rtol=1e-9, atol=1e-9)


def test_document_one_sine_training_matches_its_equations_step_by_step():
    # Document one: 1 input, 20 sigmoid hidden units, 1 identity output, 0.2 * randn
    # initialisation, x = arange(-5, 5, 0.1), y = sin(x), full-batch gradient descent, lr 0.1.
    epochs, lr = 200, 0.1
    mg.manual_seed(0)
    model = nn.Sequential(nn.Dense(1, 20, activation="sigmoid", init="small_normal"),
                          nn.Dense(20, 1, init="small_normal"))
    x = np.arange(-5, 5, 0.1)
    X, Y = x.reshape(-1, 1), np.sin(x).reshape(-1, 1)    # batch-first (100 x 1)
    m = len(X)
    # The same initial weights, in the document's layout (b as a column).
    W1, b1 = model[0].weight.data.copy(), model[0].bias.data.reshape(-1, 1).copy()
    W2, b2 = model[1].weight.data.copy(), model[1].bias.data.reshape(-1, 1).copy()

    optimizer = mg.optim.SGD(model.parameters(), lr=lr)
    minigrad_losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = 0.5 * F.mse_loss(model(X), Y, reduction="sum") / m
        loss.backward()
        optimizer.step()
        minigrad_losses.append(loss.item())

    # The document, transcribed: column layout, A0 = x as a row.
    A0, Yc = x.reshape(1, -1), np.sin(x).reshape(1, -1)
    document_losses = []
    for _ in range(epochs):
        Z1 = np.dot(W1, A0) + b1
        A1 = _sigmoid(Z1)
        Z2 = np.dot(W2, A1) + b2
        A2 = Z2                                        # identity output
        document_losses.append(0.5 * np.sum((A2 - Yc) ** 2) / m)
        dA = (A2 - Yc) / m
        dZ2 = dA * 1.0
        dW2, db2 = np.dot(dZ2, A1.T), np.sum(dZ2, axis=1, keepdims=True)
        dA = np.dot(W2.T, dZ2)
        dZ1 = dA * _sigmoid(Z1) * (1 - _sigmoid(Z1))
        dW1, db1 = np.dot(dZ1, A0.T), np.sum(dZ1, axis=1, keepdims=True)
        W1, b1 = W1 - lr * dW1, b1 - lr * db1
        W2, b2 = W2 - lr * dW2, b2 - lr * db2

    assert document_losses[-1] < 0.7 * document_losses[0]    # it does learn something
    np.testing.assert_allclose(minigrad_losses, document_losses, rtol=1e-12, atol=0)
    np.testing.assert_allclose(model[0].weight.data, W1, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(model[1].bias.data, b2[:, 0], rtol=1e-11, atol=1e-13)


def test_document_two_pipeline_matches_its_equations():
    # Document two: a, b uniform in [0, 100); targets a+b, a-b, |a-b|; first 70% train;
    # per-feature standardisation from the training set; [2, 4, 4, 3] with ReLU hidden layers
    # and a linear output; He initialisation; full batch, lr 0.01.
    legacy = np.random.RandomState(42)                 # the document's np.random.seed(42), locally
    X_raw = legacy.rand(2, 1000) * 100                 # the document's layout: features x samples
    y_raw = np.concatenate(([X_raw[0] + X_raw[1]], [X_raw[0] - X_raw[1]],
                            np.abs([X_raw[0] - X_raw[1]])))
    n_train = int(0.7 * X_raw.shape[1])

    # minigrad, batch-first.
    X_train, X_test, y_train, y_test = train_test_split(X_raw.T, y_raw.T, test_ratio=0.3,
                                                        shuffle=False)
    x_scaler, y_scaler = StandardScaler().fit(X_train), StandardScaler().fit(y_train)
    Xs_train, ys_train = x_scaler.transform(X_train), y_scaler.transform(y_train)

    # The document's scalers, one per row, from the training columns only.
    def standardize(rows, fitted_on):
        return np.array([(row - fit.mean()) / fit.std() for row, fit in zip(rows, fitted_on)])
    doc_X_train = standardize(X_raw[:, :n_train], X_raw[:, :n_train])
    doc_y_train = standardize(y_raw[:, :n_train], y_raw[:, :n_train])
    doc_X_test = standardize(X_raw[:, n_train:], X_raw[:, :n_train])
    np.testing.assert_allclose(Xs_train, doc_X_train.T, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(x_scaler.transform(X_test), doc_X_test.T, rtol=1e-13, atol=1e-13)

    mg.manual_seed(42)
    model = nn.Sequential(nn.Dense(2, 4, activation="relu"), nn.Dense(4, 4, activation="relu"),
                          nn.Dense(4, 3, activation="linear"))
    Ws = [layer.weight.data.copy() for layer in model]
    bs = [layer.bias.data.reshape(-1, 1).copy() for layer in model]
    optimizer = mg.optim.SGD(model.parameters(), lr=0.01)
    m = n_train
    for _ in range(50):
        optimizer.zero_grad()
        (0.5 * F.mse_loss(model(Xs_train), ys_train, reduction="sum") / m).backward()
        optimizer.step()

    activations = ["relu", "relu", "identity"]
    for _ in range(50):
        dWs, dbs = document_two_gradients(Ws, bs, activations, doc_X_train, doc_y_train)
        Ws = [W - 0.01 * dW for W, dW in zip(Ws, dWs)]
        bs = [b - 0.01 * db for b, db in zip(bs, dbs)]
    for layer, W, b in zip(model, Ws, bs):
        np.testing.assert_allclose(layer.weight.data, W, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(layer.bias.data, b[:, 0], rtol=1e-11, atol=1e-13)

    # Predictions un-standardised, as the document's predict() does.
    queries = np.array([[30, 70], [70, 30], [3, 5], [888, 122]], dtype=float)
    predicted = y_scaler.inverse_transform(model(x_scaler.transform(queries)).numpy())
    A = standardize(queries.T, X_raw[:, :n_train])
    for W, b, name in zip(Ws, bs, activations):
        A = ACTIVATIONS[name][0](np.dot(W, A) + b)
    y_fit = y_raw[:, :n_train]
    doc_predicted = np.array([A[r] * y_fit[r].std() + y_fit[r].mean() for r in range(3)])
    np.testing.assert_allclose(predicted, doc_predicted.T, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["he", "small_normal"])
def test_initialisations_follow_the_documents_formulas(name):
    # Document two: W and b are randn * sqrt(2 / input_dim); document one: 0.2 * randn.
    # minigrad draws weight then bias from its generator, standard normals scaled.
    mg.manual_seed(7)
    layer = nn.Dense(3, 5, init=name)
    rng = np.random.default_rng(7)
    scale = np.sqrt(2 / 3) if name == "he" else 0.2
    np.testing.assert_array_equal(layer.weight.data, rng.standard_normal((5, 3)) * scale)
    np.testing.assert_array_equal(layer.bias.data, rng.standard_normal(5) * scale)
