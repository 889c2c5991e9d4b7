"""The training loop, written once (DLfS2's common/trainer.py, Keras's fit): epochs of batches through
`train_step`, validation after each epoch, best/last checkpoints, early stopping, exact --resume, Ctrl-C.

What varies between demos is passed in as three functions, so each demo's loop reads on one screen:
    batches(epoch) -> list of batches    the epoch's batches in order; a function of (seed, epoch) only, so a
                                         resumed run sees exactly the batches an uninterrupted one would
    loss(batch) -> Tensor                forward + loss in training mode
    validate() -> {"val_loss": ..., ...} figures on held-out data (eval mode); `monitor` picks the one that
                                         decides best.npz and early stopping (lower is better unless mode="max")
    on_epoch_start(epoch)                optional, called before an epoch's first batch (e.g. reset_states())

Per step:   train_step (zero_grad, forward, loss, backward, global-norm clipping, step), then scheduler.step()
Per epoch:  validate -> history -> best.npz when the monitored figure improved -> last.npz -> early stopping
Never written: a checkpoint from non-finite weights. Any non-finite loss, gradient norm, weight or validation
figure raises Diverged naming the epoch and step; the files on disk then stay the last finite ones.
Ctrl-C: the first press stops after the current step and saves last.npz (exit 130; --resume continues exactly);
a second press stops at once.
"""

from __future__ import annotations

import math
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import minigrad
from demokit.checkpoints import load_into, save_checkpoint
from demokit.errors import Diverged, Interrupted
from demokit.runs import RunFolder
from demokit.step import train_step
from minigrad import nn
from minigrad.optim import Optimizer
from minigrad.tensor import Tensor

GROWTH_WARNING = 100.0  # warn once when the training loss exceeds this many times its first value


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The data order's random generator: a function of (seed, epoch) only, so resumed runs repeat it."""
    return np.random.default_rng([seed, epoch])


def shuffled_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Index batches covering 0..n-1 once in the epoch's order (the last one may be smaller)."""
    order = epoch_rng(seed, epoch).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


@dataclass
class FitSettings:
    epochs: int
    clip: float = 1.0  # global-norm clipping threshold; 0 = off
    patience: int = 0  # stop after this many epochs without improvement; 0 = off
    monitor: str = "val_loss"
    mode: str = "min"  # "min": lower is better; "max": higher is better
    max_minutes: float = 0.0  # opt-in wall-clock budget; 0 = none (runs are defined by epochs)
    progress: bool = True  # tqdm bars
    name: str = ""  # what the bar and the epoch lines call this run (several runs in one command)


@dataclass
class Progress:
    """Where a run is; saved in every checkpoint so --resume continues exactly."""

    epoch: int = 0  # epochs finished
    batch: int = 0  # batches finished in the current epoch
    step: int = 0  # optimizer steps in all
    best: float | None = None  # best monitored figure so far
    bad_epochs: int = 0  # epochs since it last improved
    first_loss: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per finished epoch
    step_losses: list[float] = field(default_factory=list)  # every step's training loss (for the plots)
    running: dict[str, float] = field(default_factory=lambda: {"loss": 0.0, "norm": 0.0, "clipped": 0, "steps": 0})


