"""seq2seq.train and seq2seq.translate end to end on tiny data: outputs, checkpoint round trip, seeded reruns,
exact resume (after a finished epoch, after Ctrl-C, after a hard interrupt), options checked at parse time, and
the commands' one-line errors."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from demokit.cli import run_command
from minigrad import checkpoint
from seq2seq import options as O
from seq2seq import train as T
from seq2seq import translate as TR
from seq2seq.data import CORPUS_DIR, make_dates
from seq2seq.model import Seq2Seq
from seq2seq.translator import Translator

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--hidden", "16", "--emb", "8", "--batch-size", "8", "--warmup", "5", "--val-sentences", "3", "--beam", "2",
        "--no-progress"]


def train(*argv) -> int:
    """The command as `python -m seq2seq.train` runs it (exit code, one-line errors), in this process."""
    try:
        return run_command(T.main, [str(a) for a in argv])
    except SystemExit as e:  # argparse
        return int(e.code)


def translate(*argv) -> int:
    try:
        return run_command(TR.main, [str(a) for a in argv])
    except SystemExit as e:
        return int(e.code)


def command(module: str, *argv, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", module, *map(str, argv)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300, input=stdin)


def metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def digits_tsv(tmp_path_factory):
    """60 pairs 'digits -> digits reversed', with an extra column (Anki style)."""
    rng = np.random.default_rng(0)
    lines = set()
    while len(lines) < 60:
        s = "".join(rng.choice(list("0123456789"), size=rng.integers(2, 6)))
        lines.add(f"{s}\t{s[::-1]}\tCC-BY")
    path = tmp_path_factory.mktemp("data") / "digits.tsv"
    path.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def korean_run(tmp_path_factory):
    """A tiny English->Korean run with sentencepiece (120 pairs of the built-in corpus), 2 epochs."""
    folder = tmp_path_factory.mktemp("ko")
    lines = (CORPUS_DIR / "train.tsv").read_text(encoding="utf-8").splitlines()[:120]
    data = folder / "ko.tsv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chars = max(len(set("".join(line.split("\t")[i] for line in lines)) - {" "}) for i in (0, 1))
    out = folder / "run"
    assert train("--data", data, "--out", out, "--epochs", 2, "--vocab-size", chars + 60, *TINY) == 0
    return out


def _weights(path):
    return checkpoint.load(path)["model"]


def _same_weights(a, b):
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k], err_msg=k)


def test_run_writes_checkpoints_tokenizers_heatmap_and_metrics(korean_run):
    for name in ("run.json", "best.npz", "last.npz", "src.model", "tgt.model", "metrics.json"):
        assert (korean_run / name).is_file(), name
    m = metrics(korean_run)
    # Korean target: ko-mecab BLEU first, with its signature; 13a and chrF beside it
    assert m["bleu"]["tokenize"] == "ko-mecab" and "ko-mecab" in m["bleu"]["signature"]
    for key in ("greedy", "beam"):
        assert set(m["test"][key]) >= {"bleu", "bleu_13a", "chrf", "exact", "bleu_signature"}
    assert m["epochs_run"] == 2 and len(m["history"]) == 2 and "clip_rate" in m["history"][0]
    assert {"val_loss", "val_bleu", "val_exact"} <= set(m["history"][0])
    assert m["config"]["model"]["attention"] == "luong" and m["timing"]["wall_seconds"] > 0
    assert len(m["samples"]) == 5 and m["model_from"] == "best.npz"
    state = checkpoint.load(korean_run / "last.npz")
    assert state["tokenizers"]["tgt"]["kind"] == "sentencepiece"
    assert state["tokenizers"]["tgt"]["model"].tobytes() == (korean_run / "tgt.model").read_bytes()
    assert set(state) >= {"model", "optim", "sched", "rng", "progress", "config"}
    pytest.importorskip("matplotlib")
    assert (korean_run / "attention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert m["figures"]["attention_heatmap"] == "attention.png"


def test_checkpoint_to_translate_round_trip(korean_run, capsys):
    m = metrics(korean_run)
    sources = [s["source"] for s in m["samples"]]
    # the translate command, from the folder (best.npz), with the same beam as the run's evaluation
    assert translate("--checkpoint", korean_run, "--beam", 2, *sources) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [s["hypothesis"] for s in m["samples"]]
    tr = Translator.from_checkpoint(korean_run / "best.npz")
    assert isinstance(tr.model, Seq2Seq) and tr.translate(sources, beam=2) == printed


def test_translate_file_stdin_empty_unknown_and_overlong(korean_run, tmp_path, capsys, monkeypatch):
    f = tmp_path / "in.txt"
    f.write_text("The cat eats.\n\nZyxq ☃ qqq!\n" + "the dog " * 300 + "\n", encoding="utf-8")
    assert translate("--checkpoint", korean_run, "--file", f, "--beam", 1, "--max-len", 5) == 0
    out = capsys.readouterr()
    lines = out.out.split("\n")[:-1]
    assert len(lines) == 4 and lines[1] == ""  # one output line per input line, in order
    assert "line 2 is empty" in out.err and "truncated" in out.err
    monkeypatch.setattr("sys.stdin", io.StringIO("The cat eats.\n"))
    assert translate("--checkpoint", korean_run, "--beam", 1, "--max-len", 5) == 0
    assert capsys.readouterr().out.strip() == lines[0]


def test_translate_errors_are_one_line(tmp_path, capsys):
    cases = [
        (["--checkpoint", tmp_path / "nothing"], "checkpoint file not found"),
        (["--checkpoint", tmp_path], "no best.npz or last.npz"),
        (["--file", tmp_path / "missing.txt", "--checkpoint", tmp_path], "no best.npz"),
    ]
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    cases.append((["--checkpoint", bad], "bad.npz"))
    other = tmp_path / "other.npz"
    checkpoint.save({"kind": "captioning", "model": {}}, other)
    cases.append((["--checkpoint", other], "not a seq2seq checkpoint"))
    for argv, message in cases:
        assert translate(*argv, "hello") == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert translate("--beam", 0, "hello") == 2
    assert "argument --beam" in capsys.readouterr().err


def test_train_errors_are_one_line(tmp_path, capsys):
    f = tmp_path / "broken.tsv"
    f.write_text("a\tb\nc\td\nno tab\n", encoding="utf-8")
    assert train("--data", f, "--out", tmp_path / "o", *TINY) == 2
    err = capsys.readouterr().err
    assert "broken.tsv:3:" in err and err.count("\n") == 1
    assert train("--resume", "--out", tmp_path / "empty") == 2
    err = capsys.readouterr().err
    assert "no run to continue" in err and err.count("\n") == 1


def test_commands_in_a_subprocess_exit_codes_and_one_line_errors(tmp_path, korean_run):
    done = command("seq2seq.train", "--bogus")
    assert done.returncode == 2 and "unrecognized arguments: --bogus" in done.stderr
    done = command("seq2seq.train", "--data", tmp_path / "missing.tsv", "--out", tmp_path / "o")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "missing.tsv: no such file" in done.stderr
    done = command("seq2seq.translate", "--checkpoint", tmp_path / "nothing.npz", "hello")
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    done = command("seq2seq.translate", "--checkpoint", korean_run, "--beam", 1, "--max-len", 6, "The cat eats.")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1


@pytest.mark.parametrize("argv, option", [
    (["--batch-size", "0"], "--batch-size"), (["--lr", "0"], "--lr"), (["--lr", "-1e-3"], "--lr"),
    (["--lr", "nan"], "--lr"), (["--epochs", "0"], "--epochs"), (["--hidden", "0"], "--hidden"),
    (["--emb", "-4"], "--emb"), (["--layers", "0"], "--layers"), (["--dropout", "1"], "--dropout"),
    (["--label-smoothing", "1.0"], "--label-smoothing"), (["--teacher-forcing", "1.5"], "--teacher-forcing"),
    (["--beam", "0"], "--beam"), (["--max-len", "-1"], "--max-len"), (["--vocab-size", "5"], "--vocab-size"),
    (["--lr-decay", "0"], "--lr-decay"), (["--lr-decay", "1.5"], "--lr-decay"), (["--clip", "-1"], "--clip"),
    (["--warmup", "-1"], "--warmup"), (["--patience", "-1"], "--patience"), (["--src-col", "-1"], "--src-col"),
    (["--max-tokens", "1"], "--max-tokens"), (["--threads", "0"], "--threads"), (["--seed", "-1"], "--seed"),
    (["--max-minutes", "-1"], "--max-minutes"), (["--val-sentences", "-1"], "--val-sentences"),
    (["--length-penalty", "-0.5"], "--length-penalty"), (["--hidden", "15"], "--hidden"),
    (["--src-col", "1", "--tgt-col", "1"], "--src-col"), (["--resume", "--restart"], "--restart"),
    (["--task", "dates", "--data", "x.tsv"], "--data"),
])
def test_every_option_is_checked_at_parse_time(argv, option, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(T, "load_task", lambda *a, **k: pytest.fail("data loaded before the options were checked"))
    assert train(*argv, "--out", tmp_path / "never") == 2
    err = capsys.readouterr().err
    assert err.startswith("usage:") and "error:" in err and option in err
    assert not (tmp_path / "never").exists()


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        T.main(["--help"])
    text = capsys.readouterr().out
    for action in O.build_parser()._actions:
        assert action.help, action.dest
        assert action.option_strings[0] in text
    assert "(default: runs" not in text and "runs/seq2seq-<task>" in text  # --out's default is per task


def _run(digits_tsv, out, *extra):
    return train("--data", digits_tsv, "--out", out, "--vocab-size", 0, "--dropout", 0.2, "--patience", 0, *TINY,
                 *extra)


def test_two_seeded_runs_give_identical_metrics(digits_tsv, tmp_path):
    assert _run(digits_tsv, tmp_path / "a", "--epochs", 2) == 0
    assert _run(digits_tsv, tmp_path / "b", "--epochs", 2) == 0
    a, b = metrics(tmp_path / "a"), metrics(tmp_path / "b")
    assert a.pop("timing") != b.pop("timing")  # the wall-clock figures live apart, and differ
    assert a == b
    assert _run(digits_tsv, tmp_path / "c", "--epochs", 2, "--seed", 1) == 0
    assert metrics(tmp_path / "c")["history"] != a["history"]  # the seed matters


def test_resume_after_an_epoch_equals_uninterrupted(digits_tsv, tmp_path, capsys):
    assert _run(digits_tsv, tmp_path / "a", "--epochs", 2) == 0
    assert _run(digits_tsv, tmp_path / "b", "--epochs", 1) == 0
    one = _weights(tmp_path / "b" / "last.npz")
    # --hidden is ignored on --resume (it would change the model), with one note
    assert train("--out", tmp_path / "b", "--epochs", 2, "--resume", "--hidden", 32, "--no-progress") == 0
    assert "ignored: --hidden" in capsys.readouterr().err
    _same_weights(tmp_path / "a" / "last.npz", tmp_path / "b" / "last.npz")
    a = _weights(tmp_path / "a" / "last.npz")
    assert all(not np.array_equal(one[k], a[k]) for k in a)  # the second epoch really moved every weight
    ma, mb = metrics(tmp_path / "a"), metrics(tmp_path / "b")
    assert ma["history"] == mb["history"] and ma["test"] == mb["test"]


def test_ctrl_c_saves_after_the_step_and_resume_equals_uninterrupted(digits_tsv, tmp_path, monkeypatch, capsys):
    """Ctrl-C in the middle of epoch 1 (during step 4): the Trainer finishes the step, saves last.npz, exits
    130; --resume ends with the same weights and metrics as a run never interrupted."""
    assert _run(digits_tsv, tmp_path / "a", "--epochs", 2) == 0
    calls = {"n": 0}
    original = Seq2Seq.loss

    def loss_with_ctrl_c(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            signal.raise_signal(signal.SIGINT)  # a real SIGINT through the Trainer's handler
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Seq2Seq, "loss", loss_with_ctrl_c)
    assert _run(digits_tsv, tmp_path / "c", "--epochs", 2) == 130
    assert "interrupted: saved" in capsys.readouterr().err
    saved = checkpoint.load(tmp_path / "c" / "last.npz")["progress"]
    assert saved["step"] == 4 and saved["epoch"] == 0 and saved["batch"] == 4
    monkeypatch.setattr(Seq2Seq, "loss", original)
    assert train("--out", tmp_path / "c", "--resume", "--no-progress") == 0
    _same_weights(tmp_path / "a" / "last.npz", tmp_path / "c" / "last.npz")
    assert metrics(tmp_path / "a")["test"] == metrics(tmp_path / "c")["test"]


def test_hard_interrupt_keeps_the_last_epoch_and_resume_equals_uninterrupted(digits_tsv, tmp_path, monkeypatch,
                                                                               capsys):
    """A second Ctrl-C (KeyboardInterrupt) in the middle of a step of epoch 2 stops at once, exit 130; last.npz
    is epoch 1's, and --resume from it ends equal to an uninterrupted run."""
    assert _run(digits_tsv, tmp_path / "a", "--epochs", 2) == 0
    steps = checkpoint.load(tmp_path / "a" / "last.npz")["progress"]["step"] // 2
    calls = {"n": 0}
    original = Seq2Seq.loss

    def loss_then_interrupt(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == steps + 3 and self.training:
            original(self, *args, **kwargs)  # the forward pass has drawn its dropout masks
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Seq2Seq, "loss", loss_then_interrupt)
    assert _run(digits_tsv, tmp_path / "c", "--epochs", 2) == 130
    capsys.readouterr()
    assert checkpoint.load(tmp_path / "c" / "last.npz")["progress"]["epoch"] == 1
    monkeypatch.setattr(Seq2Seq, "loss", original)
    assert train("--out", tmp_path / "c", "--resume", "--no-progress") == 0
    _same_weights(tmp_path / "a" / "last.npz", tmp_path / "c" / "last.npz")


