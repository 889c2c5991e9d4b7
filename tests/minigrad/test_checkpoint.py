"""Checkpoints: exact round trips without pickle, one clear CheckpointError per bad file, atomic writes."""

from __future__ import annotations

import json
import math
import os
import zipfile

import numpy as np
import pytest

from minigrad import checkpoint
from minigrad.checkpoint import CheckpointError, check_config
from minigrad.nn import Parameter


def nested_state():
    rng = np.random.default_rng(0)
    return {
        "config": {"hidden": 128, "lr": 1e-3, "scale": 2.0, "cell": "lstm", "bidirectional": False,
                   "dropout": None, "sizes": [3, 4], "betas": (0.9, 0.999), "tags": ["a", "한국어"]},
        "model": {
            "encoder.weight_ih": rng.standard_normal((3, 8)).astype(np.float32),
            "encoder.bias": rng.standard_normal(8),  # float64
            "tokens": np.arange(5, dtype=np.int64),
            "mask": np.array([True, False]),
            "scalar_array": np.array(3.5, dtype=np.float32),  # 0-d
            "empty": np.zeros((0, 4), dtype=np.float32),
        },
        "optim": {"state": {0: {"step": 3, "exp_avg": np.ones((2, 2), dtype=np.float32)}},
                  "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0]}]},
        "numpy_scalars": {"f32": np.float32(0.25), "i64": np.int64(7), "f64": np.float64(1.5)},
        "specials": {"best": math.inf, "worst": -math.inf, "nan": math.nan, "neg_zero": -0.0},
        "step": 1200,
        "loss": 0.5,
        "int_float": [1, 1.0, True],
        "nested": {"a": {"b": {"c": [np.arange(3), {"d": "deep"}]}}},
        "": "empty key",
    }


def assert_same(a, b, where="state"):
    """Equal values and equal types: int vs float, tuple vs list, array dtype and shape."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys differ"
        for k in a:
            assert_same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}/{i}")
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b), where
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
        if isinstance(a, float):
            assert math.copysign(1.0, a) == math.copysign(1.0, b), where


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_keeps_structure_types_and_dtypes(tmp_path, compress):
    state = nested_state()
    path = tmp_path / "run" / "sub" / "ckpt.npz"  # parent folders are created
    checkpoint.save(state, path, compress=compress)
    assert_same(checkpoint.load(path), state)
    assert_same(checkpoint.load(str(path)), state)  # str paths too
    assert os.listdir(path.parent) == ["ckpt.npz"]  # no temp file left behind


def test_file_is_a_plain_npz_without_pickle(tmp_path):
    path = tmp_path / "c.npz"
    checkpoint.save(nested_state(), path)
    with np.load(path, allow_pickle=False) as npz:  # every entry loads without pickle
        arrays = {name: npz[name] for name in npz.files}
    assert arrays["model/encoder.weight_ih"].dtype == np.float32
    assert arrays["optim/state/0/exp_avg"].shape == (2, 2)
    header = json.loads(arrays["__header__"].tobytes().decode("utf-8"))
    assert header["format"] == "minigrad-checkpoint" and header["version"] == 1
    assert "tree" in header


def test_colliding_and_reserved_names(tmp_path):
    state = {"a/b": np.array([1.0]), "a": {"b": np.array([2.0])}, "file": np.array([3]),
             "allow_pickle": np.array([4]), "__header__": np.array([5])}
    checkpoint.save(state, tmp_path / "n.npz")
    assert_same(checkpoint.load(tmp_path / "n.npz"), state)


def test_unsupported_values_are_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "bad.npz"
    with pytest.raises(TypeError, match="model/w.*Parameter.*data"):
        checkpoint.save({"model": {"w": Parameter(np.zeros(2))}}, path)
    with pytest.raises(TypeError, match="set"):
        checkpoint.save({"s": {1, 2}}, path)
    with pytest.raises(TypeError, match="object array"):
        checkpoint.save({"o": np.array([{}, 1], dtype=object)}, path)
    with pytest.raises(TypeError, match="keys must be str or int"):
        checkpoint.save({(1, 2): 3}, path)
    assert os.listdir(tmp_path) == []


# ---- bad files: one CheckpointError naming the file ---------------------------------------------------
def _good_file(tmp_path):
    path = tmp_path / "good.npz"
    checkpoint.save(nested_state(), path)
    return path


def _expect_error(path, match):
    with pytest.raises(CheckpointError, match=match) as info:
        checkpoint.load(path)
    message = str(info.value)
    assert os.path.basename(path) in message
    assert "\n" not in message
    # no chained NumPy/zipfile traceback: raised outside an except block, or `from None`
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__
    assert isinstance(info.value, ValueError)


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.npz", "not found")


def test_truncated_file(tmp_path):
    path = _good_file(tmp_path)
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    _expect_error(cut, "truncated or corrupt")


def test_corrupted_bytes_fail_the_crc(tmp_path):
    path = _good_file(tmp_path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("model/encoder.bias.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 128  # inside the array data
    data[start] ^= 0xFF
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(data))
    _expect_error(bad, "corrupt")


def test_random_bytes_and_empty_file(tmp_path):
    rnd = tmp_path / "random.npz"
    rnd.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _expect_error(rnd, "not a minigrad checkpoint")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    _expect_error(empty, "empty")


def test_npz_without_header_and_single_npy(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.zeros(3))
    _expect_error(plain, "no __header__")
    npy = tmp_path / "single.npy"
    np.save(npy, np.zeros(3))
    _expect_error(npy, "not an .npz")


def test_npz_with_an_object_array(tmp_path):
    objects = tmp_path / "objects.npz"
    np.savez(objects, w=np.array([{"evil": 1}, None], dtype=object))  # pickled inside the zip
    _expect_error(objects, "not a minigrad checkpoint")
    # the same with a valid header that refers to the object array
    tree = {"__dict__": [["w", {"__array__": "w"}]]}
    header = {"format": "minigrad-checkpoint", "version": 1, "tree": tree}
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    sneaky = tmp_path / "sneaky.npz"
    np.savez(sneaky, __header__=raw, w=np.array([{"evil": 1}, None], dtype=object))
    _expect_error(sneaky, "pickle")


def test_unknown_version_and_foreign_header(tmp_path):
    def write(name, header):
        path = tmp_path / name
        np.savez(path, __header__=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
        return path

    _expect_error(write("v2.npz", {"format": "minigrad-checkpoint", "version": 2, "tree": {}}), "version 2")
    _expect_error(write("other.npz", {"format": "keras", "version": 1, "tree": {}}), "not a minigrad")
    garbage = tmp_path / "garbage.npz"
    np.savez(garbage, __header__=np.frombuffer(b"\xff\xfe{", dtype=np.uint8))
    _expect_error(garbage, "header")


# ---- atomic writes ------------------------------------------------------------------------------------
def test_failed_write_keeps_previous_checkpoint_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    old = {"step": 1, "w": np.arange(4.0)}
    checkpoint.save(old, path)
    before = path.read_bytes()

    def half_write_then_fail(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", half_write_then_fail)
    with pytest.raises(OSError, match="No space"):
        checkpoint.save({"step": 2, "w": np.zeros(4)}, path)
    monkeypatch.undo()

    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert path.read_bytes() == before
    assert_same(checkpoint.load(path), old)


def test_interrupted_write_is_cleaned_up(tmp_path, monkeypatch):
    def interrupted(file, *args, **kwargs):
        file.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save({"w": np.zeros(2)}, tmp_path / "new.npz")
    assert os.listdir(tmp_path) == []


def test_overwrite_replaces_the_file(tmp_path):
    path = tmp_path / "c.npz"
    checkpoint.save({"step": 1}, path)
    checkpoint.save({"step": 2}, path)
    assert checkpoint.load(path) == {"step": 2}
    assert os.listdir(tmp_path) == ["c.npz"]


# ---- config check -------------------------------------------------------------------------------------
def test_check_config_lists_the_differing_keys():
    saved = {"hidden": 128, "layers": 2, "cell": "lstm", "sizes": (3, 4), "epochs": 10}
    check_config(saved, {"hidden": 128, "layers": 2, "sizes": [3, 4]}, "runs/a.npz")  # list==tuple, extras ok
    want = r"runs/a\.npz: checkpoint is for another model: hidden 128 != 256 "
    with pytest.raises(CheckpointError, match=want):
        check_config(saved, {"hidden": 256, "layers": 2}, "runs/a.npz")
    with pytest.raises(CheckpointError) as info:
        check_config(saved, {"hidden": 256, "cell": "gru", "vocab": 100}, "runs/a.npz")
    message = str(info.value)
    assert "hidden 128 != 256" in message and "cell 'lstm' != 'gru'" in message and "vocab missing" in message
    assert "layers" not in message
