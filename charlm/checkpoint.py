"""charlm's checkpoint, written (through demokit's Trainer) and read here only.

    kind     "charlm"
    config   {"model": CharLM's config, "units": "char" | "jamo", "text": what it was trained on, ...}
    model    the state_dict               units    the vocabulary (charlm.units to_state)
    carried  each stateful layer's state at the moment of saving (so --resume mid-epoch continues exactly)
    optim, sched, rng, progress           (demokit.trainer: what --resume needs)
"""

from __future__ import annotations

import os
from typing import Any

from charlm.model import CharLM
from charlm.units import Units, units_from_state
from demokit.checkpoints import load_checkpoint, load_into
from minigrad.checkpoint import CheckpointError

KIND = "charlm"
REQUIRED = {"config": dict, "config.model": dict, "config.options": dict, "model": dict, "units": dict,
            "carried": list}


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A validated charlm checkpoint (one-line CheckpointError otherwise)."""
    return load_checkpoint(path, KIND, REQUIRED)


def build_model(config: dict[str, Any], path: str | os.PathLike[str] = "the checkpoint") -> CharLM:
    try:
        return CharLM(**config)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{os.fspath(path)}: the entry 'config.model' does not build a model: {e}") from None


def load_model(path: str | os.PathLike[str]) -> tuple[CharLM, Units, dict[str, Any]]:
    """The model (eval mode, states reset) and its vocabulary from a checkpoint."""
    state = read(path)
    try:
        units = units_from_state(state["units"])
    except ValueError as e:
        raise CheckpointError(f"{os.fspath(path)}: the entry 'units' does not fit: {e}") from None
    model = build_model(state["config"]["model"], path)
    load_into(model, state["model"], path, "model")
    if model.config["vocab"] != units.size:
        raise CheckpointError(f"{os.fspath(path)}: the model has {model.config['vocab']} outputs but the entry "
                              f"'units' has {units.size} units")
    model.eval()
    return model, units, state["config"]
