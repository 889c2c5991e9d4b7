"""Issue 11, "nothing lost": one test per defect found by trying seq2seq.train / translate (USERS.md 16-19, 21-22).

Each test drives the commands as a user does (a subprocess, exit code, stdout/stderr, the files left in --out),
so each one also ran against the code before the fix -- and failed there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minigrad import checkpoint
from seq2seq.data import CORPUS_DIR, split_pairs

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--hidden", "16", "--emb", "8", "--batch-size", "8", "--warmup", "5", "--val-sentences", "3", "--beam", "2",
        "--no-progress"]


def command(module: str, *argv) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", module, *map(str, argv)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def train(*argv) -> subprocess.CompletedProcess:
    return command("seq2seq.train", *argv)


def one_line(stderr: str) -> str:
    """The error line of a failed command: exactly one line, no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def strict_json(path: Path) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"{path} holds {name}: not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


@pytest.fixture(scope="module")
def pairs_tsv(tmp_path_factory) -> Path:
    """60 pairs 'digits -> digits reversed'."""
    rng = np.random.default_rng(0)
    lines = set()
    while len(lines) < 60:
        s = "".join(rng.choice(list("0123456789"), size=rng.integers(2, 6)))
        lines.add(f"{s}\t{s[::-1]}")
    path = tmp_path_factory.mktemp("data") / "digits.tsv"
    path.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, pairs_tsv) -> Path:
    out = tmp_path_factory.mktemp("runs") / "done"
    done = train("--data", pairs_tsv, "--out", out, "--vocab-size", 0, "--epochs", 2, *TINY)
    assert done.returncode == 0, done.stderr
    return out


# ---- 1. a diverging run never saves non-finite weights (USERS.md 16)
def test_diverging_run_keeps_only_finite_checkpoints(pairs_tsv, tmp_path):
    """--lr 1e39 with one batch per epoch: the first update overflows the weights, the validation loss is NaN
    while the training loss of that step was finite. Exit 1, one line; no checkpoint holds a NaN or inf."""
    out = tmp_path / "nan"
    done = train("--data", pairs_tsv, "--out", out, "--vocab-size", 0, "--lr", "1e39", "--warmup", 0,
                 "--epochs", 3, "--hidden", 16, "--emb", 8, "--batch-size", 1000, "--val-sentences", 0,
                 "--no-progress")
    for name in ("last.npz", "best.npz"):
        if (out / name).exists():
            for key, w in checkpoint.load(out / name)["model"].items():
                assert np.isfinite(w).all(), f"{name}: {key} is not finite"
    assert done.returncode == 1, done.stdout + done.stderr
    assert "epoch 1, step 1: val_loss is nan" in one_line(done.stderr)
    assert not (out / "metrics.json").exists()


# ---- 2. no split holds a pair longer than the cap (USERS.md 17)
def test_a_long_pair_is_left_out_of_every_split(pairs_tsv, tmp_path):
    """One 3,000-character pair that the seed puts in the VALIDATION split: left out, counted in the log and
    in metrics.json, and the run finishes (it once crashed after an epoch with a MemoryError)."""
    lines = pairs_tsv.read_text(encoding="utf-8").splitlines()
    long_pair = ("1" * 3000, "2" * 3000)
    pairs = [tuple(line.split("\t")) for line in lines] + [long_pair]
    seed = next(s for s in range(200) if long_pair in split_pairs(pairs, s)[1])
    data = tmp_path / "long.tsv"
    data.write_text("".join(f"{a}\t{b}\n" for a, b in pairs), encoding="utf-8")
    out = tmp_path / "long"
    done = train("--data", data, "--out", out, "--vocab-size", 0, "--epochs", 1, "--seed", seed, *TINY)
    assert done.returncode == 0, done.stderr
    assert "left out" in done.stdout and "1 valid" in done.stdout
    m = strict_json(out / "metrics.json")
    assert m["left_out"]["too_long"] == {"train": 0, "valid": 1, "test": 0}


# ---- 3. a second run into a run folder refuses; results come from this run's model (USERS.md 18)
def test_a_second_run_into_a_run_folder_refuses_and_leaves_it_alone(pairs_tsv, finished_run):
    before = {p.name: p.read_bytes() for p in finished_run.iterdir() if p.is_file()}
    done = train("--data", pairs_tsv, "--out", finished_run, "--vocab-size", 0, "--epochs", 1, *TINY)
    assert done.returncode == 2
    assert "already holds a run" in one_line(done.stderr) and "epoch 1" not in done.stdout
    assert {p.name: p.read_bytes() for p in finished_run.iterdir() if p.is_file()} == before


