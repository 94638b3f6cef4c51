"""The NumPy boundary (issue 11): numpy's functions and ufuncs on Tensors run as minigrad ops
(a Tensor in the graph, values as numpy's, gradients as finite differences), or raise a TypeError
naming the function; out= and where= are refused; conversions copy or share as numpy's do.
"""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import assert_gradients

RNG = np.random.default_rng(11)


def leaf(shape, low=-2.0, high=2.0, dtype=np.float64):
    return mg.Tensor(RNG.uniform(low, high, shape).astype(dtype), requires_grad=True)


def data_of(value):
    """Every Tensor inside `value` replaced by its array (for the numpy reference)."""
    if isinstance(value, mg.Tensor):
        return value.data
    if isinstance(value, (list, tuple)):
        return type(value)(data_of(v) for v in value)
    return value


# name, the call on Tensors/arrays, its inputs (fresh leaves each time)
CALLS = [
    ("dot", lambda x, w: np.dot(x, w), lambda: (leaf((2, 3)), leaf((3, 2)))),
    ("matmul", lambda x, w: np.matmul(x, w), lambda: (leaf((2, 3)), leaf((3,)))),
    ("inner", lambda a, b: np.inner(a, b), lambda: (leaf((2, 3)), leaf((4, 3)))),
    ("outer", lambda a, b: np.outer(a, b), lambda: (leaf((3,)), leaf((2, 2)))),
    ("sum", lambda x: np.sum(x, axis=0, keepdims=True), lambda: (leaf((2, 3)),)),
    ("sum dtype None out None", lambda x: np.sum(x, axis=1, dtype=None, out=None), lambda: (leaf((2, 3)),)),
    ("mean", lambda x: np.mean(x, axis=0), lambda: (leaf((2, 3)),)),
    ("max", lambda x: np.max(x, axis=1), lambda: (leaf((2, 3)),)),
    ("min", lambda x: np.min(x), lambda: (leaf((2, 3)),)),
    ("amax", lambda x: np.amax(x, axis=0, keepdims=True), lambda: (leaf((2, 3)),)),
    ("amin", lambda x: np.amin(x, axis=1), lambda: (leaf((2, 3)),)),
    ("prod", lambda x: np.prod(x, axis=1), lambda: (leaf((2, 3)),)),
    ("var", lambda x: np.var(x, axis=0, ddof=1), lambda: (leaf((3, 2)),)),
    ("std", lambda x: np.std(x, axis=1, keepdims=True), lambda: (leaf((2, 3)),)),
    ("cumsum", lambda x: np.cumsum(x, axis=1), lambda: (leaf((2, 3)),)),
    ("concatenate", lambda a, b: np.concatenate([a, b], axis=1), lambda: (leaf((2, 1)), leaf((2, 3)))),
    ("stack", lambda a, b: np.stack([a, b], axis=-1), lambda: (leaf((2, 3)), leaf((2, 3)))),
    ("hstack", lambda a, b: np.hstack([a, b]), lambda: (leaf((2, 1)), leaf((2, 3)))),
    ("vstack", lambda a, b: np.vstack([a, b]), lambda: (leaf((3,)), leaf((2, 3)))),
    ("where", lambda x, y: np.where(np.array(x) > 0, x, y), lambda: (leaf((2, 3)), leaf((3,)))),
    ("clip", lambda x: np.clip(x, -0.5, 0.5), lambda: (leaf((2, 3)),)),
    ("reshape", lambda x: np.reshape(x, (3, 2)), lambda: (leaf((2, 3)),)),
    ("transpose", lambda x: np.transpose(x, (1, 0, 2)), lambda: (leaf((2, 3, 2)),)),
    ("squeeze", lambda x: np.squeeze(x, axis=1), lambda: (leaf((2, 1, 3)),)),
    ("expand_dims", lambda x: np.expand_dims(x, 1), lambda: (leaf((2, 3)),)),
    ("broadcast_to", lambda x: np.broadcast_to(x, (2, 2, 3)), lambda: (leaf((2, 3)),)),
    ("linalg.norm", lambda x: np.linalg.norm(x, axis=1), lambda: (leaf((2, 3)),)),
    ("linalg.norm fro", lambda x: np.linalg.norm(x, "fro"), lambda: (leaf((2, 3)),)),
    ("einsum", lambda a, b: np.einsum("ij,kj->ik", a, b), lambda: (leaf((2, 3)), leaf((4, 3)))),
    ("square", lambda x: np.square(x), lambda: (leaf((2, 3)),)),
    ("abs", lambda x: np.abs(x), lambda: (leaf((2, 3), 0.2, 2.0),)),
    ("sin", lambda x: np.sin(x), lambda: (leaf((2, 3)),)),
    ("cos", lambda x: np.cos(x), lambda: (leaf((2, 3)),)),
    ("log1p", lambda x: np.log1p(x), lambda: (leaf((2, 3), 0.0, 2.0),)),
    ("expm1", lambda x: np.expm1(x), lambda: (leaf((2, 3)),)),
    ("flip", lambda x: np.flip(x, axis=0), lambda: (leaf((2, 3)),)),
    ("tile", lambda x: np.tile(x, (2, 1)), lambda: (leaf((2, 3)),)),
    ("repeat", lambda x: np.repeat(x, 2, axis=1), lambda: (leaf((2, 3)),)),
    ("pad", lambda x: np.pad(x, ((1, 0), (0, 2))), lambda: (leaf((2, 3)),)),
    ("trace", lambda x: np.trace(x), lambda: (leaf((3, 3)),)),
    ("diag", lambda x: np.diag(x), lambda: (leaf((3, 3)),)),
    ("diag of a vector", lambda x: np.diag(x, 1), lambda: (leaf((3,)),)),
    ("ravel", lambda x: np.ravel(x), lambda: (leaf((2, 3)),)),
    ("diff", lambda x: np.diff(x, axis=0), lambda: (leaf((3, 2)),)),
    ("round (gradient 0)", lambda x: np.round(x, 1) * x, lambda: (leaf((2, 3)),)),
    ("floor (gradient 0)", lambda x: np.floor(x) + x, lambda: (leaf((2, 3)),)),
    ("add.reduce", lambda x: np.add.reduce(x, axis=1), lambda: (leaf((2, 3)),)),
    ("multiply.reduce", lambda x: np.multiply.reduce(x), lambda: (leaf((2, 3)),)),
    ("maximum.reduce", lambda x: np.maximum.reduce(x, axis=None), lambda: (leaf((2, 3)),)),
    ("add.accumulate", lambda x: np.add.accumulate(x, axis=1), lambda: (leaf((2, 3)),)),
    ("ndarray times tensor", lambda x: np.arange(3.0) * x, lambda: (leaf((2, 3)),)),
]


