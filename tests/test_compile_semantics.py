"""minigrad.compile: ops with several outputs, and reads of a traced tensor's values.

A user's Function whose forward returns a tuple is replayed like any op: the
compiled run gives the eager run's numbers step after step (the expected
numbers are always the eager run's). `.data`, `.numpy()`, `np.asarray(t)`,
`float()` and `int()` of a tensor the trace tracks are refused with an error
that says the value would be frozen and what to do instead, while minigrad's
own code inside the step (a loss reading its labels) keeps working.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad import testing as mgt
from minigrad.compile import CompileError, compile
from minigrad.nn import functional as F


class SplitHalves(mg.Function):
    """(first half, second half) of the last axis: two differentiable outputs, views of x."""

    @staticmethod
    def forward(ctx, x):
        n = x.shape[-1] // 2
        return x[..., :n], x[..., n:]

    @staticmethod
    def backward(ctx, g_first, g_second):
        return np.concatenate([g_first, g_second], axis=-1)


class MaxWithIndex(mg.Function):
    """(max over the last axis, its index), as torch.max(x, dim): the index gets no gradient."""

    @staticmethod
    def forward(ctx, x):
        index = x.argmax(axis=-1)
        values = np.take_along_axis(x, index[..., None], axis=-1)[..., 0]
        ctx.mark_non_differentiable(index)
        ctx.save_for_backward(x)
        ctx.index = index
        return values, index

    @staticmethod
    def backward(ctx, g_values, g_index):
        x, = ctx.saved_tensors
        assert not g_index.any() and g_index.shape == ctx.index.shape   # zeros, as eagerly
        grad = np.zeros_like(x)
        np.put_along_axis(grad, ctx.index[..., None], g_values[..., None], axis=-1)
        return grad


class SeveralOutputs(nn.Module):
    """Dense -> split into halves (both used, one twice) -> max of the second half as a skip."""

    def __init__(self, dtype=np.float64, use_second=True):
        super().__init__()
        self.a = nn.Dense(2, 8, activation="tanh", dtype=dtype)
        self.b = nn.Dense(4, 3, dtype=dtype)
        self.use_second = use_second

    def forward(self, x):
        first, second = SplitHalves.apply(self.a(x))
        if not self.use_second:   # the second half gets no gradient: zeros, as eagerly
            return self.b(first * first)
        values, index = MaxWithIndex.apply(second)
        return self.b(first * second + first) + values.reshape(-1, 1)


def _data(dtype):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((24, 2)).astype(dtype)
    Y = np.stack([X[:, 0] * X[:, 1], np.sin(X[:, 0]), X[:, 1] ** 2], 1).astype(dtype)
    return X, Y


def _train(compiled, dtype=np.float64, use_second=True, steps=200, check=False):
    """The losses of `steps` SGD steps (batches of 16 and 8) and the final parameters."""
    mg.manual_seed(3)
    model = SeveralOutputs(dtype, use_second)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)

    def step(x, y):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    if compiled:
        step = compile(step, check=check)
    X, Y = _data(dtype)
    losses = [step(X[i:i + 16], Y[i:i + 16]).item() for _ in range(steps) for i in (0, 16)]
    return np.array(losses), model.state_dict(), step


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
@pytest.mark.parametrize("use_second", [True, False])
def test_a_user_function_with_several_outputs_is_replayed_like_the_eager_run(dtype, tol, use_second):
    eager_losses, eager_state, _ = _train(False, dtype, use_second)
    losses, state, step = _train(True, dtype, use_second)
    np.testing.assert_allclose(losses, eager_losses, rtol=tol, atol=tol)
    for key in eager_state:
        np.testing.assert_allclose(state[key], eager_state[key], rtol=tol, atol=tol, err_msg=key)
        assert state[key].dtype == dtype
    assert eager_losses[-1] < eager_losses[0] / 2        # it really trains
    assert step.traces == 3   # (16, no .grad yet), (8, .grad), (16, .grad): then replays only
    code = step.code
    assert "SplitHalves.forward(" in code and "SplitHalves.backward(" in code
    if use_second:
        assert "MaxWithIndex.backward(" in code and "got no gradient" in code   # the index's zeros
    else:
        assert "np.zeros(" in code and "got no gradient" in code   # the unused second half's zeros


def test_several_outputs_replayed_gradients_match_torch():
    torch = pytest.importorskip("torch")
    mg.manual_seed(3)
    model = SeveralOutputs()
    X, Y = _data(np.float64)

    @compile
    def gradients(x, y):
        model.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss
    for scale in (1.0, 0.5, -1.5):   # the first call traces, the others replay
        loss = gradients(X * scale, Y)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in model.state_dict().items()}
    h = torch.tanh(torch.tensor(X * -1.5) @ t["a.weight"].T + t["a.bias"])
    first, second = torch.split(h, 4, dim=1)
    values = second.max(dim=1).values
    out = (first * second + first) @ t["b.weight"].T + t["b.bias"] + values.reshape(-1, 1)
    expected = torch.nn.functional.mse_loss(out, torch.tensor(Y))
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, t[name].grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


class SplitAt(mg.Function):
    """(x[..., :k], x[..., k:]) for a split point k given as a parameter."""

    @staticmethod
    def forward(ctx, x, k):
        return x[..., :k], x[..., k:]

    @staticmethod
    def backward(ctx, g_left, g_right):
        return np.concatenate([g_left, g_right], axis=-1)


@settings(max_examples=15, deadline=None)
@given(shape=mgt.shapes(min_dims=1, max_dims=3, min_side=2, max_side=5), data=st.data())
def test_several_outputs_on_drawn_shapes_give_the_eager_gradients(shape, data):
    k = data.draw(st.integers(1, shape[-1] - 1), label="split point")
    weights = data.draw(mgt.arrays(shape), label="weights")
    w = mg.Tensor(weights, requires_grad=True)

    def gradient(x, k, use_right):
        w.grad = None
        left, right = SplitAt.apply(w * x, k=k)
        loss = (left * left).sum() + ((right * 3.0).sum() if use_right else 0.0)
        loss.backward()
        return loss

    compiled = compile(gradient)
    for scale in (1.0, -0.5, 2.0):   # the first call traces, the others replay
        for use_right in (True, False):
            x = weights[::-1] * scale
            compiled(x, k, use_right)
            replayed = w.grad.copy()
            gradient(x, k, use_right)
            np.testing.assert_allclose(replayed, w.grad, rtol=1e-12, atol=1e-15)
    assert compiled.traces == 3   # (True, no .grad yet), (False, .grad), (True, .grad)


def test_several_outputs_pass_check_true():
    eager_losses, _, _ = _train(False, steps=5)
    losses, _, _ = _train(True, steps=5, check=True)   # raises if a replay disagrees
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-12)


def test_several_outputs_forward_only_under_no_grad():
    mg.manual_seed(3)
    model = SeveralOutputs()

    def predict(x):
        first, second = SplitHalves.apply(model.a(x))
        values, index = MaxWithIndex.apply(second)
        return model.b(first) + values.reshape(-1, 1), index

    compiled = compile(predict)
    X, _ = _data(np.float64)
    with mg.no_grad():
        for scale in (1.0, -2.0, 0.5):   # the index changes with the data: it is replayed
            out, index = compiled(X * scale)
            expected, expected_index = predict(X * scale)
            np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)
            np.testing.assert_array_equal(index.numpy(), expected_index.numpy())
            assert not out.requires_grad and not index.requires_grad
        model.b.bias.data = model.b.bias.data + 1.0   # parameters are read at every call
        np.testing.assert_allclose(compiled(X)[0].numpy(), predict(X)[0].numpy(), rtol=1e-12)
    assert compiled.traces == 1
    assert "new_ctx(SplitHalves, (False,))" in compiled.code   # no input needs a gradient


def test_a_non_differentiable_output_used_by_later_ops():
    """The index output picks rows of an embedding: recomputed at every call, not a constant."""
    def run(compiled):
        mg.manual_seed(5)
        layer, table = nn.Dense(2, 4), nn.Embedding(4, 3)
        optimizer = mg.optim.SGD(list(layer.parameters()) + list(table.parameters()), lr=0.1)

        def step(x):
            optimizer.zero_grad()
            values, index = MaxWithIndex.apply(layer(x))
            loss = (table(index).sum(axis=1) * values).mean()
            loss.backward()
            optimizer.step()
            return loss
        step = compile(step) if compiled else step
        rng = np.random.default_rng(1)
        return [step(rng.standard_normal((6, 2))).item() for _ in range(30)], table.weight.numpy()

    (eager, eager_table), (losses, table) = run(False), run(True)
    np.testing.assert_allclose(losses, eager, rtol=1e-12)
    np.testing.assert_allclose(table, eager_table, rtol=1e-12)
    assert len(set(np.round(eager, 12))) > 1


class WrongShapeBackward(mg.Function):
    """A one-output tuple whose backward returns a gradient of the wrong shape."""

    @staticmethod
    def forward(ctx, x):
        return (x.sum(),)

    @staticmethod
    def backward(ctx, g):
        return g * 2.0   # shape (), for an input of shape (3,)


def test_a_wrong_gradient_shape_raises_the_eager_error_while_tracing():
    w = mg.Tensor(np.ones(3), requires_grad=True)

    def f(x):
        (y,) = WrongShapeBackward.apply(w * x)
        y.backward()
        return y
    with pytest.raises(ValueError, match=r"WrongShapeBackward.backward returned a gradient of "
                                         r"shape \(\) for input 0 of shape \(3,\)"):
        compile(f)(np.ones(3))


# -- reads of a traced tensor's values -------------------------------------------------------

def _model_and_data():
    mg.manual_seed(0)
    return nn.Sequential(nn.Dense(3, 4, activation="tanh"), nn.Dense(4, 1)), np.ones((5, 3))


READS = [(lambda t: t.data, r"\.data of a tensor"),
         (lambda t: t.numpy(), r"\.numpy\(\) of a tensor"),
         (lambda t: np.array(t), r"np\.asarray\(t\) \(or np\.array\(t\)\) of a tensor"),
         (lambda t: float(t.sum()), r"float\(\) of a tensor"),
         (lambda t: int(t.sum()), r"int\(\) of a tensor"),
         (lambda t: f"{t.sum():.3f}", r"format with '\.3f' of a tensor")]


@pytest.mark.parametrize("read, words", READS)
def test_reading_an_op_output_as_numpy_or_python_is_refused(read, words):
    model, x = _model_and_data()

    @compile
    def fn(x):
        out = model(x)
        read(out)
        return out
    with pytest.raises(CompileError, match=words + ".*frozen into every later call"):
        fn(x)


@pytest.mark.parametrize("read, words", READS[:3])
def test_reading_an_argument_or_a_parameter_as_numpy_is_refused(read, words):
    model, x = _model_and_data()
    with pytest.raises(CompileError, match=words + r" of shape \(5, 3\).*Tensor ops.*outside"):
        compile(lambda x: model(x) * read(x).sum())(mg.Tensor(x))   # a tensor argument
    with pytest.raises(CompileError, match=words + r" .*weight.*use an optimizer"):
        compile(lambda x: model(x) * read(model[0].weight)[0, 0])(x)   # a parameter


def test_updating_a_parameter_through_data_is_refused_not_frozen():
    """`p.data = p.data - lr * p.grad` used to replay with the first call's values, silently."""
    model, x = _model_and_data()

    def step(x):
        model.zero_grad()
        model(x).sum().backward()
        for p in model.parameters():
            p.data = p.data - 0.1 * p.grad
    with pytest.raises(CompileError, match=r"\.data of a tensor .*use an optimizer"):
        compile(step)(x)

    def assigns(x):
        model[1].bias.data = np.zeros(1)
        return model(x)
    before = model[1].bias.numpy().copy()
    with pytest.raises(CompileError, match=r"assigning \.data of a tensor .*would run only while "
                                           r"tracing.*optimizer"):
        compile(assigns)(x)
    np.testing.assert_array_equal(model[1].bias.numpy(), before)   # refused before it changed


