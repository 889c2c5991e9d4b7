"""minigrad.viz: the DOT text of the autograd graph (parsed and checked node by node), and rendering.

Tests of the DOT text never need Graphviz; the two that render skip when the `graphviz` package or the
`dot` program is missing; the missing-renderer messages are tested with a stand-in backend.
"""

from __future__ import annotations

import re
import shutil
import sys
import types

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.viz import draw_graph, to_dot

_NODE = re.compile(r"^\s*(n\d+) \[(.*)\];$")
_EDGE = re.compile(r"^\s*(n\d+) -> (n\d+)(?: \[(.*)\])?;$")
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\s]+)')


def _attrs(text: str | None) -> dict[str, str]:
    out = {}
    for key, value in _ATTR.findall(text or ""):
        if value.startswith('"'):
            value = value[1:-1].replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        out[key] = value
    return out


def parse_dot(text: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]]]:
    """{node id: attributes}, [(from, to, attributes)]; fails on any line it does not understand."""
    lines = text.strip().splitlines()
    assert lines[0] == "digraph minigrad {" and lines[-1] == "}"
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    for line in lines[1:-1]:
        if line.strip().startswith(("graph [", "node [", "edge [")):
            continue
        if m := _EDGE.match(line):
            edges.append((m.group(1), m.group(2), _attrs(m.group(3))))
        elif m := _NODE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} defined twice"
            nodes[m.group(1)] = _attrs(m.group(2))
        else:
            raise AssertionError(f"unexpected DOT line: {line!r}")
    for a, b, _ in edges:
        assert a in nodes and b in nodes, f"edge {a} -> {b} names an undefined node"
    return nodes, edges


def _expression() -> dict[str, mg.Tensor]:
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, -1.0], requires_grad=True)
    c = mg.tensor([0.5, 0.25])  # a leaf without a gradient (data)
    ab = a * b
    s = ab + c
    y = s.tanh()
    return {"a": a, "b": b, "c": c, "ab": ab, "s": s, "y": y}


def test_small_expression_has_exactly_the_expected_nodes_and_edges() -> None:
    t = _expression()
    nodes, edges = parse_dot(to_dot(t["y"], names=t))
    label = {n: attrs["label"].split("\n")[0] for n, attrs in nodes.items()}
    assert sorted(label.values()) == sorted(["a", "b", "c", "ab", "s", "y", "Mul", "Add", "Tanh"])
    got = sorted((label[a], label[b]) for a, b, _ in edges)
    assert got == sorted([("a", "Mul"), ("b", "Mul"), ("Mul", "ab"), ("ab", "Add"), ("c", "Add"),
                          ("Add", "s"), ("s", "Tanh"), ("Tanh", "y")])
    # tensors carry shape and dtype; ops are boxes with the Function's class name
    assert nodes[next(n for n, v in label.items() if v == "a")]["label"] == "a\n(2,) float32"
    assert all(nodes[n]["shape"] == "box" for n, v in label.items() if v in ("Mul", "Add", "Tanh"))
    assert all(nodes[n]["shape"] == "ellipse" for n, v in label.items() if v not in ("Mul", "Add", "Tanh"))


def test_unnamed_tensors_are_labelled_by_shape_and_dtype() -> None:
    t = _expression()
    nodes, edges = parse_dot(to_dot(t["y"]))
    assert len(nodes) == 9 and len(edges) == 8
    tensor_labels = [v["label"] for v in nodes.values() if v["shape"] == "ellipse"]
    assert tensor_labels == ["(2,) float32"] * 6
    # float64 keeps its dtype on the label even with show_dtype=False
    x = mg.tensor(np.ones((2, 3)), requires_grad=True, dtype=np.float64)
    nodes, _ = parse_dot(to_dot(x.sum(), show_dtype=False))
    assert {v["label"] for v in nodes.values()} == {"(2, 3) float64", "Sum", "() float64"}
    nodes, _ = parse_dot(to_dot(x.sum(), show_shapes=False, show_dtype=False, names={"x": x}))
    assert {v["label"] for v in nodes.values()} == {"x\nfloat64", "Sum", "float64"}


