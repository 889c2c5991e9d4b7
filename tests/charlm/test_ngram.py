"""charlm.ngram: counts, smoothing, hand-computable cross-entropies, normalisation, sampling."""

import time

import numpy as np
import pytest

from charlm.ngram import NGram, choose_k, sample


def test_unigram_cross_entropy_on_known_frequencies():
    # a: 1/2, b: 1/4, c: 1/4 in training; scored on the same stream, the entropy is 1.5 bits
    train = np.array([0, 0, 1, 2] * 50)
    model = NGram(1, 3, k=1e-9).fit(train)
    assert model.cross_entropy(train) == pytest.approx(1.5, abs=1e-6)
    np.testing.assert_allclose(model.probs(), [0.5, 0.25, 0.25], atol=1e-9)
    # add-k by hand: (C + k) / (N + k V)
    model = NGram(1, 4, k=1.0).fit(train)
    np.testing.assert_allclose(model.probs(), (np.array([100, 50, 50, 0]) + 1.0) / 204)


def test_bigram_cross_entropy_of_abab_by_hand():
    train = np.array([0, 1] * 100)  # "abab...": after a always b, after b always a
    valid = np.array([0, 1, 0, 1, 0, 1, 1, 0])  # one "bb" the training text never shows
    k, V = 0.01, 2
    model = NGram(2, V, k).fit(train)
    # unigram: a and b are 100 each
    p1 = {0: (100 + k) / (200 + k * V), 1: (100 + k) / (200 + k * V)}
    # bigram, prior = unigram: C(a) as a context = 100 (each a is followed by b); C(b) = 99 (the last b ends)
    def p2(prev, w):
        c_cw = {(0, 1): 100, (1, 0): 99}.get((prev, w), 0)
        c_c = {0: 100, 1: 99}[prev]
        return (c_cw + k * V * p1[w]) / (c_c + k * V)
    expected = -(np.log2(p1[0]) + sum(np.log2(p2(valid[i - 1], valid[i])) for i in range(1, len(valid))))
    assert model.cross_entropy(valid) == pytest.approx(expected / len(valid), rel=1e-12)
    # and the unsmoothed limit: every transition of a pure abab stream is certain, only the first unit costs
    model = NGram(2, V, k=1e-12).fit(train)
    assert model.cross_entropy(train) == pytest.approx(1.0 / len(train), abs=1e-6)


def test_plain_add_k_by_hand_and_uniform_for_unseen_contexts():
    train = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    V, k = 4, 0.5
    model = NGram(3, V, k, backoff=False).fit(train)
    # context (0, 1) is followed by 2 twice (the last 0 1 ends the stream): (C + k) / (C(c) + k V)
    np.testing.assert_allclose(model.probs([0, 1]), (np.array([0, 0, 2, 0]) + k) / (2 + k * V))
    np.testing.assert_allclose(model.probs([3, 3]), np.full(V, 0.25))  # unseen context: uniform
    backoff = NGram(3, V, k, backoff=True).fit(train)
    np.testing.assert_allclose(backoff.probs([3, 3]), backoff.probs([]))  # unseen context: the unigram
    np.testing.assert_allclose(backoff.probs([3, 0]), backoff.probs([0]))  # unseen (3, 0): the bigram of 0


@pytest.mark.parametrize("order, backoff", [(1, True), (2, True), (3, True), (5, True), (3, False), (5, False)])
def test_every_context_sums_to_one_and_matches_log2_probs(order, backoff):
    rng = np.random.default_rng(order)
    V = 7
    train = rng.integers(0, V - 1, size=3000)  # id 6 never occurs
    train[::5] = 0  # some structure
    model = NGram(order, V, k=0.05, backoff=backoff).fit(train)
    for _ in range(50):
        context = rng.integers(0, V, size=rng.integers(0, order + 2))
        p = model.probs(context)
        assert p.shape == (V,) and (p > 0).all()
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
    valid = rng.integers(0, V, size=300)
    logp = model.log2_probs(valid)
    for i in range(0, len(valid), 7):  # the vectorised scores equal the one-context probabilities
        context = valid[max(0, i - order + 1) : i]
        assert 2 ** logp[i] == pytest.approx(model.probs(context)[valid[i]], rel=1e-12)


def test_add_k_approaches_the_maximum_likelihood_estimate():
    rng = np.random.default_rng(1)
    train = list(rng.integers(0, 5, size=2))
    for _ in range(2000):  # the next unit depends on the two before it, so the trigram MLE is far from the prior
        train.append((train[-1] + train[-2]) % 5 if rng.random() < 0.7 else rng.integers(0, 5))
    train = np.array(train)
    context = train[100:102]
    # MLE from the counts: how often each unit follows this context
    follows = [train[i + 2] for i in range(len(train) - 2) if (train[i : i + 2] == context).all()]
    mle = np.bincount(follows, minlength=5) / len(follows)
    errors = [np.abs(NGram(3, 5, k).fit(train).probs(context) - mle).max() for k in (1.0, 0.1, 1e-3, 1e-7)]
    assert errors[-1] < 1e-6
    assert errors == sorted(errors, reverse=True) and errors[0] > 0.01


