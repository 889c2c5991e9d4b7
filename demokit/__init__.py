"""demokit: what the demos share, written once -- the training loop and its step, run folders, the command-line
conventions, plotting set-up, beam search and the Hangul helpers.

The dependency rule: minigrad imports nothing of the demos; each demo (seq2vec, seq2seq, captioning, charlm)
imports minigrad and demokit, never a sibling demo; demokit imports minigrad only.
"""

from __future__ import annotations

from demokit.decoding import Hypothesis, beam_search, greedy_decode, length_penalty_gnmt, reorder_state

__all__ = ["Hypothesis", "beam_search", "greedy_decode", "length_penalty_gnmt", "reorder_state"]
