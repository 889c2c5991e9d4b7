"""python -m charlm.train and python -m charlm.sample, in process through demokit.cli.run_command with tiny settings:
the files of a run (strict metrics.json), a seed repeats a run, --resume after an interruption equals an
uninterrupted run bit for bit, --units jamo, one-line exit-2 errors, and sampling (prime, greedy, notes)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from testkit import assert_same

import charlm.sample as sample_cmd  # `from charlm import sample` is the n-gram sampler, not this module
import charlm.train as train_cmd
from charlm import checkpoint
from charlm.generate import generate
from charlm.units import JamoUnits
from demokit.cli import run_command
from demokit.plotting import pyplot
from demokit.trainer import Trainer

SENTENCES = ["안녕하세요 고양이가 사과를 먹어요.", "어제 강아지가 밥을 먹었어요.", "내일 학생이 책을 읽을 거예요.",
             "오늘 친구가 물을 마셔요."]
TINY = ["--epochs", "2", "--hidden", "16", "--emb", "8", "--bptt", "8", "--batch-size", "4", "--sample-chars", "200",
        "--no-progress"]
STEPS_PER_EPOCH = 32  # 1,003 training units in 4 rows of 250: 249 inputs per row in chunks of 8


def write_text(path):
    rng = np.random.default_rng(0)
    path.write_text("".join(SENTENCES[i] + "\n" for i in rng.integers(0, len(SENTENCES), size=60)), encoding="utf-8")
    return path


def strict_json(path):
    def refuse(name):
        raise ValueError(f"{path}: {name} is not strict JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


def run_train(*argv):
    return run_command(train_cmd.main, [str(a) for a in argv])


def run_sample(*argv):
    return run_command(sample_cmd.main, [str(a) for a in argv])


def error_line(capsys):
    """The stderr of a failed command: exactly one line, 'error: ...'."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def no_figures(monkeypatch):
    """Runs whose figures no test looks at skip matplotlib (~1.5 s a run); char_run and jamo_run draw them."""
    import charlm.report

    monkeypatch.setattr(charlm.report, "pyplot", lambda: None)


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    return write_text(tmp_path_factory.mktemp("text") / "text.txt")


@pytest.fixture(scope="module")
def char_run(tmp_path_factory, text):
    """One uninterrupted run with TINY settings (also the reference of the --resume test)."""
    out = tmp_path_factory.mktemp("char") / "run"
    assert run_train("--text", text, "--out", out, *TINY) == 0
    return out


@pytest.fixture(scope="module")
def jamo_run(tmp_path_factory, text):
    out = tmp_path_factory.mktemp("jamo") / "run"
    assert run_train("--text", text, "--out", out, "--units", "jamo", *TINY) == 0
    return out


# ---- charlm.train ---------------------------------------------------------------------------------------
def test_a_run_writes_checkpoints_strict_metrics_and_samples(char_run):
    for name in ("best.npz", "last.npz", "metrics.json", "samples.txt"):
        assert (char_run / name).is_file(), name
    metrics = strict_json(char_run / "metrics.json")
    history = metrics["history"]
    assert [h["epoch"] for h in history] == [1, 2] and history[-1]["step"] == 2 * STEPS_PER_EPOCH
    # best.npz is the epoch of the lowest validation bpc, and the report scores that model
    assert metrics["val_bpc"] == min(h["val_bpc"] for h in history)
    assert set(metrics["baselines"]) == {"1-gram", "2-gram", "3-gram", "5-gram"}
    assert metrics["config"]["hidden"] == 16 and metrics["units_per_char"] == 1.0
    assert set(metrics["samples"]) == {"0.5", "1.0"} and set(metrics["timing"]) == {"train_seconds", "items"}
    samples = (char_run / "samples.txt").read_text(encoding="utf-8")
    assert samples.startswith("# temperature 0.5\n") and "# temperature 1.0, 16 rows" in samples
    if pyplot() is not None:  # matplotlib installed: the three figures, listed in metrics.json
        assert metrics["figures"] == [str(char_run / n) for n in ("bpc.png", "activations.png", "gates.png")]
        assert all((char_run / n).stat().st_size > 1000 for n in ("bpc.png", "activations.png", "gates.png"))
    model, units, config = checkpoint.load_model(char_run / "best.npz")
    assert model.config["hidden"] == 16 and units.size == metrics["vocabulary"] and config["options"]["seed"] == 0


