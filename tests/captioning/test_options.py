"""The command line (captioning.options): every option checked at parse time, before any work; --help complete."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from captioning import data, options
from captioning.options import Config, build_parser, parse
from demokit.runs import RunFolder

BAD = [
    ("--n-train", "0"), ("--n-valid", "0"), ("--n-test", "0"), ("--batch-size", "0"), ("--hidden", "0"),
    ("--emb", "0"), ("--beam", "0"), ("--epochs", "0"), ("--threads", "0"), ("--n-train", "2.5"),
    ("--lr", "0"), ("--lr", "-1e-3"), ("--lr", "nan"), ("--lr", "inf"), ("--clip", "-1"), ("--clip", "nan"),
    ("--max-minutes", "-1"), ("--warmup", "-1"), ("--seed", "-1"),
    ("--size", str(data.MIN_SIZE - 1)), ("--size", str(data.MAX_SIZE + 1)), ("--size", "big"),
    ("--inject", "last"), ("--lang", "fr"),
]


@pytest.mark.parametrize(("option", "value"), BAD)
def test_bad_values_are_refused_at_parse_time(option: str, value: str, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the options were checked")

    monkeypatch.setattr(RunFolder, "open", no_work)
    monkeypatch.setattr(data, "make_dataset", no_work)
    from captioning.demo import main

    with pytest.raises(SystemExit) as exit_info:
        main([option, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and "Traceback" not in err
    assert len(err.strip().splitlines()[-1]) < 200  # usage, then one line naming the option


def test_unknown_option_exits_2(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(["--bogus"])
    assert exit_info.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_good_values_parse_into_a_typed_config() -> None:
    cfg, given = parse(["--size", "40", "--lr", "1e-3", "--lang", "ko", "--clip", "0", "--no-progress"])
    assert cfg == Config(size=40, lr=1e-3, lang="ko", clip=0.0, progress=False)
    assert given == {"size", "lr", "lang", "clip", "progress"}
    assert isinstance(cfg.lr, float) and isinstance(cfg.size, int)


def test_defaults_define_the_run_by_epochs_not_by_the_clock() -> None:
    cfg, _ = parse([])
    assert cfg == Config() and cfg.max_minutes == 0 and cfg.epochs >= 1
    assert "out" not in cfg.saved() and "progress" not in cfg.saved() and "seed" in cfg.saved()


def test_help_documents_every_option_with_its_default() -> None:
    parser = build_parser()
    text = parser.format_help()
    for action in parser._actions:
        assert action.help, action.dest
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            assert f"(default: {action.default})" in " ".join(text.split()), action.dest
    for option in ("--size", "--n-train", "--n-valid", "--n-test", "--epochs", "--batch-size", "--lr", "--warmup",
                   "--hidden", "--emb", "--inject", "--beam", "--lang", "--clip", "--seed", "--out", "--resume",
                   "--restart", "--image", "--max-minutes", "--threads", "--progress"):
        assert option in text, option
    assert "--retrain" not in text  # replaced by the run-folder semantics (--resume / --restart)


def test_warmup_is_capped_at_a_tenth_of_the_run() -> None:
    assert options.warmup_steps(Config(warmup=200), 2500) == 200
    assert options.warmup_steps(Config(warmup=200), 40) == 4
    assert options.warmup_steps(Config(warmup=200), 4) == 0
    assert options.warmup_steps(Config(warmup=0), 4000) == 0


def test_run_control_options_are_real_options() -> None:
    fields = set(Config().__dataclass_fields__)
    assert options.RUN_CONTROL <= fields and options.NOT_SAVED <= fields
    assert Path(Config().out).parts[0] == "runs"
