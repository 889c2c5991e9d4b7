"""The options of `python -m seq2seq.train`: argparse -> ONE typed `Config`; nothing below the CLI reads a Namespace.

    cfg = parse(argv)                  # every option checked at parse time (argparse's own error, exit 2)
    cfg, units = resolve(cfg, splits)  # the [task] options left open get the task's defaults, or, for --data,
                                       # defaults measured from the user's text (`units` says which and why)
    cfg = for_resume(saved, cfg, typed)  # --resume: the checkpoint's options, with the run-control ones typed
                                         # on the command line applied over them (the others ignored, noted)

Defaults that depend on the task ([task] in --help):
    corpus    sentencepiece 1000 per language, emb 128, hidden 256, BLEU ko-mecab (13a and chrF beside it)
    dates     characters, emb 64, hidden 128, 3 epochs, character BLEU (a one-word output has no word 4-grams)
    addition  characters, emb 32, hidden 128, 25 epochs, character BLEU
    --data    measured from the training split (`data_defaults`): characters when both sides are short
              strings of few symbols (at most 100 distinct characters and 3 words per line on average: dates,
              numbers, codes), else sentencepiece with a vocabulary sized from the distinct characters and
              words; the model size follows the units (dates-like / corpus-like) and the epochs give about
              as many optimizer steps as the built-in task of the same kind (DATA_STEPS), early stopping
              ending a run sooner when the validation loss stops falling.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from demokit import bleu
from demokit.cli import (
    RunOptions,
    add_run_options,
    dropout_float,
    given_options,
    int_range,
    nonnegative_float,
    nonnegative_int,
    parser,
    positive_float,
    positive_int,
    resumed,
    unit_float,
)
from seq2seq.data import TASKS, Splits, TextStats, measure
from seq2seq.model import ATTENTIONS, CELLS

# The default run: 4 epochs took 185 s in all on a quiet 2-core machine (8 min 20 s while other jobs shared it);
# 6 epochs reach a lower validation loss and stay well within 10 minutes.
CORPUS_EPOCHS = 6
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "corpus": dict(epochs=CORPUS_EPOCHS, emb=128, hidden=256, batch_size=64, lr=3e-3, vocab_size=1000),
    "dates": dict(epochs=3, emb=64, hidden=128, batch_size=64, lr=3e-3, vocab_size=0),
    "addition": dict(epochs=25, emb=32, hidden=128, batch_size=64, lr=3e-3, vocab_size=0),
}
# The optimizer steps a --data run gets by default, from the built-in tasks of the same kind: corpus-like text as
# the corpus run (CORPUS_EPOCHS x 500 steps); character-level text as the longest character task, addition
# (25 x 688 steps), and early stopping (--patience) ends the runs that stop improving sooner (dates: 4 epochs).
DATA_STEPS = {"subword": CORPUS_EPOCHS * 500, "char": 25 * 688}
DATA_EPOCHS = (3, 50)  # bounds on the epochs chosen for --data
CHAR_MAX_DISTINCT = 100  # characters per side, at most, for character units
CHAR_MAX_WORDS = 3.0  # words per line on average, at most, for character units (sentences have more)
BLEU_TOKENIZERS = ("auto", *bleu.TOKENIZERS)
# Options that only steer a run, not the model or the data: on --resume the command line may change them.
RUN_CONTROL = (
    "epochs", "max_minutes", "patience", "beam", "max_len", "length_penalty", "val_sentences", "bleu_tokenize",
    "progress", "threads",
)


@dataclass
class Config(RunOptions):
    """Every option of a training run, with the [task] ones resolved (see the module docstring)."""

    # data
    task: str = "corpus"
    data: str | None = None
    src_col: int = 0
    tgt_col: int = 1
    reverse_source: bool = False
    vocab_size: int | None = None  # 0 = one token per character; None until resolve()
    spm_type: str = "unigram"
    max_tokens: int = 100
    # model
    cell: str = "lstm"
    layers: int = 1
    hidden: int | None = None
    emb: int | None = None
    dropout: float = 0.1
    bidirectional: bool = True
    attention: str = "luong"
    # training
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    warmup: int = 200
    lr_decay: float = 0.7
    clip: float = 1.0
    patience: int = 3
    teacher_forcing: float = 1.0
    label_smoothing: float = 0.1
    # run
    out: str = ""
    # evaluation
    beam: int = 5
    length_penalty: float = 0.6
    max_len: int = 0
    val_sentences: int = 500
    bleu_tokenize: str = "auto"

    @property
    def char_level(self) -> bool:
        return self.vocab_size == 0

    def saved(self) -> dict[str, Any]:
        """What a checkpoint keeps: everything but the run folder and the one-off --resume/--restart."""
        return {k: v for k, v in asdict(self).items() if k not in ("out", "resume", "restart")}


def _decay(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text}")
    return value


def _vocab(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 0 or an integer >= 8, got {text!r}") from None
    if value != 0 and not 8 <= value <= 64_000:
        raise argparse.ArgumentTypeError(f"must be 0 (characters) or an integer in [8, 64000], got {text}")
    return value


_decay.__name__ = "a number in (0, 1]"
_vocab.__name__ = "0 or a vocabulary size"


def build_parser() -> argparse.ArgumentParser:
    p = parser(
        "python -m seq2seq.train",
        "Train an encoder-decoder (seq2seq) translator with minigrad, then report test BLEU, chrF and exact "
        "match. Options marked [task] default per task: corpus / dates / addition; for --data they are "
        "chosen from the measured text (the log and metrics.json say which and why).",
    )
    d = p.add_argument_group("data")
    d.add_argument("--task", choices=TASKS, default="corpus",
                   help="corpus = the built-in English->Korean corpus (data/en_ko); dates = free-form dates -> "
                   "ISO 8601; addition = 'a+b' -> the sum (both 50,000 generated examples, 90/10 split)")
    d.add_argument("--data", metavar="FILE.tsv",
                   help="train on your own tab-separated pairs instead (extra columns allowed; repeated pairs "
                   "removed); split with --seed into train / 5%% valid / 5%% test")
    d.add_argument("--src-col", type=nonnegative_int, default=0, help="source column of --data (0-based)")
    d.add_argument("--tgt-col", type=nonnegative_int, default=1, help="target column of --data (0-based)")
    d.add_argument("--reverse-source", action="store_true",
                   help="feed the source tokens in reverse order (Sutskever et al. 2014)")
    d.add_argument("--vocab-size", type=_vocab, default=None,
                   help="[task] sentencepiece vocabulary size per language (1000 / 0 / 0; --data: measured); "
                   "0 = one token per character")
    d.add_argument("--spm-type", choices=("unigram", "bpe"), default="unigram", help="sentencepiece model type")
    d.add_argument("--max-tokens", type=int_range(2, 10_000), default=100,
                   help="pairs whose source or target has more tokens (EOS included) are left out of every "
                   "split, with a count in the log")

    m = p.add_argument_group("model")
    m.add_argument("--cell", choices=CELLS, default="lstm", help="recurrent cell of encoder and decoder")
    m.add_argument("--layers", type=int_range(1, 8), default=1, help="stacked recurrent layers in encoder and decoder")
    m.add_argument("--hidden", type=positive_int, default=None,
                   help="[task] decoder state size (256 / 128 / 128); a bidirectional encoder gets half per "
                   "direction, so it must be even")
    m.add_argument("--emb", type=positive_int, default=None, help="[task] embedding size (128 / 64 / 32)")
    m.add_argument("--dropout", type=dropout_float, default=0.1,
                   help="dropout on embeddings, between layers, before the output layer")
    m.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=True,
                   help="bidirectional encoder")
    m.add_argument("--attention", choices=ATTENTIONS, default="luong",
                   help="none = plain seq2seq; luong = general (bilinear) score after the RNN, batched over "
                   "time (fast); bahdanau = additive score from the previous state, context fed into the RNN")

    t = add_run_options(p, out="runs/seq2seq")
    t.title = "run and training"
    p.set_defaults(out=None)
    for action in p._actions:
        if action.dest == "out":
            action.help = ("run folder: checkpoints, tokenizers, attention.png and metrics.json (default "
                           "runs/seq2seq; runs/seq2seq-<task> for dates/addition; runs/seq2seq-<file name> for "
                           "--data)")
        elif action.dest == "resume":
            action.help = ("continue <out>/last.npz exactly: the model and data options come from the checkpoint; "
                           f"{', '.join('--' + k.replace('_', '-') for k in RUN_CONTROL)} may be changed")
    t.add_argument("--epochs", type=positive_int, default=None,
                   help=f"[task] passes over the training data ({CORPUS_EPOCHS} / 3 / 25; --data: about "
                   f"{DATA_STEPS['subword']:,} steps for text, {DATA_STEPS['char']:,} for character units, "
                   f"{DATA_EPOCHS[0]} to {DATA_EPOCHS[1]} epochs)")
    t.add_argument("--patience", type=nonnegative_int, default=3,
                   help="early stopping: stop after this many epochs without a lower validation loss; 0 = off")
    t.add_argument("--batch-size", type=positive_int, default=None, help="[task] sentence pairs per batch (64)")
    t.add_argument("--lr", type=positive_float, default=None, help="[task] peak learning rate of Adam (3e-3)")
    t.add_argument("--warmup", type=nonnegative_int, default=200, help="linear learning-rate warm-up, in steps")
    t.add_argument("--lr-decay", type=_decay, default=0.7,
                   help="after warm-up the lr is multiplied by this per epoch (smoothly, every step)")
    t.add_argument("--clip", type=nonnegative_float, default=1.0,
                   help="clip the global gradient norm to this; 0 = off")
    t.add_argument("--teacher-forcing", type=unit_float, default=1.0,
                   help="probability of feeding the true previous token to the decoder (1 = always; below 1 "
                   "the decoder steps through time, which is slower)")
    t.add_argument("--label-smoothing", type=dropout_float, default=0.1,
                   help="label smoothing of the training cross-entropy")

    e = p.add_argument_group("evaluation")
    e.add_argument("--beam", type=int_range(1, 64), default=5,
                   help="beam size for the final test evaluation (greedy is also run)")
    e.add_argument("--length-penalty", type=nonnegative_float, default=0.6,
                   help="GNMT length-penalty exponent alpha of beam search: score = log P / ((5+len)/6)^alpha")
    e.add_argument("--max-len", type=int_range(0, 10_000), default=0,
                   help="longest output in tokens; 0 = automatic (2 x source length + 10)")
    e.add_argument("--val-sentences", type=nonnegative_int, default=500,
                   help="validation sentences decoded (greedy) for the per-epoch BLEU; 0 = skip")
    e.add_argument("--bleu-tokenize", choices=BLEU_TOKENIZERS, default="auto",
                   help="sacrebleu tokenizer of the reported BLEU: auto = ko-mecab for Korean targets (13a is "
                   "reported beside it), char for character units (a one-word output such as '91' has no word "
                   "4-grams), else 13a")
    return p


def default_out(task: str, data: str | None) -> str:
    """runs/seq2seq for the built-in corpus, runs/seq2seq-<task> or runs/seq2seq-<file name> otherwise."""
    if data:
        return f"runs/seq2seq-{Path(data).stem}"
    return "runs/seq2seq" if task == "corpus" else f"runs/seq2seq-{task}"


def parse(argv: Sequence[str]) -> tuple[Config, set[str]]:
    """Parse and check the command line; returns the Config (the [task] options still open) and the typed names.

    Cross-option rules are checked here too, with argparse's error (exit 2).
    """
    p = build_parser()
    ns = p.parse_args(list(argv))
    typed = given_options(p, argv)
    if ns.src_col == ns.tgt_col:
        p.error(f"--src-col and --tgt-col must differ, both are {ns.src_col}")
    if ns.resume and ns.restart:
        p.error("--resume and --restart exclude each other: continue the run, or start over")
    if ns.bidirectional and ns.hidden is not None and ns.hidden % 2 and not ns.resume:
        p.error(f"--hidden {ns.hidden}: a bidirectional encoder splits it between two directions; use an even "
                "number (or --no-bidirectional)")
    if ns.data is not None and "task" in typed:
        p.error("--task and --data exclude each other: a built-in task, or your own file")
    if ns.out is None:
        ns.out = default_out(ns.task, ns.data)
    cfg = Config(**{f.name: getattr(ns, f.name) for f in fields(Config)})
    return cfg, typed


# ---------------------------------------------------------------------------------------------- defaults
def data_defaults(stats: TextStats, n_train: int, batch_size: int) -> tuple[dict[str, Any], str, str]:
    """Defaults that fit a user's text (module docstring); returns them, why these units, why these epochs."""
    chars, words = max(stats.chars), max(stats.mean_words)
    if chars <= CHAR_MAX_DISTINCT and words <= CHAR_MAX_WORDS:
        kind, values = "char", {**TASK_DEFAULTS["dates"], "vocab_size": 0}
        why = (f"character units: short strings of few symbols ({stats.chars[0]} / {stats.chars[1]} distinct "
               f"characters, {stats.mean_words[0]:.1f} / {stats.mean_words[1]:.1f} words per line; at most "
               f"{CHAR_MAX_DISTINCT} and {CHAR_MAX_WORDS:g} pick characters), the model of --task dates")
    else:
        kind, values = "subword", dict(TASK_DEFAULTS["corpus"])
        # every character needs a piece; beyond that about one piece per 5 distinct words, in steps of 500
        size = max(1000, stats.chars[0] + 200, stats.chars[1] + 200, max(stats.words) // 5)
        values["vocab_size"] = min(max(8000, max(stats.chars) + 200), 500 * math.ceil(size / 500))
        reason = (f"{stats.chars[0]} / {stats.chars[1]} distinct characters" if chars > CHAR_MAX_DISTINCT
                  else f"{stats.mean_words[0]:.1f} / {stats.mean_words[1]:.1f} words per line")
        why = (f"sentencepiece {values['vocab_size']} per language: the text is sentences ({reason}; characters "
               f"need at most {CHAR_MAX_DISTINCT} distinct characters and {CHAR_MAX_WORDS:g} words per line), "
               f"{stats.words[0]:,} / {stats.words[1]:,} distinct words")
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    low, high = DATA_EPOCHS
    values["epochs"] = min(high, max(low, math.ceil(DATA_STEPS[kind] / steps_per_epoch)))
    epochs = (f"at most {values['epochs']} epochs of {steps_per_epoch} steps (about {DATA_STEPS[kind]:,} steps, as "
              f"the built-in {'addition' if kind == 'char' else 'corpus'} run; early stopping may end it sooner)")
    return values, why, epochs


def bleu_tokenizer(cfg: Config, stats: TextStats) -> str:
    """auto: ko-mecab for Korean targets (Hangul makes up most of the target), char for characters, else 13a."""
    if cfg.bleu_tokenize != "auto":
        return cfg.bleu_tokenize
    if stats.hangul[1] > 0.5:
        return bleu.tokenizer_for("ko")
    return "char" if cfg.char_level else "13a"


def resolve(cfg: Config, splits: Splits) -> tuple[Config, str]:
    """Fill the [task] options left open (None) and 'auto' BLEU; returns the Config and the units chosen, and why."""
    stats = measure(splits.train)
    why = epochs = ""
    if cfg.data is None:
        values = TASK_DEFAULTS[cfg.task]
    else:
        batch = cfg.batch_size or TASK_DEFAULTS["corpus"]["batch_size"]
        values, why, epochs = data_defaults(stats, len(splits.train), batch)
    chosen = {k: v for k, v in values.items() if getattr(cfg, k) is None}
    cfg = replace(cfg, **chosen)
    cfg = replace(cfg, bleu_tokenize=bleu_tokenizer(cfg, stats))
    units = "characters" if cfg.char_level else f"sentencepiece {cfg.spm_type} {cfg.vocab_size} per language"
    if "vocab_size" not in chosen:
        units += f" (--vocab-size {cfg.vocab_size})"
    elif cfg.data is None:
        units += f" (the --task {cfg.task} default)"
    else:
        units = why  # measured: which units and why
    if cfg.data is not None and "epochs" in chosen:
        units += f"; {epochs}"
    return cfg, units


def for_resume(saved: dict[str, Any], current: Config, typed: set[str]) -> Config:
    """The Config of a resumed run: the checkpoint's options, except the run-control ones typed now (RUN_CONTROL).

    Typed options that would change the model or the data are ignored, with one note on stderr (demokit.cli).
    """
    merged = resumed(asdict(current), saved, typed - {"out", "resume"}, set(RUN_CONTROL))
    return Config(**{**merged, "out": current.out, "resume": True, "restart": False})
