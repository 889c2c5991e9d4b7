"""Train the translator: `python -m seq2seq.train` (English -> Korean on the built-in corpus).

    python -m seq2seq.train                                   # defaults: 6 epochs, at most 7.5 min training
    python -m seq2seq.train --attention none                  # the same without attention, to compare
    python -m seq2seq.train --task dates --attention luong    # free-form dates -> ISO dates
    python -m seq2seq.train --task addition --reverse-source  # "16+75" -> "91"
    python -m seq2seq.train --data my_pairs.tsv --src-col 0 --tgt-col 1   # your own TSV (Tatoeba/Anki)
    python -m seq2seq.train --resume                          # continue runs/seq2seq/last.npz exactly

Writes into --out: best.npz (lowest validation loss) and last.npz (checkpoints with weights, optimizer,
scheduler, random state, progress, config and tokenizers), src.model/tgt.model (the sentencepiece models),
attention.png (one test sentence's attention, when matplotlib is installed) and metrics.json.
Ctrl-C saves last.npz before leaving; --resume then continues as if never stopped.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from minigrad import checkpoint, optim
from minigrad.checkpoint import CheckpointError
from seq2seq.data import (
    TASKS,
    Encoded,
    Splits,
    Tokenizer,
    build_tokenizers,
    encode_pairs,
    load_task,
    make_batches,
    tokenizer_from_state,
)
from seq2seq.model import ATTENTIONS, CELLS, ModelConfig, Seq2Seq
from seq2seq.translate import CHECKPOINT_KIND, Translator

# Per-task defaults for the options whose best value depends on the task (None in the parser).
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "corpus": dict(
        epochs=6,
        emb=128,
        hidden=256,
        batch_size=64,
        lr=3e-3,
        vocab_size=1000,
        max_minutes=7.5,
        bleu_tokenize="13a",
    ),
    "dates": dict(
        epochs=3,
        emb=64,
        hidden=128,
        batch_size=64,
        lr=3e-3,
        vocab_size=0,
        max_minutes=0.0,
        bleu_tokenize="char",
    ),
    "addition": dict(
        epochs=25,
        emb=32,
        hidden=128,
        batch_size=64,
        lr=3e-3,
        vocab_size=0,
        max_minutes=0.0,
        bleu_tokenize="char",
    ),
}
# Options that only steer a run (not the model or the data): on --resume the command line may change them.
RUN_CONTROL = (
    "epochs",
    "max_minutes",
    "patience",
    "beam",
    "max_len",
    "length_penalty",
    "val_sentences",
    "bleu_tokenize",
    "progress",
    "threads",
)
MAX_TRAIN_TOKENS = 100  # longer training pairs are left out (user data); the built-in ones are far shorter


# ---------------------------------------------------------------------------------------------- options
class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: ...)" except for None/False defaults ([task] options say theirs in the text)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False:
            return action.help or ""
        return super()._get_help_string(action) or ""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m seq2seq.train",
        description="Train an encoder-decoder (seq2seq) translator with minigrad, then report test BLEU, "
        "chrF and exact match. Options marked [task] default per task: corpus / dates / addition.",
        formatter_class=_HelpFormatter,
    )
    d = p.add_argument_group("data")
    d.add_argument(
        "--task",
        choices=TASKS,
        default="corpus",
        help="corpus = the built-in English->Korean corpus (data/en_ko); dates = free-form dates -> "
        "ISO 8601; addition = 'a+b' -> the sum (both 50,000 generated examples, 90/10 split)",
    )
    d.add_argument(
        "--data",
        metavar="FILE.tsv",
        help="train on your own tab-separated pairs instead (extra columns allowed); split "
        "automatically with --seed into train / 5%% valid / 5%% test",
    )
    d.add_argument("--src-col", type=int, default=0, help="source column of --data (0-based)")
    d.add_argument("--tgt-col", type=int, default=1, help="target column of --data (0-based)")
    d.add_argument(
        "--reverse-source",
        action="store_true",
        help="feed the source tokens in reverse order (Sutskever et al. 2014)",
    )
    d.add_argument(
        "--vocab-size",
        type=int,
        default=None,
        help="[task] sentencepiece vocabulary size per language (1000 / char-level / char-level); "
        "0 = one token per character",
    )
    d.add_argument(
        "--spm-type", choices=("unigram", "bpe"), default="unigram", help="sentencepiece model type"
    )

    m = p.add_argument_group("model")
    m.add_argument("--cell", choices=CELLS, default="lstm", help="recurrent cell of encoder and decoder")
    m.add_argument("--layers", type=int, default=1, help="stacked recurrent layers in encoder and decoder")
    m.add_argument(
        "--hidden",
        type=int,
        default=None,
        help="[task] decoder state size (256 / 128 / 128); a bidirectional encoder gets half per direction",
    )
    m.add_argument("--emb", type=int, default=None, help="[task] embedding size (128 / 64 / 32)")
    m.add_argument(
        "--dropout", type=float, default=0.1, help="dropout on embeddings, between layers, before output"
    )
    m.add_argument(
        "--bidirectional", action=argparse.BooleanOptionalAction, default=True, help="bidirectional encoder"
    )
    m.add_argument(
        "--attention",
        choices=ATTENTIONS,
        default="luong",
        help="none = plain seq2seq; luong = general (bilinear) score after the RNN, batched over "
        "time (fast); bahdanau = additive score from the previous state, context fed into the RNN",
    )

    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=None, help="[task] maximum number of epochs (6 / 3 / 25)")
    t.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="[task] wall-time budget in minutes, counted from the start (7.5 / none / none); when it runs "
        "out training stops gracefully after the current step and the evaluation follows; 0 = no limit",
    )
    t.add_argument(
        "--patience",
        type=int,
        default=3,
        help="early stopping: stop after this many epochs without a lower validation loss; 0 = off",
    )
    t.add_argument("--batch-size", type=int, default=None, help="[task] sentence pairs per batch (64)")
    t.add_argument("--lr", type=float, default=None, help="[task] peak learning rate of Adam (3e-3)")
    t.add_argument("--warmup", type=int, default=200, help="linear learning-rate warm-up, in steps")
    t.add_argument(
        "--lr-decay",
        type=float,
        default=0.7,
        help="after warm-up the lr is multiplied by this per epoch (smoothly, every step)",
    )
    t.add_argument("--clip", type=float, default=1.0, help="clip the global gradient norm to this; 0 = off")
    t.add_argument(
        "--teacher-forcing",
        type=float,
        default=1.0,
        help="probability of feeding the true previous token to the decoder (1 = always; "
        "below 1 the decoder steps through time, which is slower)",
    )
    t.add_argument("--label-smoothing", type=float, default=0.1, help="label smoothing of the cross-entropy")
    t.add_argument(
        "--seed", type=int, default=0, help="seed of initialisation, dropout, data order and toy data"
    )
    t.add_argument(
        "--out",
        default=None,
        help="output folder (default runs/seq2seq; runs/seq2seq-<task> for dates/addition; "
        "runs/seq2seq-<file name> for --data)",
    )
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue from <out>/last.npz exactly (model and data options come from the checkpoint; "
        "--epochs, --max-minutes, --patience and the evaluation options may be changed)",
    )

    e = p.add_argument_group("evaluation")
    e.add_argument(
        "--beam", type=int, default=5, help="beam size for the final test evaluation (greedy is also run)"
    )
    e.add_argument(
        "--length-penalty",
        type=float,
        default=0.6,
        help="GNMT length-penalty exponent alpha of beam search: score = log P / ((5+len)/6)^alpha",
    )
    e.add_argument(
        "--max-len",
        type=int,
        default=0,
        help="longest output in tokens; 0 = automatic (2 x source length + 10)",
    )
    e.add_argument(
        "--val-sentences",
        type=int,
        default=500,
        help="validation sentences decoded (greedy) for the per-epoch BLEU; 0 = skip",
    )
    e.add_argument(
        "--bleu-tokenize",
        default=None,
        help="[task] sacrebleu tokenizer for BLEU (13a / char / char): 13a = sacrebleu's default, words "
        "split at spaces and punctuation; char = character BLEU (a one-word output such as '91' has no "
        "word 4-grams, so word BLEU would be 0 for the toy tasks)",
    )
    e.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True, help="tqdm progress bars"
    )
    e.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS threads for NumPy (minigrad.set_num_threads); 1 is faster for these small matrices "
        "and far faster on a busy machine",
    )
    return p


def default_out(args: argparse.Namespace) -> str:
    """runs/seq2seq for the built-in corpus, runs/seq2seq-<task> or runs/seq2seq-<file name> otherwise."""
    if args.data:
        return f"runs/seq2seq-{Path(args.data).stem}"
    return "runs/seq2seq" if args.task == "corpus" else f"runs/seq2seq-{args.task}"


def resolve_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the [task] options left at None, and check ranges (one-line errors)."""
    task = "corpus" if args.data else args.task
    for key, value in TASK_DEFAULTS[task].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None:
        args.out = default_out(args)
    checks = [
        (args.epochs >= 1, f"--epochs must be >= 1, got {args.epochs}"),
        (args.batch_size >= 1, f"--batch-size must be >= 1, got {args.batch_size}"),
        (args.lr > 0, f"--lr must be > 0, got {args.lr}"),
        (args.clip >= 0, f"--clip must be >= 0 (0 = off), got {args.clip}"),
        (args.max_minutes >= 0, f"--max-minutes must be >= 0 (0 = no limit), got {args.max_minutes}"),
        (
            0.0 <= args.teacher_forcing <= 1.0,
            f"--teacher-forcing must be in [0, 1], got {args.teacher_forcing}",
        ),
        (
            0.0 <= args.label_smoothing < 1.0,
            f"--label-smoothing must be in [0, 1), got {args.label_smoothing}",
        ),
        (args.beam >= 1, f"--beam must be >= 1, got {args.beam}"),
        (args.max_len >= 0, f"--max-len must be >= 0, got {args.max_len}"),
        (args.warmup >= 0, f"--warmup must be >= 0, got {args.warmup}"),
        (0 < args.lr_decay <= 1, f"--lr-decay must be in (0, 1], got {args.lr_decay}"),
        (args.vocab_size >= 0, f"--vocab-size must be >= 0, got {args.vocab_size}"),
        (args.patience >= 0, f"--patience must be >= 0, got {args.patience}"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ValueError(msg)
    return args


def explicit_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The dest names of the options actually typed on the command line."""
    given = set()
    for action in parser._actions:
        for opt in action.option_strings:
            if any(a == opt or a.startswith(opt + "=") for a in argv):
                given.add(action.dest)
    return given


# ---------------------------------------------------------------------------------------------- metrics
def score(hyps: Sequence[str], refs: Sequence[str], tokenize: str = "13a") -> dict[str, float]:
    """Corpus BLEU and chrF (sacrebleu, on detokenised text) and the exact-match rate, in percent."""
    import sacrebleu

    if len(hyps) != len(refs):
        raise ValueError(f"score: {len(hyps)} hypotheses but {len(refs)} references")
    hyps, refs = list(hyps), list(refs)
    bleu = sacrebleu.corpus_bleu(hyps, [refs], tokenize=tokenize)  # ONE reference stream, aligned with hyps
    chrf = sacrebleu.corpus_chrf(hyps, [refs])
    exact = 100.0 * np.mean([h.strip() == r.strip() for h, r in zip(hyps, refs)]) if hyps else 0.0
    return {"bleu": round(bleu.score, 2), "chrf": round(chrf.score, 2), "exact": round(float(exact), 2)}


def sacrebleu_version() -> str:
    import sacrebleu

    return sacrebleu.__version__


def mean_loss(model: Seq2Seq, data: Encoded, batch_size: int) -> float:
    """Cross-entropy per real target token (no label smoothing) over a whole split, in eval mode."""
    model.eval()
    total = count = 0.0
    with minigrad.no_grad():
        for batch in make_batches(data, batch_size):
            loss = model.loss(batch, 0.0)
            total += loss.item() * batch.n_tokens
            count += batch.n_tokens
    model.train()
    return total / max(count, 1.0)


# ---------------------------------------------------------------------------------------------- heatmap
_RR_INITIAL = "g kk n d tt r m b pp s ss - j jj ch k t p h".split()
_RR_MEDIAL = "a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i".split()
_RR_FINAL = ("- g kk gs n nj nh d l lg lm lb ls lt lp lh m b bs s ss ng j ch k t p h").split()


def romanize(text: str) -> str:
    """Hangul -> Latin letters, jamo by jamo with the Revised Romanisation letters (먹어요 -> meogeoyo,
    맛있어요 -> masisseoyo), for plot labels when no Korean font is installed. Other characters are kept."""
    from demokit.hangul import decompose, is_hangul_syllable

    out = []
    for ch in text:
        if is_hangul_syllable(ch):
            i, m, f = decompose(ch)
            out.append((_RR_INITIAL[i] + _RR_MEDIAL[m] + _RR_FINAL[f]).replace("-", ""))
        else:
            out.append(ch)
    return "".join(out)


def _korean_font() -> Any:
    """A matplotlib FontProperties for a Hangul-capable font, or None if none is installed."""
    import subprocess

    from matplotlib import font_manager

    names = (
        "Noto Sans CJK",
        "Noto Sans KR",
        "NanumGothic",
        "Nanum Gothic",
        "Malgun Gothic",
        "AppleGothic",
        "Apple SD Gothic Neo",
        "UnDotum",
        "Baekmuk",
        "Source Han Sans",
    )
    for font in font_manager.fontManager.ttflist:
        if any(n.lower() in font.name.lower() for n in names):
            return font_manager.FontProperties(fname=font.fname)
    try:  # fontconfig knows which fonts cover Korean even under names we did not list
        out = subprocess.run(
            ["fc-list", ":lang=ko", "file"], capture_output=True, text=True, timeout=10
        ).stdout
        for line in out.splitlines():
            path = line.split(":")[0].strip()
            if path:
                return font_manager.FontProperties(fname=path)
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def plot_attention(
    weights: np.ndarray, src_labels: list[str], out_labels: list[str], path: Path, title: str = ""
) -> str:
    """Save a heatmap (rows = output tokens, columns = input tokens); returns a note on the labels used."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = _korean_font()
    note = "Hangul labels"
    if font is None:
        has_hangul = any(romanize(s) != s for s in src_labels + out_labels)
        src_labels, out_labels = [romanize(s) for s in src_labels], [romanize(s) for s in out_labels]
        title = romanize(title)
        note = "no Korean font found: Hangul labels romanised" if has_hangul else "labels"
    fig, ax = plt.subplots(
        figsize=(max(4.5, 1.5 + 0.45 * len(src_labels)), max(3.0, 1.5 + 0.4 * len(out_labels)))
    )
    im = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(src_labels)), src_labels, rotation=60, ha="right", fontproperties=font)
    ax.set_yticks(range(len(out_labels)), out_labels, fontproperties=font)
    ax.set_xlabel("input tokens")
    ax.set_ylabel("output tokens")
    if title:
        ax.set_title(title, fontsize=9, fontproperties=font)
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return note


