"""The engine's promise under threads, generators, hooks, zeros and partial gradients.

Each test here pins a case where an earlier minigrad gave a silently wrong answer or
changed state it should not have (see the trust issue); each would fail on that version.
"""
import threading
import tracemalloc

import numpy as np
import pytest

import minigrad as mg


def leaf(values, dtype=np.float64):
    return mg.Tensor(np.array(values, dtype=dtype), requires_grad=True)


# -- grad mode is per thread -----------------------------------------------------------------

def test_no_grad_in_one_thread_does_not_stop_another_thread_recording():
    inside, done = threading.Event(), threading.Event()

    def inference():
        with mg.no_grad():
            inside.set()
            done.wait(5)

    thread = threading.Thread(target=inference)
    thread.start()
    try:
        assert inside.wait(5)
        x = leaf([1.0, 2.0])
        y = (x * x).sum()                     # recorded here while the other thread is in no_grad
        assert y.requires_grad and mg.is_grad_enabled()
        y.backward()
        np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    finally:
        done.set()
        thread.join()


def test_a_new_thread_starts_with_recording_on_even_inside_no_grad():
    seen = {}

    def worker():
        x = leaf([3.0])
        seen["enabled"] = mg.is_grad_enabled()
        seen["records"] = (x * x).requires_grad

    with mg.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen == {"enabled": True, "records": True}


def test_overlapping_no_grad_blocks_in_two_threads_leave_recording_on_afterwards():
    barrier = threading.Barrier(2)

    def worker(order):
        with mg.no_grad():
            barrier.wait(5)
            if order:
                barrier.wait(5)
        if not order:
            barrier.wait(5)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert mg.is_grad_enabled()
    assert (leaf([1.0]) * 2).requires_grad


def test_a_backward_in_one_thread_does_not_stop_recording_in_another():
    started, finish = threading.Event(), threading.Event()

    class Slow(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            started.set()
            finish.wait(5)            # the walk is inside backward (recording off there)
            return g

    x = leaf([1.0])
    out = Slow.apply(x).sum()
    thread = threading.Thread(target=out.backward)
    thread.start()
    try:
        assert started.wait(5)
        assert (leaf([2.0]) * 3).requires_grad
    finally:
        finish.set()
        thread.join()
    assert x.grad is not None


def test_anomaly_mode_is_per_thread_too():
    seen = {}
    with mg.detect_anomaly():
        thread = threading.Thread(target=lambda: seen.setdefault("on", mg.is_anomaly_enabled()))
        thread.start()
        thread.join()
        assert mg.is_anomaly_enabled()
    assert seen == {"on": False}


# -- decorators cover generator bodies ------------------------------------------------------

@pytest.mark.parametrize("mode, outer, inside", [(mg.no_grad, mg.enable_grad, False),
                                                  (mg.enable_grad, mg.no_grad, True)])
def test_a_mode_decorator_covers_every_step_of_a_generator(mode, outer, inside):
    x = leaf([1.0])

    @mode()
    def steps():
        for _ in range(2):
            yield (x * 2).requires_grad, mg.is_grad_enabled()

    with outer():
        assert mg.is_grad_enabled() is not inside
        assert list(steps()) == [(inside, inside)] * 2
        assert mg.is_grad_enabled() is not inside


def test_between_steps_a_decorated_generator_leaves_the_callers_mode_alone():
    @mg.no_grad()
    def steps():
        yield mg.is_grad_enabled()
        yield mg.is_grad_enabled()

    gen = steps()
    assert next(gen) is False
    assert mg.is_grad_enabled()               # the caller records while the generator waits
    assert next(gen) is False
    gen.close()
    assert mg.is_grad_enabled()


def test_detect_anomaly_decorates_a_generator():
    @mg.detect_anomaly()
    def steps():
        yield mg.is_anomaly_enabled()

    assert list(steps()) == [True]
    assert not mg.is_anomaly_enabled()


# -- powers at zero ---------------------------------------------------------------------------

@pytest.mark.parametrize("zero", [
    lambda: mg.Tensor(0.0), lambda: np.array(0.0), lambda: np.float32(0.0), lambda: 0.0,
], ids=["tensor", "array", "float32", "python"])
def test_x_to_the_zero_has_gradient_zero_at_zero(zero):
    x = leaf([0.0, 2.0])
    (x ** zero()).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_the_exponents_gradient_at_a_zero_base_is_zero_for_non_negative_exponents():
    y = leaf([0.0, 1.0, 2.5])
    (mg.Tensor([0.0, 0.0, 0.0]) ** y).sum().backward()
    np.testing.assert_array_equal(y.grad, [0.0, 0.0, 0.0])
    y2 = leaf([0.0, 2.0])
    (0.0 ** y2).sum().backward()
    np.testing.assert_array_equal(y2.grad, [0.0, 0.0])


def test_second_derivatives_of_a_power_at_zero_are_finite_and_right():
    x, y = leaf(0.0), leaf(2.0)
    dx, dy = mg.grad(x ** y, [x, y], create_graph=True)
    assert dx.item() == 0.0 and dy.item() == 0.0
    dxx, dxy = mg.grad(dx, [x, y])
    assert dxx.item() == 2.0                  # d2(x**2)/dx2 = 2
    assert dxy.item() == 0.0                  # d/dy of y x**(y-1) at x = 0, y = 2
    # Away from zero, the exponent's mixed derivative is not cut off: d/dy (y x**(y-1)) at x=1, y=0 is 1.
    x, y = leaf(1.0), leaf(0.0)
    dx, = mg.grad(x ** y, [x], create_graph=True)
    assert mg.grad(dx, [y])[0].item() == pytest.approx(1.0)


def test_powers_at_zero_match_pytorch_first_order():
    torch = pytest.importorskip("torch")
    bases, exps = np.array([0.0, 0.0, 0.0, 2.0, 1.5]), np.array([0.0, 1.0, 2.5, 0.0, 3.0])
    a, b = leaf(bases), leaf(exps)
    (a ** b).sum().backward()
    ta = torch.tensor(bases, requires_grad=True)
    tb = torch.tensor(exps, requires_grad=True)
    (ta ** tb).sum().backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-15)