def test_a_refusal_after_a_step_says_the_step_was_applied():
    model, x = _model_and_data()
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        optimizer.zero_grad()
        loss = model(x).sum()
        loss.backward()
        optimizer.step()
        return loss.item()   # refused: return the tensor, call .item() outside
    before = model[0].weight.numpy().copy()
    with pytest.raises(CompileError, match=r"item\(\) of a tensor.*ran the function eagerly up to "
                                           r"this point.*already applied"):
        compile(step)(x)
    assert not np.array_equal(model[0].weight.numpy(), before)   # as the message says
    with pytest.raises(CompileError, match=r"item\(\) of a tensor") as refused:
        compile(lambda x: model(x).sum().item())(x)
    assert "already applied" not in str(refused.value)   # nothing ran before this refusal


def test_a_float_read_is_refused_instead_of_frozen():
    """float(t) of a traced tensor used to give the first call's number to every later call."""
    model, x = _model_and_data()
    scaled = compile(lambda x: model(x) * float(model(x).sum()))
    with pytest.raises(CompileError, match=r"float\(\) of a tensor.*frozen"):
        scaled(x)


def test_minigrad_code_inside_the_step_still_reads_values_it_follows():
    """cross_entropy reads a tensor label's values (.data) to check them: followed, not refused."""
    rng = np.random.default_rng(2)
    X, label_sets = rng.standard_normal((12, 4)), [rng.integers(0, 3, 12) for _ in range(2)]

    def run(compiled):
        mg.manual_seed(1)
        model = nn.Sequential(nn.Dense(4, 6, activation="relu"), nn.Dropout(0.2), nn.Dense(6, 3))
        optimizer = mg.optim.Adam(model.parameters(), lr=0.01)

        def step(x, y):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            return loss
        step = compile(step, check=True) if compiled else step
        return [step(X, mg.Tensor(label_sets[i % 2])).item() for i in range(20)]
    np.testing.assert_allclose(run(True), run(False), rtol=1e-12)   # the labels are not frozen


