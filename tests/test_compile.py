"""minigrad.compile: a compiled step gives the eager step's numbers, call after call.

Each test builds the same model twice from the same seed, trains one eagerly
and one through `minigrad.compile`, and compares the losses of every step and
the final parameters. The expected numbers are the eager run's, never the
compiled code's own.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.compile import CompileError, compile
from minigrad.nn import functional as F


def _assert_same_run(eager, compiled, tol):
    (losses_a, params_a), (losses_b, params_b) = eager, compiled
    np.testing.assert_allclose(losses_b, losses_a, rtol=tol, atol=tol)
    for key in params_a:
        np.testing.assert_allclose(params_b[key], params_a[key], rtol=tol, atol=tol, err_msg=key)


def _run(build, batches, compiled, steps, schedule=None):
    """Train `steps` epochs over `batches`; returns the losses and the final state_dict."""
    model, optimizer, step = build()
    if compiled:
        step = compile(step)
    losses = []
    for epoch in range(steps):
        if schedule is not None:
            optimizer.lr = schedule(epoch)
        for x, y in batches:
            losses.append(step(x, y).item())
    return (np.array(losses), model.state_dict()), step


def _train_step(model, optimizer, loss_fn):
    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


def _sine_net(dtype=np.float64):
    def build():
        mg.manual_seed(0)
        model = nn.Sequential(nn.Dense(1, 20, activation="sigmoid", init="small_normal", dtype=dtype),
                              nn.Dense(20, 1, init="small_normal", dtype=dtype))
        optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
        return model, optimizer, _train_step(model, optimizer, F.mse_loss)
    x = np.arange(-5, 5, 0.1).reshape(-1, 1).astype(dtype)
    return build, [(x, np.sin(x))]


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_document_one_sine_network_with_sgd(dtype, tol):
    build, batches = _sine_net(dtype)
    eager, _ = _run(build, batches, False, 200)
    compiled, step = _run(build, batches, True, 200)
    _assert_same_run(eager, compiled, tol)
    assert eager[0][-1] < eager[0][0] / 2          # it really trains
    assert step.traces == 2                        # .grad None at the first call, then not


def test_the_code_reads_like_the_documents_backprop():
    build, batches = _sine_net()
    _, step = _run(build, batches, True, 3)
    code = step.code
    assert "model.0.weight" in code
    # dZ = dA * sigmoid'(Z), from the output, overwriting dA (dead after it)
    assert "dZ1 = dA1; dZ1 *= A1; dZ1 *= 1 - A1" in code and "dZ = dA * sigmoid'(Z)" in code
    assert "dW = dZ^T X" in code and "db = the sum of dZ's rows" in code
    assert "model_0_weight -= lr * dmodel_0_weight" in code
    assert "Tensor" not in code and "backward(" not in code   # built-ins are inlined


def _regression(rows=210):
    rng = np.random.default_rng(3)
    ab = rng.uniform(0, 100, size=(rows, 2))
    targets = np.stack([ab[:, 0] + ab[:, 1], ab[:, 0] - ab[:, 1], np.abs(ab[:, 0] - ab[:, 1])], 1)
    X = (ab - ab.mean(0)) / ab.std(0)
    Y = (targets - targets.mean(0)) / targets.std(0)
    return X, Y


def test_document_two_regression_with_adam():
    X, Y = _regression()

    def build():
        mg.manual_seed(1)
        model = nn.Sequential(nn.Dense(2, 4, activation="relu"), nn.Dense(4, 4, activation="relu"),
                              nn.Dense(4, 3, activation="linear"))
        optimizer = mg.optim.Adam(model.parameters(), lr=0.01)
        return model, optimizer, _train_step(model, optimizer, F.mse_loss)
    batches = [(X, Y)]
    eager, _ = _run(build, batches, False, 200)
    compiled, _ = _run(build, batches, True, 200)
    _assert_same_run(eager, compiled, 1e-12)


def _classifier(optimizer_factory, dropout=0.3, dtype=np.float64):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((70, 6)).astype(dtype)
    labels = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    batches = [(X[i:i + 16], labels[i:i + 16]) for i in range(0, 70, 16)]   # the last has 6

    def build():
        mg.manual_seed(2)
        model = nn.Sequential(nn.Dense(6, 32, activation="relu", dtype=dtype), nn.Dropout(dropout),
                              nn.Dense(32, 3, dtype=dtype))
        optimizer = optimizer_factory(model.parameters())
        return model, optimizer, _train_step(model, optimizer, F.cross_entropy)
    return build, batches


def test_classifier_with_dropout_and_cross_entropy_on_mini_batches():
    build, batches = _classifier(lambda p: mg.optim.SGD(p, lr=0.1))
    eager, _ = _run(build, batches, False, 40)
    compiled, step = _run(build, batches, True, 40)
    _assert_same_run(eager, compiled, 1e-12)   # the same masks, drawn in the same order
    assert step.traces == 3   # batch of 16 (no .grad yet, then with), the last batch of 6
    assert "get_generator().random((16, 32))" in step.code or "random((6, 32))" in step.code


def test_float32_classifier_stays_float32():
    build, batches = _classifier(lambda p: mg.optim.Adam(p, lr=0.01), dtype=np.float32)
    eager, _ = _run(build, batches, False, 30)
    compiled, _ = _run(build, batches, True, 30)
    _assert_same_run(eager, compiled, 1e-6)
    assert compiled[1]["0.weight"].dtype == np.float32


def test_sgd_with_momentum_nesterov_and_weight_decay():
    for options in (dict(momentum=0.9, weight_decay=1e-3), dict(momentum=0.8, nesterov=True)):
        build, batches = _classifier(lambda p: mg.optim.SGD(p, lr=0.05, **options), dropout=0.0)
        eager, _ = _run(build, batches, False, 40)
        compiled, _ = _run(build, batches, True, 40)
        _assert_same_run(eager, compiled, 1e-12)


def test_learning_rate_changed_between_calls_is_seen():
    build, batches = _classifier(lambda p: mg.optim.SGD(p, lr=0.1, momentum=0.5), dropout=0.0)
    schedule = lambda epoch: 0.2 / (1 + epoch)   # noqa: E731
    eager, _ = _run(build, batches, False, 40, schedule)
    compiled, step = _run(build, batches, True, 40, schedule)
    _assert_same_run(eager, compiled, 1e-12)
    assert step.traces == 3   # the schedule never traces again


class Cube(mg.Function):
    """x**3, a user-defined op: replayed by calling its own forward and backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * x * x * g


