"""A picture of the graph autograd records: `to_dot(y)` gives Graphviz DOT text, `draw_graph(y, path)` a file.

Every op call records a `Function` node whose `inputs` are the tensors it read; each output tensor points
back at it through `_ctx` (and `_idx`, which output it is). Walking those links back from `y` gives a
bipartite graph, drawn with edges in the direction the values flow:

    input tensor -> op -> output tensor          e.g.  a, b -> Mul -> a*b;  a*b, c -> Add -> s;  s -> Tanh -> y

Tensors are ellipses labelled name (when known), shape and dtype; ops are boxes labelled with their
Function class (MatMul, Tanh, ...). Parameters (leaves with requires_grad) are orange, other leaves (data,
initial states, constants such as the 1 in `1 - z`) grey and dashed, the output(s) green with a double
border. Node ids (n0, n1, ...) follow a topological order found with an explicit stack, so the text is the
same on every call and a graph of any depth is walked without recursion.

Draw before `backward()`: backward frees the graph unless it is called with `retain_graph=True`.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.tensor import DEFAULT_DTYPE, Tensor

if TYPE_CHECKING:
    from minigrad.function import Function
    from minigrad.nn.module import Module

# Fill colours: parameters orange, other leaves grey, outputs green, ops blue.
_STYLE_PARAM = 'shape=ellipse, style=filled, fillcolor="#fdd9a8"'
_STYLE_LEAF = 'shape=ellipse, style="filled,dashed", fillcolor="#eeeeee"'
_STYLE_OUTPUT = 'shape=ellipse, style=filled, fillcolor="#c7e9c0", peripheries=2'
_STYLE_TENSOR = "shape=ellipse"
_STYLE_OP = 'shape=box, style="rounded,filled", fillcolor="#dbe8f7"'

_RENDER_FORMATS = ("svg", "png", "pdf")


def to_dot(
    *outputs: Tensor,
    names: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    module: Module | None = None,
    show_shapes: bool = True,
    show_dtype: bool = True,
    show_intermediates: bool = True,
    rankdir: str = "TB",
) -> str:
    """The graph that produced `outputs`, as Graphviz DOT text (render it with `dot -Tsvg g.dot -o g.svg`).

    outputs: one or more tensors (e.g. the loss, or several heads); each is marked as an output.
    names: {name: tensor} for any tensor of the graph (leaf or intermediate), e.g. {"x": x, "h1": h1};
        a list or tuple names its items: {"h": [h0, h1]} labels them h[0] and h[1].
    module: a Module whose `named_parameters()` name its parameters ("encoder.weight_ih"); `names` wins
        where both name a tensor.
    show_shapes / show_dtype: put the shape "(N, H)" / the dtype on tensor labels (a dtype other than
        float32 is always shown).
    show_intermediates: False draws an unnamed intermediate tensor as the edge between its two ops,
        labelled with its shape, instead of as a node: about half the nodes for an unrolled RNN.
    rankdir: "TB" (top to bottom: a few unrolled steps fit a page's width) or "LR" (left to right, the
        way unrolled RNNs are usually drawn; wide); "BT" and "RL" reverse them.

    Returns the DOT text: `digraph`, then one line per node in topological order (n0, n1, ...: every
    node after the nodes it reads), then one line per edge `nA -> nB`.
    """
    if not outputs:
        raise ValueError("to_dot: pass at least one tensor")
    for i, y in enumerate(outputs):
        if not isinstance(y, Tensor):
            raise TypeError(f"to_dot: output {i} is a {type(y).__name__}, not a minigrad Tensor")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"to_dot: rankdir must be 'TB', 'LR', 'BT' or 'RL', got {rankdir!r}")
    tensor_names = _collect_names(names, module)
    order = _graph_order(outputs)
    output_ids = {id(y) for y in outputs}

    def visible(t: Tensor) -> bool:
        # a tensor is a node unless it is an unnamed intermediate and intermediates are folded into edges
        return show_intermediates or t._ctx is None or id(t) in output_ids or id(t) in tensor_names

    node_id: dict[int, str] = {}
    lines = [
        "digraph minigrad {",
        f"  graph [rankdir={rankdir}, ordering=in, nodesep=0.25, ranksep=0.3];",
        '  node [fontname="Helvetica", fontsize=10, height=0.3, margin="0.08,0.03"];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.6];',
    ]
    for obj in order:
        if isinstance(obj, Tensor):
            if not visible(obj):
                continue
            nid = node_id[id(obj)] = f"n{len(node_id)}"
            label = _tensor_label(obj, tensor_names.get(id(obj)), show_shapes, show_dtype)
            if id(obj) in output_ids:
                style = _STYLE_OUTPUT
            elif obj._ctx is not None:
                style = _STYLE_TENSOR
            elif obj.requires_grad:
                style = _STYLE_PARAM
            else:
                style = _STYLE_LEAF
        else:
            nid = node_id[id(obj)] = f"n{len(node_id)}"
            label, style = _op_label(obj), _STYLE_OP
        lines.append(f'  {nid} [label="{_escape(label)}", {style}];')

    # How many ops read each leaf: a leaf read by several (a weight shared by every time step) gets edges of
    # weight 0, so it does not pull its readers towards the first rank; a leaf read once (x_t, h0) is drawn
    # next to the op that reads it instead of in the first column.
    readers: dict[int, int] = {}
    for obj in order:
        if not isinstance(obj, Tensor):
            for t in {id(t): t for t in obj.inputs}.values():
                if t._ctx is None:
                    readers[id(t)] = readers.get(id(t), 0) + 1

    edges: list[str] = []
    for obj in order:
        if isinstance(obj, Tensor):
            fn = obj._ctx
            if fn is not None and visible(obj):  # op -> the tensor it made
                edges.append(_edge(node_id[id(fn)], node_id[id(obj)], _output_tag(obj)))
            continue
        for t in obj.inputs:  # tensor -> op, in argument order (ordering=in keeps it left to right)
            if visible(t):
                shared = t._ctx is None and readers[id(t)] > 1
                edges.append(_edge(node_id[id(t)], node_id[id(obj)], "", weight=0 if shared else None))
            else:  # folded intermediate: producer op -> consumer op, labelled with the tensor's shape
                tag = _output_tag(t)
                shape = _shape_text(t.shape) if show_shapes else ""
                edges.append(_edge(node_id[id(t._ctx)], node_id[id(obj)], " ".join(s for s in (tag, shape) if s)))
    lines.extend(edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(
    output: Tensor | tuple[Tensor, ...] | list[Tensor],
    path: str | os.PathLike[str],
    **options: Any,
) -> Path:
    """Write the graph behind `output` to `<path>.dot`, and render it to SVG/PNG/PDF when Graphviz is there.

    path: "g.svg", "g.png" or "g.pdf" picks the picture's format; "g" or "g.dot" writes only the DOT text.
    options: those of `to_dot` (names=, module=, show_shapes=, show_dtype=, show_intermediates=, rankdir=).
    The .dot file is always written. Rendering needs the `graphviz` Python package (`pip install
    "minigrad[viz]"`) and Graphviz's `dot` program; when one is missing, one line on stderr says which and
    how to get it, and the .dot is still there to render later.
    Returns the file written last: the picture, or the .dot when no picture could be made.
    """
    outputs = tuple(output) if isinstance(output, (tuple, list)) else (output,)
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in _RENDER_FORMATS + ("dot", "gv", ""):
        raise ValueError(f"draw_graph: {path}: the suffix picks the format: .svg, .png, .pdf or .dot")
    text = to_dot(*outputs, **options)
    dot_path = path if fmt in ("dot", "gv") else path.with_suffix(".dot")
    _write_atomic(dot_path, text.encode("utf-8"))
    if fmt not in _RENDER_FORMATS:
        return dot_path

    missing = _missing_renderer()
    if missing is not None:
        print(f"minigrad.draw_graph: {missing}; wrote {dot_path} (render it later with "
              f"`dot -T{fmt} {dot_path} -o {path}`)", file=sys.stderr)
        return dot_path
    import graphviz

    try:
        image = graphviz.pipe("dot", fmt, text.encode("utf-8"))
    except graphviz.ExecutableNotFound:  # `dot` found on PATH but not runnable by the backend
        print(f"minigrad.draw_graph: {_NO_DOT}; wrote {dot_path}", file=sys.stderr)
        return dot_path
    _write_atomic(path, image)
    return path


_NO_DOT = ("cannot render: Graphviz's `dot` program is not installed "
           "(apt-get install graphviz, or brew install graphviz, or conda install graphviz)")
_NO_PACKAGE = ("cannot render: the `graphviz` Python package is not installed "
               "(pip install graphviz, or pip install -e \".[viz]\")")


def _missing_renderer() -> str | None:
    """Why no picture can be made here (one sentence), or None when both pieces are installed."""
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return _NO_PACKAGE
    if shutil.which("dot") is None:
        return _NO_DOT
    return None


def _graph_order(outputs: tuple[Tensor, ...]) -> list[Any]:
    """Every tensor and Function behind `outputs`, each after everything it reads (inputs first).

    Post-order depth-first search with an explicit stack (an unrolled sequence has thousands of nodes).
    Children are visited in argument order and outputs in the order given, so the order is the same on
    every call; id() is used only to recognise nodes already seen, never written out.
    """
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(y, False) for y in reversed(outputs)]
    while stack:
        obj, children_done = stack.pop()
        if children_done:
            order.append(obj)
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        stack.append((obj, True))
        if isinstance(obj, Tensor):
            if obj._ctx is not None and id(obj._ctx) not in seen:
                stack.append((obj._ctx, False))
        else:
            for t in reversed(_inputs(obj)):  # reversed: the stack pops the first argument first
                if id(t) not in seen:
                    stack.append((t, False))
    return order


def _inputs(fn: Function) -> tuple[Tensor, ...]:
    if fn._released:
        raise RuntimeError(
            "to_dot: the graph behind this tensor was freed by backward(): draw it before backward(), "
            "or call backward(retain_graph=True)"
        )
    return fn.inputs


def _collect_names(
    names: Mapping[str, Any] | Iterable[tuple[str, Any]] | None, module: Module | None
) -> dict[int, str]:
    """{id(tensor): name}, from the module's parameter names, then `names` (which win)."""
    out: dict[int, str] = {}
    pairs: list[tuple[str, Any]] = []
    if module is not None:
        pairs.extend(module.named_parameters())
    if names is not None:
        for name, value in names.items() if isinstance(names, Mapping) else names:
            if isinstance(value, (list, tuple)):  # {"h": [h0, h1, h2]} names them h[0], h[1], h[2]
                pairs.extend((f"{name}[{k}]", t) for k, t in enumerate(value))
            else:
                pairs.append((name, value))
    for name, t in pairs:
        if not isinstance(t, Tensor):
            raise TypeError(f"to_dot: the tensor named {name!r} is a {type(t).__name__}, not a minigrad Tensor")
        out[id(t)] = str(name)
    return out


