"""Image files in and out with Pillow: users' photos become model input, generated scenes become PNGs.

    x = read_image("photo.jpg", 32)      # (3, 32, 32) float32 in [0, 1], channels first, RGB
    write_image("scene.png", x)           # atomic; uint8 values round-trip exactly
    describe_mismatch(x)                  # None, or one line saying how the picture differs from training

Reading, step by step (each step says why):

1. `Image.open` reads only the header. The declared width x height is checked against `max_pixels` BEFORE a
   single pixel is decoded: a 1.2 MB PNG can declare 20,000 x 20,000 pixels (1.2 GB of RGB) -- a
   decompression bomb. Pillow's own guard (Image.MAX_IMAGE_PIXELS, raising above twice that) is turned into
   the same one-line ImageError.
2. JPEGs are decoded at a reduced scale when much larger than needed (`draft`: the decoder skips DCT
   coefficients, scaling by 1/2, 1/4 or 1/8 while staying >= the target size); a 12-megapixel photo then
   reads in ~0.12 s instead of ~0.58 s (measured; the entropy decoding of the whole file remains).
3. `img.load()` decodes everything, so a truncated or corrupt file fails HERE, as an ImageError, and not
   later inside a resize.
4. The EXIF orientation of phone photos is applied, so "left of" means what the user saw.
5. Every mode becomes 8-bit RGB. 16-bit grey ("I;16") is scaled by 255/65535 (Pillow's own conversion
   clips at 255 instead). Transparency (RGBA, LA, palette or grey with a transparent entry) is composited
   onto BLACK: the model was trained on a dark background (RGB 0.12, 0.12, 0.15), so a transparent
   backdrop becomes the nearest thing to what it knows, while white would read as one big "white" shape.
6. The picture is resized to size x size with Pillow's BOX filter (each output pixel = the area-weighted
   mean of the input pixels it covers). The training images are flat-coloured 32 x 32 renders: shrinking a
   big photo by area averaging keeps each shape's outline and colour, whereas nearest-neighbour picks
   isolated pixels (aliasing: thin parts vanish, edges turn ragged) and bicubic/Lanczos add ringing halos
   around the sharp edges. Upscaling a small picture with BOX replicates pixels (flat colours stay flat).
   The aspect ratio is NOT kept: stretching preserves every left/right/above/below relation between
   shapes, which is what a caption states, whereas cropping a 4:3 photo to a square can cut off the
   reference object.

Multi-frame files (GIF, animated WebP, multi-page TIFF) contribute their first frame.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from demokit.runs import write_atomic

MAX_PIXELS = 50_000_000  # 8,660 x 5,773: every camera photo up to 48 MP; 150 MB of RGB at most
RESAMPLE = Image.Resampling.BOX  # area averaging (why: module docstring, step 6)
MATTE = (0, 0, 0)  # what transparent pixels are composited onto (why: module docstring, step 5)


class ImageError(Exception):
    """A file that cannot be used as a picture. The message is ONE line naming the file and the problem."""


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _check_size(path: str, width: int, height: int, max_pixels: int) -> None:
    """Refuse a declared size above the limit, before any decoding."""
    if width * height > max_pixels:
        raise ImageError(f"{path}: refused: {width} x {height} = {width * height:,} pixels is above the limit of "
                         f"{max_pixels:,} pixels (a decompression bomb or an oversized picture); shrink it first")


def _open(path: str, max_pixels: int) -> Image.Image:
    """Image.open (header only) with every failure turned into a one-line ImageError."""
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS; our own limit (_check_size) decides, with a clear message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as e:
        # Pillow refuses above 2 * MAX_IMAGE_PIXELS before we see the size; its message holds the count
        found = re.search(r"\((\d+) pixels\)", str(e))
        count = f"{int(found.group(1)):,} pixels" if found else "its declared size"
        raise ImageError(f"{path}: refused: {count} is above the limit of {max_pixels:,} pixels "
                         "(a decompression bomb or an oversized picture); shrink it first") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image (Pillow recognises no image format in this file)") from None
    except OSError as e:  # missing, a folder, no permission
        raise ImageError(f"{path}: cannot read the file ({_one_line(e.strerror or e)})") from None
    except (SyntaxError, ValueError, EOFError) as e:  # a recognised format whose header is broken
        raise ImageError(f"{path}: unreadable {_one_line(e)}") from None
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; alpha composited onto MATTE; 16-bit grey scaled, not clipped."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit samples (PNG grey 16) and 32-bit ints (TIFF); the 16-bit range is what such files hold
        grey = np.asarray(img).astype(np.float64) * (255.0 / 65535.0)
        img = Image.fromarray(np.clip(np.rint(grey), 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":  # float TIFF: taken as [0, 1]
        grey = np.clip(np.rint(np.asarray(img, np.float64) * 255.0), 0, 255)
        img = Image.fromarray(grey.astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        matte = Image.new("RGBA", rgba.size, (*MATTE, 255))
        return Image.alpha_composite(matte, rgba).convert("RGB")
    return img.convert("RGB")


def read_image(path: str | os.PathLike, size: int = 32, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read any common image file as model input: (3, size, size) float32 in [0, 1], RGB, channels first.

    x[c, i, j] = BOX-resampled 8-bit value / 255 (steps and reasons: module docstring).
    Formats: whatever Pillow reads (JPEG, PNG of every colour type and bit depth, GIF, WebP, BMP, TIFF, ...).
    Raises ImageError (one line naming the file) for a missing or unreadable file, a non-image, a truncated
    or corrupt image, or one declaring more than `max_pixels` pixels (refused from the header alone).
    """
    if size < 1:
        raise ValueError(f"read_image: size must be >= 1, got {size}")
    name = os.fspath(path)
    img = _open(name, max_pixels)
    with img:
        _check_size(name, img.width, img.height, max_pixels)
        try:
            if img.format == "JPEG":
                img.draft("RGB", (size, size))  # decode at 1/2..1/8 scale when the photo is big (step 2)
            img.load()  # decode now: truncation and corruption surface here (step 3)
            img = ImageOps.exif_transpose(img)
            rgb = _to_rgb(img)
        except Image.DecompressionBombError as e:  # a frame or an EXIF rotation growing past Pillow's limit
            raise ImageError(f"{name}: refused: {_one_line(e)}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            reason = _one_line(e)
            if "truncated" in reason or isinstance(e, EOFError):
                raise ImageError(f"{name}: truncated {img.format or 'image'} file ({reason})") from None
            raise ImageError(f"{name}: corrupt {img.format or 'image'} file ({reason})") from None
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), RESAMPLE)
    return (np.asarray(rgb, np.float32) / np.float32(255.0)).transpose(2, 0, 1).copy()


