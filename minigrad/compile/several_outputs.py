"""Ops with several outputs (a `forward` that returns a tuple), as lines of the program.

The program does what the eager engine does (engine/outputs.py):

- forward: the op's own `forward` runs on a fresh ctx; each output gets a
  name of its own (`split1_0, split1_1 = as_outputs(Split.forward(...))`);
- backward: the walk hands each output's gradient to the op through a small
  node per output, which needs no line: the program only notes which
  gradient belongs to which output. The op's own `backward` is then called
  with one gradient per output, zeros of the output's shape and dtype for
  an output that got none (one marked with `mark_non_differentiable`, an
  integer one, or one nothing used), as the eager walk gives.
"""
import numpy as np

from ..engine import Tensor
from ..engine.modes import state

__all__ = ["needs_of", "emit_forward", "gather_output_gradient", "emit_backward", "as_outputs"]


def as_outputs(returned):
    """The arrays a forward returned as a tuple, each an ndarray (numpy gives scalars for 0-d)."""
    return tuple(o if type(o) is np.ndarray else np.asarray(o) for o in returned)


def needs_of(args):
    """Which inputs need a gradient, as Function.apply decides it: tensors requiring grad, in grad mode."""
    enabled = state.grad_enabled
    return tuple(bool(enabled and isinstance(a, Tensor) and a._requires_grad) for a in args)


def emit_forward(tr, rec, outputs, needs, param_refs):
    """Write `outputs = forward(ctx, ...)` for op record `rec`; returns the outputs' names."""
    op = tr.op_name(rec.cls)
    ctx = tr.fresh(f"ctx_{op.lower()}")
    kind = rec.cls.__name__
    tr.counts[kind] = tr.counts.get(kind, 0) + 1
    base = f"{kind.lower()}{tr.counts[kind]}"
    names = [tr.fresh(f"{base}_{k}") for k in range(len(outputs))]
    args = ", ".join([ctx] + rec.ins + [f"{k}={v}" for k, v in param_refs.items()])
    tr.emit(f"{ctx} = new_ctx({op}, {needs})", ctx)
    unpack = ", ".join(names) + ("," if len(names) == 1 else "")
    tr.emit(f"{unpack} = as_outputs({op}.forward({args}))", (*names, ctx))
    tr.pinned.update(n for n in rec.ins if n.isidentifier())   # forward may keep them in ctx
    tr.pinned.update(names)                                     # ... and its outputs
    for name, tensor in zip(names, outputs):
        tr.register(name, tensor)
    rec.info.update(kind="several", ctx=ctx, op=op, outputs=names,
                    specs=[(t._data.shape, t._data.dtype) for t in outputs])
    return names


def gather_output_gradient(tr, node, g):
    """Output `node.index` of an op got gradient `g` (a name): keep it for the op's backward."""
    owner = node.inputs[0]._ctx
    parts = tr.node_grad.get(id(owner))
    if parts is None:
        parts = tr.node_grad[id(owner)] = {}
    if node.index in parts:   # (each output has one such node, so this is only a safeguard)
        total = tr.fresh(parts[node.index])
        tr.emit(f"{total} = {parts[node.index]} + {g}", total, owned=True)
        g = total
    parts[node.index] = g


def emit_backward(tr, rec, parts, input_grads):
    """Write the op's own backward, given {output index: gradient name}; names per input (None: none)."""
    info = rec.info
    grads = []
    for k, (name, (shape, dtype)) in enumerate(zip(info["outputs"], info["specs"])):
        g = parts.get(k)
        if g is None:
            g = tr.fresh("d" + name)
            tr.emit(f"{g} = np.zeros({shape}, {tr.ref(dtype)})   # {name} got no gradient", g)
        grads.append(g)
    names = [tr.fresh("d" + (x if x.isidentifier() else "x")) if ig is not None else None
             for x, ig in zip(rec.ins, input_grads)]
    unpack = ", ".join(n or "_" for n in names) + ("," if len(names) == 1 else "")
    tr.emit(f"{unpack} = as_tuple({info['op']}.backward({info['ctx']}, {', '.join(grads)}))",
            tuple(n for n in names if n))
    tr.pinned.update(grads)
    return names
