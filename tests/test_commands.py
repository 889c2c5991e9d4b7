"""Every command-line command as a user runs it (a subprocess): --help exits 0 and documents every option; a bogus
option exits 2 (argparse); a missing input file exits 2 with ONE line on stderr starting with "error:" and no
traceback (demokit.errors' convention). Only --help-level and immediate-failure cases: the file stays fast, and
all the subprocesses run at once, in parallel, in a temporary folder (nothing is written into the repository)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from testkit import help_entries

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ["seq2vec.forecast", "seq2vec.memory", "seq2seq.train", "seq2seq.translate", "captioning.demo",
            "charlm.train", "charlm.sample"]
MISSING = "no-such-file"  # a name inside the temporary folder that does not exist

# (command, arguments that name a missing input file; {tmp} is the temporary folder, {missing} a path in it)
MISSING_INPUT = [
    ("seq2vec.forecast", ["--csv", "{missing}.csv", "--out", "{tmp}/forecast"]),
    ("seq2vec.forecast", ["--predict", "3", "--checkpoint", "{missing}.npz", "--out", "{tmp}/forecast-p"]),
    ("seq2seq.train", ["--data", "{missing}.tsv", "--out", "{tmp}/seq2seq"]),
    ("seq2seq.translate", ["--checkpoint", "{missing}.npz", "hello"]),
    ("captioning.demo", ["--image", "{missing}.png", "--out", "{tmp}/captioning"]),
    ("charlm.train", ["--text", "{missing}.txt", "--out", "{tmp}/charlm"]),
    ("charlm.sample", ["--checkpoint", "{missing}.npz"]),
]
# the one case where the command may name another file first: --image needs the model in --out, which is missing too
NAMES_ANOTHER_FILE = {"captioning.demo"}
# a tqdm bar (possibly cleared with \r and spaces) is not a message
TQDM = re.compile(r"\d+%\||\|\s*\d+/\d+\s*\[|\d+/\d+ \[\d|[0-9.]+\s*(it|s|batch|step)/(s|it|batch|step)\]")


def exists(module: str) -> bool:
    return (REPO / Path(*module.split("."))).with_suffix(".py").is_file()


def messages(stderr: str) -> list[str]:
    """stderr's lines, without tqdm bars and the blanks they leave."""
    lines = []
    for line in stderr.split("\n"):
        for part in line.split("\r"):
            if part.strip() and not TQDM.search(part):
                lines.append(part.strip())
    return lines


def _invocations(tmp: Path) -> dict[tuple, list[str]]:
    runs: dict[tuple, list[str]] = {}
    for module in COMMANDS:
        runs[(module, "--help")] = ["--help"]
        runs[(module, "--bogus")] = ["--bogus-option"]
    for i, (module, args) in enumerate(MISSING_INPUT):
        runs[(module, "missing", i)] = [a.format(tmp=tmp, missing=tmp / MISSING) for a in args]
    return {k: v for k, v in runs.items() if exists(k[0])}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every invocation's CompletedProcess (returncode None: it did not stop within the timeout)."""
    tmp = tmp_path_factory.mktemp("commands")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore::DeprecationWarning"}

    def run(item):
        key, args = item
        cmd = [sys.executable, "-m", key[0], *args]
        try:
            return key, subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=90)
        except subprocess.TimeoutExpired as e:
            return key, subprocess.CompletedProcess(cmd, None, e.stdout or "", f"(did not stop within {e.timeout} s)")

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(pool.map(run, _invocations(tmp).items()))
    done["tmp"] = tmp
    return done


def _needs(module: str) -> None:
    if not exists(module):
        pytest.skip(f"{module} does not exist yet")


def _show(r) -> str:
    return f"exit {r.returncode}; stderr:\n{r.stderr[-3000:]}"


@pytest.mark.parametrize("module", COMMANDS)
def test_help_exits_0_and_documents_every_option(module, results):
    _needs(module)
    r = results[(module, "--help")]
    assert r.returncode == 0, _show(r)
    assert r.stdout.startswith("usage: ") and "Traceback" not in r.stderr
    entries = help_entries(r.stdout)
    usage = r.stdout[: r.stdout.index("\n\n")]
    in_usage = set(re.findall(r"\[(--?[A-Za-z][\w-]*)", usage))
    listed = {opt for invocation in entries for opt in re.findall(r"(?:^|, )(--?[A-Za-z][\w-]*)", invocation)}
    assert in_usage <= listed, f"options in the usage line but not described: {sorted(in_usage - listed)}"
    undocumented = [inv for inv, text in entries.items() if not re.sub(r"\(default: [^)]*\)", "", text).strip()]
    assert undocumented == [], f"{module}: options without a help text: {undocumented}"


@pytest.mark.parametrize("module", COMMANDS)
def test_a_bogus_option_exits_2(module, results):
    _needs(module)
    r = results[(module, "--bogus")]
    assert r.returncode == 2, _show(r)
    assert "Traceback" not in r.stderr
    assert messages(r.stderr)[-1].endswith("error: unrecognized arguments: --bogus-option"), _show(r)


@pytest.mark.parametrize("case", range(len(MISSING_INPUT)),
                         ids=[f"{m}-{a[0]}" + ("-" + a[2] if a[0] == "--predict" else "") for m, a in MISSING_INPUT])
def test_a_missing_input_file_exits_2_with_one_line(case, results):
    module, _ = MISSING_INPUT[case]
    _needs(module)
    r = results[(module, "missing", case)]
    assert "Traceback" not in r.stderr, _show(r)
    lines = messages(r.stderr)
    assert r.returncode == 2, _show(r)
    assert len(lines) == 1 and lines[0].startswith("error:"), _show(r)
    if module not in NAMES_ANOTHER_FILE:
        assert MISSING in lines[0], f"the message does not name the missing file: {lines[0]}"


@pytest.mark.parametrize("case", [i for i, (_, a) in enumerate(MISSING_INPUT) if "--out" in a],
                         ids=[f"{m}-{a[0]}" for m, a in MISSING_INPUT if "--out" in a])
def test_a_missing_input_file_leaves_no_run_behind(case, results):
    """The corrected command must not be refused with "--out already holds a run" (nor need --restart): a run
    that failed on its input before any work leaves no run marker in --out."""
    module, args = MISSING_INPUT[case]
    _needs(module)
    out = Path(args[args.index("--out") + 1].format(tmp=results["tmp"], missing=""))
    left = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    assert not {"run.json", "last.npz", "best.npz", "metrics.json"} & set(left), f"{out} holds {left}"


def test_the_filter_keeps_messages_and_drops_bars():
    stderr = ("epoch 1/3:  25%|██▌       | 1/4 [00:00<00:01, 2.71batch/s, loss=1.2]\r"
              "                                                                      \r"
              "error: data.tsv: no such file\n")
    assert messages(stderr) == ["error: data.tsv: no such file"]
    assert messages("note: one\nerror: two\n") == ["note: one", "error: two"]
