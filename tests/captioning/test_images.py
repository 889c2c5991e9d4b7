"""captioning.images: reading every common format and mode, refusing bad files in one line, atomic writes,
and the training-distribution check. Every file is made here with Pillow, in tmp_path."""

from __future__ import annotations

import resource
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from captioning import data
from captioning.images import (
    MAX_PIXELS,
    ImageError,
    describe_mismatch,
    read_image,
    to_uint8,
    write_image,
)

RED, BLUE = (220, 30, 30), (30, 60, 230)


def halves(width: int = 64, height: int = 48) -> np.ndarray:
    """(H, W, 3) uint8: red top half, blue bottom half -- channel or orientation errors change the numbers."""
    image = np.empty((height, width, 3), np.uint8)
    image[: height // 2], image[height // 2:] = RED, BLUE
    return image


def check_halves(x: np.ndarray, size: int, tol: float) -> None:
    assert x.shape == (3, size, size) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x[:, 1, size // 2], np.array(RED) / 255, atol=tol)  # well inside the top half
    np.testing.assert_allclose(x[:, -2, size // 2], np.array(BLUE) / 255, atol=tol)


# ------------------------------------------------------------------------------------------ formats, modes


def _save(tmp_path: Path, kind: str) -> tuple[Path, float]:
    """One file of each kind with the red/blue halves picture; returns (path, tolerance on the values)."""
    rgb = Image.fromarray(halves())
    if kind == "jpeg":
        path, tol = tmp_path / "photo.jpg", 0.06  # lossy
        rgb.save(path, quality=90)
    elif kind == "png_palette":
        path, tol = tmp_path / "palette.png", 1e-6
        rgb.quantize(colors=4).save(path)
        assert Image.open(path).mode == "P"
    elif kind == "gif":
        path, tol = tmp_path / "anim.gif", 1e-6
        other = Image.fromarray(np.zeros((48, 64, 3), np.uint8))  # frame 2 is black: only frame 1 is read
        rgb.save(path, save_all=True, append_images=[other], duration=100)
        assert Image.open(path).n_frames == 2
    elif kind == "webp":
        path, tol = tmp_path / "pic.webp", 1e-6
        rgb.save(path, lossless=True)
    elif kind == "bmp":
        path, tol = tmp_path / "pic.bmp", 1e-6
        rgb.save(path)
    elif kind == "cmyk_jpeg":
        path, tol = tmp_path / "print.jpg", 0.08
        rgb.convert("CMYK").save(path, quality=95)
        assert Image.open(path).mode == "CMYK"
    else:
        raise AssertionError(kind)
    return path, tol


@pytest.mark.parametrize("kind", ["jpeg", "png_palette", "gif", "webp", "bmp", "cmyk_jpeg"])
@pytest.mark.parametrize("size", [8, 32])
def test_colour_formats_read_as_rgb(tmp_path: Path, kind: str, size: int) -> None:
    path, tol = _save(tmp_path, kind)
    check_halves(read_image(path, size), size, tol)


def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    grey = np.full((20, 30), 32768, np.uint16)  # mid-grey; Pillow's convert("L") would clip it to 255
    grey[:, :15] = 65535
    path = tmp_path / "deep.png"
    Image.fromarray(grey).save(path)
    assert Image.open(path).mode.startswith("I;16")
    x = read_image(path, 16)
    assert x.shape == (3, 16, 16) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, :, -1], 128 / 255, atol=1e-6)  # right half: 32768 / 65535 * 255 = 127.5
    np.testing.assert_allclose(x[:, :, 0], 1.0, atol=1e-6)


def test_grey_and_one_bit(tmp_path: Path) -> None:
    grey = np.zeros((16, 16), np.uint8)
    grey[:, 8:] = 200
    Image.fromarray(grey).save(tmp_path / "g.png")
    Image.fromarray(grey).convert("1", dither=Image.Dither.NONE).save(tmp_path / "b.png")  # 200 -> 1
    x = read_image(tmp_path / "g.png", 16)
    np.testing.assert_allclose(x[:, :, 12], 200 / 255, atol=1e-6)  # the grey copied to R, G and B
    np.testing.assert_allclose(x[:, :, 3], 0.0)
    one_bit = read_image(tmp_path / "b.png", 16)
    assert one_bit[:, :, 8:].min() == 1.0 and one_bit[:, :, :8].max() == 0.0  # 1-bit: white and black


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparency_is_composited_onto_black(tmp_path: Path, mode: str) -> None:
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[:, :8] = (*RED, 255)  # left: opaque red; right: transparent white (colour that must NOT show)
    rgba[:, 8:] = (255, 255, 255, 0)
    img = Image.fromarray(rgba, "RGBA")
    if mode == "LA":
        img = img.convert("LA")
    elif mode == "P":
        img = img.convert("P")  # palette with a transparent entry (tRNS)
    path = tmp_path / f"{mode}.png"
    img.save(path)
    reopened = Image.open(path)
    assert reopened.mode == mode and (mode != "P" or "transparency" in reopened.info)
    x = read_image(path, 16)
    np.testing.assert_allclose(x[:, :, 12], 0.0, atol=1e-6)  # black, the matte: not the white underneath
    assert x[:, :, 3].max() > 0.3  # the opaque half is there


@pytest.mark.parametrize("shape", [(1, 1), (3000, 4000)])
def test_tiny_and_huge_pictures(tmp_path: Path, shape: tuple[int, int]) -> None:
    height, width = shape
    path = tmp_path / "p.jpg"
    Image.new("RGB", (width, height), (200, 40, 90)).save(path, quality=95)
    start = time.perf_counter()
    x = read_image(path, 32)
    seconds = time.perf_counter() - start
    assert x.shape == (3, 32, 32) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x.mean(axis=(1, 2)), np.array([200, 40, 90]) / 255, atol=0.03)
    assert seconds < 2.0  # a 12 MP JPEG is decoded at reduced scale (draft), not in full


def test_box_filter_averages_areas(tmp_path: Path) -> None:
    # a one-pixel checkerboard at 64 px: area averaging gives flat grey at 32; nearest neighbour would give 0 or 1
    board = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    Image.fromarray(board).save(tmp_path / "board.png")
    x = read_image(tmp_path / "board.png", 32)
    np.testing.assert_allclose(x, 127.5 / 255, atol=1 / 255)


def test_stretch_keeps_left_and_right(tmp_path: Path) -> None:
    image = np.zeros((30, 120, 3), np.uint8)  # 4:1; a crop to a square would cut off both ends
    image[:, :10] = RED
    image[:, -10:] = BLUE
    Image.fromarray(image).save(tmp_path / "wide.png")
    x = read_image(tmp_path / "wide.png", 24)
    np.testing.assert_allclose(x[:, 12, 0], np.array(RED) / 255, atol=1e-6)
    np.testing.assert_allclose(x[:, 12, -1], np.array(BLUE) / 255, atol=1e-6)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # stored red-top/blue-bottom; orientation 6 = "rotate 90 degrees clockwise to display": red on the right
    img = Image.fromarray(halves(48, 48))
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    x = read_image(tmp_path / "phone.jpg", 16)
    np.testing.assert_allclose(x[:, 8, -2], np.array(RED) / 255, atol=0.06)
    np.testing.assert_allclose(x[:, 8, 1], np.array(BLUE) / 255, atol=0.06)


# ------------------------------------------------------------------------------------------ bad files


def one_line_error(path: Path, *words: str, **kwargs) -> str:
    with pytest.raises(ImageError) as info:
        read_image(path, 32, **kwargs)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for word in words:
        assert word in message, message
    return message


def test_truncated_jpeg(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    full = tmp_path / "full.jpg"
    Image.fromarray(noise).save(full, quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert Image.open(cut).size == (256, 256)  # the header alone looks fine: only decoding finds the cut
    one_line_error(cut, "truncated")


def test_truncated_png(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "full.png")
    raw = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(raw[: len(raw) // 2])
    one_line_error(tmp_path / "cut.png")


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n")
    one_line_error(path, "not an image")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    one_line_error(tmp_path / "absent.png", "cannot read")
    one_line_error(tmp_path, "cannot read")


def _png_declaring(path: Path, width: int, height: int) -> Path:
    """A valid 1-bit grey PNG of width x height zeros, written row by row: a few tens of KB on disk."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer, row, parts = zlib.compressobj(9), bytes(1 + (width + 7) // 8), []
    for _ in range(height):  # filter byte 0 + packed bits, one row at a time (never the whole image)
        parts.append(packer.compress(row))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("width,height", [(20_000, 20_000), (10_000, 8_000)])
def test_decompression_bomb_refused_from_the_header(tmp_path: Path, width: int, height: int) -> None:
    # 20000^2 is also above Pillow's own hard limit (2 x MAX_IMAGE_PIXELS); 80 MP is only above ours
    path = _png_declaring(tmp_path / "bomb.png", width, height)
    assert path.stat().st_size < 1_000_000
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    start = time.perf_counter()
    message = one_line_error(path, "refused", f"{width * height:,} pixels", f"{MAX_PIXELS:,}")
    assert time.perf_counter() - start < 1.0
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 100, f"reading the header grew the peak memory by {grown_mib:.0f} MiB"
    assert "bomb" in message


def test_pixel_limit_is_a_parameter(tmp_path: Path) -> None:
    Image.new("RGB", (100, 80)).save(tmp_path / "p.png")
    one_line_error(tmp_path / "p.png", "100 x 80 = 8,000 pixels", "limit of 5,000", max_pixels=5_000)
    assert read_image(tmp_path / "p.png", 8, max_pixels=8_000).shape == (3, 8, 8)


# ------------------------------------------------------------------------------------------ writing


def test_scene_round_trip_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for size in (32, 48):
        scene = data.render(data.sample_scene(rng, size), noise=0.02, rng=rng)
        path = write_image(tmp_path / "scene.png", scene)
        assert path == tmp_path / "scene.png"
        np.testing.assert_array_equal(np.asarray(Image.open(path)), to_uint8(scene))
        back = read_image(path, size)  # same size: no resampling
        np.testing.assert_array_equal(back, to_uint8(scene).transpose(2, 0, 1) / np.float32(255))
        assert np.abs(back - scene).max() <= 0.5 / 255 + 1e-6
    pixels = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)  # uint8 (H, W, 3) is stored as is
    write_image(tmp_path / "raw.png", pixels)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "raw.png")), pixels)


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = np.full((3, 8, 8), 0.5, np.float32)
    write_image(tmp_path / "a.png", good)
    write_image(tmp_path / "a.jpg", good)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "a.png"]  # no temporary file left
    before = (tmp_path / "a.png").read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        write_image(tmp_path / "a.png", np.zeros((3, 8, 8), np.float32))
    assert (tmp_path / "a.png").read_bytes() == before  # the old picture intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "a.png"]


def test_write_rejects_bad_arrays(tmp_path: Path) -> None:
    for bad in (np.zeros((8, 8, 3), np.float32), np.zeros((3, 8, 8), np.int64), np.zeros((4, 8, 8)),
                np.full((3, 4, 4), np.nan), np.zeros((3, 0, 4))):
        with pytest.raises(ValueError):
            write_image(tmp_path / "x.png", bad)
    with pytest.raises(ValueError, match="suffix"):
        write_image(tmp_path / "x.txt", np.zeros((3, 4, 4)))
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------ distribution


def _fractal(rng: np.random.Generator, side: int, beta: float = 2.0) -> np.ndarray:
    """(3, side, side) in [0, 1] with a natural photo's 1/f^beta power spectrum, channel by channel."""
    f2 = np.fft.fftfreq(side)[:, None] ** 2 + np.fft.fftfreq(side)[None, :] ** 2
    f2[0, 0] = 1.0
    out = []
    for _ in range(3):
        spectrum = (rng.normal(size=(side, side)) + 1j * rng.normal(size=(side, side))) / f2 ** (beta / 4)
        channel = np.fft.ifft2(spectrum).real
        out.append((channel - channel.min()) / (channel.max() - channel.min()))
    return np.stack(out)


def test_generated_scenes_match(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    for i in range(60):
        size = (32, 48, 64)[i % 3]
        noise = (0.0, 0.02)[i % 2]
        scene = data.render(data.sample_scene(rng, size), noise=noise, rng=rng)
        suffix = ".jpg" if i % 5 == 0 else ".png"  # JPEG ringing around the edges must not count as texture
        x = read_image(write_image(tmp_path / f"s{suffix}", scene), 32)
        assert describe_mismatch(x) is None, (i, size, noise, describe_mismatch(x))


def test_photo_like_pictures_are_flagged(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    bright = _fractal(rng, 128)
    dark_noisy = np.clip(0.35 * _fractal(rng, 32) + rng.normal(0, 0.06, (3, 32, 32)), 0, 1)  # dark, like training
    uniform = rng.uniform(size=(3, 32, 32))
    for name, picture in (("bright", bright), ("dark_noisy", dark_noisy), ("uniform", uniform)):
        x = read_image(write_image(tmp_path / f"{name}.png", picture.astype(np.float32)), 32)
        message = describe_mismatch(x)
        assert message is not None and "\n" not in message and "training" in message, name
    # the dark noisy one is caught by its texture alone (its commonest colour is near the training background)
    assert "textured or noisy" in describe_mismatch(dark_noisy.astype(np.float32))


def test_flat_scene_on_white_is_flagged() -> None:
    rng = np.random.default_rng(7)
    scene = data.render(data.sample_scene(rng, 32), noise=0.0)
    background = np.all(np.isclose(scene, np.array(data.BACKGROUND, np.float32)[:, None, None]), axis=0)
    scene[:, background] = 1.0
    message = describe_mismatch(scene)
    assert message is not None and "RGB (255, 255, 255)" in message and "textured" not in message


def test_a_real_photo_is_flagged() -> None:
    cbook = pytest.importorskip("matplotlib.cbook")
    with cbook.get_sample_data("grace_hopper.jpg") as f:  # a portrait photo shipped with matplotlib
        x = read_image(f.name, 32)
    assert describe_mismatch(x) is not None
