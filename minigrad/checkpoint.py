"""Checkpoints: a nested dict of arrays and plain values in ONE `.npz` file, no pickle, written atomically.

    checkpoint.save({"config": cfg, "model": model.state_dict(), "optim": opt.state_dict(),
                     "sched": sched.state_dict(), "step": 1200}, "runs/lstm/ckpt.npz")
    state = checkpoint.load("runs/lstm/ckpt.npz")
    checkpoint.check_config(state["config"], cfg, "runs/lstm/ckpt.npz")   # same model shape?

What `state` may hold: dicts (keys str or int -- an optimizer's state is keyed by parameter index),
lists and tuples, NumPy arrays (any non-object dtype), NumPy scalars, and Python int, float, bool, str
and None. Anything else (a Tensor, a function, a set) is refused with a TypeError naming its path.

File layout (a plain zip of `.npy` files, readable with `np.load(path, allow_pickle=False)`):
    "model/encoder.weight_ih", "optim/state/0/exp_avg", ...   one entry per array, named by its path
    "__header__"   a uint8 array: UTF-8 JSON {"format": "minigrad-checkpoint", "version": 1, "tree": ...}
The tree is the nested structure with every array replaced by a reference to its entry; non-array
leaves are stored in the JSON itself. JSON keeps 3 and 3.0 apart, so ints stay ints and floats floats;
dicts, tuples and arrays are tagged so that they come back as the same types:
    {"__dict__": [[key, value], ...]}   {"__tuple__": [...]}   {"__array__": "model/w"}
    {"__scalar__": "step"}  (a NumPy scalar, kept as a 0-d array so its dtype survives)
Non-finite floats (best = inf) are written as Python's json writes them: NaN, Infinity, -Infinity.

Why no pickle: unpickling runs code chosen by whoever wrote the file, so a downloaded checkpoint could
do anything; `allow_pickle=False` makes np.load refuse object arrays instead.
Why atomic: the file is written to a temporary name in the same folder, flushed to disk, then renamed
over the target (`os.replace` is atomic), so a crash or full disk mid-save never leaves a half-written
checkpoint where the previous good one was.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import zipfile
import zlib
from typing import Any

import numpy as np

FORMAT = "minigrad-checkpoint"
VERSION = 1
HEADER_KEY = "__header__"
# np.savez(file, *args, allow_pickle=..., **arrays) would take these array names as its own arguments.
_RESERVED_NAMES = frozenset({HEADER_KEY, "file", "allow_pickle", "args"})


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, not a minigrad checkpoint, or for another model."""


# ---- save ---------------------------------------------------------------------------------------------
def save(state: dict[str, Any], path: str | os.PathLike[str], compress: bool = False) -> None:
    """Write `state` (a nested dict, see the module docstring) to `path` as one `.npz`, atomically.

    Parent folders are created. compress=True uses zip deflate (smaller, slower to write and read).
    Raises TypeError for a value that cannot be stored without pickle.
    """
    if not isinstance(state, dict):
        raise TypeError(f"checkpoint.save: state must be a dict, got {type(state).__name__}")
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(state, "", arrays)
    header = {"format": FORMAT, "version": VERSION, "tree": tree}
    # allow_nan: float leaves such as best = inf (ReduceLROnPlateau) must round-trip
    text = json.dumps(header, ensure_ascii=False, allow_nan=True)
    arrays[HEADER_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # A fresh name in the same folder (os.replace is atomic only within one file system). Opened with
    # "xb" rather than tempfile.mkstemp so the checkpoint gets the usual permissions, not mkstemp's 0600.
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "xb") as f:
            writer = np.savez_compressed if compress else np.savez
            writer(f, **arrays)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the rename makes them the checkpoint
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_folder(folder)


def _encode(value: Any, where: str, arrays: dict[str, np.ndarray]) -> Any:
    """The JSON tree for `value`; arrays go into `arrays` under a unique name derived from `where`."""
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError(f"checkpoint.save: {where or 'state'} is an object array, which needs pickle; "
                            "store a numeric array or a list of strings instead")
        return {"__array__": _add_array(value, where, arrays)}
    if isinstance(value, np.generic):  # before float: np.float64 is a float subclass but would lose its type
        if isinstance(value, np.object_):
            raise TypeError(f"checkpoint.save: {where or 'state'} is a NumPy object scalar")
        return {"__scalar__": _add_array(np.asarray(value), where, arrays)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        items = []
        for key, v in value.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"checkpoint.save: key {key!r} in {where or 'state'} is a "
                                f"{type(key).__name__}; keys must be str or int")
            items.append([key, _encode(v, f"{where}/{key}" if where else str(key), arrays)])
        return {"__dict__": items}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{where}/{i}" if where else str(i), arrays) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    hint = " (save its .data array)" if isinstance(getattr(value, "data", None), np.ndarray) else ""
    raise TypeError(f"checkpoint.save: cannot store {where or 'state'} of type {type(value).__name__}{hint}; "
                    "allowed: dict, list, tuple, NumPy array, int, float, bool, str, None")


def _add_array(a: np.ndarray, where: str, arrays: dict[str, np.ndarray]) -> str:
    """Store `a` under the name `where`, made unique (a key may itself contain '/')."""
    name, n = where or "array", 1
    while name in arrays or name in _RESERVED_NAMES:
        name, n = f"{where}~{n}", n + 1
    arrays[name] = a
    return name