class CubeLayer(nn.Module):
    def forward(self, x):
        return Cube.apply(x) * 0.1


def test_a_user_defined_function_in_the_model():
    X, Y = _regression(64)

    def build():
        mg.manual_seed(4)
        model = nn.Sequential(nn.Dense(2, 8, activation="tanh"), CubeLayer(), nn.Dense(8, 3))
        optimizer = mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        return model, optimizer, _train_step(model, optimizer, F.mse_loss)
    eager, _ = _run(build, [(X, Y)], False, 200)
    compiled, step = _run(build, [(X, Y)], True, 200)
    _assert_same_run(eager, compiled, 1e-12)
    assert "Cube.forward(" in step.code and "Cube.backward(" in step.code


def test_inference_under_no_grad_and_eval_retraces():
    build, batches = _classifier(lambda p: mg.optim.SGD(p, lr=0.1))
    model, _, _ = build()
    predict = compile(lambda x: model(x))
    x = batches[0][0]
    with mg.no_grad():
        model.eval()
        first = predict(x).numpy().copy()
        np.testing.assert_allclose(predict(x).numpy(), model(x).numpy(), rtol=1e-12)
        model.train()
        assert predict.traces == 1
        mg.manual_seed(9)
        trained = predict(x).numpy()
        mg.manual_seed(9)
        np.testing.assert_allclose(trained, model(x).numpy(), rtol=1e-12)   # the same mask
        assert predict.traces == 2   # train() is another signature
        model.eval()
        np.testing.assert_allclose(predict(x).numpy(), first, rtol=1e-12)
        assert predict.traces == 2


