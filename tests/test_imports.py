"""The dependency rule, checked on the source: no demo package imports another; minigrad imports no demo, not
demokit (and not torch, STYLE.md); demokit imports no demo. Every .py file's imports are read with ast, including
imports inside functions, relative imports and importlib.import_module("...") / __import__("...") calls."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMOS = ("seq2vec", "seq2seq", "captioning", "charlm")
FORBIDDEN = {
    "minigrad": {*DEMOS, "demokit", "torch"},
    "demokit": set(DEMOS),
    **{demo: set(DEMOS) - {demo} for demo in DEMOS},
}


def imported_packages(source: str, module: str) -> list[tuple[str, int]]:
    """(top-level package, line) of every import in `source`, the code of module `module` ("seq2seq.train";
    a package's __init__ is "seq2seq.__init__"), wherever the import sits."""
    found = []
    package = module.split(".")[:-1]  # what a relative import is relative to
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.module.split(".")[0], node.lineno))
            else:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                found.append((target[0] if target else "", node.lineno))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.args[0].value.lstrip(".").split(".")[0] or package[0], node.lineno))
    return found


def violations(package: str, root: Path = REPO) -> list[str]:
    bad = []
    for path in sorted((root / package).rglob("*.py")):
        rel = path.relative_to(root)
        module = ".".join(rel.with_suffix("").parts)
        for top, line in imported_packages(path.read_text(encoding="utf-8"), module):
            if top in FORBIDDEN[package]:
                bad.append(f"{rel}:{line} imports {top}")
    return bad


@pytest.mark.parametrize("package", list(FORBIDDEN))
def test_the_dependency_rule(package):
    if not (REPO / package).is_dir():
        pytest.skip(f"{package}/ does not exist yet")
    assert violations(package) == []


def test_every_package_is_checked():
    """A new top-level package must be added to FORBIDDEN (or it escapes the rule)."""
    packages = {p.name for p in REPO.iterdir() if p.is_dir() and any(p.glob("*.py")) and p.name[0] not in "._"}
    assert packages - set(FORBIDDEN) <= {"tests", "benchmarks", "data", "docs", "build"}


# ---- the checker itself ---------------------------------------------------------------------------------
@pytest.mark.parametrize("source,module,expected", [
    ("import seq2seq.data", "captioning.demo", "seq2seq"),
    ("import numpy as np, seq2vec", "captioning.demo", "seq2vec"),
    ("from seq2seq.model import Seq2Seq", "captioning.demo", "seq2seq"),
    ("def f():\n    from seq2seq import data\n    return data", "captioning.demo", "seq2seq"),
    ("class A:\n    def m(self):\n        import charlm.units", "seq2seq.train", "charlm"),
    ("try:\n    import torch\nexcept ImportError:\n    torch = None", "minigrad.nn.rnn", "torch"),
    ("from . import data", "seq2seq.train", "seq2seq"),
    ("from .data import x", "seq2seq.__init__", "seq2seq"),
    ("from ..model import x", "seq2seq.sub.train", "seq2seq"),
    ("import importlib\nm = importlib.import_module('seq2seq.train')", "captioning.demo", "seq2seq"),
    ("m = __import__('demokit')", "minigrad.tensor", "demokit"),
])
def test_the_checker_finds_imports_wherever_they_are(source, module, expected):
    assert expected in [top for top, _ in imported_packages(source, module)]


def test_the_checker_reports_file_and_line(tmp_path):
    (tmp_path / "captioning").mkdir()
    (tmp_path / "captioning" / "demo.py").write_text("import numpy\n\n\ndef f():\n    import seq2seq.data\n")
    (tmp_path / "captioning" / "ok.py").write_text("import demokit\nimport minigrad\nfrom . import demo\n")
    assert violations("captioning", tmp_path) == ["captioning/demo.py:5 imports seq2seq"]