def test_leaves_parameters_and_the_output_are_marked() -> None:
    t = _expression()
    nodes, _ = parse_dot(to_dot(t["y"], names=t))
    by_name = {v["label"].split("\n")[0]: v for v in nodes.values()}
    param_fill = by_name["a"]["fillcolor"]
    assert by_name["b"]["fillcolor"] == param_fill and "dashed" not in by_name["a"].get("style", "")
    assert "dashed" in by_name["c"]["style"] and by_name["c"]["fillcolor"] != param_fill  # data leaf
    assert by_name["y"]["peripheries"] == "2" and by_name["y"]["fillcolor"] not in (param_fill,
                                                                                     by_name["c"]["fillcolor"])
    for inner in ("ab", "s"):  # intermediates are plain
        assert "fillcolor" not in by_name[inner] and "peripheries" not in by_name[inner]
    assert sum("peripheries" in v for v in nodes.values()) == 1


def test_several_outputs_are_all_marked() -> None:
    t = _expression()
    nodes, _ = parse_dot(to_dot(t["y"], t["ab"], names=t))
    marked = sorted(v["label"].split("\n")[0] for v in nodes.values() if v.get("peripheries") == "2")
    assert marked == ["ab", "y"]


def test_dot_is_deterministic_and_ids_follow_topological_order() -> None:
    t1, t2 = _expression(), _expression()
    text = to_dot(t1["y"], names=t1)
    assert text == to_dot(t1["y"], names=t1)  # the same graph twice
    assert text == to_dot(t2["y"], names=t2)  # a new graph of the same expression: no id() in the text
    nodes, edges = parse_dot(text)
    assert list(nodes) == [f"n{k}" for k in range(len(nodes))]
    assert all(int(a[1:]) < int(b[1:]) for a, b, _ in edges)  # every node after what it reads


def test_a_value_used_twice_gives_two_edges() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    nodes, edges = parse_dot(to_dot(x * x, names={"x": x}))
    x_id = next(n for n, v in nodes.items() if v["label"].startswith("x\n"))
    assert [b for a, b, _ in edges if a == x_id] == ["n1", "n1"]
    assert len(nodes) == 3


def test_scalar_constants_show_their_value() -> None:
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    nodes, edges = parse_dot(to_dot(1 - a, names={"a": a}))
    assert nodes["n0"]["label"] == "1" and "dashed" in nodes["n0"]["style"]
    assert [(a_, b_) for a_, b_, _ in edges] == [("n0", "n2"), ("n1", "n2"), ("n2", "n3")]  # 1, a -> Sub


def test_module_parameter_names_and_names_override() -> None:
    mg.manual_seed(0)
    lin = nn.Linear(2, 3)
    x = mg.randn(4, 2)
    y = lin(x)
    labels = [v["label"].split("\n")[0] for v in parse_dot(to_dot(y, module=lin))[0].values()]
    assert "weight" in labels and "bias" in labels
    labels = [v["label"].split("\n")[0] for v in
              parse_dot(to_dot(y, module=lin, names={"W": lin.weight, "x": x}))[0].values()]
    assert "W" in labels and "weight" not in labels and "bias" in labels and "x" in labels
    with pytest.raises(TypeError, match="'x'"):
        to_dot(y, names={"x": np.zeros(2)})


def test_list_names_label_each_item() -> None:
    x = mg.tensor([1.0], requires_grad=True)
    hs = [x]
    for _ in range(2):
        hs.append(hs[-1].tanh())
    labels = {v["label"].split("\n")[0] for v in parse_dot(to_dot(hs[-1], names={"h": hs}))[0].values()}
    assert labels == {"h[0]", "h[1]", "h[2]", "Tanh"}


def test_folded_intermediates_become_labelled_edges() -> None:
    t = _expression()
    nodes, edges = parse_dot(to_dot(t["y"], names={"a": t["a"], "b": t["b"], "c": t["c"], "s": t["s"]},
                                    show_intermediates=False))
    label = {n: v["label"].split("\n")[0] for n, v in nodes.items()}
    assert sorted(label.values()) == sorted(["a", "b", "c", "s", "(2,) float32", "Mul", "Add", "Tanh"])
    # a*b (unnamed) is no node now: Mul -> Add directly, labelled with its shape; s (named) stays a node
    op_edges = [(label[a], label[b], e.get("label")) for a, b, e in edges]
    assert ("Mul", "Add", "(2,)") in op_edges and ("Add", "s", None) in op_edges
    assert len(nodes) == 8 and len(edges) == 7


