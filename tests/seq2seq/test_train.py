"""seq2seq.train and seq2seq.translate end to end on tiny data: outputs, checkpoint round trip, exact
resume (after a finished epoch and after Ctrl-C), and the commands' one-line errors."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest

from minigrad import checkpoint
from seq2seq import train as T
from seq2seq import translate as TR
from seq2seq.data import CORPUS_DIR
from seq2seq.model import Seq2Seq

TINY = [
    "--hidden",
    "16",
    "--emb",
    "8",
    "--batch-size",
    "8",
    "--warmup",
    "5",
    "--val-sentences",
    "3",
    "--beam",
    "2",
    "--no-progress",
    "--max-minutes",
    "0",
]


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
    rc = T.main(
        [
            "--data",
            str(data),
            "--out",
            str(out),
            "--epochs",
            "2",
            "--vocab-size",
            str(chars + 60),
            "--attention",
            "luong",
            *TINY,
        ]
    )
    assert rc == 0
    return out


def _weights(path):
    return checkpoint.load(path)["model"]


def test_run_writes_checkpoints_tokenizers_heatmap_and_metrics(korean_run, capsys):
    for name in ("best.npz", "last.npz", "src.model", "tgt.model", "metrics.json"):
        assert (korean_run / name).is_file(), name
    m = json.loads((korean_run / "metrics.json").read_text(encoding="utf-8"))
    assert "tokenize=13a" in m["bleu_tokenizer"] and "detokenised" in m["bleu_tokenizer"]
    for key in ("test_greedy", "test_beam"):
        assert set(m[key]) >= {"bleu", "chrf", "exact"}
    assert m["epochs_run"] == 2 and len(m["history"]) == 2 and "clip_rate" in m["history"][0]
    assert m["config"]["model"]["attention"] == "luong" and m["wall_seconds"] > 0
    assert len(m["samples"]) == 5
    state = checkpoint.load(korean_run / "last.npz")
    assert state["tokenizers"]["tgt"]["kind"] == "sentencepiece"
    assert state["tokenizers"]["tgt"]["model"].tobytes() == (korean_run / "tgt.model").read_bytes()
    assert set(state) >= {"model", "optim", "sched", "rng", "progress", "config"}
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (korean_run / "attention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_checkpoint_to_translate_round_trip(korean_run, capsys):
    m = json.loads((korean_run / "metrics.json").read_text(encoding="utf-8"))
    sources = [s["source"] for s in m["samples"]]
    # the translate command, from the folder (best.npz), with the same beam as the run's evaluation
    assert TR.main(["--checkpoint", str(korean_run), "--beam", "2", *sources]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [s["hypothesis"] for s in m["samples"]]
    tr = TR.Translator.from_checkpoint(korean_run / "best.npz")
    assert isinstance(tr.model, Seq2Seq) and tr.translate(sources, beam=2) == printed


def test_translate_file_stdin_empty_unknown_and_overlong(korean_run, tmp_path, capsys, monkeypatch):
    f = tmp_path / "in.txt"
    f.write_text("The cat eats.\n\nZyxq ☃ qqq!\n" + "the dog " * 300 + "\n", encoding="utf-8")
    assert TR.main(["--checkpoint", str(korean_run), "--file", str(f), "--beam", "1", "--max-len", "5"]) == 0
    out = capsys.readouterr()
    lines = out.out.split("\n")[:-1]
    assert len(lines) == 4 and lines[1] == ""  # one output line per input line, in order
    assert "line 2 is empty" in out.err and "truncated" in out.err
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("The cat eats.\n"))
    assert TR.main(["--checkpoint", str(korean_run), "--beam", "1", "--max-len", "5"]) == 0
    assert capsys.readouterr().out.strip() == lines[0]


def test_translate_errors_are_one_line(tmp_path, capsys):
    cases = [
        (["--checkpoint", str(tmp_path / "nothing")], "checkpoint file not found"),
        (["--checkpoint", str(tmp_path)], "no best.npz or last.npz"),
    ]
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    cases.append((["--checkpoint", str(bad)], "bad.npz"))
    other = tmp_path / "other.npz"
    checkpoint.save({"kind": "captioning", "model": {}}, other)
    cases.append((["--checkpoint", str(other)], "not a seq2seq checkpoint"))
    for argv, message in cases:
        assert TR.main([*argv, "hello"]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_train_errors_are_one_line(tmp_path, capsys):
    f = tmp_path / "broken.tsv"
    f.write_text("a\tb\nc\td\nno tab\n", encoding="utf-8")
    assert T.main(["--data", str(f), "--out", str(tmp_path / "o"), *TINY]) == 2
    err = capsys.readouterr().err
    assert "broken.tsv:3:" in err and err.count("\n") == 1
    assert T.main(["--task", "dates", "--epochs", "0", *TINY]) == 2
    assert "--epochs must be >= 1" in capsys.readouterr().err
    assert T.main(["--resume", "--out", str(tmp_path / "empty")]) == 2
    assert "checkpoint file not found" in capsys.readouterr().err


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        T.main(["--help"])
    text = capsys.readouterr().out
    for opt in (
        "--task",
        "--data",
        "--src-col",
        "--tgt-col",
        "--cell",
        "--layers",
        "--hidden",
        "--emb",
        "--dropout",
        "--bidirectional",
        "--attention",
        "--teacher-forcing",
        "--label-smoothing",
        "--vocab-size",
        "--spm-type",
        "--batch-size",
        "--lr",
        "--epochs",
        "--max-minutes",
        "--patience",
        "--clip",
        "--beam",
        "--max-len",
        "--reverse-source",
        "--seed",
        "--out",
        "--resume",
    ):
        assert opt in text, opt
    for action in T.build_parser()._actions:
        assert action.help, action.dest


def _run(digits_tsv, out, *extra):
    return T.main(
        [
            "--data",
            str(digits_tsv),
            "--out",
            str(out),
            "--vocab-size",
            "0",
            "--dropout",
            "0.2",
            "--patience",
            "0",
            *TINY,
            *extra,
        ]
    )


def test_resume_after_an_epoch_equals_uninterrupted(digits_tsv, tmp_path):
    assert _run(digits_tsv, tmp_path / "a", "--epochs", "2") == 0
    assert _run(digits_tsv, tmp_path / "b", "--epochs", "1") == 0
    one = _weights(tmp_path / "b" / "last.npz")
    assert _run(digits_tsv, tmp_path / "b", "--epochs", "2", "--resume") == 0
    a, b = _weights(tmp_path / "a" / "last.npz"), _weights(tmp_path / "b" / "last.npz")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert all(not np.array_equal(one[k], a[k]) for k in a)  # the second epoch really moved every weight
    pa = checkpoint.load(tmp_path / "a" / "last.npz")["progress"]
    pb = checkpoint.load(tmp_path / "b" / "last.npz")["progress"]
    assert pa["step"] == pb["step"] and pa["history"][-1]["val_loss"] == pb["history"][-1]["val_loss"]


@pytest.mark.parametrize("how", ["signal", "exception"])
def test_ctrl_c_saves_and_resume_equals_uninterrupted(digits_tsv, tmp_path, monkeypatch, capsys, how):
    """Ctrl-C in the middle of epoch 1 (step 3): last.npz is saved; --resume ends with the same weights."""
    assert _run(digits_tsv, tmp_path / "a", "--epochs", "2") == 0
    calls = {"n": 0}
    original = Seq2Seq.loss

    def loss_with_ctrl_c(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            if how == "signal":  # a real SIGINT through the handler: the step finishes, then it stops
                signal.raise_signal(signal.SIGINT)
            else:  # a KeyboardInterrupt in the middle of a step (e.g. a second Ctrl-C), after the
                original(self, *args, **kwargs)  # forward pass has drawn its dropout masks
                raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Seq2Seq, "loss", loss_with_ctrl_c)
    assert _run(digits_tsv, tmp_path / "c", "--epochs", "2") == 130
    assert "interrupted: saved" in capsys.readouterr().err
    saved = checkpoint.load(tmp_path / "c" / "last.npz")["progress"]
    assert saved["step"] == (4 if how == "signal" else 3) and saved["epoch"] == 0
    monkeypatch.setattr(Seq2Seq, "loss", original)
    assert _run(digits_tsv, tmp_path / "c", "--epochs", "2", "--resume") == 0
    a, c = _weights(tmp_path / "a" / "last.npz"), _weights(tmp_path / "c" / "last.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], c[k], err_msg=k)


def test_nan_loss_stops_with_a_message(digits_tsv, tmp_path, monkeypatch, capsys):
    original = Seq2Seq.loss

    def nan_loss(self, *args, **kwargs):
        return original(self, *args, **kwargs) * float("nan")

    monkeypatch.setattr(Seq2Seq, "loss", nan_loss)
    assert _run(digits_tsv, tmp_path / "n", "--epochs", "1") == 1
    err = capsys.readouterr().err
    assert "the loss is nan at epoch 1, step 1" in err


def test_time_budget_stops_gracefully_and_still_reports(digits_tsv, tmp_path):
    out = tmp_path / "budget"
    args = ["--data", str(digits_tsv), "--out", str(out), "--vocab-size", "0", "--epochs", "50"]
    args += [a for a in TINY if a not in ("--max-minutes", "0")] + ["--max-minutes", "0.003"]
    assert T.main(args) == 0
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert "time budget" in m["stop_reason"] and m["epochs_run"] < 50
    assert (out / "last.npz").is_file()


def test_romanize_for_plots_without_a_korean_font():
    assert T.romanize("먹어요") == "meogeoyo"
    assert T.romanize("고양이가 맛있었어요?") == "goyangiga masisseosseoyo?"
    assert T.romanize("▁cat 닭") == "▁cat dalg"


def test_translate_command_in_a_subprocess(korean_run):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "seq2seq.translate",
            "--checkpoint",
            str(korean_run),
            "--beam",
            "1",
            "--max-len",
            "6",
            "The cat eats.",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1
