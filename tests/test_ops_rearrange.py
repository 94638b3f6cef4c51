"""Shape functions, products and norms of issue 11: values against numpy, first and second
derivatives against central finite differences (float64, hypothesis-drawn shapes), float32 kept.
"""
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import assume, given, settings

import minigrad as mg
from minigrad.testing import (assert_gradients, assert_values, axes, check_op, shapes, tensors,
                              untied_tensors)

FEW = settings(max_examples=12, deadline=None)


def both(fn_tensor, fn_array, *inputs):
    """Values against numpy and gradients of both orders against finite differences."""
    assert_values(fn_tensor, fn_array, *inputs)
    assert_gradients(fn_tensor, *inputs)


# -- shapes ------------------------------------------------------------------------------------

@FEW
@given(shapes(min_side=1, max_side=2).flatmap(lambda s: st.tuples(tensors(s), st.data())))
def test_squeeze_expand_dims_unsqueeze(args):
    x, data = args
    ones = tuple(i for i, n in enumerate(x.shape) if n == 1)
    axis = data.draw(st.one_of(st.none(), st.sampled_from(ones) if ones else st.none()))
    both(lambda x: x.squeeze(axis), lambda x: np.squeeze(x, axis), x)
    new = data.draw(st.integers(-x.ndim - 1, x.ndim))
    both(lambda x: x.expand_dims(new), lambda x: np.expand_dims(x, new), x)
    both(lambda x: x.unsqueeze(new), lambda x: np.expand_dims(x, new), x)


def test_squeeze_of_an_axis_that_is_not_one_raises_naming_it():
    with pytest.raises(ValueError, match=r"axis 1 .*shape \(1, 3\) has size 3"):
        mg.Tensor(np.ones((1, 3))).squeeze(1)


@FEW
@given(shapes(max_dims=3).flatmap(lambda s: st.tuples(
    tensors(s), st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple))))
def test_broadcast_to_and_tile(args):
    x, extra = args
    target = extra + x.shape
    both(lambda x: x.broadcast_to(target), lambda x: np.broadcast_to(x, target), x)
    reps = (extra + (2,))[-max(1, len(extra)):]
    both(lambda x: x.tile(reps), lambda x: np.tile(x, reps), x)


@FEW
@given(shapes(min_dims=1, max_dims=3).flatmap(lambda s: st.tuples(
    tensors(s), st.one_of(st.none(), st.integers(0, len(s) - 1)), st.integers(1, 3), st.data())))
def test_repeat_with_an_int_and_with_counts(args):
    x, axis, n, data = args
    both(lambda x: x.repeat(n, axis=axis), lambda x: np.repeat(x, n, axis=axis), x)
    length = x.size if axis is None else x.shape[axis]
    counts = data.draw(st.lists(st.integers(0, 3), min_size=length, max_size=length))
    both(lambda x: x.repeat(counts, axis=axis), lambda x: np.repeat(x, counts, axis=axis), x)


@FEW
@given(shapes(min_dims=1).flatmap(lambda s: st.tuples(tensors(s), axes(len(s)), st.data())))
def test_flip_swapaxes_moveaxis_ravel(args):
    x, axis, data = args
    both(lambda x: x.flip(axis), lambda x: np.flip(x, axis), x)
    a, b = data.draw(st.integers(0, x.ndim - 1)), data.draw(st.integers(-x.ndim, x.ndim - 1))
    both(lambda x: x.swapaxes(a, b), lambda x: np.swapaxes(x, a, b), x)
    both(lambda x: x.moveaxis(a, b), lambda x: np.moveaxis(x, a, b), x)
    both(lambda x: x.ravel(), np.ravel, x)


@FEW
@given(shapes(min_dims=1, max_dims=3).flatmap(lambda s: st.tuples(
    tensors(s), st.integers(0, len(s) - 1), st.integers(1, 4))))
def test_split_and_array_split_return_lists_of_tensors(args):
    x, axis, sections = args
    parts = mg.array_split(x, sections, axis=axis)
    expected = np.array_split(x.data, sections, axis=axis)
    assert len(parts) == len(expected)
    for part, want in zip(parts, expected):
        assert isinstance(part, mg.Tensor) and part.requires_grad
        np.testing.assert_array_equal(part.data, want)
    weights = [np.arange(p.size, dtype=float).reshape(p.shape) for p in parts]
    assert_gradients(lambda x: mg.stack([(p * w).sum() for p, w in
                                         zip(mg.array_split(x, sections, axis=axis), weights)]), x)
    if x.shape[axis] % sections == 0:
        assert [p.shape for p in mg.split(x, sections, axis=axis)] == \
            [e.shape for e in np.split(x.data, sections, axis=axis)]
    else:
        with pytest.raises(ValueError, match="equal sections"):
            mg.split(x, sections, axis=axis)
    cut = [1] if x.shape[axis] > 1 else [0]
    assert [p.shape for p in mg.split(x, cut, axis=axis)] == \
        [e.shape for e in np.split(x.data, cut, axis=axis)]


