"""`--image FILE`: caption a user's picture with best.npz in --out; every bad file is one line and exit 2."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from captioning_helpers import run_main

from captioning import checkpoint, data, images


def one_error_line(capsys: pytest.CaptureFixture) -> str:
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured.err
    return captured.err


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(path: Path, side: int = 20_000) -> None:
    """A tiny PNG that DECLARES side x side RGB pixels (1.2 GB decoded for 20,000): a decompression bomb."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * side) * 4, 9)  # a few rows of pixel data, the rest missing
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows)
                     + png_chunk(b"IEND", b""))


def test_captions_a_png_and_a_jpeg_like_the_model_does(trained: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    scene = data.make_dataset(0, 0, 1, size=48, seed=4)["test"].images[0]  # 48x48: resized to the model's 32
    loaded = checkpoint.read(trained / "best.npz")
    for name in ("mine.png", "mine.jpg"):
        path = tmp_path / name
        images.write_image(path, scene)
        assert run_main(["--image", str(path), "--out", str(trained)]) == 0
        text = capsys.readouterr().out.strip()
        x = images.read_image(path, 32)
        ids = loaded.model.generate(x[None], loaded.vocab.bos_id, loaded.vocab.eos_id, beam=3)[0]
        assert text == loaded.vocab.decode(ids)  # the same checkpoint, reader and decoder (default beam 3)
        assert text and all(word in loaded.vocab.stoi for word in text.split())


def test_a_missing_file_is_one_line(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run_main(["--image", str(tmp_path / "missing.png"), "--out", str(trained)]) == 2
    assert "missing.png" in one_error_line(capsys)


def test_a_text_file_named_png_is_one_line(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("this is not a picture\n")
    assert run_main(["--image", str(fake), "--out", str(trained)]) == 2
    err = one_error_line(capsys)
    assert "notes.png" in err and "not an image" in err


def test_a_truncated_jpeg_is_one_line(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    whole = tmp_path / "whole.jpg"
    rng = np.random.default_rng(0)
    images.write_image(whole, rng.uniform(size=(3, 64, 64)))  # noise: no run of bytes is left over
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert run_main(["--image", str(cut), "--out", str(trained)]) == 2
    err = one_error_line(capsys)
    assert "cut.jpg" in err and "truncated" in err


def test_a_decompression_bomb_is_refused_before_decoding(trained: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    bomb = tmp_path / "bomb.png"
    bomb_png(bomb)
    assert bomb.stat().st_size < 100_000
    start = time.perf_counter()
    assert run_main(["--image", str(bomb), "--out", str(trained)]) == 2
    assert time.perf_counter() - start < 10  # refused from the header (the old reader took 7 GB first)
    err = one_error_line(capsys)
    assert "bomb.png" in err and "400,000,000 pixels" in err and "refused" in err


def test_no_model_in_out_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    picture = tmp_path / "x.png"
    images.write_image(picture, np.zeros((3, 32, 32), np.float32))
    assert run_main(["--image", str(picture), "--out", str(tmp_path / "empty")]) == 2
    err = one_error_line(capsys)
    assert "no trained model" in err and "best.npz" in err


def test_image_does_not_go_with_resume(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    picture = tmp_path / "x.png"
    images.write_image(picture, np.zeros((3, 32, 32), np.float32))
    assert run_main(["--image", str(picture), "--out", str(trained), "--resume"]) == 2
    assert "--image" in one_error_line(capsys)


def test_a_picture_unlike_the_training_scenes_gets_its_caption_and_one_note(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    photo = tmp_path / "noise.png"
    images.write_image(photo, np.random.default_rng(1).uniform(size=(3, 96, 128)))  # textured, no background
    assert run_main(["--image", str(photo), "--out", str(trained)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 1 and captured.out.strip()  # the caption, as always
    notes = captured.err.strip().splitlines()
    assert len(notes) == 1 and notes[0].startswith("note: this picture is unlike the training scenes")
    scene = tmp_path / "scene.png"
    images.write_image(scene, data.make_dataset(0, 0, 1, seed=3)["test"].images[0])
    assert run_main(["--image", str(scene), "--out", str(trained)]) == 0
    assert capsys.readouterr().err == ""  # a scene like the training ones: no note
