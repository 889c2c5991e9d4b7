"""Training pieces shared by the seq2vec commands: one step with clipping, evaluation, batching, run folders."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from minigrad import functional as F
from minigrad import nn
from minigrad.optim import Optimizer, clip_grad_norm_


class NonFiniteLoss(RuntimeError):
    """Training produced NaN/inf: reported with the step, never continued silently."""


@dataclass
class StepResult:
    loss: float
    grad_norm: float  # global gradient norm BEFORE clipping
    clipped: bool  # whether clipping fired on this step


def train_step(
    model: nn.Module, optimizer: Optimizer, X: np.ndarray, y: np.ndarray, clip: float, step: int
) -> StepResult:
    """Forward, MSE loss, backward, optional global-norm clipping, update.

    Clipping sits between backward() and step(): clipping after the update would do nothing.
    Raises NonFiniteLoss naming the step when the loss or the gradient norm is NaN/inf.
    """
    optimizer.zero_grad()
    # overflow is expected when training diverges; it is caught below and reported with its step
    with np.errstate(over="ignore", invalid="ignore"):
        loss = F.mse_loss(model(minigrad.tensor(X)), y)
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteLoss(f"step {step}: the loss is {value} (training diverged)")
        loss.backward()
        params = [p for p in model.parameters() if p.grad is not None]
        if clip > 0:
            norm = float(clip_grad_norm_(params, clip))
        else:
            norm = float(np.sqrt(sum(float((p.grad.astype(np.float64) ** 2).sum()) for p in params)))
    if not math.isfinite(norm):
        raise NonFiniteLoss(f"step {step}: the gradient norm is {norm} (exploding gradients)")
    optimizer.step()
    return StepResult(value, norm, clip > 0 and norm > clip)


@minigrad.no_grad()
def predict(model: nn.Module, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Model outputs for X in eval mode (dropout off), batch by batch, as a float64 array."""
    was_training = model.training
    model.eval()
    try:
        outs = [model(minigrad.tensor(X[i : i + batch_size])).data for i in range(0, len(X), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(outs).astype(np.float64)


def mse(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((predict(model, X) - y) ** 2))


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Shuffled index batches covering 0..n-1 once (the last may be smaller)."""
    order = rng.permutation(n)
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]


def run_folder(path: str | Path) -> Path:
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_json(path: Path, data: Any) -> Path:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)  # atomic: a reader never sees half a file
    return path
