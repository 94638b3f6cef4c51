"""In-place arithmetic and item assignment recorded in the graph, as PyTorch records them."""
import numpy as np
import pytest

import minigrad as mg


def leaf(values, dtype=np.float64):
    return mg.Tensor(np.array(values, dtype=dtype), requires_grad=True)


def micrograd_more_ops(lib, tensor):
    """micrograd's test_engine.test_more_ops, written once for minigrad and for torch."""
    a, b = tensor(-4.0), tensor(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return float(g.item()), float(a.grad), float(b.grad)


def micrograd_sanity_check(lib, tensor):
    """micrograd's test_engine.test_sanity_check."""
    x = tensor(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return float(y.item()), float(x.grad)


def test_micrograds_engine_tests_give_micrograds_numbers():
    value, a_grad, b_grad = micrograd_more_ops(mg, lambda v: leaf(v))
    # micrograd's README: g.data 24.7041, a.grad 138.8338, b.grad 645.5773
    assert value == pytest.approx(24.70408163265306, rel=1e-14)
    assert a_grad == pytest.approx(138.83381924198252, rel=1e-14)
    assert b_grad == pytest.approx(645.5772594752186, rel=1e-14)
    assert micrograd_sanity_check(mg, lambda v: leaf(v)) == (-20.0, 46.0)


def test_micrograds_engine_tests_match_pytorch():
    torch = pytest.importorskip("torch")

    def torch_tensor(v):
        return torch.tensor(v, dtype=torch.float64, requires_grad=True)

    np.testing.assert_allclose(micrograd_more_ops(mg, leaf), micrograd_more_ops(torch, torch_tensor),
                               rtol=1e-14)
    np.testing.assert_allclose(micrograd_sanity_check(mg, leaf),
                               micrograd_sanity_check(torch, torch_tensor), rtol=1e-14)


@pytest.mark.parametrize("apply, expected_value, expected_grad", [
    (lambda c, x: c.__iadd__(x), [3.0, 5.0], [1.0, 1.0]),
    (lambda c, x: c.__isub__(x), [1.0, 1.0], [-1.0, -1.0]),
    (lambda c, x: c.__imul__(x), [2.0, 6.0], [2.0, 3.0]),
    (lambda c, x: c.__itruediv__(x), [2.0, 1.5], [-2.0, -0.75]),
    (lambda c, x: c.__ipow__(x), [2.0, 9.0], [2 * np.log(2.0), 9 * np.log(3.0)]),
], ids=["+=", "-=", "*=", "/=", "**="])
def test_each_in_place_operator_is_recorded_on_an_intermediate(apply, expected_value, expected_grad):
    x = leaf([1.0, 2.0])
    a = leaf([1.0, 1.0])
    c = a * 2 + np.array([0.0, 1.0])      # an intermediate: [2, 3]
    same = c
    result = apply(c, x)
    assert result is same and c.grad_fn is not None
    np.testing.assert_allclose(c.data, expected_value)
    c.sum().backward()
    np.testing.assert_allclose(x.grad, expected_grad, rtol=1e-14)


def test_ops_that_used_the_old_value_keep_their_gradient():
    a = leaf([1.0, 2.0])
    b = a * 2
    e = b.exp()                           # Exp saved its output, and b's old value feeds it
    b += 1
    (e + b).sum().backward()
    np.testing.assert_allclose(a.grad, 2 * np.exp(2 * np.array([1.0, 2.0])) + 2, rtol=1e-14)


def test_the_tensor_object_itself_stands_for_the_new_value():
    a = leaf([1.0, 2.0])
    b = a * 1.0
    alias = b
    b *= 3
    assert alias is b and alias.grad_fn is b.grad_fn
    np.testing.assert_array_equal(alias.data, [3.0, 6.0])


def test_a_leaf_that_requires_grad_cannot_be_changed_in_place_while_recording():
    w = leaf([1.0, 2.0])
    for change in (lambda: w.__iadd__(1.0), lambda: w.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match="leaf that requires grad.*no_grad"):
            change()
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert w._version == 0


def test_in_place_keeps_the_tensors_dtype_and_shape():
    c = leaf([1.0, 2.0], dtype=np.float32) * 1
    c += leaf([1.0, 1.0])                  # float64 operand: c stays float32, as numpy's in place
    assert c.dtype == np.float32
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*shape \(2,\)"):
        c += leaf([[1.0, 1.0], [1.0, 1.0]])


def test_a_recorded_in_place_change_of_a_view_or_a_viewed_tensor_is_refused():
    a = leaf([1.0, 2.0, 3.0])
    b = a * 1
    v = b[0:2]
    with pytest.raises(RuntimeError, match="has views"):
        b += 1
    with pytest.raises(RuntimeError, match="is a view"):
        v += 1


def test_set_item_is_recorded_for_value_and_tensor():
    a = leaf([1.0, 2.0, 3.0])
    v = leaf(10.0)
    b = a * 2
    b[1] = v * 3
    np.testing.assert_array_equal(b.data, [2.0, 30.0, 6.0])
    (b * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 0.0, 6.0])   # position 1 was overwritten
    assert v.grad == 6.0


@pytest.mark.parametrize("index", [np.array([0, 2]), np.array([True, False, True]),
                                   (slice(0, 2),)], ids=["integers", "mask", "slice"])
def test_set_item_with_array_and_slice_indices_matches_pytorch_or_the_formula(index):
    a = leaf([1.0, 2.0, 3.0])
    v = leaf(5.0)
    b = a * 1
    b[index] = v                          # a 0-d value, broadcast over the indexed places
    weights = np.array([1.0, 10.0, 100.0])
    (b * weights).sum().backward()
    written = np.zeros(3, dtype=bool)
    written[index] = True
    np.testing.assert_array_equal(a.grad, np.where(written, 0.0, weights))
    assert v.grad == pytest.approx(weights[written].sum())


def test_under_no_grad_in_place_changes_write_the_array_and_are_tracked():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()                      # Mul saves x
    with mg.no_grad():
        x[0] = 7.0
    assert x.data[0] == 7.0
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


def test_a_recorded_in_place_op_passes_gradcheck_and_gradgradcheck():
    def fn(a, b):
        c = a * b
        c += a * a
        c[0] = c[1] * b[0]
        return c.sum()
    rng = np.random.default_rng(0)
    a, b = leaf(rng.normal(size=3)), leaf(rng.normal(size=3))
    assert mg.gradcheck(fn, (a, b))
    assert mg.gradgradcheck(fn, (a, b))
