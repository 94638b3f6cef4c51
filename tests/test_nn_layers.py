"""Convolution, pooling, normalisation, embedding and the new activations: values against their
formulas written out in NumPy, gradients of first and (where smooth) second order against finite
differences, hypothesis-drawn shapes, and bad input refused before any state changes."""
import math

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import minigrad as mg
from minigrad import nn
import minigrad.nn.functional as F
from minigrad.testing import assert_gradients, assert_values

RNG = np.random.default_rng(1)


# -- NumPy references, written out loop by loop ----------------------------------------------

def conv2d_reference(x, w, b, stride, padding, dilation):
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, hp, wp = xp.shape
    o, _, kh, kw = w.shape
    oh = (hp - dh * (kh - 1) - 1) // sh + 1
    ow = (wp - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    return out if b is None else out + b[:, None, None]


def pool_reference(x, k, s, p, reduce, fill):
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    oh, ow = (xp.shape[2] - k) // s + 1, (xp.shape[3] - k) // s + 1
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = reduce(xp[:, :, i * s:i * s + k, j * s:j * s + k], axis=(2, 3))
    return out


conv_cases = st.tuples(
    st.integers(1, 2), st.integers(1, 3), st.integers(1, 3),       # N, C_in, C_out
    st.integers(1, 3), st.integers(1, 3),                           # kh, kw
    st.integers(1, 2), st.integers(0, 2), st.integers(1, 2),        # stride, padding, dilation
    st.booleans())


@settings(max_examples=15, deadline=None)
@given(conv_cases)
def test_conv2d_is_its_formula_and_its_gradients_are_right_to_second_order(case):
    n, c, o, kh, kw, stride, padding, dilation, bias = case
    h, w = dilation * (kh - 1) + 2, dilation * (kw - 1) + 3          # every window fits
    x = RNG.standard_normal((n, c, h, w))
    weight = RNG.standard_normal((o, c, kh, kw))
    b = RNG.standard_normal(o) if bias else None
    settings_ = dict(stride=stride, padding=padding, dilation=dilation)
    pairs = {k: (v, v) for k, v in settings_.items()}
    assert_values(lambda x, w, b: F.conv2d(x, w, b, **settings_),
                  lambda x, w, b: conv2d_reference(x, w, b, **pairs),
                  mg.Tensor(x), mg.Tensor(weight), None if b is None else mg.Tensor(b),
                  rtol=1e-10, atol=1e-12)
    inputs = (x, weight) + ((b,) if bias else ())
    assert_gradients(lambda x, w, *b: F.conv2d(x, w, *b, **settings_), *inputs)


def test_conv1d_is_conv2d_on_a_row():
    x, w, b = RNG.standard_normal((2, 3, 9)), RNG.standard_normal((4, 3, 3)), RNG.standard_normal(4)
    expected = conv2d_reference(x[:, :, None], w[:, :, None], b, (1, 2), (0, 1), (1, 2))[:, :, 0]
    out = F.conv1d(mg.Tensor(x), w, b, stride=2, padding=1, dilation=2)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert_gradients(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2), x, w, b)


def test_conv2d_float32_in_float32_out():
    conv = nn.Conv2d(2, 3, 3, padding=1, dtype=np.float32)
    x = mg.Tensor(RNG.standard_normal((2, 2, 5, 5)).astype(np.float32), requires_grad=True)
    out = conv(x)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
    assert conv.weight.grad.dtype == np.float32


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 1, 1), (3, 2, 1), (2, 1, 0)])
def test_max_and_avg_pool_are_their_formulas_with_right_gradients(k, s, p):
    # distinct values, so every window's maximum is unique and the derivative defined
    x = RNG.permutation(2 * 3 * 6 * 6).reshape(2, 3, 6, 6) / 7.0
    np.testing.assert_array_equal(F.max_pool2d(x, k, s, p).numpy(),
                                  pool_reference(x, k, s, p, np.max, -np.inf))
    np.testing.assert_allclose(F.avg_pool2d(x, k, s, p).numpy(),
                               pool_reference(x, k, s, p, np.mean, 0.0), rtol=1e-12)
    assert_gradients(lambda x: F.max_pool2d(x, k, s, p), x, eps=1e-4)
    assert_gradients(lambda x: F.avg_pool2d(x, k, s, p), x)


