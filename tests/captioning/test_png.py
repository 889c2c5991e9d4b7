"""PNG reader/writer and resize.

Hand-made PNGs come from a tiny encoder written here (struct + zlib, filters applied byte by byte in plain
Python), so the decoder's unfiltering is checked against an independent implementation of the spec.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from captioning.png import CONVERT_HINT, PNGError, read_png, resize, write_png

# ------------------------------------------------------------------------------------- a tiny test encoder


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filter(raw: np.ndarray, bpp: int, filters: list[int]) -> bytes:
    """Filter raw row bytes (H, stride); row y uses filters[y % len(filters)]."""
    out = bytearray()
    prev = [0] * raw.shape[1]
    for y, row in enumerate(raw.tolist()):
        kind = filters[y % len(filters)]
        out.append(kind)
        for i, value in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            predictor = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
            out.append((value - predictor) % 256)
        prev = row
    return bytes(out)


def _pack(samples: np.ndarray, depth: int) -> np.ndarray:
    """Samples (H, W, C) -> raw row bytes (H, stride) at this bit depth."""
    h = samples.shape[0]
    flat = samples.reshape(h, -1)
    if depth == 8:
        return flat.astype(np.uint8)
    if depth == 16:
        return flat.astype(">u2").view(np.uint8).reshape(h, -1)
    per_byte = 8 // depth
    width = flat.shape[1]
    padded = np.zeros((h, -(-width // per_byte) * per_byte), np.int64)
    padded[:, :width] = flat
    groups = padded.reshape(h, -1, per_byte)
    shifts = depth * np.arange(per_byte - 1, -1, -1)
    return (groups << shifts).sum(axis=2).astype(np.uint8)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png(path: Path, samples: np.ndarray, depth: int, colour_type: int, filters: tuple[int, ...] = (0,),
             palette: np.ndarray | None = None, trns: bytes | None = None, interlace: int = 0) -> Path:
    """Write samples (H, W, C) as a PNG with the given filters; the IDAT is split in two chunks."""
    h, w, c = samples.shape
    raw = _pack(samples, depth)
    bpp = max(1, c * depth // 8)
    data = zlib.compress(_filter(raw, bpp, list(filters)))
    body = _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, interlace))
    body += _chunk(b"tEXt", b"Comment\x00made by test_png")  # ancillary: must be skipped
    if palette is not None:
        body += _chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    if trns is not None:
        body += _chunk(b"tRNS", trns)
    half = len(data) // 2
    body += _chunk(b"IDAT", data[:half]) + _chunk(b"IDAT", data[half:]) + _chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def to8(v: np.ndarray, depth: int) -> np.ndarray:
    """Expected 8-bit value of a depth-bit sample."""
    return np.rint(v.astype(np.float64) * 255 / (2**depth - 1))


def over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Expected composite of 8-bit rgb with 8-bit alpha onto white."""
    return np.rint((rgb * alpha + 255.0 * (255 - alpha)) / 255).astype(np.uint8)