def _fsync_folder(folder: str) -> None:
    """Flush the rename itself to disk (POSIX); not possible on Windows, where it is skipped."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- load ---------------------------------------------------------------------------------------------
def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by `save`: the same nested dict, array dtypes and value types.

    Raises CheckpointError (one line naming the file) if the file is missing, truncated or corrupt, is
    not a minigrad checkpoint, has an unknown version, or contains pickled objects.
    """
    path = os.fspath(path)
    try:
        # our own handle, closed by `with` on every path (np.load leaks its own when the zip is corrupt)
        f = open(path, "rb")
    except FileNotFoundError:
        raise CheckpointError(f"{path}: checkpoint file not found") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read the checkpoint ({_one_line(e)})") from None
    with f:
        try:
            npz = np.load(f, allow_pickle=False)
        except ValueError as e:
            if "pickle" in str(e):  # np.load's guess for a file that is neither .npy nor .npz
                raise CheckpointError(f"{path}: not a minigrad checkpoint (not an .npz file)") from None
            raise CheckpointError(f"{path}: cannot read the checkpoint ({_one_line(e)})") from None
        except EOFError:
            raise CheckpointError(f"{path}: the checkpoint file is empty") from None
        except (zipfile.BadZipFile, zlib.error) as e:
            raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({_one_line(e)})") from None
        except OSError as e:
            raise CheckpointError(f"{path}: cannot read the checkpoint ({_one_line(e)})") from None
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path}: not a minigrad checkpoint (one .npy array, not an .npz archive)")
        with npz:
            if HEADER_KEY not in npz.files:
                raise CheckpointError(f"{path}: not a minigrad checkpoint (no {HEADER_KEY} in the .npz)")
            header = _read_header(npz, path)
            return _decode(header["tree"], npz, path)


def _read_member(npz: np.lib.npyio.NpzFile, name: str, path: str) -> np.ndarray:
    """One array of the archive; every way it can fail becomes a CheckpointError."""
    try:
        return npz[name]
    except KeyError:
        raise CheckpointError(f"{path}: corrupt checkpoint (header lists a missing array {name!r})") from None
    except ValueError as e:
        if "allow_pickle" in str(e) or "pickle" in str(e):
            raise CheckpointError(
                f"{path}: array {name!r} holds pickled Python objects; minigrad checkpoints never do, "
                "and loading them could run arbitrary code"
            ) from None
        raise CheckpointError(f"{path}: array {name!r} is corrupt ({_one_line(e)})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({_one_line(e)})") from None


def _read_header(npz: np.lib.npyio.NpzFile, path: str) -> dict[str, Any]:
    """Parse and check the JSON header: our format, a version we can read, a tree."""
    raw = _read_member(npz, HEADER_KEY, path)
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError(f"header is a {raw.dtype} array of shape {raw.shape}, not uint8 bytes")
        header = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: not a minigrad checkpoint (bad header: {_one_line(e)})") from None
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a minigrad checkpoint (header format {header.get('format')!r})")
    if header.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {header.get('version')!r} is not supported "
            f"(this minigrad reads version {VERSION})"
        )
    if not isinstance(header.get("tree"), dict):
        raise CheckpointError(f"{path}: corrupt checkpoint header (no tree)")
    return header


def _decode(node: Any, npz: np.lib.npyio.NpzFile, path: str) -> Any:
    """Rebuild the value that `_encode` turned into `node`."""
    if isinstance(node, list):
        return [_decode(v, npz, path) for v in node]
    if not isinstance(node, dict):
        return node  # str, int, float, bool, None
    try:
        if "__dict__" in node:
            return {key: _decode(v, npz, path) for key, v in node["__dict__"]}
        if "__tuple__" in node:
            return tuple(_decode(v, npz, path) for v in node["__tuple__"])
        if "__array__" in node:
            return _read_member(npz, node["__array__"], path)
        if "__scalar__" in node:
            return _read_member(npz, node["__scalar__"], path)[()]
    except (TypeError, ValueError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{path}: corrupt checkpoint header ({_one_line(e)})") from None
    raise CheckpointError(f"{path}: corrupt checkpoint header (unknown node {sorted(node)})")


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


# ---- config check -------------------------------------------------------------------------------------
def check_config(
    checkpoint_config: dict[str, Any], expected: dict[str, Any], path: str | os.PathLike[str]
) -> None:
    """Raise CheckpointError if the checkpoint's config differs from `expected` in any key of `expected`.

    Only the keys of `expected` are compared (pass the ones that fix the model's shape: vocab size, hidden
    size, layers...); lists and tuples compare equal when their items do.
    Message: "<path>: checkpoint is for another model: hidden 128 != 256 (checkpoint != expected)".
    """
    diffs = []
    for key, want in expected.items():
        if key not in checkpoint_config:
            diffs.append(f"{key} missing != {want!r}")
        elif not _same(checkpoint_config[key], want):
            diffs.append(f"{key} {checkpoint_config[key]!r} != {want!r}")
    if diffs:
        raise CheckpointError(
            f"{os.fspath(path)}: checkpoint is for another model: {', '.join(diffs)} (checkpoint != expected)"
        )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)
