"""The memory command's table and figures (gradient flow, exploding gradients)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from demokit.plotting import log_scale, pyplot, save_figure


def adding_table(rows: list[dict[str, Any]], lengths: Sequence[int], cells: Sequence[str]) -> tuple[str, str]:
    """The printed T x cell table of test MSEs, and the rows as CSV text."""
    lines = ["T".rjust(6) + "".join(c.upper().rjust(10) for c in cells)]
    for T in lengths:
        mse = {r["cell"]: r["test_mse"] for r in rows if r["T"] == T}
        lines.append(str(T).rjust(6) + "".join(f"{mse[c]:10.4f}" for c in cells))
    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return "\n".join(lines), text.getvalue()


def plot_flow(path: Path, flow: dict[str, dict[str, list[float]]], T: int) -> Path | None:
    """gradient_flow.png: ||dloss/dh_t|| per t, at initialisation and after training."""
    plt = pyplot()
    if plt is None:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, when in zip(axes, ("init", "trained")):
        for cell, f in flow.items():
            if when in f:
                ax.plot(np.arange(T), f[when], label=cell.upper())
        log_scale(ax)
        ax.set_title(f"||dloss/dh_t|| {'at initialisation' if when == 'init' else 'after training'}")
        ax.set_xlabel("time step t (the loss is at t = T-1)")
        ax.legend()
    fig.tight_layout()
    return save_figure(fig, path)


def plot_exploding(path: Path, runs: list[dict[str, Any]], baseline: float) -> Path | None:
    """exploding.png: the pre-clip gradient norm and the loss per step, without and with clipping."""
    plt = pyplot()
    if plt is None:
        return None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for r in runs:
        name = "clip_grad_norm_(1.0)" if r["clip"] else "no clipping"
        ax1.plot(r["grad_norms"], label=name)
        ax2.plot(r["losses"], label=name)
        if r["diverged"]:
            ax2.axvline(len(r["losses"]), color="C3", ls=":", label="diverged (NaN/inf)")
    log_scale(ax1)
    ax1.set_title("gradient norm before clipping, per step")
    ax2.set_title("training loss (MSE)")
    ax2.axhline(baseline, color="0.5", ls="--", label="constant predictor")
    ax2.set_ylim(0, 1.0)
    for ax in (ax1, ax2):
        ax.set_xlabel("step")
        ax.legend()
    fig.tight_layout()
    return save_figure(fig, path)
