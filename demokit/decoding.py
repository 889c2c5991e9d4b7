"""Greedy decoding and batched beam search, written once for every demo (translation, captioning).

Both work with any model through one small interface:

    step_fn(tokens, state) -> (log_probs, new_state)
        tokens:    np.ndarray (B,) int      the previous output token of each row
        state:     a (nested) tuple/list/dict of np.ndarray or Tensor, every leaf with axis 0 = B
                   (decoder hidden state, encoder outputs, source mask, ...)
        log_probs: np.ndarray (B, V)        log p(next token | everything so far), a normalised distribution

The decoders only ever reorder the state along axis 0 (`reorder_state`): beam search gathers the rows
of the surviving hypotheses, and both drop the rows of sentences that are already finished, so the
model runs on fewer rows as decoding goes on.

Beam search (as in GNMT / fairseq):
    - every sentence keeps K = beam_size live hypotheses; at each step the 2K best extensions
      (by total log-probability) are taken in order; an extension that emits EOS while ranked among the
      first K is moved to the sentence's finished list, the others fill the K live slots;
    - a sentence is done when its n_best-th best finished hypothesis scores at least as well as the best
      live one would if it ended at its current length (as Hugging Face's beam search), or when max_len
      steps are reached (then its live hypotheses are finished as they are, without EOS) -- so decoding
      always ends. (Stopping at "K finished", as fairseq does, lets a confident model's unlikely early-EOS
      hypotheses fill the K slots before the good hypothesis has finished.)
    - finished hypotheses are ranked by   score = log P(y) / lp(|y|),
          lp(n) = ((5 + n) / 6) ** alpha      (GNMT, Wu et al. 2016; alpha = length_penalty)
      where n counts the generated tokens including EOS. alpha = 0 ranks by raw log-probability, which
      favours short outputs; alpha around 0.6-1.0 removes most of that bias.
    - with beam_size = 1 the single live hypothesis is always the arg-max extension, and it finishes
      exactly when that arg-max is EOS: the result equals greedy decoding token for token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import minigrad
from minigrad.tensor import Tensor

StepFn = Callable[[np.ndarray, Any], tuple[np.ndarray, Any]]


@dataclass
class Hypothesis:
    """One finished output: tokens (without BOS/EOS), total log-probability and the ranking score."""

    tokens: list[int]
    log_prob: float
    score: float
    finished: bool  # False when it was cut at max_len without emitting EOS


def reorder_state(state: Any, index: np.ndarray) -> Any:
    """Take rows `index` (axis 0) of every array/Tensor leaf of a nested state; None stays None."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return Tensor(state.data[index])
    if isinstance(state, np.ndarray):
        return state[index]
    if isinstance(state, tuple):
        return tuple(reorder_state(s, index) for s in state)
    if isinstance(state, list):
        return [reorder_state(s, index) for s in state]
    if isinstance(state, dict):
        return {k: reorder_state(v, index) for k, v in state.items()}
    raise TypeError(
        f"decoder state leaves must be arrays, Tensors, tuples, lists or dicts, got {type(state).__name__}"
    )


def length_penalty_gnmt(length: int, alpha: float) -> float:
    """GNMT length penalty lp(n) = ((5 + n) / 6) ** alpha; lp = 1 for alpha = 0."""
    return ((5.0 + length) / 6.0) ** alpha


def _check_log_probs(log_probs: Any, rows: int) -> np.ndarray:
    lp = np.asarray(log_probs.data if isinstance(log_probs, Tensor) else log_probs)
    if lp.ndim != 2 or lp.shape[0] != rows:
        raise ValueError(f"step_fn must return log_probs of shape (B, V) = ({rows}, V), got {lp.shape}")
    return lp


def _check_args(batch_size: int, max_len: int, bos_id: int, eos_id: int) -> None:
    if batch_size < 0:
        raise ValueError(f"batch_size must be >= 0, got {batch_size}")
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    if bos_id < 0 or eos_id < 0:
        raise ValueError(f"bos_id and eos_id must be token ids >= 0, got {bos_id}, {eos_id}")


def _settled(finished: list[Hypothesis], n_best: int, best_live: float, length: int, alpha: float) -> bool:
    """True when the n_best-th finished hypothesis scores at least as well as the best live one would if it
    ended now (its log-probability can only fall from here). Junk hypotheses that ended early can then not
    stop the search before the good ones finish, and with beam 1 it stops exactly when greedy does."""
    if len(finished) < n_best:
        return False
    kth = sorted((h.score for h in finished), reverse=True)[n_best - 1]
    return kth >= best_live / length_penalty_gnmt(length, alpha)


