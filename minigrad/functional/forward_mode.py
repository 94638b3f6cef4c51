"""Forward-mode products through ops that define their own `jvp` rule.

A Function may define `jvp(ctx, *tangents)`: given one tangent per input
(an array of the input's shape; zeros for a Tensor input without one, None
for a non-Tensor argument), it returns the tangent of its output (a tuple for
several outputs), computed from what forward kept on `ctx`. When some op of
a graph has one, J v is found by carrying a tangent through every node in the
order the nodes were made: the op's own rule where it has one, and for every
other op the double-vjp construction on that node alone. An op with a `jvp`
rule thus supports forward mode even when its backward is first-order only.
"""
import numpy as np

from ..engine import Tensor, enable_grad, grad, graph_nodes
from ..engine.higher_order import differentiable_backward
from ..engine.walk import unbroadcast

__all__ = ["has_jvp_rules", "forward_tangents"]


def has_jvp_rules(outputs):
    """True if some op in the graph behind `outputs` defines its own `jvp`."""
    return any(getattr(type(node), "jvp", None) is not None for node in graph_nodes(*outputs))


def forward_tangents(outputs, inputs, tangents):
    """[J_k v for each output k]: tangents (arrays) carried forward from `inputs` through the graph."""
    tangent = {id(t): np.asarray(v.data if isinstance(v, Tensor) else v, dtype=t.dtype)
               for t, v in zip(inputs, tangents)}     # by tensor; and by node, below
    shapes = _output_shapes(outputs)

    def of(t):
        if not isinstance(t, Tensor):
            return None
        if id(t) in tangent:
            return tangent[id(t)]
        return tangent.get(t._ctx) if t._ctx is not None else None

    for node in graph_nodes(*outputs):
        given = [of(t) for t in node.inputs]
        if all(g is None for g in given):
            continue
        if getattr(node, "_internal", False):          # output k of a multi-output node
            tangent[node] = given[0][node.index]
        elif getattr(type(node), "jvp", None) is not None:
            full = [g if g is not None else (np.zeros(t.shape, t.dtype) if isinstance(t, Tensor)
                                             else None) for g, t in zip(given, node.inputs)]
            tangent[node] = type(node).jvp(node, *full)
        else:
            tangent[node] = _node_double_vjp(node, given, shapes[node])
    return [of(o) if of(o) is not None else np.zeros(o.shape, o.dtype) for o in outputs]


def _output_shapes(outputs):
    """node -> (shape, dtype) of its output, read off the tensors that hold them."""
    shapes = {}
    for t in list(outputs) + [t for node in graph_nodes(*outputs) for t in node.inputs]:
        if isinstance(t, Tensor) and t._ctx is not None:
            shapes[t._ctx] = (t.shape, t.dtype)
    return shapes


def _node_double_vjp(node, given, spec):
    """J_node t for one node: d/du of sum_i <backward(u)_i, t_i>, with u a dummy output gradient."""
    shape, dtype = spec
    u = Tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype), requires_grad=True)
    with enable_grad():
        grads = differentiable_backward(node, u)
        grads = grads if type(grads) is tuple else (grads,)
        total = None
        for g, t, x in zip(grads, given, node.inputs):
            if g is None or t is None:
                continue
            if g.shape != x.shape:
                g = unbroadcast(g, x.shape, node, x)
            term = (g * t).sum()
            total = term if total is None else total + term
        if total is None or not total.requires_grad:
            return np.zeros(shape, dtype)
        result, = grad(total, [u], allow_unused=True)
    return np.zeros(shape, dtype) if result is None else result.data
