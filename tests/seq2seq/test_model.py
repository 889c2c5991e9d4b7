"""seq2seq.model: masked attention, padding invariance, fast path == step path, beam 1 == greedy,
overfitting."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from demokit.decoding import beam_search, greedy_decode
from minigrad import optim
from seq2seq.data import BOS, EOS, CharTokenizer, Encoded, encode_pairs, make_batches
from seq2seq.model import ModelConfig, Seq2Seq, masked_softmax


def _model(attention="luong", cell="lstm", layers=1, bidirectional=True, V=(13, 11), dropout=0.0, seed=0):
    minigrad.manual_seed(seed)
    cfg = ModelConfig(
        src_vocab=V[0],
        tgt_vocab=V[1],
        emb=8,
        hidden=10,
        layers=layers,
        cell=cell,
        bidirectional=bidirectional,
        attention=attention,
        dropout=dropout,
    )
    return Seq2Seq(cfg)


def _batch(n=5, V=(13, 11), seed=0):
    """A batch whose rows have different lengths (so there is padding) and a row of length 1."""
    rng = np.random.default_rng(seed)
    src = [np.append(rng.integers(4, V[0], size=k), EOS) for k in [0] + list(rng.integers(1, 7, size=n - 1))]
    tgt = [rng.integers(4, V[1], size=k) for k in rng.integers(1, 6, size=n)]
    return make_batches(Encoded(src, tgt), n)[0]


ALL = [(a, c, L) for a in ("luong", "bahdanau", "none") for c in ("lstm", "gru") for L in (1, 2)]


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_attention_rows_sum_to_one_and_are_zero_on_padding(attention, cell):
    model = _model(attention, cell, layers=2, dropout=0.3)
    b = _batch()
    assert (~b.src_mask).any()
    enc = model.encode(b.src, b.src_mask)
    _, weights = model.decode_teacher_forced(enc, b.tgt_in)
    w = weights.data  # (N, T, S)
    assert w.shape == b.tgt_in.shape + b.src.shape[1:]
    assert np.all(w[~np.broadcast_to(b.src_mask[:, None, :], w.shape)] == 0.0)  # exactly 0, not ~1e-9
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=1e-6)
    assert (w[np.broadcast_to(b.src_mask[:, None, :], w.shape)] > 0).all()
    # the same for the heatmap of one sentence
    row = int(np.argmin(b.src_mask.sum(1)))
    amap = model.attention_map(b.src[row : row + 1], b.src_mask[row : row + 1], [5, 6, 7])
    assert amap.shape == (4, b.src.shape[1])
    np.testing.assert_allclose(amap.sum(-1), 1.0, rtol=1e-6)
    assert (amap[:, ~b.src_mask[row]] == 0).all()


def test_masked_softmax_ignores_the_padded_scores():
    scores = minigrad.tensor(np.random.default_rng(0).normal(size=(2, 3, 4)))
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    w = masked_softmax(scores, mask).data
    other = scores.data.copy()
    other[0, :, 2:] = 1e4  # whatever sits on padding must not matter
    w2 = masked_softmax(minigrad.tensor(other), mask).data
    np.testing.assert_array_equal(w, w2)
    np.testing.assert_allclose(w[0, :, :2].sum(-1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("attention, cell, layers", ALL)
def test_padding_does_not_change_a_sentence(attention, cell, layers):
    """A sentence alone, and the same sentence padded inside a batch, get the same logits and loss terms."""
    model = _model(attention, cell, layers)
    model.eval()
    b = _batch()
    enc = model.encode(b.src, b.src_mask)
    logits, _ = model.decode_teacher_forced(enc, b.tgt_in)
    for row in range(len(b.src)):
        n, m = int(b.src_mask[row].sum()), int((b.tgt_out[row] != 0).sum())
        alone = model.encode(b.src[row : row + 1, :n], b.src_mask[row : row + 1, :n])
        one, _ = model.decode_teacher_forced(alone, b.tgt_in[row : row + 1, :m])
        np.testing.assert_allclose(one.data[0], logits.data[row, :m], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("attention, cell, layers", ALL)
def test_fast_training_path_equals_stepwise_decoding(attention, cell, layers):
    """Training runs the decoder over the whole target at once; decoding steps. Same numbers."""
    model = _model(attention, cell, layers)
    model.eval()
    b = _batch(seed=1)
    enc = model.encode(b.src, b.src_mask)
    logits, weights = model.decode_teacher_forced(enc, b.tgt_in)
    state = enc
    for t in range(b.tgt_in.shape[1]):
        step_logits, state, w = model.step(b.tgt_in[:, t], state)
        np.testing.assert_allclose(step_logits.data, logits.data[:, t], rtol=1e-4, atol=1e-5)
        if w is not None:
            np.testing.assert_allclose(w.data, weights.data[:, t], rtol=1e-4, atol=1e-6)


def test_loss_ignores_padding_and_gradients_reach_every_parameter():
    model = _model("luong")
    b = _batch()
    loss = model.loss(b, label_smoothing=0.1)
    # the mean over real target tokens, by hand
    enc = model.encode(b.src, b.src_mask)
    logits, _ = model.decode_teacher_forced(enc, b.tgt_in)
    z = logits.data - logits.data.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    real = b.tgt_out != 0
    nll = -np.take_along_axis(logp, b.tgt_out[..., None], -1)[..., 0]
    smooth = 0.9 * nll - 0.1 * logp.mean(-1)
    assert loss.item() == pytest.approx(smooth[real].mean(), rel=1e-5)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad).all(), name
        if "embedding" not in name:
            assert np.abs(p.grad).sum() > 0, name
    assert (model.encoder.embedding.weight.grad[0] == 0).all()  # padding row: no gradient


def test_teacher_forcing_below_one_runs_and_trains():
    model = _model("luong", dropout=0.1)
    b = _batch(seed=2)
    minigrad.manual_seed(1)
    loss = model.loss(b, teacher_forcing=0.5)
    loss.backward()
    assert np.isfinite(loss.item())


@pytest.mark.parametrize("attention", ["luong", "bahdanau", "none"])
def test_beam_1_equals_greedy_with_the_model(attention):
    model = _model(attention, layers=2)
    model.eval()
    b = _batch(n=6, seed=3)
    enc = model.encode(b.src, b.src_mask)
    greedy = greedy_decode(model._step_fn, enc, 6, BOS, EOS, max_len=8)
    beam = beam_search(model._step_fn, enc, 6, BOS, EOS, beam_size=1, max_len=8, length_penalty=0.6)
    assert [h[0].tokens for h in beam] == greedy
    assert model.translate(b.src, b.src_mask, beam=1, max_len=8) == greedy
    assert all(0 not in g and BOS not in g for g in greedy)  # PAD and BOS are never produced


def test_config_errors():
    with pytest.raises(ValueError, match="attention"):
        ModelConfig(10, 10, attention="dot-product")
    with pytest.raises(ValueError, match="even"):
        ModelConfig(10, 10, hidden=9, bidirectional=True)
    with pytest.raises(ValueError, match="cell"):
        ModelConfig(10, 10, cell="rnn")


def test_tiny_overfit_reaches_exact_match():
    """20 pairs (reverse a short digit string): the model must learn them all."""
    rng = np.random.default_rng(0)
    srcs = sorted({"".join(rng.choice(list("0123456789"), size=rng.integers(2, 5))) for _ in range(40)})[:20]
    pairs = [(s, s[::-1]) for s in srcs]
    tok = CharTokenizer.train(s for s, _ in pairs)
    data = encode_pairs(pairs, tok, tok)
    minigrad.manual_seed(0)
    model = Seq2Seq(
        ModelConfig(tok.vocab_size, tok.vocab_size, emb=16, hidden=32, attention="luong", dropout=0.0)
    )
    opt = optim.Adam(model.parameters(), lr=0.01)
    batch = make_batches(data, 20)[0]
    for _ in range(150):
        loss = model.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = model.translate(batch.src, batch.src_mask, beam=1, max_len=8)
    hyps = [tok.decode(o) for o in out]
    refs = [pairs[i][1] for i in batch.index]
    assert hyps == refs, (loss.item(), list(zip(hyps, refs)))
    assert [tok.decode(o) for o in model.translate(batch.src, batch.src_mask, beam=3, max_len=8)] == refs