def greedy_decode(
    step_fn: StepFn, init_state: Any, batch_size: int, bos_id: int, eos_id: int, max_len: int
) -> list[list[int]]:
    """Pick the most probable token at each step until EOS or max_len tokens; one list per row.

    Returns the generated tokens of each of the batch_size rows, without BOS and EOS.
    """
    _check_args(batch_size, max_len, bos_id, eos_id)
    out: list[list[int]] = [[] for _ in range(batch_size)]
    alive = np.arange(batch_size)  # the original row of each row still decoding
    tokens = np.full(batch_size, bos_id, dtype=np.int64)
    state = init_state
    with minigrad.no_grad():
        for _ in range(max_len):
            if alive.size == 0:
                break
            log_probs, state = step_fn(tokens, state)
            lp = _check_log_probs(log_probs, alive.size)
            tokens = lp.argmax(axis=1)  # ties go to the lowest id, as in beam search below
            keep = tokens != eos_id
            for row, tok in zip(alive[keep], tokens[keep]):
                out[row].append(int(tok))
            if not keep.all():  # drop finished rows so the model runs on fewer
                idx = np.flatnonzero(keep)
                alive, tokens, state = alive[idx], tokens[idx], reorder_state(state, idx)
    return out


def beam_search(
    step_fn: StepFn,
    init_state: Any,
    batch_size: int,
    bos_id: int,
    eos_id: int,
    beam_size: int,
    max_len: int,
    length_penalty: float = 0.6,
    n_best: int = 1,
) -> list[list[Hypothesis]]:
    """Batched beam search; returns for every row its n_best hypotheses, best first.

    init_state has batch_size rows; it is expanded to batch_size * beam_size rows (each row repeated
    beam_size times, row b's beams at b*K .. b*K+K-1). See the module docstring for the algorithm.
    """
    _check_args(batch_size, max_len, bos_id, eos_id)
    K = int(beam_size)
    if K < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if not 1 <= n_best <= K:
        raise ValueError(f"n_best must be between 1 and beam_size ({K}), got {n_best}")
    finished: list[list[Hypothesis]] = [[] for _ in range(batch_size)]
    if batch_size == 0:
        return []
    alive = np.arange(batch_size)  # original sentence index of each active sentence
    state = reorder_state(init_state, np.repeat(np.arange(batch_size), K))
    tokens = np.full(batch_size * K, bos_id, dtype=np.int64)
    # (B, K) total log-probs; at the start only beam 0 is real, or every beam would pick the same token
    scores = np.full((batch_size, K), -np.inf)
    scores[:, 0] = 0.0
    history = np.zeros((batch_size, K, 0), dtype=np.int64)  # the tokens of each live hypothesis
    with minigrad.no_grad():
        for t in range(1, max_len + 1):
            B = alive.size
            log_probs, state = step_fn(tokens, state)
            lp = _check_log_probs(log_probs, B * K).astype(np.float64)
            V = lp.shape[1]
            total = (scores[:, :, None] + lp.reshape(B, K, V)).reshape(B, K * V)
            # the 2K best extensions per sentence, best first; a stable sort breaks ties by lowest id,
            # like argmax, which keeps beam 1 == greedy
            n_cand = min(2 * K, K * V)
            cand = np.argsort(-total, axis=1, kind="stable")[:, :n_cand]
            cand_scores = np.take_along_axis(total, cand, axis=1)
            beam_of, tok_of = cand // V, cand % V
            new_beam = np.zeros((B, K), dtype=np.int64)
            new_tok = np.zeros((B, K), dtype=np.int64)
            new_scores = np.full((B, K), -np.inf)
            done = np.zeros(B, dtype=bool)
            for b in range(B):
                filled = 0
                sent = alive[b]
                for rank in range(n_cand):
                    s = cand_scores[b, rank]
                    if not np.isfinite(s):
                        break  # only the -inf placeholder beams are left (first step, tiny vocab)
                    beam, tok = int(beam_of[b, rank]), int(tok_of[b, rank])
                    if tok == eos_id:
                        if rank < K:  # EOS counts only when it ranks among the K best
                            toks = history[b, beam].tolist()
                            finished[sent].append(
                                Hypothesis(
                                    toks,
                                    float(s),
                                    float(s) / length_penalty_gnmt(len(toks) + 1, length_penalty),
                                    True,
                                )
                            )
                        continue
                    if filled < K:
                        new_beam[b, filled], new_tok[b, filled], new_scores[b, filled] = beam, tok, s
                        filled += 1
                done[b] = filled == 0 or _settled(finished[sent], n_best, new_scores[b, 0], t, length_penalty)
                if t == max_len and not done[b]:
                    # out of time: the live hypotheses are finished as they are (cut, no EOS)
                    for k in range(filled):
                        toks = history[b, new_beam[b, k]].tolist() + [int(new_tok[b, k])]
                        s = float(new_scores[b, k])
                        finished[sent].append(
                            Hypothesis(toks, s, s / length_penalty_gnmt(len(toks), length_penalty), False)
                        )
                    done[b] = True
            if done.all():
                break
            # keep the sentences that go on, and in them the rows of the chosen beams
            keep = np.flatnonzero(~done)
            rows = (keep[:, None] * K + new_beam[keep]).reshape(-1)
            history = np.concatenate(
                [
                    np.take_along_axis(history[keep], new_beam[keep][:, :, None], axis=1),
                    new_tok[keep][:, :, None],
                ],
                axis=2,
            )
            state = reorder_state(state, rows)
            tokens = new_tok[keep].reshape(-1)
            scores = new_scores[keep]
            alive = alive[keep]
    results = []
    for hyps in finished:
        # sort by score, best first; the stable sort keeps the earlier (shorter) one on ties
        ranked = sorted(hyps, key=lambda h: -h.score)
        results.append(ranked[:n_best])
    return results