# -- dtypes under create_graph ------------------------------------------------------------------

def test_create_graph_gradients_keep_each_inputs_dtype():
    x32 = leaf([1.0, 2.0], dtype=np.float32)
    w64 = leaf([3.0, 4.0])
    gx, gw = mg.grad((x32 * w64).sum(), [x32, w64], create_graph=True)
    assert gx.dtype == np.float32 and gw.dtype == np.float64
    np.testing.assert_array_equal(gx.data, [3.0, 4.0])
    second, = mg.grad(gx.sum(), [w64])
    np.testing.assert_array_equal(second.data, [1.0, 1.0])


def test_astype_between_floats_stays_in_the_graph():
    x = leaf([1.0, 2.0])
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    assert not x.astype(np.int64).requires_grad


# -- hooks see a gradient of their own ------------------------------------------------------------

def test_a_hook_changing_its_gradient_in_place_does_not_touch_a_siblings():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y, z = a * 1.0, b * 1.0
    y.register_hook(lambda g: g.__imul__(10))  # in place, returns the same array
    (y + z).sum().backward()                  # Add hands y and z the same array
    np.testing.assert_array_equal(a.grad, [10.0, 10.0])
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


# -- grad() stops at the tensors it was asked for ---------------------------------------------------

def test_grad_for_an_intermediate_neither_walks_nor_releases_the_graph_below_it():
    x = leaf([1.0, 2.0])
    h = x * x
    below = []
    x.register_hook(lambda g: below.append(g))
    out = (h * 3).sum()
    gh, = mg.grad(out, [h])
    np.testing.assert_array_equal(gh.data, [3.0, 3.0])
    assert below == []                        # nothing ran below h
    h.sum().backward()                        # the graph below h is still there
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_grad_for_an_intermediate_and_a_leaf_below_it_gets_both():
    x = leaf([1.0, 2.0])
    h = x * x
    gh, gx = mg.grad((h * 3).sum(), [h, x])
    np.testing.assert_array_equal(gh.data, [3.0, 3.0])
    np.testing.assert_array_equal(gx.data, [6.0, 12.0])


def test_grad_under_no_grad_says_grad_mode_is_off():
    x = leaf([1.0])
    with mg.no_grad():
        y = x * 2
        with pytest.raises(RuntimeError, match="grad mode is off"):
            mg.grad(y, [x])


# -- views count as their base ---------------------------------------------------------------------

@pytest.mark.parametrize("view", [lambda w: w.T, lambda w: w[0:2], lambda w: w.reshape(-1),
                                  lambda w: w.detach()], ids=["T", "slice", "reshape", "detach"])
def test_a_change_of_a_weight_used_through_a_view_is_caught_at_the_second_backward(view):
    w = leaf(np.arange(4.0).reshape(2, 2))
    v = view(w)
    x = leaf(np.ones(v.shape))
    loss = (v * x).sum()                      # Mul saves v's array, a view of w's
    loss.backward(retain_graph=True)
    with mg.no_grad():
        w -= 0.1                              # an optimizer's step on the weight itself
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_an_in_place_change_through_a_view_counts_for_its_base():
    w = leaf(np.ones((2, 2)))
    x = leaf(np.ones((2, 2)))
    loss = (w * x).sum()                      # Mul saves w's array
    with mg.no_grad():
        v = w.T
        v += 1                                # changes w's memory through the view
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


# -- error messages --------------------------------------------------------------------------------

def test_transpose_with_axes_that_do_not_fit_names_the_shape_and_the_axes():
    with pytest.raises(ValueError, match=r"axes \(0, 1\).*shape \(3,\)"):
        mg.Tensor([1.0, 2.0, 3.0]).transpose(0, 1)


# -- caches are bounded ------------------------------------------------------------------------------

def test_a_thousand_batch_sizes_do_not_grow_memory():
    layer = mg.nn.Dense(3, 2, activation="relu")

    def step(n):
        x = mg.Tensor(np.ones((n, 3)))
        layer(x).sum().backward()
        layer.zero_grad()

    for n in range(1000, 2000):               # fill the bounded caches
        step(n)
    tracemalloc.start()
    start = tracemalloc.take_snapshot()
    for n in range(2000, 3000):               # 1,000 new batch sizes
        step(n)
    growth = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(start, "filename"))
    tracemalloc.stop()
    # A cache per batch size would keep ~20 MB more here (1,000 vectors of 2,000-3,000 ones);
    # the bounded ones only swap smaller entries for larger.
    assert growth < 2_000_000, f"memory grew by {growth} bytes over 1,000 batch sizes"


def test_a_forward_hook_returning_a_non_tensor_says_what_it_must_return():
    layer = mg.nn.Dense(2, 2)
    layer.register_forward_hook(lambda module, inputs, output: output.data * 2)
    with pytest.raises(TypeError, match="returned a ndarray; it must return None.*or a Tensor"):
        layer(np.ones((1, 2)))
