"""Pictures of the graph behind a tensor, as Graphviz DOT text.

    print(minigrad.viz.to_dot(loss))          # paste into any Graphviz viewer
    minigrad.viz.render(loss, "graph.svg")    # needs Graphviz's `dot` program

One box per op (the Function's class name and its settings) and one ellipse
per tensor (its name, shape, dtype when not float64, and `|grad|`, the L2
norm of `.grad`, once a backward has filled it). Leaves that require grad
are green, constants dashed, the tensor drawn from yellow. Edges run forward:
inputs -> op -> output. Nodes are numbered in the order the ops ran, so the
same computation always gives the same text.

A backward releases the graph (`node.inputs` becomes None), so draw it
before backward, or after `backward(retain_graph=True)` to see the
gradients. Layers: viz reads the engine's graph; nothing in minigrad imports viz.
"""
import shutil
import subprocess
from collections.abc import Mapping

import numpy as np

from .engine import Tensor, graph_nodes
from .validation import is_real_number

__all__ = ["to_dot", "render"]

# Styles, as Graphviz attributes.
_OP_STYLE = 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"'
_PARAMETER_STYLE = 'shape=ellipse, style=filled, fillcolor="#cdebc5"'     # leaf, requires grad
_CONSTANT_STYLE = 'shape=ellipse, style=dashed, color="#888888", fontcolor="#555555"'
_INTERMEDIATE_STYLE = "shape=ellipse"
_ROOT_STYLE = 'shape=ellipse, style=filled, fillcolor="#fff1b8", penwidth=2'

_RELEASED = ("cannot draw this graph: a backward() already released it (its nodes no longer "
             "point at their inputs); draw it before backward, or call "
             "backward(retain_graph=True) to draw it with its gradients")


def _quote(text):
    """A DOT string literal; the label's lines are joined with DOT's \\n."""
    lines = str(text).split("\n")
    escaped = [line.replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    return '"' + "\\n".join(escaped) + '"'


def _shape_text(shape):
    return "scalar" if shape == () else f"shape {tuple(int(n) for n in shape)}"


def _grad_norm(grad):
    return float(np.linalg.norm(np.asarray(grad, dtype=np.float64).ravel()))


def _tensor_label(tensor, name):
    lines = []
    name = name or tensor.name
    if name:
        lines.append(str(name))
    lines.append(_shape_text(tensor.shape))
    if tensor.dtype != np.float64:
        lines.append(str(tensor.dtype))
    if tensor.grad is not None:
        lines.append(f"|grad| {_grad_norm(tensor.grad):.4g}")
    return "\n".join(lines)


def _setting_text(value):
    """A short text for an op's setting, or None when it is not worth showing."""
    if value is None or value is False or isinstance(value, np.ndarray):
        return None
    if isinstance(value, (bool, int, float, str, np.integer, np.floating)):
        text = repr(value) if isinstance(value, str) else str(value)
    elif isinstance(value, tuple) and all(isinstance(v, (int, np.integer)) for v in value):
        text = str(tuple(int(v) for v in value))
    else:
        return None
    return text if len(text) <= 24 else None


def _op_label(node):
    lines = [type(node).__name__]
    for key, value in getattr(node, "_params", {}).items():
        text = None if key.startswith("_") else _setting_text(value)
        if text is not None:
            lines.append(f"{key}={text}")
    return "\n".join(lines)


def _constant_label(value):
    """A label for an op input that is not a Tensor: a number or a numpy array."""
    if isinstance(value, np.ndarray):
        dtype = "" if value.dtype == np.float64 else f"\n{value.dtype}"
        return f"array\n{_shape_text(value.shape)}{dtype}"
    if is_real_number(value):
        return f"{value:g}"
    text = repr(value)
    return text if len(text) <= 24 else type(value).__name__


def _collect(roots):
    """The op nodes behind `roots`, in the order they ran, and the tensor each one produced."""
    try:
        nodes = graph_nodes(*roots)
    except RuntimeError:
        raise RuntimeError(_RELEASED) from None
    outputs = {}    # node -> the Tensor it made (the first one met, from the roots down)
    for tensor in roots:
        if tensor._ctx is not None:
            outputs.setdefault(tensor._ctx, tensor)
    for node in reversed(nodes):
        for value in node.inputs:
            if isinstance(value, Tensor) and value._ctx is not None:
                outputs.setdefault(value._ctx, value)
    return nodes, outputs


def _name_table(names):
    """{id(tensor): name} from a mapping or (name, tensor) pairs, e.g. model.named_parameters()."""
    if names is None:
        return {}
    pairs = names.items() if isinstance(names, Mapping) else names
    table = {}
    for name, tensor in pairs:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"names: {name!r} maps to a {type(tensor).__name__}, not a Tensor")
        table[id(tensor)] = str(name)
    return table


