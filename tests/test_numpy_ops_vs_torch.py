"""Issue 11's ops against PyTorch: values, gradients and second derivatives, including at the
kinks where PyTorch picks a subgradient (norms at 0, std of a constant, prod with zeros, % and //).
Skipped where torch is not installed."""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
X = RNG.uniform(-2, 2, (3, 4))
WITH_ZEROS = np.array([[0.0, 2.0, -1.5, 0.0], [1.0, 0.0, 3.0, 0.5], [0.0, 0.0, 0.0, 0.0]])

# name, minigrad function, torch function, input
CASES = [
    ("var ddof=1", lambda x: x.var(axis=1, ddof=1), lambda x: x.var(dim=1, correction=1), X),
    ("std", lambda x: x.std(axis=0), lambda x: x.std(dim=0, correction=0), X),
    ("std of a constant", lambda x: x.std(axis=1), lambda x: x.std(dim=1, correction=0), np.ones((2, 3))),
    ("prod with zeros", lambda x: x.prod(axis=1), lambda x: x.prod(dim=1), WITH_ZEROS),
    ("prod all", lambda x: x.prod(), lambda x: x.prod(), WITH_ZEROS[1]),
    ("cumsum", lambda x: x.cumsum(axis=0), lambda x: x.cumsum(dim=0), X),
    ("logsumexp", lambda x: x.logsumexp(axis=1), lambda x: x.logsumexp(dim=1), X),
    ("2-norm with a zero row", lambda x: x.norm(axis=1), lambda x: torch.linalg.vector_norm(x, dim=1),
     WITH_ZEROS),
    ("3-norm with zeros", lambda x: x.norm(3, axis=1),
     lambda x: torch.linalg.vector_norm(x, 3, dim=1), WITH_ZEROS),
    ("0.5-norm with zeros", lambda x: x.norm(0.5, axis=1),
     lambda x: torch.linalg.vector_norm(x, 0.5, dim=1), WITH_ZEROS[:2]),
    ("1-norm", lambda x: x.norm(1, axis=0), lambda x: torch.linalg.vector_norm(x, 1, dim=0), X),
    ("inf-norm", lambda x: x.norm(np.inf, axis=1),
     lambda x: torch.linalg.vector_norm(x, float("inf"), dim=1), X),
    ("frobenius", lambda x: x.norm("fro"), lambda x: torch.linalg.matrix_norm(x, "fro"), X),
    ("matrix 1-norm", lambda x: x.norm(1), lambda x: torch.linalg.matrix_norm(x, 1), X),
    ("matrix inf-norm", lambda x: x.norm(np.inf), lambda x: torch.linalg.matrix_norm(x, float("inf")), X),
    ("remainder", lambda x: x % 0.7, lambda x: torch.remainder(x, 0.7), X),
    ("remainder of tensors", lambda x: (x * 3) % (x.abs() + 0.3),
     lambda x: torch.remainder(x * 3, x.abs() + 0.3), X),
    ("floor", lambda x: np.floor(x / 0.7) * x, lambda x: torch.floor(x / 0.7) * x, X),
    ("sign", lambda x: x.sign() * x, lambda x: x.sign() * x, WITH_ZEROS),
    ("square", lambda x: x.square(), lambda x: x.square(), X),
    ("sin cos tan", lambda x: x.sin() * x.cos() + (x / 4).tan(),
     lambda x: x.sin() * x.cos() + (x / 4).tan(), X),
    ("log1p expm1", lambda x: (x.abs()).log1p() + x.expm1(), lambda x: x.abs().log1p() + x.expm1(), X),
    ("log2 log10 reciprocal", lambda x: (x.abs() + 1).log2() + (x.abs() + 1).log10() + (x.abs() + 1).reciprocal(),
     lambda x: (x.abs() + 1).log2() + (x.abs() + 1).log10() + (x.abs() + 1).reciprocal(), X),
    ("repeat", lambda x: x.repeat(2, axis=1), lambda x: x.repeat_interleave(2, dim=1), X),
    ("tile", lambda x: x.tile((2, 1)), lambda x: x.tile((2, 1)), X),
    ("flip", lambda x: x.flip(0), lambda x: x.flip(0), X),
    ("pad", lambda x: x.pad(((1, 0), (2, 1)), constant_values=0.5),
     lambda x: torch.nn.functional.pad(x, (2, 1, 1, 0), value=0.5), X),
    ("trace", lambda x: x.trace(1), lambda x: torch.diagonal(x, 1).sum(), X),
    ("diag of a vector", lambda x: mg.diag(x[0], -1), lambda x: torch.diag(x[0], -1), X),
    ("einsum", lambda x: mg.einsum("ij,kj->ik", x, x * x), lambda x: torch.einsum("ij,kj->ik", x, x * x), X),
    ("einsum trace", lambda x: mg.einsum("ii", x[:, :3]), lambda x: torch.einsum("ii", x[:, :3]), X),
    ("moveaxis squeeze unsqueeze", lambda x: x.unsqueeze(0).moveaxis(0, 2).squeeze(2),
     lambda x: x.unsqueeze(0).movedim(0, 2).squeeze(2), X),
]


@pytest.mark.parametrize("name, ours, theirs, data", CASES, ids=[c[0] for c in CASES])
def test_values_gradients_and_second_derivatives_match_pytorch(name, ours, theirs, data):
    x = mg.Tensor(data, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    out, tout = ours(x), theirs(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    weights = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
    (g,) = mg.grad((out * weights).sum(), [x], create_graph=True)
    (tg,) = torch.autograd.grad((tout * torch.tensor(weights)).sum(), [tx], create_graph=True)
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-12, atol=1e-14)
    tgg = torch.autograd.grad((tg * tg).sum(), [tx])[0] if tg.requires_grad else torch.zeros_like(tx)
    if not g.requires_grad:   # our gradient is a constant: the second derivative is 0
        np.testing.assert_array_equal(tgg.numpy(force=True), 0.0)
        return
    (gg,) = mg.grad((g * g).sum(), [x])
    # where torch's second derivative is nan (0 / 0 at a norm's kink), ours is finite
    finite = np.isfinite(tgg.numpy())
    assert np.all(np.isfinite(gg))
    np.testing.assert_allclose(gg[finite], tgg.numpy()[finite], rtol=1e-10, atol=1e-12)
