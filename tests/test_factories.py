"""Tensor factories (issue 11): numpy's values and shapes, dtype= and requires_grad=, float64 by
default, and rand/randn reproducible under manual_seed."""
import numpy as np
import pytest

import minigrad as mg

CASES = [
    (lambda **kw: mg.zeros(2, 3, **kw), np.zeros((2, 3))),
    (lambda **kw: mg.zeros((2, 3), **kw), np.zeros((2, 3))),
    (lambda **kw: mg.ones(4, **kw), np.ones(4)),
    (lambda **kw: mg.full((2, 2), 7.5, **kw), np.full((2, 2), 7.5)),
    (lambda **kw: mg.arange(5, **kw), np.arange(5.0)),
    (lambda **kw: mg.arange(1, 2, 0.25, **kw), np.arange(1, 2, 0.25)),
    (lambda **kw: mg.linspace(0, 1, 5, **kw), np.linspace(0, 1, 5)),
    (lambda **kw: mg.eye(3, **kw), np.eye(3)),
    (lambda **kw: mg.eye(2, 3, k=1, **kw), np.eye(2, 3, k=1)),
    (lambda **kw: mg.zeros_like(mg.Tensor(np.ones((2, 2))), **kw), np.zeros((2, 2))),
    (lambda **kw: mg.ones_like(np.zeros(3), **kw), np.ones(3)),
    (lambda **kw: mg.full_like(mg.Tensor([1.0, 2.0]), 3.0, **kw), np.full(2, 3.0)),
    (lambda **kw: mg.tensor([[1, 2], [3, 4]], **kw), np.array([[1.0, 2.0], [3.0, 4.0]])),
]


@pytest.mark.parametrize("make, expected", CASES)
@pytest.mark.parametrize("dtype", [None, np.float32])
def test_factories_match_numpy_and_take_dtype_and_requires_grad(make, expected, dtype):
    t = make(dtype=dtype, requires_grad=True)
    assert isinstance(t, mg.Tensor) and t.requires_grad and t.is_leaf
    assert t.dtype == (np.float64 if dtype is None else dtype)
    np.testing.assert_array_equal(t.data, expected.astype(t.dtype))
    assert not make().requires_grad


def test_empty_has_the_shape_and_dtype():
    t = mg.empty(2, 3, dtype=np.float32)
    assert t.shape == (2, 3) and t.dtype == np.float32


def test_tensor_copies_its_data():
    array = np.array([1.0, 2.0])
    t = mg.tensor(array)
    array[0] = 9.0
    assert t.data[0] == 1.0
    source = mg.Tensor([3.0], requires_grad=True)
    copy = mg.tensor(source)
    assert copy.is_leaf and not copy.requires_grad and not np.shares_memory(copy.data, source.data)


@pytest.mark.parametrize("draw", [mg.rand, mg.randn])
def test_rand_and_randn_are_reproducible_under_manual_seed(draw):
    mg.manual_seed(123)
    first = draw(3, 4)
    mg.manual_seed(123)
    second = draw((3, 4), dtype=np.float32, requires_grad=True)
    assert first.shape == (3, 4) and first.dtype == np.float64
    assert second.dtype == np.float32 and second.requires_grad
    np.testing.assert_allclose(second.data, first.data.astype(np.float32))
    assert not np.array_equal(draw(3, 4).data, first.data)


def test_rand_is_in_the_unit_interval_and_randn_is_standard_normal():
    mg.manual_seed(0)
    u, z = mg.rand(20000), mg.randn(20000)
    assert 0.0 <= u.data.min() and u.data.max() < 1.0
    assert abs(u.data.mean() - 0.5) < 0.01
    assert abs(z.data.mean()) < 0.03 and abs(z.data.std() - 1.0) < 0.03


def test_integer_dtype_without_grad_and_refused_with_grad():
    assert mg.arange(3, dtype=np.int64).dtype == np.int64
    with pytest.raises(TypeError, match="floating-point"):
        mg.zeros(2, dtype=np.int64, requires_grad=True)
