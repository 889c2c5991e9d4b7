"""charlm.grammar: particle agreement and time-word/tense agreement, on the corpus and on broken sentences."""

import pytest

from charlm.grammar import (
    grammar_report,
    known_nouns,
    noun_particles,
    opening_tense,
    particle_agreement,
    predicate_tense,
    sentences,
    tense_agreement,
    time_words,
)
from charlm.text import corpus_text


def test_the_corpus_itself_scores_about_one_hundred_percent():
    text = corpus_text("ko")
    correct, total = particle_agreement(text)
    agreeing, timed = tense_agreement(text)
    assert total > 50_000 and correct / total >= 0.98  # measured: 53,224 / 53,224
    assert timed > 13_000 and agreeing / timed >= 0.98  # measured: 13,225 / 13,225
    report = grammar_report(text)
    assert report["sentences"] == text.count("\n")


def test_lexicon_nouns_counters_pronouns_and_time_words_are_loaded():
    nouns = known_nouns()
    assert {"사과", "고양이", "책", "의사", "마리", "권", "그녀", "그들", "아들"} <= nouns
    assert "치과 의사" not in nouns
    words = dict(time_words())
    assert words["어제"] == "past" and words["오늘"] == "present" and words["오늘 밤에"] == "future"
    assert [w for w, _ in time_words()].index("오늘 밤에") < [w for w, _ in time_words()].index("오늘")


@pytest.mark.parametrize("good, bad", [
    ("고양이가 사과를 먹어요.", "고양이가 사과을 먹어요."),
    ("학생이 책을 읽어요.", "학생이 책를 읽어요."),
    ("고양이는 귀여워요.", "고양이은 귀여워요."),
    ("아이와 개가 놀아요.", "아이과 개가 놀아요."),
    ("학생과 선생님이 와요.", "학생와 선생님이 와요."),
    ("그는 펜으로 편지를 써요.", "그는 펜로 편지를 써요."),
    ("소년이 연필로 그려요.", "소년이 연필으로 그려요."),  # ㄹ-final takes 로
    ("고양이들이 자요.", "고양이들가 자요."),  # the plural 들 ends in ㄹ: 이
    ("사과 세 개를 샀어요.", "사과 세 개을 샀어요."),  # a counter
])
def test_a_wrong_particle_lowers_the_short_range_figure(good, bad):
    c_good, t_good = particle_agreement(good)
    c_bad, t_bad = particle_agreement(bad)
    assert t_good == t_bad >= 1
    assert c_good == t_good and c_bad == c_good - 1


def test_particle_tokens_found_and_not_found():
    found = noun_particles("고양이가 아들이 사과 고양이 원숭이 좋은 책을. 모르는말이")
    assert [(t, n, used, need) for t, n, used, need in found] == [
        ("고양이가", "고양이", "가", "가"), ("아들이", "아들", "이", "이"), ("책을.", "책", "을", "을")]
    # a case-role error keeps the right allomorph: not what this figure measures
    assert particle_agreement("사과가 먹었어요.") == (1, 1)
    assert particle_agreement("") == (0, 0)


@pytest.mark.parametrize("sentence, tense", [
    ("어제 고양이가 생선을 먹었어요.", "past"), ("고양이가 생선을 안 먹었어요?", "past"),
    ("그녀는 의사였어요.", "past"), ("방에 고양이가 있었어요.", "past"),
    ("방에 고양이가 있어요.", "present"), ("개가 커요?", "present"), ("남자는 의사예요.", "present"),
    ("학생이에요.", "present"), ("고양이가 없어요.", "present"),
    ("내일 비가 올 거예요.", "future"), ("학생이 공부 안 할 거예요.", "future"), ("크지 않을 거예요.", "future"),
    ("고양이가 사과를", None), ("거예요.", None), ("고양이가 먹었다.", None), ("먹 거예요.", None), ("", None),
])
def test_predicate_tense(sentence, tense):
    assert predicate_tense(sentence) == tense


def test_opening_time_word_takes_the_longest_match():
    assert opening_tense("오늘 밤에 고양이가 잘 거예요.") == "future"
    assert opening_tense("오늘 고양이가 자요.") == "present"
    assert opening_tense("어젯밤에 비가 왔어요.") == "past"
    assert opening_tense("어제는 ...") is None and opening_tense("고양이가 어제 잤어요.") is None


def test_wrong_tenses_lower_the_long_range_figure():
    good = "어제 고양이가 사과를 먹었어요.\n내일 학생이 책을 읽을 거예요.\n오늘 개가 자요.\n매일 소년이 학교에 가요.\n"
    assert tense_agreement(good) == (4, 4)
    bad = "어제 고양이가 사과를 먹을 거예요.\n내일 학생이 책을 읽었어요.\n오늘 개가 잤어요.\n매일 소년이 학교에\n"
    assert tense_agreement(bad) == (0, 3)  # the last line has no end: not a sentence
    assert tense_agreement("오늘 밤에 고양이가 자요.") == (0, 1)  # 오늘 밤에 demands the future
    assert tense_agreement("어제 고양이가 사과를.") == (0, 1)  # no predicate at all
    assert tense_agreement("고양이가 사과를 먹었어요.") == (0, 0)  # no time word: not counted


def test_sentences_split_on_final_punctuation_within_lines():
    assert sentences("가요. 와요?\n어제 잤어요\n왔어요!") == ["가요.", "와요?", "왔어요!"]


def test_command_reports_the_corpus_and_an_ngram_sample(capsys):
    from charlm.grammar import main

    assert main(["--order", "3", "--chars", "2000", "--seed", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("corpus") and "100.00%" in out[0]
    assert out[1].startswith("3-gram, --units char") and "particles" in out[1]