def test_max_pool_gradient_goes_to_the_maximum_only():
    x = mg.Tensor(np.array([[[[1.0, 5.0], [3.0, 2.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[0, 1], [0, 0]]]])


def test_adaptive_avg_pool_is_the_mean_over_each_block():
    x = RNG.standard_normal((2, 3, 4, 6))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 1).numpy(), x.mean(axis=(2, 3), keepdims=True))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, (2, 3)).numpy(),
                               x.reshape(2, 3, 2, 2, 3, 2).mean(axis=(3, 5)), rtol=1e-12)
    assert_gradients(lambda x: F.adaptive_avg_pool2d(x, (2, 3)), x)
    with pytest.raises(NotImplementedError, match=r"output size \(3, 3\) must divide the input size \(4, 6\)"):
        F.adaptive_avg_pool2d(x, 3)


# -- normalisation ----------------------------------------------------------------------------

def test_batchnorm_training_step_is_the_formula_and_updates_running_stats_as_pytorch():
    bn = nn.BatchNorm2d(3, momentum=0.2)
    bn.weight.data = np.array([1.0, 2.0, -1.0])
    bn.bias.data = np.array([0.0, 0.5, 1.0])
    x = RNG.standard_normal((4, 3, 2, 5)) * 3 + 2
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))
    expected = ((x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
                * bn.weight.data[:, None, None] + bn.bias.data[:, None, None])
    np.testing.assert_allclose(bn(x).numpy(), expected, rtol=1e-10, atol=1e-12)
    count = 4 * 2 * 5
    np.testing.assert_allclose(bn.running_mean, 0.2 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.8 + 0.2 * var * count / (count - 1), rtol=1e-12)
    assert bn.num_batches_tracked == 1
    bn.eval()
    y = RNG.standard_normal((2, 3, 2, 2))
    expected = ((y - bn.running_mean[:, None, None]) / np.sqrt(bn.running_var[:, None, None] + 1e-5)
                * bn.weight.data[:, None, None] + bn.bias.data[:, None, None])
    np.testing.assert_allclose(bn(y).numpy(), expected, rtol=1e-10)
    assert bn.num_batches_tracked == 1            # eval mode changes nothing


def test_batch_norm_and_layer_norm_gradients_to_second_order():
    x = RNG.standard_normal((4, 3, 2))
    w, b = RNG.standard_normal(3), RNG.standard_normal(3)
    assert_gradients(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b)
    ln_w, ln_b = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    assert_gradients(lambda x, w, b: F.layer_norm(x, (3, 2), w, b), x, ln_w, ln_b)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(1, 2))
def test_layer_norm_is_its_formula(shape, k):
    k = min(k, len(shape))
    x = RNG.standard_normal(shape)
    axes = tuple(range(len(shape) - k, len(shape)))
    expected = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
    np.testing.assert_allclose(nn.LayerNorm(tuple(shape[-k:]))(x).numpy(), expected,
                               rtol=1e-10, atol=1e-12)


def test_batchnorm_buffers_are_state_not_parameters_and_load_back():
    bn = nn.BatchNorm1d(2)
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                        "num_batches_tracked"]
    bn(RNG.standard_normal((5, 2)))
    state = bn.state_dict()
    fresh = nn.BatchNorm1d(2)
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.running_mean, bn.running_mean)
    np.testing.assert_array_equal(fresh.running_var, bn.running_var)
    assert fresh.num_batches_tracked == 1 and fresh.num_batches_tracked.dtype == np.int64
    state["running_mean"][0] = 99.0                # the state is a copy
    assert bn.running_mean[0] != 99.0


def test_bad_input_to_batchnorm_is_refused_before_the_running_stats_change():
    bn = nn.BatchNorm2d(3)
    before = {k: v.copy() for k, v in bn.state_dict().items()}
    with pytest.raises(ValueError, match=r"input of shape \(2, 4, 3, 3\) has 4 channels.*num_features=3"):
        bn(RNG.standard_normal((2, 4, 3, 3)))
    with pytest.raises(ValueError, match=r"expected an input of shape \(N, C, H, W\), got shape \(2, 3\)"):
        bn(RNG.standard_normal((2, 3)))
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3, 1, 1\)"):
        bn(RNG.standard_normal((1, 3, 1, 1)))
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    for momentum in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\]"):
            nn.BatchNorm2d(3, momentum=momentum)
    with pytest.raises(ValueError, match="momentum must be a number in"):
        F.batch_norm(RNG.standard_normal((2, 3)), np.zeros(3), np.ones(3), training=True, momentum=2)


