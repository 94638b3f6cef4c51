"""minigrad.viz: DOT text of the graph behind a tensor. No test needs Graphviz installed."""
import pathlib
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, viz
from minigrad.engine import graph_nodes
from minigrad.nn import functional as F

NODE = re.compile(r"^  (\w+) \[label=\"((?:[^\"\\]|\\.)*)\", (.*)\];$", re.M)
EDGE = re.compile(r"^  (\w+) -> (\w+);$", re.M)


def parse(dot):
    """({id: (label with real newlines, style)}, [(from, to)]) of to_dot's output."""
    nodes = {m.group(1): (m.group(2).replace("\\n", "\n").replace('\\"', '"'), m.group(3))
             for m in NODE.finditer(dot)}
    return nodes, EDGE.findall(dot)


def labels_of(nodes, prefix):
    return [label for node_id, (label, _) in nodes.items() if node_id.startswith(prefix)]


def test_a_small_expression_gives_exactly_this_text():
    a = mg.Tensor([1.0, 2.0], requires_grad=True, name="a")
    out = (a * 3).sum()
    assert viz.to_dot(out) == "\n".join([
        "digraph minigrad {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [color="#555555", arrowsize=0.7];',
        '  op0 [label="Mul", shape=box, style="rounded,filled", fillcolor="#dbe9f6"];',
        '  t0 [label="a\\nshape (2,)", shape=ellipse, style=filled, fillcolor="#cdebc5"];',
        '  c0 [label="3", shape=ellipse, style=dashed, color="#888888", fontcolor="#555555"];',
        '  t1 [label="shape (2,)", shape=ellipse];',
        '  op1 [label="Sum", shape=box, style="rounded,filled", fillcolor="#dbe9f6"];',
        '  t2 [label="scalar", shape=ellipse, style=filled, fillcolor="#fff1b8", penwidth=2];',
        "  t0 -> op0;",
        "  c0 -> op0;",
        "  op0 -> t1;",
        "  t1 -> op1;",
        "  op1 -> t2;",
        "}",
    ]) + "\n"


def _small_network_loss(seed=0):
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Dense(3, 4, activation="tanh"), nn.Dense(4, 2))
    x = np.arange(15.0).reshape(5, 3) / 10
    return model, F.mse_loss(model(x), np.ones((5, 2)))


def test_the_same_computation_always_gives_the_same_text():
    # Node ids come from the order the ops ran, not from memory addresses.
    first = viz.to_dot(_small_network_loss()[1])
    second = viz.to_dot(_small_network_loss()[1])
    assert first == second


def test_one_node_per_op_and_per_tensor_with_edges_inputs_to_op_to_output():
    x = mg.Tensor(np.ones((2, 3)), requires_grad=True)
    w = mg.Tensor(np.ones((3, 4)), requires_grad=True)
    h = x @ w
    out = (h.relu() + h).mean()
    nodes, edges = parse(viz.to_dot(out))
    ops = graph_nodes(out)
    assert labels_of(nodes, "op") == [type(node).__name__ for node in ops]
    # tensors: x, w, h, relu(h), the sum, the mean; h is used twice but drawn once
    assert len(labels_of(nodes, "t")) == 6
    h_id = next(i for i, (label, _) in nodes.items() if i.startswith("t") and
                ("op0", i) in edges)
    assert sum(1 for source, _ in edges if source == h_id) == 2
    for source, target in edges:      # every edge joins declared nodes, tensor <-> op
        assert source in nodes and target in nodes
        assert source.startswith("op") != target.startswith("op")


def test_op_nodes_show_the_class_name_and_short_settings():
    model, loss = _small_network_loss()
    nodes, _ = parse(viz.to_dot(loss))
    assert labels_of(nodes, "op") == ["Linear\nactivation='tanh'", "Linear",
                                      "SquaredError\nreduction='mean'"]
    x = mg.Tensor(np.ones((2, 3)), requires_grad=True)
    nodes, _ = parse(viz.to_dot(x.sum(axis=1, keepdims=True)))
    assert labels_of(nodes, "op") == ["Sum\naxis=1\nkeepdims=True"]


def test_tensor_nodes_show_name_shape_and_dtype_when_not_float64():
    a = mg.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True, name="a")
    b = mg.Tensor(np.ones(3), requires_grad=True)
    nodes, _ = parse(viz.to_dot(a * 2 + b))
    tensors = labels_of(nodes, "t")
    assert "a\nshape (2, 3)\nfloat32" in tensors
    assert "shape (3,)" in tensors
    assert tensors[-1] == "shape (2, 3)"          # float32 + float64 is float64: not shown


