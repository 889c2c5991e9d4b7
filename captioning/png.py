"""PNG writing and reading with NumPy and zlib only, plus a NumPy image resize.

Why not Pillow: the captioning demo only needs to save its synthetic images and read a user's picture, and
PNG is simple enough (a signature, then length-type-data-CRC chunks, the pixels zlib-compressed row by
row) that NumPy does it in a few hundred readable lines; the project avoids an extra dependency for it.

File layout (https://www.w3.org/TR/png/):

    signature  89 50 4E 47 0D 0A 1A 0A
    chunk      length (4 bytes, big-endian) | type (4 ASCII) | data (length bytes) | CRC-32 of type+data
    IHDR       width, height (4 bytes each), bit depth, colour type, compression, filter, interlace (1 each)
    PLTE       palette, 3 bytes per entry (colour type 3)
    tRNS       palette alphas (type 3) or one transparent colour (types 0 and 2)
    IDAT...    one zlib stream, split over any number of chunks
    IEND       empty, last

Each decompressed row is one filter-type byte then the row's bytes. With x the filtered byte, a the
reconstructed byte one pixel to the left, b the one above and c the one above-left (0 outside the image):

    0 None     r = x
    1 Sub      r = x + a
    2 Up       r = x + b
    3 Average  r = x + floor((a + b) / 2)
    4 Paeth    r = x + (whichever of a, b, c is closest to p = a + b - c; ties prefer a, then b)
    (all mod 256)

Supported when reading: non-interlaced; colour types 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA; every
bit depth PNG allows for them (1/2/4/8 bits for grey and palette, 16 bits scaled down to 8). Alpha is
composited onto white. Writing: 8-bit RGB or grey, filter None (the images are small and flat).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"

# colour type -> (name, samples per pixel, bit depths the PNG standard allows)
COLOUR_TYPES: dict[int, tuple[str, int, tuple[int, ...]]] = {
    0: ("grey", 1, (1, 2, 4, 8, 16)),
    2: ("RGB", 3, (8, 16)),
    3: ("palette", 1, (1, 2, 4, 8)),
    4: ("grey+alpha", 2, (8, 16)),
    6: ("RGBA", 4, (8, 16)),
}
CONVERT_HINT = "convert it to an 8-bit non-interlaced PNG"


class PNGError(ValueError):
    """A file that is not a PNG this module can read; the message names the file."""


# ----------------------------------------------------------------------------------------------- writing


def _chunk(kind: bytes, data: bytes) -> bytes:
    """length | type | data | CRC-32(type + data)."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write a uint8 image, (H, W, 3) RGB or (H, W) grey, as an 8-bit PNG.

    The file is written to a temporary name and renamed, so a crash never leaves half a PNG behind.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"write_png({os.fspath(path)!r}): image must be uint8, got {image.dtype}")
    if image.ndim == 2:
        colour_type = 0
    elif image.ndim == 3 and image.shape[2] == 3:
        colour_type = 2
    else:
        raise ValueError(f"write_png({os.fspath(path)!r}): image must be (H, W, 3) or (H, W), "
                         f"got {image.shape}")
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f"write_png({os.fspath(path)!r}): image is empty, shape {image.shape}")

    rows = np.ascontiguousarray(image).reshape(height, -1)
    filtered = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)  # filter byte 0 = None
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    png = (SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(filtered.tobytes(), 6))
           + _chunk(b"IEND", b""))

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(png)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------------- reading


