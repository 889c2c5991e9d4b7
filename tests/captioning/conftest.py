"""Puts this folder on sys.path (for captioning_helpers) and holds the shared tiny end-to-end run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from captioning_helpers import TINY, run_main  # noqa: E402


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny end-to-end run shared by the tests (read-only for them)."""
    out = tmp_path_factory.mktemp("caption_run") / "run"
    assert run_main([*TINY, "--out", str(out)]) == 0
    return out
