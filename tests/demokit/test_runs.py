"""demokit.runs: a run folder is checked before any work and never silently overwritten; stale temp files of a
killed save are removed; writes are atomic (also under kill -9); metrics.json is strict JSON (no NaN/Infinity)."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import demokit.runs
from demokit.checkpoints import load_checkpoint, save_checkpoint
from demokit.errors import UserError
from demokit.runs import RunFolder, write_atomic, write_json

REPO = Path(__file__).resolve().parents[2]
TEMP = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")


def _one_line(e: BaseException) -> str:
    text = str(e)
    assert "\n" not in text and text.strip() == text and text
    return text


def _holding_a_run(path: Path, name: str = "last.npz") -> Path:
    path.mkdir(parents=True)
    (path / name).write_bytes(b"the old run's " + name.encode())
    (path / "gallery.html").write_text("old figures")
    return path


# ---- open(): created, probed, refused, moved aside ------------------------------------------------------
def test_open_creates_the_folder_with_its_parents_and_leaves_no_probe(tmp_path):
    out = tmp_path / "a" / "b" / "run"
    run = RunFolder(out).open()
    assert out.is_dir() and [p.name for p in out.iterdir()] == ["run.json"]  # the marker: this folder holds a run
    marker = json.loads((out / "run.json").read_text())
    assert isinstance(marker["command"], list) and marker["started"]
    assert run / "last.npz" == out / "last.npz" and run.report() == ""


def test_a_run_that_has_not_saved_anything_yet_is_still_a_run(tmp_path):
    """A second run into a folder whose first run stopped before its first checkpoint refuses too (USERS.md 18)."""
    RunFolder(tmp_path / "run").open()
    with pytest.raises(UserError, match="--resume"):
        RunFolder(tmp_path / "run").open()


def test_an_empty_existing_folder_or_one_without_run_files_is_fine(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    RunFolder(tmp_path / "run").open()
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


def test_out_under_a_file_is_unwritable_in_one_line_naming_out(tmp_path):
    (tmp_path / "file.txt").write_text("not a folder")
    with pytest.raises(UserError) as e:
        RunFolder(tmp_path / "file.txt" / "run").open()
    assert _one_line(e.value).startswith("--out ") and "cannot write" in str(e.value)


def test_out_that_is_a_file_is_refused_naming_out(tmp_path):
    (tmp_path / "file.txt").write_text("not a folder")
    with pytest.raises(UserError, match=r"^--out .*file\.txt: is a file"):
        RunFolder(tmp_path / "file.txt").open()
    assert (tmp_path / "file.txt").read_text() == "not a folder"


def test_a_folder_that_cannot_be_written_is_refused_naming_out(tmp_path, monkeypatch):
    """Root ignores chmod, so the failing write is simulated where open() probes the folder."""

    def denied(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(demokit.runs, "write_atomic", denied)
    with pytest.raises(UserError) as e:
        RunFolder(tmp_path / "run").open()
    assert _one_line(e.value).startswith("--out ") and "Permission denied" in str(e.value)


@pytest.mark.parametrize("name", ["run.json", "last.npz", "best.npz", "metrics.json"])
def test_a_folder_holding_a_run_is_refused_naming_resume_and_restart(tmp_path, name):
    out = _holding_a_run(tmp_path / "run", name)
    with pytest.raises(UserError) as e:
        RunFolder(out).open()
    message = _one_line(e.value)
    assert "--resume" in message and "--restart" in message and str(out) in message
    assert (out / name).read_bytes() == b"the old run's " + name.encode()  # untouched


def test_restart_moves_the_old_run_aside_and_keeps_its_files(tmp_path):
    out = _holding_a_run(tmp_path / "run")
    run = RunFolder(out, restart=True).open()
    old1 = tmp_path / "run.old-1"
    assert run.moved_to == old1
    assert (old1 / "last.npz").read_bytes() == b"the old run's last.npz"
    assert (old1 / "gallery.html").read_text() == "old figures"
    assert out.is_dir() and [p.name for p in out.iterdir()] == ["run.json"]  # the new run's marker only
    assert str(old1) in run.report()

    (out / "metrics.json").write_text("{}")  # the second run
    run2 = RunFolder(out, restart=True).open()
    assert run2.moved_to == tmp_path / "run.old-2"
    assert sorted(p.name for p in (tmp_path / "run.old-2").iterdir()) == ["metrics.json", "run.json"]
    assert (old1 / "last.npz").read_bytes() == b"the old run's last.npz"  # the first one is still there


def test_restart_of_a_folder_without_a_run_moves_nothing(tmp_path):
    run = RunFolder(tmp_path / "run", restart=True).open()
    assert run.moved_to is None and not (tmp_path / "run.old-1").exists()


def test_resume_needs_a_run(tmp_path):
    with pytest.raises(UserError, match=r"^--resume: there is no run to continue in") as e:
        RunFolder(tmp_path / "run", resume=True).open()
    _one_line(e.value)
    assert not (tmp_path / "run").exists()  # nothing created
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not a run")
    with pytest.raises(UserError, match=r"^--resume: there is no run to continue in"):
        RunFolder(tmp_path / "empty", resume=True).open()


def test_resume_opens_the_run_in_place(tmp_path):
    out = _holding_a_run(tmp_path / "run")
    run = RunFolder(out, resume=True).open()
    assert run.moved_to is None and (out / "last.npz").read_bytes() == b"the old run's last.npz"
    assert sorted(p.name for p in out.iterdir()) == ["gallery.html", "last.npz"]  # nothing added, nothing moved


def test_resume_and_restart_exclude_each_other(tmp_path):
    with pytest.raises(UserError, match="--resume and --restart"):
        RunFolder(tmp_path / "run", resume=True, restart=True)


# ---- stale temp files -----------------------------------------------------------------------------------
def test_open_removes_stale_temp_files_only(tmp_path):
    out = _holding_a_run(tmp_path / "run")
    stale = [".last.npz.abcdef012345.tmp", ".metrics.json.0123456789ab.tmp"]
    kept = ["notes.tmp", ".last.npz.abc.tmp", ".last.npz.ABCDEF012345.tmp", "last.npz.abcdef012345.tmp"]
    for name in stale + kept:
        (out / name).write_bytes(b"x")
    run = RunFolder(out, resume=True).open()
    assert sorted(p.name for p in out.iterdir()) == sorted(kept + ["last.npz", "gallery.html"])
    assert run.stale_removed == 2 and "2 temp file" in run.report()


_SAVER = r"""
import sys
import numpy as np
from demokit.checkpoints import save_checkpoint
from minigrad import nn