def test_parameters_are_read_at_each_call():
    build, batches = _sine_net()
    model, _, _ = build()
    predict = compile(lambda x: model(x))
    x = batches[0][0]
    predict(x)
    state = {k: v * 0.5 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    np.testing.assert_allclose(predict(x).numpy(), model(x).numpy(), rtol=1e-12)
    model[1].bias.data = np.array([3.0])
    np.testing.assert_allclose(predict(x).numpy(), model(x).numpy(), rtol=1e-12)
    assert predict.traces == 1


def test_numpy_work_on_arguments_and_gradients_is_replayed():
    X, Y = _regression(40)

    def build():
        mg.manual_seed(6)
        model = nn.Sequential(nn.Dense(2, 6, activation="relu"), nn.Dense(6, 3))
        optimizer = mg.optim.SGD(model.parameters(), lr=0.05)

        def step(x, y):
            optimizer.zero_grad()
            loss = F.mse_loss(model(x / 2.0 + 1.0), y.astype(np.float32).astype(np.float64))
            loss.backward()
            for p in model.parameters():
                p.grad = np.clip(p.grad, -0.1, 0.1)   # clipping by hand, on numpy arrays
            optimizer.step()
            return loss
        return model, optimizer, step
    eager, _ = _run(build, [(X, Y), (X * 2, Y)], False, 50)
    compiled, _ = _run(build, [(X, Y), (X * 2, Y)], True, 50)
    _assert_same_run(eager, compiled, 1e-12)


def test_a_failed_check_in_a_replay_runs_eagerly_and_raises_the_same_error():
    build, batches = _classifier(lambda p: mg.optim.SGD(p, lr=0.1), dropout=0.0)
    _, _, step = build()
    step = compile(step)
    x, y = batches[0]
    step(x, y)
    step(x, y)
    with pytest.raises(ValueError, match="class label 7 is out of range"):
        step(x, np.where(np.arange(len(y)) == 3, 7, y))


def test_the_cache_keeps_a_few_traces():
    model = nn.Dense(3, 2)
    predict = compile(lambda x: model(x), cache_size=2)
    for n in (1, 2, 3, 1):
        predict(np.ones((n, 3)))
    assert predict.traces == 4   # (1, 3) was dropped by the time it came back
    assert len(predict.programs) == 2


# -- refusals -----------------------------------------------------------------------------

def _model_and_data():
    mg.manual_seed(0)
    return nn.Sequential(nn.Dense(3, 4, activation="tanh"), nn.Dense(4, 1)), np.ones((5, 3))


@pytest.mark.parametrize("read", [lambda t: t.item(), lambda t: bool(t < 0.1),
                                  lambda t: float(t.numpy()), lambda t: t.data.tolist(),
                                  lambda t: 1 if t.sum() < 0 else 0])
def test_reading_a_traced_value_as_python_is_refused(read):
    model, x = _model_and_data()

    @compile
    def fn(x):
        loss = model(x).sum()
        read(loss)
        return loss
    with pytest.raises(CompileError, match="compile|frozen"):
        fn(x)


def test_hooks_and_anomaly_mode_are_refused():
    model, x = _model_and_data()

    def with_tensor_hook(x):
        out = model(x)
        out.register_hook(lambda g: g * 2)
        out.sum().backward()
        return out
    with pytest.raises(CompileError, match="hook"):
        compile(with_tensor_hook)(x)

    handle = model[0].register_forward_hook(lambda m, i, o: None)
    with pytest.raises(CompileError, match="forward hook"):
        compile(lambda x: model(x))(x)
    handle.remove()

    handle = model[0].weight.register_hook(lambda g: None)
    with pytest.raises(CompileError, match="tensor hook"):
        compile(lambda x: model(x))(x)
    handle.remove()

    with mg.detect_anomaly():
        with pytest.raises(CompileError, match="detect_anomaly"):
            compile(lambda x: model(x))(x)

    def with_anomaly_inside(x):
        with mg.detect_anomaly():
            model(x).sum().backward()
    with pytest.raises(CompileError, match="detect_anomaly"):
        compile(with_anomaly_inside)(x)


def test_in_place_numpy_on_a_traced_gradient_is_refused():
    model, x = _model_and_data()

    def fn(x):
        model.zero_grad()
        model(x).sum().backward()
        model[0].weight.grad *= 0.5
    with pytest.raises(CompileError, match="in-place"):
        compile(fn)(x)


def test_arrays_made_inside_the_function_by_untraced_numpy_are_refused():
    model, x = _model_and_data()
    noise = np.random.default_rng(0)
    with pytest.raises(CompileError, match="cannot trace back"):
        compile(lambda x: model(x + noise.standard_normal(x.shape)))(x)   # numpy's own draws
    with pytest.raises(CompileError, match="cannot trace back"):
        compile(lambda x: model(x).argmax(axis=1))(x)   # an integer result made from _data
    ones = np.ones(3)
    out = compile(lambda x: model(x * ones))(x)          # a constant from outside is fine
    np.testing.assert_allclose(out.numpy(), model(x * ones).numpy(), rtol=1e-12)


def test_check_catches_a_function_that_cannot_be_replayed():
    model, x = _model_and_data()
    calls = [0]

    @compile(check=True)
    def counts_its_calls(x):
        calls[0] += 1                       # Python: runs when tracing only
        return model(x) * float(calls[0])
    counts_its_calls(x)
    with pytest.raises(CompileError, match="returned value"):
        counts_its_calls(x)

    scale = [1.0]

    @compile(check=True)
    def reads_a_global(x):
        return model(x) * scale[0]
    reads_a_global(x)
    reads_a_global(x)   # the same value: replay and eager agree
    scale[0] = 2.0
    with pytest.raises(CompileError, match="differ"):
        reads_a_global(x)


def test_check_passes_a_replayable_training_step():
    build, batches = _classifier(lambda p: mg.optim.Adam(p, lr=0.01))
    eager, _ = _run(build, batches, False, 5)
    model, optimizer, step = build()
    step = compile(step, check=True)
    losses = [step(x, y).item() for _ in range(5) for x, y in batches]
    np.testing.assert_allclose(losses, eager[0], rtol=1e-12)


class TwoBranches(nn.Module):
    """Two layers reading the same input, summed, plus a skip connection: gradients shared and summed."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Dense(4, 5, activation="relu"), nn.Dense(4, 5, activation="tanh")
        self.out = nn.Dense(5, 2, activation="sigmoid")

    def forward(self, x):
        h = self.a(x) + self.b(x)
        return self.out(h + h * 0.5)


def test_shared_and_summed_gradients_are_never_overwritten():
    rng = np.random.default_rng(8)
    X, Y = rng.standard_normal((12, 4)), rng.random((12, 2))

    def build():
        mg.manual_seed(3)
        model = TwoBranches()
        optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
        return model, optimizer, _train_step(model, optimizer, F.mse_loss)
    eager, _ = _run(build, [(X, Y)], False, 100)
    compiled, _ = _run(build, [(X, Y)], True, 100)
    _assert_same_run(eager, compiled, 1e-12)


def test_the_digits_example_compiled_reaches_the_eager_accuracy():
    pytest.importorskip("sklearn")
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "digits.py"
    spec = importlib.util.spec_from_file_location("minigrad_example_digits_compile", path)
    digits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(digits)
    lines = []
    results = digits.compare_compiled(epochs=1, log=lines.append)
    assert results["compiled"][1] == results["eager"][1] > 0.9
    assert len(lines) == 3 and "compiled / eager time" in lines[-1]


def test_gradients_accumulated_over_calls_and_data_converted_to_the_model_dtype():
    rng = np.random.default_rng(11)
    X, Y = rng.standard_normal((9, 3)), rng.standard_normal((9, 2))   # float64 data

    def build():
        mg.manual_seed(5)
        model = nn.Sequential(nn.Dense(3, 4, activation="tanh", dtype=np.float32),
                              nn.Dense(4, 2, dtype=np.float32))
        optimizer = mg.optim.SGD(model.parameters(), lr=0.01)

        def step(x, y):   # no zero_grad: .grad accumulates from call to call
            loss = F.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            return loss
        return model, optimizer, step
    eager, _ = _run(build, [(X, Y)], False, 30)
    compiled, step = _run(build, [(X, Y)], True, 30)
    _assert_same_run(eager, compiled, 1e-6)
    assert "astype(np.float32)" in step.code   # the conversion is replayed, not frozen


def test_optimizer_state_loaded_between_calls_is_used():
    build, batches = _classifier(lambda p: mg.optim.Adam(p, lr=0.01), dropout=0.0)

    def run(compiled):
        model, optimizer, step = build()
        step = compile(step) if compiled else step
        losses = [step(x, y).item() for _ in range(3) for x, y in batches]
        saved = optimizer.state_dict()
        losses += [step(x, y).item() for _ in range(2) for x, y in batches]
        optimizer.load_state_dict(saved)   # moments and step counts of an earlier moment
        losses += [step(x, y).item() for _ in range(3) for x, y in batches]
        return np.array(losses)
    np.testing.assert_allclose(run(True), run(False), rtol=1e-12)


def test_the_in_place_guard_still_sees_a_compiled_update():
    build, batches = _classifier(lambda p: mg.optim.SGD(p, lr=0.1), dropout=0.0)
    model, _, step = build()
    step = compile(step)
    x, y = batches[0]
    step(x, y)
    step(x, y)
    pending = F.cross_entropy(model(x), y)   # an eager graph that saved the weights
    step(x, y)                               # a replay updates them in place
    with pytest.raises(RuntimeError, match="changed in place"):
        pending.backward()


def test_a_model_passed_as_an_argument_and_a_tensor_created_inside():
    model, x = _model_and_data()
    predict = compile(lambda m, x: m(x))
    np.testing.assert_allclose(predict(model, x).numpy(), model(x).numpy(), rtol=1e-12)
    model[0].weight.data = model[0].weight.data * 2   # read at the next call
    np.testing.assert_allclose(predict(model, x).numpy(), model(x).numpy(), rtol=1e-12)

    def creates_a_parameter(x):
        w = mg.Tensor(np.ones((3, 1)), requires_grad=True)
        (mg.Tensor(x) @ w).sum().backward()
        return w.grad
    with pytest.raises(CompileError, match="requires grad"):
        compile(creates_a_parameter)(x)


def test_freezing_a_layer_between_calls_traces_again():
    build, batches = _classifier(lambda p: mg.optim.SGD(p, lr=0.1), dropout=0.0)

    def run(compiled):
        model, optimizer, step = build()
        step = compile(step) if compiled else step
        losses = []
        for epoch in range(6):
            model[0].weight.requires_grad = epoch % 3 != 2   # frozen every third epoch
            losses += [step(x, y).item() for x, y in batches]
        return np.array(losses), model.state_dict()
    (a, state_a), (b, state_b) = run(False), run(True)
    np.testing.assert_allclose(b, a, rtol=1e-12)
    np.testing.assert_allclose(state_b["0.weight"], state_a["0.weight"], rtol=1e-12)


def test_reset_after_replacing_a_layer():
    model, x = _model_and_data()
    predict = compile(lambda x: model(x))
    predict(x)
    model.add_module("1", nn.Dense(4, 1))   # a new layer object: the trace holds the old one
    predict.reset()
    np.testing.assert_allclose(predict(x).numpy(), model(x).numpy(), rtol=1e-12)
    assert predict.traces == 2


class SignSGD(mg.optim.Optimizer):
    """An optimizer with a step() of its own that compile does not know."""
    option_checks = {"lr": float}

    def __init__(self, params, lr):
        super().__init__(params, {"lr": lr})

    def step(self):
        with mg.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p -= group["lr"] * np.sign(p.grad)


def test_an_optimizer_compile_does_not_know_is_refused():
    build, batches = _classifier(lambda p: SignSGD(p, lr=0.01), dropout=0.0)
    with pytest.raises(CompileError, match="optimizer whose step"):
        _run(build, batches, True, 1)


class HookedSignSGD(SignSGD):
    """SignSGD with the hook every minigrad optimizer's step() has: its step is replayed by calling it."""

    def step(self):
        from minigrad.engine.modes import current_tracer
        tracer = current_tracer()
        if tracer is not None and tracer.record_step(self):
            return
        super().step()


def test_an_optimizer_with_the_step_hook_is_replayed_by_calling_its_step():
    build, batches = _classifier(lambda p: HookedSignSGD(p, lr=0.01), dropout=0.0)
    eager, _ = _run(build, batches, False, 20)
    compiled, step = _run(build, batches, True, 20)
    _assert_same_run(eager, compiled, 1e-12)
    assert "optimizer.step()" in step.code


@pytest.mark.parametrize("options, error, message", [
    (dict(check="yes"), TypeError, "check must be True or False, got 'yes'"),
    (dict(cache_size=0), ValueError, "cache_size must be a positive integer, got 0"),
    (dict(cache_size=2.5), TypeError, "cache_size must be a positive integer, got 2.5"),
    (dict(cache_size=True), TypeError, "cache_size must be a positive integer, got True"),
])
def test_compile_refuses_bad_options_by_name(options, error, message):
    with pytest.raises(error, match="minigrad.compile: " + message):
        compile(lambda x: x, **options)