def samples_with_ties(rng: np.random.Generator, shape: tuple[int, ...], top: int) -> np.ndarray:
    """Top half: values 0..3, so Paeth often meets ties (pa == pc, pb == pc) whose order matters;
    bottom half: full range, so the mod-256 wrap-around is exercised."""
    calm = rng.integers(0, 4, size=shape)
    wild = rng.integers(0, top + 1, size=shape)
    return np.concatenate([calm[: shape[0] // 2], wild[shape[0] // 2:]])


# ------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 7, 3), (17, 33, 3), (1, 1), (9, 4), (20, 31)])
def test_round_trip(tmp_path: Path, shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    write_png(tmp_path / "a.png", image)
    back = read_png(tmp_path / "a.png")
    expected = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    assert back.dtype == np.uint8 and back.shape == shape[:2] + (3,)
    np.testing.assert_array_equal(back, expected)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 12), grey=st.booleans(), seed=st.integers(0, 2**16))
def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory, h: int, w: int, grey: bool,
                             seed: int) -> None:
    shape = (h, w) if grey else (h, w, 3)
    image = np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
    path = tmp_path_factory.mktemp("rt") / "p.png"
    write_png(path, image)
    back = read_png(path)
    np.testing.assert_array_equal(back[..., 0] if grey else back, image)


def test_written_file_follows_the_spec(tmp_path: Path) -> None:
    # parse our own output without read_png, so a bug shared by writer and reader cannot hide
    image = np.random.default_rng(1).integers(0, 256, size=(6, 11, 3), dtype=np.uint8)
    write_png(tmp_path / "w.png", image)
    data = (tmp_path / "w.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    assert struct.unpack(">IIBBBBB", data[16:29]) == (11, 6, 8, 2, 0, 0, 0)
    assert struct.unpack(">I", data[29:33])[0] == zlib.crc32(data[12:29])
    idat_len = struct.unpack(">I", data[33:37])[0]
    assert data[37:41] == b"IDAT"
    rows = np.frombuffer(zlib.decompress(data[41:41 + idat_len]), np.uint8).reshape(6, 1 + 11 * 3)
    assert (rows[:, 0] == 0).all()
    np.testing.assert_array_equal(rows[:, 1:].reshape(6, 11, 3), image)
    assert data[-12:] == _chunk(b"IEND", b"")
    assert not list(tmp_path.glob("*.tmp"))


def test_write_png_rejects_bad_images(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        write_png(tmp_path / "f.png", np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        write_png(tmp_path / "f.png", np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        write_png(tmp_path / "f.png", np.zeros((0, 4, 3), np.uint8))


# ------------------------------------------------------------------------------------- hand-made PNGs

FILTERS = {"none": [0], "sub": [1], "up": [2], "average": [3], "paeth": [4], "mixed": [0, 1, 2, 3, 4, 4, 3]}


@pytest.mark.parametrize("filters", list(FILTERS.values()), ids=list(FILTERS))
def test_rgb8_each_filter(tmp_path: Path, filters: list[int]) -> None:
    rng = np.random.default_rng(2)
    samples = samples_with_ties(rng, (9, 13, 3), 255)
    got = read_png(make_png(tmp_path / "rgb.png", samples, 8, 2, filters))
    np.testing.assert_array_equal(got, samples)


@pytest.mark.parametrize("filters", list(FILTERS.values()), ids=list(FILTERS))
def test_grey8_each_filter(tmp_path: Path, filters: list[int]) -> None:
    samples = samples_with_ties(np.random.default_rng(3), (8, 10, 1), 255)
    got = read_png(make_png(tmp_path / "g.png", samples, 8, 0, filters))
    np.testing.assert_array_equal(got, np.repeat(samples, 3, axis=2))


@pytest.mark.parametrize("filters", [[3], [4], [0, 1, 2, 3, 4]], ids=["average", "paeth", "mixed"])
def test_rgba16_each_filter(tmp_path: Path, filters: list[int]) -> None:
    # 8 bytes per pixel: the filters must look back a whole pixel, not one byte
    rng = np.random.default_rng(4)
    samples = samples_with_ties(rng, (7, 6, 4), 65535)
    got = read_png(make_png(tmp_path / "rgba16.png", samples, 16, 6, filters))
    expected = over_white(to8(samples[..., :3], 16), to8(samples[..., 3:], 16))
    np.testing.assert_array_equal(got, expected)


def test_rgba8(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    samples = rng.integers(0, 256, size=(6, 9, 4))
    samples[0, :, 3] = 0  # fully transparent -> white
    samples[1, :, 3] = 255  # opaque -> the colour itself
    got = read_png(make_png(tmp_path / "rgba.png", samples, 8, 6, [4, 1]))
    np.testing.assert_array_equal(got, over_white(samples[..., :3], samples[..., 3:]))
    assert (got[0] == 255).all()
    np.testing.assert_array_equal(got[1], samples[1, :, :3])


def test_grey_alpha(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    samples = rng.integers(0, 256, size=(5, 8, 2))
    got = read_png(make_png(tmp_path / "ga.png", samples, 8, 4, [2, 3]))
    grey = np.repeat(samples[..., :1], 3, axis=2)
    np.testing.assert_array_equal(got, over_white(grey, samples[..., 1:]))


def test_rgb16_and_grey16(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 65536, size=(4, 5, 3))
    np.testing.assert_array_equal(read_png(make_png(tmp_path / "c.png", rgb, 16, 2, [1, 4])), to8(rgb, 16))
    grey = rng.integers(0, 65536, size=(4, 5, 1))
    got = read_png(make_png(tmp_path / "g.png", grey, 16, 0, [3]))
    np.testing.assert_array_equal(got, np.repeat(to8(grey, 16), 3, axis=2))


@pytest.mark.parametrize("depth", [1, 2, 4, 8])
def test_palette(tmp_path: Path, depth: int) -> None:
    rng = np.random.default_rng(8)
    n = min(2**depth, 6)
    palette = rng.integers(0, 256, size=(n, 3))
    index = rng.integers(0, n, size=(5, 11, 1))  # 11 is not a multiple of 8: rows end mid-byte
    alphas = bytes([255, 0, 128][:n])  # tRNS may be shorter than PLTE: the rest stays opaque
    got = read_png(make_png(tmp_path / "p.png", index, depth, 3, [0, 4, 1, 3, 2], palette, alphas))
    alpha = np.full(n, 255)
    alpha[:len(alphas)] = list(alphas)
    np.testing.assert_array_equal(got, over_white(palette[index[..., 0]], alpha[index]))


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_low_bit_grey(tmp_path: Path, depth: int) -> None:
    samples = np.random.default_rng(9).integers(0, 2**depth, size=(4, 13, 1))
    got = read_png(make_png(tmp_path / "g.png", samples, depth, 0, [4, 3]))
    np.testing.assert_array_equal(got, np.repeat(to8(samples, depth), 3, axis=2))


def test_rgb_colour_key_transparency(tmp_path: Path) -> None:
    samples = np.array([[[10, 20, 30], [1, 2, 3]], [[10, 20, 30], [10, 20, 31]]])
    got = read_png(make_png(tmp_path / "k.png", samples, 8, 2, [0], trns=struct.pack(">3H", 10, 20, 30)))
    np.testing.assert_array_equal(got, [[[255, 255, 255], [1, 2, 3]], [[255, 255, 255], [10, 20, 31]]])


# ------------------------------------------------------------------------------------- errors


def _good_png(tmp_path: Path, name: str = "good.png") -> Path:
    image = np.random.default_rng(10).integers(0, 256, size=(12, 12, 3), dtype=np.uint8)
    write_png(tmp_path / name, image)
    return tmp_path / name


def _one_line_error(path: Path, pattern: str) -> str:
    with pytest.raises(PNGError, match=pattern) as info:
        read_png(path)
    message = str(info.value)
    assert path.name in message and "\n" not in message
    return message


def test_text_file_renamed_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("these are my notes, not a picture\n")
    _one_line_error(path, "not a PNG")


@pytest.mark.parametrize("keep", [4, 8, 20, 40, -20, -5])
def test_truncated_file(tmp_path: Path, keep: int) -> None:
    path = _good_png(tmp_path, "cut.png")
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    _one_line_error(path, "not a PNG" if 0 < keep < 8 else "truncated")


def test_crc_mismatch(tmp_path: Path) -> None:
    path = _good_png(tmp_path, "flipped.png")
    data = bytearray(path.read_bytes())
    data[45] ^= 0x01  # a byte of IDAT data
    path.write_bytes(bytes(data))
    _one_line_error(path, "CRC mismatch in the IDAT chunk")


def test_interlaced_is_refused(tmp_path: Path) -> None:
    path = make_png(tmp_path / "adam7.png", np.zeros((4, 4, 3), int), 8, 2, interlace=1)
    assert CONVERT_HINT in _one_line_error(path, "interlaced")


def test_bad_bit_depth_is_refused(tmp_path: Path) -> None:
    path = make_png(tmp_path / "rgb4.png", np.zeros((2, 2, 3), int), 4, 2)
    assert CONVERT_HINT in _one_line_error(path, "unsupported bit depth 4")


def test_bad_filter_type(tmp_path: Path) -> None:
    raw = bytes([0, 1, 2, 3, 7, 4, 5, 6])  # 2 rows of a 3-pixel grey image; row 1 claims filter 7
    ihdr = struct.pack(">IIBBBBB", 3, 2, 8, 0, 0, 0, 0)
    path = tmp_path / "filter7.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw))
                     + _chunk(b"IEND", b""))
    _one_line_error(path, "row 1 has filter type 7")


def test_too_little_image_data(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 3, 5, 8, 0, 0, 0, 0)  # says 5 rows; data has 2
    path = tmp_path / "short.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(bytes(8)))
                     + _chunk(b"IEND", b""))
    _one_line_error(path, "truncated")


def test_garbage_zlib(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 3, 2, 8, 0, 0, 0, 0)
    path = tmp_path / "garbage.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"not zlib at all")
                     + _chunk(b"IEND", b""))
    _one_line_error(path, "does not decompress")


def test_palette_problems(tmp_path: Path) -> None:
    index = np.array([[[0], [3]]])
    _one_line_error(make_png(tmp_path / "noplte.png", index, 8, 3), "PLTE")
    small = np.zeros((2, 3), int)
    _one_line_error(make_png(tmp_path / "short_plte.png", index, 8, 3, palette=small), "palette entry 3")


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="absent.png"):
        read_png(tmp_path / "absent.png")


# ------------------------------------------------------------------------------------- resize


def test_resize_integer_shrink_is_block_mean() -> None:
    image = np.random.default_rng(11).random((8, 12, 3))
    got = resize(image, (4, 3))
    expected = image.reshape(4, 2, 3, 4, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_resize_fractional_area() -> None:
    image = np.array([[0.0, 3.0, 6.0]])
    # 3 -> 2: output 0 covers [0, 1.5): (0 * 1 + 3 * 0.5) / 1.5 = 1; output 1 covers [1.5, 3): 5
    np.testing.assert_allclose(resize(image, (1, 2)), [[1.0, 5.0]], atol=1e-6)


def test_resize_bilinear_enlarge() -> None:
    image = np.array([[0.0, 8.0]])
    # centres of 4 outputs sit at input positions -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
    np.testing.assert_allclose(resize(image, (1, 4)), [[0.0, 2.0, 6.0, 8.0]], atol=1e-6)


def test_resize_keeps_constants_and_dtype() -> None:
    grey = np.full((30, 17), 200, np.uint8)
    for size in (8, (40, 9), (30, 17), 64):
        out = resize(grey, size)
        assert out.dtype == np.uint8 and (out == 200).all()
    colour = np.ones((5, 6, 3), np.float32) * np.array([0.1, 0.5, 0.9], np.float32)
    out = resize(colour, 32)
    assert out.shape == (32, 32, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, np.broadcast_to(colour[:1, :1], (32, 32, 3)), atol=1e-6)


def test_resize_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        resize(np.zeros((0, 3)), 4)
    with pytest.raises(ValueError, match="positive"):
        resize(np.zeros((3, 3)), 0)


# ------------------------------------------------------------------------------------- cross-check with Pillow


def test_matches_pillow(tmp_path: Path) -> None:
    image_module = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(12)
    rgb = rng.integers(0, 256, size=(13, 21, 3), dtype=np.uint8)
    write_png(tmp_path / "ours.png", rgb)
    np.testing.assert_array_equal(np.asarray(image_module.open(tmp_path / "ours.png").convert("RGB")), rgb)

    rgba = rng.integers(0, 256, size=(13, 21, 4), dtype=np.uint8)
    cases = {
        "rgb": image_module.fromarray(rgb, "RGB"),
        "grey": image_module.fromarray(rgb[..., 0], "L"),
        "rgba": image_module.fromarray(rgba, "RGBA"),
        "palette": image_module.fromarray(rgb, "RGB").quantize(colors=16),
    }
    for name, picture in cases.items():
        path = tmp_path / f"pil_{name}.png"
        picture.save(path, optimize=True)  # Pillow picks its own filters
        flat = image_module.new("RGBA", picture.size, (255, 255, 255, 255))
        flat.alpha_composite(picture.convert("RGBA"))
        expected = np.asarray(flat.convert("RGB")).astype(int)
        assert np.abs(read_png(path).astype(int) - expected).max() <= 1, name
