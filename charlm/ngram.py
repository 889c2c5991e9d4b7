"""n-gram baselines for the character-level model: what a network has to beat, in bits per unit.

    model = NGram(order=5, vocab_size=units.size, k=0.01).fit(train_ids)
    bits = model.cross_entropy(valid_ids)               # mean -log2 P(unit | previous order-1 units)
    bpc = bits * len(valid_ids) / units.count_chars(valid_ids)     # per Unicode character
    text = units.decode(sample(model, 500, np.random.default_rng(0), prime=units.encode("\\n")))

Smoothing (one family for every order; V = vocab_size, C = counts in the training ids, c = the n-1 previous
units, c' = c without its oldest unit):

    backoff=True   P_n(w | c) = (C(c w) + k V P_{n-1}(w | c')) / (C(c) + k V),      P_0(w) = 1 / V
    backoff=False  P_n(w | c) = (C(c w) + k) / (C(c) + k V)                          (plain add-k)

With backoff=True the k V pseudo-counts are spread by the next lower order instead of uniformly (additive
smoothing with the lower order as prior, i.e. interpolation whose weight C(c) / (C(c) + k V) grows with the
evidence); an unseen context (C(c) = 0) gives exactly the lower order, recursively down to uniform. Plain
add-k gives an unseen context the uniform 1 / V, which is what sinks a plain 5-gram on held-out text. Both
are proper distributions for every context (sum over w = 1), and as k -> 0 a seen context's P -> C(c w) / C(c),
the maximum-likelihood estimate. C(c) counts the occurrences of c that are followed by a unit, so the last
position of the training stream does not leak mass.

The start of a stream: unit i is predicted from the min(i, n-1) units before it (the (i+1)-gram model), so
nothing is padded and no boundary symbol is invented; in text made of lines the newline is the natural
boundary and is part of every context that crosses a line start. cross_entropy(ids) scores every position of
ids, the first from the unigram, with no history from before ids.

Counting is vectorised: the j-grams are numbered level by level, code_j = index of (code_{j-1} * V + w) among
the sorted distinct pairs, so keys stay below len(ids) * V and never overflow, whatever the order.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

DEFAULT_KS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


class NGram:
    """An order-n model of a stream of int ids in [0, vocab_size), smoothed as the module docstring says."""

    def __init__(self, order: int, vocab_size: int, k: float = 0.01, backoff: bool = True):
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
            raise ValueError(f"order must be an integer >= 1, got {order!r}")
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
            raise ValueError(f"vocab_size must be an integer >= 1, got {vocab_size!r}")
        if not (isinstance(k, (int, float, np.floating)) and np.isfinite(k) and k > 0):
            raise ValueError(f"k must be a number > 0 (k -> 0 approaches the unsmoothed estimate), got {k!r}")
        self.order, self.vocab_size, self.k, self.backoff = int(order), int(vocab_size), float(k), bool(backoff)
        self._keys: list[np.ndarray] = []  # level j-1: sorted distinct (context code * V + w) of the j-grams
        self._counts: list[np.ndarray] = []  # level j-1: C(c w) of each key
        self._totals: list[np.ndarray] = []  # level j-1: C(c) for each context code (followed by a unit)
        self.n_train = 0

    def __repr__(self) -> str:
        return f"NGram(order={self.order}, vocab_size={self.vocab_size}, k={self.k}, backoff={self.backoff})"

    def _check_ids(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.ndim != 1:
            raise ValueError(f"ids must be a 1-D stream, got shape {ids.shape}")
        if len(ids) and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"ids must be integers in 0..{self.vocab_size - 1}")
        return ids.astype(np.int64, copy=False)

    def fit(self, ids: Sequence[int] | np.ndarray) -> NGram:
        """Count every j-gram (j = 1..order) of the training stream. Returns self."""
        ids = self._check_ids(ids)
        if len(ids) == 0:
            raise ValueError("cannot fit an n-gram model on an empty stream")
        V = self.vocab_size
        self._keys, self._counts, self._totals = [], [], []
        prev = np.zeros(len(ids), dtype=np.int64)  # code of the (j-1)-gram ending at i - 1; level 0: code 0
        n_prev = 1
        for j in range(1, self.order + 1):
            if len(ids) < j:
                break
            ctx = prev[: len(ids) - j + 1]  # contexts of the j-grams ending at i = j-1 .. len-1
            keys, code, counts = np.unique(ctx * V + ids[j - 1 :], return_inverse=True, return_counts=True)
            self._keys.append(keys)
            self._counts.append(counts)
            self._totals.append(np.bincount(keys // V, weights=counts, minlength=n_prev).astype(np.int64))
            prev = code.reshape(-1)  # prev[m] = code of the j-gram ending at m + j - 1
            n_prev = len(keys)
        self.n_train = len(ids)
        return self

    def _require_fit(self) -> None:
        if not self._keys:
            raise ValueError("the n-gram model is not fitted: call fit(train_ids) first")

    def _lookup(self, level: int, ctx: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index of the key (ctx, w) at `level` or -1, its count or 0) for arrays ctx (-1 = unseen) and w."""
        keys = self._keys[level]
        key = ctx * self.vocab_size + w
        pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
        found = (ctx >= 0) & (keys[pos] == key)
        return np.where(found, pos, -1), np.where(found, self._counts[level][pos], 0)

    def log2_probs(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """log2 P(ids[i] | ids[max(0, i-order+1) : i]) for every i: a (len(ids),) float64 array."""
        self._require_fit()
        ids = self._check_ids(ids)
        n, V, kV = len(ids), self.vocab_size, self.k * self.vocab_size
        p = np.full(n, 1.0 / V)  # level 0
        prev = np.zeros(n, dtype=np.int64)  # code of the (j-1)-gram ending at i - 1 (-1 = never seen)
        for j in range(1, min(self.order, n) + 1):
            ctx = prev[: n - j + 1]  # contexts of the positions i = j-1 .. n-1
            w = ids[j - 1 :]
            code, c_cw = self._lookup(j - 1, ctx, w) if j - 1 < len(self._keys) else (np.full(len(w), -1), 0)
            if j - 1 < len(self._totals):
                totals = self._totals[j - 1]
                c_c = np.where(ctx >= 0, totals[np.clip(ctx, 0, len(totals) - 1)], 0)
            else:  # the training stream was shorter than j: no j-gram was ever seen
                c_c = np.zeros(len(w), dtype=np.int64)
            prior = p[j - 1 :] if self.backoff else 1.0 / V
            p[j - 1 :] = (c_cw + kV * prior) / (c_c + kV)
            prev = code
        return np.log2(p)

    def cross_entropy(self, ids: Sequence[int] | np.ndarray) -> float:
        """Mean negative log2-likelihood per unit of a stream (bits per unit)."""
        ids = np.asarray(ids)
        if len(ids) == 0:
            raise ValueError("cannot score an empty stream")
        return float(-self.log2_probs(ids).mean())

    def probs(self, context: Sequence[int] | np.ndarray = ()) -> np.ndarray:
        """P(w | context) for every w: a (vocab_size,) float64 array summing to 1.

        Only the last order-1 ids of the context are used; a shorter context uses the lower orders.
        """
        self._require_fit()
        context = self._check_ids(np.asarray(context, dtype=np.int64).reshape(-1))
        context = context[len(context) - min(len(context), self.order - 1) :]
        V, kV = self.vocab_size, self.k * self.vocab_size
        # code of the m-gram that ends the context, m = 0 .. len(context) (-1 once unseen)
        codes = [0]
        for m in range(1, len(context) + 1):
            if m - 1 >= len(self._keys) or codes[-1] < 0:
                codes.append(-1)
                continue
            seq = context[len(context) - m :]
            c = 0
            for level, w in enumerate(seq):  # walk the (level+1)-gram codes of the suffix of length m
                c = int(self._lookup(level, np.array([c]), np.array([w]))[0][0]) if c >= 0 else -1
            codes.append(c)
        p = np.full(V, 1.0 / V)
        for j in range(1, len(context) + 2):
            ctx = codes[j - 1]
            counts = np.zeros(V)
            total = 0
            if j - 1 < len(self._keys) and ctx >= 0:
                keys = self._keys[j - 1]
                lo, hi = np.searchsorted(keys, [ctx * V, (ctx + 1) * V])
                counts[keys[lo:hi] % V] = self._counts[j - 1][lo:hi]
                total = int(self._totals[j - 1][ctx]) if ctx < len(self._totals[j - 1]) else 0
            prior = p if self.backoff else 1.0 / V
            p = (counts + kV * prior) / (total + kV)
        return p


def choose_k(train_ids: np.ndarray, order: int, vocab_size: int, ks: Sequence[float] = DEFAULT_KS,
             holdout: float = 0.05, backoff: bool = True) -> tuple[float, dict[float, float]]:
    """Pick k on the training ids alone: fit on the first 1 - holdout, score the last holdout (bits per unit).

    Returns (best k, {k: bits per unit}). The validation part is never looked at, so the baselines'
    validation figures are not tuned on it.
    """
    train_ids = np.asarray(train_ids)
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be between 0 and 1, got {holdout}")
    cut = int(round(len(train_ids) * (1 - holdout)))
    if cut < 1 or cut >= len(train_ids):
        raise ValueError(f"{len(train_ids)} training ids are too few to hold out {holdout:.0%} for choosing k")
    scores = {}
    for k in ks:
        model = NGram(order, vocab_size, k, backoff).fit(train_ids[:cut])
        scores[float(k)] = model.cross_entropy(train_ids[cut:])
    best = min(scores, key=scores.get)
    return best, scores


def sample(model: NGram, length: int, rng: np.random.Generator, prime: Sequence[int] | np.ndarray = (),
           temperature: float = 1.0) -> np.ndarray:
    """Generate `length` ids from the model, one at a time, each from P(w | the order-1 ids before it).

    `prime` (ids) is the start of the history, e.g. the encoded prompt or a newline; it is not part of the
    result. temperature as in charlm.sampling.sample_next (1 = the model's distribution, 0 = greedy).
    """
    from charlm.sampling import sample_next  # local: keeps the counting code free of the sampling module

    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise ValueError(f"length must be an integer >= 0, got {length!r}")
    history = [int(i) for i in np.asarray(prime, dtype=np.int64).reshape(-1)]
    keep = model.order - 1
    out = np.empty(length, dtype=np.int64)
    for t in range(length):
        p = model.probs(history[len(history) - keep :] if keep else [])
        out[t] = sample_next(np.log(p), temperature=temperature, rng=rng)
        history.append(int(out[t]))
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the baselines' validation bits per unit and per character on the built-in Korean corpus."""
    from charlm.text import corpus_text, read_text, split_text
    from charlm.units import build_units

    parser = argparse.ArgumentParser(description="n-gram baselines (bits per character) on a 95/5 tail split.")
    parser.add_argument("--data", help="a UTF-8 text file (default: the built-in corpus's Korean sentences)")
    parser.add_argument("--units", choices=("char", "jamo"), nargs="+", default=["char", "jamo"])
    parser.add_argument("--orders", type=int, nargs="+", default=[1, 2, 3, 5])
    parser.add_argument("--valid-fraction", type=float, default=0.05)
    parser.add_argument("--plain", action="store_true", help="plain add-k (uniform prior) instead of back-off")
    args = parser.parse_args(argv)
    text = read_text(args.data) if args.data else corpus_text("ko")
    print(f"text: {args.data or 'built-in corpus, Korean'}: {len(text):,} characters, {text.count(chr(10)):,} lines")
    print("smoothing: " + ("plain add-k" if args.plain else "add-k with the lower order as prior")
          + "; k chosen on the last 5% of the training part")
    train_text, valid_text = split_text(text, args.valid_fraction)  # the same held-out lines in every mode
    print(f"held out: the last {len(valid_text):,} characters ({valid_text.count(chr(10)):,} lines)")
    for mode in args.units:
        units = build_units(text, mode)  # the vocabulary of the whole text, as a training run builds it
        ids = units.encode(text)
        train, valid = units.encode(train_text), units.encode(valid_text)
        per_char = len(valid) / units.count_chars(valid)
        print(f"\n--units {mode}: vocabulary {units.size} (with <unk>), {units.units_per_char(ids):.3f} units per "
              f"character; train {len(train):,} units, valid {len(valid):,} units = "
              f"{units.count_chars(valid):,} characters")
        print(f"{'order':>5}  {'k':>6}  {'bits/unit':>9}  {'bits/char':>9}  {'seconds':>7}")
        for order in args.orders:
            start = time.perf_counter()
            k, _ = choose_k(train, order, units.size, backoff=not args.plain)
            bits = NGram(order, units.size, k, backoff=not args.plain).fit(train).cross_entropy(valid)
            seconds = time.perf_counter() - start
            print(f"{order:>5}  {k:>6g}  {bits:>9.4f}  {bits * per_char:>9.4f}  {seconds:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
