"""Shape, indexing and joining ops: values against numpy, first and second derivatives against
central finite differences in float64, on hypothesis-drawn shapes and arguments."""
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import assert_gradients, assert_values, axes, check_op, shapes, tensors


def same_call(method):
    """`x.method(*args)`, the same call for Tensors and numpy arrays."""
    def call(x, *args):
        return getattr(x, method)(*args)
    call.__name__ = call.__qualname__ = method
    return call


# -- reshape and friends -------------------------------------------------------

@st.composite
def reshape_targets(draw, shape):
    """A shape with as many elements as `shape`: its sides shuffled, some merged, maybe one -1."""
    sides = list(draw(st.permutations(shape)))
    merged = []
    for side in sides:
        if merged and draw(st.booleans()):
            merged[-1] *= side
        else:
            merged.append(side)
    if merged and draw(st.booleans()):
        merged[draw(st.integers(0, len(merged) - 1))] = -1
    return tuple(merged)


reshape_args = shapes().flatmap(lambda s: st.tuples(tensors(s), reshape_targets(s)))
test_reshape_to_a_drawn_shape_matches_numpy = check_op(
    same_call("reshape"), reshape_args, reference=same_call("reshape"))


def test_reshape_accepts_sides_as_separate_arguments():
    x = mg.Tensor(np.arange(6.0), requires_grad=True)
    assert x.reshape(2, 3).shape == (2, 3)
    assert x.reshape((3, 2)).shape == (3, 2)
    assert_gradients(lambda x: x.reshape(3, -1), x)


test_flatten_matches_numpy = check_op(lambda x: x.flatten(), tensors(),
                                      reference=lambda x: x.flatten())
test_T_reverses_the_axes_like_numpy = check_op(lambda x: x.T, tensors(), reference=lambda x: x.T)


def permutation_maybe_negative(ndim):
    return st.permutations(range(ndim)).flatmap(
        lambda order: st.tuples(*[st.sampled_from((a, a - ndim)) for a in order]))


transpose_args = shapes().flatmap(lambda s: st.tuples(
    tensors(s), st.one_of(st.none(), permutation_maybe_negative(len(s)))))
test_transpose_with_drawn_axes_matches_numpy = check_op(
    lambda x, order: x.transpose(order) if order is not None else x.transpose(),
    transpose_args, reference=lambda x, order: np.transpose(x, order))


def test_transpose_accepts_axes_as_separate_arguments():
    x = mg.Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    assert_values(lambda x: x.transpose(2, 0, 1), lambda x: x.transpose(2, 0, 1), x)
    assert_gradients(lambda x: x.transpose(2, 0, 1), x)


swapaxes_args = shapes(min_dims=1).flatmap(lambda s: st.tuples(
    tensors(s), st.integers(-len(s), len(s) - 1), st.integers(-len(s), len(s) - 1)))
test_swapaxes_matches_numpy = check_op(same_call("swapaxes"), swapaxes_args,
                                       reference=same_call("swapaxes"))


def broadcast_target(shape):
    """A shape that `shape` broadcasts to."""
    return hnp.mutually_broadcastable_shapes(num_shapes=1, base_shape=shape, max_side=4).map(
        lambda drawn: drawn.result_shape)


broadcast_to_args = shapes(max_dims=3).flatmap(lambda s: st.tuples(tensors(s), broadcast_target(s)))
test_broadcast_to_a_drawn_shape_matches_numpy = check_op(mg.broadcast_to, broadcast_to_args,
                                                         reference=np.broadcast_to)


def test_broadcast_to_sums_the_gradient_over_the_new_axes():
    x = mg.Tensor([[1.0], [2.0]], requires_grad=True)
    mg.broadcast_to(x, (3, 2, 4)).backward(np.ones((3, 2, 4)))
    np.testing.assert_array_equal(x.grad, [[12.0], [12.0]])


# -- indexing ------------------------------------------------------------------

def index_x(x, index):
    return x[index]


basic_index_args = shapes().flatmap(lambda s: st.tuples(
    tensors(s), hnp.basic_indices(s, allow_newaxis=True, allow_ellipsis=True)))
test_getitem_with_basic_indices_matches_numpy = check_op(index_x, basic_index_args,
                                                         reference=index_x)

integer_array_args = shapes(min_dims=1).flatmap(lambda s: st.tuples(
    tensors(s), hnp.integer_array_indices(s, result_shape=shapes(min_dims=1, max_dims=2))))
