"""The new layers and losses against PyTorch: same weights (through state_dict), same outputs and
gradients in float64 to 1e-10. Skipped where torch is not installed (CI)."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
import minigrad.nn.functional as F

torch = pytest.importorskip("torch")
tnn, TF = torch.nn, torch.nn.functional

TOL = dict(rtol=1e-10, atol=1e-10)
RNG = np.random.default_rng(0)


def t64(array, grad=False):
    return torch.tensor(np.asarray(array), dtype=torch.float64, requires_grad=grad)


def load_into_torch(ours, theirs):
    """Our state_dict into the torch module (which must accept every key)."""
    theirs.double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})


def compare_module(ours, theirs, x, train=True):
    """Forward and backward of a random projection of the output, ours and torch's, compared."""
    load_into_torch(ours, theirs)
    ours.train(train)
    theirs.train(train)
    xm = mg.Tensor(x, requires_grad=True)
    xt = t64(x, grad=True)
    out_m, out_t = ours(xm), theirs(xt)
    np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), **TOL)
    v = RNG.standard_normal(out_t.shape)
    (out_m * v).sum().backward()
    (out_t * t64(v)).sum().backward()
    np.testing.assert_allclose(xm.grad, xt.grad.numpy(), **TOL)
    params_t = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad, params_t[name].grad.numpy(), **TOL, err_msg=name)
    state_t = theirs.state_dict()
    for key, value in ours.state_dict().items():   # buffers too (BatchNorm's running statistics)
        np.testing.assert_allclose(value, state_t[key].numpy(), **TOL, err_msg=key)


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1), dict(padding=(2, 1), dilation=2),
                                    dict(stride=(1, 2), bias=False)])
def test_conv2d_matches_torch(kwargs):
    ours = nn.Conv2d(3, 4, (3, 2), **kwargs)
    compare_module(ours, tnn.Conv2d(3, 4, (3, 2), **kwargs), RNG.standard_normal((2, 3, 7, 6)))


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=2, dilation=2)])
def test_conv1d_matches_torch(kwargs):
    compare_module(nn.Conv1d(2, 3, 3, **kwargs), tnn.Conv1d(2, 3, 3, **kwargs),
                   RNG.standard_normal((2, 2, 9)))


def test_linear_matches_torch_and_torch_weights_load():
    compare_module(nn.Linear(5, 3), tnn.Linear(5, 3), RNG.standard_normal((4, 5)))


@pytest.mark.parametrize("ours, theirs", [
    (lambda: nn.MaxPool2d(2), lambda: tnn.MaxPool2d(2)),
    (lambda: nn.MaxPool2d(3, stride=2, padding=1), lambda: tnn.MaxPool2d(3, stride=2, padding=1)),
    (lambda: nn.MaxPool2d(2, stride=1, dilation=2), lambda: tnn.MaxPool2d(2, stride=1, dilation=2)),
    (lambda: nn.AvgPool2d(2), lambda: tnn.AvgPool2d(2)),
    (lambda: nn.AvgPool2d(3, stride=2, padding=1), lambda: tnn.AvgPool2d(3, stride=2, padding=1)),
    (lambda: nn.AdaptiveAvgPool2d((1, 1)), lambda: tnn.AdaptiveAvgPool2d((1, 1))),
    (lambda: nn.AdaptiveAvgPool2d(3), lambda: tnn.AdaptiveAvgPool2d(3)),
])
def test_pooling_matches_torch(ours, theirs):
    compare_module(ours(), theirs(), RNG.standard_normal((2, 3, 6, 6)))


@pytest.mark.parametrize("momentum", [0.1, 0.7, None])
def test_batchnorm2d_matches_torch_over_steps_then_in_eval(momentum):
    ours, theirs = nn.BatchNorm2d(3, momentum=momentum), tnn.BatchNorm2d(3, momentum=momentum)
    ours.weight.data = RNG.standard_normal(3)
    ours.bias.data = RNG.standard_normal(3)
    for _ in range(3):   # the running statistics follow torch's step after step
        x = RNG.standard_normal((4, 3, 3, 2)) * 2 + 1
        compare_module(ours, theirs, x) if _ == 0 else _train_step_both(ours, theirs, x)
    compare_module(ours, theirs, RNG.standard_normal((4, 3, 3, 2)), train=False)


def _train_step_both(ours, theirs, x):
    ours.train(), theirs.train()
    np.testing.assert_allclose(ours(x).numpy(), theirs(t64(x)).detach().numpy(), **TOL)
    state_t = theirs.state_dict()
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value, state_t[key].numpy(), **TOL, err_msg=key)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6)])
def test_batchnorm1d_matches_torch(shape):
    compare_module(nn.BatchNorm1d(3), tnn.BatchNorm1d(3), RNG.standard_normal(shape))
    compare_module(nn.BatchNorm1d(3, affine=False, track_running_stats=False),
                   tnn.BatchNorm1d(3, affine=False, track_running_stats=False),
                   RNG.standard_normal(shape))


