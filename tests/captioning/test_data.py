"""Scene generator, captions, held-out split, vocabulary.

The agreement tests read the caption TEXT and measure the PIXELS (nearest palette colour per pixel, then
each colour's blob: area, centre, extent, outline); they never look at the Scene that made the image.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from captioning import data
from captioning.data import (
    COLOURS,
    HELDOUT_PAIRS,
    KINDS,
    Scene,
    Shape,
    Vocab,
    caption,
    load_image,
    make_dataset,
    relation_holds,
    render,
    sample_scene,
    save_split_pngs,
    to_uint8,
)
from demokit.hangul import final_consonant

# ------------------------------------------------------------------------------------------ reading captions

COLOUR_RE = "|".join(COLOURS)
KIND_RE = "|".join(KINDS)
OBJECT_RE = rf"a (small|large) ({COLOUR_RE}) ({KIND_RE})"
CAPTION_RE = re.compile(rf"^{OBJECT_RE}(?: (to the left of|to the right of|above|below) {OBJECT_RE}"
                        rf"(?: and {OBJECT_RE})?)?$")
RELATION_WORDS = {"to the left of": "left", "to the right of": "right", "above": "above", "below": "below"}


def parse_caption(text: str) -> tuple[list[tuple[str, str, str]], str | None]:
    """English caption -> ([(size, colour, kind), ...] subject first, relation)."""
    m = CAPTION_RE.match(text)
    assert m, f"caption outside the documented grammar: {text!r}"
    g = m.groups()
    objects = [tuple(g[0:3])]
    objects += [tuple(g[i:i + 3]) for i in (4, 7) if g[i] is not None]
    return objects, RELATION_WORDS[g[3]] if g[3] else None


# ------------------------------------------------------------------------------------------ measuring pixels

PALETTE = np.array([data.BACKGROUND, *COLOURS.values()])  # index 0 = background
PALETTE_NAMES = ["background", *COLOURS]


def label_pixels(image: np.ndarray) -> np.ndarray:
    """(3, S, S) float image -> (S, S) index of the nearest palette colour."""
    pixels = image.transpose(1, 2, 0)[:, :, None, :]
    return np.argmin(((pixels - PALETTE) ** 2).sum(axis=-1), axis=-1)


def template(kind: str, h: int, w: int) -> np.ndarray:
    """What each kind looks like inside an h x w box, written independently of the renderer."""
    y, x = np.mgrid[0:h, 0:w] + 0.5
    u, v = (x - w / 2) / (w / 2), (y - h / 2) / (h / 2)  # -1..1 across the box, v downwards
    return {"circle": u**2 + v**2 <= 1, "square": np.ones((h, w), bool), "diamond": abs(u) + abs(v) <= 1,
            "triangle": abs(u) <= (v + 1) / 2, "cross": (abs(v) <= 1 / 3) | (abs(u) <= 1 / 3)}[kind]


def measure(mask: np.ndarray) -> dict:
    """Area, centre (x, y), box (x0, y0, x1, y1) inclusive, and the best-matching kind of a blob."""
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    box = mask[y0:y1 + 1, x0:x1 + 1]
    iou = {k: (box & template(k, *box.shape)).sum() / (box | template(k, *box.shape)).sum() for k in KINDS}
    return {"area": int(mask.sum()), "centre": (xs.mean() + 0.5, ys.mean() + 0.5), "box": (x0, y0, x1, y1),
            "kind": max(iou, key=iou.get)}


def check_relation(subject: dict, reference: dict, relation: str) -> None:
    """The subject's whole blob lies on the named side, and the centres' offset points mostly that way."""
    (sx, sy), (rx, ry) = subject["centre"], reference["centre"]
    sx0, sy0, sx1, sy1 = subject["box"]
    rx0, ry0, rx1, ry1 = reference["box"]
    along, across, clear = {
        "left": (rx - sx, ry - sy, sx1 < rx0),
        "right": (sx - rx, ry - sy, rx1 < sx0),
        "above": (ry - sy, rx - sx, sy1 < ry0),
        "below": (sy - ry, rx - sx, ry1 < sy0),
    }[relation]
    assert clear and along > 0 and abs(across) <= along, (relation, subject, reference)


@pytest.mark.parametrize("size,noise", [(32, 0.0), (32, 0.03), (48, 0.02), (64, 0.0)])
def test_captions_agree_with_pixels(size: int, noise: float) -> None:
    split = make_dataset(150, 0, 0, size=size, seed=size, noise=noise)["train"]
    small_kind_hits = small_total = 0
    for image, text in zip(split.images, split.captions):
        objects, relation = parse_caption(text)
        labels = label_pixels(image)
        present = {PALETTE_NAMES[i] for i in np.unique(labels) if i}
        assert present == {colour for _, colour, _ in objects}, text  # no missing, no extra object

        blobs = []
        for size_word, colour, kind in objects:
            mask = labels == PALETTE_NAMES.index(colour)
            blob = measure(mask)
            x0, y0, x1, y1 = blob["box"]
            inside = labels[y0:y1 + 1, x0:x1 + 1]
            # the named colour is the only non-background colour inside its blob's box
            assert (inside[inside != 0] == PALETTE_NAMES.index(colour)).all(), text
            # small shapes fill at most 0.048 S^2 (a small square), large ones at least 0.069 S^2
            assert ("large" if blob["area"] > 0.06 * size**2 else "small") == size_word, (text, blob)
            if size_word == "large":
                assert blob["kind"] == kind, (text, blob)
            else:  # a few pixels wide: outlines are coarse, so only mostly right
                small_total += 1
                small_kind_hits += blob["kind"] == kind
            blobs.append(blob)
        for reference in blobs[1:]:
            check_relation(blobs[0], reference, relation)
    assert small_kind_hits >= 0.8 * small_total


def test_measurement_catches_a_wrong_caption() -> None:
    # the checks above must be able to fail: describe a scene with the wrong relation / size / colour
    scene = Scene(32, (Shape("square", "red", "large", (9.0, 16.0), 6.4),
                       Shape("circle", "blue", "small", (25.0, 16.0), 3.2)), "left")
    image = render(scene)
    labels = label_pixels(image)
    blobs = [measure(labels == PALETTE_NAMES.index(c)) for c in ("red", "blue")]
    check_relation(blobs[0], blobs[1], "left")
    with pytest.raises(AssertionError):
        check_relation(blobs[0], blobs[1], "right")
    with pytest.raises(AssertionError):
        check_relation(blobs[0], blobs[1], "above")
    assert blobs[0]["kind"] == "square" and blobs[0]["area"] > 0.06 * 32**2
    assert blobs[1]["area"] < 0.06 * 32**2
    assert "green" not in {PALETTE_NAMES[i] for i in np.unique(labels)}


def test_every_scene_obeys_the_placement_rule() -> None:
    rng = np.random.default_rng(0)
    for size in (32, 40, 64):
        for _ in range(300):
            scene = sample_scene(rng, size)
            for s in scene.shapes:
                x0, y0, x1, y1 = s.bbox
                assert data.BORDER - 1e-9 <= min(x0, y0) and max(x1, y1) <= size - data.BORDER + 1e-9
            for ref in scene.shapes[1:]:
                assert relation_holds(scene.shapes[0], ref, scene.relation, size)


def test_relation_holds_rejects_wrong_relations() -> None:
    a = Shape("circle", "red", "small", (8.0, 16.0), 3.2)
    b = Shape("square", "blue", "small", (24.0, 16.0), 3.2)
    assert relation_holds(a, b, "left", 32) and relation_holds(b, a, "right", 32)
    assert not relation_holds(a, b, "right", 32) and not relation_holds(a, b, "above", 32)
    diagonal = Shape("square", "blue", "small", (24.0, 30.0), 3.2)  # 41 degrees off the axis: too far
    assert not relation_holds(a, diagonal, "left", 32)


def test_shape_counts_sizes_and_relations_all_occur() -> None:
    split = make_dataset(600, 0, 0, seed=1)["train"]
    counts = Counter(len(s.shapes) for s in split.scenes)
    assert set(counts) == {1, 2, 3}
    assert {s.relation for s in split.scenes} == {None, "left", "right", "above", "below"}
    three_sizes = Counter(tuple(sorted(x.size for x in s.shapes)) for s in split.scenes if len(s.shapes) == 3)
    assert three_sizes[("large", "large", "large")] >= 0.05 * counts[3]  # crowded layouts still get made
    assert all(len({x.colour for x in s.shapes}) == len(s.shapes) for s in split.scenes)


# ------------------------------------------------------------------------------------------ held-out pairs


def caption_pairs(text: str) -> set[tuple[str, str]]:
    return {(colour, kind) for _, colour, kind in parse_caption(text)[0]}


def test_heldout_pairs_never_in_regular_splits() -> None:
    splits = make_dataset(800, 200, 200, seed=2, n_heldout=300)
    held = set(HELDOUT_PAIRS)
    for name in ("train", "valid", "test"):
        split = splits[name]
        for scene, text in zip(split.scenes, split.captions):
            assert not held & set(scene.pairs), (name, text)
            assert not held & caption_pairs(text), (name, text)
    for scene, text in zip(splits["heldout"].scenes, splits["heldout"].captions):
        assert held & caption_pairs(text), text
        assert held & set(scene.pairs)
    seen = Counter(p for t in splits["heldout"].captions for p in caption_pairs(t) if p in held)
    assert set(seen) == held  # every held-out pair is tested
    train_words = Counter(w for t in splits["train"].captions for w in t.split())
    assert all(train_words[c] > 0 for c in COLOURS) and all(train_words[k] > 0 for k in KINDS)


def test_heldout_pairs_are_documented_and_recombinable() -> None:
    colours = [c for c, _ in HELDOUT_PAIRS]
    kinds = [k for _, k in HELDOUT_PAIRS]
    assert len(set(colours)) == len(colours) and set(kinds) <= set(KINDS)
    for colour, kind in HELDOUT_PAIRS:  # each part still has other partners in training
        assert any((colour, k) not in HELDOUT_PAIRS for k in KINDS)
        assert any((c, kind) not in HELDOUT_PAIRS for c in COLOURS)


# ------------------------------------------------------------------------------------------ determinism


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = make_dataset(40, 10, 10, seed=7)
    b = make_dataset(40, 10, 10, seed=7)
    c = make_dataset(40, 10, 10, seed=8)
    for name in ("train", "valid", "test", "heldout"):
        np.testing.assert_array_equal(a[name].images, b[name].images)
        assert a[name].captions == b[name].captions and a[name].scenes == b[name].scenes
        assert a[name].captions != c[name].captions
        assert not np.array_equal(a[name].images, c[name].images)
    assert a["train"].captions[:10] != a["test"].captions  # the splits are different draws


def test_test_split_does_not_depend_on_n_train() -> None:
    a = make_dataset(10, 5, 20, seed=3)
    b = make_dataset(60, 5, 20, seed=3)
    np.testing.assert_array_equal(a["test"].images, b["test"].images)
    assert a["test"].captions == b["test"].captions
    assert a["train"].captions == b["train"].captions[:10]


def test_images_are_channels_first_float32_in_unit_range() -> None:
    splits = make_dataset(5, 2, 3, size=40, noise=0.05, n_heldout=4)
    assert {k: len(v) for k, v in splits.items()} == {"train": 5, "valid": 2, "test": 3, "heldout": 4}
    images = splits["train"].images
    assert images.shape == (5, 3, 40, 40) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    plain = make_dataset(3, 0, 0, noise=0.0)["train"].images.transpose(0, 2, 3, 1).reshape(-1, 1, 3)
    assert (np.abs(plain - PALETTE.astype(np.float32)).max(axis=-1).min(axis=-1) == 0).all()  # no noise


@pytest.mark.parametrize("kwargs,message", [
    ({"n_train": -1}, "n_train"),
    ({"size": 16}, "32..64"),
    ({"size": 128}, "32..64"),
    ({"lang": "fr"}, "language"),
    ({"noise": 0.5}, "noise"),
    ({"n_valid": 2.5}, "n_valid"),
])
def test_make_dataset_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    args = {"n_train": 2, "n_valid": 1, "n_test": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        make_dataset(**args)


def test_scene_rejects_inconsistent_descriptions() -> None:
    red = Shape("circle", "red", "small", (8.0, 8.0), 3.2)
    blue = Shape("square", "blue", "small", (24.0, 8.0), 3.2)
    with pytest.raises(ValueError, match="relation"):
        Scene(32, (red,), "left")
    with pytest.raises(ValueError, match="relation"):
        Scene(32, (red, blue), None)
    with pytest.raises(ValueError, match="different colours"):
        Scene(32, (red, Shape("square", "red", "small", (24.0, 8.0), 3.2)), "left")
    with pytest.raises(ValueError, match="unknown shape"):
        Scene(32, (Shape("hexagon", "red", "small", (8.0, 8.0), 3.2),), None)
    with pytest.raises(ValueError, match="unknown relation"):
        Scene(32, (red, blue), "near")


# ------------------------------------------------------------------------------------------ Korean


def subject_particle(noun: str) -> str:
    """이 after a final consonant, 가 after a vowel: written out from the Hangul rule."""
    return "이" if final_consonant(noun) else "가"


def test_korean_examples() -> None:
    big_blue_square = Shape("square", "blue", "large", (24.0, 16.0), 6.4)
    small_red_circle = Shape("circle", "red", "small", (8.0, 16.0), 3.2)
    scene = Scene(32, (small_red_circle, big_blue_square), "left")
    assert caption(scene, "ko") == "큰 파란 사각형 왼쪽에 작은 빨간 원이 있다"
    assert caption(scene, "en") == "a small red circle to the left of a large blue square"
    diamond = Shape("diamond", "yellow", "small", (16.0, 6.0), 3.2)
    three = Scene(32, (diamond, Shape("diamond", "green", "large", (9.0, 22.0), 6.4),
                       Shape("circle", "white", "small", (25.0, 22.0), 3.2)), "above")
    assert caption(three, "ko") == "큰 초록 마름모와 작은 하얀 원 위에 작은 노란 마름모가 있다"
    assert caption(three) == "a small yellow diamond above a large green diamond and a small white circle"
    with pytest.raises(ValueError, match="language"):
        caption(scene, "ja")


def test_korean_particles_and_structure_over_many_scenes() -> None:
    rng = np.random.default_rng(5)
    ko_kind = data.KO_KIND
    particles_seen = Counter()
    for _ in range(400):
        scene = sample_scene(rng)
        english, relation = parse_caption(caption(scene, "en"))
        korean = caption(scene, "ko")
        assert korean.endswith(" 있다"), korean
        phrases = [f"{data.KO_SIZE[s]} {data.KO_COLOUR[c]} {ko_kind[k]}" for s, c, k in english]
        subject = phrases[0]
        p = subject_particle(ko_kind[english[0][2]])
        particles_seen[p] += 1
        if relation is None:
            assert korean == f"{subject}{p} 있다"
            continue
        refs = phrases[1:]
        if len(refs) == 2:
            last = ko_kind[english[1][2]]
            refs = [refs[0] + ("과" if final_consonant(last) else "와"), refs[1]]
        assert korean == f"{' '.join(refs)} {data.KO_RELATION[relation]}에 {subject}{p} 있다"
    assert particles_seen["이"] > 0 and particles_seen["가"] > 0  # both forms really exercised


def test_korean_dataset_uses_korean_captions() -> None:
    split = make_dataset(20, 0, 0, lang="ko", seed=4)["train"]
    assert all(text.endswith("있다") for text in split.captions)
    english = make_dataset(20, 0, 0, lang="en", seed=4)["train"]
    assert split.scenes == english.scenes
    assert split.captions == [caption(s, "ko") for s in english.scenes]


# ------------------------------------------------------------------------------------------ vocabulary


def test_vocab_build_encode_decode() -> None:
    splits = make_dataset(200, 0, 30, seed=6)
    vocab = Vocab.build(splits["train"].captions)
    assert vocab.itos[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2, 3)
    assert vocab.itos[4] == "a"  # most frequent word first
    for text in splits["test"].captions:
        ids = vocab.encode(text)
        assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id and vocab.unk_id not in ids
        assert vocab.decode(ids) == text
    assert vocab.encode("a purple hexagon", add_bos_eos=False)[2] == vocab.unk_id
    assert vocab.decode([vocab.bos_id, vocab.stoi["a"], vocab.eos_id, vocab.stoi["red"]]) == "a"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocab.decode([len(vocab)])


def test_vocab_min_count_and_korean() -> None:
    vocab = Vocab.build(["x y y", "y z z"], min_count=2)
    assert vocab.itos[4:] == ["y", "z"]
    assert vocab.encode("x", add_bos_eos=False) == [vocab.unk_id]
    ko = make_dataset(50, 0, 0, lang="ko", seed=9)["train"].captions
    vocab_ko = Vocab.build(ko)
    assert all(vocab_ko.decode(vocab_ko.encode(t)) == t for t in ko)  # Hangul survives unchanged


def test_vocab_batch_and_dict_round_trip() -> None:
    vocab = Vocab.build(["a red circle", "a small red circle above a large blue square"])
    batch = vocab.encode_batch(["a red circle", "a small red circle"])
    assert batch.dtype == np.int64 and batch.shape == (2, 6)
    assert batch[0, -1] == vocab.pad_id and batch[0, 4] == vocab.eos_id and batch[1, -1] == vocab.eos_id
    assert vocab.encode_batch(["a red circle"], max_len=3).tolist() == [vocab.encode("a red circle")[:3]]
    restored = Vocab.from_dict(json.loads(json.dumps(vocab.to_dict(), ensure_ascii=False)))
    assert restored.itos == vocab.itos and restored.stoi == vocab.stoi
    with pytest.raises(ValueError, match="starts with"):
        Vocab(["a", "<pad>", "<bos>", "<eos>", "<unk>"])
    with pytest.raises(ValueError, match="duplicate"):
        Vocab(["<pad>", "<bos>", "<eos>", "<unk>", "a", "a"])
    with pytest.raises(ValueError, match="tokens"):
        Vocab.from_dict({"words": []})


# ------------------------------------------------------------------------------------------ PNG output


def test_save_split_pngs_and_load_image(tmp_path: Path) -> None:
    split = make_dataset(0, 0, 3, seed=11)["test"]
    paths = save_split_pngs(split, tmp_path / "gallery" / "test")
    assert [p.name for p in paths] == ["test_00000.png", "test_00001.png", "test_00002.png"]
    for path, image in zip(paths, split.images):
        with Image.open(path) as png:
            assert png.format == "PNG"
            np.testing.assert_array_equal(np.asarray(png.convert("RGB")), to_uint8(image))
        loaded = load_image(path, 32)
        assert loaded.shape == (3, 32, 32) and loaded.dtype == np.float32
        assert np.abs(loaded - image).max() <= 0.5 / 255 + 1e-6
    half = load_image(paths[0], 16)  # area-averaged down to the model's size
    assert half.shape == (3, 16, 16)
    np.testing.assert_allclose(half, split.images[0].reshape(3, 16, 2, 16, 2).mean(axis=(2, 4)), atol=1.5 / 255)
