"""demokit.cli: option types reject bad values at parse time (argparse's exit 2), the shared run options and their
documented defaults, given_options/resumed for --resume, and run_command's exit codes with ONE line on stderr."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from testkit import help_entries

from demokit import cli
from demokit.errors import Diverged, Interrupted, UserError
from demokit.runs import RunFolder
from minigrad.checkpoint import CheckpointError

REPO = Path(__file__).resolve().parents[2]

BAD = {  # (type, values it must refuse)
    "positive_int": (cli.positive_int, ["0", "-1", "abc", "1.5", "nan", "inf", ""]),
    "nonnegative_int": (cli.nonnegative_int, ["-1", "abc", "0.5", "nan", "inf"]),
    "positive_float": (cli.positive_float, ["0", "-1", "-0.0", "nan", "inf", "-inf", "abc", ""]),
    "nonnegative_float": (cli.nonnegative_float, ["-1", "-1e-9", "nan", "inf", "abc"]),
    "unit_float": (cli.unit_float, ["-0.1", "1.1", "nan", "inf", "-inf", "abc"]),
    "dropout_float": (cli.dropout_float, ["1", "1.0", "-0.1", "nan", "inf", "abc"]),
    "int_range(1, 5)": (cli.int_range(1, 5), ["0", "6", "-1", "2.5", "abc", "nan"]),
}
GOOD = {  # (type, [(text, value)])
    "positive_int": (cli.positive_int, [("1", 1), ("64", 64)]),
    "nonnegative_int": (cli.nonnegative_int, [("0", 0), ("7", 7)]),
    "positive_float": (cli.positive_float, [("1e-3", 1e-3), ("2", 2.0)]),
    "nonnegative_float": (cli.nonnegative_float, [("0", 0.0), ("0.5", 0.5)]),
    "unit_float": (cli.unit_float, [("0", 0.0), ("1", 1.0), ("0.25", 0.25)]),
    "dropout_float": (cli.dropout_float, [("0", 0.0), ("0.99", 0.99)]),
    "int_range(1, 5)": (cli.int_range(1, 5), [("1", 1), ("5", 5)]),
}


def _parser_with(kind) -> argparse.ArgumentParser:
    p = cli.parser("prog", "a test command")
    p.add_argument("--x", type=kind, default=None, help="the option under test")
    return p


@pytest.mark.parametrize("name,value", [(n, v) for n, (_, vs) in BAD.items() for v in vs])
def test_option_types_refuse_bad_values_with_argparse_exit_2(name, value, capsys):
    with pytest.raises(SystemExit) as e:
        _parser_with(BAD[name][0]).parse_args(["--x", value])
    assert e.value.code == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("prog: error: argument --x:") and "Traceback" not in err


@pytest.mark.parametrize("name,text,value", [(n, t, v) for n, (_, tv) in GOOD.items() for t, v in tv])
def test_option_types_accept_good_values(name, text, value):
    got = _parser_with(GOOD[name][0]).parse_args(["--x", text]).x
    assert got == value and type(got) is type(value)


def test_the_refusal_says_what_is_expected(capsys):
    with pytest.raises(SystemExit):
        _parser_with(cli.positive_float).parse_args(["--x", "0"])
    assert "must be a number > 0, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parser_with(cli.int_range(32, 64)).parse_args(["--x", "abc"])
    assert "expected an integer in [32, 64], got 'abc'" in capsys.readouterr().err


# ---- the shared run options -----------------------------------------------------------------------------
def _run_parser() -> argparse.ArgumentParser:
    p = cli.parser("prog", "a training command")
    cli.add_run_options(p, out="runs/x", epochs=5)
    return p


def test_run_options_defaults():
    ns = _run_parser().parse_args([])
    assert vars(ns) == {"epochs": 5, "out": "runs/x", "resume": False, "restart": False, "seed": 0, "threads": 1,
                        "max_minutes": 0.0, "progress": True}
    assert _run_parser().parse_args(["--no-progress", "--max-minutes", "2.5"]).progress is False


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--threads", "0"], ["--seed", "-1"], ["--max-minutes", "-1"],
                                  ["--max-minutes", "nan"], ["--epochs", "2.5"]])
def test_run_options_are_checked_at_parse_time(argv):
    with pytest.raises(SystemExit) as e:
        _run_parser().parse_args(argv)
    assert e.value.code == 2


def test_help_documents_every_run_option_with_its_default():
    entries = help_entries(_run_parser().format_help())
    expected = {"--epochs EPOCHS": "5", "--out OUT": "runs/x", "--resume": None, "--restart": None,
                "--seed SEED": "0", "--threads THREADS": "1", "--max-minutes MAX_MINUTES": "0.0",
                "--progress, --no-progress": "True"}
    assert set(expected) | {"-h, --help"} == set(entries)
    for option, default in expected.items():
        described = re.sub(r"\(default: [^)]*\)", "", entries[option]).strip()
        assert described, f"{option} has no help text"
        if default is None:  # a False default is not shown: the help says what the flag does
            assert "(default:" not in entries[option]
        else:
            assert entries[option].endswith(f"(default: {default})"), entries[option]


def test_to_config_keeps_the_dataclass_fields_only():
    @dataclass
    class Config:
        epochs: int
        seed: int
        lr: float = 0.1

    cfg = cli.to_config(_run_parser().parse_args(["--seed", "4"]), Config)
    assert cfg == Config(epochs=5, seed=4, lr=0.1)


# ---- given_options and resumed (--resume keeps the run's own settings) ----------------------------------
def test_given_options_names_what_was_typed():
    p = _run_parser()
    assert cli.given_options(p, []) == set()
    assert cli.given_options(p, ["--seed", "3", "--no-progress"]) == {"seed", "progress"}
    assert cli.given_options(p, ["--seed", "0"]) == {"seed"}  # typed, even if it equals the default
    assert p.parse_args([]).seed == 0 and p.parse_args([]).out == "runs/x"  # the defaults are back


def test_given_options_ignores_parser_level_defaults():
    """p.set_defaults(out=None) (seq2seq does this) is a default, not something the user typed."""
    p = _run_parser()
    p.set_defaults(out=None, task="corpus")
    assert cli.given_options(p, []) == set()
    assert cli.given_options(p, ["--out", "x"]) == {"out"}
    assert vars(p.parse_args([]))["out"] is None and p.parse_args([]).task == "corpus"


def test_given_options_leaves_the_defaults_of_options_sharing_a_dest():
    p = cli.parser("prog", "d")
    p.add_argument("--quiet", action="store_true", help="no bars")
    p.add_argument("--verbose", dest="quiet", action="store_false", default=True, help="bars")
    before = p.parse_args([]).quiet
    assert cli.given_options(p, ["--verbose"]) == {"quiet"}
    assert p.parse_args([]).quiet is before


def test_resumed_keeps_the_saved_settings_except_typed_run_control(capsys):
    current = {"hidden": 64, "lr": 0.1, "epochs": 10, "patience": 3}
    saved = {"hidden": 32, "lr": 0.01, "epochs": 4, "patience": 2, "gone": 1}
    merged = cli.resumed(current, saved, given={"epochs", "hidden"}, run_control={"epochs", "patience"})
    assert merged == {"hidden": 32, "lr": 0.01, "epochs": 10, "patience": 2}
    err = capsys.readouterr().err
    assert err == "note: --resume keeps the run's own settings; ignored: --hidden\n"
    cli.resumed(current, saved, given={"epochs"}, run_control={"epochs"})
    assert capsys.readouterr().err == ""


# ---- run_command: exit codes and ONE line on stderr -----------------------------------------------------
@pytest.mark.parametrize("exc,code,line", [
    (UserError("--csv prices.csv: no column 'Close'\n  (columns: Date, Open)"), 2,
     "error: --csv prices.csv: no column 'Close' (columns: Date, Open)"),
    (CheckpointError("run/last.npz: the entry 'model' is missing"), 2,
     "error: run/last.npz: the entry 'model' is missing"),
    (FileNotFoundError(2, "No such file or directory", "data.tsv"), 2, "error: data.tsv: No such file or directory"),
    (IsADirectoryError(21, "Is a directory", "runs"), 2, "error: runs: Is a directory"),
    (PermissionError(13, "Permission denied", "/root/x"), 2, "error: /root/x: Permission denied"),
    (Diverged("epoch 3, step 120: the training loss is nan; lower --lr"), 1,
     "error: epoch 3, step 120: the training loss is nan; lower --lr"),
    (Interrupted("interrupted: saved runs/x/last.npz; continue with --resume --out runs/x"), 130,
     "interrupted: saved runs/x/last.npz; continue with --resume --out runs/x"),
])
def test_run_command_maps_failures_to_exit_codes_and_one_line(exc, code, line, capsys):
    def main(argv):
        raise exc

    assert cli.run_command(main, []) == code
    out, err = capsys.readouterr()
    assert err == line + "\n" and out == ""


def test_run_command_returns_what_main_returns(capsys):
    assert cli.run_command(lambda argv: None, []) == 0
    assert cli.run_command(lambda argv: 0, []) == 0
    assert cli.run_command(lambda argv: 3, []) == 3
    seen = []
    cli.run_command(lambda argv: seen.append(argv), ["--a", "1"])
    assert seen == [["--a", "1"]] and capsys.readouterr().err == ""


def test_a_run_that_fails_on_its_input_leaves_out_free(tmp_path, capsys):
    """A typo in --data must not leave a run marker that refuses the corrected command ("already holds a run")."""
    out = tmp_path / "new" / "run"

    def bad_input(argv):
        RunFolder(out).open()  # before any work, as every command does
        raise FileNotFoundError(2, "No such file or directory", "typo.tsv")

    assert cli.run_command(bad_input, []) == 2
    assert not out.exists() and (tmp_path / "new").is_dir()  # only what open() created goes
    RunFolder(out).open()  # the corrected command


def test_a_failed_run_keeps_what_it_wrote_and_what_was_there(tmp_path):
    kept = tmp_path / "kept"

    def wrote_something(argv):
        run = RunFolder(kept).open()
        run.write_json("metrics.json", {})
        raise UserError("a bad option found late")

    assert cli.run_command(wrote_something, []) == 2
    assert sorted(p.name for p in kept.iterdir()) == ["metrics.json", "run.json"]

    other = tmp_path / "other"
    RunFolder(other).open()  # opened before (and outside) this command: not its business
    old = RunFolder(tmp_path / "old", restart=True)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "notes.txt").write_text("mine")

    def restart_then_fail(argv):
        old.open()
        raise UserError("bad --data")

    assert cli.run_command(restart_then_fail, []) == 2
    assert (other / "run.json").exists()
    assert (tmp_path / "old" / "notes.txt").read_text() == "mine" and not (tmp_path / "old" / "run.json").exists()

    def diverged(argv):
        RunFolder(tmp_path / "diverged").open()
        raise Diverged("epoch 1, step 1: the training loss is nan")

    assert cli.run_command(diverged, []) == 1
    assert (tmp_path / "diverged" / "run.json").exists()  # a run took place: exit 1 keeps its folder


def test_run_command_does_not_hide_a_bug():
    def main(argv):
        raise RuntimeError("a bug: its traceback is wanted")

    with pytest.raises(RuntimeError):
        cli.run_command(main, [])


_COMMAND = r"""
import sys
from demokit.cli import run_command
from demokit.errors import Diverged, Interrupted, UserError
from demokit.runs import RunFolder
from minigrad.checkpoint import CheckpointError