def test_outputs_of_a_multi_output_op_are_tagged() -> None:
    x = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    p, q = mg.split(x, [1, 2], axis=1)
    nodes, edges = parse_dot(to_dot(p.sum() + q.sum()))
    split = next(n for n, v in nodes.items() if v["label"] == "Split\naxis=1")
    assert sorted(e["label"] for a, _, e in edges if a == split) == ["[0]", "[1]"]
    nodes, edges = parse_dot(to_dot(p.sum() + q.sum(), show_intermediates=False))
    split = next(n for n, v in nodes.items() if v["label"] == "Split\naxis=1")
    assert sorted(e["label"] for a, _, e in edges if a == split) == ["[0] (2, 1)", "[1] (2, 2)"]


def test_unrolled_rnn_cell_graph() -> None:
    """Three steps of the reference RNN cell: each step is MatMul, MatMul, Add, Add, Tanh; weights shared."""
    mg.manual_seed(0)
    cell = nn.RNNCell(2, 3, impl="ref")
    xs, hs = [mg.randn(1, 2) for _ in range(3)], [mg.zeros(1, 3)]
    for x in xs:
        hs.append(cell(x, hs[-1]))
    nodes, edges = parse_dot(to_dot(hs[-1], module=cell, names={"x": xs, "h": hs}, rankdir="LR",
                                    show_intermediates=False))
    label = {n: v["label"].split("\n")[0] for n, v in nodes.items()}
    ops = [v for v in label.values() if v in ("MatMul", "Add", "Tanh")]
    assert sorted(ops) == sorted(["MatMul"] * 6 + ["Add"] * 6 + ["Tanh"] * 3)
    tensors = sorted(v for v in label.values() if v not in ops)
    assert tensors == ["bias", "h[0]", "h[1]", "h[2]", "h[3]", "weight_hh", "weight_ih", "x[0]", "x[1]", "x[2]"]
    assert len(nodes) == 25
    for name in ("weight_ih", "weight_hh", "bias"):  # shared by the three steps: weight 0, drawn once
        out = [e for a, _, e in edges if label[a] == name]
        assert len(out) == 3 and all(e.get("weight") == "0" for e in out)
    for name in ("x[0]", "h[0]"):  # read once: an ordinary edge, so it sits beside its reader
        out = [e for a, _, e in edges if label[a] == name]
        assert len(out) == 1 and "weight" not in out[0]
    # h[k] feeds the MatMul with weight_hh of step k + 1
    h1 = next(n for n, v in label.items() if v == "h[1]")
    (reader,) = [b for a, b, _ in edges if a == h1]
    assert sorted(label[a] for a, b, _ in edges if b == reader) == ["h[1]", "weight_hh"]
    assert 'rankdir=LR' in to_dot(hs[-1], rankdir="LR")


def test_a_10000_op_chain_is_walked_without_recursion() -> None:
    x = mg.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = -y
    assert sys.getrecursionlimit() < 10_000  # a recursive walk would overflow
    nodes, edges = parse_dot(to_dot(y))
    assert len(nodes) == 20_001 and len(edges) == 20_000
    assert sum(v["label"] == "Neg" for v in nodes.values()) == 10_000


def test_graph_freed_by_backward_gives_a_clear_error() -> None:
    t = _expression()
    t["y"].sum().backward(retain_graph=True)
    assert "Tanh" in to_dot(t["y"])  # retained: still drawable
    t = _expression()
    loss = t["y"].sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        to_dot(loss)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least one"):
        to_dot()
    with pytest.raises(TypeError, match="not a minigrad Tensor"):
        to_dot(np.zeros(2))
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(mg.tensor([1.0]), rankdir="XY")
    with pytest.raises(ValueError, match=r"\.svg, \.png"):
        draw_graph(mg.tensor([1.0]), "graph.jpeg")


def test_a_leaf_alone_and_exports() -> None:
    nodes, edges = parse_dot(to_dot(mg.tensor([1.0, 2.0])))
    assert len(nodes) == 1 and edges == [] and nodes["n0"]["peripheries"] == "2"
    assert mg.to_dot is to_dot and mg.draw_graph is draw_graph
    assert "to_dot" in mg.__all__ and "draw_graph" in mg.__all__


# ---- writing files: .dot always, pictures when Graphviz is there ----------------------------------------------