@pytest.mark.parametrize("name, call, inputs", CALLS, ids=[c[0] for c in CALLS])
def test_numpy_function_on_tensors_is_an_op_in_the_graph(name, call, inputs):
    args = inputs()
    out = call(*args)
    assert isinstance(out, mg.Tensor) and out.requires_grad, f"np.{name} left the graph"
    expected = call(*data_of(args))
    assert isinstance(expected, np.ndarray) or np.isscalar(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
    assert out.dtype == np.asarray(expected).dtype
    assert_gradients(call, *args)


def test_split_functions_return_lists_of_tensors_in_the_graph():
    x = leaf((4, 3))
    for parts, expected in ((np.split(x, 2), np.split(x.data, 2)),
                            (np.array_split(x, 3, axis=1), np.array_split(x.data, 3, axis=1))):
        assert isinstance(parts, list) and all(isinstance(p, mg.Tensor) and p.requires_grad for p in parts)
        for part, want in zip(parts, expected):
            np.testing.assert_array_equal(part.data, want)
    sum(p.sum() * (i + 1) for i, p in enumerate(np.split(x, 2))).backward()
    np.testing.assert_array_equal(x.grad, [[1.0] * 3] * 2 + [[2.0] * 3] * 2)


def test_the_issue_example_np_dot_trains_w():
    x, w, b = leaf((4, 3)), leaf((3, 2)), leaf((2,))
    ((np.dot(x, w) + b) ** 2).sum().backward()
    expected = 2 * x.data.T @ (x.data @ w.data + b.data)
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12)


def test_where_with_a_tensor_condition_and_clip_with_tensor_bounds():
    x, low = leaf((5,)), mg.Tensor(np.full(5, -0.5), requires_grad=True)
    out = np.where(x > 0, x, 0.0)
    assert out.requires_grad
    np.testing.assert_array_equal(out.data, np.where(x.data > 0, x.data, 0.0))
    clipped = np.clip(x, low, 1.0)
    np.testing.assert_array_equal(clipped.data, np.clip(x.data, -0.5, 1.0))
    clipped.sum().backward()
    assert low.grad is not None and x.grad is not None


