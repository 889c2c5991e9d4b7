"""charlm's model and what runs it: CharLM's stateful carry (chunks == one call, reset_states, carried-state round
trip), a tiny model overfitting a short text, generate() (greedy, seeds, top-k, independent rows), bits_per_char
by hand (per CHARACTER in jamo mode), the NumPy LSTM trace against the layer, best_cells, and the checkpoint."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest

import minigrad
from charlm import checkpoint
from charlm.activations import best_cells, lstm_trace
from charlm.generate import bits_per_char, generate
from charlm.model import CharLM
from charlm.sampling import sample_next
from charlm.text import batchify, bptt_chunks
from charlm.units import build_units
from demokit.runs import RunFolder
from demokit.step import eval_mode, train_step
from demokit.trainer import FitSettings, Trainer
from minigrad import functional as F
from minigrad import optim
from minigrad.checkpoint import CheckpointError

LINE = "안녕하세요 고양이가 사과를 먹어요\n"
CELLS = ("lstm", "gru", "rnn")


def make(vocab=11, emb=5, hidden=7, layers=2, cell="lstm", dropout=0.0, seed=0):
    """A small CharLM; emb != hidden != vocab so that a transposed weight breaks a shape."""
    minigrad.manual_seed(seed)
    return CharLM(vocab, emb, hidden, layers, cell, dropout)


def ids_for(vocab, shape, seed=1):
    return np.random.default_rng(seed).integers(0, vocab, size=shape)


def clone(model):
    """A fresh model (nothing carried) with the same weights."""
    other = CharLM(**model.config)
    other.load_state_dict(model.state_dict())
    return other


def logits(model, x):
    return np.array(model(x).data)


# ---- CharLM -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", CELLS)
def test_output_is_n_t_v(cell):
    model = make(cell=cell)
    out = model(ids_for(11, (3, 6)))
    assert out.shape == (3, 6, 11)
    assert len(model.rnns) == 2 and all(r.stateful for r in model.rnns)


def test_an_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="cell must be one of lstm, gru, rnn"):
        CharLM(5, cell="transformer")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("training", [False, True])
def test_chunks_give_the_logits_of_one_whole_call(cell, training):
    # the stateful layers carry each row's state to the next call: 4 + 1 + 5 steps == 10 steps at once
    # (the T = 1 chunk goes through the graph-free step kernel in eval mode)
    model = make(cell=cell)
    x = ids_for(11, (3, 10))
    model.train(training)
    with contextlib.nullcontext() if training else minigrad.no_grad():
        whole = logits(model, x)
        model.reset_states()
        parts = np.concatenate([logits(model, x[:, :4]), logits(model, x[:, 4:5]), logits(model, x[:, 5:])], axis=1)
        model.reset_states()
        fresh_second = logits(model, x[:, 4:])  # the same chunk without the carried state
    np.testing.assert_allclose(parts, whole, rtol=1e-5, atol=1e-6)
    assert not np.allclose(fresh_second, whole[:, 4:], atol=1e-4)  # the carry is what made them equal


def test_the_carried_state_is_detached_so_gradients_stop_at_the_chunk_edge():
    # truncated BPTT: the second chunk's loss has the gradients of a fresh call given the carried state as constant
    model = make(cell="lstm", layers=1)
    x, y = ids_for(11, (2, 6)), ids_for(11, (2, 6), seed=2)
    model(x[:, :3])
    carried = model.carried_states()
    model.zero_grad()
    F.cross_entropy(model(x[:, 3:]), y[:, 3:]).backward()
    grads = {n: p.grad.copy() for n, p in model.named_parameters()}
    other = clone(model)
    other.set_carried_states(carried)
    other.zero_grad()
    F.cross_entropy(other(x[:, 3:]), y[:, 3:]).backward()
    for n, p in other.named_parameters():
        np.testing.assert_allclose(grads[n], p.grad, rtol=1e-5, atol=1e-7, err_msg=n)


@pytest.mark.parametrize("cell", CELLS)
def test_reset_states_makes_the_next_call_a_fresh_models_call(cell):
    model = make(cell=cell)
    model.eval()
    x = ids_for(11, (2, 5))
    model(ids_for(11, (2, 7), seed=5))  # something carried
    carrying = logits(model, x)
    model.reset_states()
    assert all(r.states is None for r in model.rnns)
    after_reset = logits(model, x)
    np.testing.assert_array_equal(after_reset, logits(clone(model).eval(), x))
    assert not np.allclose(carrying, after_reset, atol=1e-4)


@pytest.mark.parametrize("cell", CELLS)
def test_carried_states_round_trip_restores_the_next_call(cell, tmp_path):
    model = make(cell=cell)
    model.eval()
    first, second = ids_for(11, (3, 6)), ids_for(11, (3, 4), seed=7)
    assert model.carried_states() == [None, None]
    model(first)
    saved = model.carried_states()
    expected = logits(model, second)
    model(ids_for(11, (3, 9), seed=8))  # the state moves on
    model.set_carried_states(saved)
    np.testing.assert_array_equal(logits(model, second), expected)
    # through a checkpoint file (lists of arrays come back as lists) into another model with the same weights
    minigrad.save({"carried": saved}, tmp_path / "c.npz")
    other = clone(model).eval()
    other.set_carried_states(minigrad.load(tmp_path / "c.npz")["carried"])
    np.testing.assert_array_equal(logits(other, second), expected)
    # the saved arrays are copies: later calls do not change them
    again = model.carried_states()
    for a, b in zip(saved, again):
        assert not all(np.array_equal(u, v) for u, v in zip(a, b))
    # None entries reset
    model.set_carried_states([None, None])
    np.testing.assert_array_equal(logits(model, second), logits(clone(model).eval(), second))


# ---- a tiny model learns a short text ------------------------------------------------------------------------
def test_a_tiny_model_overfits_a_short_text_and_greedy_generation_reproduces_it():
    text = LINE * 40
    units = build_units(text, "char")
    ids = units.encode(text)
    counts = np.bincount(ids, minlength=units.size)[1:] / len(ids)
    unigram = float(-(counts[counts > 0] * np.log2(counts[counts > 0])).sum())
    model = make(vocab=units.size, emb=16, hidden=32, layers=1)
    opt = optim.Adam(model.parameters(), lr=0.01)
    chunks = list(bptt_chunks(batchify(ids, 4), 16))
    before = bits_per_char(model, units, ids, rows=1)
    steps = 0
    while steps < 300:
        model.reset_states()  # each pass reads the streams from their start
        for x, y in chunks:
            train_step(lambda x=x, y=y: F.cross_entropy(model(x), y), opt, clip=1.0)
            steps += 1
    bpc = bits_per_char(model, units, ids, rows=1)
    assert unigram > 3.5 and before > unigram  # an untrained model is worse than counting characters
    assert bpc < 0.5, f"bpc {bpc:.3f} after {steps} steps (unigram {unigram:.2f})"
    out = units.decode(generate(model, units, "안녕", 2 * len(LINE), temperature=0)[0])
    assert "안녕" + out == (LINE * 3)[: 2 + 2 * len(LINE)]


# ---- generate -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    """An untrained (random) model and its units: distinct logits, so argmax has no ties."""
    units = build_units("가나다라 마바사\n아자차카 타파하\n", "char")
    return make(vocab=units.size, emb=6, hidden=9, layers=2, dropout=0.3), units


def manual(model, units, prime, length, choose):
    """The reference loop: the prompt in one call, then each chosen id fed back; `choose(logits (V,)) -> id`."""
    with eval_mode(model):
        model.reset_states()
        z = logits(model, units.encode(prime)[None])[0, -1]
        out = []
        for _ in range(length):
            out.append(choose(z))
            z = logits(model, np.array([[out[-1]]]))[0, -1]
        model.reset_states()
    return np.array(out)


def test_temperature_zero_is_the_argmax_at_each_step(small):
    model, units = small
    got = generate(model, units, "가나", 25, temperature=0)
    assert len(got) == 1 and got[0].shape == (25,)
    np.testing.assert_array_equal(got[0], manual(model, units, "가나", 25, lambda z: int(np.argmax(z))))
    assert model.training and all(r.states is None for r in model.rnns)  # mode restored, nothing carried


def test_a_seed_repeats_a_sample_and_another_seed_differs(small):
    model, units = small
    a, b, c = (generate(model, units, "가", 40, temperature=1.5, rng=np.random.default_rng(s))[0] for s in (4, 4, 5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # and the sample is the manual loop drawing with the same generator
    rng = np.random.default_rng(4)
    np.testing.assert_array_equal(a, manual(model, units, "가", 40, lambda z: sample_next(z, 1.5, rng=rng)))


def test_top_k_one_is_greedy(small):
    model, units = small
    greedy = generate(model, units, "마", 30, temperature=0)[0]
    for seed in range(3):
        np.testing.assert_array_equal(
            generate(model, units, "마", 30, temperature=2.0, top_k=1, rng=np.random.default_rng(seed))[0], greedy)


def test_rows_are_independent_samples_of_the_right_length(small):
    model, units = small
    rows = generate(model, units, "아자", 20, temperature=1.0, rng=np.random.default_rng(3), rows=4)
    assert len(rows) == 4 and all(r.shape == (20,) for r in rows)
    assert len({r.tobytes() for r in rows}) > 1
    # reference: each row computed by its OWN model copy (so no state can leak between rows), one draw per step
    copies = [clone(model) for _ in range(4)]
    rng = np.random.default_rng(3)
    with minigrad.no_grad():
        for m in copies:
            m.eval()
        z = np.stack([logits(m, units.encode("아자")[None])[0, -1] for m in copies])
        expected = np.empty((4, 20), dtype=np.int64)
        for t in range(20):
            expected[:, t] = sample_next(z, 1.0, rng=rng)
            z = np.stack([logits(m, expected[r : r + 1, t : t + 1])[0, -1] for r, m in enumerate(copies)])
    np.testing.assert_array_equal(np.stack(rows), expected)
    # greedy rows are each the one-row greedy sample
    greedy = generate(model, units, "아자", 20, temperature=0)[0]
    for row in generate(model, units, "아자", 20, temperature=0, rows=3):
        np.testing.assert_array_equal(row, greedy)


# ---- bits per character ---------------------------------------------------------------------------------
def hand_bits_per_unit(model, streams):
    """-log2 P(next unit) summed over every row's stream (each row fed whole, from a fresh state), and the count."""
    bits, count = 0.0, 0
    with eval_mode(model):
        for row in streams:
            model.reset_states()
            z = np.asarray(model(row[None, :-1]).data, dtype=np.float64)[0]
            logp = z - z.max(axis=1, keepdims=True)
            logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
            bits -= logp[np.arange(len(row) - 1), row[1:]].sum() / math.log(2)
            count += len(row) - 1
        model.reset_states()
    return bits, count


