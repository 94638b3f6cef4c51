"""The new losses against their formulas written out in NumPy, their gradients (first and second
order) against finite differences, and their errors."""
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import minigrad as mg
from minigrad import nn
import minigrad.nn.functional as F
from minigrad.testing import assert_gradients

RNG = np.random.default_rng(2)
PRED = RNG.standard_normal((4, 3)) * 2
TARGET = RNG.standard_normal((4, 3)) * 2
LOGITS = RNG.standard_normal((5, 4))
LABELS = np.array([1, 0, 3, 3, 2])
WEIGHT = np.array([1.0, 0.5, 2.0, 3.0])


def log_softmax(z):
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def reduce(per, reduction):
    return {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elementwise_losses_are_their_formulas(reduction):
    d = PRED - TARGET
    a = np.abs(d)
    cases = [
        (F.l1_loss(PRED, TARGET, reduction), a),
        (F.smooth_l1_loss(PRED, TARGET, reduction, beta=0.8),
         np.where(a < 0.8, 0.5 * d ** 2 / 0.8, a - 0.4)),
        (F.huber_loss(PRED, TARGET, reduction, delta=1.3),
         np.where(a < 1.3, 0.5 * d ** 2, 1.3 * (a - 0.65))),
    ]
    for loss, per in cases:
        np.testing.assert_allclose(loss.numpy(), reduce(per, reduction), rtol=1e-13)


def test_smooth_losses_gradients_to_second_order_and_l1_first_order():
    # data away from the kinks |d| = beta and d = 0
    pred = np.array([[0.3, -2.0, 1.7], [-0.6, 2.5, 0.1]])
    target = np.zeros((2, 3))
    assert_gradients(lambda p, t: F.smooth_l1_loss(p, t, beta=1.0), pred, target)
    assert_gradients(lambda p, t: F.huber_loss(p, t, "sum", delta=0.5), pred, target)
    assert_gradients(lambda p, t: F.l1_loss(p, t), pred, target, second_order=False)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_is_its_formula_with_logs_clamped(reduction):
    p = np.array([0.0, 0.3, 0.9, 1.0, 0.5])
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.2])
    w = np.array([1.0, 2.0, 1.0, 0.5, 3.0])
    with np.errstate(divide="ignore"):
        per = -w * (y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))
    np.testing.assert_allclose(F.binary_cross_entropy(p, y, reduction, weight=w).numpy(),
                               reduce(per, reduction), rtol=1e-13)
    inside = np.array([0.2, 0.6, 0.9])
    assert_gradients(lambda p, y: F.binary_cross_entropy(p, y), inside, np.array([0.0, 1.0, 0.3]))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\], got 1.5"):
        F.binary_cross_entropy(np.array([0.5, 1.5]), np.array([0.0, 1.0]))


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
def test_kl_div_is_its_formula(reduction, log_target):
    log_q = log_softmax(LOGITS)
    p = np.exp(log_softmax(RNG.standard_normal((5, 4))))
    if not log_target:
        p[0, 0] = 0.0                              # 0 log 0 = 0
    target = np.log(p) if log_target else p
    per = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - log_q), 0.0)
    expected = per.sum() / 5 if reduction == "batchmean" else reduce(per, reduction)
    np.testing.assert_allclose(F.kl_div(log_q, target, reduction, log_target=log_target).numpy(),
                               expected, rtol=1e-12)


def test_kl_div_gradients_to_second_order():
    p = np.exp(log_softmax(RNG.standard_normal((3, 4))))
    assert_gradients(lambda q, p: F.kl_div(q, p, "batchmean"), log_softmax(LOGITS[:3]), p)
    assert_gradients(lambda q, t: F.kl_div(q, t, "sum", log_target=True), log_softmax(LOGITS[:3]),
                     np.log(p))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_and_cross_entropy_with_weights_and_ignore_index_are_pytorchs_formulas(reduction):
    labels = np.array([1, -100, 3, 3, 2])
    kept = labels != -100
    safe = np.where(kept, labels, 0)
    log_p = log_softmax(LOGITS)
    per = -WEIGHT[safe] * log_p[np.arange(5), safe] * kept
    expected = per.sum() / (WEIGHT[safe] * kept).sum() if reduction == "mean" else reduce(per, reduction)
    np.testing.assert_allclose(F.nll_loss(log_p, labels, reduction, weight=WEIGHT).numpy(),
                               expected, rtol=1e-13)
    np.testing.assert_allclose(F.cross_entropy(LOGITS, labels, reduction, weight=WEIGHT).numpy(),
                               expected, rtol=1e-13)
    # label smoothing: (1 - eps) * nll + eps / C * sum_c -w_c log p_c, both over the same divisor
    eps = 0.25
    smooth = -(log_p * WEIGHT).sum(axis=1) * kept
    if reduction == "mean":
        smooth_part = smooth.sum() / (WEIGHT[safe] * kept).sum()
    else:
        smooth_part = reduce(smooth, reduction)
    np.testing.assert_allclose(
        F.cross_entropy(LOGITS, labels, reduction, weight=WEIGHT, label_smoothing=eps).numpy(),
        (1 - eps) * expected + eps / 4 * smooth_part, rtol=1e-13)