@pytest.mark.parametrize("call", [
    lambda x: np.sum(x, out=np.empty(())), lambda x: np.mean(x, axis=0, out=np.empty(3)),
    lambda x: np.exp(x, out=np.empty((2, 3))), lambda x: np.add(x, 1.0, out=np.empty((2, 3))),
    lambda x: np.cumsum(x, out=np.empty(6)), lambda x: np.dot(x, x.T, out=np.empty((2, 2))),
    lambda x: np.clip(x, 0, 1, out=np.empty((2, 3))),
], ids=["sum", "mean", "exp", "add", "cumsum", "dot", "clip"])
def test_an_out_array_is_refused_not_ignored(call):
    x = leaf((2, 3))
    with pytest.raises(TypeError, match="out="):
        call(x)


@pytest.mark.parametrize("call", [
    lambda x, m: np.sum(x, where=m), lambda x, m: np.mean(x, where=m),
    lambda x, m: np.exp(x, where=m), lambda x, m: np.max(x, where=m, initial=0.0),
], ids=["sum", "mean", "exp", "max"])
def test_a_where_mask_is_refused_not_ignored(call):
    x = leaf((2, 3))
    with pytest.raises(TypeError, match="where="):
        call(x, x.data > 0)


def test_dtype_keyword_casts_floats_and_refuses_integers():
    x = leaf((2, 3))
    out = np.sum(x, dtype=np.float32)
    assert out.dtype == np.float32 and out.requires_grad
    with pytest.raises(TypeError, match="only floating dtypes"):
        np.sum(x, dtype=np.int64)


@pytest.mark.parametrize("call, name", [
    (lambda x: np.sort(x), "numpy.sort"), (lambda x: np.linalg.inv(x), "numpy.linalg.inv"),
    (lambda x: np.arcsinh(x), "numpy.arcsinh"), (lambda x: np.cumprod(x), "numpy.cumprod"),
    (lambda x: np.pad(x, 1, mode="edge"), "mode 'edge'"), (lambda x: np.add.outer(x, x), "add.outer"),
])
def test_a_function_without_an_op_raises_a_type_error_naming_it(call, name):
    with pytest.raises(TypeError, match=name.replace(".", r"\.")) as info:
        call(leaf((2, 2)))
    assert ".numpy()" in str(info.value)


def test_a_function_without_gradient_that_would_give_floats_is_refused():
    with pytest.raises(TypeError, match="bincount.*floating values"):
        np.bincount(np.array([0, 1, 1]), weights=leaf((3,)))


def test_functions_without_gradient_give_numbers_or_tensors_without_gradient():
    x = leaf((2, 3))
    assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6
    assert np.allclose(x, x.data) is True or np.allclose(x, x.data)
    for result in (np.argmax(x, axis=1), np.isfinite(x), np.isclose(x, x.data), x > 0):
        assert isinstance(result, mg.Tensor) and not result.requires_grad
        assert result.dtype.kind in "bi"


def _conversions_and_constants():
    """numpy's explicit conversions (np.asarray: the data; np.array: a copy) and the *_like factories."""
    return {"array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray",
            "asarray_chkfinite", "asmatrix", "require", "zeros_like", "ones_like", "empty_like",
            "full_like", "info", "test", "show_config", "show_runtime"}


def _leaks(value):
    """An ndarray or float numpy scalar, or a floating Tensor cut off from the graph, anywhere in value."""
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, np.generic):
        return value.dtype.kind in "fc"
    if isinstance(value, mg.Tensor):
        return value.dtype.kind == "f" and not value.requires_grad
    if isinstance(value, (list, tuple)):
        return any(_leaks(v) for v in value)
    return False