model = nn.Linear(2000, 4000)  # 32 MB of weights: a save takes long enough to be killed in the middle
for i in range(1, 10**6):
    model.weight.data.fill(i)
    save_checkpoint(sys.argv[1], {"kind": "killed", "i": i, "model": model.state_dict()}, model)
    print(i, flush=True)
"""


def _kill_while_writing(out: Path) -> int:
    """Start the saver, SIGKILL it while a temp file is being written; return how many saves it finished."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(out / "last.npz")], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, saved = time.monotonic() + 20, False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                size = (out / "last.npz").stat().st_size
                writing = any(p.stat().st_size > 1_000_000 for p in out.iterdir() if TEMP.match(p.name))
            except FileNotFoundError:  # a temp file renamed while we looked
                continue
            saved = saved or size > 30_000_000  # the saver's own checkpoint is there
            if saved and (writing or size < 30_000_000):  # (a save that is not atomic rewrites last.npz itself)
                break  # the next save is half-way through
            time.sleep(0.001)
        assert proc.poll() is None, f"the saver stopped: {proc.stderr.read()}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return len(proc.stdout.read().split())


def test_kill_9_during_a_save_leaves_the_previous_checkpoint_and_open_removes_the_temp_file(tmp_path):
    from minigrad import nn

    out = tmp_path / "run"
    out.mkdir()
    small = nn.Linear(2, 3)
    save_checkpoint(out / "last.npz", {"kind": "killed", "i": 0, "model": small.state_dict()}, small)
    for _attempt in range(5):  # the kill may land between two saves: then try again
        finished = _kill_while_writing(out)
        if any(TEMP.match(p.name) for p in out.iterdir()) or (out / "last.npz").stat().st_size < 30_000_000:
            break
    else:
        pytest.fail("could not kill the saver while it was writing")

    state = load_checkpoint(out / "last.npz", "killed", required={"i": int, "model": dict})
    assert state["i"] >= 1 and state["i"] in (finished, finished + 1)  # +1: killed between the rename and the print
    assert np.all(state["model"]["weight"] == state["i"])  # a whole checkpoint, not a mix of two

    run = RunFolder(out, resume=True).open()
    assert run.stale_removed >= 1
    assert sorted(p.name for p in out.iterdir()) == ["last.npz"]
    assert load_checkpoint(out / "last.npz", "killed")["i"] == state["i"]


