"""vjp, jvp, jacobian, hessian, vhp and hvp: torch.autograd.functional's six, on minigrad.grad.

Every product here is built from reverse passes (`minigrad.grad`):

- v^T J is one reverse pass seeded with v.
- J v (forward mode) uses the double-vjp construction: u -> J^T u is linear
  in u, so the vjp of that map with v is (J^T)^T v = J v. It needs the
  backwards of func's ops to be differentiable in their incoming gradient,
  which every built-in op's is. `_forward_product` is the one place that
  computes J v; an op's own `jvp(ctx, *tangents)` rule is used when it has one.
- J is one reverse pass per output element (seeded with a one-hot array).
- H is the Jacobian of the gradient (built with create_graph=True); H v is
  the forward product of the gradient; v^T H is its vjp.
"""
import numpy as np

from ..engine import Tensor, enable_grad, grad
from ..ops import stack
from ..validation import check_flag
from .forward_mode import forward_tangents, has_jvp_rules

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


# ---------------------------------------------------------------------------
# Conventions shared by all six: tuples in, tuples out, what is differentiable
# ---------------------------------------------------------------------------

def _as_tuple(value, what, where, arrays_allowed=True):
    """(was `value` a tuple, a tuple of Tensors); arrays become Tensors where allowed."""
    if isinstance(value, list):
        raise TypeError(f"{where}: {what} must be a Tensor, an array or a tuple of them, not a "
                        "list (write tuple(...) to pass several)")
    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    if is_tuple and not items:
        raise ValueError(f"{where}: {what} is an empty tuple")
    result = []
    for i, item in enumerate(items):
        if arrays_allowed and isinstance(item, (np.ndarray, np.generic)):
            item = Tensor(np.asarray(item))   # a numpy scalar (a 0-d result) counts as an array
        if not isinstance(item, Tensor):
            which = f"{what}[{i}]" if is_tuple else what
            kinds = "a Tensor or an array" if arrays_allowed else "a Tensor"
            raise TypeError(f"{where}: {which} must be {kinds} (or a tuple of them), not "
                            f"{type(item).__name__}")
        result.append(item)
    return is_tuple, tuple(result)


def _as_inputs(inputs, where):
    is_tuple, inputs = _as_tuple(inputs, "inputs", where)
    for i, t in enumerate(inputs):
        if t.dtype.kind != "f":
            which = f"inputs[{i}]" if is_tuple else "inputs"
            raise TypeError(f"{where}: {which} has dtype {t.dtype}; derivatives need "
                            "floating-point inputs (float64 or float32)")
    return is_tuple, inputs


def _call(func, inputs, where):
    """func(*inputs) as (was it a tuple, tuple of Tensors), with a clear error for anything else."""
    out = func(*inputs)
    return _as_tuple(out, "the value returned by func", where, arrays_allowed=False)


def _grad_preprocess(tensors, create_graph, need_graph):
    """Fresh leaves sharing the data; under create_graph, a recorded identity of a tensor that
    requires grad, so the results stay linked to the caller's graph."""
    if create_graph:
        return tuple(t.reshape(t.shape) if t.requires_grad
                     else Tensor(t.data, requires_grad=need_graph) for t in tensors)
    return tuple(Tensor(t.data, requires_grad=need_graph) for t in tensors)


def _as_v(v, others, others_are_tuple, what, create_graph, where):
    """v as a tuple of Tensors matching `others` in number, shape (checked) and dtype (cast)."""
    is_tuple, v = _as_tuple(v, "v", where)
    if is_tuple != others_are_tuple or len(v) != len(others):
        count = f"a tuple of {len(others)}" if others_are_tuple else "a single Tensor"
        given = f"a tuple of {len(v)}" if is_tuple else "a single Tensor"
        raise ValueError(f"{where}: v must be {count} (one per {what}), got {given}")
    for i, (t, other) in enumerate(zip(v, others)):
        if t.shape != other.shape:
            which = f"v[{i}]" if is_tuple else "v"
            of = f"{what} {i}" if is_tuple else f"the {what}"
            raise ValueError(f"{where}: {which} has shape {t.shape}, but {of} has shape "
                             f"{other.shape}")
    return tuple(t if create_graph and t.requires_grad
                 else Tensor(t.data.astype(other.dtype, copy=False)) for t, other in zip(v, others))