@pytest.mark.parametrize("rows", [1, 3])
def test_bits_per_char_by_hand(rows):
    text = "가나다 나다라\n다라마 가나\n" * 3
    units = build_units(text, "char")
    ids = units.encode(text)
    model = make(vocab=units.size, emb=4, hidden=6, layers=1, cell="gru", dropout=0.5)  # dropout must be off
    bits, count = hand_bits_per_unit(model, batchify(ids, rows))  # bptt 5 below: the carry is exercised
    assert units.count_chars(ids) == len(ids)
    assert bits_per_char(model, units, ids, rows=rows, bptt=5) == pytest.approx(bits / count, rel=1e-6)


def test_bits_per_char_in_jamo_mode_is_per_character():
    text = "한국어 고양이가 밥을 먹었다\n" * 2
    units = build_units(text, "jamo")
    ids = units.encode(text)
    assert units.count_chars(ids) == len(text) < len(ids)  # 2-3 units per syllable
    model = make(vocab=units.size, emb=4, hidden=6, layers=1)
    bits, count = hand_bits_per_unit(model, batchify(ids, 1))
    per_unit = bits / count
    bpc = bits_per_char(model, units, ids, rows=1, bptt=7)
    assert bpc == pytest.approx(per_unit * len(ids) / len(text), rel=1e-6)
    assert bpc > 1.5 * per_unit


