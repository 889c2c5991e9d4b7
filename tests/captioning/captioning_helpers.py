"""Helpers shared by the captioning command's tests (tiny settings: each tiny run takes a few seconds).

Imported by name: tests/captioning/conftest.py puts this folder on sys.path (pytest runs with importlib mode).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from minigrad import checkpoint

# 64 images / 32 per batch = 2 steps per epoch, 2 epochs = 4 steps
TINY = ["--n-train", "64", "--n-valid", "8", "--n-test", "6", "--epochs", "2", "--batch-size", "32",
        "--hidden", "32", "--emb", "16", "--beam", "2", "--seed", "1", "--no-progress"]


def strict_json(path: Path) -> Any:
    """metrics.json parsed with NaN/Infinity refused (json.loads accepts them by default)."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{path} holds {name}: not strict JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def without_timing(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k != "timing"}


def model_weights(path: Path) -> dict[str, np.ndarray]:
    return checkpoint.load(path)["model"]


def run_main(argv: list[str]) -> int:
    """The command in this process, with its exit code (demokit.cli.run_command, as `python -m` runs it)."""
    from captioning.demo import main
    from demokit.cli import run_command

    return run_command(main, argv)
