"""The quick signature test (a trace's guard) is never looser than the key it stands for.

A guard that said "same key" when the key changed would replay a stale trace:
a silently wrong step. Each change below changes the key; the guard must say
False, and the compiled function must then give what the eager function does.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.compile import CompileError, compile
from minigrad.compile import signature
from minigrad.nn import functional as F


def _setup(momentum=0.0):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Dense(3, 4, activation="relu"), nn.Dropout(0.25), nn.Dense(4, 2))
    opt = mg.optim.SGD(model.parameters(), lr=0.1, momentum=momentum)

    def step(x, y, scale=1.0):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y) * scale
        loss.backward()
        opt.step()
        return loss
    return model, opt, step


def _data(n=5, dtype=np.float64):
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, 3)).astype(dtype), rng.standard_normal((n, 2)).astype(dtype)


def _key_of(compiled, program):
    return next(k for k, p in compiled.programs.items() if p is program)


def _current_key(compiled, args):
    return compiled._key(args, ())


CHANGES = {
    "eval mode": lambda model, opt, args: (model.eval(), args)[1],
    "one .grad cleared": lambda model, opt, args: (setattr(model[0].weight, "grad", None), args)[1],
    "frozen weight": lambda model, opt, args: (setattr(model[2].weight, "requires_grad", False),
                                               args)[1],
    "weight dtype": lambda model, opt, args: (model[2].weight._replace_data(
        model[2].weight._data.astype(np.float32)), args)[1],
    "batch size": lambda model, opt, args: _data(4),
    "argument dtype": lambda model, opt, args: _data(5, np.float32),
    "array instead of tensor": lambda model, opt, args: (args[0]._data, args[1]),
    "same argument twice": lambda model, opt, args: (args[0], args[0]),
    "a scale argument": lambda model, opt, args: args + (2.0,),
    "momentum switched on": lambda model, opt, args: (opt.param_groups[0].update(momentum=0.9),
                                                      args)[1],
    "a new parameter group": lambda model, opt, args: (opt.add_param_group(
        {"params": [nn.Parameter(np.zeros(2))]}), args)[1],
    "a forward hook": lambda model, opt, args: (model[0].register_forward_hook(
        lambda m, i, o: None), args)[1],
    "a tensor hook": lambda model, opt, args: (model[0].bias.register_hook(lambda g: g), args)[1],
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_guard_says_no_whenever_the_key_changes(change):
    model, opt, step = _setup()
    compiled = compile(step)
    x, y = _data()
    args = (mg.Tensor(x), mg.Tensor(y))
    for _ in range(3):   # the first call (no .grad yet) and the later ones are two traces
        compiled(*args)
    program = compiled._last
    assert program.guard is not None and program.guard(args) is True
    assert _key_of(compiled, program) == _current_key(compiled, args)
    new_args = CHANGES[change](model, opt, args)
    assert program.guard(new_args) is False
    try:
        assert _current_key(compiled, new_args) != _key_of(compiled, program)
    except CompileError:   # hooks: the key refuses them
        pass


def test_grad_mode_is_part_of_the_guard():
    model, _, _ = _setup()
    predict = compile(lambda x: model(x))
    x = mg.Tensor(_data()[0])
    with mg.no_grad():
        predict(x)
        predict(x)   # the first replay writes the guard
        assert predict._last.guard((x,)) is True
    assert predict._last.guard((x,)) is False


def test_a_guard_is_only_as_loose_as_its_key_for_plain_and_other_values():
    """Plain values compare by value and type; other hashable values by identity."""
    marker = ("a", 1)
    guard = signature.guard_for((1.5, marker, None), [], [], [])
    assert guard((1.5, marker, None)) is True
    assert guard((1.5, tuple(["a", 1]), None)) is False    # equal but another object: the slow way
    assert guard((1, marker, None)) is False         # 1 == 1.0, but another type
    assert guard((1.5, marker)) is False
    assert guard((2.5, marker, None)) is False


def test_after_each_change_the_compiled_step_trains_like_eager():
    """Compiled and eager runs, both through the same changes between calls, agree."""
    runs = []
    for use_compile in (True, False):
        model, opt, step = _setup()
        fn = compile(step) if use_compile else step
        x, y = _data()
        losses = []
        X, Y = mg.Tensor(x), mg.Tensor(y)
        for i in range(12):
            if i == 4:
                model.eval()
            if i == 6:
                model.train()
                model[0].weight.grad = None
            if i == 8:
                opt.param_groups[0]["momentum"] = 0.9
            if i == 10:
                model[2].weight.requires_grad = False
            losses.append(fn(X, Y).item())
        runs.append((losses, [p.data.copy() for p in model.parameters()]))
    (compiled_losses, compiled_params), (eager_losses, eager_params) = runs
    np.testing.assert_allclose(compiled_losses, eager_losses, rtol=1e-12)
    for a, b in zip(compiled_params, eager_params):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_a_module_and_an_optimizer_passed_as_arguments_are_part_of_the_key():
    """model.eval() or a frozen layer of a model passed in traces again, as for one referred to."""
    def step(model, opt, x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss
    runs = []
    for use_compile in (True, False):
        model, opt, _ = _setup()
        fn = compile(step) if use_compile else step
        X, Y = (mg.Tensor(a) for a in _data())
        losses = []
        for i in range(8):
            if i == 3:
                model.eval()
            if i == 5:
                model[0].weight.requires_grad = False
            if i == 6:
                opt.param_groups[0]["momentum"] = 0.5
            losses.append(fn(model, opt, X, Y).item())
        runs.append(losses)
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-12)
    assert runs[0][2] != runs[0][3]   # (eval mode changed the loss: Dropout is off)


MUTATIONS = {
    "eval": lambda model, opt: model.eval(),
    "train": lambda model, opt: model.train(),
    "clear a grad": lambda model, opt: setattr(model[2].bias, "grad", None),
    "freeze": lambda model, opt: setattr(model[0].weight, "requires_grad", False),
    "unfreeze": lambda model, opt: setattr(model[0].weight, "requires_grad", True),
    "momentum": lambda model, opt: opt.param_groups[0].update(momentum=0.5),
    "no momentum": lambda model, opt: opt.param_groups[0].update(momentum=0.0),
    "nothing": lambda model, opt: None,
}


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(MUTATIONS)), st.sampled_from([5, 3]),
                          st.booleans()), min_size=1, max_size=10))
def test_any_sequence_of_changes_replays_only_matching_traces(changes):
    """Whenever the guard of the trace run last says yes, the call's key is that trace's key;
    and the compiled run equals the eager run through the same changes."""
    runs = []
    for use_compile in (True, False):
        model, opt, step = _setup()
        fn = compile(step) if use_compile else step
        losses = []
        for change, rows, as_tensor in changes:
            MUTATIONS[change](model, opt)
            x, y = _data(rows)
            args = (mg.Tensor(x), mg.Tensor(y)) if as_tensor else (x, y)
            if use_compile and fn._last is not None and fn._last.guard is not None \
                    and fn._last.guard(args):
                assert _current_key(fn, args) == _key_of(fn, fn._last)
            losses.append(fn(*args).item())
        runs.append(losses + [p.data.copy() for p in model.parameters()])
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