def test_start_of_stream_uses_the_lower_orders():
    train = np.array([0, 1, 2, 3] * 20)
    model = NGram(4, 4, k=0.1).fit(train)
    lp = model.log2_probs(np.array([2, 3, 0, 1]))
    assert 2 ** lp[0] == pytest.approx(model.probs([])[2])  # the first unit: unigram
    assert 2 ** lp[1] == pytest.approx(model.probs([2])[3])  # the second: bigram
    assert 2 ** lp[3] == pytest.approx(model.probs([2, 3, 0])[1])


def test_higher_orders_fit_structured_text_better():
    text = ("the cat sat on the mat. " * 40 + "a dog ran to the cat. " * 40).encode()
    ids = np.frombuffer(text, dtype=np.uint8).astype(np.int64)
    train, valid = ids[:-200], ids[-200:]
    bits = [NGram(n, 256, k=0.01).fit(train).cross_entropy(valid) for n in (1, 2, 3, 5)]
    assert bits == sorted(bits, reverse=True)
    assert bits[-1] < 0.5 < 3.0 < bits[0]


def test_choose_k_uses_only_training_ids():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 10, size=2000)
    k, scores = choose_k(train, 3, 10, ks=(0.01, 1.0, 100.0))
    assert set(scores) == {0.01, 1.0, 100.0} and scores[k] == min(scores.values())
    assert k == 100.0  # random ids: the strongest smoothing wins
    text = np.array([0, 1, 2, 3] * 500)
    k, _ = choose_k(text, 3, 10, ks=(0.01, 1.0, 100.0))
    assert k == 0.01  # a deterministic sequence: the least smoothing wins


def test_sample_follows_the_model_and_repeats_with_a_seed():
    train = np.array([0, 1, 2, 3] * 100)
    model = NGram(2, 5, k=1e-6).fit(train)
    out = sample(model, 50, np.random.default_rng(0), prime=[3])
    assert out[0] == 0 and (np.diff(out) % 4 == 1).all()  # 3 -> 0 -> 1 -> 2 -> 3 ...
    np.testing.assert_array_equal(sample(model, 30, np.random.default_rng(5), prime=[1]),
                                  sample(model, 30, np.random.default_rng(5), prime=[1]))
    assert len(sample(model, 0, np.random.default_rng(0))) == 0
    # a uniform model: every id is drawn, in proportion
    flat = NGram(1, 4, k=1e6).fit(np.array([0]))
    counts = np.bincount(sample(flat, 4000, np.random.default_rng(0)), minlength=4)
    assert counts.min() > 900


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="order"):
        NGram(0, 5)
    with pytest.raises(ValueError, match="k must be"):
        NGram(2, 5, k=0)
    with pytest.raises(ValueError, match="not fitted"):
        NGram(2, 5).cross_entropy([1, 2])
    with pytest.raises(ValueError, match="0..4"):
        NGram(2, 5).fit([1, 5])
    with pytest.raises(ValueError, match="empty"):
        NGram(2, 5).fit([])
    with pytest.raises(ValueError, match="length"):
        sample(NGram(1, 2).fit([0, 1]), -1, np.random.default_rng(0))


def test_training_shorter_than_the_order_still_scores():
    model = NGram(5, 3, k=0.1).fit([0, 1])
    assert np.isfinite(model.cross_entropy([0, 1, 2, 0, 1, 2]))
    assert model.probs([0, 1, 2, 0]).sum() == pytest.approx(1.0)


def test_a_megabyte_stream_fits_and_scores_in_seconds():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 400, size=1_000_000)
    start = time.perf_counter()
    model = NGram(5, 400, k=0.1).fit(ids)
    bits = model.cross_entropy(ids[:50_000])
    assert time.perf_counter() - start < 30  # about 2 s on the 2-core machine
    assert 0 < bits < np.log2(400) + 0.5


def test_command_prints_bits_per_character_for_both_modes(tmp_path, capsys):
    from charlm.ngram import main

    path = tmp_path / "small.txt"
    path.write_text("".join(f"고양이가 사과를 {i % 3 + 1}개 먹었어요.\n" for i in range(200)), encoding="utf-8")
    assert main(["--data", str(path), "--orders", "1", "3"]) == 0
    out = capsys.readouterr().out
    assert "--units char: vocabulary" in out and "--units jamo: vocabulary" in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [r[0] for r in rows] == ["1", "3", "1", "3"]
    char_bits, jamo_bits = float(rows[1][3]), float(rows[3][3])  # the 3-gram's bits per character
    assert 0 < char_bits < 1 and 0 < jamo_bits < 3  # a repetitive text is nearly predictable
