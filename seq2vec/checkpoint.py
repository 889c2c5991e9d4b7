"""The forecaster's checkpoint, written (through demokit's Trainer) and read here only.

    kind    "seq2vec.forecast"
    config  {"options": the command's model/data options, "log": bool, "series": str}
    model   SequenceRegressor state_dict             scaler   the fitted Scaler (train part only)
    optim, sched, rng, progress                      (demokit.trainer: what --resume needs)
"""

from __future__ import annotations

import os
from typing import Any

from demokit.checkpoints import load_checkpoint, load_into
from minigrad.checkpoint import CheckpointError
from seq2vec.data import Scaler
from seq2vec.model import SequenceRegressor

KIND = "seq2vec.forecast"
REQUIRED = {"config": dict, "config.options": dict, "config.log": bool, "model": dict, "scaler": dict}
MODEL_OPTIONS = ("cell", "hidden", "layers", "dropout", "window", "target")


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A validated forecaster checkpoint (one-line CheckpointError otherwise)."""
    state = load_checkpoint(path, KIND, REQUIRED)
    missing = [k for k in MODEL_OPTIONS if k not in state["config"]["options"]]
    if missing:
        raise CheckpointError(f"{os.fspath(path)}: the entry 'config.options' lacks {', '.join(missing)}")
    return state


def build_model(options: dict[str, Any]) -> SequenceRegressor:
    return SequenceRegressor(options["cell"], 1, options["hidden"], options["layers"], 1, options["dropout"])


def load_model(path: str | os.PathLike[str]) -> tuple[SequenceRegressor, Scaler, dict[str, Any]]:
    """The model, its scaler and its config from a checkpoint, ready to predict."""
    state = read(path)
    model = build_model(state["config"]["options"])
    load_into(model, state["model"], path, "model")
    try:
        scaler = Scaler.from_dict(state["scaler"])
    except ValueError as e:
        raise CheckpointError(f"{os.fspath(path)}: the entry 'scaler' does not fit: {e}") from None
    return model, scaler, state["config"]