@FEW
@given(shapes(min_dims=1, max_dims=3).flatmap(lambda s: st.tuples(
    tensors(s), st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=len(s),
                         max_size=len(s)), st.floats(-2, 2))))
def test_pad_constant(args):
    x, widths, value = args
    both(lambda x: x.pad(widths, constant_values=value),
         lambda x: np.pad(x, widths, constant_values=value), x)
    both(lambda x: mg.pad(x, 1), lambda x: np.pad(x, 1), x)


def test_pad_refuses_other_modes():
    with pytest.raises(TypeError, match="mode 'reflect'"):
        mg.pad(mg.Tensor([1.0, 2.0]), 1, mode="reflect")


test_clone_is_a_recorded_copy = check_op(lambda x: x.clone(), tensors(), reference=np.copy,
                                         max_examples=8)


def test_clone_and_copy_own_their_memory():
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    for copy in (x.clone(), x.copy()):
        assert copy.grad_fn is not None and not np.shares_memory(copy.data, x.data)
        copy.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


@FEW
@given(st.integers(1, 4), st.integers(1, 4), st.integers(-3, 3), st.data())
def test_diag_diagonal_trace(rows, cols, k, data):
    m = data.draw(tensors((rows, cols)))
    both(lambda m: mg.diag(m, k), lambda m: np.diag(m, k), m)
    both(lambda m: m.trace(k), lambda m: np.trace(m, k), m)
    v = data.draw(tensors((rows,)))
    both(lambda v: mg.diag(v, k), lambda v: np.diag(v, k), v)
    cube = data.draw(tensors((2, rows, cols)))
    both(lambda c: c.diagonal(k, 1, 2), lambda c: np.diagonal(c, k, 1, 2), cube)


# -- products ----------------------------------------------------------------------------------

@FEW
@given(st.sampled_from([((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)),
                        ((2, 2, 3), (3, 2)), ((2, 3), (4, 3, 2)), ((2, 2, 3), (3,)), ((), (2, 3))]),
       st.data())
def test_dot_on_every_shape_rule(shapes_, data):
    a, b = data.draw(tensors(shapes_[0])), data.draw(tensors(shapes_[1]))
    both(mg.dot, np.dot, a, b)


@FEW
@given(st.sampled_from([((3,), (3,)), ((2, 3), (3,)), ((2, 3), (4, 3)), ((2, 2, 3), (3,)), ((), (2,))]),
       st.data())
def test_inner_and_outer(shapes_, data):
    a, b = data.draw(tensors(shapes_[0])), data.draw(tensors(shapes_[1]))
    both(mg.inner, np.inner, a, b)
    both(mg.outer, np.outer, a, b)


EINSUMS = [("ij,jk->ik", [(2, 3), (3, 4)]), ("i,i", [(3,), (3,)]), ("ij->", [(2, 3)]),
           ("ij->ji", [(2, 3)]), ("ii->", [(3, 3)]), ("ii->i", [(3, 3)]), ("ij,jk", [(2, 3), (3, 2)]),
           ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 2)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 1)]),
           ("i,j->ij", [(2,), (3,)]), ("ij,ij->i", [(2, 3), (2, 3)]), ("ijk->ki", [(2, 3, 2)]),
           ("i,ij,j->", [(2,), (2, 3), (3,)]), ("iij->j", [(2, 2, 3)])]


@pytest.mark.parametrize("spec, shapes_", EINSUMS, ids=[e[0] for e in EINSUMS])
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_einsum_matches_numpy_to_second_order(spec, shapes_, data):
    operands = [data.draw(tensors(s)) for s in shapes_]
    both(lambda *ops: mg.einsum(spec, *ops), lambda *ops: np.einsum(spec, *ops), *operands)


def test_einsum_keeps_float32_with_a_repeated_label():
    x = mg.Tensor(np.eye(3, dtype=np.float32) * 2, requires_grad=True)
    out = mg.einsum("ii->", x)
    assert out.dtype == np.float32 and out.item() == 6.0
    out.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, np.eye(3))


# -- norms -------------------------------------------------------------------------------------

VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 3, 0.5]