def test_nan_loss_stops_with_a_message(digits_tsv, tmp_path, monkeypatch, capsys):
    original = Seq2Seq.loss

    def nan_loss(self, *args, **kwargs):
        return original(self, *args, **kwargs) * float("nan")

    monkeypatch.setattr(Seq2Seq, "loss", nan_loss)
    assert _run(digits_tsv, tmp_path / "n", "--epochs", 1) == 1
    err = capsys.readouterr().err
    assert "epoch 1, step 1: the training loss is nan" in err and err.count("\n") == 1
    assert not (tmp_path / "n" / "last.npz").exists()


def test_time_budget_stops_gracefully_and_still_reports(digits_tsv, tmp_path, monkeypatch):
    import demokit.trainer

    clock = iter(range(0, 10**9, 61))  # every reading of the trainer's clock is a minute later: fast or slow machine
    monkeypatch.setattr(demokit.trainer.time, "perf_counter", lambda: float(next(clock)))
    out = tmp_path / "budget"
    assert _run(digits_tsv, out, "--epochs", 50, "--max-minutes", 1) == 0
    m = metrics(out)
    assert "time budget" in m["stop_reason"] and m["epochs_run"] == 0 and m["steps"] == 1
    assert m["model_from"] == "last step" and m["best_val_loss"] is None
    assert (out / "last.npz").is_file() and not (out / "best.npz").exists()


