"""`python -m captioning.demo`: train the image captioner, evaluate it, write a gallery; or caption your picture.

    python -m captioning.demo                          # data -> train -> evaluate -> runs/captioning/
    python -m captioning.demo --lang ko --out runs/ko  # Korean captions
    python -m captioning.demo --resume                 # continue the run in --out exactly where it stopped
    python -m captioning.demo --image my.jpg           # caption your own picture with runs/captioning/best.npz

The run folder (--out, demokit.runs) is opened before any work: an unwritable folder fails at once, and a folder
that already holds a run is never overwritten (continue it with --resume, or move it aside with --restart).
What the run writes there:
    run.json                  the command line and start time (written first)
    best.npz, last.npz        checkpoints after each epoch (captioning.checkpoint): best = lowest val_loss,
                              last = where --resume continues (also saved on Ctrl-C and at --max-minutes)
    gallery.html, images/     test and held-out pictures with the generated and the true caption
    loss.png, samples.png     the loss curves; pictures titled with their generated captions
    metrics.json              every figure printed at the end (captioning.report); timings in "timing" only

A run is defined by its options and --epochs, never by the clock: the same seed gives the same model and the
same metrics on any machine (--max-minutes is an opt-in budget; 0 by default).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

import minigrad
from captioning import checkpoint, data, images, options, report
from captioning.model import CaptionModel
from captioning.options import Config
from demokit import cli
from demokit.errors import UserError
from demokit.runs import RunFolder
from demokit.step import eval_mode
from demokit.trainer import FitSettings, Trainer, shuffled_batches
from minigrad import optim

CHANNELS = (16, 64, 128)  # encoder conv channels; fixed (not options) to keep the command line short
IMAGE_DIM = 256  # the image vector's size
MIN_LR = 0.05  # the schedule ends at this fraction of --lr
VALID_BATCH = 250


def main(argv: Sequence[str] | None = None) -> int:
    """Train, evaluate and report (or caption --image); errors are raised for demokit.cli.run_command."""
    cfg, given = options.parse(argv)
    cli.set_threads(cfg.threads)
    if cfg.image is not None:
        return caption_image(cfg)
    wall = time.perf_counter()
    run = RunFolder(cfg.out, resume=cfg.resume, restart=cfg.restart).open()  # before any work
    if run.report():
        print(run.report())
    resumed = read_last(run) if cfg.resume else None
    if resumed is not None:
        cfg = Config(**cli.resumed(asdict(cfg), resumed.options, given, options.RUN_CONTROL))

    t0 = time.perf_counter()
    splits = data.make_dataset(cfg.n_train, cfg.n_valid, cfg.n_test, size=cfg.size, seed=cfg.seed, lang=cfg.lang)
    train, valid = splits["train"], splits["valid"]
    vocab = resumed.vocab if resumed is not None else data.Vocab.build(train.captions)
    captions = vocab.encode_batch(train.captions)
    data_seconds = time.perf_counter() - t0

    minigrad.manual_seed(cfg.seed)
    model = resumed.model if resumed is not None else new_model(cfg, vocab)
    model.train()
    adam = optim.Adam(model.parameters(), lr=cfg.lr)
    total = cfg.epochs * -(-cfg.n_train // cfg.batch_size)
    schedule = optim.WarmupDecay(adam, options.warmup_steps(cfg, total), total, min_lr=MIN_LR * cfg.lr)
    settings = FitSettings(cfg.epochs, cfg.clip, monitor="val_loss", max_minutes=cfg.max_minutes,
                           progress=cfg.progress)
    trainer = Trainer(model, adam, run, settings, kind=checkpoint.KIND, config=checkpoint.config(cfg.saved(), model),
                      scheduler=schedule, extra=checkpoint.extra(vocab))
    if resumed is not None:
        trainer.restore(resumed.state, run / "last.npz")
    print(describe(cfg, model, vocab, splits, trainer.progress.step, total), flush=True)

    stopped = trainer.fit(
        batches=lambda epoch: shuffled_batches(len(train), cfg.batch_size, cfg.seed, epoch),
        loss=lambda idx: model.loss(train.images[idx], captions[idx]),
        validate=lambda: validate(model, valid, vocab),
        size=len,
    )
    print(f"training stopped: {stopped}", flush=True)
    finish(run, cfg, trainer, splits, vocab, stopped, {"data_seconds": data_seconds, "started": wall})
    return 0


def read_last(run: RunFolder) -> checkpoint.Loaded:
    """The checkpoint --resume continues from."""
    path = run / "last.npz"
    if not path.is_file():
        raise UserError(f"--resume: {run.path} holds no last.npz (the run stopped before its first save); "
                        "start over with --restart")
    return checkpoint.read(path, for_resume=True)


def new_model(cfg: Config, vocab: data.Vocab) -> CaptionModel:
    return CaptionModel(len(vocab), image_size=cfg.size, channels=CHANNELS, image_dim=IMAGE_DIM, emb=cfg.emb,
                        hidden=cfg.hidden, inject=cfg.inject, pad_id=vocab.pad_id)


def describe(cfg: Config, model: CaptionModel, vocab: data.Vocab, splits: dict[str, data.Split], step: int,
             total: int) -> str:
    sizes = ", ".join(f"{len(s)} {name}" for name, s in splits.items())
    where = f"resuming at step {step} of {total}" if step else f"{total} steps ({cfg.epochs} epochs)"
    return (f"data: {sizes} images of {cfg.size}x{cfg.size} ({cfg.lang} captions); vocabulary {len(vocab)} words\n"
            f"model: {model.num_parameters():,} parameters (inject={cfg.inject}); Adam lr {cfg.lr:g} with warm-up "
            f"and cosine decay, clip {'off' if cfg.clip == 0 else cfg.clip}; {where}")


def validate(model: CaptionModel, valid: data.Split, vocab: data.Vocab) -> dict[str, float]:
    """val_loss (teacher-forced cross-entropy per real word) and val_exact (greedy decoding, exact match)."""
    caps = vocab.encode_batch(valid.captions)
    words = (caps[:, 1:] != vocab.pad_id).sum(axis=1)  # the targets each caption scores
    total = 0.0
    with eval_mode(model):
        for i in range(0, len(valid), VALID_BATCH):
            batch = slice(i, i + VALID_BATCH)
            total += float(model.loss(valid.images[batch], caps[batch]).item()) * int(words[batch].sum())
        hyps = [vocab.decode(ids) for ids in model.generate(valid.images, vocab.bos_id, vocab.eos_id)]
    exact = float(np.mean([h == r for h, r in zip(hyps, valid.captions)]))
    return {"val_loss": total / int(words.sum()), "val_exact": exact}


def finish(run: RunFolder, cfg: Config, trainer: Trainer, splits: dict[str, data.Split], vocab: data.Vocab,
           stopped: str, timing: dict[str, float]) -> dict[str, Any]:
    """Evaluate this run's best model (best.npz; the last weights if no epoch finished) and write the report."""
    t0 = time.perf_counter()
    p = trainer.progress
    model, evaluated = trainer.model, "the last weights (no epoch finished, so no best.npz)"
    if (run / "best.npz").is_file():
        best = checkpoint.read(run / "best.npz")
        model, best_epoch = best.model, best.state["progress"]["epoch"]
        evaluated = f"best.npz (epoch {best_epoch}, lowest val_loss)"
    decoding = "greedy" if cfg.beam == 1 else f"beam {cfg.beam}"
    print(f"evaluating {evaluated} ({decoding} decoding)", flush=True)
    results = {name: report.evaluate(model, splits[name], vocab, cfg.lang, cfg.beam) for name in ("test", "heldout")}
    steps_done = [h["step"] for h in p.history]
    epoch_steps = np.diff([0, *steps_done])
    clipped = sum(h["clip_rate"] * n for h, n in zip(p.history, epoch_steps)) + p.running["clipped"]
    training = {
        "steps": p.step, "epochs": p.epoch, "stopped": stopped, "evaluated": evaluated,
        "clip_rate": clipped / max(p.step, 1),
        "final_loss": float(np.mean(p.step_losses[-50:])) if p.step_losses else None,
        "history": p.history,
    }
    text = report.summary(results["test"], results["heldout"], training)
    written = report.write_gallery(run, splits, results, text)
    written += [f for f in (report.plot_loss(run, p.step_losses, p.history),
                            report.plot_samples(run, splits, results, cfg.lang)) if f]
    eval_seconds = time.perf_counter() - t0
    train_seconds = trainer.timing["train_seconds"]
    metrics = {
        "test": report.scores_only(results["test"]), "heldout": report.scores_only(results["heldout"]),
        "heldout_pairs": [" ".join(pair) for pair in data.HELDOUT_PAIRS], "decoding": decoding,
        "training": training, "parameters": model.num_parameters(), "model_config": model.config,
        "config": cfg.saved(),
        "samples": [{"true": r, "generated": h}
                    for h, r in zip(results["test"]["hypotheses"][:10], results["test"]["references"][:10])],
        "timing": {  # this process only (a resumed run counts its own part); excluded from comparisons
            "wall_seconds": time.perf_counter() - timing["started"], "data_seconds": timing["data_seconds"],
            "train_seconds": train_seconds, "eval_report_seconds": eval_seconds,
            "images_per_second": trainer.timing["items"] / max(train_seconds, 1e-9), "threads": cfg.threads,
        },
    }
    written.append(report.write_metrics(run, metrics))
    print(text)
    print("examples (test):")
    for h, r in list(zip(results["test"]["hypotheses"], results["test"]["references"]))[:5]:
        print(f"  {'ok ' if h == r else 'BAD'} model: {h}\n      true:  {r}")
    shown = [f for f in written if not f.startswith("images/")]
    print(f"wrote into {run.path}: best.npz, last.npz, {', '.join(shown)}, images/ "
          f"({metrics['timing']['wall_seconds']:.0f} s)")
    return metrics


def caption_image(cfg: Config) -> int:
    """--image: caption a picture with best.npz in --out; one extra line when it looks unlike the training data."""
    if cfg.resume or cfg.restart:
        raise UserError("--image captions with the trained model in --out; it does not go with --resume/--restart")
    path = RunFolder(cfg.out) / "best.npz"
    if not path.is_file():
        hint = ("the run there has not finished an epoch yet: continue it with --resume"
                if (RunFolder(cfg.out) / "last.npz").is_file()
                else f"train one first: python -m captioning.demo --out {cfg.out}")
        raise UserError(f"no trained model at {path} ({hint})")
    loaded = checkpoint.read(path)
    try:
        x = images.read_image(cfg.image, loaded.model.config["image_size"])
    except images.ImageError as e:
        raise UserError(str(e)) from None
    ids = loaded.model.generate(x[None], loaded.vocab.bos_id, loaded.vocab.eos_id, beam=cfg.beam)[0]
    print(loaded.vocab.decode(ids))
    note = images.describe_mismatch(x)
    if note:
        print(f"note: {note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_command(main))
