"""Choosing the next unit from a model's scores: temperature, top-k and top-p (nucleus) sampling.

    next_id = sample_next(logits, temperature=0.8, top_k=0, top_p=0.95, rng=np.random.default_rng(0))

The three knobs act in this order (the order of Hugging Face's generate() and of most char-rnn samplers):

    1. temperature T:  p_i = exp(z_i / T) / sum_j exp(z_j / T)
    2. top-k:          keep the k largest p_i (ties: the lower id first), renormalise
    3. top-p:          sort the kept p_i in decreasing order; keep the shortest prefix whose sum reaches p,
                       renormalise; then draw one id from what is left

Dividing the logits by T < 1 stretches their differences, so the likely units get likelier: the samples are
more conservative and more repetitive, and T -> 0 is the argmax (T = 0 is handled as greedy decoding, exactly).
T > 1 shrinks the differences towards a uniform distribution over what top-k and top-p allow: more varied,
more mistakes. T = 1 samples the model's own distribution. Because top-p is applied after the temperature,
the nucleus of a given p is smaller at low T and larger at high T; top-k's set does not depend on T.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check(temperature: float, top_k: int | None, top_p: float | None) -> tuple[float, int, float]:
    """Validate the knobs once; returns (T, k with 0 = off, p with 1 = off)."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)) \
            or not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a number >= 0 (0 = greedy), got {temperature!r}")
    if top_k is None:
        top_k = 0
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 0:
        raise ValueError(f"top_k must be an integer >= 1, or 0/None for no top-k, got {top_k!r}")
    if top_p is None:
        top_p = 1.0
    if isinstance(top_p, bool) or not isinstance(top_p, (int, float, np.integer, np.floating)) \
            or not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1] (1 or None = no top-p), got {top_p!r}")
    return float(temperature), int(top_k), float(top_p)


def filtered_probs(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                   top_p: float | None = None) -> np.ndarray:
    """The distribution sample_next() draws from: (..., V) logits -> (..., V) probabilities, zero outside the
    top-k / top-p set, each row summing to 1. temperature must be > 0 here (0 is greedy: no distribution)."""
    t, k, p = _check(temperature, top_k, top_p)
    if t == 0:
        raise ValueError("temperature 0 is greedy decoding: there is no distribution to return")
    z = _as_logits(logits)
    z = z / t
    z = z - z.max(axis=-1, keepdims=True)  # stable softmax; a -inf logit stays excluded
    probs = np.exp(z)
    probs /= probs.sum(axis=-1, keepdims=True)
    V = probs.shape[-1]
    if (k and k < V) or p < 1:
        order = np.argsort(-probs, axis=-1, kind="stable")  # decreasing; equal probabilities: lower id first
        ranked = np.take_along_axis(probs, order, axis=-1)
        keep = np.ones_like(ranked, dtype=bool)
        if k and k < V:
            keep[..., k:] = False
            ranked = np.where(keep, ranked, 0.0)
            ranked /= ranked.sum(axis=-1, keepdims=True)
        if p < 1:
            before = np.cumsum(ranked, axis=-1) - ranked  # mass of the more likely units
            keep &= before < p  # the first unit always stays; stop once the kept mass reaches p
        ranked = np.where(keep, ranked, 0.0)
        probs = np.zeros_like(probs)
        np.put_along_axis(probs, order, ranked, axis=-1)
        probs /= probs.sum(axis=-1, keepdims=True)
    return probs


def _as_logits(logits: np.ndarray | Sequence[float]) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim not in (1, 2) or z.shape[-1] == 0:
        raise ValueError(f"logits must be (V,) or (N, V) with V >= 1, got shape {z.shape}")
    if np.isnan(z).any() or np.isposinf(z).any():
        raise ValueError("logits contain NaN or +inf")
    if np.isneginf(z).all(axis=-1).any():
        raise ValueError("every logit of a row is -inf: nothing can be sampled")
    return z


def sample_next(logits: np.ndarray | Sequence[float], temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, rng: np.random.Generator | None = None) -> int | np.ndarray:
    """Draw the next id from (V,) logits -> an int, or from (N, V) logits -> an (N,) int64 array (one per row).

    temperature: >= 0; 0 = greedy (argmax; ties go to the lower id), < 1 more conservative, > 1 more random
    (see the module docstring). top_k: keep the k most likely ids (0 or None = all). top_p: keep the smallest
    set of most likely ids whose probability reaches p, 0 < p <= 1 (1 or None = all). rng: a NumPy Generator;
    the same seed gives the same draws (None = a fresh unseeded generator).
    Logits of -inf are never drawn (a caller can ban an id that way).
    """
    t, k, p = _check(temperature, top_k, top_p)
    z = _as_logits(logits)
    if t == 0:
        ids = np.argmax(z, axis=-1)
    else:
        probs = filtered_probs(z, t, k, p)
        rng = np.random.default_rng() if rng is None else rng
        cdf = np.cumsum(probs, axis=-1)
        u = rng.random(probs.shape[:-1]) * cdf[..., -1]  # u < cdf[-1], so some id always qualifies
        # the first id whose cumulative probability exceeds u; an id of probability 0 never qualifies first
        ids = np.argmax(cdf > u[..., None], axis=-1)
    return int(ids) if z.ndim == 1 else ids.astype(np.int64)
