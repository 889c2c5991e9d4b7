"""charlm.sampling: greedy at T = 0, seeds repeat, top-k / top-p never leave their set, large T -> uniform."""

import numpy as np
import pytest

from charlm.sampling import filtered_probs, sample_next

LOGITS = np.log(np.array([0.05, 0.4, 0.02, 0.3, 0.13, 0.1]))  # ranked: 1, 3, 4, 5, 0, 2


def test_temperature_zero_is_argmax():
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(50, 9))
    np.testing.assert_array_equal(sample_next(batch, temperature=0, rng=rng), batch.argmax(axis=1))
    assert sample_next(LOGITS, temperature=0) == 1
    assert sample_next(LOGITS, temperature=0, top_k=2, top_p=0.1) == 1
    assert sample_next([0.0, 3.0, 3.0], temperature=0) == 1  # ties: the lower id
    assert isinstance(sample_next(LOGITS, 0), int)


def test_a_fixed_seed_repeats_and_another_differs():
    draws = [[sample_next(LOGITS, 1.0, rng=rng) for _ in range(200)]
             for rng in (np.random.default_rng(3), np.random.default_rng(3), np.random.default_rng(4))]
    assert draws[0] == draws[1] and draws[0] != draws[2]
    batch = np.tile(LOGITS, (300, 1))
    np.testing.assert_array_equal(sample_next(batch, 0.7, rng=np.random.default_rng(1)),
                                  sample_next(batch, 0.7, rng=np.random.default_rng(1)))


def test_t1_samples_the_model_distribution():
    ids = sample_next(np.tile(LOGITS, (40_000, 1)), 1.0, rng=np.random.default_rng(0))
    freq = np.bincount(ids, minlength=6) / len(ids)
    np.testing.assert_allclose(freq, np.exp(LOGITS), atol=0.01)


@pytest.mark.parametrize("k, allowed", [(1, {1}), (2, {1, 3}), (4, {1, 3, 4, 5})])
def test_top_k_never_samples_outside_its_set(k, allowed):
    ids = sample_next(np.tile(LOGITS, (5000, 1)), 1.5, top_k=k, rng=np.random.default_rng(k))
    assert set(ids.tolist()) == allowed  # every allowed id appears, nothing else


@pytest.mark.parametrize("p, allowed", [(0.3, {1}), (0.399, {1}), (0.41, {1, 3}), (0.699, {1, 3}), (0.71, {1, 3, 4}),
                                        (0.9, {1, 3, 4, 5}), (1.0, {0, 1, 2, 3, 4, 5})])
def test_top_p_keeps_the_smallest_set_reaching_p(p, allowed):
    probs = filtered_probs(LOGITS, 1.0, top_p=p)
    assert set(np.flatnonzero(probs).tolist()) == allowed
    assert probs.sum() == pytest.approx(1.0)
    ids = sample_next(np.tile(LOGITS, (5000, 1)), 1.0, top_p=p, rng=np.random.default_rng(7))
    assert set(ids.tolist()) <= allowed and len(set(ids.tolist())) == len(allowed)


def test_top_k_then_top_p_on_the_renormalised_distribution():
    # top-2 leaves 0.4 / 0.7 and 0.3 / 0.7 = 0.571, 0.429; p = 0.5 then keeps only id 1
    assert set(np.flatnonzero(filtered_probs(LOGITS, 1.0, top_k=2, top_p=0.5)).tolist()) == {1}
    assert set(np.flatnonzero(filtered_probs(LOGITS, 1.0, top_k=2, top_p=0.6)).tolist()) == {1, 3}


def test_large_temperature_approaches_uniform_over_the_allowed_set():
    np.testing.assert_allclose(filtered_probs(LOGITS, 1e6), np.full(6, 1 / 6), atol=1e-5)
    probs = filtered_probs(LOGITS, 1e6, top_k=3)
    np.testing.assert_allclose(probs, [0, 1 / 3, 0, 1 / 3, 1 / 3, 0], atol=1e-5)
    ids = sample_next(np.tile(LOGITS, (30_000, 1)), 1e6, top_k=3, rng=np.random.default_rng(0))
    freq = np.bincount(ids, minlength=6) / len(ids)
    np.testing.assert_allclose(freq, [0, 1 / 3, 0, 1 / 3, 1 / 3, 0], atol=0.015)


def test_lower_temperature_is_more_conservative():
    top = [filtered_probs(LOGITS, t)[1] for t in (2.0, 1.0, 0.5, 0.1)]
    assert top == sorted(top) and top[-1] > 0.9  # 1 / (1 + 0.75 ** 10 + ...) = 0.947
    np.testing.assert_allclose(filtered_probs(LOGITS, 1.0), np.exp(LOGITS))


def test_minus_inf_logits_are_never_drawn():
    logits = np.array([0.0, -np.inf, 1.0, -np.inf])
    ids = sample_next(np.tile(logits, (2000, 1)), 5.0, rng=np.random.default_rng(0))
    assert set(ids.tolist()) == {0, 2}


@pytest.mark.parametrize("kwargs, match", [
    ({"temperature": -0.1}, "temperature"), ({"temperature": float("nan")}, "temperature"),
    ({"top_k": -1}, "top_k"), ({"top_k": 2.5}, "top_k"), ({"top_p": 0.0}, "top_p"), ({"top_p": 1.5}, "top_p"),
])
def test_bad_arguments_are_one_line_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match) as e:
        sample_next(LOGITS, **kwargs)
    assert "\n" not in str(e.value)


def test_bad_logits_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        sample_next([0.0, np.nan])
    with pytest.raises(ValueError, match="-inf"):
        sample_next([-np.inf, -np.inf])
    with pytest.raises(ValueError, match="shape"):
        sample_next(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="greedy"):
        filtered_probs(LOGITS, 0)
    assert sample_next(LOGITS, 1.0, top_k=0, top_p=None, rng=np.random.default_rng(0)) in range(6)
    assert sample_next(LOGITS, 1.0, top_k=100, rng=np.random.default_rng(0)) in range(6)  # k > V: all
