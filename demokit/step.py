"""One training step, written once: zero_grad -> forward -> loss -> backward -> global-norm clipping -> step.

    g      = dloss/dθ                       (backward)
    ‖g‖    = sqrt(Σ_i ‖g_i‖²)               (ONE norm over all parameters, measured before clipping)
    g      ← g · min(1, clip / ‖g‖)         (clip_grad_norm_: the direction is kept; skipped when clip = 0)
    θ      ← optimizer update with g

Clipping sits between backward() and step(): after step() it would change nothing (USERS.md, 7).
A non-finite loss or gradient norm raises Diverged BEFORE the update, so the weights stay finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from demokit.errors import Diverged
from minigrad import nn
from minigrad.optim import Optimizer, clip_grad_norm_
from minigrad.tensor import Tensor


@dataclass(frozen=True)
class StepResult:
    loss: float  # the loss of this batch, before the update
    grad_norm: float  # global gradient norm BEFORE clipping
    clipped: bool  # whether clipping scaled the gradients down


def train_step(
    loss_fn: Callable[[], Tensor], optimizer: Optimizer, clip: float = 0.0, where: str = "this step"
) -> StepResult:
    """Run one step of `optimizer` on the loss that `loss_fn()` builds; clip the global norm to `clip` (0 = off).

    `where` names the step in the Diverged message ("epoch 3, step 1200").
    """
    optimizer.zero_grad()
    # overflow is expected when a run diverges: it is caught just below and reported with its step
    with np.errstate(over="ignore", invalid="ignore"):
        loss = loss_fn()
        value = float(loss.item())
        if not math.isfinite(value):
            raise Diverged(f"{where}: the training loss is {value}; lower --lr or keep --clip on")
        loss.backward()
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        # an infinite max_norm measures the norm and never scales
        norm = float(clip_grad_norm_(params, clip if clip > 0 else math.inf))
        if not math.isfinite(norm):
            raise Diverged(f"{where}: the gradient norm is {norm} (exploding gradients); lower --lr or keep --clip on")
        optimizer.step()  # an update that overflows shows up as a non-finite loss or figure next, named there
    return StepResult(value, norm, clip > 0 and norm > clip)


def nonfinite_parameters(model: nn.Module) -> list[str]:
    """Names of the parameters that hold a NaN or an infinity (empty when all are finite)."""
    return [name for name, p in model.named_parameters() if not np.isfinite(p.data).all()]


def check_finite(model: nn.Module, where: str) -> None:
    """Raise Diverged naming `where` and the first bad parameter when any weight is not finite."""
    bad = nonfinite_parameters(model)
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise Diverged(f"{where}: parameter {bad[0]}{more} is not finite; lower --lr or keep --clip on")


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Evaluation inside the block: dropout off, no graph recorded; the previous mode is restored after."""
    import minigrad

    was_training = model.training
    model.eval()
    try:
        with minigrad.no_grad():
            yield model
    finally:
        model.train(was_training)