def _single_element_v(tensors, what, where):
    """The v that may be left out: 1 for a single single-element tensor."""
    if len(tensors) != 1 or tensors[0].size != 1:
        raise ValueError(f"{where}: v can be left out only when the {what} is a single Tensor "
                         f"with a single element; here it has shape(s) "
                         f"{', '.join(str(t.shape) for t in tensors)}")
    return (Tensor(np.ones(tensors[0].shape, tensors[0].dtype)),)


def _check_requires_grad(tensors, what, strict, where):
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None or not t.requires_grad:
            raise RuntimeError(f"{where}: {what} {i} does not require grad, so it does not depend "
                               "on the inputs in a differentiable way; that is not allowed with "
                               "strict=True")


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """minigrad.grad over the outputs that require grad; None for an input nothing reaches."""
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else grad_outputs
    live = [(o, g) for o, g in zip(outputs, grad_outputs)
            if o is not None and o.requires_grad]
    if not live:
        return (None,) * len(inputs)
    seeds = [g for _, g in live]
    if any(g is None for g in seeds):
        seeds = None
    return grad([o for o, _ in live], list(inputs), grad_outputs=seeds,
                create_graph=create_graph, retain_graph=retain_graph, allow_unused=True)


def _fill_in_zeros(grads, refs, strict, create_graph, where, relation):
    """Zeros (of the reference's shape and dtype) where a gradient is None, or an error if strict."""
    result = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{where}: {relation.format(i=i)}; that is not allowed with "
                                   "strict=True")
            g = Tensor(np.zeros(ref.shape, ref.dtype))
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(f"{where}: the result for {i} does not depend on the inputs in a "
                               "differentiable way; that is not allowed with strict=True and "
                               "create_graph=True")
        result.append(g)
    return tuple(result)


def _grad_postprocess(value, create_graph):
    """Cut results off the graph unless create_graph (nested tuples too)."""
    if isinstance(value, tuple):
        return tuple(_grad_postprocess(v, create_graph) for v in value)
    return value if create_graph else Tensor(value.data)


def _tuple_postprocess(result, unpack):
    """Undo the tuple wrapping: `unpack` is one flag, or (outputs were a tuple, inputs were a tuple)."""
    if isinstance(unpack, tuple):
        outer, inner = unpack
        if not inner:
            result = tuple(r[0] for r in result)
        return result if outer else result[0]
    return result if unpack else result[0]


# ---------------------------------------------------------------------------
# Forward mode, from two reverse passes
# ---------------------------------------------------------------------------

def _forward_product(outputs, inputs, tangents, create_graph, strict, where):
    """J @ tangents, for J the Jacobian of `outputs` with respect to `inputs`: the double-vjp construction.

    With a dummy u (one Tensor per output), g(u) = J^T u is computed with
    create_graph=True; g is linear in u, so the vjp of g with the tangents is
    J tangents. u's values do not matter to the result; they are random, not
    zero, so that a backward that broke the graph (a gradient that does not
    depend on its grad_output, from a backward in plain numpy) shows up as a
    nonzero g that does not require grad, and is refused rather than giving
    a silent zero.

    This is the one place forward-mode products are made. When an op of the
    graph defines its own `jvp` rule, tangents are carried node by node instead
    (forward_mode.py), with this construction for each op without one.
    """
    if not create_graph and has_jvp_rules(outputs):   # some op brings its own forward rule
        products = [Tensor(p) for p in forward_tangents(outputs, inputs, tangents)]
        return _fill_in_zeros(products, outputs, strict, create_graph, where,
                              "output {i} does not depend on the inputs")
    rng = np.random.default_rng(0)
    dummies = tuple(Tensor(rng.standard_normal(o.shape).astype(o.dtype), requires_grad=True)
                    for o in outputs)
    grad_inputs = _autograd_grad(outputs, inputs, dummies, create_graph=True)
    _check_requires_grad(grad_inputs, "the gradient of input", strict, where)
    for i, g in enumerate(grad_inputs):
        if g is not None and not g.requires_grad and np.any(g.data != 0):
            raise RuntimeError(
                f"{where}: the gradient reaching input {i} does not depend on the incoming "
                "gradient: a backward in func's graph returned plain numpy values under "
                "create_graph=True, so a forward-mode product through it would be wrong. Write "
                "that backward with operations Tensors support (arithmetic, @, .sum, numpy ufuncs)")
    products = _autograd_grad(grad_inputs, dummies, tangents, create_graph=create_graph)
    return _fill_in_zeros(products, outputs, strict, create_graph, where,
                          "output {i} does not depend on the inputs")


# ---------------------------------------------------------------------------
# The six functions
# ---------------------------------------------------------------------------