def test_dates_as_a_tsv_get_character_units_as_the_task_does(tmp_path, capsys):
    """A toy task given through --data: measured as short strings of few symbols -> characters, character BLEU,
    the dates model size, and the log and metrics.json say why."""
    data = tmp_path / "dates.tsv"
    data.write_text("".join(f"{s}\t{t}\n" for s, t in make_dates(400, seed=3)), encoding="utf-8")
    assert train("--data", data, "--out", tmp_path / "d", "--epochs", 1, "--val-sentences", 3, "--beam", 1,
                 "--no-progress") == 0
    log = capsys.readouterr().out
    assert "units: character units: short strings of few symbols" in log
    m = metrics(tmp_path / "d")
    assert m["vocab"]["kind"] == "char" and m["bleu"]["tokenize"] == "char" and "character units" in m["units"]
    options = m["config"]["options"]
    assert (options["vocab_size"], options["emb"], options["hidden"]) == (0, 64, 128)
    assert not (tmp_path / "d" / "src.model").exists()


def test_resume_refuses_changed_data_in_one_line(digits_tsv, tmp_path, capsys):
    data = tmp_path / "mine.tsv"
    data.write_text(digits_tsv.read_text(encoding="utf-8"), encoding="utf-8")
    assert train("--data", data, "--out", tmp_path / "r", "--vocab-size", 0, "--epochs", 1, *TINY) == 0
    data.write_text(data.read_text(encoding="utf-8") + "12345\t54321\n", encoding="utf-8")
    capsys.readouterr()
    assert train("--out", tmp_path / "r", "--resume", "--epochs", 2, "--no-progress") == 2
    err = capsys.readouterr().err
    assert "the data differ" in err and err.count("\n") == 1
