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


def conv_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: tuple, padding: tuple
                   ) -> np.ndarray:
    """conv2d by its definition, one output pixel at a time (what the fast im2col path is checked against)."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    F_, _, kh, kw = w.shape
    Ho, Wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    y = np.zeros((x.shape[0], F_, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
            y[:, :, i, j] = np.einsum("ncuv,fcuv->nf", patch, w) + (0 if b is None else b)
    return y