def _fake_graphviz(monkeypatch: pytest.MonkeyPatch, pipe: object = None) -> types.ModuleType:
    """A stand-in for the `graphviz` package, so these tests run whether or not it is installed."""
    fake = types.ModuleType("graphviz")
    fake.ExecutableNotFound = type("ExecutableNotFound", (RuntimeError,), {})  # type: ignore[attr-defined]
    fake.pipe = pipe or (lambda *a, **k: pytest.fail("pipe must not be called"))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "graphviz", fake)
    return fake


def test_missing_dot_program_gives_one_line_and_still_writes_the_dot(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_graphviz(monkeypatch)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    t = _expression()
    out = draw_graph(t["y"], tmp_path / "g.svg", names=t)
    assert out == tmp_path / "g.dot" and not (tmp_path / "g.svg").exists()
    assert out.read_text() == to_dot(t["y"], names=t)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "`dot`" in err and "apt-get install graphviz" in err and "brew install graphviz" in err
    assert str(tmp_path / "g.dot") in err


def test_missing_python_package_gives_one_line(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)  # `import graphviz` raises ImportError
    out = draw_graph(mg.tensor([1.0], requires_grad=True).tanh(), tmp_path / "g.png")
    assert out == tmp_path / "g.dot" and out.exists() and not (tmp_path / "g.png").exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install graphviz" in err and "[viz]" in err


def test_backend_not_finding_dot_is_reported_too(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def pipe(*args: object, **kwargs: object) -> bytes:
        raise fake.ExecutableNotFound("dot")

    fake = _fake_graphviz(monkeypatch, pipe)
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/dot")
    out = draw_graph(mg.tensor([1.0], requires_grad=True).tanh(), tmp_path / "g.svg")
    assert out == tmp_path / "g.dot" and not (tmp_path / "g.svg").exists()
    assert "apt-get install graphviz" in capsys.readouterr().err


def test_dot_suffix_writes_only_the_dot(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_graphviz(monkeypatch)  # its pipe fails the test if called
    y = mg.tensor([1.0], requires_grad=True).tanh()
    assert draw_graph(y, tmp_path / "a.dot") == tmp_path / "a.dot"
    assert draw_graph(y, tmp_path / "sub" / "b") == tmp_path / "sub" / "b.dot"
    assert (tmp_path / "a.dot").read_text() == to_dot(y) == (tmp_path / "sub" / "b.dot").read_text()


def _need_graphviz() -> None:
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's `dot` program is not installed")


def test_renders_svg_and_png(tmp_path) -> None:
    _need_graphviz()
    t = _expression()
    svg = draw_graph(t["y"], tmp_path / "g.svg", names=t)
    assert svg == tmp_path / "g.svg" and (tmp_path / "g.dot").exists()
    text = svg.read_text()
    assert "<svg" in text and ">Tanh<" in text and ">ab<" in text
    png = draw_graph(t["y"], tmp_path / "g.png", names=t, rankdir="LR")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_renders_the_unrolled_rnn(tmp_path) -> None:
    """Graphviz accepts every DOT line we write (labels with newlines, brackets, weights, folded edges)."""
    _need_graphviz()
    mg.manual_seed(0)
    rnn = nn.SimpleRNN(2, 3, impl="ref")
    x = mg.randn(2, 3, 2, requires_grad=True)  # x needs a gradient here, so Split and Squeeze are recorded too
    out = draw_graph(rnn(x), tmp_path / "rnn.svg", module=rnn, names={'say "x"': x}, show_intermediates=False)
    text = out.read_text()
    assert text.count(">Tanh<") == 3 and ">Split<" in text and "say &quot;x&quot;" in text


def test_op_labels_name_the_index_and_the_axis() -> None:
    x = mg.tensor(np.ones((2, 6)), requires_grad=True)
    y = x[:, 0:3].sum(axis=1) + x[1, ::2].sum() + x[None, ..., np.array([0, 5])].mean()
    ops = [v["label"] for v in parse_dot(to_dot(y))[0].values() if v["shape"] == "box"]
    assert "GetItem\n[:, 0:3]" in ops and "GetItem\n[1, ::2]" in ops and "GetItem\n[None, ..., array(2,)]" in ops
    assert "Sum\naxis=1" in ops and "Sum" in ops and "Mean" in ops  # no axis: the bare name