class Trainer:
    """Runs `fit` for one model; owns its checkpoints (`state`/`restore`) in `run` (see the module docstring)."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: Optimizer,
        run: RunFolder,
        settings: FitSettings,
        kind: str,
        config: dict[str, Any],
        scheduler: Any = None,
        extra: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.model, self.optimizer, self.scheduler, self.run = model, optimizer, scheduler, run
        self.settings, self.kind, self.config, self.extra = settings, kind, config, extra or {}
        self.progress = Progress()
        self.timing = {"train_seconds": 0.0, "items": 0}
        self._stop = False

    # ---- checkpoints ----------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "config": self.config,
            "model": self.model.state_dict(),
            "optim": self.optimizer.state_dict(),
            "sched": self.scheduler.state_dict() if self.scheduler is not None else {},
            "rng": minigrad.get_rng_state(),
            "progress": asdict(self.progress),
            # a callable is asked at each save: for what changes during training (a stateful model's carried state)
            **(self.extra() if callable(self.extra) else self.extra),
        }

    def save(self, name: str) -> None:
        p = self.progress
        save_checkpoint(self.run / name, self.state(), self.model, f"epoch {p.epoch + (p.batch > 0)}, step {p.step}")

    def restore(self, state: dict[str, Any], path: Any) -> None:
        """Continue from a checkpoint `state` (read from `path`): weights, optimizer, schedule, RNG, progress."""
        load_into(self.model, state["model"], path, "model")
        load_into(self.optimizer, state["optim"], path, "optim")
        if self.scheduler is not None:
            load_into(self.scheduler, state["sched"], path, "sched")
        try:
            minigrad.set_rng_state(state["rng"])
            progress = dict(state["progress"])
            progress["step_losses"] = [float(v) for v in progress.get("step_losses", [])]
            self.progress = Progress(**progress)
        except (KeyError, TypeError, ValueError) as e:
            from minigrad.checkpoint import CheckpointError

            raise CheckpointError(f"{path}: the entry 'progress' or 'rng' does not fit: {e}") from None

    # ---- the loop ---------------------------------------------------------------------------------------
    def fit(
        self,
        batches: Callable[[int], Sequence[Any]],
        loss: Callable[[Any], Tensor],
        validate: Callable[[], dict[str, float]] | None = None,
        size: Callable[[Any], int] | None = None,
        on_epoch_start: Callable[[int], None] | None = None,
    ) -> str:
        """Train until `settings.epochs`, early stopping, Ctrl-C or the opt-in time budget; returns why it stopped."""
        s, p = self.settings, self.progress
        started = time.perf_counter()
        previous = self._catch_ctrl_c()
        try:
            while p.epoch < s.epochs:
                if s.patience and p.bad_epochs >= s.patience:
                    return f"early stopping: no better {s.monitor} for {s.patience} epochs"
                if on_epoch_start is not None and p.batch == 0:  # not when resuming in the middle of an epoch
                    on_epoch_start(p.epoch)
                epoch_batches = batches(p.epoch)
                reason = self._run_epoch(epoch_batches, loss, size, started)
                if reason:
                    self.save("last.npz")
                    if reason == "interrupted":
                        raise Interrupted(
                            f"interrupted: saved {self.run / 'last.npz'} (epoch {p.epoch + 1}, step {p.step}); "
                            f"continue with --resume --out {self.run.path}"
                        )
                    return reason
                self._end_epoch(validate)
            return f"finished {s.epochs} epochs"
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _run_epoch(
        self, epoch_batches: Sequence[Any], loss: Callable[[Any], Tensor], size: Callable[[Any], int] | None,
        started: float,
    ) -> str:
        """The steps of one epoch from where progress says; '' when the epoch is done, else why it stopped."""
        s, p = self.settings, self.progress
        bar = self._bar(len(epoch_batches))
        try:
            for i in range(p.batch, len(epoch_batches)):
                if self._stop:
                    return "interrupted"
                batch, t0 = epoch_batches[i], time.perf_counter()
                where = f"epoch {p.epoch + 1}, step {p.step + 1}"
                r = train_step(lambda b=batch: loss(b), self.optimizer, s.clip, where)
                if self.scheduler is not None:
                    self.scheduler.step()
                p.step, p.batch = p.step + 1, i + 1
                self._after_step(r.loss, where)
                run = p.running
                run["loss"] += r.loss
                run["norm"] += r.grad_norm
                run["clipped"] += int(r.clipped)
                run["steps"] += 1
                self.timing["train_seconds"] += time.perf_counter() - t0
                self.timing["items"] += size(batch) if size is not None else 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(
                        loss=f"{run['loss'] / run['steps']:.4f}", gnorm=f"{r.grad_norm:.2f}",
                        lr=f"{self.optimizer.param_groups[0]['lr']:.1e}",
                        per_s=f"{self.timing['items'] / max(self.timing['train_seconds'], 1e-9):,.0f}",
                        refresh=False,
                    )
                if s.max_minutes and time.perf_counter() - started > 60.0 * s.max_minutes:
                    return f"time budget (--max-minutes {s.max_minutes:g}) used up"
            return "interrupted" if self._stop else ""
        finally:
            if bar is not None:
                bar.close()

    def _after_step(self, value: float, where: str) -> None:
        p = self.progress
        p.step_losses.append(value)
        if p.first_loss is None:
            p.first_loss = value
        elif value > GROWTH_WARNING * max(p.first_loss, 1e-12) and p.first_loss >= 0:
            warn = f"warning: {where}: the training loss grew from {p.first_loss:.3g} to {value:.3g}; " \
                   "the learning rate (--lr) is probably too high"
            print(warn, file=sys.stderr, flush=True)
            p.first_loss = math.inf  # warn once

    def _end_epoch(self, validate: Callable[[], dict[str, float]] | None) -> None:
        s, p = self.settings, self.progress
        run = p.running
        entry: dict[str, Any] = {
            "epoch": p.epoch + 1,
            "step": p.step,
            "train_loss": run["loss"] / max(run["steps"], 1),
            "grad_norm": run["norm"] / max(run["steps"], 1),
            "clip_rate": run["clipped"] / max(run["steps"], 1),
            "lr": float(self.optimizer.param_groups[0]["lr"]),
        }
        improved = False
        if validate is not None:
            with np.errstate(all="ignore"):  # non-finite figures are reported below, in one line
                figures = {k: float(v) for k, v in validate().items()}
            bad = [k for k, v in figures.items() if not math.isfinite(v)]
            if bad:
                raise Diverged(f"epoch {p.epoch + 1}, step {p.step}: {bad[0]} is {figures[bad[0]]}; "
                               "lower --lr or keep --clip on")
            entry.update(figures)
            value = figures[s.monitor]
            better = p.best is None or (value < p.best if s.mode == "min" else value > p.best)
            if better:
                p.best, p.bad_epochs, improved = value, 0, True
            else:
                p.bad_epochs += 1
        p.history.append(entry)
        p.epoch, p.batch = p.epoch + 1, 0
        p.running = {"loss": 0.0, "norm": 0.0, "clipped": 0, "steps": 0}
        if improved:
            self.save("best.npz")
        self.save("last.npz")
        print(f"{s.name} {format_entry(entry, s.epochs, s.monitor if improved else None)}".strip(), flush=True)

    def _bar(self, total: int) -> Any:
        if not self.settings.progress:
            return None
        from tqdm import tqdm

        p = self.progress
        desc = f"{self.settings.name} epoch {p.epoch + 1}/{self.settings.epochs}".strip()
        return tqdm(total=total, initial=p.batch, desc=desc,
                    unit="batch", leave=False, dynamic_ncols=True, mininterval=0.5, file=sys.stderr,
                    disable=None)  # None: a bar on a terminal, none in a log file or a pipe

    def _catch_ctrl_c(self) -> Any:
        def on_ctrl_c(signum: int, frame: Any) -> None:
            self._stop = True
            signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C stops at once
            print("\nCtrl-C: saving after this step (press again to stop at once)", file=sys.stderr, flush=True)

        try:
            return signal.signal(signal.SIGINT, on_ctrl_c)
        except ValueError:  # not the main thread: Ctrl-C then raises KeyboardInterrupt as usual
            return None


def format_entry(entry: dict[str, Any], epochs: int, improved: str | None) -> str:
    """One log line per epoch: 'epoch 3/6: train_loss 1.234  val_loss 1.100 *  clip_rate 12%  lr 1.0e-03'."""
    parts = [f"epoch {entry['epoch']}/{epochs}:"]
    for key, value in entry.items():
        if key in ("epoch", "step"):
            continue
        if key == "clip_rate":
            parts.append(f"clipped {value:.0%}")
        elif key == "lr":
            parts.append(f"lr {value:.1e}")
        else:
            parts.append(f"{key} {value:.4g}{' *' if key == improved else ''}")
    return "  ".join(parts)
