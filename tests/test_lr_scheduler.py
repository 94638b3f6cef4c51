"""optim.lr_scheduler: each schedule against its formula written out, and against torch's sequence."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.optim import SGD, lr_scheduler as S

EPOCHS = 30


def optimizer(cls=SGD, lrs=(0.1, 0.02), **settings):
    """An optimizer with one parameter group per learning rate."""
    groups = [{"params": [nn.Parameter(np.zeros(2))], "lr": lr} for lr in lrs]
    return cls(groups, **settings)


def sequence(scheduler, epochs=EPOCHS, metrics=None):
    """get_last_lr() after construction, then after each step."""
    rates = [scheduler.get_last_lr()]
    for epoch in range(epochs):
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
        rates.append(scheduler.get_last_lr())
    return rates


def one_cycle_rate(base, step, total, pct=0.3, div=25.0, final_div=1e4):
    """OneCycleLR's two-phase cosine schedule, written out from the paper's description."""
    start, top = base / div, base
    low = start / final_div
    up = pct * total - 1
    def cos(a, b, x):
        return b + (a - b) / 2 * (1 + math.cos(math.pi * x))
    if step <= up:
        return cos(start, top, step / up)
    return cos(top, low, (step - up) / (total - 1 - up))


CLOSED_FORMS = [   # (make scheduler, rate of group with base lr b at epoch t)
    (lambda o: S.StepLR(o, step_size=4, gamma=0.5), lambda b, t: b * 0.5 ** (t // 4)),
    (lambda o: S.MultiStepLR(o, milestones=[3, 8, 8, 20], gamma=0.3),
     lambda b, t: b * 0.3 ** sum(t >= m for m in (3, 8, 8, 20))),
    (lambda o: S.ExponentialLR(o, gamma=0.9), lambda b, t: b * 0.9 ** t),
    (lambda o: S.CosineAnnealingLR(o, T_max=EPOCHS, eta_min=0.001),
     lambda b, t: 0.001 + (b - 0.001) * (1 + math.cos(math.pi * t / EPOCHS)) / 2),
    (lambda o: S.CosineAnnealingLR(o, T_max=10),                  # past T_max: back up again
     lambda b, t: b * (1 + math.cos(math.pi * t / 10)) / 2),
    (lambda o: S.LambdaLR(o, lambda t: 1 / (1 + t)), lambda b, t: b / (1 + t)),
    (lambda o: S.LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=10),
     lambda b, t: b * (0.25 + 0.5 * min(t, 10) / 10)),
    (lambda o: S.OneCycleLR(o, max_lr=[0.1, 0.02], total_steps=EPOCHS + 1),
     lambda b, t: one_cycle_rate(b, t, EPOCHS + 1)),
]


@pytest.mark.parametrize("make, formula", CLOSED_FORMS)
def test_each_schedule_follows_its_formula(make, formula):
    rates = sequence(make(optimizer()))
    for t, pair in enumerate(rates):
        for base, rate in zip((0.1, 0.02), pair):
            assert rate == pytest.approx(formula(base, t), rel=1e-12, abs=1e-15)


TORCH_CASES = [   # (scheduler name, keyword arguments, optimizer, its settings, epochs)
    ("StepLR", dict(step_size=4, gamma=0.5), "SGD", {}, EPOCHS),
    ("MultiStepLR", dict(milestones=[3, 8, 8, 20], gamma=0.3), "SGD", {}, EPOCHS),
    ("ExponentialLR", dict(gamma=0.9), "SGD", {}, EPOCHS),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001), "SGD", {}, EPOCHS),
    ("CosineAnnealingLR", dict(T_max=EPOCHS), "Adam", {}, EPOCHS),
    ("LambdaLR", dict(lr_lambda=lambda t: 0.95 ** t), "SGD", {}, EPOCHS),
    ("LinearLR", dict(), "SGD", {}, EPOCHS),
    ("LinearLR", dict(start_factor=0.5, end_factor=0.1, total_iters=12), "SGD", {}, EPOCHS),
    ("OneCycleLR", dict(max_lr=[0.5, 0.05], total_steps=EPOCHS + 1), "SGD", dict(momentum=0.9),
     EPOCHS),
    ("OneCycleLR", dict(max_lr=0.3, epochs=5, steps_per_epoch=7, anneal_strategy="linear",
                        three_phase=True), "Adam", {}, 34),
    ("ReduceLROnPlateau", dict(patience=2, factor=0.5, cooldown=1, min_lr=[0.01, 0.0]), "SGD",
     {}, EPOCHS),
    ("ReduceLROnPlateau", dict(mode="max", threshold=0.1, threshold_mode="abs", patience=0),
     "Adam", {}, EPOCHS),
]
METRICS = [1.0, 0.9, 0.95, 0.97, 0.96, 0.8, 0.81, 0.82, 0.83, 0.84] * 3


@pytest.mark.parametrize("name, kwargs, optimizer_name, settings, epochs", TORCH_CASES)
def test_each_schedule_gives_torchs_learning_rates(name, kwargs, optimizer_name, settings, epochs):
    torch = pytest.importorskip("torch")
    metrics = METRICS if name == "ReduceLROnPlateau" else None
    ours = optimizer(getattr(mg.optim, optimizer_name), **settings)
    got = sequence(getattr(S, name)(ours, **kwargs), epochs, metrics)
    theirs = getattr(torch.optim, optimizer_name)(
        [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in (0.1, 0.02)],
        **settings)
    reference = getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs)
    expected = [reference.get_last_lr()]
    for epoch in range(epochs):
        theirs.step()
        reference.step(*([metrics[epoch]] if metrics else []))
        expected.append(reference.get_last_lr())
    np.testing.assert_allclose(np.array(got, dtype=float), np.array(expected, dtype=float),
                               rtol=1e-12, atol=0)
    for mine, other in zip(ours.param_groups, theirs.param_groups):   # OneCycle's momentum too
        for key in ("momentum", "betas"):
            if key in mine:
                np.testing.assert_allclose(mine[key], other[key], rtol=1e-12)


@pytest.mark.parametrize("name, kwargs, optimizer_name, settings, epochs", TORCH_CASES)
def test_a_schedule_saved_mid_run_with_its_optimizer_resumes_identically(
        name, kwargs, optimizer_name, settings, epochs, tmp_path):
    metrics = METRICS if name == "ReduceLROnPlateau" else None
    cls = getattr(mg.optim, optimizer_name)
    first = optimizer(cls, **settings)
    scheduler = getattr(S, name)(first, **kwargs)
    sequence(scheduler, 7, metrics)
    mg.save({"optimizer": first.state_dict(), "scheduler": scheduler.state_dict()},
            tmp_path / "checkpoint.npz")
    rest = sequence(scheduler, epochs - 7, metrics[7:] if metrics else None)

    second = optimizer(cls, lrs=(5.0, 5.0), **settings)
    resumed = getattr(S, name)(second, **kwargs)     # as PyTorch: scheduler, then both states
    checkpoint = mg.load(tmp_path / "checkpoint.npz")
    second.load_state_dict(checkpoint["optimizer"])
    resumed.load_state_dict(checkpoint["scheduler"])
    assert sequence(resumed, epochs - 7, metrics[7:] if metrics else None) == rest
    assert second.state_dict()["param_groups"] == first.state_dict()["param_groups"]


def test_a_rate_changed_by_hand_carries_on_as_in_pytorch():
    o = optimizer(lrs=(0.1,))
    scheduler = S.StepLR(o, step_size=2, gamma=0.5)
    scheduler.step()
    o.lr = 1.0                          # chainable: the next decay starts from here
    scheduler.step()
    assert scheduler.get_last_lr() == [0.5]


@pytest.mark.parametrize("make, error, message", [
    (lambda o: S.StepLR("sgd", step_size=2), TypeError, "StepLR takes an optimizer.*not a str"),
    (lambda o: S.ReduceLROnPlateau(o.param_groups), TypeError, "takes an optimizer.*not a list"),
    (lambda o: S.StepLR(o, step_size=0), ValueError, "step_size must be an integer >= 1"),
    (lambda o: S.StepLR(o, step_size=2.5), TypeError, "step_size must be an integer"),
    (lambda o: S.MultiStepLR(o, milestones=[2, -1]), ValueError, "a milestone must be"),
    (lambda o: S.ExponentialLR(o, gamma=float("nan")), ValueError, "gamma must be a finite"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: S.LambdaLR(o, [lambda t: 1]), ValueError, "lr_lambda has 1 values"),
    (lambda o: S.LambdaLR(o, 0.5), TypeError, "lr_lambda must be a function"),
    (lambda o: S.LinearLR(o, start_factor=0), ValueError, r"start_factor must be in \(0, 1\]"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1), ValueError, "give total_steps"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, max_momentum=-1), ValueError,
     "momentum must be in"),
    (lambda o: S.OneCycleLR(o, max_lr=[0.1], total_steps=10), ValueError, "max_lr has 1 values"),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), ValueError, r"factor must be in \[0, 1\)"),
    (lambda o: S.ReduceLROnPlateau(o, mode="lowest"), ValueError, "mode must be 'min' or 'max'"),
    (lambda o: S.StepLR(o, step_size=2, last_epoch=3), ValueError, "needs 'initial_lr'"),
])
def test_bad_arguments_are_refused_before_the_optimizer_changes(make, error, message):
    o = optimizer()
    before = [dict(g) for g in o.param_groups]
    with pytest.raises(error, match=message):
        make(o)
    assert [dict(g) for g in o.param_groups] == before


def test_misuse_after_construction_changes_nothing():
    o = optimizer()
    cycle = S.OneCycleLR(o, max_lr=0.1, total_steps=3)
    sequence(cycle, 3)
    before = [dict(g) for g in o.param_groups]
    with pytest.raises(ValueError, match="tried to step 4 times; total_steps is 3"):
        cycle.step()
    assert [dict(g) for g in o.param_groups] == before
    plateau = S.ReduceLROnPlateau(o)
    with pytest.raises(ValueError, match="NaN metric"):
        plateau.step(float("nan"))
    with pytest.raises(ValueError, match="unexpected keys \\['bogus'\\]"):
        plateau.load_state_dict(dict(plateau.state_dict(), bogus=1))
    assert plateau.last_epoch == 0 and [dict(g) for g in o.param_groups] == before