# ---------------------------------------------------------------------------------------------- training
class Run:
    """Everything one training run holds: data, model, optimizer, schedule, progress; saves and restores."""

    def __init__(
        self, args: argparse.Namespace, splits: Splits, src_tok: Tokenizer, tgt_tok: Tokenizer
    ) -> None:
        self.args, self.splits, self.src_tok, self.tgt_tok = args, splits, src_tok, tgt_tok
        self.out = Path(args.out)
        rev = args.reverse_source
        self.train_data = encode_pairs(splits.train, src_tok, tgt_tok, rev, max_len=MAX_TRAIN_TOKENS)
        self.valid_data = encode_pairs(splits.valid, src_tok, tgt_tok, rev)
        if not self.train_data.src:
            raise ValueError(f"no training pair is shorter than {MAX_TRAIN_TOKENS} tokens")
        self.max_src_len = max(64, 2 * max(len(s) for s in self.train_data.src))
        minigrad.manual_seed(args.seed)  # initialisation and dropout repeat for a seed
        self.model_cfg = ModelConfig(
            src_vocab=src_tok.vocab_size,
            tgt_vocab=tgt_tok.vocab_size,
            emb=args.emb,
            hidden=args.hidden,
            layers=args.layers,
            cell=args.cell,
            bidirectional=args.bidirectional,
            attention=args.attention,
            dropout=args.dropout,
        )
        self.model = Seq2Seq(self.model_cfg)
        self.params = list(self.model.parameters())
        self.opt = optim.Adam(self.params, lr=args.lr)
        self.steps_per_epoch = math.ceil(len(self.train_data.src) / args.batch_size)
        self.sched = optim.LambdaLR(self.opt, self.lr_factor)
        self.translator = Translator(self.model, src_tok, tgt_tok, rev, self.max_src_len)
        # progress (all saved in checkpoints)
        self.epoch, self.batch_in_epoch, self.step = 0, 0, 0
        self.best_val, self.bad_epochs, self.history = math.inf, 0, []
        self.epoch_stats = self._new_stats()
        # Ctrl-C: the first one asks to stop after the current step (stop_requested); a second one, or one
        # outside the loop, raises KeyboardInterrupt, and `in_step` says whether a step was half done
        self.stop_requested, self.in_step = False, False
        self.rng_at_step = minigrad.get_rng_state()

    def lr_factor(self, step: int) -> float:
        """Linear warm-up over --warmup steps, then lr * lr_decay ** (epochs done), smoothly per step.

        A function of the step alone (not of --epochs or the time budget), so a resumed run follows
        exactly the schedule of an uninterrupted one.
        """
        warm = min(1.0, (step + 1) / self.args.warmup) if self.args.warmup else 1.0
        return warm * self.args.lr_decay ** (max(0, step - self.args.warmup) / self.steps_per_epoch)

    @staticmethod
    def _new_stats() -> dict[str, float]:
        return {"loss_sum": 0.0, "tokens": 0, "steps": 0, "clipped": 0, "seconds": 0.0}

    # ---- checkpoints ---------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        args = {k: v for k, v in vars(self.args).items() if k != "resume"}
        return {
            "model": self.model_cfg.to_dict(),
            "args": args,
            "reverse_source": bool(self.args.reverse_source),
            "max_src_len": int(self.max_src_len),
            "task": self.splits.name,
            "about": self.splits.about,
        }

    def state(self) -> dict[str, Any]:
        return {
            "kind": CHECKPOINT_KIND,
            "config": self.config(),
            "model": self.model.state_dict(),
            "optim": self.opt.state_dict(),
            "sched": self.sched.state_dict(),
            # a step cut short by Ctrl-C did not happen: its dropout draws are given back
            "rng": self.rng_at_step if self.in_step else minigrad.get_rng_state(),
            "progress": {
                "epoch": self.epoch,
                "batch_in_epoch": self.batch_in_epoch,
                "step": self.step,
                "best_val": self.best_val,
                "bad_epochs": self.bad_epochs,
                "history": self.history,
                "epoch_stats": self.epoch_stats,
            },
            "tokenizers": {"src": self.src_tok.state(), "tgt": self.tgt_tok.state()},
        }

    def save(self, name: str) -> Path:
        path = self.out / name
        checkpoint.save(self.state(), path)
        return path

    def restore(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optim"])
        self.sched.load_state_dict(state["sched"])
        minigrad.set_rng_state(state["rng"])
        p = state["progress"]
        self.epoch, self.batch_in_epoch, self.step = p["epoch"], p["batch_in_epoch"], p["step"]
        self.best_val, self.bad_epochs, self.history = p["best_val"], p["bad_epochs"], list(p["history"])
        self.epoch_stats = dict(p["epoch_stats"])

    # ---- the loop ------------------------------------------------------------------------------------
    def train(self, deadline: float | None) -> str:
        """Train until --epochs, early stopping or the deadline; returns why it stopped."""
        args = self.args
        while self.epoch < args.epochs:
            if deadline is not None and time.perf_counter() > deadline:
                return "time budget (--max-minutes) used up"
            rng = np.random.default_rng(
                [args.seed, self.epoch]
            )  # the data order depends on (seed, epoch) only
            batches = make_batches(self.train_data, args.batch_size, rng)
            stopped = self._train_epoch(batches, deadline)
            if stopped == "interrupted":
                self.save("last.npz")
                return stopped
            if stopped == "deadline":
                self.validate(partial=True)
                self.save("last.npz")
                return "time budget (--max-minutes) used up"
            self.epoch, self.batch_in_epoch = self.epoch + 1, 0
            improved = self.validate()
            self.save("last.npz")
            if args.patience and self.bad_epochs >= args.patience and not improved:
                return f"early stopping: no better validation loss for {args.patience} epochs"
        return f"{args.epochs} epochs done"

    def _train_epoch(self, batches: list, deadline: float | None) -> str:
        """Train on the current epoch's batches from batch_in_epoch on.

        Returns "done", "deadline" (the time budget ran out) or "interrupted" (Ctrl-C was pressed).
        """
        args, stats = self.args, self.epoch_stats
        bar = None
        if args.progress:
            from tqdm import tqdm

            bar = tqdm(
                total=len(batches),
                initial=self.batch_in_epoch,
                desc=f"epoch {self.epoch + 1}/{args.epochs}",
                unit="batch",
                leave=True,
                dynamic_ncols=True,
                mininterval=1.0,
                file=sys.stderr,
            )
        try:
            for i in range(self.batch_in_epoch, len(batches)):
                if self.stop_requested:
                    return "interrupted"
                t0 = time.perf_counter()
                self.rng_at_step, self.in_step = minigrad.get_rng_state(), True
                batch = batches[i]
                loss = self.model.loss(batch, args.label_smoothing, args.teacher_forcing)
                value = loss.item()
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"the loss is {value} at epoch {self.epoch + 1}, step {self.step + 1}: "
                        "training diverged "
                        f"(try a lower --lr than {args.lr}, or keep --clip on)"
                    )
                self.opt.zero_grad()
                loss.backward()
                if args.clip > 0:
                    norm = optim.clip_grad_norm_(self.params, args.clip)
                    clipped = norm > args.clip
                else:
                    norm = float(
                        np.sqrt(
                            sum(
                                float((p.grad.astype(np.float64) ** 2).sum())
                                for p in self.params
                                if p.grad is not None
                            )
                        )
                    )
                    clipped = False
                if not math.isfinite(norm):
                    raise FloatingPointError(
                        f"the gradient norm is {norm} at epoch {self.epoch + 1}, "
                        f"step {self.step + 1}: training diverged"
                    )
                self.opt.step()
                self.sched.step()
                self.step, self.batch_in_epoch, self.in_step = self.step + 1, i + 1, False
                dt = time.perf_counter() - t0
                stats["loss_sum"] += value * batch.n_tokens
                stats["tokens"] += batch.n_tokens
                stats["steps"] += 1
                stats["clipped"] += int(clipped)
                stats["seconds"] += dt
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(
                        loss=f"{stats['loss_sum'] / stats['tokens']:.3f}",
                        tok_s=f"{stats['tokens'] / max(stats['seconds'], 1e-9):,.0f}",
                        gnorm=f"{norm:.2f}",
                        lr=f"{self.opt.param_groups[0]['lr']:.2e}",
                        refresh=False,
                    )
                if deadline is not None and time.perf_counter() > deadline and i + 1 < len(batches):
                    return "deadline"
            return "interrupted" if self.stop_requested and self.batch_in_epoch < len(batches) else "done"
        finally:
            if bar is not None:
                bar.close()

    def validate(self, partial: bool = False) -> bool:
        """Validation loss (+ greedy BLEU on a subset); updates best.npz and early stopping; logs a line."""
        args, stats = self.args, self.epoch_stats
        t0 = time.perf_counter()
        val_loss = mean_loss(self.model, self.valid_data, 128)
        entry: dict[str, Any] = {
            "epoch": self.epoch + (1 if partial else 0),
            "partial": partial,
            "step": self.step,
            "train_loss": round(stats["loss_sum"] / max(stats["tokens"], 1), 4),
            "val_loss": round(val_loss, 4),
            "clip_rate": round(stats["clipped"] / max(stats["steps"], 1), 4),
            "lr": self.opt.param_groups[0]["lr"],
            "train_seconds": round(stats["seconds"], 1),
            "tokens_per_s": round(stats["tokens"] / max(stats["seconds"], 1e-9)),
        }
        if args.val_sentences:
            pairs = self.splits.valid[: args.val_sentences]
            hyps = self.translator.translate([s for s, _ in pairs], beam=1, max_len=args.max_len)
            figures = score(hyps, [t for _, t in pairs], args.bleu_tokenize)
            entry["val_bleu"], entry["val_exact"] = figures["bleu"], figures["exact"]
        entry["val_seconds"] = round(time.perf_counter() - t0, 1)
        improved = val_loss < self.best_val
        if improved:
            self.best_val, self.bad_epochs = val_loss, 0
        elif not partial:
            self.bad_epochs += 1
        self.history.append(entry)
        self.epoch_stats = self._new_stats()
        if improved:
            self.save("best.npz")
        bleu = (
            f"  val BLEU {entry['val_bleu']:.2f} (sacrebleu, tokenize={args.bleu_tokenize}, greedy, "
            f"{min(args.val_sentences, len(self.splits.valid))} sent.)  exact {entry['val_exact']:.1f}%"
            if args.val_sentences
            else ""
        )
        print(
            f"epoch {entry['epoch']}{' (partial)' if partial else ''}: train loss {entry['train_loss']:.3f}  "
            f"val loss {val_loss:.3f}{' *' if improved else ''}{bleu}  clip rate {entry['clip_rate']:.0%}  "
            f"lr {entry['lr']:.2e}  {entry['tokens_per_s']:,} tok/s",
            flush=True,
        )
        return improved