def test_conv_and_pool_errors_name_the_values():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"input of shape \(1, 2, 5, 5\) has 2 channels, but the "
                                         r"weight of shape \(4, 3, 3, 3\) expects 3"):
        conv(np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"kernel \(3, 3\).*larger than the padded input \(2, 2\)"):
        conv(np.zeros((1, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"input must have shape \(N, C, H, W\), got shape \(3, 5, 5\)"):
        conv(np.zeros((3, 5, 5)))
    with pytest.raises(NotImplementedError, match="groups=1"):
        nn.Conv2d(4, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"kernel \(5, 5\).*larger than the padded input \(4, 4\)"):
        F.max_pool2d(np.zeros((1, 1, 4, 4)), 5)
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half the kernel"):
        F.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2)
    with pytest.raises(ValueError, match=r"stride must be >= 1, got 0"):
        nn.Conv2d(1, 1, 3, stride=0)


# -- embedding --------------------------------------------------------------------------------

def test_embedding_picks_rows_accumulates_repeats_and_skips_the_padding_row():
    emb = nn.Embedding(5, 2, padding_idx=-1)
    assert emb.padding_idx == 4
    np.testing.assert_array_equal(emb.weight.data[4], [0, 0])
    idx = np.array([[0, 4, 0], [3, 3, 1]])
    out = emb(idx)
    np.testing.assert_array_equal(out.numpy(), emb.weight.data[idx])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [2, 1, 0, 2, 0])
    weight = RNG.standard_normal((5, 2))
    assert_gradients(lambda w: F.embedding(idx, w) ** 2, weight)
    with pytest.raises(ValueError, match=r"index 5 is out of range for an embedding of 5 rows"):
        emb(np.array([0, 5]))
    with pytest.raises(TypeError, match="indices must be integers, got dtype float64"):
        emb(np.array([0.0]))


# -- activations -------------------------------------------------------------------------------

ERF = np.vectorize(math.erf)


@pytest.mark.parametrize("fn, reference", [
    (F.gelu, lambda x: 0.5 * x * (1 + ERF(x / math.sqrt(2)))),
    (lambda x: F.gelu(x, approximate="tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    (F.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    (lambda x: F.elu(x, alpha=0.3), lambda x: np.where(x > 0, x, 0.3 * np.expm1(np.minimum(x, 0)))),
    (F.silu, lambda x: x / (1 + np.exp(-x))),
    (F.softsign, lambda x: x / (1 + np.abs(x))),
    (F.erf, ERF),
])
@settings(max_examples=10, deadline=None)
@given(shape=st.lists(st.integers(1, 4), max_size=2))
def test_activation_is_its_formula_with_gradients_to_second_order(fn, reference, shape):
    x = RNG.uniform(-4, 4, size=shape)
    x[np.abs(x) < 0.05] = 0.5                      # away from ELU's and Softsign's kink
    assert_values(fn, reference, mg.Tensor(x), rtol=1e-14, atol=1e-15)
    assert_gradients(fn, x)


def test_erf_matches_math_erf_to_the_last_bits_and_keeps_float32():
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, 1e-300, -1e-20, 30.0, -np.inf, np.inf]])
    np.testing.assert_allclose(F.erf(x).numpy(), ERF(x), rtol=5e-16, atol=0)
    assert F.erf(np.float32([0.5])).dtype == np.float32
    assert np.isnan(F.erf(np.array([np.nan])).numpy()[0])


def test_elu_does_not_overflow_for_large_inputs():
    x = mg.Tensor([1000.0, -1000.0], requires_grad=True)
    g, = mg.grad(F.elu(x).sum(), [x], create_graph=True)
    g.sum().backward()
    assert np.isfinite(x.grad).all() and np.isfinite(g.numpy()).all()


def test_pad_puts_pytorchs_order_last_axis_first():
    x = RNG.standard_normal((2, 3))
    out = F.pad(x, (1, 2, 0, 1), value=7.0)
    expected = np.pad(x, ((0, 1), (1, 2)), constant_values=7.0)
    np.testing.assert_array_equal(out.numpy(), expected)
    assert_gradients(lambda x: F.pad(x, (1, 2, 0, 1)) ** 2, x)


def test_a_float32_cnn_computes_and_keeps_state_in_float32():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.GELU(),
                          nn.MaxPool2d(2), nn.AvgPool2d(2), nn.Flatten(), nn.LayerNorm(16),
                          nn.ELU(), nn.SiLU(), nn.Linear(16, 3)).float()
    out = model(RNG.random((5, 1, 8, 8)))          # float64 data is cast to the model's dtype
    assert out.dtype == np.float32
    F.cross_entropy(out, np.arange(5) % 3, weight=[1.0, 2.0, 3.0], label_smoothing=0.1).backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    assert model[1].running_mean.dtype == model[1].running_var.dtype == np.float32