def to_uint8(image: np.ndarray) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) uint8 = round(255 x), clipped; as image files store pixels."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"to_uint8: expected a (3, H, W) image, got shape {image.shape}")
    if not np.issubdtype(image.dtype, np.floating) or not np.isfinite(image).all():
        raise ValueError(f"to_uint8: expected finite floats in [0, 1], got dtype {image.dtype}")
    return np.clip(np.rint(image.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write a picture; the format follows the file name's suffix (.png, .jpg, .webp, ...). Returns the path.

    image: (3, H, W) float in [0, 1] (what render() and read_image() give; stored as round(255 x)), or
    (H, W, 3) / (H, W) uint8 (stored as is). PNG is lossless, so uint8 values round-trip exactly.
    Atomic: written to a temporary file in the same folder, then os.replace()d over `path`, so a crash
    never leaves half a picture under the real name (and a reader never sees one).
    """
    path = Path(path)
    array = np.asarray(image)
    if array.dtype == np.uint8 and (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        pixels = array
    elif np.issubdtype(array.dtype, np.floating) and array.ndim == 3 and array.shape[0] == 3:
        pixels = to_uint8(array)
    else:
        raise ValueError(f"write_image({path}): expected (3, H, W) floats in [0, 1] or (H, W, 3) uint8, "
                         f"got {array.dtype} {array.shape}")
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ValueError(f"write_image({path}): empty image {array.shape}")
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"write_image({path}): unknown image suffix {path.suffix!r} (use .png, .jpg, .webp, ...)")
    img = Image.fromarray(np.ascontiguousarray(pixels), "L" if pixels.ndim == 2 else "RGB")
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return write_atomic(path, buffer.getvalue())  # temp file + rename, the usual file permissions


# ------------------------------------------------------------------------------------ training distribution

# Thresholds calibrated on 1,800 generated scenes (200 at each of noise 0 / 0.02 (the demo's) / 0.05, drawn
# at 32 px, drawn at 64 px and shrunk, and saved as JPEG at 32 px), whose worst cases were: background
# distance 0.023, background share 0.51, 4-colour share 0.85, alike neighbours 0.83 -- none was flagged;
# and on natural-photo-like pictures (1/f^beta colour noise for beta 1..3, a portrait photo, a circuit-board
# photo, a line drawing, uniform noise), each of which breaks at least one rule (tests/captioning/test_images.py).
COLOUR_TOL = 0.15  # two pixels "have the same colour" when no channel differs by more (noise 0.05 stays inside)
MAX_BACKGROUND_DISTANCE = 0.15  # RGB distance of the commonest colour from the training background
MIN_BACKGROUND_SHARE = 0.40  # pixels of the background colour (three large shapes leave >= 50 %)
MIN_FOUR_COLOUR_SHARE = 0.80  # pixels within COLOUR_TOL of the 4 commonest colours (background + 3 shapes)
MIN_ALIKE_NEIGHBOURS = 0.80  # horizontally/vertically adjacent pixel pairs of the same colour (flat regions)


def _dominant_colours(pixels: np.ndarray, k: int, tol: float) -> list[tuple[np.ndarray, float]]:
    """The k commonest colours of (N, 3) pixels, greedily: (colour, share of pixels within tol of it).

    Each round picks the still-uncovered pixel with the most uncovered pixels within `tol` (max over channels),
    takes the median of those as the colour and removes them. Robust to noise, unlike binning (a bin edge can
    split one flat colour in two).
    """
    n = len(pixels)
    candidates = pixels[:: max(1, n // 256)]  # <= ~256 candidates, spread over the picture: a (256, N) table
    near = np.ones((len(candidates), n), bool)
    for c in range(pixels.shape[1]):  # channel by channel: (256, N) temporaries, not (256, N, 3)
        near &= np.abs(candidates[:, None, c] - pixels[None, :, c]) <= tol
    left = np.ones(n, bool)
    found = []
    for _ in range(k):
        counts = (near & left).sum(axis=1)
        best = int(np.argmax(counts))
        if counts[best] == 0:
            break
        colour = np.median(pixels[near[best] & left], axis=0)
        covered = left & (np.abs(pixels - colour).max(axis=1) <= tol)
        found.append((colour, float(covered.mean())))
        left &= ~covered
    return found


def describe_mismatch(image: np.ndarray) -> str | None:
    """One line when the picture is far from the training scenes, else None.

    image: (3, H, W) float in [0, 1] (read_image's output). The training scenes are 1-3 flat, solid-colour
    shapes on a flat dark background (captioning.data.render), so four measures are checked (thresholds
    and their calibration above):
        background  the commonest colour c0 (see _dominant_colours): |c0 - BACKGROUND| <= 0.15 and it
                    covers >= 40 % of the pixels
        colours     the 4 commonest colours cover >= 80 % of the pixels
        flatness    >= 80 % of adjacent pixel pairs have the same colour (max channel difference <= 0.15):
                    photos are textured, renders are flat except at shape edges
    """
    from captioning.data import BACKGROUND  # here, not at the top: captioning.data imports this module

    x = np.asarray(image, np.float32)
    if x.ndim != 3 or x.shape[0] != 3 or x.shape[1] < 2 or x.shape[2] < 2:
        raise ValueError(f"describe_mismatch: expected a (3, H, W) image with H, W >= 2, got shape {x.shape}")
    pixels = x.reshape(3, -1).T
    colours = _dominant_colours(pixels, 4, COLOUR_TOL)
    background, background_share = colours[0]
    distance = float(np.linalg.norm(background - np.asarray(BACKGROUND)))
    four_share = sum(share for _, share in colours)
    alike = np.concatenate([(np.abs(np.diff(x, axis=2)).max(axis=0) <= COLOUR_TOL).ravel(),
                            (np.abs(np.diff(x, axis=1)).max(axis=0) <= COLOUR_TOL).ravel()]).mean()

    def rgb(c: np.ndarray | tuple) -> str:
        return "(" + ", ".join(str(int(round(255 * v))) for v in c) + ")"

    problems = []
    if distance > MAX_BACKGROUND_DISTANCE:
        problems.append(f"its commonest colour is RGB {rgb(background)}, not the dark grey {rgb(BACKGROUND)} "
                        "of every training background")
    if background_share < MIN_BACKGROUND_SHARE:
        problems.append(f"no colour covers {MIN_BACKGROUND_SHARE:.0%} of it as a background does "
                        f"(the commonest covers {background_share:.0%})")
    if four_share < MIN_FOUR_COLOUR_SHARE:
        problems.append(f"its 4 commonest colours cover only {four_share:.0%} of it "
                        f"(>= {MIN_FOUR_COLOUR_SHARE:.0%} in training)")
    if alike < MIN_ALIKE_NEIGHBOURS:
        problems.append(f"only {alike:.0%} of neighbouring pixels are alike, so it is textured or noisy "
                        f"(>= {MIN_ALIKE_NEIGHBOURS:.0%} in training)")
    if not problems:
        return None
    return ("this picture is unlike the training scenes: " + "; ".join(problems)
            + ". The model only saw 1-3 solid-colour shapes (circle, square, triangle, diamond, cross) on a flat "
            "dark background, so expect a poor caption.")
