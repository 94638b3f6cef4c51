"""Products: einsum, whose gradients are einsums again, and dot, inner, outer built on it and matmul.

For out = einsum('ij,jk->ik', a, b), the gradient for a is
einsum('ik,jk->ij', g, b): the output's gradient contracted with the other
operands, back to the operand's labels. Written with Einsum itself, it is
differentiable to any order.
"""
import string

import numpy as np

from ..engine import Function, Tensor
from .arithmetic import MatMul
from .base import call
from .shape import BroadcastTo, Reshape


class Einsum(Function):
    """numpy.einsum on explicit subscripts without repeated labels in an operand (see `einsum`)."""

    @staticmethod
    def forward(ctx, *operands, subscripts):
        ctx.save_for_backward(*operands)
        ctx.subscripts = subscripts
        return np.einsum(subscripts, *operands)

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved_tensors
        inputs, output = ctx.subscripts.split("->")
        labels = inputs.split(",")
        grads = []
        for k, (needed, mine) in enumerate(zip(ctx.needs_input_grad, labels)):
            if not needed:
                grads.append(None)
                continue
            others = [labels[j] for j in range(len(labels)) if j != k]
            present = set(output).union(*others)
            kept = "".join(label for label in mine if label in present)
            spec = ",".join([output] + others) + "->" + kept
            grad = call(Einsum, g, *[operands[j] for j in range(len(labels)) if j != k], subscripts=spec)
            if kept != mine:   # labels only this operand has were summed: the gradient is constant along them
                shape = operands[k].shape
                grad = grad.reshape(tuple(n if label in present else 1 for label, n in zip(mine, shape)))
                grad = call(BroadcastTo, grad, shape=shape)
            grads.append(grad)
        return tuple(grads)


def _explicit(subscripts, ndims):
    """`subscripts` with '...' spelled out as letters and the output written after '->'."""
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    inputs = inputs.split(",")
    if len(inputs) != len(ndims):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(inputs)} operands, "
                         f"but {len(ndims)} were given")
    free = [c for c in string.ascii_letters if c not in subscripts]
    ellipsis_ndim = max([ndim - len(spec.replace("...", "")) for spec, ndim in zip(inputs, ndims)
                         if "..." in spec] or [0])
    dots = "".join(free[:ellipsis_ndim])
    spelled = []
    for spec, ndim in zip(inputs, ndims):
        if "..." in spec:
            n = ndim - len(spec.replace("...", ""))
            spec = spec.replace("...", dots[ellipsis_ndim - n:] if n else "")
        spelled.append(spec)
    if not arrow:   # implicit mode: the labels seen once, in alphabetical order, after the ellipsis
        counts = "".join(spelled)
        output = dots + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in dots))
    else:
        output = output.replace("...", dots)
    return spelled, output, free[ellipsis_ndim:]


def einsum(subscripts, *operands):
    """numpy.einsum for Tensors (explicit or implicit output, '...' allowed).

    A label repeated within one operand ('ii->i', a diagonal) is rewritten as
    two labels tied by an identity matrix, so every gradient stays an einsum.
    """
    if not isinstance(subscripts, str):
        raise TypeError("einsum: pass the subscripts as a string first (the interleaved "
                        "operand/sublist form has no minigrad op)")
    ndims = [np.ndim(op._data if isinstance(op, Tensor) else op) for op in operands]
    inputs, output, free = _explicit(subscripts, ndims)
    operands = list(operands)
    extra_specs = []
    for k, spec in enumerate(inputs):
        seen = ""
        for position, label in enumerate(spec):
            if label in seen:   # the second occurrence gets a new label, tied by an identity
                new = free.pop(0)
                array = operands[k]._data if isinstance(operands[k], Tensor) else np.asarray(operands[k])
                extra_specs.append(label + new)
                operands.append(np.eye(array.shape[position], dtype=array.dtype))
                label = new
            seen += label
        inputs[k] = seen
    spec = ",".join(inputs + extra_specs) + "->" + output
    return Einsum.apply(*operands, subscripts=spec)


def dot(a, b):
    """numpy.dot: matmul for 1-D and 2-D operands, a number times a tensor, and for N-D
    a sum over the last axis of `a` and the second-to-last of `b`."""
    a_ndim, b_ndim = np.ndim(a._data if isinstance(a, Tensor) else a), np.ndim(b._data if isinstance(b, Tensor) else b)
    if a_ndim == 0 or b_ndim == 0:
        return a * b
    if a_ndim <= 2 and b_ndim <= 2:
        return MatMul.apply(a, b)
    left = string.ascii_lowercase[:a_ndim - 1] + "z"
    right = string.ascii_uppercase[:max(b_ndim - 2, 0)] + "z" + ("Y" if b_ndim >= 2 else "")
    if b_ndim == 1:
        right = "z"
    return einsum(f"{left},{right}->{left[:-1]}{right.replace('z', '')}", a, b)


def inner(a, b):
    """numpy.inner: sum over the last axes of `a` and `b` (a product if either is a number)."""
    a_ndim, b_ndim = np.ndim(a._data if isinstance(a, Tensor) else a), np.ndim(b._data if isinstance(b, Tensor) else b)
    if a_ndim == 0 or b_ndim == 0:
        return a * b
    left = string.ascii_lowercase[:a_ndim - 1] + "z"
    right = string.ascii_uppercase[:b_ndim - 1] + "z"
    return einsum(f"{left},{right}->{left[:-1]}{right[:-1]}", a, b)


def outer(a, b):
    """numpy.outer: out[i, j] = a.ravel()[i] * b.ravel()[j]."""
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    return Reshape.apply(a, shape=(-1, 1)) * Reshape.apply(b, shape=(1, -1))