# ---------------------------------------------------------------------------------------------- evaluation
def evaluate(run: Run, started: float, stop_reason: str) -> dict[str, Any]:
    """Test figures of the best checkpoint: greedy and beam BLEU, chrF, exact match, samples, heatmap."""
    args, out = run.args, run.out
    best = out / "best.npz"
    if best.is_file():
        run.model.load_state_dict(checkpoint.load(best)["model"])
    test = run.splits.test
    srcs, refs = [s for s, _ in test], [t for _, t in test]
    tr = run.translator
    t0 = time.perf_counter()
    greedy = tr.translate(srcs, beam=1, max_len=args.max_len)
    t_greedy = time.perf_counter() - t0
    t0 = time.perf_counter()
    beam = (
        tr.translate(srcs, beam=args.beam, max_len=args.max_len, length_penalty=args.length_penalty)
        if args.beam > 1
        else greedy
    )
    t_beam = time.perf_counter() - t0
    s_greedy, s_beam = score(greedy, refs, args.bleu_tokenize), score(beam, refs, args.bleu_tokenize)
    tok = args.bleu_tokenize
    print(
        f"\ntest ({len(test):,} sentences, {run.splits.name}), "
        f"model from {best if best.is_file() else 'the last step'}:"
    )
    print(
        f"  greedy      BLEU {s_greedy['bleu']:.2f} (sacrebleu, tokenize={tok})  "
        f"chrF {s_greedy['chrf']:.2f}  "
        f"exact match {s_greedy['exact']:.2f}%   [{t_greedy:.1f} s]"
    )
    print(
        f"  beam {args.beam:<2d}     BLEU {s_beam['bleu']:.2f} (sacrebleu, tokenize={tok})  "
        f"chrF {s_beam['chrf']:.2f}  "
        f"exact match {s_beam['exact']:.2f}%   [{t_beam:.1f} s]"
    )
    samples = []
    pick = np.random.default_rng(args.seed).choice(len(test), size=min(5, len(test)), replace=False)
    print("\nsamples (beam):")
    for i in sorted(pick.tolist()):
        samples.append({"source": srcs[i], "reference": refs[i], "hypothesis": beam[i]})
        print(
            f"  src: {srcs[i]}\n  ref: {refs[i]}\n"
            f"  hyp: {beam[i]}{'   (exact)' if beam[i] == refs[i] else ''}\n"
        )
    figures = heatmap(run, srcs[int(pick[0])] if len(pick) else None)
    wall = time.perf_counter() - started
    metrics = {
        "task": run.splits.name,
        "data": run.splits.about,
        "sizes": run.splits.sizes(),
        "bleu_tokenizer": f"sacrebleu {sacrebleu_version()}, tokenize={tok}, detokenised text",
        "test_greedy": s_greedy,
        "test_beam": {**s_beam, "beam": args.beam, "length_penalty": args.length_penalty},
        "decode_seconds": {"greedy": round(t_greedy, 1), "beam": round(t_beam, 1)},
        "best_val_loss": run.best_val,
        "epochs_run": len([h for h in run.history if not h["partial"]]),
        "steps": run.step,
        "stop_reason": stop_reason,
        "history": run.history,
        "samples": samples,
        "parameters": run.model.num_parameters(),
        "vocab": {"src": run.src_tok.vocab_size, "tgt": run.tgt_tok.vocab_size, "kind": run.src_tok.kind},
        "wall_seconds": round(wall, 1),
        "config": run.config(),
        "figures": figures,
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "platform": platform.platform(),
        },
    }
    return metrics


