"""Random graphs, checked against finite differences: a hypothesis state machine.

It keeps a pool of tensors: float64 leaves (most require grad, some are constants) and the
results of random ops on them: unary functions, broadcasting binary ops (the same tensor may be
drawn twice, and every result goes back into the pool, so diamonds and reuse happen all the
time), matmul, reductions, reshapes, transposes and indexing, `detach()` and ops run under
`no_grad()`. Each pool entry also records how to recompute its value from the leaves in plain
numpy (a detached or no_grad result is a constant there). A backward from a random tensor with a
random seed gradient must then leave in every leaf's `.grad` the central finite differences of
`sum(seed * value)`, accumulated over all backwards so far; a leaf that the tensor does not
depend on (or only through detach or no_grad) keeps `.grad` None. A backward through buffers an
earlier backward released must raise and change nothing.

Kinks are avoided by not applying an op near one (relu near 0, maximum near a tie, division
near 0); values are kept moderate so differences stay accurate. Every run ends with one backward
from all of its tensors, so every op it kept is checked at least once.

It was checked against planted bugs, one at a time in a scratch copy: a wrong derivative in
tanh, sigmoid, softplus (even off by 0.01%), relu at 0, abs, pow, division, log_softmax, mean
over several axes, a 3-D transpose (not an involution), matmul of a vector, maximum's share, indexing with repeated
indices, unbroadcasting, a diamond overwriting instead of adding, and `.grad` not accumulating:
each made it fail. `pytest --hypothesis-show-statistics` shows which ops the runs kept.
"""
import operator

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import Phase, event, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import minigrad as mg
from minigrad.testing import axes

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

EPS = 1e-6
RTOL, ATOL = 1e-5, 1e-6
MAX_POOL = 14
LARGEST = 30.0          # results beyond this are not kept: they would blur the differences
MARGIN = 0.05           # distance kept from kinks


class Entry:
    """A pool tensor and how to recompute its value from the leaves.

    kind "leaf": `array` is the leaf's value; "const": a value frozen when made (detach,
    no_grad); "op": `fn(*inputs)`, each input an Entry or a plain constant.
    `deps`: the leaves requiring grad it depends on differentiably; `graph`: the op entries
    a backward from it walks through.
    """

    def __init__(self, tensor, kind, array=None, fn=None, inputs=(), label=""):
        self.tensor, self.kind, self.array, self.fn, self.inputs = tensor, kind, array, fn, inputs
        self.label = label
        tracked = [e for e in inputs if isinstance(e, Entry) and e.tensor.requires_grad]
        if kind == "leaf":
            self.deps = frozenset([self]) if tensor.requires_grad else frozenset()
            self.graph = frozenset()
        elif kind == "const" or not tensor.requires_grad:
            self.deps = self.graph = frozenset()
        else:
            self.deps = frozenset().union(*(e.deps for e in tracked))
            self.graph = frozenset([self]).union(*(e.graph for e in tracked))

    def value(self, leaf_values, memo):
        if self.kind == "leaf":
            return leaf_values.get(self, self.array)
        if self.kind == "const":
            return self.array
        if self not in memo:
            memo[self] = self.fn(*[e.value(leaf_values, memo) if isinstance(e, Entry) else e
                                   for e in self.inputs])
        return memo[self]

    def __repr__(self):
        return f"<{self.label} {self.tensor.shape}>"


def numeric_gradient(root, seed, leaf):
    """Central differences of sum(seed * root) with respect to each element of `leaf`."""
    base = leaf.array.copy()
    result = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        moved = []
        for step in (EPS, -EPS):
            value = base.copy()
            value[index] += step
            moved.append(np.sum(seed * root.value({leaf: value}, {})))
        result[index] = (moved[0] - moved[1]) / (2 * EPS)
    return result


def away_from_zero(v):
    return np.abs(v).min(initial=np.inf) > MARGIN