# ---- looking inside the LSTM ---------------------------------------------------------------------------
def test_lstm_trace_h_is_the_first_layers_output_and_gates_are_in_range():
    model = make(vocab=11, emb=5, hidden=7, layers=2, dropout=0.4)
    ids = ids_for(11, (40,))
    model(ids_for(11, (1, 9)))  # a carried state that the trace must not use
    trace = lstm_trace(model, ids)
    with eval_mode(model):
        model.rnns[0].reset_states()
        h = np.asarray(model.rnns[0](model.embed(ids[None])).data)[0]
    assert set(trace) == {"i", "f", "g", "o", "c", "h"} and all(v.shape == (40, 7) for v in trace.values())
    np.testing.assert_allclose(trace["h"], h, atol=1e-5)
    for gate in "ifo":
        assert trace[gate].min() >= 0 and trace[gate].max() <= 1
    assert np.abs(trace["g"]).max() <= 1
    np.testing.assert_allclose(trace["h"], trace["o"] * np.tanh(trace["c"]), atol=1e-12)
    np.testing.assert_allclose(trace["c"][1:], trace["f"][1:] * trace["c"][:-1] + trace["i"][1:] * trace["g"][1:],
                               atol=1e-12)
    with pytest.raises(ValueError, match="LSTM"):
        lstm_trace(make(cell="gru"), ids)