def test_restart_reports_the_model_it_trained(pairs_tsv, tmp_path):
    """--restart moves the old run aside; a new run stopped before its first validation reports ITS model (the
    last step), not the previous run's best.npz."""
    out = tmp_path / "run"
    assert train("--data", pairs_tsv, "--out", out, "--vocab-size", 0, "--epochs", 2, *TINY).returncode == 0
    done = train("--data", pairs_tsv, "--out", out, "--vocab-size", 0, "--epochs", 5, "--max-minutes", 1e-7,
                 "--restart", "--seed", 1, *TINY)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run.old-1" / "best.npz").is_file() and not (out / "best.npz").exists()
    m = strict_json(out / "metrics.json")
    assert m["model_from"] == "last step" and m["steps"] == 1
    sources = [s["source"] for s in m["samples"]]
    again = command("seq2seq.translate", "--checkpoint", out / "last.npz", "--beam", 2, *sources)
    assert again.stdout.splitlines() == [s["hypothesis"] for s in m["samples"]]


# ---- 4. an unwritable --out fails before any work (USERS.md 19)
def test_an_unwritable_out_fails_before_training(pairs_tsv, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    done = train("--data", pairs_tsv, "--out", blocker / "run", "--vocab-size", 0, "--epochs", 1, *TINY)
    assert done.returncode == 2
    assert "a-file" in one_line(done.stderr)
    assert "epoch" not in done.stdout and "tokenizers" not in done.stdout  # nothing was done first


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_out_fails_before_training(pairs_tsv, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        done = train("--data", pairs_tsv, "--out", folder / "run", "--vocab-size", 0, *TINY)
    finally:
        folder.chmod(0o700)
    assert done.returncode == 2 and "cannot write" in one_line(done.stderr) and "tokenizers" not in done.stdout


# ---- 5. checkpoints with missing or inconsistent entries: one line naming the entry and the file
def _edited(finished_run: Path, tmp_path: Path, edit) -> Path:
    """A copy of the finished run whose last.npz and best.npz went through `edit(state)`."""
    out = tmp_path / "edited"
    out.mkdir()
    for p in finished_run.iterdir():
        if p.is_file():
            (out / p.name).write_bytes(p.read_bytes())
    for name in ("last.npz", "best.npz"):
        state = checkpoint.load(out / name)
        edit(state)
        checkpoint.save(state, out / name)
    return out


def _drop_tokenizer(state):
    del state["tokenizers"]["src"]


def _other_tokenizer(state):
    state["tokenizers"]["tgt"]["chars"] = list("abcdefghijk")  # 11 + 4 ids: not the model's 14


def _bad_epoch(state):
    state["progress"]["epoch"] = "two"


def _no_options(state):
    del state["config"]["options"]


@pytest.mark.parametrize("edit, entry, in_translate", [
    (_drop_tokenizer, "'tokenizers.src'", True),
    (_other_tokenizer, "'tokenizers.tgt'", True),
    (_no_options, "'config.options'", True),
    (_bad_epoch, "'progress.epoch'", False),
])
def test_inconsistent_checkpoint_is_one_line_in_resume_and_translate(finished_run, tmp_path, edit, entry,
                                                                      in_translate):
    out = _edited(finished_run, tmp_path, edit)
    done = train("--out", out, "--resume", "--epochs", 3, "--no-progress")
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert entry in line and "last.npz" in line
    done = command("seq2seq.translate", "--checkpoint", out, "hello")
    if in_translate:
        assert done.returncode == 2
        line = one_line(done.stderr)
        assert entry in line and "best.npz" in line
    else:  # translation does not need the training progress
        assert done.returncode == 0, done.stderr


def test_a_corrupt_sentencepiece_model_is_one_line_in_translate(tmp_path):
    lines = (CORPUS_DIR / "train.tsv").read_text(encoding="utf-8").splitlines()[:120]
    data = tmp_path / "ko.tsv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "ko"
    assert train("--data", data, "--out", out, "--epochs", 1, "--vocab-size", 500, *TINY).returncode == 0
    state = checkpoint.load(out / "best.npz")
    model = state["tokenizers"]["src"]["model"]
    state["tokenizers"]["src"]["model"] = model[: len(model) // 3]  # truncated
    checkpoint.save(state, out / "best.npz")
    done = command("seq2seq.translate", "--checkpoint", out, "The cat eats.")
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "'tokenizers.src'" in line and "sentencepiece" in line and "best.npz" in line


# ---- 9. strict metrics.json, atomic tokenizer files, warnings and hints, options checked at parse time
def test_metrics_json_is_strict_when_no_validation_ran(pairs_tsv, tmp_path):
    """Stopped by --max-minutes before the first validation: the best validation loss is unknown, which used to
    be written as Infinity (not JSON)."""
    out = tmp_path / "early"
    done = train("--data", pairs_tsv, "--out", out, "--vocab-size", 0, "--epochs", 5, "--max-minutes", 1e-7,
                 *TINY)
    assert done.returncode == 0, done.stderr
    assert strict_json(out / "metrics.json")["best_val_loss"] is None


def test_sentencepiece_models_are_written_atomically(tmp_path, monkeypatch):
    from demokit import runs
    from seq2seq import train as T

    lines = (CORPUS_DIR / "train.tsv").read_text(encoding="utf-8").splitlines()[:120]
    data = tmp_path / "ko.tsv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    atomic = []
    original = runs.write_atomic

    def recording(path, payload):
        atomic.append(Path(path).name)
        return original(path, payload)

    monkeypatch.setattr(runs, "write_atomic", recording)
    monkeypatch.setattr(Path, "write_bytes", lambda self, b: pytest.fail(f"{self} written in place"))
    assert T.main(["--data", str(data), "--out", str(tmp_path / "ko"), "--epochs", "1", "--vocab-size", "500",
                   "--val-sentences", "0", *TINY[:6], "--no-progress"]) == 0
    assert {"src.model", "tgt.model", "metrics.json"} <= set(atomic)


def test_a_learning_rate_far_too_high_gets_a_warning(pairs_tsv, tmp_path):
    done = train("--data", pairs_tsv, "--out", tmp_path / "hot", "--vocab-size", 0, "--lr", "1e20", "--epochs", 2,
                 "--warmup", 0, *TINY)
    assert "the learning rate (--lr) is probably too high" in done.stderr


def test_a_semicolon_csv_gets_a_hint(tmp_path):
    data = tmp_path / "pairs.csv"
    data.write_text("".join(f"hello {i};bonjour {i}\n" for i in range(20)), encoding="utf-8")
    done = train("--data", data, "--out", tmp_path / "csv", *TINY)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "pairs.csv:1:" in line and "looks like a semicolon-separated (CSV) file" in line  # (tmp_path says
    # "semicolon" too: the test checks the hint's own words)


def test_repeated_pairs_are_removed_with_a_note(pairs_tsv, tmp_path):
    """Every pair three times: at random, validation and test pairs would all be training pairs too."""
    data = tmp_path / "thrice.tsv"
    data.write_text(pairs_tsv.read_text(encoding="utf-8") * 3, encoding="utf-8")
    out = tmp_path / "thrice"
    done = train("--data", data, "--out", out, "--vocab-size", 0, "--epochs", 1, *TINY)
    assert done.returncode == 0, done.stderr
    assert "120 repeated pairs left out" in done.stdout
    m = strict_json(out / "metrics.json")
    assert m["left_out"]["repeated"] == 120 and m["sizes"].replace(",", "").startswith("54 train")
    same = tmp_path / "same.tsv"
    same.write_text("a\tb\n" * 30, encoding="utf-8")
    done = train("--data", same, "--out", tmp_path / "same", *TINY)
    assert done.returncode == 2 and "only 1 distinct pair" in one_line(done.stderr)


@pytest.mark.parametrize("argv", [["--batch-size", "0"], ["--dropout", "1.5"], ["--layers", "0"], ["--hidden", "15"]])
def test_bad_options_get_argparses_error_before_any_work(tmp_path, argv):
    done = train("--task", "dates", "--out", tmp_path / "never", *argv)
    assert done.returncode == 2
    assert done.stderr.startswith("usage:")
    error = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(error) == 1 and argv[0] in error[0]
    assert not (tmp_path / "never").exists() and done.stdout == ""
