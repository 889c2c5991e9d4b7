"""Synthetic captioning data: scenes of coloured shapes, drawn with NumPy, captioned in English or Korean.

One frozen `Scene` describes an image; both the pixels (`render`) and the caption (`caption`) are produced
from it, so they cannot disagree. A scene has one to three shapes, each with a kind (circle, square,
triangle, diamond, cross), a colour (red, green, blue, yellow, purple, orange, white; all different within
a scene, so a colour names one object) and a size (small, large), on a dark background.

Caption grammar (shapes[0] is the subject, the others are reference objects):

    1 shape    a small red circle
    2 shapes   a small red circle to the left of a large blue square
    3 shapes   a small red circle to the left of a large blue square and a small green triangle
               = the subject is to the left of EACH reference (nothing is said about the two references)

    Korean: the reference(s) first with the relation word + 에, then the subject with 이/가:
    1 shape    작은 빨간 원이 있다
    2 shapes   큰 파란 사각형 왼쪽에 작은 빨간 원이 있다
    3 shapes   큰 파란 사각형과 작은 초록 삼각형 왼쪽에 작은 빨간 원이 있다
    Particles (이/가, 과/와) follow the last syllable's final consonant, via seq2seq.hangul.particle.

Placement rule (what "to the left of" means here, checked by `relation_holds`): the subject's bounding box
ends at least GAP_FRACTION * size pixels before the reference's box begins along the relation's axis, and
the centres' offset across that axis is at most DOMINANCE times their offset along it (the direction is
clearly horizontal or vertical). Boxes of any two shapes never overlap.

One caption per picture: "a red circle to the left of a blue square" and "a blue square to the right of a
red circle" show the same picture, and no model can tell from the pixels which was meant, so a scene is
always described CANONICALLY (canonical_scene): the relation is the first of left, above, right, below
that some shape holds towards every other shape, that shape is the subject, and the references follow the
colour order of COLOURS. true_captions(scene) lists every true description, for a looser score.

Compositional generalisation: the colour-shape pairs in HELDOUT_PAIRS never occur in the train, valid and
test splits; the `heldout` split contains at least one of them in every image. Every colour and every
kind still occurs in training, in other combinations.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from captioning.images import read_image, to_uint8, write_image
from demokit.hangul import particle

# RGB in [0, 1]; far apart (>= 0.3 in RGB distance) so light noise never turns one colour into another
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.90, 0.12, 0.12),
    "green": (0.10, 0.70, 0.20),
    "blue": (0.20, 0.35, 1.00),
    "yellow": (0.95, 0.90, 0.10),
    "purple": (0.60, 0.20, 0.80),
    "orange": (1.00, 0.55, 0.00),
    "white": (0.97, 0.97, 0.97),
}
BACKGROUND = (0.12, 0.12, 0.15)
KINDS = ("circle", "square", "triangle", "diamond", "cross")
SIZES = ("small", "large")
RELATIONS = ("left", "right", "above", "below")

# Never in train/valid/test; one per kind, at most one per colour (orange and white have none).
HELDOUT_PAIRS: tuple[tuple[str, str], ...] = (
    ("red", "square"),
    ("green", "triangle"),
    ("blue", "circle"),
    ("yellow", "diamond"),
    ("purple", "cross"),
)

SIZE_FRACTION = {"small": 0.10, "large": 0.20}  # half the bounding-box side, as a fraction of the image side
CROSS_ARM = 1 / 3  # a cross's arm half-width, as a fraction of its half-side
GAP_FRACTION = 0.06  # free space between related boxes along the relation's axis (2 px at 32)
DOMINANCE = 0.6  # across-axis offset <= 0.6 x along-axis offset: at most ~31 degrees off the axis
BORDER = 1.0  # pixels kept free at the image edge
SHAPE_COUNT_P = (0.2, 0.45, 0.35)  # probability of 1, 2, 3 shapes
MIN_SIZE, MAX_SIZE = 32, 64  # below 32 px a small circle can come out as a 4x4 square

EN_SIZE = {"small": "small", "large": "large"}
EN_RELATION = {"left": "to the left of", "right": "to the right of", "above": "above", "below": "below"}
KO_SIZE = {"small": "작은", "large": "큰"}
KO_COLOUR = {"red": "빨간", "green": "초록", "blue": "파란", "yellow": "노란",
             "purple": "보라색", "orange": "주황색", "white": "하얀"}
KO_KIND = {"circle": "원", "square": "사각형", "triangle": "삼각형", "diamond": "마름모",
           "cross": "십자 모양"}
KO_RELATION = {"left": "왼쪽", "right": "오른쪽", "above": "위", "below": "아래"}
LANGS = ("en", "ko")


# ------------------------------------------------------------------------------------------------ scenes


@dataclass(frozen=True)
class Shape:
    """One shape: kind, colour, size word, centre (x, y) in pixels and half-side `radius`.

    Coordinates: x to the right, y downwards; pixel (row i, column j) covers [j, j+1) x [i, i+1).
    """

    kind: str
    colour: str
    size: str
    centre: tuple[float, float]
    radius: float

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1): the square the shape fills out to its edges."""
        x, y = self.centre
        return (x - self.radius, y - self.radius, x + self.radius, y + self.radius)

    @property
    def pair(self) -> tuple[str, str]:
        """(colour, kind), the unit of the held-out split."""
        return (self.colour, self.kind)


