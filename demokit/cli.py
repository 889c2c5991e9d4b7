"""The command-line conventions every demo command shares: option types checked at parse time, the options
every training command has (--out, --resume, --restart, --seed, --threads, --max-minutes, --progress), and
`run_command`, which turns every user-facing failure into one line on stderr and an exit code (demokit.errors).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import minigrad
from demokit.errors import EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_USAGE, Diverged, Interrupted, UserError
from demokit.runs import discard_unstarted, opened_runs
from minigrad.checkpoint import CheckpointError

T = TypeVar("T")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows every option's default, except None/False ones (their help text says what happens)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or action.default == argparse.SUPPRESS:
            return action.help or ""
        return super()._get_help_string(action) or ""


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=prog, description=description, formatter_class=HelpFormatter)


def _number(kind: Callable[[str], Any], ok: Callable[[Any], bool], rule: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {rule}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    parse.__name__ = rule  # argparse names the type in its messages
    return parse


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")


positive_int = _number(int, lambda v: v >= 1, "an integer >= 1")
nonnegative_int = _number(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _number(float, lambda v: _finite(v) and v > 0, "a number > 0")
nonnegative_float = _number(float, lambda v: _finite(v) and v >= 0, "a number >= 0")
unit_float = _number(float, lambda v: 0 <= v <= 1, "a number in [0, 1]")
dropout_float = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def int_range(low: int, high: int) -> Callable[[str], int]:
    return _number(int, lambda v: low <= v <= high, f"an integer in [{low}, {high}]")


@dataclass
class RunOptions:
    """The options add_run_options() adds; a demo's Config dataclass extends it (and may re-declare `out`)."""

    seed: int = 0
    threads: int = 1
    out: str | None = None
    resume: bool = False
    restart: bool = False
    max_minutes: float = 0.0
    progress: bool = True


def add_run_options(p: argparse.ArgumentParser, out: str, epochs: int | None = None) -> argparse._ArgumentGroup:
    """The options of every training command; returns their group so a demo can add its own training options."""
    g = p.add_argument_group("run")
    if epochs is not None:
        g.add_argument("--epochs", type=positive_int, default=epochs, help="passes over the training data")
    g.add_argument("--out", default=out, help="run folder: checkpoints, figures and metrics.json are written here")
    g.add_argument("--resume", action="store_true",
                   help="continue the run in --out exactly where it stopped (last.npz: weights, optimizer, "
                   "schedule, early stopping, data order)")
    g.add_argument("--restart", action="store_true",
                   help="start over even though --out holds a run: the old run is moved to <out>.old-<n>")
    g.add_argument("--seed", type=nonnegative_int, default=0,
                   help="seed of the data, initialisation, dropout and data order: the same seed repeats a run "
                   "bit for bit")
    g.add_argument("--threads", type=positive_int, default=1,
                   help="BLAS threads for NumPy (minigrad.set_num_threads); 1 is fastest for these small models "
                   "and far faster on a busy machine")
    g.add_argument("--max-minutes", type=nonnegative_float, default=0.0,
                   help="opt-in wall-clock budget: stop after the step that exceeds it and save last.npz "
                   "(0 = none; runs are defined by --epochs so that a seed gives the same model on any machine)")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="tqdm progress bars")
    return g


def to_config(ns: argparse.Namespace, cls: type[T]) -> T:
    """The typed config dataclass `cls` from parsed options (nothing below the CLI reads a Namespace)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in vars(ns).items() if k in names})


def given_options(p: argparse.ArgumentParser, argv: Sequence[str] | None) -> set[str]:
    """The dest names of the options typed on the command line (not left at their defaults)."""
    # per action, not per dest: options sharing a dest (--quiet/--verbose) keep their own defaults
    defaults = [(a, a.default) for a in p._actions]
    parser_defaults, p._defaults = p._defaults, {}  # set_defaults() values are defaults, not typed
    try:
        for a in p._actions:
            a.default = argparse.SUPPRESS
        ns = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    finally:
        for a, default in defaults:
            a.default = default
        p._defaults = parser_defaults
    return set(vars(ns))


def resumed(config: dict[str, Any], saved: dict[str, Any], given: set[str], run_control: set[str]) -> dict[str, Any]:
    """On --resume: the saved settings, except the run-control options typed now (epochs, patience, ...).

    Options typed now that would change the model or the data are ignored, with one note on stderr.
    """
    merged = {**config, **{k: v for k, v in saved.items() if k in config}}
    for key in given & run_control:
        merged[key] = config[key]
    ignored = sorted(k for k in given - run_control if k in saved and saved[k] != config[k])
    if ignored:
        names = ", ".join("--" + k.replace("_", "-") for k in ignored)
        print(f"note: --resume keeps the run's own settings; ignored: {names}", file=sys.stderr)
    return merged


def run_command(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Run a command's `main(argv)`, mapping failures to one stderr line and the shared exit codes."""
    first = opened_runs()
    try:
        return int(main(argv) or 0)
    except (UserError, CheckpointError, FileNotFoundError, IsADirectoryError, PermissionError) as e:
        discard_unstarted(first)  # bad input before any work: leave --out free for the corrected command
        return _fail(e, EXIT_USAGE)
    except Diverged as e:
        return _fail(e, EXIT_DIVERGED)
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("interrupted (stopped at once: last.npz holds the last finished epoch)", file=sys.stderr)
        return EXIT_INTERRUPTED


def _fail(e: BaseException, code: int) -> int:
    message = str(e)
    if isinstance(e, OSError) and e.filename is not None:
        message = f"{e.filename}: {e.strerror or e}"
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return code


def set_threads(n: int) -> None:
    minigrad.set_num_threads(n)