def test_names_can_come_from_a_model():
    model, loss = _small_network_loss()
    nodes, _ = parse(viz.to_dot(loss, names=model.named_parameters()))
    tensors = labels_of(nodes, "t")
    for key, value in model.state_dict().items():
        assert f"{key}\nshape {value.shape}" in tensors
    with pytest.raises(TypeError, match="not a Tensor"):
        viz.to_dot(loss, names={"oops": np.ones(2)})


def test_gradient_norms_appear_after_a_backward_that_keeps_the_graph():
    w = mg.Tensor([3.0, 4.0], requires_grad=True, name="w")
    loss = (w * w).sum() / 2          # d/dw = w, so |grad| = 5
    before, _ = parse(viz.to_dot(loss))
    assert not any("|grad|" in label for label, _ in before.values())
    loss.backward(retain_graph=True)
    after, _ = parse(viz.to_dot(loss))
    assert "w\nshape (2,)\n|grad| 5" in labels_of(after, "t")


def test_a_released_graph_cannot_be_drawn_and_the_error_says_why():
    _, loss = _small_network_loss()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        viz.to_dot(loss)


def test_leaves_that_require_grad_look_different_from_constants():
    param = mg.Tensor([1.0], requires_grad=True)
    constant = mg.Tensor([2.0])
    nodes, _ = parse(viz.to_dot(param * constant + np.ones(1)))
    styles = {label: style for label, style in nodes.values()}
    tensor_styles = [style for node_id, (_, style) in nodes.items() if node_id.startswith("t")]
    parameter_style, constant_style = tensor_styles[0], tensor_styles[1]
    assert parameter_style != constant_style
    assert "dashed" in constant_style and "dashed" not in parameter_style
    assert styles["array\nshape (1,)"] == constant_style    # a numpy operand is a constant too


def test_a_leaf_alone_and_several_roots():
    leaf = mg.Tensor(np.zeros((2, 2)), requires_grad=True, name="alone")
    nodes, edges = parse(viz.to_dot(leaf))
    assert [label for label, _ in nodes.values()] == ["alone\nshape (2, 2)"] and edges == []

    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    nodes, _ = parse(viz.to_dot([y.sum(), y.mean()]))
    assert labels_of(nodes, "op") == ["Mul", "Sum", "Mean"]
    with pytest.raises(TypeError, match="draws Tensors"):
        viz.to_dot(np.ones(2))


def test_labels_are_escaped():
    a = mg.Tensor([1.0], requires_grad=True, name='say "hi" \\ bye')
    dot = viz.to_dot(a * 2)
    assert r'label="say \"hi\" \\ bye\nshape (1,)"' in dot
    nodes, _ = parse(dot)
    assert len(nodes) == 4


def test_a_second_order_graph_can_be_drawn():
    # Under create_graph, backward builds a graph of its own out of Tensors.
    x = mg.Tensor([0.5, -1.0], requires_grad=True, name="x")
    y = (x ** 3).sum()
    (dx,) = mg.grad(y, [x], create_graph=True)
    nodes, edges = parse(viz.to_dot(dx))
    assert "x\nshape (2,)" in labels_of(nodes, "t")
    assert all(source in nodes and target in nodes for source, target in edges)


def test_options_title_and_direction():
    x = mg.Tensor([1.0], requires_grad=True)
    dot = viz.to_dot(x * 2, rankdir="TB", title="my graph")
    assert "rankdir=TB;" in dot and 'label="my graph"; labelloc=t;' in dot


def test_render_without_graphviz_raises_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    x = mg.Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Graphviz"):
        viz.render(x * 2, tmp_path / "graph.svg")
    assert not (tmp_path / "graph.svg").exists()


def test_render_with_graphviz_writes_the_file(tmp_path):
    if viz.shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed (optional)")
    x = mg.Tensor([1.0], requires_grad=True)
    path = viz.render(x * 2, tmp_path / "graph.svg")
    assert "<svg" in pathlib.Path(path).read_text()
    with pytest.raises(ValueError, match="extension"):
        viz.render(x * 2, tmp_path / "graph")


def test_nothing_in_minigrad_imports_viz_but_the_package():
    # viz sits at the top of the layers: it may read the engine, nothing may depend on it.
    package = pathlib.Path(mg.__file__).parent
    for path in package.rglob("*.py"):
        if (path.name == "__init__.py" and path.parent == package) or path.name == "viz.py":
            continue
        text = path.read_text(encoding="utf-8")
        imports_viz = re.search(r"^\s*(from\s+\S*viz\s+import|import\s+\S*viz"
                                r"|from\s+\.+\s+import\s+.*\bviz\b)", text, re.M)
        assert not imports_viz, f"{path.relative_to(package)} imports viz"
