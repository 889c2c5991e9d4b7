"""Helpers that several test files share (importable because tests/conftest.py puts this folder on sys.path)."""

from __future__ import annotations

import math
import re

import numpy as np


def assert_same(a, b, where="state"):  # noqa: ANN001, ANN201
    """Bit-identical nested states: same keys, types, dtypes, shapes and bytes."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        assert a.tobytes() == b.tobytes(), f"{where}: arrays differ"
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), f"{where}: {a!r} != {b!r}"
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def help_entries(text: str) -> dict[str, str]:
    """{invocation ("--seed SEED"): its help text, joined} from argparse's --help output (sections after usage)."""
    entries: dict[str, str] = {}
    current = None
    for line in text[text.index("\n\n"):].splitlines():  # past the usage lines
        m = re.match(r"^  (-\S.*?)(?:\s{2,}(\S.*))?$", line)
        if m:
            current = m.group(1)
            entries[current] = m.group(2) or ""
        elif current is not None and line.startswith("    ") and line.strip():
            entries[current] = f"{entries[current]} {line.strip()}".strip()
        else:
            current = None
    return entries
