"""The captioner's checkpoint: written through demokit's Trainer (best.npz, last.npz) and read here only.

    kind     "captioning"
    config   {"options": the run's options (captioning.options.Config.saved()), "model": CaptionModel.config}
    vocab    the word vocabulary (captioning.data.Vocab.to_dict())
    model    CaptionModel state_dict
    optim, sched, rng, progress      what --resume needs (demokit.trainer)

Every entry is checked before use (demokit.checkpoints.load_checkpoint, then the model and vocabulary are
rebuilt here): a missing, mistyped or inconsistent entry is one CheckpointError line naming it and the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from captioning.data import Vocab
from captioning.model import CaptionModel
from captioning.options import Config
from demokit.checkpoints import load_checkpoint, load_into
from minigrad.checkpoint import CheckpointError

KIND = "captioning"
REQUIRED: dict[str, type | tuple[type, ...]] = {
    "config": dict, "config.options": dict, "config.model": dict, "config.model.vocab_size": int,
    "config.model.image_size": int, "vocab": dict, "vocab.tokens": list, "model": dict,
}
TRAINING: dict[str, type | tuple[type, ...]] = {"optim": dict, "sched": dict, "progress": dict,
                                                "progress.epoch": int, "progress.step": int}


def config(options: dict[str, Any], model: CaptionModel) -> dict[str, Any]:
    """The `config` entry: what rebuilds the model (and, with the options, the data and schedule)."""
    return {"options": options, "model": model.config}


def extra(vocab: Vocab) -> dict[str, Any]:
    """The entries beside the Trainer's own."""
    return {"vocab": vocab.to_dict()}


@dataclass
class Loaded:
    """A checkpoint read back: the model (weights loaded, eval mode), its vocabulary, options and raw state."""

    model: CaptionModel
    vocab: Vocab
    options: dict[str, Any]
    state: dict[str, Any]


def read(path: str | os.PathLike[str], for_resume: bool = False) -> Loaded:
    """Load and validate a captioning checkpoint; rebuild its vocabulary and model with the saved weights."""
    required = {**REQUIRED, **(TRAINING if for_resume else {})}
    state = load_checkpoint(path, KIND, required)
    name = os.fspath(path)
    try:
        vocab = Vocab.from_dict(state["vocab"])
    except ValueError as e:
        raise CheckpointError(f"{name}: the entry 'vocab' does not fit: {' '.join(str(e).split())}") from None
    options = state["config"]["options"]
    for key, default in Config().saved().items():
        if key not in options:
            raise CheckpointError(f"{name}: the entry 'config.options.{key}' is missing")
        if type(options[key]) is not type(default):
            raise CheckpointError(f"{name}: the entry 'config.options.{key}' should be {type(default).__name__}, "
                                  f"not {type(options[key]).__name__}")
    model_config = state["config"]["model"]
    if model_config["vocab_size"] != len(vocab):
        raise CheckpointError(f"{name}: the entry 'config.model.vocab_size' is {model_config['vocab_size']}, "
                              f"but the vocabulary has {len(vocab)} words")
    try:
        model = CaptionModel(**model_config)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{name}: the entry 'config.model' does not fit: {' '.join(str(e).split())}") from None
    load_into(model, state["model"], path, "model")
    model.eval()
    return Loaded(model, vocab, dict(options), state)