def _check_flags(where, **flags):
    for name, value in flags.items():
        check_flag(name, value, where)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(*inputs), v^T J): the vector-Jacobian product, one reverse pass.

    func: a function of Tensors returning a Tensor or a tuple of Tensors.
    inputs: a Tensor or array, or a tuple of them (func gets them as Tensors).
    v: one tensor per output of func, of its shape; may be left out when func
        returns a single single-element Tensor.
    create_graph: keep the results differentiable (for higher derivatives).
    strict: raise if an output does not depend on some input, instead of
        returning zeros for it.
    Returns the outputs and sum_i v_i^T d output_i / d input_j for each input
    j, with the tuple structure of func's outputs and of `inputs`.
    """
    _check_flags("vjp", create_graph=create_graph, strict=strict)
    with enable_grad():
        inputs_are_tuple, inputs = _as_inputs(inputs, "vjp")
        inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
        outputs_are_tuple, outputs = _call(func, inputs, "vjp")
        _check_requires_grad(outputs, "output", strict, "vjp")
        if v is None:
            v = _single_element_v(outputs, "output of func", "vjp")
        else:
            v = _as_v(v, outputs, outputs_are_tuple, "output of func", create_graph, "vjp")
        products = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        products = _fill_in_zeros(products, inputs, strict, create_graph, "vjp",
                                  "the outputs do not depend on input {i}")
    return (_tuple_postprocess(_grad_postprocess(outputs, create_graph), outputs_are_tuple),
            _tuple_postprocess(_grad_postprocess(products, create_graph), inputs_are_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(*inputs), J v): the Jacobian-vector product (forward mode), from two reverse passes.

    func, inputs, create_graph, strict: as in `vjp`.
    v: one tangent per input, of its shape; may be left out when `inputs` is a
        single single-element Tensor.
    Returns the outputs and sum_j d output_i / d input_j v_j for each output i,
    with the tuple structure of func's outputs.
    """
    _check_flags("jvp", create_graph=create_graph, strict=strict)
    with enable_grad():
        inputs_are_tuple, inputs = _as_inputs(inputs, "jvp")
        inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
        if v is None:
            v = _single_element_v(inputs, "input", "jvp")
        else:
            v = _as_v(v, inputs, inputs_are_tuple, "input", create_graph, "jvp")
        outputs_are_tuple, outputs = _call(func, inputs, "jvp")
        _check_requires_grad(outputs, "output", strict, "jvp")
        products = _forward_product(outputs, inputs, v, create_graph, strict, "jvp")
    return (_tuple_postprocess(_grad_postprocess(outputs, create_graph), outputs_are_tuple),
            _tuple_postprocess(_grad_postprocess(products, create_graph), outputs_are_tuple))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False):
    """The Jacobian of func at inputs: J[i][j] of shape output_i.shape + input_j.shape.

    func, inputs, create_graph, strict: as in `vjp`.
    vectorize: accepted for PyTorch compatibility; minigrad has no vmap, so
        the Jacobian is always built one reverse pass per output element and
        the flag changes nothing (the result is the same either way).
    Returns a Tensor when func returns a Tensor and `inputs` is one; a tuple
    over inputs, over outputs, or a tuple of tuples J[i][j] otherwise.
    """
    _check_flags("jacobian", create_graph=create_graph, strict=strict, vectorize=vectorize)
    with enable_grad():
        inputs_are_tuple, inputs = _as_inputs(inputs, "jacobian")
        inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
        outputs_are_tuple, outputs = _call(func, inputs, "jacobian")
        _check_requires_grad(outputs, "output", strict, "jacobian")
        result = tuple(_jacobian_of(out, i, inputs, create_graph, strict)
                       for i, out in enumerate(outputs))
    return _tuple_postprocess(_grad_postprocess(result, create_graph),
                              (outputs_are_tuple, inputs_are_tuple))


def _jacobian_of(out, i, inputs, create_graph, strict):
    """(d out / d input_j for each j): one reverse pass per element of out, seeded one-hot."""
    rows = [[] for _ in inputs]
    for element in range(out.size):
        seed = np.zeros(out.shape, out.dtype)
        seed.flat[element] = 1
        grads = _autograd_grad((out,), inputs, (seed,), create_graph=create_graph,
                               retain_graph=True)
        grads = _fill_in_zeros(grads, inputs, strict, create_graph, "jacobian",
                               f"output {i} does not depend on input {{i}}")
        for row, g in zip(rows, grads):
            row.append(g)
    blocks = []
    for row, inp in zip(rows, inputs):
        shape = out.shape + inp.shape
        if not row:
            blocks.append(Tensor(np.zeros(shape, inp.dtype)))
        elif create_graph:
            blocks.append(stack(row, axis=0).reshape(shape))
        else:
            blocks.append(Tensor(np.stack([g.data for g in row]).reshape(shape)))
    return tuple(blocks)