def _tensor_label(t: Tensor, name: str | None, show_shapes: bool, show_dtype: bool) -> str:
    """name / shape dtype, one per line; an unnamed scalar constant shows its value (the 1 in `1 - z`)."""
    parts = []
    if name is not None:
        parts.append(name)
    elif t._ctx is None and not t.requires_grad and t.data.size == 1:
        parts.append(_value_text(t.data))
        return "\n".join(parts)
    detail = []
    if show_shapes:
        detail.append(_shape_text(t.shape))
    if show_dtype or t.dtype != DEFAULT_DTYPE:
        detail.append(str(t.dtype))
    if detail:
        parts.append(" ".join(detail))
    return "\n".join(parts) if parts else " "


def _op_label(fn: Function) -> str:
    """The Function's class name, plus what tells two ops of a kind apart: x[index], the axis of a reduction.

    An LSTM cell slices its four gates out of each weight: `GetItem [:, 3:6]` says which gate a slice is.
    """
    name = type(fn).__name__
    index = fn.__dict__.get("index", _MISSING)
    if index is not _MISSING:
        return f"{name}\n[{_index_text(index)}]"
    axis = fn.__dict__.get("axis")
    if isinstance(axis, (int, tuple)) and not isinstance(axis, bool):
        return f"{name}\naxis={axis}"
    return name