def main(argv):
    what = (sys.argv[1:] if argv is None else argv)[0]  # argparse's convention: None means sys.argv
    if what == "ok":
        return 0
    if what == "user":
        raise UserError("--lr: must be > 0")
    if what == "checkpoint":
        raise CheckpointError("run/last.npz: truncated or corrupt checkpoint")
    if what == "missing":
        open("/nonexistent-dir/data.csv")
    if what == "diverged":
        raise Diverged("epoch 1, step 3: the gradient norm is inf")
    if what == "interrupted":
        raise Interrupted("interrupted: saved last.npz; continue with --resume")
    if what == "ctrl-c":
        raise KeyboardInterrupt
    if what == "nested":
        try:
            {}["x"]
        except KeyError:
            raise UserError("a chained error is still one line") from None


if __name__ == "__main__":
    sys.exit(run_command(main))
"""
CASES = {"ok": 0, "user": 2, "checkpoint": 2, "missing": 2, "diverged": 1, "interrupted": 130, "ctrl-c": 130,
         "nested": 2}


@pytest.fixture(scope="module")
def command_results(tmp_path_factory):
    script = tmp_path_factory.mktemp("cmd") / "command.py"
    script.write_text(_COMMAND)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}

    def run(case):
        return subprocess.run([sys.executable, str(script), case], capture_output=True, text=True, env=env,
                              cwd=script.parent, timeout=120)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(CASES, pool.map(run, CASES)))


@pytest.mark.parametrize("case", list(CASES))
def test_a_command_exits_with_its_code_and_at_most_one_line_without_traceback(case, command_results):
    r = command_results[case]
    assert r.returncode == CASES[case], r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    lines = r.stderr.splitlines()
    if case == "ok":
        assert lines == []
    else:
        assert len(lines) == 1, r.stderr
        assert lines[0].startswith("error: ") == (CASES[case] in (1, 2))
    if case == "missing":
        assert lines == ["error: /nonexistent-dir/data.csv: No such file or directory"]