def _scalar_func(func, where, strict, squeeze=True):
    """func wrapped to check it returns one single-element Tensor (made 0-d if `squeeze`)."""
    def scalar(*inputs):
        is_tuple, out = _call(func, inputs, where)
        if is_tuple:
            raise TypeError(f"{where}: func must return a single Tensor, not a tuple of "
                            f"{len(out)}")
        out, = out
        if out.size != 1:
            raise ValueError(f"{where}: func must return a single-element Tensor (a scalar "
                             f"function), but it returned one of shape {out.shape}")
        _check_requires_grad((out,), "output", strict, where)
        return out.reshape(()) if squeeze else out
    return scalar


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False):
    """The Hessian of a scalar func: H[i][j] of shape input_i.shape + input_j.shape.

    func: a function of Tensors returning one single-element Tensor.
    inputs, create_graph, strict: as in `vjp`; vectorize: as in `jacobian`
    (accepted, changes nothing).
    Computed as the Jacobian of the gradient (the gradient built with
    create_graph=True), one reverse pass per input element.
    """
    _check_flags("hessian", create_graph=create_graph, strict=strict, vectorize=vectorize)
    inputs_are_tuple, inputs = _as_inputs(inputs, "hessian")
    scalar = _scalar_func(func, "hessian", strict)

    def gradient(*inputs):
        first = jacobian(scalar, inputs, create_graph=True, strict=strict)
        _check_requires_grad(first, "the gradient of input", strict, "hessian")
        return first

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict)
    return _tuple_postprocess(result, (inputs_are_tuple, inputs_are_tuple))


def _gradient_for_products(func, inputs, v, create_graph, strict, where):
    """Shared start of vhp and hvp: (outputs, was it a tuple, inputs, v, the gradient recorded)."""
    inputs_are_tuple, inputs = _as_inputs(inputs, where)
    inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
    if v is None:
        v = _single_element_v(inputs, "input", where)
    else:
        v = _as_v(v, inputs, inputs_are_tuple, "input", create_graph, where)
    out = _scalar_func(func, where, strict, squeeze=False)(*inputs)
    first = _autograd_grad((out,), inputs, create_graph=True)
    _check_requires_grad(first, "the gradient of input", strict, where)
    return out, inputs_are_tuple, inputs, v, first


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(*inputs), v^T H): a vector-Hessian product, the vjp of the gradient.

    func: a function of Tensors returning one single-element Tensor.
    inputs, create_graph, strict: as in `vjp`.
    v: one tensor per input, of its shape; may be left out when `inputs` is a
        single single-element Tensor.
    """
    _check_flags("vhp", create_graph=create_graph, strict=strict)
    with enable_grad():
        out, inputs_are_tuple, inputs, v, first = _gradient_for_products(
            func, inputs, v, create_graph, strict, "vhp")
        products = _autograd_grad(first, inputs, v, create_graph=create_graph)
        products = _fill_in_zeros(products, inputs, strict, create_graph, "vhp",
                                  "the gradient does not depend on input {i}")
    return (_grad_postprocess(out, create_graph),
            _tuple_postprocess(_grad_postprocess(products, create_graph), inputs_are_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(*inputs), H v): a Hessian-vector product, the forward product of the gradient.

    Arguments as in `vhp`. For a twice continuously differentiable func, H is
    symmetric and hvp equals vhp; hvp is computed as the Jacobian of the
    gradient times v (the double-vjp construction), as PyTorch does.
    """
    _check_flags("hvp", create_graph=create_graph, strict=strict)
    with enable_grad():
        out, inputs_are_tuple, inputs, v, first = _gradient_for_products(
            func, inputs, v, create_graph, strict, "hvp")
        live = tuple(g if g is not None else Tensor(np.zeros(t.shape, t.dtype))
                     for g, t in zip(first, inputs))
        products = _forward_product(live, inputs, v, create_graph, strict, "hvp")
    return (_grad_postprocess(out, create_graph),
            _tuple_postprocess(_grad_postprocess(products, create_graph), inputs_are_tuple))
