"""seq2seq.decoding: beam 1 == greedy, beam beats greedy on a trap, termination, n-best, state reordering."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from demokit.decoding import beam_search, greedy_decode, length_penalty_gnmt, reorder_state
from minigrad import Tensor

BOS, EOS = 1, 2


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def markov_model(V=7, rows=5, seed=0, eos_boost=0.0):
    """A random 'language model': next-token log-probs depend on (row's own table, previous token).

    The state carries each row's table id (a NumPy array) and a Tensor copy of it, so a decoder that
    reorders rows wrongly gives other outputs than decoding each row alone.
    """
    rng = np.random.default_rng(seed)
    tables = _log_softmax(rng.normal(0, 2.0, (rows, V, V)))
    tables[:, :, EOS] += eos_boost
    tables = _log_softmax(tables)

    def step_fn(tokens, state):
        ids, tensor_ids = state
        assert (tensor_ids.data == ids).all()
        return tables[ids, tokens], state

    return step_fn, (np.arange(rows), Tensor(np.arange(rows, dtype=np.float32)))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_beam_size_1_equals_greedy(seed, alpha):
    step_fn, state = markov_model(seed=seed, eos_boost=1.5)
    greedy = greedy_decode(step_fn, state, 5, BOS, EOS, max_len=12)
    beam = beam_search(step_fn, state, 5, BOS, EOS, beam_size=1, max_len=12, length_penalty=alpha)
    assert [h[0].tokens for h in beam] == greedy
    assert any(len(g) < 12 for g in greedy)  # some rows really ended with EOS


def _exhaustive_best(table, max_len, alpha):
    """Best finished sequence by brute force over every sequence of length < max_len (+ EOS)."""
    V = table.shape[0]
    best, best_score = None, -np.inf
    for n in range(max_len):
        for seq in itertools.product([t for t in range(V) if t != EOS], repeat=n):
            prev, lp = BOS, 0.0
            for t in seq:
                lp, prev = lp + table[prev, t], t
            lp += table[prev, EOS]
            s = lp / length_penalty_gnmt(n + 1, alpha)
            if s > best_score:
                best, best_score = list(seq), s
    return best, best_score


def test_wide_beam_finds_the_exhaustive_optimum_and_beats_greedy():
    # a greedy trap: token 3 looks best first, but only 4 -> EOS is likely afterwards
    V = 6
    table = np.full((V, V), -9.0)
    table[BOS, 3], table[BOS, 4] = np.log(0.55), np.log(0.45)
    table[3, [0, 5]] = np.log(0.5)  # after 3: two mediocre continuations, EOS unlikely
    table[4, EOS] = np.log(0.99)
    table[0, EOS] = table[5, EOS] = np.log(0.3)
    table = _log_softmax(table)

    def step_fn(tokens, state):
        return table[tokens], state

    greedy = greedy_decode(step_fn, np.zeros(1), 1, BOS, EOS, max_len=4)[0]
    best = beam_search(step_fn, np.zeros(1), 1, BOS, EOS, beam_size=4, max_len=4, length_penalty=0.0)[0][0]
    assert greedy[0] == 3 and best.tokens == [4]
    truth, score = _exhaustive_best(table, 4, 0.0)
    assert best.tokens == truth and best.score == pytest.approx(score)


def test_batched_beam_equals_one_row_at_a_time():
    step_fn, state = markov_model(rows=6, seed=3, eos_boost=0.3)
    batched = beam_search(step_fn, state, 6, BOS, EOS, beam_size=3, max_len=10, n_best=3)
    for r in range(6):
        single_state = (np.array([r]), Tensor(np.array([r], dtype=np.float32)))
        alone = beam_search(step_fn, single_state, 1, BOS, EOS, beam_size=3, max_len=10, n_best=3)[0]
        assert [h.tokens for h in alone] == [h.tokens for h in batched[r]]
        assert [h.score for h in alone] == pytest.approx([h.score for h in batched[r]])


def test_n_best_sorted_and_scores_consistent():
    step_fn, state = markov_model(rows=3, seed=5, eos_boost=1.0)
    alpha = 0.6
    out = beam_search(step_fn, state, 3, BOS, EOS, beam_size=4, max_len=9, length_penalty=alpha, n_best=4)
    rng_tables = markov_model(rows=3, seed=5, eos_boost=1.0)[0]
    for r, hyps in enumerate(out):
        assert len(hyps) == 4
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        assert len({tuple(h.tokens) for h in hyps}) == 4  # distinct hypotheses
        for h in hyps:  # log_prob really is the sum of the step log-probs, score its normalisation
            prev, lp = BOS, 0.0
            for t in h.tokens + ([EOS] if h.finished else []):
                lp += rng_tables(np.array([prev]), (np.array([r]), Tensor(np.array([r], dtype=np.float32))))[
                    0
                ][0, t]
                prev = t
            assert h.log_prob == pytest.approx(lp)
            n = len(h.tokens) + (1 if h.finished else 0)
            assert h.score == pytest.approx(lp / length_penalty_gnmt(n, alpha))


def test_always_terminates_when_eos_is_never_likely():
    step_fn, state = markov_model(rows=2, seed=1, eos_boost=-50.0)
    greedy = greedy_decode(step_fn, state, 2, BOS, EOS, max_len=7)
    assert [len(g) for g in greedy] == [7, 7]
    beam = beam_search(step_fn, state, 2, BOS, EOS, beam_size=3, max_len=7)
    assert all(len(h[0].tokens) == 7 and not h[0].finished for h in beam)


def test_length_penalty_prefers_longer_outputs():
    assert length_penalty_gnmt(5, 0.0) == 1.0
    assert length_penalty_gnmt(1, 1.0) == 1.0 and length_penalty_gnmt(7, 1.0) == 2.0
    step_fn, state = markov_model(rows=5, seed=2, eos_boost=1.5)
    short = beam_search(step_fn, state, 5, BOS, EOS, beam_size=5, max_len=15, length_penalty=0.0)
    long = beam_search(step_fn, state, 5, BOS, EOS, beam_size=5, max_len=15, length_penalty=2.0)
    assert sum(len(h[0].tokens) for h in long) > sum(len(h[0].tokens) for h in short)


def test_reorder_state_nested_and_errors():
    state = {"a": (np.arange(4), [Tensor(np.arange(8.0).reshape(4, 2)), None])}
    out = reorder_state(state, np.array([3, 3, 0]))
    assert out["a"][0].tolist() == [3, 3, 0]
    assert out["a"][1][0].data.tolist() == [[6, 7], [6, 7], [0, 1]]
    assert out["a"][1][1] is None
    with pytest.raises(TypeError, match="decoder state"):
        reorder_state({"x": "text"}, np.array([0]))


def test_bad_arguments():
    step_fn, state = markov_model()
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(step_fn, state, 5, BOS, EOS, beam_size=0, max_len=5)
    with pytest.raises(ValueError, match="n_best"):
        beam_search(step_fn, state, 5, BOS, EOS, beam_size=2, max_len=5, n_best=3)
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(step_fn, state, 5, BOS, EOS, max_len=0)
    with pytest.raises(ValueError, match=r"shape \(B, V\)"):
        greedy_decode(lambda t, s: (np.zeros(3), s), state, 5, BOS, EOS, max_len=3)
    assert beam_search(step_fn, state, 0, BOS, EOS, beam_size=2, max_len=3) == []


def test_unlikely_early_eos_does_not_end_the_search():
    """A confident model: 5 6 7 8 9 EOS with p = 0.99 per step, EOS always the runner-up (p = 0.005).

    The early-EOS hypotheses rank among the K best at every step; stopping as soon as K hypotheses have
    finished (fairseq's rule) would return one of them instead of the sentence.
    """
    V, seq = 12, [5, 6, 7, 8, 9]
    table = np.full((V, V), 0.005 / (V - 2))
    prev = BOS
    for tok in seq + [EOS]:
        table[prev] = 0.005 / (V - 2)
        table[prev, EOS] = 0.005 if tok != EOS else 0.99
        table[prev, tok] = 0.99
        prev = tok
    logp = np.log(table / table.sum(1, keepdims=True))

    def step_fn(tokens, state):
        return logp[tokens], state

    assert greedy_decode(step_fn, np.zeros(1), 1, BOS, EOS, max_len=10) == [seq]
    for K in (2, 3, 5):
        for alpha in (0.0, 0.6):
            best = beam_search(
                step_fn, np.zeros(1), 1, BOS, EOS, beam_size=K, max_len=10, length_penalty=alpha
            )
            assert best[0][0].tokens == seq, (K, alpha)
