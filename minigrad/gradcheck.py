"""Check analytic gradients against central finite differences, in float64.

`gradcheck(fn, inputs)` compares the gradient minigrad computes for
`sum(fn(*inputs) * v)`, with a fixed random `v`, against central differences
of the same sum. When the check fails, it also re-checks each op of the graph
on its own, in the order the ops ran, and names the first whose backward
disagrees with its finite differences: that is the op to fix.
"""
import numpy as np

from .engine import Tensor, enable_grad, grad, graph_nodes, no_grad
from .ops import concatenate

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with finite differences."""


def _float64_leaves(inputs):
    """float64 copies of `inputs`; the ones that required grad (or all, if none did) are checked."""
    if isinstance(inputs, (Tensor, np.ndarray)):
        inputs = (inputs,)
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in inputs]
    checked = [t.requires_grad for t in tensors]
    if not any(checked):
        checked = [t.dtype.kind == "f" for t in tensors]
    if not any(checked):
        raise ValueError("gradcheck: nothing to check, no input is a floating-point tensor "
                         f"(got dtypes {', '.join(str(t.dtype) for t in tensors) or 'none'})")
    leaves = [Tensor(t.data.astype(np.float64) if t.dtype.kind == "f" else t.data,
                     requires_grad=c, name=t.name) for t, c in zip(tensors, checked)]
    return leaves


def _as_tensor(out):
    if not isinstance(out, Tensor):
        raise TypeError(f"the function under check must return a Tensor, not {type(out).__name__}")
    return out


def _numeric_grad(f, leaf, eps):
    """Central differences of the scalar function f() with respect to leaf's entries."""
    data = leaf.data
    result = np.zeros_like(data)
    for index in np.ndindex(data.shape):
        original = data[index]
        data[index] = original + eps
        plus = f()
        data[index] = original - eps
        minus = f()
        data[index] = original
        result[index] = (plus - minus) / (2 * eps)
    return result


def _compare(fn, leaves, eps, atol, rtol, seed, label=""):
    """Return None if fn's gradients match, else (message, input index)."""
    rng = np.random.default_rng(seed)
    out = _as_tensor(fn(*leaves))
    weights = rng.standard_normal(out.shape)
    checked = [i for i, t in enumerate(leaves) if t.requires_grad]
    if not out.requires_grad:
        analytic = [np.zeros_like(leaves[i].data) for i in checked]
    else:
        grads = grad(out, [leaves[i] for i in checked], grad_outputs=weights,
                     retain_graph=True, allow_unused=True)
        analytic = [np.zeros_like(leaves[i].data) if g is None else g.data for i, g in zip(checked, grads)]

    def projected():
        with no_grad():
            return float(np.sum(_as_tensor(fn(*leaves)).data * weights))

    for i, a in zip(checked, analytic):
        numeric = _numeric_grad(projected, leaves[i], eps)
        error = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and error.max() > 0:
            worst = np.unravel_index(np.argmax(error), error.shape)
            name = f" ('{leaves[i].name}')" if leaves[i].name else ""
            return (f"{label}gradient of input {i}{name}, shape {a.shape}, disagrees with finite "
                    f"differences at index {tuple(int(k) for k in worst)}: analytic "
                    f"{a[worst]:.10g}, numeric {numeric[worst]:.10g} "
                    f"(atol={atol}, rtol={rtol}, eps={eps})"), out
    return None, out


def _first_bad_op(out, eps, atol, rtol, seed):
    """Check each op of out's graph on its own inputs; describe the first that fails."""
    for position, node in enumerate(graph_nodes(out), start=1):
        op = type(node)
        args = [Tensor(t.data.copy(), requires_grad=t.requires_grad) if isinstance(t, Tensor) else t
                for t in node.inputs]
        leaves = [a for a in args if isinstance(a, Tensor)]
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]

        def single(*ts, _args=args, _pos=positions, _op=op, _params=node._params):
            full = list(_args)
            for p, t in zip(_pos, ts):
                full[p] = t
            return _op.apply(*full, **_params)
        try:
            message, _ = _compare(single, leaves, eps, atol, rtol, seed)
        except Exception as error:   # an op whose backward crashes is the culprit too
            message = f"its backward raised {type(error).__name__}: {error}"
        if message:
            return f"{op.__name__} (op {position} in the order they ran): {message}"
    return None


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """True if fn's analytic gradients match central finite differences, else GradcheckError.

    `inputs` are Tensors or arrays; those that require grad (all floating ones,
    if none do) are checked, on float64 copies. The error names the input, the
    worst element's index, both values, and the first op whose own backward
    disagrees with its finite differences.
    """
    if not eps > 0:
        raise ValueError(f"gradcheck: eps must be a positive step, got {eps!r}")
    leaves = _float64_leaves(inputs)
    message, out = _compare(fn, leaves, eps, atol, rtol, seed)
    if message is None:
        return True
    culprit = _first_bad_op(out, eps, atol, rtol, seed) if out.grad_fn is not None else None
    if culprit:
        message += f"\nfirst op whose own backward disagrees: {culprit}"
    raise GradcheckError(message)


def gradgradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check second derivatives: gradcheck of the first-order gradients (built with create_graph=True)."""
    leaves = _float64_leaves(inputs)
    out = _as_tensor(fn(*leaves))
    weights = np.random.default_rng(seed + 1).standard_normal(out.shape)
    checked = [i for i, t in enumerate(leaves) if t.requires_grad]

    def first_order(*ts):
        with enable_grad():   # the numeric pass runs under no_grad, but this needs a graph
            out = _as_tensor(fn(*ts))
            grads = grad(out, [ts[i] for i in checked], grad_outputs=weights, create_graph=True,
                         allow_unused=True)
        flat = [g.reshape(-1) for g in grads if g is not None]
        return concatenate(flat) if flat else Tensor(0.0)

    try:
        return gradcheck(first_order, leaves, eps=eps, atol=atol, rtol=rtol, seed=seed + 2)
    except GradcheckError as error:
        raise GradcheckError(f"second order: {error}") from None
