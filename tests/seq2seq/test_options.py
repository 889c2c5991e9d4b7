"""seq2seq.options: the typed Config, per-task defaults, defaults measured from a user's TSV, --resume overrides."""

from __future__ import annotations

import pytest

from seq2seq import options as O
from seq2seq.data import Splits, load_task, make_addition, make_dates


def _as_tsv(splits: Splits, name: str = "mine.tsv") -> Splits:
    """The same pairs as if read from a user's file (name "tsv")."""
    return Splits(splits.train, splits.valid, splits.test, name="tsv", about=name)


def test_parse_gives_a_config_with_the_task_options_open_until_resolved():
    cfg, typed = O.parse(["--task", "dates", "--lr", "1e-3"])
    assert isinstance(cfg, O.Config) and cfg.out == "runs/seq2seq-dates" and cfg.hidden is None
    assert {"task", "lr"} <= typed and "hidden" not in typed
    cfg, units = O.resolve(cfg, load_task("dates"))
    assert (cfg.vocab_size, cfg.emb, cfg.hidden, cfg.epochs, cfg.lr) == (0, 64, 128, 3, 1e-3)  # typed lr kept
    assert cfg.bleu_tokenize == "char" and units == "characters (the --task dates default)"
    assert O.parse(["--data", "x/my pairs.tsv"])[0].out == "runs/seq2seq-my pairs"


def test_the_built_in_corpus_gets_subwords_and_ko_mecab():
    cfg, units = O.resolve(O.parse([])[0], load_task("corpus"))
    assert cfg.vocab_size == 1000 and cfg.epochs == O.CORPUS_EPOCHS and cfg.bleu_tokenize == "ko-mecab"
    assert units == "sentencepiece unigram 1000 per language (the --task corpus default)"


@pytest.mark.parametrize("task", ["dates", "addition"])
def test_a_toy_task_given_as_a_tsv_gets_character_units(task):
    pairs = make_dates(30_000) if task == "dates" else make_addition(30_000)
    splits = Splits(pairs[:27_000], pairs[27_000:28_500], pairs[28_500:], name="tsv")
    cfg, units = O.resolve(O.parse(["--data", "toy.tsv"])[0], splits)
    assert cfg.vocab_size == 0 and (cfg.emb, cfg.hidden) == (64, 128) and cfg.bleu_tokenize == "char"
    assert units.startswith("character units: short strings of few symbols")
    assert cfg.epochs == 41  # ceil(17,200 steps / 422 steps per epoch): as many steps as --task addition
    assert "at most 41 epochs of 422 steps" in units


def test_the_corpus_given_as_a_tsv_gets_the_corpus_defaults():
    cfg, units = O.resolve(O.parse(["--data", "ko.tsv"])[0], _as_tsv(load_task("corpus")))
    assert (cfg.vocab_size, cfg.emb, cfg.hidden, cfg.bleu_tokenize) == (1000, 128, 256, "ko-mecab")
    assert cfg.epochs == O.CORPUS_EPOCHS  # 32,000 pairs = 500 steps per epoch
    assert units.startswith("sentencepiece 1000 per language: the text is sentences (39 / 398 distinct characters")


def test_english_sentences_get_subwords_and_13a():
    words = "the cat dog eats sees a big small red old new house tree".split()
    pairs = [(" ".join(words[(i + k) % 13] for k in range(5)) + f" {i}", " ".join(words[(i * 7 + k) % 13]
                                                                                  for k in range(4)))
             for i in range(600)]
    cfg, units = O.resolve(O.parse(["--data", "en.tsv"])[0], Splits(pairs[:500], pairs[500:550], pairs[550:], "tsv"))
    assert cfg.vocab_size == 1000 and cfg.bleu_tokenize == "13a" and "words per line" in units
    assert cfg.epochs == O.DATA_EPOCHS[1]  # 8 steps per epoch: capped


def test_typed_options_win_over_measured_defaults():
    cfg, units = O.resolve(O.parse(["--data", "ko.tsv", "--vocab-size", "0", "--hidden", "64", "--epochs", "2",
                                    "--bleu-tokenize", "13a"])[0], _as_tsv(load_task("corpus")))
    assert (cfg.vocab_size, cfg.hidden, cfg.epochs, cfg.bleu_tokenize) == (0, 64, 2, "13a")
    assert units == "characters (--vocab-size 0)"


def test_resume_keeps_the_saved_options_except_the_typed_run_control_ones(capsys):
    saved_cfg, _ = O.resolve(O.parse(["--task", "dates", "--epochs", "3"])[0], load_task("dates"))
    saved = saved_cfg.saved()
    now, typed = O.parse(["--task", "dates", "--resume", "--epochs", "5", "--beam", "3", "--hidden", "64"])
    cfg = O.for_resume(saved, now, typed)
    assert (cfg.epochs, cfg.beam) == (5, 3) and cfg.hidden == 128 and cfg.resume and cfg.out == now.out
    assert "ignored: --hidden" in capsys.readouterr().err