def test_batchnorm_state_dict_keys_are_torchs():
    assert list(nn.BatchNorm2d(3).state_dict()) == list(tnn.BatchNorm2d(3).state_dict())


@pytest.mark.parametrize("shape", [4, (3, 4)])
def test_layernorm_matches_torch(shape):
    ours, theirs = nn.LayerNorm(shape), tnn.LayerNorm(shape)
    ours.weight.data = RNG.standard_normal(ours.weight.shape)
    ours.bias.data = RNG.standard_normal(ours.bias.shape)
    compare_module(ours, theirs, RNG.standard_normal((2, 3, 4)))


def test_embedding_matches_torch_with_padding_idx():
    ours, theirs = nn.Embedding(6, 3, padding_idx=1), tnn.Embedding(6, 3, padding_idx=1)
    load_into_torch(ours, theirs)
    idx = np.array([[0, 1, 2], [1, 5, 0]])
    out_m, out_t = ours(idx), theirs(torch.tensor(idx))
    np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), **TOL)
    v = RNG.standard_normal(out_t.shape)
    (out_m * v).sum().backward()
    (out_t * t64(v)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), **TOL)


@pytest.mark.parametrize("ours, theirs", [
    (nn.GELU(), tnn.GELU()), (nn.GELU("tanh"), tnn.GELU("tanh")), (nn.ELU(), tnn.ELU()),
    (nn.ELU(0.5), tnn.ELU(0.5)), (nn.SiLU(), tnn.SiLU()), (nn.Softsign(), tnn.Softsign()),
    (nn.LogSoftmax(axis=1), tnn.LogSoftmax(dim=1)),
])
def test_activations_match_torch_to_second_order(ours, theirs):
    x = RNG.standard_normal((3, 4)) * 3
    compare_module(ours, theirs, x)
    xm, xt = mg.Tensor(x, requires_grad=True), t64(x, grad=True)
    gm, = mg.grad(ours(xm).sum(), [xm], create_graph=True)
    gt, = torch.autograd.grad(theirs(xt).sum(), xt, create_graph=True)
    np.testing.assert_allclose(gm.numpy(), gt.detach().numpy(), **TOL)
    v = RNG.standard_normal(x.shape)
    (gm * v).sum().backward()
    (gt * t64(v)).sum().backward()
    np.testing.assert_allclose(xm.grad, xt.grad.numpy(), **TOL)



def test_flatten_matches_torch():
    compare_module(nn.Flatten(), tnn.Flatten(), RNG.standard_normal((2, 3, 2, 2)))
    compare_module(nn.Flatten(0, 1), tnn.Flatten(0, 1), RNG.standard_normal((2, 3, 2, 2)))


LOGITS = RNG.standard_normal((6, 4))
LABELS = np.array([0, 3, 1, -100, 2, 3])
WEIGHT = np.array([0.5, 2.0, 1.0, 0.25])


def _loss_pair(ours, theirs, inputs, targets, grad_target=False):
    xm = mg.Tensor(inputs, requires_grad=True)
    xt = t64(inputs, grad=True)
    floating = np.asarray(targets).dtype.kind == "f"
    tm = mg.Tensor(targets, requires_grad=grad_target) if floating else targets
    tt = t64(targets, grad=grad_target) if floating else torch.tensor(targets)
    lm, lt = ours(xm, tm), theirs(xt, tt)
    np.testing.assert_allclose(lm.numpy(), lt.detach().numpy(), **TOL)
    v = RNG.standard_normal(lt.shape)
    (lm * v).sum().backward()
    (lt * t64(v)).sum().backward()
    np.testing.assert_allclose(xm.grad, xt.grad.numpy(), **TOL)
    if grad_target:
        np.testing.assert_allclose(tm.grad, tt.grad.numpy(), **TOL)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, WEIGHT])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_weight_ignore_index_smoothing_match_torch(reduction, weight, smoothing):
    _loss_pair(lambda x, y: F.cross_entropy(x, y, reduction, weight=weight,
                                            label_smoothing=smoothing),
               lambda x, y: TF.cross_entropy(x, y, None if weight is None else t64(weight),
                                             reduction=reduction, label_smoothing=smoothing),
               LOGITS, LABELS)