def heatmap(run: Run, source: str | None) -> dict[str, str]:
    """attention.png for one test sentence, when there is attention and matplotlib."""
    if source is None or run.model_cfg.attention == "none":
        return {}
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("pip install matplotlib (or pip install -e .[plot]) for the heatmap")
        return {}
    tr = run.translator
    src_ids = tr.encode([source])[0]
    out_ids = tr.translate_ids([src_ids], beam=1, max_len=run.args.max_len)[0]
    weights = run.model.attention_map(src_ids[None, :], np.ones((1, len(src_ids)), dtype=bool), out_ids)
    path = run.out / "attention.png"
    note = plot_attention(
        weights,
        run.src_tok.pieces(src_ids),
        run.tgt_tok.pieces(out_ids) + ["</s>"],
        path,
        title=f"{source}\n-> {run.tgt_tok.decode(out_ids)}",
    )
    return {"attention_heatmap": str(path), "labels": note}


# ---------------------------------------------------------------------------------------------- main
def setup(argv: Sequence[str]) -> tuple[Run, argparse.Namespace]:
    """Parse options, load data and tokenizers (or a checkpoint to resume), build the run."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    minigrad.set_num_threads(args.threads)
    if args.resume:
        out = args.out or default_out(args)
        path = Path(out) / "last.npz"
        state = checkpoint.load(path)
        if state.get("kind") != CHECKPOINT_KIND:
            raise CheckpointError(f"{path}: not a seq2seq checkpoint")
        saved = dict(state["config"]["args"])
        given = explicit_options(parser, argv) - {"resume", "out"}
        for key in given & set(RUN_CONTROL):
            saved[key] = getattr(args, key)
        ignored = sorted(given - set(RUN_CONTROL))
        if ignored:
            print(
                f"note: on --resume the checkpoint's settings are kept; ignored: "
                f"{', '.join('--' + k.replace('_', '-') for k in ignored)}",
                file=sys.stderr,
            )
        args = argparse.Namespace(**{**saved, "out": out, "resume": True})
        splits = load_task(args.task, args.data, args.src_col, args.tgt_col, args.seed)
        src_tok = tokenizer_from_state(state["tokenizers"]["src"])
        tgt_tok = tokenizer_from_state(state["tokenizers"]["tgt"])
        run = Run(args, splits, src_tok, tgt_tok)
        run.restore(state)
        print(f"resuming {path} at epoch {run.epoch + 1}, batch {run.batch_in_epoch}, step {run.step}")
        return run, args
    args = resolve_defaults(args)
    t0 = time.perf_counter()
    splits = load_task(args.task, args.data, args.src_col, args.tgt_col, args.seed)
    char_level = args.vocab_size == 0
    src_tok, tgt_tok = build_tokenizers(splits, char_level, args.vocab_size, args.spm_type)
    print(f"data: {splits.about}: {splits.sizes()}")
    kind = "characters" if char_level else f"sentencepiece {args.spm_type}"
    print(
        f"tokenizers ({kind}, trained on the training split): source vocab {src_tok.vocab_size}, "
        f"target vocab {tgt_tok.vocab_size}  [{time.perf_counter() - t0:.1f} s]"
    )
    run = Run(args, splits, src_tok, tgt_tok)
    run.out.mkdir(parents=True, exist_ok=True)
    if not char_level:
        for name, tok in (("src.model", src_tok), ("tgt.model", tgt_tok)):
            (run.out / name).write_bytes(tok.model_bytes)
    if run.train_data.dropped:
        print(f"note: {run.train_data.dropped} training pairs longer than {MAX_TRAIN_TOKENS} tokens left out")
    return run, args


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        run, args = setup(argv)
    except (ValueError, FileNotFoundError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cfg = run.model_cfg
    print(
        f"model: {cfg.cell.upper()} x{cfg.layers}, emb {cfg.emb}, hidden {cfg.hidden}, "
        f"{'bidirectional ' if cfg.bidirectional else ''}encoder, attention {cfg.attention}: "
        f"{run.model.num_parameters():,} parameters; {len(run.train_data.src):,} training pairs, "
        f"{run.steps_per_epoch} steps per epoch"
    )
    deadline = started + 60.0 * args.max_minutes if args.max_minutes else None

    def on_ctrl_c(signum: int, frame: Any) -> None:
        run.stop_requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C stops at once
        print("\nCtrl-C: saving after this step (press again to stop at once)", file=sys.stderr)

    try:
        previous = signal.signal(signal.SIGINT, on_ctrl_c)
    except ValueError:  # not the main thread: Ctrl-C then simply raises KeyboardInterrupt
        previous = None
    try:
        reason = run.train(deadline)
    except KeyboardInterrupt:
        reason = "interrupted"
    except FloatingPointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if reason == "interrupted":
        path = run.save("last.npz")
        print(
            f"interrupted: saved {path} (epoch {run.epoch + 1}, batch {run.batch_in_epoch}, "
            f"step {run.step}); "
            f"continue with: python -m seq2seq.train --resume --out {run.out}",
            file=sys.stderr,
        )
        return 130
    print(f"training stopped: {reason} after {time.perf_counter() - started:.0f} s")
    metrics = evaluate(run, started, reason)
    path = run.out / "metrics.json"
    path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wall time {metrics['wall_seconds']:.0f} s. wrote:")
    for name in ("best.npz", "last.npz", "src.model", "tgt.model", "attention.png", "metrics.json"):
        if (run.out / name).is_file():
            print(f"  {run.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
