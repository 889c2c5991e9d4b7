"""Run folders: where a run's checkpoints, figures and metrics.json live, so that no work is ever lost.

A run folder is checked before any work starts:
    - it is created (with its parents) and probed for writing: an unwritable --out fails at once, in one line;
    - temp files left by a save that was killed (".<name>.<hex>.tmp") are removed;
    - a folder that already holds a run is never silently overwritten: a new run refuses (continue it with
      --resume) unless --restart is given, which MOVES the old run aside to "<out>.old-<n>" (nothing is deleted);
    - --resume needs a folder that holds a run (its run.json marker, written when the run started);
    - a new run that fails on its input before writing anything else (exit 2) takes its marker back
      (discard_unstarted, called by cli.run_command), so the corrected command is not refused.
Every file is written atomically: a temp file in the same folder, flushed to disk, then renamed over the target,
so a reader (or a crash) never sees half a file. metrics.json is strict JSON: NaN and infinities become null.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any

import numpy as np

from demokit.errors import UserError

MARKER = "run.json"  # written when a run starts: the command line and the start time
RUN_FILES = (MARKER, "last.npz", "best.npz", "metrics.json")  # any of these: "this folder holds a run"
_FRESH: list[RunFolder] = []  # new runs opened by this process (see discard_unstarted)
_TEMP = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")  # minigrad.checkpoint.save's and write_atomic's temp names


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` atomically (temp file in the same folder, fsync, rename); returns the path."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def to_json(value: Any) -> Any:
    """A JSON-able copy of `value`: NumPy scalars/arrays to Python, NaN/inf to None, paths to strings."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, np.generic):
        return to_json(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Strict JSON (no NaN/Infinity: they become null), UTF-8 with Hangul as it is, written atomically."""
    text = json.dumps(to_json(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return write_atomic(path, text.encode("utf-8"))


class RunFolder:
    """The folder of one run (see the module docstring). `RunFolder(out, resume=..., restart=...).open()`."""

    def __init__(self, path: str | os.PathLike[str], resume: bool = False, restart: bool = False) -> None:
        if resume and restart:
            raise UserError("--resume and --restart exclude each other: continue the run, or start over")
        self.path, self.resume, self.restart = Path(path), resume, restart
        self.moved_to: Path | None = None

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def holds_run(self) -> bool:
        return any((self.path / name).exists() for name in RUN_FILES)

    def open(self) -> RunFolder:
        """Create, probe and clean the folder; refuse or move aside an existing run (see the module docstring)."""
        out = self.path
        if out.exists() and not out.is_dir():
            raise UserError(f"--out {out}: is a file, not a folder")
        if self.resume:
            if not (out.is_dir() and self.holds_run()):
                raise UserError(f"--resume: there is no run to continue in {out}")
        elif out.is_dir() and self.holds_run():
            if not self.restart:
                raise UserError(
                    f"--out {out} already holds a run: continue it with --resume, or start over with --restart "
                    "(the old run is moved aside, not deleted)"
                )
            self.moved_to = self._move_aside()
        self._created = not out.is_dir()
        try:
            out.mkdir(parents=True, exist_ok=True)
            write_atomic(out / ".write-probe", b"")
            (out / ".write-probe").unlink()
        except OSError as e:
            raise UserError(f"--out {out}: cannot write there ({e.strerror or e})") from None
        self.stale_removed = self._remove_stale_temp_files()
        if not self.resume:
            started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            self._before = {p.name for p in out.iterdir()}  # what discard_unstarted must leave
            self.write_json(MARKER, {"command": [Path(sys.argv[0]).name, *sys.argv[1:]], "started": started})
            _FRESH.append(self)
        return self

    def _move_aside(self) -> Path:
        n = 1
        while (dest := self.path.with_name(f"{self.path.name}.old-{n}")).exists():
            n += 1
        try:
            self.path.rename(dest)
        except OSError as e:
            raise UserError(f"--restart: cannot move {self.path} aside to {dest} ({e.strerror or e})") from None
        return dest

    def _remove_stale_temp_files(self) -> int:
        removed = 0
        for p in self.path.iterdir():
            if _TEMP.match(p.name) and p.is_file():
                p.unlink()
                removed += 1
        return removed

    def write_json(self, name: str, data: Any) -> Path:
        return write_json(self.path / name, data)

    def write_bytes(self, name: str, data: bytes) -> Path:
        return write_atomic(self.path / name, data)

    def write_text(self, name: str, text: str) -> Path:
        return write_atomic(self.path / name, text.encode("utf-8"))

    def report(self) -> str:
        """What open() did, as a line for the log (empty when there is nothing to say)."""
        notes = []
        if self.moved_to is not None:
            notes.append(f"the previous run in {self.path} was moved to {self.moved_to}")
        if getattr(self, "stale_removed", 0):
            notes.append(f"removed {self.stale_removed} temp file(s) left by an interrupted save")
        return "; ".join(notes)


def opened_runs() -> int:
    """How many new runs this process has opened so far (pass it to discard_unstarted)."""
    return len(_FRESH)


def discard_unstarted(first: int = 0) -> None:
    """Take back the marker (and the folder, if open() created it) of the new runs opened since `first` that wrote
    nothing else: a command that failed on its input (exit 2) before any work leaves --out free for the corrected
    command."""
    for run in _FRESH[first:]:
        try:
            if {p.name for p in run.path.iterdir()} - run._before == {MARKER}:
                (run.path / MARKER).unlink()
                if run._created and not any(run.path.iterdir()):
                    run.path.rmdir()
        except OSError:
            pass
    del _FRESH[first:]
