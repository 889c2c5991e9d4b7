"""`python -m captioning.demo` end to end on tiny data: outputs, checkpoint reuse and round trip, --image."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from captioning import data
from captioning.demo import (
    CHECKPOINT_NAME,
    build_parser,
    caption_file,
    load_checkpoint,
    main,
    parse_config,
    save_checkpoint,
)
from captioning.png import write_png

TINY = ["--n-train", "64", "--n-valid", "8", "--n-test", "12", "--epochs", "2", "--batch-size", "32",
        "--hidden", "32", "--emb", "16", "--seed", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny end-to-end run shared by the tests below."""
    out = tmp_path_factory.mktemp("caption_run")
    assert main([*TINY, "--out", str(out)]) == 0
    return out


def test_end_to_end_writes_gallery_metrics_and_checkpoint(trained: Path) -> None:
    for name in (CHECKPOINT_NAME, "gallery.html", "metrics.json"):
        assert (trained / name).is_file(), name
    metrics = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["bleu_tokenizer"] == "13a" and "tok:13a" in metrics["test"]["bleu_signature"]
    assert metrics["test"]["n"] == 12 and metrics["heldout"]["n"] == 12
    for split in ("test", "heldout"):
        for key in ("exact_match", "true_description", "bleu4"):
            assert 0 <= metrics[split][key] <= (100 if key == "bleu4" else 1)
    assert metrics["training"]["steps"] == 4  # 64 images / 32 per batch * 2 epochs
    assert metrics["wall_time_seconds"] > 0 and metrics["config"]["hidden"] == 32
    page = (trained / "gallery.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 24  # 12 test + 12 held-out images
    assert all(not s.startswith("/") and (trained / s).is_file() for s in sources)  # relative, and present
    assert page.count("<b>true:</b>") == 24 and "Held-out" in page
    pytest.importorskip("matplotlib")
    assert (trained / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_checkpoint_is_reused_and_round_trips(trained: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    before = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    assert main([*TINY, "--out", str(trained)]) == 0
    assert "reusing the trained model" in capsys.readouterr().out
    after = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    assert after["training"]["reused_checkpoint"] and after["test"] == before["test"]
    # save -> load gives identical weights, vocabulary and captions
    model, vocab, state = load_checkpoint(trained / CHECKPOINT_NAME)
    copy = tmp_path / "copy.npz"
    save_checkpoint(copy, model, vocab, parse_config(TINY), state["history"])
    again, vocab2, _ = load_checkpoint(copy)
    assert vocab2.itos == vocab.itos
    images = data.make_dataset(0, 0, 6, seed=9)["test"].images
    captions = model.generate(images, vocab.bos_id, vocab.eos_id)
    assert again.generate(images, vocab.bos_id, vocab.eos_id) == captions
    for (name, p), (name2, p2) in zip(model.named_parameters(), again.named_parameters()):
        assert name == name2 and np.array_equal(p.data, p2.data)


def test_other_model_options_need_retrain(trained: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([*TINY, "--hidden", "24", "--out", str(trained)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint is for another model" in err and "hidden 32 != 24" in err


def test_image_option_captions_a_png(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    split = data.make_dataset(0, 0, 1, size=48, seed=4)["test"]  # a 48x48 picture: resized to the model's 32
    path = tmp_path / "mine.png"
    write_png(path, data.to_uint8(split.images[0]))
    assert main(["--image", str(path), "--out", str(trained)]) == 0
    text = capsys.readouterr().out.strip()
    _, vocab, _ = load_checkpoint(trained / CHECKPOINT_NAME)
    assert text and all(word in vocab.stoi for word in text.split())
    assert caption_file(str(path), str(trained), beam=parse_config([]).beam) == text  # the same decoder


def test_image_option_errors_are_one_line(trained: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("this is not a picture\n")
    assert main(["--image", str(fake), "--out", str(trained)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "notes.png" in err and "not a PNG" in err and "Traceback" not in err
    assert main(["--image", str(tmp_path / "missing.png"), "--out", str(trained)]) == 2
    assert "missing.png" in capsys.readouterr().err
    assert main(["--image", str(fake), "--out", str(tmp_path / "empty")]) == 2
    assert "no trained model" in capsys.readouterr().err


def test_help_documents_every_option() -> None:
    text = build_parser().format_help()
    for option in ("--size", "--n-train", "--epochs", "--batch-size", "--lr", "--hidden", "--emb", "--inject",
                   "--beam", "--lang", "--clip", "--seed", "--out", "--retrain", "--image", "--max-minutes",
                   "--threads"):
        assert option in text, option
    for action in build_parser()._actions:
        assert action.help, action.dest


def test_module_runs_as_a_command(tmp_path: Path) -> None:
    fake = tmp_path / "x.png"
    fake.write_bytes(b"GIF89a")
    command = [sys.executable, "-m", "captioning.demo", "--image", str(fake), "--out", str(tmp_path)]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
                          timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