@dataclass(frozen=True)
class Scene:
    """An image description: shapes[0] is the subject; it stands in `relation` to every other shape."""

    image_size: int  # side in pixels
    shapes: tuple[Shape, ...]
    relation: str | None  # "left", "right", "above", "below"; None for one shape

    def __post_init__(self) -> None:
        if not 1 <= len(self.shapes) <= 3:
            raise ValueError(f"a scene has 1 to 3 shapes, got {len(self.shapes)}")
        if (self.relation is None) != (len(self.shapes) == 1):
            raise ValueError(f"relation {self.relation!r} does not fit a scene of {len(self.shapes)} shapes")
        if self.relation is not None and self.relation not in RELATIONS:
            raise ValueError(f"unknown relation {self.relation!r}; known: {', '.join(RELATIONS)}")
        for s in self.shapes:
            if s.kind not in KINDS or s.colour not in COLOURS or s.size not in SIZES:
                raise ValueError(f"unknown shape {s.size!r} {s.colour!r} {s.kind!r}")
        colours = [s.colour for s in self.shapes]
        if len(set(colours)) != len(colours):
            raise ValueError(f"shapes in a scene must have different colours, got {colours}")

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The (colour, kind) pair of each shape."""
        return tuple(s.pair for s in self.shapes)


def relation_holds(subject: Shape, reference: Shape, relation: str, image_size: int) -> bool:
    """True when `subject` is clearly `relation` of `reference` (the placement rule, module docstring)."""
    gap = GAP_FRACTION * image_size
    sx0, sy0, sx1, sy1 = subject.bbox
    rx0, ry0, rx1, ry1 = reference.bbox
    dx = reference.centre[0] - subject.centre[0]  # > 0 when the subject is left of the reference
    dy = reference.centre[1] - subject.centre[1]  # > 0 when the subject is above it (y grows downwards)
    if relation == "left":
        return sx1 + gap <= rx0 and abs(dy) <= DOMINANCE * dx
    if relation == "right":
        return rx1 + gap <= sx0 and abs(dy) <= DOMINANCE * -dx
    if relation == "above":
        return sy1 + gap <= ry0 and abs(dx) <= DOMINANCE * dy
    if relation == "below":
        return ry1 + gap <= sy0 and abs(dx) <= DOMINANCE * -dy
    raise ValueError(f"unknown relation {relation!r}; known: {', '.join(RELATIONS)}")


def _place(rng: np.random.Generator, radii: np.ndarray, relation: str | None, size: int,
           tries: int = 256) -> np.ndarray | None:
    """Centres (n, 2) for shapes of these radii obeying the relation with no boxes overlapping, or None.

    Every layout is drawn as if the relation were "left" and then turned: mirroring x turns "left" into
    "right", swapping x and y turns it into "above", both turn it into "below" (the square image is
    symmetric under these, so the rule still holds exactly). In that frame the subject goes anywhere and
    each reference to its right, past the gap and inside the DOMINANCE cone; `tries` candidates are drawn
    at once (arrays (tries, n)) and the first whose boxes do not overlap is kept.
    """
    n = len(radii)
    lo, hi = BORDER + radii, size - BORDER - radii  # centre range keeping each shape inside the image
    u = rng.uniform(size=(2, tries, n))
    x, y = lo + u[0] * (hi - lo), lo + u[1] * (hi - lo)
    ok = np.ones(tries, bool)
    for j in range(1, n):
        x_min = x[:, 0] + radii[0] + GAP_FRACTION * size + radii[j]  # reference box starts past the gap
        x[:, j] = x_min + u[0, :, j] * (hi[j] - x_min)
        reach = DOMINANCE * (x[:, j] - x[:, 0])  # |dy| <= DOMINANCE * dx
        y_min, y_max = np.maximum(lo[j], y[:, 0] - reach), np.minimum(hi[j], y[:, 0] + reach)
        y[:, j] = y_min + u[1, :, j] * (y_max - y_min)
        ok &= (x_min <= hi[j]) & (y_min <= y_max)
    for i in range(1, n):
        for j in range(i + 1, n):  # references' boxes at least 1 px apart along x or along y
            ok &= (np.abs(x[:, i] - x[:, j]) >= radii[i] + radii[j] + 1) \
                | (np.abs(y[:, i] - y[:, j]) >= radii[i] + radii[j] + 1)
    if not ok.any():
        return None
    first = int(np.argmax(ok))
    x, y = x[first], y[first]
    if relation in ("right", "below"):
        x = size - x
    if relation in ("above", "below"):
        x, y = y, x
    return np.stack([x, y], axis=1)


def _pick_pairs(rng: np.random.Generator, n: int, heldout: bool) -> list[tuple[str, str]]:
    """n (colour, kind) pairs with different colours.

    Regular splits draw uniformly from the pairs not held out. The held-out split puts one held-out pair
    at a random position and draws the rest from all pairs.
    """
    all_pairs = [(c, k) for c in COLOURS for k in KINDS]
    regular = [p for p in all_pairs if p not in HELDOUT_PAIRS]
    chosen: list[tuple[str, str] | None] = [None] * n
    if heldout:
        chosen[int(rng.integers(n))] = HELDOUT_PAIRS[int(rng.integers(len(HELDOUT_PAIRS)))]
    for i in range(n):
        if chosen[i] is None:
            used = {p[0] for p in chosen if p is not None}
            options = [p for p in (all_pairs if heldout else regular) if p[0] not in used]
            chosen[i] = options[int(rng.integers(len(options)))]
    return chosen


def sample_scene(rng: np.random.Generator, size: int = 32, heldout: bool = False,
                 n_shapes: int | None = None) -> Scene:
    """Draw a random scene: 1-3 shapes (SHAPE_COUNT_P), a relation, pairs, sizes, then a valid layout.

    heldout=True: at least one shape is a HELDOUT_PAIRS pair; otherwise none is.
    """
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"image size must be {MIN_SIZE}..{MAX_SIZE} pixels, got {size}")
    n = int(rng.choice(3, p=SHAPE_COUNT_P)) + 1 if n_shapes is None else n_shapes
    if n not in (1, 2, 3):
        raise ValueError(f"n_shapes must be 1, 2 or 3, got {n_shapes}")
    relation = None if n == 1 else RELATIONS[int(rng.integers(len(RELATIONS)))]
    pairs = _pick_pairs(rng, n, heldout)
    for _ in range(100):
        sizes = [SIZES[int(i)] for i in rng.integers(len(SIZES), size=n)]
        radii = np.array([SIZE_FRACTION[s] * size for s in sizes])
        # a few batches before giving up on these sizes, so hard-to-fit sizes are not under-sampled
        for _ in range(8):
            centres = _place(rng, radii, relation, size)
            if centres is not None:
                shapes = tuple(Shape(kind, colour, s, (float(cx), float(cy)), float(r))
                               for (colour, kind), s, (cx, cy), r in zip(pairs, sizes, centres, radii))
                return canonical_scene(Scene(size, shapes, relation))
    raise RuntimeError(f"could not place {n} shapes with relation {relation!r} in a {size}x{size} image")


# ------------------------------------------------------------------------------------------------ pixels


@lru_cache(maxsize=8)
def _pixel_centres(size: int) -> tuple[np.ndarray, np.ndarray]:
    """x, y of every pixel centre, each (size, size)."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    return x, y


