"""`python -m captioning.demo` end to end on tiny settings: what a run writes, run-folder semantics, divergence,
exact --resume, identical seeded reruns (issues 10 and 11)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from captioning_helpers import TINY, model_weights, run_main, strict_json, without_timing

from captioning import checkpoint, data, report
from captioning.model import CaptionModel
from demokit.runs import RunFolder
from minigrad import checkpoint as ckpt
from minigrad import optim

ROOT = Path(__file__).resolve().parents[2]


def one_line(err: str) -> str:
    """The single stderr line of a failed command (and that there is no traceback)."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# ---------------------------------------------------------------------------------------------- a run's files


def test_a_run_writes_its_files(trained: Path) -> None:
    for name in ("run.json", "best.npz", "last.npz", "gallery.html", "metrics.json"):
        assert (trained / name).is_file(), name
    metrics = strict_json(trained / "metrics.json")
    assert metrics["test"]["n"] == 6 and metrics["heldout"]["n"] == 6
    assert "tok:13a" in metrics["test"]["bleu_signature"]
    for split in ("test", "heldout"):
        for key in ("exact_match", "true_description"):
            assert 0 <= metrics[split][key] <= 1
        assert 0 <= metrics[split]["bleu"] <= 100
    training = metrics["training"]
    assert training["steps"] == 4 and training["epochs"] == 2  # 64 images / 32 per batch * 2 epochs
    assert [h["step"] for h in training["history"]] == [2, 4]
    assert training["stopped"] == "finished 2 epochs" and training["evaluated"].startswith("best.npz")
    assert metrics["config"]["hidden"] == 32 and "out" not in metrics["config"]
    assert metrics["timing"]["wall_seconds"] > 0
    page = (trained / "gallery.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 12  # 6 test + 6 held-out images
    assert all(not s.startswith("/") and (trained / s).is_file() for s in sources)  # relative, and present
    assert page.count("<b>true:</b>") == 12 and "Held-out" in page
    pytest.importorskip("matplotlib")
    for figure in ("loss.png", "samples.png"):
        assert (trained / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", figure


def test_results_come_from_the_best_checkpoint_of_this_run(trained: Path) -> None:
    # the metrics' captions are those the model in best.npz writes, and that model reloads exactly
    metrics = strict_json(trained / "metrics.json")
    loaded = checkpoint.read(trained / "best.npz")
    splits = data.make_dataset(0, 0, 6, seed=1)
    ids = loaded.model.generate(splits["test"].images, loaded.vocab.bos_id, loaded.vocab.eos_id, beam=2)
    assert [s["generated"] for s in metrics["samples"]] == [loaded.vocab.decode(x) for x in ids]
    again = checkpoint.read(trained / "best.npz")
    x = splits["test"].images[:3]
    caps = loaded.vocab.encode_batch(splits["test"].captions[:3])
    assert np.array_equal(loaded.model(x, caps[:, :-1]).data, again.model(x, caps[:, :-1]).data)


def test_two_seeded_runs_give_identical_metrics(trained: Path, tmp_path: Path) -> None:
    assert run_main([*TINY, "--out", str(tmp_path / "again")]) == 0
    first, second = strict_json(trained / "metrics.json"), strict_json(tmp_path / "again" / "metrics.json")
    assert without_timing(first) == without_timing(second)
    for name, w in model_weights(trained / "last.npz").items():
        assert np.array_equal(w, model_weights(tmp_path / "again" / "last.npz")[name]), name


# ---------------------------------------------------------------------------------------------- the run folder


def test_a_second_run_into_a_run_folder_refuses(trained: Path, capsys: pytest.CaptureFixture) -> None:
    before = {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()}
    assert run_main([*TINY, "--out", str(trained)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "already holds a run" in line and "--resume" in line and "--restart" in line
    assert {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()} == before


def test_restart_moves_the_old_run_aside_and_reports_the_new_model(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert run_main([*TINY, "--out", str(out), "--epochs", "1"]) == 0
    old = strict_json(out / "metrics.json")
    assert run_main([*TINY, "--out", str(out), "--restart", "--seed", "5"]) == 0
    assert strict_json(tmp_path / "run.old-1" / "metrics.json") == old  # nothing deleted
    new = strict_json(out / "metrics.json")
    assert new["config"]["seed"] == 5 and new["training"]["steps"] == 4
    loaded = checkpoint.read(out / "best.npz")
    assert loaded.state["config"]["options"]["seed"] == 5


def test_unwritable_out_fails_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before --out was checked")

    monkeypatch.setattr(data, "make_dataset", no_work)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert run_main([*TINY, "--out", str(blocker / "run")]) == 2  # its parent is a file: cannot be created
    assert "cannot write there" in one_line(capsys.readouterr().err)
    assert run_main([*TINY, "--out", str(blocker)]) == 2
    assert "is a file, not a folder" in one_line(capsys.readouterr().err)
    if os.geteuid() != 0:  # root writes anywhere: a read-only folder only stops other users
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert run_main([*TINY, "--out", str(locked / "run")]) == 2
        assert "cannot write there" in one_line(capsys.readouterr().err)


def test_a_run_cut_short_reports_its_own_last_weights(tmp_path: Path) -> None:
    # --max-minutes so small that the budget ends after the first step: no epoch finished, no best.npz
    out = tmp_path / "short"
    assert run_main([*TINY, "--out", str(out), "--max-minutes", "0.000001"]) == 0
    metrics = strict_json(out / "metrics.json")
    assert metrics["training"]["steps"] == 1 and "time budget" in metrics["training"]["stopped"]
    assert not (out / "best.npz").exists() and metrics["training"]["evaluated"].startswith("the last weights")
    loaded = checkpoint.read(out / "last.npz")
    assert loaded.state["progress"]["step"] == 1
    images = data.make_dataset(0, 0, 6, seed=1)["test"].images
    ids = loaded.model.generate(images, loaded.vocab.bos_id, loaded.vocab.eos_id, beam=2)
    assert [s["generated"] for s in metrics["samples"]] == [loaded.vocab.decode(x) for x in ids]


def test_metrics_gallery_and_images_are_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A crash at the moment a report file would appear under its real name leaves no half file behind:
    # every report file is written to a temp name and renamed (os.replace) over its target.
    real_replace = os.replace
    crashed = []

    def crash_on_report_files(src: str | os.PathLike, dst: str | os.PathLike) -> None:
        if Path(dst).name in ("metrics.json", "gallery.html") or str(dst).endswith(".png"):
            crashed.append(Path(dst).name)
            raise OSError(28, "No space left on device (simulated)")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_report_files)
    out = tmp_path / "crash"
    with pytest.raises(OSError, match="simulated"):
        run_main([*TINY, "--out", str(out)])
    monkeypatch.setattr(os, "replace", real_replace)
    assert crashed  # the report did try to write
    assert not (out / "metrics.json").exists() and not (out / "gallery.html").exists()
    assert not list(out.rglob("*.png"))
    assert not [p.name for p in out.rglob("*.tmp")]  # no temp file left either


def test_metrics_json_is_strict(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "r").open()
    report.write_metrics(run, {"bleu": float("nan"), "loss": [1.0, float("inf")], "ok": 0.5})
    assert strict_json(run / "metrics.json") == {"bleu": None, "loss": [1.0, None], "ok": 0.5}


# ---------------------------------------------------------------------------------------------- divergence


def test_a_diverging_run_stops_in_one_line_and_writes_no_nonfinite_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "diverge"
    assert run_main([*TINY, "--out", str(out), "--lr", "1e6", "--clip", "0"]) == 1
    line = one_line(capsys.readouterr().err)
    assert re.search(r"epoch \d+, step \d+", line) and "--lr" in line
    assert not (out / "metrics.json").exists()
    for path in out.glob("*.npz"):
        assert all(np.isfinite(w).all() for w in model_weights(path).values()), path.name


def test_nonfinite_weights_at_the_end_of_an_epoch_are_never_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    # The wave-1 defect: the last step of an epoch makes a weight infinite while its loss (computed before the
    # update) was finite; validation is then NaN, and the old code saved those weights. Now: exit 1, and
    # last.npz/best.npz stay those of epoch 1.
    real_step, calls = optim.Adam.step, []

    def step_then_poison(self: optim.Adam) -> None:
        real_step(self)
        calls.append(1)
        if len(calls) == 4:  # the last step of epoch 2
            self.param_groups[0]["params"][-1].data[...] = np.inf  # the output bias: the logits become inf

    monkeypatch.setattr(optim.Adam, "step", step_then_poison)
    out = tmp_path / "poisoned"
    assert run_main([*TINY, "--out", str(out)]) == 1
    line = one_line(capsys.readouterr().err)
    assert "epoch 2, step 4" in line and "val_loss" in line
    for name in ("last.npz", "best.npz"):
        state = ckpt.load(out / name)
        assert state["progress"]["step"] == 2, name
        assert all(np.isfinite(w).all() for w in state["model"].values()), name


# ---------------------------------------------------------------------------------------------- --resume


def test_resume_continues_exactly_like_an_uninterrupted_run(
    trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    # Ctrl-C during the first step of epoch 2 (mid-epoch: the data order and the schedule must pick up there)
    real_loss, calls = CaptionModel.loss, []

    def loss_then_ctrl_c(self: CaptionModel, *args: object, **kwargs: object) -> object:
        if self.training:
            calls.append(1)
            if len(calls) == 3:
                os.kill(os.getpid(), signal.SIGINT)  # the Trainer's handler: finish this step, save, stop
        return real_loss(self, *args, **kwargs)

    monkeypatch.setattr(CaptionModel, "loss", loss_then_ctrl_c)
    out = tmp_path / "interrupted"
    assert run_main([*TINY, "--out", str(out)]) == 130
    assert "--resume" in capsys.readouterr().err
    assert ckpt.load(out / "last.npz")["progress"]["step"] == 3 and not (out / "metrics.json").exists()
    monkeypatch.setattr(CaptionModel, "loss", real_loss)

    assert run_main(["--resume", "--out", str(out), "--no-progress"]) == 0  # the run's own settings
    assert without_timing(strict_json(out / "metrics.json")) == without_timing(strict_json(trained / "metrics.json"))
    for name in ("last.npz", "best.npz"):
        resumed, straight = ckpt.load(out / name), ckpt.load(trained / name)
        for key, w in straight["model"].items():
            assert np.array_equal(resumed["model"][key], w), (name, key)
        assert resumed["progress"] == straight["progress"] and resumed["sched"] == straight["sched"]
        for i, s in straight["optim"]["state"].items():
            for k, v in s.items():
                assert np.array_equal(resumed["optim"]["state"][i][k], v), (name, i, k)


def test_resume_keeps_the_runs_settings(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "r"
    assert run_main([*TINY, "--out", str(out), "--epochs", "1"]) == 0
    capsys.readouterr()
    # a finished run resumed with another --hidden: the note says it is ignored; nothing is retrained
    assert run_main(["--resume", "--out", str(out), "--hidden", "8", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "ignored: --hidden" in captured.err
    assert strict_json(out / "metrics.json")["config"]["hidden"] == 32


def test_resume_needs_a_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run_main([*TINY, "--resume", "--out", str(tmp_path / "none")]) == 2
    assert "no run to continue" in one_line(capsys.readouterr().err)
    assert run_main([*TINY, "--resume", "--restart", "--out", str(tmp_path / "none")]) == 2
    assert "exclude each other" in one_line(capsys.readouterr().err)


# ---------------------------------------------------------------------------------------------- as a command


def test_module_runs_as_a_command(trained: Path, tmp_path: Path) -> None:
    def command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "captioning.demo", *args], capture_output=True, text=True,
                              cwd=ROOT, timeout=120)

    bogus = command("--bogus")
    assert bogus.returncode == 2 and "unrecognized arguments: --bogus" in bogus.stderr
    missing = command("--image", str(tmp_path / "missing.png"), "--out", str(trained))
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.startswith("error: ") and missing.stderr.count("\n") == 1
    assert "missing.png" in missing.stderr and "Traceback" not in missing.stderr


# ---------------------------------------------------------------------------------------------- Korean


def test_korean_captions_are_scored_with_ko_mecab_and_drawn_in_hangul(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plotting = pytest.importorskip("demokit.plotting")
    pytest.importorskip("matplotlib")
    if plotting.hangul_font() is None:
        pytest.skip("no Hangul font installed: figures romanise (demokit.plotting)")
    from matplotlib import font_manager

    drawn: dict[str, list[tuple[str, str]]] = {}
    real_save = plotting.save_figure

    def record(fig: object, path: Path, **kwargs: object) -> Path:
        texts = [t for ax in fig.axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label)]  # type: ignore[attr-defined]
        # the font list matplotlib falls back along, glyph by glyph, for each text
        drawn[Path(path).name] = [(t.get_text(), font_manager.fontManager._find_fonts_by_props(t.get_fontproperties()))
                                  for t in texts]
        return real_save(fig, path, **kwargs)

    monkeypatch.setattr(plotting, "save_figure", record)
    out = tmp_path / "ko"
    assert run_main([*TINY, "--lang", "ko", "--out", str(out)]) == 0
    metrics = strict_json(out / "metrics.json")
    from demokit import bleu

    used = bleu.score(["큰 원이 있다"], ["큰 원이 있다"], "ko-mecab")["tokenize"]  # 13a only if mecab cannot load
    assert metrics["test"]["bleu_tokenize"] == used and f"tok:{used}" in metrics["test"]["bleu_signature"]
    titles = [(text, font) for text, font in drawn["samples.png"] if text]
    hangul = [(text, font) for text, font in titles if re.search("[\uac00-\ud7a3]", text)]
    assert hangul, titles  # the captions are shown in Hangul, not romanised
    for text, font in hangul:
        chars = "".join(sorted({c for c in text if "\uac00" <= c <= "\ud7a3"}))
        assert any(plotting.has_glyphs(f, chars) for f in font), (text, font)
