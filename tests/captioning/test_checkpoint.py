"""captioning.checkpoint: read back exactly what the Trainer wrote; every bad entry is one line naming it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from captioning_helpers import run_main

from captioning import checkpoint, data
from minigrad import checkpoint as ckpt
from minigrad.checkpoint import CheckpointError


def test_read_rebuilds_the_model_vocabulary_and_options(trained: Path) -> None:
    loaded = checkpoint.read(trained / "last.npz", for_resume=True)
    assert loaded.options["hidden"] == 32 and loaded.options["seed"] == 1
    assert loaded.model.config["vocab_size"] == len(loaded.vocab) and not loaded.model.training
    raw = ckpt.load(trained / "last.npz")
    for name, p in loaded.model.named_parameters():
        assert np.array_equal(p.data, raw["model"][name]), name
    split = data.make_dataset(0, 0, 3, seed=1)["test"]
    assert loaded.vocab.encode_batch(split.captions).max() < len(loaded.vocab)


def broken(state: dict[str, Any], where: str, value: Any) -> dict[str, Any]:
    """A copy of `state` with the entry at `where` ("config/options/lr") replaced, or deleted (KeyError)."""
    state = copy.deepcopy(state)
    *parents, last = where.split("/")
    node = state
    for part in parents:
        node = node[part]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return state


@pytest.mark.parametrize(("entry", "value", "message"), [
    ("kind", "seq2seq", "not a captioning checkpoint"),
    ("vocab", KeyError, "'vocab' is missing"),
    ("vocab/tokens", "abc", "'vocab.tokens' should be list"),
    ("vocab/tokens", ["a", "b"], "'vocab' does not fit"),
    ("config/model", KeyError, "'config.model' is missing"),
    ("config/model/vocab_size", 7, "'config.model.vocab_size' is 7"),
    ("config/model/inject", "sideways", "'config.model' does not fit"),
    ("config/options/epochs", "two", "'config.options.epochs' should be int"),
    ("config/options/lr", KeyError, "'config.options.lr' is missing"),
    ("model/out.weight", np.zeros((2, 2), np.float32), "'model' does not fit"),
])
def test_a_bad_entry_is_one_line_naming_it(trained: Path, tmp_path: Path, entry: str, value: Any,
                                           message: str) -> None:
    path = tmp_path / "bad.npz"
    ckpt.save(broken(ckpt.load(trained / "best.npz"), entry, value), path)
    with pytest.raises(CheckpointError) as info:
        checkpoint.read(path)
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


def test_resume_needs_the_training_entries(trained: Path, tmp_path: Path) -> None:
    path = tmp_path / "no_optim.npz"
    ckpt.save(broken(ckpt.load(trained / "last.npz"), "optim", KeyError), path)
    checkpoint.read(path)  # enough to caption
    with pytest.raises(CheckpointError, match="'optim' is missing"):
        checkpoint.read(path, for_resume=True)


def test_a_bad_checkpoint_through_the_command_is_one_line(trained: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    out.mkdir()
    ckpt.save(broken(ckpt.load(trained / "best.npz"), "vocab", KeyError), out / "best.npz")
    picture = tmp_path / "x.png"
    from captioning import images

    images.write_image(picture, data.make_dataset(0, 0, 1, seed=2)["test"].images[0])
    assert run_main(["--image", str(picture), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "'vocab' is missing" in err
    (out / "best.npz").write_bytes(b"PK\x03\x04 truncated")
    assert run_main(["--image", str(picture), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "best.npz" in err and "Traceback" not in err