def test_the_same_seed_repeats_metrics_json_except_timing(tmp_path, text, no_figures):
    out = tmp_path / "run"
    assert run_train("--text", text, "--out", out, *TINY) == 0
    assert run_train("--text", text, "--out", out, "--restart", *TINY) == 0  # the first run moves to run.old-1
    first, second = strict_json(tmp_path / "run.old-1" / "metrics.json"), strict_json(out / "metrics.json")
    assert without(first, "timing") == without(second, "timing")
    assert_same(checkpoint.read(tmp_path / "run.old-1" / "last.npz"), checkpoint.read(out / "last.npz"))
    # another seed is another run (so the equality above is not vacuous)
    assert run_train("--text", text, "--out", tmp_path / "seed1", "--seed", "1", *TINY) == 0
    other = strict_json(tmp_path / "seed1" / "metrics.json")
    assert other["history"][0]["train_loss"] != first["history"][0]["train_loss"]


class StopAt(Trainer):
    """A Trainer whose stop flag (what Ctrl-C sets) goes up during step `STOP` (1-based)."""

    STOP = 0

    def _after_step(self, value, where):
        super()._after_step(value, where)
        if self.progress.step == self.STOP:
            self._stop = True


@pytest.mark.parametrize("stop", [5, STEPS_PER_EPOCH, STEPS_PER_EPOCH + 11])  # in epoch 1, its end, in epoch 2
def test_resume_after_an_interruption_equals_an_uninterrupted_run(tmp_path, text, char_run, monkeypatch, capsys,
                                                                    no_figures, stop):
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(StopAt, "STOP", stop)
        m.setattr(train_cmd, "Trainer", StopAt)
        assert run_train("--text", text, "--out", out, *TINY) == 130
    assert "interrupted: saved" in capsys.readouterr().err
    saved = checkpoint.read(out / "last.npz")
    assert saved["progress"]["step"] == stop and not (out / "metrics.json").exists()
    carried = saved["carried"][0]
    if stop % STEPS_PER_EPOCH:  # mid-epoch: the state the next chunk starts from is in the checkpoint
        assert len(carried) == 2 and carried[0].shape == (4, 16) and np.abs(carried[0]).max() > 0
    else:  # after the last chunk; the epoch's validation has not run yet
        assert saved["progress"]["batch"] == STEPS_PER_EPOCH and saved["progress"]["history"] == []

    assert run_train("--resume", "--out", out, "--no-progress") == 0
    assert f"step {stop}" in capsys.readouterr().out
    for name in ("last.npz", "best.npz"):
        assert_same(checkpoint.read(out / name), checkpoint.read(char_run / name), name)
    resumed, reference = strict_json(out / "metrics.json"), strict_json(char_run / "metrics.json")
    assert without(resumed, "timing", "figures") == without(reference, "timing", "figures")
    assert (out / "samples.txt").read_text(encoding="utf-8") == (char_run / "samples.txt").read_text(encoding="utf-8")


def test_units_jamo_trains_and_samples_whole_syllables(jamo_run, char_run):
    metrics = strict_json(jamo_run / "metrics.json")
    assert metrics["config"]["units"] == "jamo" and metrics["units_per_char"] > 1.5
    assert metrics["vocabulary"] < strict_json(char_run / "metrics.json")["vocabulary"]
    model, units, _ = checkpoint.load_model(jamo_run / "best.npz")
    assert isinstance(units, JamoUnits)
    for text in metrics["samples"].values():  # recomposed: no conjoining jamo left in the printed samples
        assert not any(0x1100 <= ord(ch) <= 0x11FF for ch in text)
        assert any(0xAC00 <= ord(ch) <= 0xD7A3 for ch in text)


@pytest.mark.parametrize("data, offset", [
    (b"abc\x00def\n", 3),  # binary: the first NUL
    ("가나다\n".encode() + b"\xff\xfe\n", 10),  # not UTF-8: the first bad byte (3 syllables of 3 bytes, a newline)
    ("가".encode("cp949") + b"\n", 0),  # a legacy Korean encoding
])
def test_a_binary_or_non_utf8_text_is_one_line_naming_the_byte_offset(tmp_path, capsys, data, offset):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    assert run_train("--text", path, "--out", tmp_path / "run", *TINY) == 2
    line = error_line(capsys)
    assert str(path) in line and f"byte offset {offset})" in line
    assert not (tmp_path / "run" / "last.npz").exists()



def test_a_corrected_text_after_a_bad_one_is_not_refused(tmp_path, text, capsys, no_figures):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00")
    assert run_train("--text", bad, "--out", tmp_path / "run", *TINY) == 2
    capsys.readouterr()
    assert run_train("--text", text, "--out", tmp_path / "run", *TINY) == 0  # --out was left free


