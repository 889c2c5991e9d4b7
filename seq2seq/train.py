"""Train the translator: `python -m seq2seq.train` (English -> Korean on the built-in corpus).

    python -m seq2seq.train                                   # the default run: 6 epochs, within 10 minutes
    python -m seq2seq.train --attention none                  # the same without attention, to compare
    python -m seq2seq.train --task dates                      # free-form dates -> ISO dates
    python -m seq2seq.train --task addition --reverse-source  # "16+75" -> "91"
    python -m seq2seq.train --data my_pairs.tsv --src-col 0 --tgt-col 1   # your own TSV (Tatoeba/Anki)
    python -m seq2seq.train --resume                          # continue runs/seq2seq exactly

options (seq2seq.options) -> run folder (opened before any work) -> data and tokenizers -> model, Adam, schedule
-> demokit's Trainer (best.npz / last.npz, early stopping, Ctrl-C, --resume) -> test report (seq2seq.report).
Writes into --out: run.json, best.npz (lowest validation loss) and last.npz (seq2seq.checkpoint lists what they
hold), src.model/tgt.model (the sentencepiece models, when used), attention.png and metrics.json.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence

import minigrad
from demokit.cli import run_command, set_threads
from demokit.errors import UserError
from demokit.runs import RunFolder
from demokit.trainer import FitSettings, Trainer, epoch_rng
from minigrad import optim
from seq2seq import checkpoint, options, report
from seq2seq.data import build_tokenizers, cap_lengths, encode_pairs, fingerprint, load_task, make_batches
from seq2seq.model import ModelConfig, Seq2Seq
from seq2seq.translator import Translator


def lr_factor(warmup: int, decay: float, steps_per_epoch: int) -> Callable[[int], float]:
    """lr_t = lr * min(1, (t + 1) / warmup) * decay ** (max(0, t - warmup) / steps_per_epoch)  (LambdaLR).

    Linear warm-up, then `decay` per epoch applied smoothly at every step. A function of the step alone (not of
    --epochs), so a run continued with more epochs follows exactly the schedule of one that ran them all.
    """
    def factor(t: int) -> float:
        warm = min(1.0, (t + 1) / warmup) if warmup else 1.0
        return warm * decay ** (max(0, t - warmup) / steps_per_epoch)

    return factor


def prepare_data(cfg: options.Config, run: RunFolder, saved: checkpoint.Saved | None) -> tuple:
    """The splits (overlong pairs left out), tokenizers and the Config with its [task] options resolved.

    A new run trains its tokenizers on the training split (sentencepiece models written atomically into the run);
    a resumed one takes them from its checkpoint, and refuses data that differ from the run's.
    Returns (cfg, splits, src_tok, tgt_tok, units, too_long, fingerprint).
    """
    t0 = time.perf_counter()
    splits = load_task(cfg.task, cfg.data, cfg.src_col, cfg.tgt_col, cfg.seed)
    print(f"data: {splits.about}: {splits.sizes()}")
    if splits.duplicates:
        print(f"note: {splits.duplicates:,} repeated pairs left out, so that no validation or test pair is also a "
              "training pair")
    data_id = fingerprint(splits)
    cfg, units = options.resolve(cfg, splits)
    if saved is None:
        src_tok, tgt_tok = build_tokenizers(splits, cfg.char_level, cfg.vocab_size, cfg.spm_type)
        if not cfg.char_level:
            run.write_bytes("src.model", src_tok.model_bytes)
            run.write_bytes("tgt.model", tgt_tok.model_bytes)
    else:
        if saved.state["config"]["data"]["fingerprint"] != data_id:
            raise UserError(f"--resume: the data differ from the run's ({splits.about}); the run cannot continue "
                            "on other data (start over with --restart)")
        src_tok, tgt_tok, units = saved.src_tok, saved.tgt_tok, str(saved.state["config"].get("units", ""))
    print(f"units: {units}")
    print(f"tokenizers (trained on the training split): source vocab {src_tok.vocab_size}, target vocab "
          f"{tgt_tok.vocab_size}  [{time.perf_counter() - t0:.1f} s]")
    splits, too_long = cap_lengths(splits, src_tok, tgt_tok, cfg.max_tokens)
    if any(too_long.values()):
        print(f"note: pairs longer than {cfg.max_tokens} tokens left out (--max-tokens): "
              + ", ".join(f"{n:,} {name}" for name, n in too_long.items()))
    return cfg, splits, src_tok, tgt_tok, units, too_long, data_id


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    cfg, typed = options.parse(sys.argv[1:] if argv is None else argv)
    run = RunFolder(cfg.out, resume=cfg.resume, restart=cfg.restart).open()  # before any work: nothing is lost
    if run.report():
        print(f"note: {run.report()}")
    set_threads(cfg.threads)
    saved = None
    if cfg.resume:
        if not (run / "last.npz").is_file():
            raise UserError(f"--resume: {run.path} holds no last.npz (the run stopped before its first save); "
                            "start over with --restart")
        saved = checkpoint.read(run / "last.npz", resume=True)
        cfg = options.for_resume(saved.options, cfg, typed)
    cfg, splits, src_tok, tgt_tok, units, too_long, data_id = prepare_data(cfg, run, saved)
    train_data = encode_pairs(splits.train, src_tok, tgt_tok, cfg.reverse_source)
    valid_data = encode_pairs(splits.valid, src_tok, tgt_tok, cfg.reverse_source)
    max_src_len = max(64, 2 * max(len(s) for s in train_data.src))

    minigrad.manual_seed(cfg.seed)  # initialisation and dropout repeat for a seed
    model_cfg = ModelConfig(src_tok.vocab_size, tgt_tok.vocab_size, cfg.emb, cfg.hidden, cfg.layers, cfg.cell,
                            cfg.bidirectional, cfg.attention, cfg.dropout)
    model = Seq2Seq(model_cfg)
    opt = optim.Adam(model.parameters(), lr=cfg.lr)
    steps_per_epoch = math.ceil(len(train_data.src) / cfg.batch_size)
    sched = optim.LambdaLR(opt, lr_factor(cfg.warmup, cfg.lr_decay, steps_per_epoch))
    translator = Translator(model, src_tok, tgt_tok, cfg.reverse_source, max_src_len)
    print(f"model: {cfg.cell.upper()} x{cfg.layers}, emb {cfg.emb}, hidden {cfg.hidden}, "
          f"{'bidirectional ' if cfg.bidirectional else ''}encoder, attention {cfg.attention}: "
          f"{model.num_parameters():,} parameters; {len(train_data.src):,} training pairs, {steps_per_epoch} steps "
          f"per epoch, {cfg.epochs} epochs")

    config, extra = checkpoint.contents(cfg, model_cfg, max_src_len, splits.about, data_id, units, src_tok, tgt_tok)
    settings = FitSettings(cfg.epochs, cfg.clip, cfg.patience, max_minutes=cfg.max_minutes, progress=cfg.progress)
    trainer = Trainer(model, opt, run, settings, kind=checkpoint.KIND, config=config, scheduler=sched, extra=extra)
    if saved is not None:
        trainer.restore(saved.state, saved.path)
        p = trainer.progress
        print(f"resuming {saved.path} at epoch {p.epoch + 1}, batch {p.batch}, step {p.step}")
    stopped = trainer.fit(
        batches=lambda epoch: make_batches(train_data, cfg.batch_size, epoch_rng(cfg.seed, epoch)),
        loss=lambda batch: model.loss(batch, cfg.label_smoothing, cfg.teacher_forcing),
        validate=lambda: report.validation(model, translator, valid_data, splits.valid, cfg.val_sentences,
                                           cfg.bleu_tokenize),
        size=lambda batch: batch.n_tokens,
    )
    print(f"training stopped: {stopped}")
    report.final(run, trainer, translator, splits, cfg, {"units": units, "too_long": too_long, "config": config,
                                                          "started": started, "stopped": stopped})
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
