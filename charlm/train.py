"""`python -m charlm.train`: a character-level language model with stateful layers and truncated BPTT.

    python -m charlm.train                                   # the corpus's Korean sentences, one unit = one character
    python -m charlm.train --units jamo --out runs/charlm-jamo   # one unit = one jamo (2-3 per syllable)
    python -m charlm.train --text my.txt --out runs/my-lm    # any UTF-8 text
    python -m charlm.sample --prime "어제 고양이가" --temperature 0.7

The text is one stream, cut into --batch-size parallel streams and read in chunks of --bptt units; the stateful
layers carry each row's state from chunk to chunk, detached (truncated BPTT). The held-out tail of the text is
the validation part. Writes into --out: best.npz (lowest validation bits per character), last.npz, bpc.png,
activations.png, gates.png, samples.txt and metrics.json (bpc against n-gram baselines, grammar figures).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

import minigrad
from charlm import checkpoint
from charlm.generate import bits_per_char
from charlm.model import CELLS, CharLM
from charlm.report import report
from charlm.text import batchify, bptt_chunks, corpus_text, read_text, split_text
from charlm.units import build_units, units_from_state
from demokit import cli
from demokit.errors import UserError
from demokit.runs import RunFolder
from demokit.trainer import FitSettings, Trainer
from minigrad import functional as F
from minigrad import optim

MIN_TRAIN_UNITS = 200
RUN_CONTROL = {"epochs", "patience", "max_minutes", "progress", "threads", "sample_chars", "temperatures"}


@dataclass
class Config(cli.RunOptions):
    lang: str = "ko"
    text: str | None = None
    units: str = "char"
    valid_fraction: float = 0.05
    cell: str = "lstm"
    layers: int = 1
    hidden: int = 256
    emb: int = 64
    dropout: float = 0.1
    epochs: int = 8
    batch_size: int = 16
    bptt: int = 64
    lr: float = 3e-3
    clip: float = 1.0
    patience: int = 0
    sample_chars: int = 20_000


def build_parser() -> argparse.ArgumentParser:
    d = Config()
    p = cli.parser("python -m charlm.train",
                   "Train a character-level language model (every input unit predicts the next one) with stateful "
                   "LSTM/GRU layers and truncated backpropagation through time; compare it with n-gram baselines.")
    g = p.add_argument_group("text")
    g.add_argument("--lang", choices=("ko", "en"), default=d.lang,
                   help="which side of the built-in English-Korean corpus to model")
    g.add_argument("--text", metavar="FILE", help="model this UTF-8 text file instead of the built-in corpus")
    g.add_argument("--units", choices=("char", "jamo"), default=d.units,
                   help="char: one unit per Unicode character (a Hangul syllable is one unit); jamo: each syllable "
                   "split into its initial/medial/final jamo (fewer, more regular units; longer sequences)")
    g.add_argument("--valid-fraction", type=cli.unit_float, default=d.valid_fraction,
                   help="the held-out TAIL of the text used for validation")
    g = p.add_argument_group("model")
    g.add_argument("--cell", choices=tuple(CELLS), default=d.cell, help="recurrent cell")
    g.add_argument("--layers", type=cli.positive_int, default=d.layers, help="stacked recurrent layers")
    g.add_argument("--hidden", type=cli.positive_int, default=d.hidden, help="units per recurrent layer")
    g.add_argument("--emb", type=cli.positive_int, default=d.emb, help="embedding size of a unit")
    g.add_argument("--dropout", type=cli.dropout_float, default=d.dropout,
                   help="dropout on the embeddings and after every recurrent layer")
    g = cli.add_run_options(p, out=None, epochs=d.epochs)
    g.add_argument("--batch-size", type=cli.positive_int, default=d.batch_size,
                   help="parallel streams the text is cut into")
    g.add_argument("--bptt", type=cli.positive_int, default=d.bptt,
                   help="units per chunk: gradients flow back this far (the state flows on, detached)")
    g.add_argument("--lr", type=cli.positive_float, default=d.lr,
                   help="Adam's peak learning rate (linear warm-up, then cosine decay over the run)")
    g.add_argument("--clip", type=cli.nonnegative_float, default=d.clip,
                   help="clip the global gradient norm to this (0: off)")
    g.add_argument("--patience", type=cli.nonnegative_int, default=d.patience,
                   help="early stopping: epochs without a lower validation bpc (0: off)")
    g.add_argument("--sample-chars", type=cli.positive_int, default=d.sample_chars,
                   help="units sampled from the model and from the n-gram baseline for the grammar figures")
    for action in p._actions:
        if action.dest == "out":
            action.help = "run folder (default runs/charlm, or runs/charlm-jamo with --units jamo)"
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    cfg = cli.to_config(parser.parse_args(argv), Config)
    cfg.out = cfg.out or ("runs/charlm" if cfg.units == "char" else "runs/charlm-jamo")
    minigrad.set_num_threads(cfg.threads)
    run = RunFolder(cfg.out, cfg.resume, cfg.restart).open()  # before any work: nothing is lost later
    state = checkpoint.read(run / "last.npz") if cfg.resume else None
    if state is not None:
        cfg = Config(**cli.resumed(asdict(cfg), state["config"]["options"], cli.given_options(parser, argv),
                                   RUN_CONTROL))
    text = read_text(cfg.text) if cfg.text else corpus_text(cfg.lang)
    units = units_from_state(state["units"]) if state is not None else build_units(text, cfg.units)
    try:  # a text too short for the split or for --batch-size rows: one line (exit 2), before any training
        train_text, valid_text = split_text(text, cfg.valid_fraction)
        train_ids, valid_ids = units.encode(train_text), units.encode(valid_text)
        streams = batchify(train_ids, cfg.batch_size)
    except ValueError as e:
        raise UserError(f"{cfg.text or 'the built-in corpus'}: {e}") from None
    if len(train_ids) < MIN_TRAIN_UNITS:  # the n-gram baselines choose k on a held-out part of the training text
        raise UserError(f"{cfg.text}: {len(train_ids)} training units are too few; a text of at least "
                        f"{MIN_TRAIN_UNITS} units is needed")
    lines = [len(s) for s in text.splitlines() if s]
    print(f"text: {cfg.text or f'built-in corpus ({cfg.lang})'}: {len(text):,} characters, {len(lines):,} lines "
          f"(mean {np.mean(lines):.1f} characters)")
    print(f"units: {cfg.units}: vocabulary {units.size} (with <unk>), {units.units_per_char(train_ids):.2f} units "
          f"per character, a line is {np.mean(lines) * units.units_per_char(train_ids):.1f} units on average; "
          f"train {len(train_ids):,} units, valid {len(valid_ids):,} units (the last {cfg.valid_fraction:.0%})")

    chunks = list(bptt_chunks(streams, cfg.bptt))
    minigrad.manual_seed(cfg.seed)
    model = CharLM(units.size, cfg.emb, cfg.hidden, cfg.layers, cfg.cell, cfg.dropout)
    opt = optim.Adam(model.parameters(), lr=cfg.lr)
    total = cfg.epochs * len(chunks)
    sched = optim.WarmupDecay(opt, warmup_steps=min(100, total // 10), total_steps=total, min_lr=0.05 * cfg.lr)
    settings = FitSettings(cfg.epochs, cfg.clip, cfg.patience, monitor="val_bpc", max_minutes=cfg.max_minutes,
                           progress=cfg.progress)
    options = {k: v for k, v in asdict(cfg).items() if k not in {"out", "resume", "restart"}}
    trainer = Trainer(model, opt, run, settings, kind=checkpoint.KIND, scheduler=sched,
                      config={"model": model.config, "options": options},
                      extra=lambda: {"units": units.to_state(), "carried": model.carried_states()})
    if state is not None:
        trainer.restore(state, run / "last.npz")
        model.set_carried_states(state["carried"])
        print(f"resuming {run / 'last.npz'} at epoch {trainer.progress.epoch + 1}, step {trainer.progress.step}")
    print(f"model: {cfg.cell.upper()} x{cfg.layers}, hidden {cfg.hidden}, emb {cfg.emb}: "
          f"{model.num_parameters():,} parameters; {len(chunks)} chunks of {cfg.batch_size} x {cfg.bptt} per epoch")

    stopped = trainer.fit(
        batches=lambda epoch: chunks,  # in order: row b of chunk k+1 continues row b of chunk k
        loss=lambda chunk: F.cross_entropy(model(chunk[0]), chunk[1]),
        validate=lambda: {"val_bpc": bits_per_char(model, units, valid_ids)},
        size=lambda chunk: chunk[0].size,
        on_epoch_start=lambda epoch: model.reset_states(),  # each epoch reads the streams from their start
    )
    print(f"training stopped: {stopped}")
    best, _, _ = checkpoint.load_model(run / "best.npz")  # the lowest validation bpc of THIS run
    metrics = report(run, best, units, train_ids, valid_ids, trainer.progress.history, options)
    metrics["timing"] = trainer.timing
    path = run.write_json("metrics.json", metrics)
    print(f"written: {', '.join(str(p) for p in metrics['figures'])}, {run / 'samples.txt'}, {path}, "
          f"{run / 'best.npz'}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_command(main))
