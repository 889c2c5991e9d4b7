"""What a seq2seq checkpoint holds, written through demokit's Trainer and read back HERE (translate, --resume).

    kind        "seq2seq"
    config      options     the run's Config without out/resume/restart (seq2seq.options)
                model       ModelConfig: vocabulary sizes, widths, cell, attention (rebuilds Seq2Seq)
                max_src_len longest source the translator accepts (longer inputs are truncated, with a warning)
                data        {"about", "fingerprint"}: --resume checks that the data did not change
                units       why characters or sentencepiece were chosen (the log's words)
    model, optim, sched, rng, progress      the Trainer's: weights and what --resume needs to continue exactly
    tokenizers  {"src": {...}, "tgt": {...}}: {"kind": "char", "chars": [...]} or
                {"kind": "sentencepiece", "model": uint8 bytes of the .model file}

`read(path)` checks every entry before using any: a missing entry, one of the wrong type, a tokenizer whose
vocabulary disagrees with config.model, weights that do not fit the model, or an embedded sentencepiece model
that does not parse is ONE line (CheckpointError) naming the file and the entry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demokit.checkpoints import load_checkpoint, load_into
from minigrad.checkpoint import CheckpointError
from seq2seq.data import Tokenizer, tokenizer_from_state
from seq2seq.model import ModelConfig, Seq2Seq
from seq2seq.options import Config

KIND = "seq2seq"

# what translation needs (and --resume too)
FOR_TRANSLATION: dict[str, type | tuple[type, ...]] = {
    "config": dict,
    "config.options": dict,
    "config.options.reverse_source": bool,
    "config.model": dict,
    "config.max_src_len": int,
    "model": dict,
    "tokenizers.src": dict,
    "tokenizers.src.kind": str,
    "tokenizers.tgt": dict,
    "tokenizers.tgt.kind": str,
}
# what --resume needs besides
FOR_RESUME: dict[str, type | tuple[type, ...]] = {
    **FOR_TRANSLATION,
    "config.data.fingerprint": str,
    "optim": dict,
    "sched": dict,
    "rng": dict,
    "progress": dict,
    "progress.epoch": int,
    "progress.batch": int,
    "progress.step": int,
    "progress.history": list,
}


def contents(
    cfg: Config, model_cfg: ModelConfig, max_src_len: int, about: str, fingerprint: str, units: str,
    src_tok: Tokenizer, tgt_tok: Tokenizer,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Trainer's `config` and `extra` for this run (the module docstring lists them)."""
    config = {
        "options": cfg.saved(),
        "model": model_cfg.to_dict(),
        "max_src_len": int(max_src_len),
        "data": {"about": about, "fingerprint": fingerprint},
        "units": units,
    }
    return config, {"tokenizers": {"src": src_tok.state(), "tgt": tgt_tok.state()}}


def find(path: str | os.PathLike[str]) -> Path:
    """A checkpoint file, or a run folder (its best.npz, else last.npz)."""
    path = Path(path)
    if path.is_dir():
        for name in ("best.npz", "last.npz"):
            if (path / name).is_file():
                return path / name
        raise CheckpointError(f"{path}: no best.npz or last.npz in this folder (train first: python -m seq2seq.train)")
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint file not found")
    return path


@dataclass
class Saved:
    """A checked checkpoint: its state and what it rebuilds."""

    path: Path
    state: dict[str, Any]
    options: dict[str, Any]
    model_config: ModelConfig
    model: Seq2Seq
    src_tok: Tokenizer
    tgt_tok: Tokenizer
    max_src_len: int

    @property
    def reverse_source(self) -> bool:
        return bool(self.options["reverse_source"])


def read(path: str | os.PathLike[str], resume: bool = False) -> Saved:
    """Load and check a seq2seq checkpoint (a file, or a run folder for translation); see the module docstring."""
    path = Path(path) if resume else find(path)
    state = load_checkpoint(path, KIND, FOR_RESUME if resume else FOR_TRANSLATION)
    config = state["config"]
    try:
        model_cfg = ModelConfig(**config["model"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: the entry 'config.model' does not fit: {_one_line(e)}") from None
    toks = []
    for side, vocab in (("src", model_cfg.src_vocab), ("tgt", model_cfg.tgt_vocab)):
        try:
            tok = tokenizer_from_state(state["tokenizers"][side])
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"{path}: the entry 'tokenizers.{side}' is not a usable tokenizer: "
                                  f"{_one_line(e)}") from None
        if tok.vocab_size != vocab:
            raise CheckpointError(f"{path}: the entry 'tokenizers.{side}' has {tok.vocab_size} tokens but "
                                  f"config.model.{side}_vocab is {vocab}: the tokenizer is not the model's")
        toks.append(tok)
    if config["max_src_len"] < 2:
        raise CheckpointError(f"{path}: the entry 'config.max_src_len' is {config['max_src_len']}, below 2")
    model = Seq2Seq(model_cfg)
    load_into(model, state["model"], path, "model")
    return Saved(path, state, dict(config["options"]), model_cfg, model, toks[0], toks[1],
                 int(config["max_src_len"]))


def _one_line(e: BaseException) -> str:
    text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    return " ".join(text.split()) or type(e).__name__