def _read_chunks(name: str, data: bytes) -> tuple[bytes, bytes | None, bytes | None, bytes]:
    """Walk the chunks, checking each CRC; returns (IHDR data, PLTE data, tRNS data, joined IDAT data)."""
    header = palette = transparency = None
    idat = []
    pos = len(SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise PNGError(f"{name}: file is truncated (it ends at byte {len(data)} before the IEND chunk)")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        label = kind.decode("latin-1")
        end = pos + 12 + length
        if end > len(data):
            raise PNGError(f"{name}: file is truncated inside the {label} chunk that starts at byte {pos}")
        body = data[pos + 8:end - 4]
        (crc,) = struct.unpack(">I", data[end - 4:end])
        if zlib.crc32(kind + body) != crc:
            raise PNGError(f"{name}: CRC mismatch in the {label} chunk at byte {pos}; the file is corrupt")

        if header is None and kind != b"IHDR":
            raise PNGError(f"{name}: the first chunk is {label}, expected IHDR")
        if kind == b"IHDR":
            if length != 13:
                raise PNGError(f"{name}: IHDR chunk has {length} bytes, expected 13")
            header = body
        elif kind == b"PLTE":
            palette = body
        elif kind == b"tRNS":
            transparency = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        elif label[:1].isupper():  # a critical chunk we do not know: the image cannot be decoded safely
            raise PNGError(f"{name}: unknown critical chunk {label!r} at byte {pos}")
        pos = end
    if not idat:
        raise PNGError(f"{name}: no IDAT chunk (no image data)")
    return header, palette, transparency, b"".join(idat)


def _unfilter(name: str, data: bytes, height: int, stride: int, bpp: int) -> np.ndarray:
    """Undo the row filters; returns the raw bytes, (height, stride) uint8.

    Sub and Up alone could be undone a row at a time with cumsum, but Average and Paeth read the
    reconstructed byte to their left, so a row cannot be done in one NumPy step. A pixel needs only its
    left (a), upper (b) and upper-left (c) neighbours, so all pixels on one anti-diagonal y + x = t depend
    only on earlier diagonals: we sweep t = 0, 1, ... and compute each diagonal in one vectorised step,
    whatever mix of filter types the rows use (H + W - 1 steps instead of H * W pixel visits).
    """
    need = height * (stride + 1)
    if len(data) < need:
        raise PNGError(f"{name}: image data has {len(data)} bytes, IHDR needs {need}; the file is truncated")
    rows = np.frombuffer(data, np.uint8, count=need).reshape(height, stride + 1)
    kinds = rows[:, 0]
    if (kinds > 4).any():
        y = int(np.argmax(kinds > 4))
        raise PNGError(f"{name}: row {y} has filter type {kinds[y]}, only 0-4 exist; the file is corrupt")
    if not kinds.any():  # all None: nothing to undo
        return rows[:, 1:].copy()

    # Work in whole pixels of bpp bytes (the filters look back exactly one pixel); stride % bpp == 0.
    width = stride // bpp
    filtered = rows[:, 1:].reshape(height, width, bpp).astype(np.int32)
    # out[y + 1, x + 1] is pixel (y, x); row 0 and column 0 are the zeros the filters see outside the image.
    out = np.zeros((height + 1, width + 1, bpp), np.int32)
    row_kind = kinds.astype(np.int32)[:, None]
    for t in range(height + width - 1):
        y = np.arange(max(0, t - width + 1), min(height, t + 1))
        x = t - y
        a, b, c = out[y + 1, x], out[y, x + 1], out[y, x]  # left, up, up-left: (n, bpp)
        p = a + b - c
        pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
        paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
        k = row_kind[y]
        predictor = np.select([k == 1, k == 2, k == 3, k == 4], [a, b, (a + b) >> 1, paeth], 0)
        out[y + 1, x + 1] = (filtered[y, x] + predictor) & 0xFF
    return out[1:, 1:].reshape(height, stride).astype(np.uint8)


def _samples(rows: np.ndarray, width: int, channels: int, depth: int) -> np.ndarray:
    """Raw row bytes (H, stride) -> samples (H, W, channels), integers in [0, 2**depth)."""
    height = rows.shape[0]
    if depth == 8:
        return rows.reshape(height, width, channels)
    if depth == 16:  # big-endian pairs
        return rows.view(">u2").astype(np.uint16).reshape(height, width, channels)
    # 1, 2 or 4 bits (one channel): several pixels per byte, leftmost pixel in the high bits
    bits = np.unpackbits(rows, axis=1).reshape(height, -1, depth)
    values = bits @ (1 << np.arange(depth - 1, -1, -1)).astype(np.uint8)
    return values[:, :width, None].astype(np.uint8)


def read_png(path: str | os.PathLike) -> np.ndarray:
    """Read a non-interlaced PNG as (H, W, 3) uint8 RGB; alpha is composited onto white.

    16-bit samples are scaled to 8 bits by round(v * 255 / 65535); 1/2/4-bit grey is stretched to 0..255.
    """
    name = os.fspath(path)
    data = Path(path).read_bytes()
    if data[:8] != SIGNATURE:
        raise PNGError(f"{name}: not a PNG file (its first bytes are {data[:8]!r}, not the PNG signature)")
    header, palette, transparency, idat = _read_chunks(name, data)
    fields = struct.unpack(">IIBBBBB", header)
    width, height, depth, colour_type, compression, filter_method, interlace = fields

    if colour_type not in COLOUR_TYPES:
        raise PNGError(f"{name}: unknown colour type {colour_type}; {CONVERT_HINT}")
    type_name, channels, depths = COLOUR_TYPES[colour_type]
    if depth not in depths:
        raise PNGError(f"{name}: unsupported bit depth {depth} for {type_name} (colour type {colour_type}); "
                       f"{CONVERT_HINT}")
    if interlace != 0:
        raise PNGError(f"{name}: interlaced (Adam7) PNGs are not supported; {CONVERT_HINT}")
    if width == 0 or height == 0 or compression != 0 or filter_method != 0:
        raise PNGError(f"{name}: invalid IHDR (size {width}x{height}, compression {compression}, "
                       f"filter method {filter_method})")

    try:
        raw = zlib.decompress(idat)
    except zlib.error as err:
        raise PNGError(f"{name}: image data does not decompress ({err}); "
                       "the file is truncated or corrupt") from None
    bits_per_pixel = channels * depth
    stride = (width * bits_per_pixel + 7) // 8
    rows = _unfilter(name, raw, height, stride, max(1, bits_per_pixel // 8))
    samples = _samples(rows, width, channels, depth)

    if colour_type == 3:
        if palette is None or len(palette) % 3 or not palette:
            raise PNGError(f"{name}: palette image without a valid PLTE chunk")
        table = np.full((len(palette) // 3, 4), 255, np.uint8)  # RGBA, opaque unless tRNS says otherwise
        table[:, :3] = np.frombuffer(palette, np.uint8).reshape(-1, 3)
        if transparency is not None:
            alphas = np.frombuffer(transparency, np.uint8)[:len(table)]
            table[:len(alphas), 3] = alphas
        index = samples[..., 0]
        if index.max() >= len(table):
            raise PNGError(f"{name}: a pixel uses palette entry {index.max()}, "
                           f"but PLTE has only {len(table)} entries")
        rgba = table[index].astype(np.uint32)
        rgb, alpha = rgba[..., :3], rgba[..., 3:]
    else:
        samples = samples.astype(np.uint32)
        colour_channels = 1 if colour_type in (0, 4) else 3
        colour = samples[..., :colour_channels]
        maxval = (1 << depth) - 1
        if colour_type in (4, 6):
            alpha = samples[..., colour_channels:]
        elif transparency is not None:  # one colour (compared at full depth) is fully transparent
            if len(transparency) < 2 * colour_channels:
                raise PNGError(f"{name}: tRNS chunk has {len(transparency)} bytes, "
                               f"expected {2 * colour_channels}")
            key = np.array(struct.unpack(f">{colour_channels}H", transparency[:2 * colour_channels]))
            alpha = np.where((colour == key).all(axis=-1, keepdims=True), 0, maxval)
        else:
            alpha = np.full(colour.shape[:2] + (1,), maxval, np.uint32)
        # to 8 bits, rounding: (v * 255 + maxval // 2) // maxval is exact for 1/2/4/8 bits
        rgb = (np.broadcast_to(colour, colour.shape[:2] + (3,)) * 255 + maxval // 2) // maxval
        alpha = (alpha * 255 + maxval // 2) // maxval

    # alpha-composite onto white: out = (rgb * a + 255 * (255 - a)) / 255, rounded
    out = (rgb * alpha + 255 * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)


# ----------------------------------------------------------------------------------------------- resizing


def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights resampling one axis: area average when shrinking, bilinear when enlarging.

    With s = n_in / n_out: shrinking, output pixel i covers the input interval [i s, (i + 1) s) and
    averages the input pixels weighted by how much of each it covers; enlarging, output pixel i
    interpolates linearly at input position (i + 0.5) s - 0.5, so pixel centres line up (as OpenCV and
    PyTorch's align_corners=False do).
    """
    if n_out <= n_in:
        edges = np.arange(n_out + 1) * (n_in / n_out)
        lo, hi = edges[:-1, None], edges[1:, None]
        j = np.arange(n_in)[None, :]
        overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0.0, None)
        return overlap / (n_in / n_out)
    src = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1)
    j0 = np.floor(src).astype(int)
    j1 = np.minimum(j0 + 1, n_in - 1)
    w = src - j0
    weights = np.zeros((n_out, n_in))
    np.add.at(weights, (np.arange(n_out), j0), 1.0 - w)
    np.add.at(weights, (np.arange(n_out), j1), w)
    return weights


def resize(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize an (H, W) or (H, W, C) image to size = side or (height, width).

    Each axis is resampled by a weight matrix (see _resize_matrix): out = R_h @ image @ R_w^T. A uint8 image
    comes back uint8 (rounded), a float image as float32. The aspect ratio is not kept: crop first if
    that matters.
    """
    image = np.asarray(image)
    new_h, new_w = (size, size) if isinstance(size, int) else size
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"resize: image must be (H, W) or (H, W, C) and non-empty, got shape {image.shape}")
    if new_h < 1 or new_w < 1:
        raise ValueError(f"resize: target size must be positive, got {size}")
    rows = _resize_matrix(image.shape[0], new_h)
    cols = _resize_matrix(image.shape[1], new_w)
    out = np.einsum("yY,YX...,xX->yx...", rows, image.astype(np.float64), cols, optimize=True)
    if image.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(np.float32)
