import numpy as np

import minigrad as mg


def test_backward_of_affine_sigmoid_matches_hand_derivative():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    W = mg.Tensor(w, requires_grad=True)
    (mg.Tensor(x) @ W).sigmoid().sum().backward()
    s = 1 / (1 + np.exp(-(x @ w)))
    np.testing.assert_allclose(W.grad, x.T @ (s * (1 - s)), rtol=1e-12)
