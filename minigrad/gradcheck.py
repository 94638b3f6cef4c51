"""Check analytic gradients against central finite differences, in float64.

`gradcheck(fn, inputs)` builds the whole Jacobian of fn twice: row by row
with reverse passes (analytic), and column by column with central differences
(numeric), and compares them entry by entry. A failure names one real
Jacobian entry, d output[i] / d input k[j], with both values, so it can be
recomputed by hand. It then re-checks each op of the graph on its own, in the
order the ops ran, and names the first whose backward disagrees with its
finite differences: that is the op to fix.

`gradgradcheck` does the same for second derivatives (the Jacobian of the
gradients), and names the first op whose backward is not itself
differentiable. `fast_mode=True` first compares one directional derivative per
input (two evaluations of fn each) and falls back to the entry-by-entry check
only to locate a failure.

fn runs with grad mode on throughout, so a function that itself calls
`minigrad.grad` (a gradient penalty) can be checked.
"""
import numpy as np

from .engine import Tensor, enable_grad, grad, graph_nodes
from .validation import check_flag

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
    return [Tensor(t.data.astype(np.float64) if t.dtype.kind == "f" else t.data,
                   requires_grad=c, name=t.name) for t, c in zip(tensors, checked)]


def _outputs(fn, leaves):
    """fn(*leaves) as a tuple of its floating-point output Tensors (fn may return a tuple)."""
    out = fn(*leaves)
    several = isinstance(out, tuple)
    outs = out if several else (out,)
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            where = f" (as output {i} of a tuple)" if several else ""
            raise TypeError(f"the function under check must return a Tensor, not "
                            f"{type(o).__name__}{where}; a tuple of Tensors is fine too")
    floating = tuple(o for o in outs if o.dtype.kind == "f")
    if not floating:
        dtypes = ", ".join(str(o.dtype) for o in outs) or "none"
        raise ValueError("gradcheck: nothing to compare, the function under check returned no "
                         f"floating-point Tensor (dtypes {dtypes})")
    return floating


def _flat_values(fn, leaves):
    """All of fn's outputs, flattened into one float64 vector."""
    outs = _outputs(fn, leaves)
    return np.concatenate([o.data.reshape(-1).astype(np.float64) for o in outs] + [np.zeros(0)])


def _analytic_jacobian(outs, leaves, checked):
    """Per checked input, its Jacobian as an array (outputs' total size, input size): one reverse pass a row."""
    rows = sum(o.size for o in outs)
    jacobians = [np.zeros((rows, leaves[k].size)) for k in checked]
    row = 0
    for out in outs:
        for j in range(out.size):
            if out.requires_grad:
                seed = np.zeros(out.shape, out.dtype)
                seed.flat[j] = 1
                grads = grad(out, [leaves[k] for k in checked], grad_outputs=seed,
                             retain_graph=True, allow_unused=True)
                for jacobian, g in zip(jacobians, grads):
                    if g is not None:
                        jacobian[row] = g.data.reshape(-1)
            row += 1
    return jacobians


def _numeric_jacobian(fn, leaves, k, eps):
    """Input k's Jacobian by central differences: one column per element, two evaluations each."""
    data = leaves[k].data
    columns = []
    for index in np.ndindex(data.shape):
        original = data[index]
        data[index] = original + eps
        plus = _flat_values(fn, leaves)
        data[index] = original - eps
        minus = _flat_values(fn, leaves)
        data[index] = original
        columns.append((plus - minus) / (2 * eps))
    if not columns:
        return np.zeros((_flat_values(fn, leaves).size, 0))
    return np.stack(columns, axis=1)


def _output_element(outs, row):
    """'output element (1, 2)' (or 'output 1 element (0,)' for a tuple) for a flat Jacobian row."""
    for position, out in enumerate(outs):
        if row < out.size:
            index = tuple(int(i) for i in np.unravel_index(row, out.shape))
            return f"output {position} element {index}" if len(outs) > 1 else f"output element {index}"
        row -= out.size
    raise AssertionError("row beyond the outputs")