# ---- atomic writes --------------------------------------------------------------------------------------
def test_writes_leave_only_their_files(tmp_path):
    run = RunFolder(tmp_path / "run").open()
    run.write_json("metrics.json", {"bleu": 12.5, "사과": "를"})
    run.write_bytes("model.spm", b"\x00\x01")
    run.write_text("gallery.html", "<p>한국어</p>")
    write_atomic(run / "x.bin", b"x")
    names = sorted(p.name for p in run.path.iterdir())
    assert names == ["gallery.html", "metrics.json", "model.spm", "run.json", "x.bin"]
    assert (run / "gallery.html").read_text(encoding="utf-8") == "<p>한국어</p>"
    text = (run / "metrics.json").read_text(encoding="utf-8")
    assert '"사과": "를"' in text and text.endswith("\n")  # Hangul as it is, not \uXXXX


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    write_json(target, {"ok": 1})

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(demokit.runs.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_json(target, {"ok": 2})
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_unserialisable_data_writes_nothing(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"ok": 1})
    with pytest.raises(TypeError):
        write_json(target, {"ok": {1, 2}})
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


# ---- strict JSON: a property test -----------------------------------------------------------------------
_floats = st.floats(allow_nan=True, allow_infinity=True)
_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=4), _floats,
    _floats.map(np.float64), st.floats(width=32, allow_nan=True, allow_infinity=True).map(np.float32),
    st.integers(-1000, 1000).map(np.int64), st.booleans().map(np.bool_),
    hnp.arrays(st.sampled_from([np.float32, np.float64]), hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
               elements=st.floats(width=32, allow_nan=True, allow_infinity=True)),
    hnp.arrays(np.int32, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3)),
)
_trees = st.recursive(
    _leaves,
    lambda kids: st.lists(kids, max_size=4) | st.tuples(kids, kids) | st.dictionaries(st.text(max_size=4), kids,
                                                                                      max_size=4),
    max_leaves=25,
)


def _expected(v):
    """What strict JSON must hold (independent of demokit.runs.to_json): non-finite floats -> None."""
    if isinstance(v, dict):
        return {str(k): _expected(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_expected(x) for x in v]
    if isinstance(v, np.ndarray):
        return _expected(v.tolist())
    if isinstance(v, np.generic):
        return _expected(v.item())
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return v


def _refuse(name: str):
    raise AssertionError(f"metrics.json holds {name}, which is not JSON")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_trees)
def test_write_json_never_writes_nan_or_infinity(tmp_path, data):
    target = tmp_path / "metrics.json"
    write_json(target, {"figures": data})
    text = target.read_text(encoding="utf-8")
    assert json.loads(text, parse_constant=_refuse) == {"figures": _expected(data)}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_write_json_turns_nonfinite_values_into_null_in_the_file(tmp_path):
    data = {"a": float("nan"), "b": [np.float32("inf"), -math.inf], "c": np.array([1.5, np.nan])}
    write_json(tmp_path / "m.json", data)
    text = (tmp_path / "m.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [None, None], "c": [1.5, None]}