UNARY = {   # name: (may it be applied to these values?, minigrad op, numpy mirror)
    "exp": (lambda v: v.max(initial=0) < 3, lambda t: t.exp(), np.exp),
    "tanh": (None, lambda t: t.tanh(), np.tanh),
    "sigmoid": (None, lambda t: t.sigmoid(), lambda v: 1 / (1 + np.exp(-v))),
    "relu": (away_from_zero, lambda t: t.relu(), lambda v: np.maximum(v, 0)),
    "abs": (away_from_zero, abs, np.abs),
    "square": (None, lambda t: t ** 2, lambda v: v ** 2),
    "softplus": (None, lambda t: t.softplus(), lambda v: np.logaddexp(0, v)),
    "neg": (None, operator.neg, np.negative),
    "log_softmax": (None, lambda t: t.log_softmax(axis=-1),
                    lambda v: v - v.max(-1, keepdims=True)
                    - np.log(np.exp(v - v.max(-1, keepdims=True)).sum(-1, keepdims=True))),
}

BINARY = {
    "add": (None, operator.add, np.add),
    "sub": (None, operator.sub, np.subtract),
    "mul": (None, operator.mul, np.multiply),
    "div": (lambda a, b: np.abs(b).min(initial=np.inf) > 0.3, operator.truediv, np.true_divide),
    "maximum": (lambda a, b: np.abs(np.subtract(a, b)).min(initial=np.inf) > MARGIN,
                mg.maximum, np.maximum),
}

SHAPES = [(), (3,), (2, 3), (3, 1), (1, 3), (2, 1, 3), (2, 3, 2)]