def _compare(fn, leaves, eps, atol, rtol, label=""):
    """Compare fn's Jacobians entry by entry; return (message or None, the outputs of the analytic run)."""
    outs = _outputs(fn, leaves)
    checked = [k for k, t in enumerate(leaves) if t.requires_grad]
    analytic = _analytic_jacobian(outs, leaves, checked)
    for k, a in zip(checked, analytic):
        numeric = _numeric_jacobian(fn, leaves, k, eps)
        excess = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        excess[np.isnan(excess)] = np.inf   # a NaN on either side is a failure, never a pass
        if excess.size and excess.max() > 0:
            row, column = np.unravel_index(np.argmax(excess), excess.shape)
            shape = leaves[k].shape
            element = tuple(int(i) for i in np.unravel_index(column, shape))
            name = f" ('{leaves[k].name}')" if leaves[k].name else ""
            return (f"{label}gradient of input {k}{name}, shape {shape}, disagrees with finite "
                    f"differences at index {element}: the derivative of "
                    f"{_output_element(outs, row)} with respect to input {k} element {element} "
                    f"is analytic {a[row, column]:.10g}, numeric {numeric[row, column]:.10g} "
                    f"(atol={atol}, rtol={rtol}, eps={eps})"), outs
    return None, outs


def _directions_agree(fn, leaves, eps, atol, rtol, seed):
    """fast_mode: for each checked input k and random u, v, compare v . J_k u with its central difference."""
    rng = np.random.default_rng(seed)
    outs = _outputs(fn, leaves)
    weights = [rng.standard_normal(o.shape) for o in outs]
    checked = [k for k, t in enumerate(leaves) if t.requires_grad]
    live = [(o, w) for o, w in zip(outs, weights) if o.requires_grad]
    if live:
        grads = grad([o for o, _ in live], [leaves[k] for k in checked],
                     grad_outputs=[w for _, w in live], allow_unused=True)
    else:
        grads = [None] * len(checked)
    flat_weights = np.concatenate([w.reshape(-1) for w in weights] + [np.zeros(0)])
    for k, g in zip(checked, grads):
        data = leaves[k].data
        original = data.copy()
        direction = rng.standard_normal(data.shape)
        analytic = 0.0 if g is None else float(np.sum(g.data * direction))
        data[...] = original + eps * direction
        plus = flat_weights @ _flat_values(fn, leaves)
        data[...] = original - eps * direction
        minus = flat_weights @ _flat_values(fn, leaves)
        data[...] = original
        numeric = (plus - minus) / (2 * eps)
        if not abs(analytic - numeric) <= atol + rtol * abs(numeric):   # NaN fails too
            return False
    return True


def _single_op(node):
    """(function of the op's Tensor inputs that reruns just this op, float64 copies of those inputs)."""
    op, params = type(node), node._params
    args = [Tensor(t.data.copy(), requires_grad=t.requires_grad) if isinstance(t, Tensor) else t
            for t in node.inputs]
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]

    def single(*tensors):
        full = list(args)
        for p, t in zip(positions, tensors):
            full[p] = t
        return op.apply(*full, **params)
    single.__name__ = op.__name__
    return single, [args[p] for p in positions]


def _first_bad_op(outs, eps, atol, rtol, seed, order):
    """Check each op of the outputs' graph on its own inputs (its `order`-th derivatives); describe the first that fails."""
    for position, node in enumerate(graph_nodes(*outs), start=1):
        single, leaves = _single_op(node)
        try:
            # Second order is checked only once first order is right, and says which failed.
            message, _ = _compare(single, leaves, eps, atol, rtol)
            if message and order == 2:
                message = "its first-order backward is wrong already: " + message
            elif order == 2:
                message, _ = _compare(_first_order(single, leaves, seed), leaves, eps, atol, rtol,
                                      label="second order: ")
        except Exception as error:   # an op whose backward crashes is the culprit too
            message = f"its backward raised {type(error).__name__}: {error}"
        if message:
            return f"{type(node).__name__} (op {position} in the order they ran): {message}"
    return None


