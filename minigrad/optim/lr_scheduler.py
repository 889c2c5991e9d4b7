"""Learning-rate schedulers: change each param group's "lr" as training goes on (as PyTorch).

Usage, once per epoch (or once per batch for WarmupDecay):

    scheduler = StepLR(optimizer, step_size=10, gamma=0.5)   # sets the lr for step 0 now
    for epoch in range(epochs):
        train_one_epoch()                                     # calls optimizer.step() many times
        scheduler.step()                                      # AFTER optimizer.step(): next epoch's lr

`last_epoch` counts the scheduler's steps (0 right after construction). Each group's starting lr is
kept as "initial_lr" in the group and in `base_lrs`. StepLR, LambdaLR and WarmupDecay compute the lr in
closed form from `last_epoch` and `base_lrs`, so an lr set by hand is overwritten at the next step;
ReduceLROnPlateau instead multiplies the current lr when a metric stops improving.

`state_dict()` holds plain values (numbers, strings, lists), never the optimizer or a function, so it
goes into a checkpoint without pickle. Restore the optimizer first, then the scheduler.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from minigrad.optim.optimizer import Optimizer


class LRScheduler:
    """Base class: sets each group's lr to `get_lr()` at construction and at every `step()`.

    Subclasses set their hyperparameters, call `super().__init__(optimizer, last_epoch)` and implement
    `get_lr()` -> one lr per param group for the current `self.last_epoch`.
    """

    _not_state: tuple[str, ...] = ("optimizer",)  # attributes that state_dict() leaves out

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(
                        f"{type(self).__name__}(last_epoch={last_epoch}) resumes a schedule, but param group "
                        f"{i} has no 'initial_lr' (load the optimizer's state dict first)"
                    )
        self.base_lrs: list[float] = [float(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        self.step()  # the lr for step 0

    def get_lr(self) -> list[float]:
        """The lr of every param group at step `self.last_epoch`."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def step(self) -> None:
        """Advance one step (epoch) and write the new lr into the optimizer's param groups."""
        self.last_epoch += 1
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = float(lr)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lr of every param group as last set by this scheduler."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (and functions): plain values only."""
        return {k: _copy(v) for k, v in self.__dict__.items() if k not in self._not_state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict()` of the same scheduler class with the same number of param groups."""
        name = type(self).__name__
        expected = set(self.state_dict())
        got = set(state_dict) if isinstance(state_dict, dict) else set()
        if got != expected:
            problems = [f"missing {k!r}" for k in sorted(expected - got)]
            problems += [f"unexpected {k!r}" for k in sorted(got - expected)]
            raise ValueError(f"{name}.load_state_dict: not a {name} state dict ({', '.join(problems)})")
        n_groups = len(self.optimizer.param_groups)
        for key in ("base_lrs", "_last_lr", "min_lrs"):
            if key in state_dict and len(state_dict[key]) != n_groups:
                raise ValueError(
                    f"{name}.load_state_dict: {key} has {len(state_dict[key])} entries, "
                    f"but the optimizer has {n_groups} param groups"
                )
        self.__dict__.update({k: _copy(v) for k, v in state_dict.items()})


class StepLR(LRScheduler):
    """Multiply the lr by `gamma` every `step_size` steps: lr_t = base_lr * gamma^(t // step_size)."""

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be an int >= 1, got {step_size!r}")
        if not gamma > 0:
            raise ValueError(f"StepLR: gamma must be > 0, got {gamma!r}")
        self.step_size = step_size
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """lr_t = base_lr * lr_lambda(t); one function, or a list with one per param group.

    The functions are not part of `state_dict()`: pass the same ones when rebuilding the scheduler.
    """

    _not_state = ("optimizer", "lr_lambdas")

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        n_groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        if callable(lr_lambda):
            self.lr_lambdas = [lr_lambda] * n_groups
        else:
            self.lr_lambdas = list(lr_lambda)
            if len(self.lr_lambdas) != n_groups:
                raise ValueError(f"LambdaLR: {len(self.lr_lambdas)} lr_lambdas for {n_groups} param groups")
            if not all(callable(f) for f in self.lr_lambdas):
                raise TypeError("LambdaLR: lr_lambda must be a function or a list of functions")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * float(f(self.last_epoch)) for base, f in zip(self.base_lrs, self.lr_lambdas)]


class WarmupDecay(LRScheduler):
    """Linear warm-up from 0 to base_lr over `warmup_steps`, then cosine or linear decay to `min_lr`.

    With W = warmup_steps, S = total_steps, t = last_epoch (call step() once per batch):

        t <  W:       lr = base_lr * t / W                 (so the very first update uses lr 0)
        W <= t <= S:  q = (t - W) / (S - W)
                      cosine: lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * q)) / 2
                      linear: lr = min_lr + (base_lr - min_lr) * (1 - q)
        t >  S:       lr = min_lr

    Warm-up keeps the first updates small while Adam's moment estimates are still noisy.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int,
        total_steps: int,
        decay: str = "cosine",
        min_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        for n, v in (("warmup_steps", warmup_steps), ("total_steps", total_steps)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"WarmupDecay: {n} must be an int >= 0, got {v!r}")
        if total_steps <= warmup_steps:
            raise ValueError(f"WarmupDecay: total_steps {total_steps} must be > warmup_steps {warmup_steps}")
        if decay not in ("cosine", "linear"):
            raise ValueError(f"WarmupDecay: decay must be 'cosine' or 'linear', got {decay!r}")
        if not min_lr >= 0:
            raise ValueError(f"WarmupDecay: min_lr must be >= 0, got {min_lr!r}")
        for i, group in enumerate(optimizer.param_groups if isinstance(optimizer, Optimizer) else []):
            if min_lr > group.get("initial_lr", group["lr"]):
                raise ValueError(f"WarmupDecay: min_lr {min_lr} exceeds param group {i}'s lr {group['lr']}")
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.decay = decay
        self.min_lr = float(min_lr)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, W, S = self.last_epoch, self.warmup_steps, self.total_steps
        if t < W:
            return [base * t / W for base in self.base_lrs]
        if t > S:
            return [self.min_lr for _ in self.base_lrs]
        q = (t - W) / (S - W)
        shape = 0.5 * (1.0 + math.cos(math.pi * q)) if self.decay == "cosine" else 1.0 - q
        return [self.min_lr + (base - self.min_lr) * shape for base in self.base_lrs]


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by `factor` when a metric (e.g. validation loss) stops improving (as PyTorch).

    Call `step(metric)` once per epoch, after validation. An epoch is *better* when
        mode="min", threshold_mode="rel":  metric < best * (1 - threshold)
        mode="min", threshold_mode="abs":  metric < best - threshold
        (mode="max" mirrors these). A NaN metric is never better.
    After more than `patience` epochs in a row that are not better, every group's lr becomes
    max(lr * factor, min_lr) (changes smaller than `eps` are ignored), then `cooldown` epochs pass
    before bad epochs count again.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau needs an Optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs': {threshold_mode!r}")
        if not 0 <= factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got {factor!r}")
        if patience < 0 or cooldown < 0:
            raise ValueError("ReduceLROnPlateau: patience and cooldown must be >= 0")
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(f"ReduceLROnPlateau: {len(min_lr)} min_lr values, {n_groups} param groups")
            min_lrs = [float(m) for m in min_lr]
        else:
            min_lrs = [float(min_lr)] * n_groups
        self.optimizer = optimizer
        self.mode = mode
        self.factor = float(factor)
        self.patience = int(patience)
        self.threshold = float(threshold)
        self.threshold_mode = threshold_mode
        self.cooldown = int(cooldown)
        self.min_lrs = min_lrs
        self.eps = float(eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, metric: float, best: float) -> bool:
        """Whether `metric` improves on `best` by more than the threshold."""
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return metric < best * (1.0 - self.threshold)
            return metric < best - self.threshold
        if self.threshold_mode == "rel":
            return metric > best * (1.0 + self.threshold)
        return metric > best + self.threshold

    def step(self, metric: float) -> None:  # type: ignore[override]
        """Record one epoch's metric; lower the lr if it has not improved for more than `patience` epochs."""
        current = float(metric)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # epochs right after a reduction do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old_lr = float(group["lr"])
                new_lr = max(old_lr * self.factor, min_lr)
                if old_lr - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_lr(self) -> list[float]:
        return self.get_last_lr()


def _copy(v: Any) -> Any:
    """Copy lists so a saved state dict does not change as the scheduler keeps stepping."""
    return [_copy(x) for x in v] if isinstance(v, list) else v
