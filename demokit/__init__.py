"""demokit: what the demos share, written once -- the training step and loop, run folders and checkpoints, the
command-line conventions, plotting set-up, beam search and the Hangul helpers.

    step.py         train_step (zero_grad, forward, backward, global-norm clipping, step), eval_mode
    trainer.py      Trainer.fit: epochs, validation, best/last checkpoints, early stopping, --resume, Ctrl-C
    runs.py         RunFolder (checked writable, never silently overwritten), atomic writes, strict metrics.json
    checkpoints.py  checkpoints never written from non-finite weights, validated entry by entry when read
    cli.py          option types checked at parse time, the shared run options, run_command (exit codes)
    errors.py       UserError (exit 2), Diverged (exit 1), Interrupted (exit 130)
    plotting.py     matplotlib set-up with a Hangul font (romanised labels only as the fallback), atomic figures
    bleu.py         BLEU (ko-mecab for Korean, with its signature), 13a beside it, chrF, exact match
    decoding.py     greedy decoding and batched beam search          hangul.py   syllables, jamo, particles

The dependency rule: minigrad imports nothing of the demos; each demo (seq2vec, seq2seq, captioning, charlm)
imports minigrad and demokit, never a sibling demo; demokit imports minigrad only.
"""

from __future__ import annotations

from demokit.bleu import score, tokenizer_for
from demokit.checkpoints import load_checkpoint, load_into, save_checkpoint
from demokit.cli import add_run_options, run_command, to_config
from demokit.decoding import Hypothesis, beam_search, greedy_decode, length_penalty_gnmt, reorder_state
from demokit.errors import EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Diverged, Interrupted, UserError
from demokit.plotting import hangul_font, label, log_scale, plot_attention, pyplot, romanize, save_figure
from demokit.runs import RunFolder, write_atomic, write_json
from demokit.step import StepResult, check_finite, eval_mode, train_step
from demokit.trainer import FitSettings, Progress, Trainer, epoch_rng, shuffled_batches

__all__ = [
    "EXIT_DIVERGED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE",
    "Diverged", "FitSettings", "Hypothesis", "Interrupted", "Progress", "RunFolder", "StepResult", "Trainer",
    "UserError", "add_run_options", "beam_search", "check_finite", "epoch_rng", "eval_mode", "greedy_decode",
    "length_penalty_gnmt", "load_checkpoint", "load_into", "reorder_state", "run_command", "save_checkpoint",
    "shuffled_batches", "to_config", "train_step", "write_atomic", "write_json",
    "hangul_font", "label", "log_scale", "plot_attention", "pyplot", "romanize", "save_figure", "score",
    "tokenizer_for",
]
