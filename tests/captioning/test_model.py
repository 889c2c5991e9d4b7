"""The captioning model: teacher forcing, padding, decoding equals training, overfitting, canonical captions.

conv2d and max_pool2d gradchecks live in tests/minigrad/test_ops_gradcheck.py (not repeated here).
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from captioning import data
from captioning.data import canonical_scene, true_captions
from captioning.model import CaptionModel, Encoder
from minigrad import functional as F
from minigrad import optim


def tiny_model(vocab_size: int, inject: str = "init", seed: int = 0) -> CaptionModel:
    minigrad.manual_seed(seed)
    return CaptionModel(vocab_size, image_size=32, channels=(4, 8, 8), image_dim=32, emb=16, hidden=64,
                        inject=inject)


@pytest.fixture(scope="module")
def tiny_data() -> tuple[data.Split, data.Vocab]:
    split = data.make_dataset(10, 0, 0, seed=3)["train"]
    return split, data.Vocab.build(split.captions)


def test_encoder_shapes_and_error() -> None:
    enc = Encoder(40, (3, 5, 7), 11)
    x = minigrad.Tensor(np.zeros((2, 3, 40, 40), np.float32))
    assert enc(x).shape == (2, 11)  # 40 -> 20 -> 10 -> 5: Linear(7 * 5 * 5, 11)
    assert enc.project.weight.shape == (7 * 5 * 5, 11)
    with pytest.raises(ValueError, match=r"\(N, 3, 40, 40\), got \(2, 3, 32, 32\)"):
        enc(minigrad.Tensor(np.zeros((2, 3, 32, 32), np.float32)))


def test_bad_inject_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="inject must be one of init, first"):
        CaptionModel(10, inject="last")


@pytest.mark.parametrize("inject", ["init", "first"])
def test_padding_does_not_count(inject: str, tiny_data: tuple) -> None:
    # The batch loss (mean over real words) equals the word-weighted mean of each caption's own loss
    # computed without any padding: padded positions add nothing.
    split, vocab = tiny_data
    model = tiny_model(len(vocab), inject)
    caps = vocab.encode_batch(split.captions[:4])
    assert (caps == vocab.pad_id).any()  # the captions differ in length, so the batch is padded
    batch = model.loss(split.images[:4], caps).item()
    total, words = 0.0, 0
    for i in range(4):
        one = np.array([vocab.encode(split.captions[i])])
        n = one.shape[1] - 1
        total += model.loss(split.images[i:i + 1], one).item() * n
        words += n
    assert batch == pytest.approx(total / words, rel=1e-5)
    # and garbage in the input where the target is padding changes nothing (the LSTM runs left to right)
    inputs, targets = caps[:, :-1], caps[:, 1:]
    noisy = np.where(targets == vocab.pad_id, vocab.stoi["red"], inputs)
    assert (noisy != inputs).any()
    clean_loss = F.cross_entropy(model(split.images[:4], inputs), targets, ignore_index=vocab.pad_id).item()
    noisy_loss = F.cross_entropy(model(split.images[:4], noisy), targets, ignore_index=vocab.pad_id).item()
    assert noisy_loss == pytest.approx(clean_loss, rel=1e-6)


@pytest.mark.parametrize("inject", ["init", "first"])
def test_step_by_step_decoding_equals_teacher_forcing(inject: str, tiny_data: tuple) -> None:
    # The decoder used at test time (step) is the same function as the one trained (forward): feeding
    # the true words one at a time gives the log-softmax of the teacher-forced logits at every position.
    split, vocab = tiny_data
    model = tiny_model(len(vocab), inject, seed=1)
    caps = vocab.encode_batch(split.captions[:3])
    with minigrad.no_grad():
        logits = model(split.images[:3], caps[:, :-1]).data
    expected = logits - logits.max(-1, keepdims=True)
    expected = expected - np.log(np.exp(expected).sum(-1, keepdims=True))
    state = model.initial_state(split.images[:3])
    for t in range(caps.shape[1] - 1):
        logp, state = model.step(caps[:, t], state)
        np.testing.assert_allclose(logp, expected[:, t], rtol=1e-4, atol=1e-5)


def test_beam_one_equals_greedy(tiny_data: tuple) -> None:
    split, vocab = tiny_data
    model = tiny_model(len(vocab), seed=2)
    greedy = model.generate(split.images, vocab.bos_id, vocab.eos_id, max_len=12, beam=1)
    from demokit.decoding import beam_search

    state = model.initial_state(split.images)
    hyps = beam_search(model.step, state, len(split), vocab.bos_id, vocab.eos_id, 1, 12)
    assert [h[0].tokens for h in hyps] == greedy
    # a wider beam returns a caption per image, each bounded by max_len
    wide = model.generate(split.images, vocab.bos_id, vocab.eos_id, max_len=12, beam=3)
    assert len(wide) == len(split) and all(len(ids) <= 12 for ids in wide)


@pytest.mark.parametrize("inject", ["init", "first"])
def test_decoder_overfits_ten_images(inject: str, tiny_data: tuple) -> None:
    split, vocab = tiny_data
    model = tiny_model(len(vocab), inject, seed=4)
    caps = vocab.encode_batch(split.captions)
    opt = optim.Adam(model.parameters(), lr=5e-3)
    first = None
    for _ in range(600):
        loss = model.loss(split.images, caps)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if loss.item() < 0.02:
            break
    assert loss.item() < 0.02 < 1.0 < first
    got = [vocab.decode(ids) for ids in model.generate(split.images, vocab.bos_id, vocab.eos_id)]
    assert got == split.captions


# ---- canonical captions (captioning.demo) ------------------------------------------------------------


def test_canonical_caption_is_one_per_picture() -> None:
    rng = np.random.default_rng(5)
    rank = {c: i for i, c in enumerate(data.COLOURS)}
    for _ in range(300):
        scene = data.sample_scene(rng, 32)
        canon = canonical_scene(scene)
        truths = true_captions(scene, "en")
        assert data.caption(scene, "en") in truths  # the generator's own caption is true
        assert data.caption(canon, "en") in truths  # so is the canonical one
        assert {s.pair for s in canon.shapes} == {s.pair for s in scene.shapes}
        refs = canon.shapes[1:]
        assert [rank[s.colour] for s in refs] == sorted(rank[s.colour] for s in refs)
        if len(scene.shapes) == 2:
            assert canon.relation in ("left", "above")
            # the mirrored description of the same picture has the same canonical form
            mirror = {"left": "right", "right": "left", "above": "below", "below": "above"}[scene.relation]
            swapped = data.Scene(scene.image_size, scene.shapes[::-1], mirror)
            assert canonical_scene(swapped) == canon
            assert len(truths) == 2
        if len(scene.shapes) == 3:
            swapped = data.Scene(scene.image_size, (scene.shapes[0], scene.shapes[2], scene.shapes[1]),
                                 scene.relation)
            assert canonical_scene(swapped) == canon


def test_true_captions_reject_a_wrong_relation() -> None:
    red = data.Shape("circle", "red", "small", (6.0, 16.0), 3.2)
    blue = data.Shape("square", "blue", "large", (24.0, 16.0), 6.4)
    scene = data.Scene(32, (red, blue), "left")
    truths = true_captions(scene, "en")
    assert truths == {"a small red circle to the left of a large blue square",
                      "a large blue square to the right of a small red circle"}
    assert data.caption(canonical_scene(scene), "ko") == "큰 파란 사각형 왼쪽에 작은 빨간 원이 있다"