def test_best_cells_finds_a_planted_unit():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=200)
    h = rng.normal(size=(200, 12))
    h[:, 7] = -0.8 * signal + 0.1 * rng.normal(size=200)  # anti-correlated: found by the absolute value
    h[:, 3] = 0.5 * signal + 0.3 * rng.normal(size=200)
    k, r = best_cells(h, signal)
    assert k == 7 and r == pytest.approx(np.corrcoef(h[:, 7], signal)[0, 1]) and r < -0.95
    k, r = best_cells(h, signal, exclude=(7,))
    assert k == 3 and 0.7 < r < 1


# ---- checkpoint -------------------------------------------------------------------------------------------
def saved_run(tmp_path, cell="gru"):
    """best.npz written the way charlm.train writes it (demokit's Trainer with charlm's config and extra)."""
    units = build_units("가나다라마 바사\n", "char")
    model = make(vocab=units.size, emb=4, hidden=6, layers=2, cell=cell, dropout=0.2)
    run = RunFolder(tmp_path / "run").open()
    trainer = Trainer(model, optim.Adam(model.parameters()), run, FitSettings(1, progress=False),
                      kind=checkpoint.KIND, config={"model": model.config, "options": {"units": "char"}},
                      extra=lambda: {"units": units.to_state(), "carried": model.carried_states()})
    trainer.save("best.npz")
    return model, units, run / "best.npz"


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_load_model_gives_the_same_logits(tmp_path, cell):
    model, units, path = saved_run(tmp_path, cell)
    loaded, loaded_units, config = checkpoint.load_model(path)
    assert loaded_units == units and config["model"] == model.config and not loaded.training
    x = ids_for(units.size, (2, 9))
    with eval_mode(model):
        model.reset_states()
        np.testing.assert_array_equal(logits(loaded, x), logits(model, x))


def rewrite(path, change):
    state = minigrad.load(path)
    change(state)
    minigrad.save(state, path)
    return path


@pytest.mark.parametrize("change, entry", [
    (lambda s: s.pop("model"), "'model' is missing"),
    (lambda s: s.pop("units"), "'units' is missing"),
    (lambda s: s.update(units="가나다"), "'units' should be dict"),
    (lambda s: s.update(units={"kind": "spm"}), "'units' does not fit"),
    (lambda s: s["units"].update(units="가나"), "'units' has 3 units"),  # the model has 9 outputs
    (lambda s: s["model"].pop("head.bias"), "'model' does not fit"),
    (lambda s: s["config"]["model"].update(cell="lstm2"), "'config.model' does not build"),
    (lambda s: s.update(kind="seq2seq"), "not a charlm checkpoint"),
])
def test_a_broken_checkpoint_is_one_line_naming_the_entry(tmp_path, change, entry):
    _, _, path = saved_run(tmp_path)
    rewrite(path, change)
    with pytest.raises(CheckpointError) as e:
        checkpoint.load_model(path)
    message = str(e.value)
    assert entry in message and "\n" not in message and str(path) in message  # the entry and the file