def test_classification_gradients_to_second_order():
    labels = np.array([1, -100, 3, 0, 2])
    assert_gradients(lambda z: F.cross_entropy(z, labels, weight=WEIGHT, label_smoothing=0.1), LOGITS)
    assert_gradients(lambda z: F.nll_loss(z, LABELS, "sum", ignore_index=3), log_softmax(LOGITS))
    probs = np.exp(log_softmax(RNG.standard_normal((5, 4))))
    assert_gradients(lambda z, p: F.cross_entropy(z, p, weight=WEIGHT, label_smoothing=0.2),
                     LOGITS, probs)


def test_cross_entropy_without_extras_is_unchanged():
    plain = F.cross_entropy(LOGITS, LABELS).item()
    np.testing.assert_allclose(plain, -log_softmax(LOGITS)[np.arange(5), LABELS].mean(), rtol=1e-14)
    assert F.cross_entropy(LOGITS, LABELS, weight=np.ones(4)).item() == pytest.approx(plain, rel=1e-14)


def test_classification_losses_refuse_bad_labels_and_settings():
    with pytest.raises(ValueError, match="class label 4 is out of range for 4 classes"):
        F.nll_loss(LOGITS, np.array([0, 1, 4, 0, 0]))
    with pytest.raises(ValueError, match="class label -1 is out of range"):
        F.cross_entropy(LOGITS, np.array([0, 1, -1, 0, 0]), weight=WEIGHT)
    with pytest.raises(ValueError, match=r"weight must hold one number per class, shape \(4,\); got shape \(3,\)"):
        F.cross_entropy(LOGITS, LABELS, weight=np.ones(3))
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\], got 1.5"):
        F.cross_entropy(LOGITS, LABELS, label_smoothing=1.5)
    with pytest.raises(TypeError, match="target must hold integer class labels"):
        F.nll_loss(LOGITS, LABELS.astype(float))
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'batchmean'"):
        F.kl_div(LOGITS, LOGITS, "avg")
    with pytest.raises(ValueError, match="delta must be a finite number > 0, got 0"):
        F.huber_loss(PRED, TARGET, delta=0)
    with pytest.raises(ValueError, match=r"prediction of shape \(4, 3\) and target of shape \(3,\)"):
        F.l1_loss(PRED, TARGET[0])


def test_loss_modules_hold_their_settings():
    assert nn.SmoothL1Loss("sum", beta=0.5)(PRED, TARGET).item() == \
        F.smooth_l1_loss(PRED, TARGET, "sum", beta=0.5).item()
    assert nn.NLLLoss(weight=WEIGHT, ignore_index=0)(LOGITS, LABELS).item() == \
        F.nll_loss(LOGITS, LABELS, weight=WEIGHT, ignore_index=0).item()
    assert nn.BCELoss()(np.array([0.3]), np.array([1.0])).item() == pytest.approx(-np.log(0.3))
    assert nn.L1Loss("none")(PRED, TARGET).shape == (4, 3)
    assert repr(nn.KLDivLoss("batchmean")) == "KLDivLoss(reduction='batchmean')"
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.L1Loss("avg")


def test_float32_losses_stay_float32():
    p32 = mg.Tensor(PRED.astype(np.float32), requires_grad=True)
    for loss in (F.l1_loss(p32, TARGET), F.huber_loss(p32, TARGET), F.smooth_l1_loss(p32, TARGET)):
        assert loss.dtype == np.float32


@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       reduction=st.sampled_from(["mean", "sum", "none"]))
def test_elementwise_losses_on_drawn_shapes_are_their_formulas(shape, reduction):
    rng = np.random.default_rng(len(shape))
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    probs, labels01 = rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)
    d = pred - target
    cases = [
        (F.l1_loss(pred, target, reduction), np.abs(d)),
        (F.huber_loss(pred, target, reduction, delta=0.5),
         np.where(np.abs(d) < 0.5, 0.5 * d ** 2, 0.5 * (np.abs(d) - 0.25))),
        (F.binary_cross_entropy(probs, labels01, reduction),
         -(labels01 * np.log(probs) + (1 - labels01) * np.log1p(-probs))),
        (F.kl_div(pred, probs, reduction), probs * (np.log(probs) - pred)),
    ]
    for loss, per in cases:
        assert loss.shape == (() if reduction != "none" else tuple(shape))
        np.testing.assert_allclose(loss.numpy(), reduce(per, reduction), rtol=1e-12)