@pytest.mark.parametrize("ord", VECTOR_ORDS, ids=str)
@settings(max_examples=8, deadline=None)
@given(shapes(min_dims=1, max_dims=3).flatmap(lambda s: st.tuples(untied_tensors(s, low=0.2),
                                                                  st.integers(-len(s), len(s) - 1),
                                                                  st.booleans(), st.data())))
def test_vector_norms(ord, args):
    (x,), axis, keep, data = args
    signs = data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=x.size, max_size=x.size))
    x = mg.Tensor(x.data * np.reshape(signs, x.shape), requires_grad=True)   # |x| >= 0.2
    both(lambda x: x.norm(ord, axis=axis, keepdims=keep),
         lambda x: np.linalg.norm(x, ord, axis=axis, keepdims=keep), x)


@pytest.mark.parametrize("ord", [None, "fro", 1, -1, np.inf, -np.inf], ids=str)
@settings(max_examples=8, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.booleans(), st.data())
def test_matrix_norms(ord, rows, cols, keep, data):
    (m,) = data.draw(untied_tensors((2, rows, cols), low=0.2))
    if ord in (1, -1, np.inf, -np.inf):   # the sums compared must not tie
        sums = np.sort(np.abs(m.data).sum(axis=1 if ord in (1, -1) else 2), axis=-1)
        assume(np.all(np.diff(sums, axis=-1) > 0.05))
    both(lambda m: m.norm(ord, axis=(1, 2), keepdims=keep),
         lambda m: np.linalg.norm(m, ord, axis=(1, 2), keepdims=keep), m)
    both(lambda m: m[0].norm(ord), lambda m: np.linalg.norm(m[0], ord), m)


def test_norm_subgradients_at_zero_are_zero_like_pytorch():
    for ord in (None, 2, 3, 0.5):
        x = mg.Tensor(np.zeros(3), requires_grad=True)
        x.norm(ord).backward()
        np.testing.assert_array_equal(x.grad, np.zeros(3))
    x = mg.Tensor([0.0, 3.0, 4.0], requires_grad=True)
    x.norm(0.5).backward()
    assert x.grad[0] == 0.0 and np.all(np.isfinite(x.grad))
    x = mg.Tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    x.norm(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.0], [0.6, 0.8]], rtol=1e-15)


def test_norm_count_of_non_zeros_and_refused_singular_value_norms():
    x = mg.Tensor([0.0, 2.0, -1.0], requires_grad=True)
    assert x.norm(0).item() == 2.0 and not x.norm(0).requires_grad
    with pytest.raises(TypeError, match="ord=2 on a matrix"):
        mg.Tensor(np.ones((2, 2)), requires_grad=True).norm(2)
    with pytest.raises(TypeError, match="'nuc'"):
        np.linalg.norm(mg.Tensor(np.ones((2, 2)), requires_grad=True), "nuc")


@pytest.mark.parametrize("ord", [None, 3, 0.5], ids=str)
@pytest.mark.parametrize("magnitude", [1e-25, 1e25])
def test_float32_norms_of_tiny_and_huge_values_neither_underflow_nor_overflow(ord, magnitude):
    x = mg.Tensor(np.array([3.0, -4.0], dtype=np.float32) * np.float32(magnitude), requires_grad=True)
    out = x.norm(ord)
    expected = np.linalg.norm(np.array([3.0, -4.0]), ord) * magnitude
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)
    out.backward()
    reference = mg.Tensor([3.0, -4.0], requires_grad=True)
    reference.norm(ord).backward()     # the gradient of a norm does not depend on the scale
    np.testing.assert_allclose(x.grad, reference.grad, rtol=1e-5)
    x = mg.Tensor(np.array([1.0, 1.0, 1.0 + 1e-3], dtype=np.float32) * np.float32(magnitude),
                  requires_grad=True)
    x.std().backward()
    assert np.all(np.isfinite(x.grad)) and np.abs(x.grad).max() > 0.1


@pytest.mark.parametrize("call", [lambda x: x.moveaxis(2, 0), lambda x: x.moveaxis(0, -3),
                                  lambda x: x.swapaxes(0, 2), lambda x: x.flip(2),
                                  lambda x: x.repeat(2, axis=-3), lambda x: mg.split(x, 1, axis=2),
                                  lambda x: x.cumsum(axis=2), lambda x: x.squeeze(3),
                                  lambda x: x.expand_dims(4), lambda x: x.norm(axis=2)])
def test_an_axis_out_of_range_raises_instead_of_wrapping(call):
    with pytest.raises(np.exceptions.AxisError, match="out of bounds"):
        call(mg.Tensor(np.ones((2, 1)), requires_grad=True))