@pytest.mark.parametrize("weight", [None, WEIGHT])
def test_cross_entropy_probability_targets_with_smoothing_match_torch(weight):
    probs = np.exp(RNG.standard_normal((6, 4)))
    probs /= probs.sum(axis=1, keepdims=True)
    _loss_pair(lambda x, y: F.cross_entropy(x, y, weight=weight, label_smoothing=0.1),
               lambda x, y: TF.cross_entropy(x, y, None if weight is None else t64(weight),
                                             label_smoothing=0.1), LOGITS, probs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_matches_torch(reduction):
    log_probs = LOGITS - np.log(np.exp(LOGITS).sum(axis=1, keepdims=True))
    _loss_pair(lambda x, y: F.nll_loss(x, y, reduction, weight=WEIGHT, ignore_index=3),
               lambda x, y: TF.nll_loss(x, y, t64(WEIGHT), ignore_index=3, reduction=reduction),
               log_probs, np.array([0, 3, 1, 2, 2, 1]))


PRED = RNG.standard_normal((5, 3)) * 2
TARGET = RNG.standard_normal((5, 3)) * 2


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ours, theirs", [
    (F.l1_loss, TF.l1_loss),
    (lambda x, y, r: F.smooth_l1_loss(x, y, r, beta=0.7),
     lambda x, y, reduction: TF.smooth_l1_loss(x, y, reduction=reduction, beta=0.7)),
    (lambda x, y, r: F.smooth_l1_loss(x, y, r, beta=0.0),
     lambda x, y, reduction: TF.smooth_l1_loss(x, y, reduction=reduction, beta=0.0)),
    (lambda x, y, r: F.huber_loss(x, y, r, delta=1.5),
     lambda x, y, reduction: TF.huber_loss(x, y, reduction=reduction, delta=1.5)),
])
def test_regression_losses_match_torch(reduction, ours, theirs):
    _loss_pair(lambda x, y: ours(x, y, reduction), lambda x, y: theirs(x, y, reduction=reduction),
               PRED, TARGET, grad_target=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_matches_torch_including_clamped_ends(reduction):
    probs = np.array([[0.2, 0.9, 0.5], [0.01, 0.7, 0.999]])
    target = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 0.5]])
    weight = np.array([1.0, 2.0, 0.5])
    _loss_pair(lambda x, y: F.binary_cross_entropy(x, y, reduction, weight=weight),
               lambda x, y: TF.binary_cross_entropy(x, y, t64(weight), reduction=reduction),
               probs, target, grad_target=True)
    ends = np.array([0.0, 1.0, 0.0, 1.0])   # log clamped at -100: finite, as torch's
    y = np.array([1.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(F.binary_cross_entropy(ends, y, reduction).numpy(),
                               TF.binary_cross_entropy(t64(ends), t64(y), reduction=reduction).numpy())


@pytest.mark.filterwarnings("ignore:reduction. .mean. divides")
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    log_q = LOGITS - np.log(np.exp(LOGITS).sum(axis=1, keepdims=True))
    p = np.exp(RNG.standard_normal((6, 4)))
    p /= p.sum(axis=1, keepdims=True)
    target = np.log(p) if log_target else p
    _loss_pair(lambda x, y: F.kl_div(x, y, reduction, log_target=log_target),
               lambda x, y: TF.kl_div(x, y, reduction=reduction, log_target=log_target),
               log_q, target, grad_target=True)


def test_module_losses_match_their_functions():
    x = mg.Tensor(LOGITS)
    assert nn.CrossEntropyLoss(weight=WEIGHT, label_smoothing=0.1)(x, LABELS).item() == \
        pytest.approx(TF.cross_entropy(t64(LOGITS), torch.tensor(LABELS), t64(WEIGHT),
                                       label_smoothing=0.1).item(), rel=1e-12)
    assert nn.HuberLoss(delta=0.5)(PRED, TARGET).item() == \
        pytest.approx(TF.huber_loss(t64(PRED), t64(TARGET), delta=0.5).item(), rel=1e-12)
    assert nn.KLDivLoss("batchmean")(x, np.full((6, 4), 0.25)).item() == pytest.approx(
        TF.kl_div(t64(LOGITS), t64(np.full((6, 4), 0.25)), reduction="batchmean").item(), rel=1e-12)


def test_init_formulas_match_torchs_bounds_and_gains():
    for name, param in [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", 0.2),
                        ("selu", None), ("sigmoid", None), ("conv2d", None)]:
        assert nn.init.calculate_gain(name, param) == pytest.approx(
            tnn.init.calculate_gain(name, param), rel=1e-15)


def test_a_whole_cnn_moves_to_torch_through_its_state_dict():
    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6), nn.GELU(),
                         nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LayerNorm(6),
                         nn.Linear(6, 3))
    theirs = tnn.Sequential(tnn.Conv2d(1, 4, 3, padding=1), tnn.BatchNorm2d(4), tnn.ReLU(),
                            tnn.MaxPool2d(2), tnn.Conv2d(4, 6, 3, padding=1), tnn.BatchNorm2d(6),
                            tnn.GELU(), tnn.AdaptiveAvgPool2d((1, 1)), tnn.Flatten(),
                            tnn.LayerNorm(6), tnn.Linear(6, 3))
    ours(RNG.standard_normal((8, 1, 8, 8)))      # a training step moves the running statistics
    compare_module(ours, theirs, RNG.standard_normal((5, 1, 8, 8)))
    compare_module(ours, theirs, RNG.standard_normal((5, 1, 8, 8)), train=False)