def test_no_common_numpy_function_silently_returns_an_ndarray_for_a_tensor():
    """Walk dir(np) and dir(np.linalg): each callable that takes an array first, given a Tensor
    that requires grad (alone, and twice), returns a Tensor in the graph, a non-array value,
    or raises; it never returns a plain ndarray (a silent graph drop)."""
    skip = _conversions_and_constants()
    checked, leaks = 0, []
    for module, prefix in ((np, "np"), (np.linalg, "np.linalg")):
        for name in sorted(dir(module)):
            function = getattr(module, name)
            if name.startswith("_") or name in skip or isinstance(function, type) or not callable(function):
                continue
            for arity in (1, 2):
                x = mg.Tensor(np.array([[0.5, -1.2], [2.0, 0.7]]), requires_grad=True)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        result = function(*[x] * arity)
                except Exception:   # a TypeError from the boundary, or the arguments make no sense
                    continue
                checked += 1
                if _leaks(result):
                    leaks.append(f"{prefix}.{name} with {arity} Tensor(s) -> {type(result).__name__}")
    assert checked > 100
    assert not leaks, "numpy functions that dropped a Tensor from the graph:\n" + "\n".join(leaks)


def test_the_listed_functions_really_ran_as_ops_in_the_walk():
    """Guard for the walk above: these ran (not raised) with one Tensor and stayed in the graph."""
    x = mg.Tensor(np.array([[0.5, -0.2], [2.0, 0.7]]), requires_grad=True)
    for function in (np.sum, np.mean, np.max, np.prod, np.var, np.std, np.cumsum, np.transpose,
                     np.squeeze, np.linalg.norm, np.square, np.abs, np.sin, np.cos, np.log1p,
                     np.expm1, np.flip, np.trace, np.diag, np.ravel, np.copy):
        out = function(x)
        assert isinstance(out, mg.Tensor) and out.requires_grad, function.__name__


# -- conversions --------------------------------------------------------------------------------

def test_np_array_copies_and_np_asarray_shares():
    x = mg.Tensor([1.0, 2.0])
    snapshot = np.array(x)
    x.data[0] = 5.0
    assert snapshot[0] == 1.0 and not np.shares_memory(snapshot, x.data)
    assert np.shares_memory(np.asarray(x), x.data)
    assert np.array(x, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="without a copy"):
        np.array(x, dtype=np.float32, copy=False)
    w = leaf((2,))
    assert not np.shares_memory(np.array(w), w.data)


def test_numpy_refuses_a_tensor_that_requires_grad_without_a_copy():
    t1, t2 = leaf((2,)), leaf((2,))
    for convert in (lambda: np.array([t1, t2]), lambda: np.asarray(t1),
                    lambda: np.array([[t1[0], t2[1]]])):
        with pytest.raises(TypeError, match="requires grad.*minigrad.stack"):
            convert()
    joined = mg.stack([t1, t2])                   # the way that stays in the graph
    joined.sum().backward()
    np.testing.assert_array_equal(t1.grad, [1.0, 1.0])
    np.testing.assert_array_equal(np.array([t1.detach(), t2.detach()]),
                                  [t1.numpy(), t2.numpy()])   # detached: plain values


def test_iteration_float_int_format():
    scalar = mg.Tensor(2.71828, requires_grad=True)
    with pytest.raises(TypeError, match="0-d"):
        iter(scalar)
    with pytest.raises(TypeError, match="0-d"):
        list(scalar)
    assert float(scalar) == 2.71828 and int(scalar) == 2
    assert format(scalar, ".3f") == "2.718" and f"{scalar:.1e}" == "2.7e+00"
    assert format(mg.Tensor([[1.5]]), ".2f") == "1.50"
    assert format(mg.Tensor([1.0, 2.0])) == str(mg.Tensor([1.0, 2.0]))
    for bad in (lambda: float(mg.Tensor([1.0, 2.0])), lambda: int(mg.Tensor([1.0, 2.0])),
                lambda: format(mg.Tensor([1.0, 2.0]), ".2f")):
        with pytest.raises(TypeError, match=r"one element.*shape \(2,\)"):
            bad()
    rows = leaf((3, 2))
    parts = list(rows)
    assert len(parts) == 3 and all(p.requires_grad and p.shape == (2,) for p in parts)
    sum(p.sum() * i for i, p in enumerate(parts)).backward()
    np.testing.assert_array_equal(rows.grad, [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])


def test_float32_stays_float32_through_numpy_functions():
    x = leaf((2, 3), dtype=np.float32)
    for out in (np.sum(x, axis=0), np.var(x), np.linalg.norm(x), np.einsum("ij->j", x),
                np.dot(x, x.T), np.sin(x), np.pad(x, 1), np.cumsum(x), np.prod(x)):
        assert out.dtype == np.float32