def broadcastable(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def matmul_fits(a, b):
    return 1 <= len(a) <= 2 and 1 <= len(b) <= 2 and a[-1] == b[0 if len(b) == 1 else -2]


class RandomGraphs(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.pool = []
        self.expected = {}      # leaf entry -> accumulated gradient (None: no backward reached it)
        self.released = set()  # op entries whose buffers a backward freed

    # -- building --------------------------------------------------------------------------
    def add(self, entry):
        data = entry.tensor.data
        if not np.isfinite(data).all() or np.abs(data).max(initial=0) > LARGEST:
            return   # not kept; the graph node is simply dropped
        np.testing.assert_allclose(data, entry.value({}, {}), rtol=1e-10, atol=1e-12,
                                   err_msg=f"forward of {entry.label}")
        if len(self.pool) >= MAX_POOL:
            self.pool.pop(0)
        event(f"kept {entry.label.split()[-1]}")
        self.pool.append(entry)

    @initialize(data=st.data())
    def two_leaves(self, data):
        for _ in range(2):
            self.new_leaf(data, requires_grad=True)

    @rule(data=st.data(), requires_grad=st.booleans() | st.just(True))   # mostly True
    def new_leaf(self, data, requires_grad):
        shape = data.draw(st.sampled_from(SHAPES), label="shape")
        # Values from a seeded generator rather than drawn one by one: hypothesis favours 0 and
        # other round numbers, which sit on kinks and would make most ops be skipped.
        seed = data.draw(st.integers(0, 2**32 - 1), label="values seed")
        values = np.random.default_rng(seed).uniform(-2, 2, shape)
        tensor = mg.Tensor(values.copy(), requires_grad=requires_grad)
        entry = Entry(tensor, "leaf", array=values, label="leaf")
        if requires_grad:
            self.expected[entry] = None   # tracked even after it leaves the pool
        self.add(entry)

    def pick(self, data, candidates=None, label="tensor"):
        """A pool entry; newest first, so that draws (and shrinking) favour deep chains."""
        candidates = self.pool if candidates is None else candidates
        return data.draw(st.sampled_from(candidates[::-1]), label=label) if candidates else None

    def record(self, under_no_grad, make, fn, inputs, label):
        """Apply `make` (on tensors), mirrored by `fn` (on arrays); under no_grad: a constant."""
        tensors = [e.tensor if isinstance(e, Entry) else e for e in inputs]
        if under_no_grad:
            with mg.no_grad():
                out = make(*tensors)
            assert not out.requires_grad and out.grad_fn is None, f"{label} under no_grad"
            mirror = Entry(out, "op", fn=fn, inputs=inputs, label=label)
            np.testing.assert_allclose(out.data, mirror.value({}, {}), rtol=1e-10, atol=1e-12)
            self.add(Entry(out, "const", array=out.data.copy(), label=f"no_grad {label}"))
        else:
            out = make(*tensors)
            self.add(Entry(out, "op", fn=fn, inputs=inputs, label=label))

    @rule(data=st.data(), name=st.sampled_from(sorted(UNARY)), under_no_grad=st.booleans())
    def unary(self, data, name, under_no_grad, x=None):
        allowed, make, fn = UNARY[name]
        x = self.pick(data) if x is None else x
        if name == "log_softmax" and x.tensor.ndim == 0:
            return
        if allowed is None or allowed(x.tensor.data):
            self.record(under_no_grad, make, fn, [x], name)

    @rule(data=st.data(), names=st.lists(st.sampled_from(sorted(UNARY)), min_size=2, max_size=3))
    def unary_chain(self, data, names):
        x = self.pick(data)
        for name in names:
            self.unary(data, name, under_no_grad=False, x=x)
            x = self.pool[-1]   # the result if it was kept, else the latest tensor: either will do

    @rule(data=st.data(), name=st.sampled_from(sorted(BINARY)), under_no_grad=st.booleans())
    def binary(self, data, name, under_no_grad):
        allowed, make, fn = BINARY[name]
        a = self.pick(data, label="a")
        b = self.pick(data, [e for e in self.pool if broadcastable(a.tensor.shape, e.tensor.shape)],
                      label="b")   # may be `a` itself
        if allowed is None or allowed(a.tensor.data, b.tensor.data):
            self.record(under_no_grad, make, fn, [a, b], name)

    @rule(data=st.data(), name=st.sampled_from(["add", "sub", "mul", "div"]),
          constant=st.floats(0.3, 2) | st.floats(-2, -0.3), reflected=st.booleans())
    def with_a_constant(self, data, name, constant, reflected):
        allowed, make, fn = BINARY[name]
        x = self.pick(data)
        args = [constant, x] if reflected else [x, constant]
        if allowed is None or allowed(*[e.tensor.data if isinstance(e, Entry) else e for e in args]):
            self.record(False, make, fn, args, f"{name} constant")

    @rule(data=st.data())
    def matmul(self, data):
        a = self.pick(data, [e for e in self.pool if 1 <= e.tensor.ndim <= 2], label="a")
        if a is None:
            return
        b = self.pick(data, [e for e in self.pool if matmul_fits(a.tensor.shape, e.tensor.shape)],
                      label="b")
        if b is not None:
            self.record(False, operator.matmul, np.matmul, [a, b], "matmul")

    @rule(data=st.data(), mean=st.booleans(), keepdims=st.booleans())
    def reduce(self, data, mean, keepdims):
        x = self.pick(data)
        axis = data.draw(axes(x.tensor.ndim), label="axis")
        method = "mean" if mean else "sum"
        self.record(False, lambda t: getattr(t, method)(axis=axis, keepdims=keepdims),
                    lambda v: getattr(v, method)(axis=axis, keepdims=keepdims), [x], method)

    @rule(data=st.data())
    def reshape(self, data):
        x = self.pick(data)
        size = x.tensor.size
        shape = data.draw(st.sampled_from([(-1,), (size, 1), (1, size), x.tensor.shape[::-1]]),
                          label="new shape")
        self.record(False, lambda t: t.reshape(shape), lambda v: v.reshape(shape), [x], "reshape")

    @rule(data=st.data())
    def transpose(self, data):
        x = self.pick(data)
        n = x.tensor.ndim
        orders = st.permutations(range(n))
        if n >= 2:   # the rotations first: for 3-D, the permutations that are not their own inverse
            orders = st.sampled_from([tuple((i + k) % n for i in range(n)) for k in range(1, n)]) | orders
        order = tuple(data.draw(orders, label="axes"))
        self.record(False, lambda t: t.transpose(order), lambda v: v.transpose(order), [x],
                    "transpose")

    @rule(data=st.data())
    def index(self, data):
        x = self.pick(data, [e for e in self.pool if e.tensor.ndim >= 1])
        if x is None:
            return
        n = x.tensor.shape[0]
        index = data.draw(st.one_of(
            st.integers(0, n - 1),
            st.just(np.s_[::-1]),
            st.just(np.s_[..., :1]),
            st.lists(st.integers(0, n - 1), min_size=1, max_size=4).map(np.array),  # repeats
        ), label="index")
        self.record(False, lambda t: t[index], lambda v: v[index], [x], "getitem")

    @rule(data=st.data())
    def detach(self, data):
        x = self.pick(data)
        d = x.tensor.detach()
        assert not d.requires_grad and d.grad_fn is None
        assert np.shares_memory(d.data, x.tensor.data)       # shared, not copied
        self.add(Entry(d, "const", array=d.data.copy(), label="detach"))

    # -- backward ---------------------------------------------------------------------------
    def draw_root_and_seed(self, data):
        root = self.pick(data, [e for e in self.pool if e.tensor.requires_grad], label="root")
        if root is None:
            return None, None
        seed = data.draw(hnp.arrays(np.float64, root.tensor.shape, elements=st.floats(-1, 1)),
                         label="seed")
        return root, seed

    def expect_backward(self, root, seed, times=1):
        for leaf in root.deps:
            g = times * numeric_gradient(root, seed, leaf)
            self.expected[leaf] = g if self.expected[leaf] is None else self.expected[leaf] + g

    @rule(data=st.data(), retain=st.booleans())
    def backward(self, data, retain):
        root, seed = self.draw_root_and_seed(data)
        if root is None:
            return
        if root.graph & self.released:
            before = {leaf: None if leaf.tensor.grad is None else leaf.tensor.grad.copy()
                      for leaf in self.expected}
            with pytest.raises(RuntimeError, match=r"released.*retain_graph=True"):
                root.tensor.backward(seed, retain_graph=True)
            for leaf, grad in before.items():           # nothing accumulated
                if grad is None:
                    assert leaf.tensor.grad is None
                else:
                    np.testing.assert_array_equal(leaf.tensor.grad, grad)
            return
        root.tensor.backward(seed, retain_graph=retain)
        event(f"backward through {len(root.graph)} nodes to {len(root.deps)} leaves")
        self.expect_backward(root, seed)
        if not retain:
            self.released |= root.graph

    @rule(data=st.data())
    def backward_twice_then_once_too_often(self, data):
        root, seed = self.draw_root_and_seed(data)
        if root is None or not root.graph or root.graph & self.released:
            return
        before = {leaf: leaf.tensor.grad for leaf in root.deps}
        root.tensor.backward(seed, retain_graph=True)
        first = {leaf: leaf.tensor.grad.copy() for leaf in root.deps}
        root.tensor.backward(seed)                        # releases
        for leaf in root.deps:
            start = 0 if before[leaf] is None else before[leaf]
            np.testing.assert_allclose(leaf.tensor.grad - start, 2 * (first[leaf] - start),
                                       rtol=1e-12, atol=1e-12, err_msg="second backward")
        self.expect_backward(root, seed, times=2)
        self.released |= root.graph
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            root.tensor.backward(seed)

    def teardown(self):
        """Every run ends with one backward from all its tensors at once, so every op kept is checked."""
        roots = [e for e in self.pool if e.graph and not e.graph & self.released]
        if not roots:
            return
        rng = np.random.default_rng(len(self.pool))
        seeds = [rng.uniform(-1, 1, e.tensor.shape) for e in roots]
        total = sum((e.tensor * seed).sum() for e, seed in zip(roots, seeds))
        total.backward()
        event(f"final backward from {len(roots)} tensors")
        for e, seed in zip(roots, seeds):
            self.expect_backward(e, seed)
        self.every_leaf_holds_its_accumulated_gradient()

    @rule()
    def zero_grad(self):
        for leaf in self.expected:
            leaf.tensor.grad = None
            self.expected[leaf] = None

    # -- what must always hold --------------------------------------------------------------
    @invariant()
    def every_leaf_holds_its_accumulated_gradient(self):
        for leaf, expected in self.expected.items():
            grad = leaf.tensor.grad
            if expected is None:
                assert grad is None, f"{leaf} got a gradient no backward should have given it"
            else:
                assert grad is not None and grad.shape == leaf.tensor.shape, f"{leaf}: {grad}"
                np.testing.assert_allclose(grad, expected, rtol=RTOL, atol=ATOL,
                                           err_msg=f"gradient of {leaf}")

    @invariant()
    def requires_grad_is_what_the_graph_says(self):
        for entry in self.pool:
            assert entry.tensor.requires_grad == bool(entry.deps) or entry.kind == "leaf", entry


RandomGraphs.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])   # no slow "explain" phase
TestRandomGraphs = RandomGraphs.TestCase