def _second_order_pair(ours, theirs, *arrays, tol=TOL):
    """d/dx of <v, d loss/dx> for every input, ours and torch's (create_graph), compared."""
    ms = [mg.Tensor(a, requires_grad=True) for a in arrays]
    ts = [t64(a, grad=True) for a in arrays]
    grads_m = mg.grad(ours(*ms), ms, create_graph=True)
    grads_t = torch.autograd.grad(theirs(*ts), ts, create_graph=True)
    vs = [RNG.standard_normal(a.shape) for a in arrays]
    sum(((g * v).sum() for g, v in zip(grads_m, vs)), start=mg.Tensor(0.0)).backward()
    sum((g * t64(v)).sum() for g, v in zip(grads_t, vs)).backward()
    for m, t in zip(ms, ts):
        np.testing.assert_allclose(m.grad, t.grad.numpy(), **tol)


def test_second_derivatives_of_conv_norms_and_losses_match_torch():
    x, w, b = RNG.standard_normal((2, 2, 5, 5)), RNG.standard_normal((3, 2, 3, 3)), RNG.standard_normal(3)
    _second_order_pair(lambda x, w, b: (F.conv2d(x, w, b, stride=2, padding=1) ** 2).sum(),
                       lambda x, w, b: (TF.conv2d(x, w, b, stride=2, padding=1) ** 2).sum(), x, w, b)
    _second_order_pair(lambda x, w: (F.conv1d(x, w, dilation=2) ** 3).sum(),
                       lambda x, w: (TF.conv1d(x, w, dilation=2) ** 3).sum(),
                       RNG.standard_normal((2, 2, 7)), RNG.standard_normal((3, 2, 2)))
    g, h = RNG.standard_normal(3), RNG.standard_normal(3)
    _second_order_pair(lambda x, g, h: (F.batch_norm(x, None, None, g, h, training=True) ** 3).sum(),
                       lambda x, g, h: (TF.batch_norm(x, None, None, g, h, training=True) ** 3).sum(),
                       RNG.standard_normal((4, 3, 2)), g, h)
    _second_order_pair(lambda x: (F.layer_norm(x, (4,)) ** 3).sum(),
                       lambda x: (TF.layer_norm(x, (4,)) ** 3).sum(), RNG.standard_normal((3, 4)))
    _second_order_pair(lambda x: (F.avg_pool2d(x, 2, 1) ** 3).sum(),
                       lambda x: (TF.avg_pool2d(x, 2, 1) ** 3).sum(), RNG.standard_normal((1, 2, 4, 4)))
    probs = np.exp(RNG.standard_normal((6, 4)))
    probs /= probs.sum(axis=1, keepdims=True)
    _second_order_pair(
        lambda z: F.cross_entropy(z, LABELS, weight=WEIGHT, label_smoothing=0.2),
        lambda z: TF.cross_entropy(z, torch.tensor(LABELS), t64(WEIGHT), label_smoothing=0.2), LOGITS)
    _second_order_pair(lambda z, p: F.kl_div(F.log_softmax(z), p, "batchmean"),
                       lambda z, p: TF.kl_div(TF.log_softmax(z, 1), p, reduction="batchmean"),
                       LOGITS, probs)
    _second_order_pair(lambda p, y: F.huber_loss(p, y, delta=1.5) * 3,
                       lambda p, y: TF.huber_loss(p, y, delta=1.5) * 3, PRED, TARGET)
    _second_order_pair(lambda p, y: F.binary_cross_entropy(p, y, "sum"),
                       lambda p, y: TF.binary_cross_entropy(p, y, reduction="sum"),
                       RNG.uniform(0.1, 0.9, (3, 2)), RNG.uniform(0, 1, (3, 2)),
                       # terms of size 1/p^2 cancel here: the two formulas round differently
                       tol=dict(rtol=1e-10, atol=1e-8))