def to_dot(tensor, *, names=None, rankdir="LR", title=None):
    """Graphviz DOT text of the graph behind `tensor` (or a list of tensors).

    `names` labels tensors that have no `.name`: a mapping or (name, tensor)
    pairs, such as `model.named_parameters()`. `rankdir` is Graphviz's layout
    direction ("LR": left to right, "TB": top to bottom). `title` is drawn
    above the graph. Needs no Graphviz: the text is plain; `render` draws it.
    """
    roots = list(tensor) if isinstance(tensor, (list, tuple)) else [tensor]
    for root in roots:
        if not isinstance(root, Tensor):
            raise TypeError(f"to_dot draws Tensors, not a {type(root).__name__}")
    given_names = _name_table(names)
    ops, outputs = _collect(roots)
    root_ids = {id(root) for root in roots}
    root_nodes = {root._ctx for root in roots if root._ctx is not None}

    declarations, edges = [], []
    tensor_ids = {}   # id(tensor), or its node for a non-leaf -> DOT id

    def tensor_node(t):
        key = t._ctx if t._ctx is not None else id(t)
        if key not in tensor_ids:
            tensor_ids[key] = dot_id = f"t{len(tensor_ids)}"
            if id(t) in root_ids or t._ctx in root_nodes:
                style = _ROOT_STYLE
            elif t._ctx is not None:
                style = _INTERMEDIATE_STYLE
            elif t.requires_grad:
                style = _PARAMETER_STYLE
            else:
                style = _CONSTANT_STYLE
            label = _tensor_label(t, given_names.get(id(t)))
            declarations.append(f"  {dot_id} [label={_quote(label)}, {style}];")
        return tensor_ids[key]

    constants = 0
    for number, node in enumerate(ops):
        op_id = f"op{number}"
        declarations.append(f"  {op_id} [label={_quote(_op_label(node))}, {_OP_STYLE}];")
        for value in node.inputs:
            if value is None:
                continue   # an optional input left out, such as Linear's bias
            if isinstance(value, Tensor):
                source = tensor_node(value)
            else:
                source = f"c{constants}"
                constants += 1
                declarations.append(f"  {source} [label={_quote(_constant_label(value))}, "
                                    f"{_CONSTANT_STYLE}];")
            edges.append(f"  {source} -> {op_id};")
        edges.append(f"  {op_id} -> {tensor_node(outputs[node])};")
    for root in roots:
        tensor_node(root)   # a leaf drawn on its own, or a root not yet declared

    header = ["digraph minigrad {", f"  rankdir={rankdir};",
              '  node [fontname="Helvetica", fontsize=11];',
              '  edge [color="#555555", arrowsize=0.7];']
    if title:
        header.append(f"  label={_quote(title)}; labelloc=t;")
    return "\n".join(header + declarations + edges + ["}"]) + "\n"


def render(tensor, path, *, format=None, **options):
    """Draw the graph behind `tensor` to `path` with Graphviz's `dot` program; returns `path`.

    The format comes from the file's extension (svg, png, pdf, ...) unless
    `format` is given; `options` go to `to_dot`. Without `dot` installed this
    raises a RuntimeError; `to_dot` alone needs nothing.
    """
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError("render() needs Graphviz's `dot` program, which is not on PATH "
                           "(install Graphviz: apt-get install graphviz, brew install graphviz, "
                           "conda install graphviz); to_dot(tensor) gives the DOT text without it")
    path = str(path)
    if format is None:
        if "." not in path.rsplit("/", 1)[-1]:
            raise ValueError(f"cannot tell the image format of {path!r}: give it an extension "
                             "such as .svg or .png, or pass format=")
        format = path.rsplit(".", 1)[-1].lower()
    text = to_dot(tensor, **options)
    result = subprocess.run([program, f"-T{format}", "-o", path], input=text.encode(),
                            capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"dot failed to draw {path!r} (format {format!r}): "
                           f"{result.stderr.decode(errors='replace').strip()}")
    return path
