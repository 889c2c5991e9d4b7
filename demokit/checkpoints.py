"""Run checkpoints: minigrad.checkpoint's atomic, pickle-free .npz files plus a check of their whole structure.

A run checkpoint is a dict:
    kind       which command wrote it ("seq2seq", "captioning", ...): a checkpoint of another kind is refused
    config     what rebuilds the model (and the data pipeline) exactly
    model      the model's state_dict
    optim, sched, rng, progress     the training state that makes --resume continue exactly (Trainer)
    ...        whatever else the demo needs (tokenizers, vocabulary, scaler)
It is never written from non-finite weights (Diverged instead), and it is validated entry by entry before any
of it is used: a missing, mistyped or inconsistent entry is one line naming the entry and the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from demokit.step import check_finite
from minigrad import checkpoint, nn
from minigrad.checkpoint import CheckpointError


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any], model: nn.Module, where: str = "") -> Path:
    """Write `state` atomically to `path`, after checking that every weight of `model` is finite.

    `where` ("epoch 3, step 1200") starts the Diverged message when a weight is not finite."""
    check_finite(model, f"{where + ': ' if where else ''}not saving {os.fspath(path)}")
    checkpoint.save(state, path)
    return Path(path)


def _entry(state: dict[str, Any], dotted: str) -> Any:
    node: Any = state
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def load_checkpoint(
    path: str | os.PathLike[str], kind: str, required: dict[str, type | tuple[type, ...]] | None = None
) -> dict[str, Any]:
    """Load a checkpoint of `kind` and check that each dotted entry of `required` exists with its type.

    required = {"config": dict, "model": dict, "progress.epoch": int, ...}. CheckpointError (one line naming the
    file and the entry) for a missing file, another kind, a missing entry or one of the wrong type.
    """
    path = os.fspath(path)
    state = checkpoint.load(path)
    if state.get("kind") != kind:
        raise CheckpointError(f"{path}: not a {kind} checkpoint (its kind is {state.get('kind')!r})")
    for dotted, types in (required or {}).items():
        try:
            value = _entry(state, dotted)
        except KeyError:
            raise CheckpointError(f"{path}: the entry {dotted!r} is missing") from None
        if not isinstance(value, types) or (types is int and isinstance(value, bool)):
            raise CheckpointError(
                f"{path}: the entry {dotted!r} should be {_type_names(types)}, not {type(value).__name__}"
            )
    return state


def _type_names(types: type | tuple[type, ...]) -> str:
    names = [t.__name__ for t in (types if isinstance(types, tuple) else (types,))]
    return " or ".join(names)


def load_into(target: Any, state: Any, path: str | os.PathLike[str], entry: str) -> None:
    """`target.load_state_dict(state)` (a model, optimizer or scheduler), any error as one line naming the entry."""
    try:
        target.load_state_dict(state)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise CheckpointError(f"{os.fspath(path)}: the entry {entry!r} does not fit: {reason}") from None