test_getitem_with_integer_arrays_matches_numpy = check_op(index_x, integer_array_args,
                                                          reference=index_x)


@st.composite
def first_axis_index_with_repeats(draw):
    shape = draw(shapes(min_dims=1, max_dims=3))
    n = shape[0]
    picks = draw(st.lists(st.integers(-n, n - 1), min_size=2, max_size=6))
    return draw(tensors(shape)), picks + picks[:1]   # the first index at least twice


test_getitem_with_a_list_of_repeated_indices_matches_numpy = check_op(
    lambda x, picks: x[picks], first_axis_index_with_repeats(),
    reference=lambda x, picks: x[picks])


@pytest.mark.parametrize("index", [
    [0, 0, 2],                          # a list
    np.array([0, 0, 2]),                # an integer array
    mg.Tensor(np.array([0, 0, 2])),     # an integer tensor
    np.array([[0, 2], [0, 0]]),         # a 2-D integer array
    (np.array([0, 0, 2]),),             # inside a tuple
])
def test_getitem_repeated_indices_accumulate_their_gradients(index):
    x = mg.Tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    x[index].sum().backward()
    counts = np.bincount(np.asarray(index if not isinstance(index, mg.Tensor) else index.data)
                         .ravel(), minlength=4)
    assert counts[0] >= 2   # the case really has repeats
    np.testing.assert_array_equal(x.grad, counts.astype(float))


def test_getitem_mixed_slice_and_repeated_indices_accumulate():
    x = mg.Tensor(np.zeros((2, 3)), requires_grad=True)
    x[:, [1, 1, -1]].backward(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    np.testing.assert_array_equal(x.grad, [[0.0, 3.0, 3.0], [0.0, 9.0, 6.0]])


def test_getitem_with_ellipsis_none_and_negative_index():
    x = mg.Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    out = x[..., None, -1]
    np.testing.assert_array_equal(out.data, x.data[..., None, -1])
    out.backward(np.ones(out.shape))
    expected = np.zeros((2, 3, 4))
    expected[..., -1] = 1.0
    np.testing.assert_array_equal(x.grad, expected)


# -- concatenate and stack -----------------------------------------------------

@st.composite
def concatenate_args(draw):
    shape = draw(shapes(min_dims=1, max_dims=3))
    axis = draw(axes(len(shape), allow_none=False, allow_tuple=False))
    count = draw(st.integers(1, 3))
    parts = []
    for _ in range(count):
        part = list(shape)
        part[axis] = draw(st.integers(1, 3))
        parts.append(draw(tensors(tuple(part))))
    return tuple(parts) + (axis,)


def concatenate_call(*args):
    *parts, axis = args
    return mg.concatenate(parts, axis=axis)


test_concatenate_on_a_drawn_axis_matches_numpy = check_op(
    concatenate_call, concatenate_args(),
    reference=lambda *args: np.concatenate(args[:-1], args[-1]))


@st.composite
def stack_args(draw):
    shape = draw(shapes(max_dims=3))
    axis = draw(axes(len(shape) + 1, allow_none=False, allow_tuple=False))
    count = draw(st.integers(1, 3))
    return tuple(draw(tensors(shape)) for _ in range(count)) + (axis,)


def stack_call(*args):
    *parts, axis = args
    return mg.stack(parts, axis=axis)


test_stack_on_a_drawn_axis_matches_numpy = check_op(
    stack_call, stack_args(), reference=lambda *args: np.stack(args[:-1], args[-1]))


def test_concatenate_routes_each_slice_of_the_gradient_to_its_input():
    a = mg.Tensor(np.zeros((2, 1)), requires_grad=True)
    b = mg.Tensor(np.zeros((2, 2)), requires_grad=True)
    mg.concatenate([a, b], axis=-1).backward(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    np.testing.assert_array_equal(a.grad, [[1.0], [4.0]])
    np.testing.assert_array_equal(b.grad, [[2.0, 3.0], [5.0, 6.0]])


def test_stack_uses_the_same_tensor_twice_and_accumulates():
    a = mg.Tensor([1.0, 2.0], requires_grad=True)
    mg.stack([a, a * 3], axis=1).backward(np.array([[1.0, 10.0], [2.0, 20.0]]))
    np.testing.assert_array_equal(a.grad, [31.0, 62.0])