def shape_mask(shape: Shape, image_size: int) -> np.ndarray:
    """(S, S) bool: the pixels whose centres lie inside the shape."""
    x, y = _pixel_centres(image_size)
    dx, dy = x - shape.centre[0], y - shape.centre[1]
    r = shape.radius
    if shape.kind == "circle":
        return dx**2 + dy**2 <= r**2
    if shape.kind == "square":
        return (np.abs(dx) <= r) & (np.abs(dy) <= r)
    if shape.kind == "triangle":  # apex up, base down: half-width grows from 0 at the top to r at the bottom
        return (np.abs(dy) <= r) & (np.abs(dx) <= (dy + r) / 2)
    if shape.kind == "diamond":
        return np.abs(dx) + np.abs(dy) <= r
    if shape.kind == "cross":  # a plus sign: a horizontal and a vertical bar
        w = CROSS_ARM * r
        return ((np.abs(dx) <= r) & (np.abs(dy) <= w)) | ((np.abs(dx) <= w) & (np.abs(dy) <= r))
    raise ValueError(f"unknown shape kind {shape.kind!r}; known: {', '.join(KINDS)}")


def render(scene: Scene, noise: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """Draw a scene: (3, S, S) float32 in [0, 1], channels first.

    noise: standard deviation of Gaussian noise added to every pixel and channel (then clipped).
    """
    image = np.empty((scene.image_size, scene.image_size, 3))
    image[:] = BACKGROUND
    for shape in scene.shapes:  # shapes never overlap, so the drawing order does not matter
        image[shape_mask(shape, scene.image_size)] = COLOURS[shape.colour]
    if noise > 0:
        if rng is None:
            raise ValueError("render: noise > 0 needs an rng")
        image += rng.normal(0.0, noise, image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32).transpose(2, 0, 1)


# ------------------------------------------------------------------------------------------------ captions


def _phrase(shape: Shape, lang: str) -> str:
    if lang == "en":
        return f"a {EN_SIZE[shape.size]} {shape.colour} {shape.kind}"
    return f"{KO_SIZE[shape.size]} {KO_COLOUR[shape.colour]} {KO_KIND[shape.kind]}"


def caption(scene: Scene, lang: str = "en") -> str:
    """The scene's caption in English ("en") or Korean ("ko"); grammar in the module docstring."""
    if lang not in LANGS:
        raise ValueError(f"unknown caption language {lang!r}; known: {', '.join(LANGS)}")
    subject, references = scene.shapes[0], scene.shapes[1:]
    if lang == "en":
        text = _phrase(subject, "en")
        if scene.relation is not None:
            text += f" {EN_RELATION[scene.relation]} " + " and ".join(_phrase(s, "en") for s in references)
        return text
    subject_ko = _phrase(subject, "ko")
    subject_ko += particle(subject_ko, "이/가")
    if scene.relation is None:
        return f"{subject_ko} 있다"
    refs = [_phrase(s, "ko") for s in references]
    if len(refs) == 2:
        refs = [refs[0] + particle(refs[0], "과/와"), refs[1]]
    return f"{' '.join(refs)} {KO_RELATION[scene.relation]}에 {subject_ko} 있다"


# ------------------------------------------------------------------------------------------------ dataset


@dataclass
class Split:
    """One split: images (N, 3, S, S) float32 in [0, 1], and per image its caption and scene."""

    name: str
    images: np.ndarray
    captions: list[str]
    scenes: list[Scene]

    def __len__(self) -> int:
        return len(self.scenes)


def _make_split(name: str, n: int, rng: np.random.Generator, size: int, lang: str, noise: float,
                heldout: bool) -> Split:
    scenes = [sample_scene(rng, size, heldout=heldout) for _ in range(n)]
    images = np.empty((n, 3, size, size), np.float32)
    for i, scene in enumerate(scenes):
        images[i] = render(scene, noise, rng)
    return Split(name, images, [caption(s, lang) for s in scenes], scenes)


RELATION_PREFERENCE = ("left", "above", "right", "below")  # canonical description: the first that holds


def canonical_scene(scene: Scene) -> Scene:
    """The scene re-described canonically: one fixed caption per picture.

    Relation: the first of RELATION_PREFERENCE for which some shape stands in it to every other shape
    (that shape becomes the subject); references sorted by their colour's position in COLOURS.
    """
    if len(scene.shapes) == 1:
        return scene
    colour_rank = {c: i for i, c in enumerate(COLOURS)}
    for relation in RELATION_PREFERENCE:
        for i, subject in enumerate(scene.shapes):
            others = [s for j, s in enumerate(scene.shapes) if j != i]
            if all(relation_holds(subject, o, relation, scene.image_size) for o in others):
                others.sort(key=lambda s: colour_rank[s.colour])
                return Scene(scene.image_size, (subject, *others), relation)
    # unreachable for generated scenes: the generator's own description always holds
    raise ValueError(f"no relation holds between the shapes of scene {scene}")


def true_captions(scene: Scene, lang: str) -> set[str]:
    """Every caption that truly describes the scene: each valid subject and relation, each reference order."""
    if len(scene.shapes) == 1:
        return {caption(scene, lang)}
    found = set()
    for relation in RELATIONS:
        for i, subject in enumerate(scene.shapes):
            others = [s for j, s in enumerate(scene.shapes) if j != i]
            if all(relation_holds(subject, o, relation, scene.image_size) for o in others):
                for refs in (others, others[::-1]):
                    found.add(caption(Scene(scene.image_size, (subject, *refs), relation), lang))
    return found


def make_dataset(n_train: int, n_valid: int, n_test: int, size: int = 32, seed: int = 0, lang: str = "en",
                 noise: float = 0.02, n_heldout: int | None = None) -> dict[str, Split]:
    """Splits "train", "valid", "test" (no held-out pair) and "heldout" (each image has one or more).

    Deterministic from `seed`; each split has its own random stream (np.random.default_rng(seed).spawn),
    so changing n_train leaves the other splits unchanged. n_heldout defaults to n_test.
    """
    n_heldout = n_test if n_heldout is None else n_heldout
    counts = {"n_train": n_train, "n_valid": n_valid, "n_test": n_test, "n_heldout": n_heldout}
    for label, n in counts.items():
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{label} must be a non-negative integer, got {n!r}")
    if lang not in LANGS:
        raise ValueError(f"unknown caption language {lang!r}; known: {', '.join(LANGS)}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"image size must be {MIN_SIZE}..{MAX_SIZE} pixels, got {size}")
    if not 0.0 <= noise <= 0.2:
        raise ValueError(f"noise is a standard deviation in 0..0.2 (images are in [0, 1]), got {noise}")
    rngs = np.random.default_rng(seed).spawn(4)
    plan = (("train", n_train, False), ("valid", n_valid, False), ("test", n_test, False),
            ("heldout", n_heldout, True))
    return {name: _make_split(name, n, rng, size, lang, noise, held)
            for (name, n, held), rng in zip(plan, rngs)}


def save_split_pngs(split: Split, folder: str | os.PathLike) -> list[Path]:
    """Write every image of the split as folder/<split>_<index>.png; returns the paths in split order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(split.images):
        path = folder / f"{split.name}_{i:05d}.png"
        write_image(path, to_uint8(image))
        paths.append(path)
    return paths


def load_image(path: str | os.PathLike, size: int = 32) -> np.ndarray:
    """Read a picture (JPEG, PNG, GIF, WebP, BMP, ...) as model input: (3, size, size) float32 in [0, 1].

    captioning.images.read_image: any mode becomes RGB, resized with an area (box) filter; ImageError (one
    line naming the file) for a missing, non-image, truncated or oversized file.
    """
    return read_image(path, size)


# ------------------------------------------------------------------------------------------------ vocabulary


class Vocab:
    """Word-level vocabulary: <pad>=0, <bos>=1, <eos>=2, <unk>=3, then words by falling count (ties A-Z).

    Captions are split on whitespace; encode() maps unknown words to <unk>, never raises on them.
    """

    PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
    SPECIALS = (PAD, BOS, EOS, UNK)

    def __init__(self, tokens: Sequence[str]) -> None:
        tokens = list(tokens)
        if tuple(tokens[:4]) != self.SPECIALS:
            raise ValueError(f"a vocabulary starts with {list(self.SPECIALS)}, got {tokens[:4]}")
        if len(set(tokens)) != len(tokens):
            dupes = sorted(t for t, c in Counter(tokens).items() if c > 1)
            raise ValueError(f"duplicate tokens in vocabulary: {dupes[:5]}")
        self.itos = tokens
        self.stoi = {t: i for i, t in enumerate(tokens)}
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = 0, 1, 2, 3

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 1) -> Vocab:
        """From training captions; words seen fewer than min_count times become <unk>."""
        counts = Counter(word for text in captions for word in text.split())
        words = sorted((w for w, c in counts.items() if c >= min_count and w not in cls.SPECIALS),
                       key=lambda w: (-counts[w], w))
        return cls([*cls.SPECIALS, *words])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str, add_bos_eos: bool = True) -> list[int]:
        """Caption -> ids, wrapped in <bos> ... <eos> by default."""
        ids = [self.stoi.get(word, self.unk_id) for word in text.split()]
        return [self.bos_id, *ids, self.eos_id] if add_bos_eos else ids

    def encode_batch(self, texts: Sequence[str], max_len: int | None = None) -> np.ndarray:
        """(N, T) int64 ids with <bos>/<eos>, right-padded with <pad>=0; T = longest, or max_len (cut)."""
        rows = [self.encode(t) for t in texts]
        length = max((len(r) for r in rows), default=0) if max_len is None else max_len
        out = np.full((len(rows), length), self.pad_id, np.int64)
        for i, r in enumerate(rows):
            out[i, :min(len(r), length)] = r[:length]
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> caption: stops at <eos>, skips <bos> and <pad>."""
        words = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.itos):
                raise ValueError(f"token id {i} is outside the vocabulary (size {len(self.itos)})")
            if i == self.eos_id:
                break
            if i not in (self.bos_id, self.pad_id):
                words.append(self.itos[i])
        return " ".join(words)

    def to_dict(self) -> dict:
        """JSON-friendly form for checkpoints."""
        return {"type": "word", "tokens": list(self.itos)}

    @classmethod
    def from_dict(cls, data: dict) -> Vocab:
        """Inverse of to_dict()."""
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise ValueError(f"not a vocabulary dict (needs a 'tokens' list): {json.dumps(data)[:80]}")
        return cls(data["tokens"])