def test_a_loss_still_checks_tensor_labels_at_every_replay():
    """The loss's label check reads `.data` of a traced tensor: replayed as a guard, not frozen."""
    mg.manual_seed(0)
    model = nn.Dense(4, 3)
    step = compile(lambda x, y: F.cross_entropy(model(x), y))
    x, labels = np.ones((5, 4)), np.array([0, 1, 2, 1, 0])
    step(x, mg.Tensor(labels))
    step(x, mg.Tensor(labels))
    with pytest.raises(ValueError, match="class label 7 is out of range"):
        step(x, mg.Tensor(np.where(labels == 2, 7, labels)))


def test_values_of_a_tensor_made_inside_the_function_from_constants_can_be_read():
    model, x = _model_and_data()
    offsets = np.arange(3.0)

    @compile
    def fn(x):
        shift = mg.Tensor(offsets)        # made from a constant: its values are the same every call
        return model(x + shift.numpy())
    np.testing.assert_allclose(fn(x).numpy(), model(x + offsets).numpy(), rtol=1e-12)
    np.testing.assert_allclose(fn(x * 2).numpy(), model(x * 2 + offsets).numpy(), rtol=1e-12)


# -- objects replaced between calls (Bindings, for CompiledFunction to check at each call) -----

class Trainer:
    def __init__(self):
        self.model = nn.Sequential(nn.Dense(3, 4, activation="tanh"), nn.BatchNorm1d(4),
                                   nn.Dense(4, 1))
        self.optimizer = mg.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9)

    def step(self, x, y):
        self.optimizer.zero_grad()
        loss = F.mse_loss(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        return loss


def _bindings(fn):
    from minigrad.compile.references import Bindings, scan
    return Bindings(fn, scan(fn))


def test_bindings_stay_unchanged_through_what_a_replay_reads_anew():
    trainer = Trainer()
    bindings = _bindings(trainer.step)
    x, y = np.ones((5, 3)), np.zeros((5, 1))
    with mg.no_grad():
        trainer.model.eval()
        trainer.model(x)                       # a call changes no binding
        trainer.model.train()
    trainer.step(x, y)
    trainer.optimizer.lr = 0.01                # hyperparameters, state, values: read at each call
    trainer.model[0].weight.data = trainer.model[0].weight.data * 2
    trainer.optimizer.load_state_dict(trainer.optimizer.state_dict())
    trainer.model[2].load_state_dict(trainer.model[2].state_dict())   # (a layer without buffers)
    trainer.optimizer.zero_grad()
    assert not bindings.changed()


REPLACEMENTS = {
    "a layer": lambda t: t.model.add_module("2", nn.Dense(4, 1)),
    "a parameter": lambda t: setattr(t.model[0], "weight", nn.Parameter(np.zeros((4, 3)))),
    "the model": lambda t: setattr(t, "model", nn.Sequential(nn.Dense(3, 1))),
    "the optimizer": lambda t: setattr(t, "optimizer", mg.optim.SGD(t.model.parameters(), lr=1.0)),
    "a parameter group": lambda t: t.optimizer.add_param_group(
        {"params": [nn.Parameter(np.zeros(2))]}),
    "an optimizer's parameter": lambda t: t.optimizer.param_groups[0]["params"].__setitem__(
        0, nn.Parameter(np.zeros((4, 3)))),
    "buffers, by load_state_dict": lambda t: t.model.load_state_dict(t.model.state_dict()),
    "a layer removed": lambda t: t.model.add_module("2", None),
    "a layer appended": lambda t: t.model.append(nn.Dense(1, 1)),
}


@pytest.mark.parametrize("what", sorted(REPLACEMENTS))
def test_bindings_notice_a_replaced_object(what):
    trainer = Trainer()
    bindings = _bindings(trainer.step)
    assert not bindings.changed()
    REPLACEMENTS[what](trainer)
    assert bindings.changed()


def test_bindings_notice_a_rebound_global_or_closure_variable():
    global _GLOBAL_MODEL
    _GLOBAL_MODEL = nn.Dense(3, 1)
    bindings = _bindings(lambda x: _GLOBAL_MODEL(x))
    assert not bindings.changed()
    _GLOBAL_MODEL = nn.Dense(3, 1)
    assert bindings.changed()

    model = nn.Dense(3, 1)

    def predict(x):
        return model(x)
    bindings = _bindings(predict)
    model.weight.data = np.zeros((1, 3))
    assert not bindings.changed()
    model = nn.Dense(3, 1)   # (the closure cell now holds another layer)
    assert bindings.changed()


def test_a_compiled_function_traces_again_after_a_layer_or_parameter_is_replaced():
    model = nn.Sequential(nn.Dense(3, 4, activation="tanh"), nn.Dense(4, 1))
    x = np.ones((5, 3))
    predict = compile(lambda x: model(x))
    predict(x)
    model.add_module("1", nn.Dense(4, 1))
    np.testing.assert_allclose(predict(x).numpy(), model(x).numpy(), rtol=1e-12)
    model[0].weight = nn.Parameter(np.zeros((4, 3)))
    np.testing.assert_allclose(predict(x).numpy(), model(x).numpy(), rtol=1e-12)
    assert predict.traces == 3


# -- what minigrad's own layers do that compile does not replay yet: the refusal names them ------

def _batch_norm_model():
    model = nn.Sequential(nn.Dense(3, 4), nn.BatchNorm1d(4), nn.Dense(4, 1))
    return model, mg.optim.SGD(model.parameters(), lr=0.1)


def test_batch_norm_in_training_is_refused_naming_the_layer_code():
    model, optimizer = _batch_norm_model()

    def step(x, y):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    with pytest.raises(CompileError, match="minigrad's own minigrad.nn.functional.normalization"
                                           ".batch_norm .*call a function that uses it uncompiled"):
        compile(step)(np.ones((5, 3)), np.zeros((5, 1)))


def test_batch_norm_in_eval_is_refused_naming_its_running_statistics():
    model, _ = _batch_norm_model()
    model.eval()
    with mg.no_grad(), pytest.raises(CompileError, match="BatchNorm's running statistics"):
        compile(lambda x: model(x))(np.ones((5, 3)))


def test_an_in_place_write_of_the_users_own_is_refused_with_the_users_advice():
    model = nn.Dense(3, 2)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        optimizer.zero_grad()
        model(x).sum().backward()
        scratch = np.zeros((2, 3))
        np.add(scratch, model.weight.grad, out=scratch)   # the user's own in-place write
        return scratch
    with pytest.raises(CompileError, match=r"write `x = x \* y` instead of `x \*= y`"):
        compile(step)(np.ones((5, 3)))


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_clip_grad_value_is_replayed_like_eager(dtype, tolerance):
    rng = np.random.default_rng(3)
    x, target = rng.normal(size=(6, 3)).astype(dtype), rng.normal(size=(6, 2)).astype(dtype)

    def build():
        mg.manual_seed(0)
        model = nn.Dense(3, 2, dtype=dtype)
        optimizer = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x):
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), target)
            loss.backward()
            nn.utils.clip_grad_value_(model.parameters(), 0.05)
            optimizer.step()
            return loss
        return model, step
    (eager_model, eager), (compiled_model, step) = build(), build()
    compiled = compile(step, check=True)
    for _ in range(200):
        eager(x)
        compiled(x)
    assert compiled.traces == 2 and "np.clip" in compiled.code
    assert compiled_model.weight.grad.dtype == dtype
    assert np.abs(compiled_model.weight.grad).max() <= 0.05   # the clip ran in the replay
    np.testing.assert_allclose(compiled_model.weight.data, eager_model.weight.data,
                               rtol=tolerance, atol=tolerance)