@pytest.mark.parametrize("content, options, says", [
    ("가나다라\n" * 50, ["--batch-size", "1000"], "lower the batch size to at most"),  # rows of < 2 units
    ("가나\n", [], "at least 4 units"),  # too short to hold out a validation part
    ("가나다라\n" * 50, ["--valid-fraction", "0"], "valid_fraction must be between 0 and 1"),
    ("가나다라\n" * 50, ["--valid-fraction", "1"], "valid_fraction must be between 0 and 1"),
])
def test_a_text_too_short_for_the_layout_is_one_line_before_training(tmp_path, capsys, content, options, says):
    path = tmp_path / "t.txt"
    path.write_text(content, encoding="utf-8")
    assert run_train("--text", path, "--out", tmp_path / "run", *TINY, *options) == 2  # the last --batch-size wins
    line = error_line(capsys)
    assert says in line and str(path) in line
    assert not (tmp_path / "run" / "last.npz").exists()

# ---- charlm.sample --------------------------------------------------------------------------------------
def test_sampling_with_a_prime_at_temperature_zero_is_deterministic(char_run, capsys):
    argv = ("--out", char_run, "--prime", "고양이가", "--temperature", "0", "--length", "40")
    assert run_sample(*argv) == 0
    first = capsys.readouterr()
    assert run_sample(*argv, "--seed", "7") == 0  # the seed does not matter when greedy
    assert capsys.readouterr().out == first.out and first.err == ""
    model, units, _ = checkpoint.load_model(char_run / "best.npz")
    expected = "고양이가" + units.decode(generate(model, units, "고양이가", 40, temperature=0)[0])
    assert first.out == expected + "\n"


def test_a_sampling_seed_repeats_and_another_differs(char_run, capsys):
    outs = []
    for seed in (3, 3, 4):
        assert run_sample("--out", char_run, "--length", "60", "--seed", seed, "--top-k", "5", "--top-p", "0.9") == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] != outs[2]


def test_sampling_from_a_checkpoint_file(char_run, capsys):
    assert run_sample("--checkpoint", char_run / "last.npz", "--temperature", "0", "--length", "10") == 0
    assert len(capsys.readouterr().out) > 10


@pytest.mark.parametrize("option, value", [("--top-p", "1.5"), ("--top-p", "0"), ("--temperature", "-1"),
                                           ("--length", "0")])
def test_bad_sampling_options_exit_2(char_run, capsys, option, value):
    with pytest.raises(SystemExit) as e:
        run_sample("--out", char_run, option, value)
    assert e.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"argument {option}" in last


def test_sampling_a_missing_run_folder_is_one_line(tmp_path, capsys):
    assert run_sample("--out", tmp_path / "nowhere") == 2
    assert str(tmp_path / "nowhere" / "best.npz") in error_line(capsys)


def test_a_prime_with_a_character_not_in_the_training_text_prints_the_note(char_run, capsys):
    assert run_sample("--out", char_run, "--prime", "고양이Q가", "--temperature", "0", "--length", "5") == 0
    captured = capsys.readouterr()
    assert captured.err == "note: not in the training text, read as <unk>: Q\n"
    assert captured.out.startswith("고양이Q가")


def test_in_jamo_mode_a_syllable_with_an_unseen_jamo_prints_the_note(jamo_run, capsys):
    # 감 = ᄀ ᅡ ᆷ: the text has ᄀ and ᅡ but no final ᆷ, so the syllable is read with one <unk>; 강 (final ᆼ) is known
    units = checkpoint.load_model(jamo_run / "best.npz")[1]
    assert units.encode("감").tolist()[-1] == 0 and 0 not in units.encode("강").tolist()
    assert run_sample("--out", jamo_run, "--prime", "고양이 감 강", "--temperature", "0", "--length", "5") == 0
    captured = capsys.readouterr()
    assert captured.err == "note: not in the training text, read as <unk>: 감\n"
    assert captured.out.startswith("고양이 감 강")


def test_a_validation_part_too_short_to_show_a_signal_still_reports(tmp_path, text):
    # --valid-fraction 0.001 holds out the last 2 units (".\n"): no cell can correlate with a constant signal, so
    # there is no activations.png/gates.png to draw -- the run must still finish and write metrics.json
    out = tmp_path / "run"
    assert run_train("--text", text, "--out", out, "--valid-fraction", "0.001", *TINY) == 0
    metrics = strict_json(out / "metrics.json")
    assert math.isfinite(metrics["val_bpc"]) and (out / "samples.txt").is_file()
    if pyplot() is not None:
        assert metrics["figures"] == [str(out / "bpc.png")]
