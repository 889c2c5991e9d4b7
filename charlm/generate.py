"""Running the trained model: bits per character on held-out text, and sampling text one unit at a time."""

from __future__ import annotations

import math

import numpy as np

from charlm.model import CharLM
from charlm.sampling import sample_next
from charlm.text import batchify, bptt_chunks
from charlm.units import Units
from demokit.step import eval_mode
from minigrad import functional as F


def bits_per_char(model: CharLM, units: Units, ids: np.ndarray, rows: int = 8, bptt: int = 256) -> float:
    """Validation bits per Unicode character: the mean -log2 P(next unit) times units per character.

        bpc = (Σ_t -ln P(x_{t+1} | x_≤t)) / ln 2 / (characters the ids stand for)

    Per CHARACTER, not per unit, so --units char and --units jamo (2-3 units per syllable) are comparable.
    The held-out stream is read as `rows` parallel streams from a fresh state, carried chunk to chunk.
    """
    rows = max(1, min(rows, len(ids) // 2))
    streams = batchify(ids, rows)
    nats = count = 0.0
    with eval_mode(model):
        model.reset_states()
        for x, y in bptt_chunks(streams, bptt):
            nats += F.cross_entropy(model(x), y, reduction="sum").item()
            count += y.size
        model.reset_states()
    return nats / math.log(2) / count * len(ids) / units.count_chars(ids)


def generate(model: CharLM, units: Units, prime: str, length: int, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, rng: np.random.Generator | None = None,
             rows: int = 1) -> list[np.ndarray]:
    """Sample `length` units after `prime` in `rows` independent rows; returns each row's sampled ids.

    The prompt runs through the stateful layers in one call; then every sampled unit is fed back as the next
    input through the layers' one-step API (state in, state out). temperature 0 = greedy (charlm.sampling).
    """
    rng = np.random.default_rng() if rng is None else rng
    start = units.encode(prime if prime else "\n")
    out = np.empty((rows, length), dtype=np.int64)
    with eval_mode(model):
        model.reset_states()
        logits = model(np.tile(start, (rows, 1))).data[:, -1]
        states = [r.states[0] if len(r.states) == 1 else r.states for r in model.rnns]
        model.reset_states()
        for t in range(length):
            out[:, t] = sample_next(logits, temperature, top_k, top_p, rng)
            step_logits, states = model.step(out[:, t], states)
            logits = step_logits.data
    return list(out)