def _first_order(fn, leaves, seed):
    """ts -> the gradients of sum(w * fn(*ts)) for the checked inputs, recorded (create_graph=True).

    w is 1 for a single-element output (so the check is of true second
    derivatives), and fixed random weights (drawn from `seed`) otherwise.
    """
    checked = [k for k, t in enumerate(leaves) if t.requires_grad]
    outs = _outputs(fn, leaves)
    if sum(o.size for o in outs) == 1:
        weights = [np.ones(o.shape) for o in outs]
        label = ("the gradients of fn (one output per checked input), whose Jacobian is fn's "
                 "Hessian")
    else:
        rng = np.random.default_rng(seed + 1)
        weights = [rng.standard_normal(o.shape) for o in outs]
        label = f"the gradients of sum(w * fn) for fixed random weights w (seed {seed + 1})"

    def first_order(*ts):
        outs = _outputs(fn, ts)
        live = [(o, w) for o, w in zip(outs, weights) if o.requires_grad]
        grads = [None] * len(checked)
        if live:
            grads = grad([o for o, _ in live], [ts[k] for k in checked],
                         grad_outputs=[w for _, w in live], create_graph=True, allow_unused=True)
        return tuple(Tensor(np.zeros(ts[k].shape)) if g is None else g
                     for k, g in zip(checked, grads))
    first_order.label = label
    return first_order


def _check_arguments(eps, fast_mode, raise_exception, where):
    if not eps > 0:
        raise ValueError(f"{where}: eps must be a positive step, got {eps!r}")
    check_flag("fast_mode", fast_mode, where)
    check_flag("raise_exception", raise_exception, where)


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, fast_mode=False,
              raise_exception=True):
    """True if fn's analytic Jacobian matches central finite differences, else GradcheckError.

    fn: a function of Tensors returning a Tensor or a tuple of Tensors.
    inputs: Tensors or arrays; those that require grad (all floating ones, if
        none do) are checked, on float64 copies (the originals are untouched).
    eps: the finite-difference step; an entry passes when
        |analytic - numeric| <= atol + rtol * |numeric|.
    seed: seeds the random directions of fast_mode.
    fast_mode: first compare, per input, one directional derivative v . J u
        (u, v random) with (v . fn(x + eps u) - v . fn(x - eps u)) / (2 eps);
        if all agree, return True; otherwise run the entry-by-entry check,
        which locates and reports the failure (and is the verdict).
    raise_exception: if False, return False instead of raising GradcheckError.

    The error names the input, a Jacobian entry d output[i] / d input k[j]
    with its analytic and numeric values, and the first op of fn's graph
    whose own backward disagrees with its finite differences (with one of
    that op's own Jacobian entries). fn runs with grad mode on.
    """
    _check_arguments(eps, fast_mode, raise_exception, "gradcheck")
    leaves = _float64_leaves(inputs)
    with enable_grad():
        if fast_mode and _directions_agree(fn, leaves, eps, atol, rtol, seed):
            return True
        message, outs = _compare(fn, leaves, eps, atol, rtol)
        if message is None:
            return True
        culprit = _first_bad_op(outs, eps, atol, rtol, seed, order=1)
    if culprit:
        message += f"\nfirst op whose own backward disagrees: {culprit}"
    if not raise_exception:
        return False
    raise GradcheckError(message)


def gradgradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, fast_mode=False,
                  raise_exception=True):
    """Check second derivatives: gradcheck of x -> the gradients of sum(w * fn(x)), built with create_graph=True.

    w is 1 when fn returns a single element (the checked Jacobian is then the
    Hessian itself), and fixed random weights drawn from `seed` otherwise.
    Arguments are gradcheck's. On failure the error names a Jacobian entry of
    those gradients ("output k" is the gradient of input k) and the first op
    of fn's graph whose backward is not itself differentiable (a backward in
    plain numpy, one reading a saved array that is neither an input nor the
    output, or a first-order-only one), checked on its own.
    """
    _check_arguments(eps, fast_mode, raise_exception, "gradgradcheck")
    leaves = _float64_leaves(inputs)
    with enable_grad():
        first_order = _first_order(fn, leaves, seed)
        if fast_mode and _directions_agree(first_order, leaves, eps, atol, rtol, seed + 2):
            return True
        label = f"second order, checking {first_order.label}; "
        try:
            message, _ = _compare(first_order, leaves, eps, atol, rtol, label=label)
        except RuntimeError as error:   # a first-order-only backward refuses to be differentiated
            message = f"second order: differentiating the gradients raised: {error}"
        if message is None:
            return True
        culprit = _first_bad_op(_outputs(fn, leaves), eps, atol, rtol, seed, order=2)
    if culprit:
        message += f"\nfirst op whose backward is wrong or not differentiable: {culprit}"
    if not raise_exception:
        return False
    raise GradcheckError(message)