_MISSING = object()


def _index_text(index: Any) -> str:
    """An index as written in code: (slice(None), slice(0, 3)) -> ':, 0:3'."""
    items = index if isinstance(index, tuple) else (index,)
    parts = []
    for item in items:
        if isinstance(item, slice):
            text = ("" if item.start is None else str(item.start)) + ":" + ("" if item.stop is None else str(item.stop))
            parts.append(text + ("" if item.step is None else f":{item.step}"))
        elif item is None or isinstance(item, (int, np.integer)):
            parts.append(str(item))
        elif item is Ellipsis:
            parts.append("...")
        else:  # an integer or boolean array: its shape says enough
            parts.append(f"array{_shape_text(np.shape(item))}")
    return ", ".join(parts)


def _value_text(a: np.ndarray) -> str:
    v = a.item()
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _output_tag(t: Tensor) -> str:
    """'[k]' for the k-th output of an op with several outputs (split), '' otherwise."""
    fn = t._ctx
    return f"[{t._idx}]" if fn is not None and len(fn._out_meta) > 1 else ""


def _edge(a: str, b: str, label: str, weight: int | None = None) -> str:
    attrs = ([f'label="{_escape(label)}"'] if label else []) + ([f"weight={weight}"] if weight is not None else [])
    return f"  {a} -> {b} [{', '.join(attrs)}];" if attrs else f"  {a} -> {b};"


def _escape(text: str) -> str:
    """A DOT string body: backslashes and quotes escaped, newlines as DOT's centred line break."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so an interrupted run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


__all__ = ["to_dot", "draw_graph"]
