"""Tests of the generated English->Korean corpus (data/en_ko): morphology tables, grammar checked over the
whole corpus from each pair's structured description, the held-out split, determinism, the shipped TSVs."""

import subprocess
import sys
from pathlib import Path

import english
import generate as gen
import korean
import lexicon
import pytest
from generate import Example, NounPhrase, Spec, render

from demokit.hangul import decompose, particle

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "en_ko"
SMALL = {"seed": 3, "n_train": 1500, "n_valid": 60, "n_test": 60}


@pytest.fixture(scope="module")
def corpus():
    return gen.generate_corpus(seed=0)


@pytest.fixture(scope="module")
def examples(corpus):
    return [e for name in gen.SPLITS for e in corpus[name]]


@pytest.fixture(scope="module")
def small():
    return gen.generate_corpus(**SMALL)


def np(head, **kw):
    return NounPhrase(head, **kw)


def tokens(text):
    return text.rstrip(".?").split()


# --- hand-written sentences ---------------------------------------------------------------------------------

HAND = [
    (Spec("action", (np("boy"),), "present", verb="eat", obj=np("apple", det="a")),
     "The boy eats an apple.", "소년이 사과를 먹어요."),
    (Spec("action", (np("student"),), "present", verb="read", obj=np("book", det="a"), adjunct="place",
          extra=np("library")),
     "The student reads a book at the library.", "학생이 도서관에서 책을 읽어요."),
    (Spec("action", (np("boy"),), "past", verb="study", adjunct="place", extra=np("school"),
          time="yesterday"),
     "The boy studied at the school yesterday.", "어제 소년이 학교에서 공부했어요."),
    (Spec("action", (np("girl"),), "present", verb="play", adjunct="with", extra=np("friend", det="a")),
     "The girl plays with a friend.", "소녀가 친구와 놀아요."),
    (Spec("action", (np("boy"),), "future", verb="walk", adjunct="with", extra=np("teacher"),
          time="tomorrow"),
     "The boy will walk with the teacher tomorrow.", "내일 소년이 선생님과 걸을 거예요."),
    (Spec("action", (np("man"),), "present", verb="go", obj=np("park"), adjunct="vehicle",
          extra=np("bus", det="")),
     "The man goes to the park by bus.", "남자가 버스로 공원에 가요."),
    (Spec("action", (np("woman"),), "past", verb="come", obj=np("school"), adjunct="vehicle",
          extra=np("subway", det="")),
     "The woman came to the school by subway.", "여자가 지하철로 학교에 왔어요."),
    (Spec("action", (np("girl"),), "present", verb="write", obj=np("letter", det="a"), adjunct="tool",
          extra=np("pencil", det="a")),
     "The girl writes a letter with a pencil.", "소녀가 연필로 편지를 써요."),
    (Spec("action", (np("she", pronoun=True),), "past", verb="draw", obj=np("cat", det="a"), adjunct="tool",
          extra=np("pen", det="a")),
     "She drew a cat with a pen.", "그녀는 펜으로 고양이를 그렸어요."),
    (Spec("action", (np("I", pronoun=True),), "present", verb="eat", obj=np("rice", det=""), adjunct="tool",
          extra=np("spoon", det="a")),
     "I eat rice with a spoon.", "저는 숟가락으로 밥을 먹어요."),
    (Spec("action", (np("cat"), np("dog")), "present", verb="sleep"),
     "The cat and the dog sleep.", "고양이와 개가 자요."),
    (Spec("action", (np("cat"),), "past", verb="eat", obj=np("fish"), question=True),
     "Did the cat eat the fish?", "고양이가 생선을 먹었어요?"),
    (Spec("action", (np("cat"),), "present", verb="eat", obj=np("fish"), negated=True),
     "The cat does not eat the fish.", "고양이가 생선을 안 먹어요."),
    (Spec("action", (np("child", plural=True),), "past", verb="listen", obj=np("music", det=""),
          negated=True),
     "The children did not listen to music.", "아이들이 음악을 안 들었어요."),
    (Spec("action", (np("mouse", plural=True),), "future", verb="sleep", negated=True),
     "The mice will not sleep.", "쥐들이 안 잘 거예요."),
    (Spec("action", (np("student"),), "present", verb="study", obj=np("math", det=""), negated=True),
     "The student does not study math.", "학생이 수학을 공부 안 해요."),
    (Spec("action", (np("he", pronoun=True),), "past", verb="know", obj=np("teacher"), negated=True),
     "He did not know the teacher.", "그는 선생님을 몰랐어요."),
    (Spec("action", (np("girl"),), "present", verb="dance", negated=True),
     "The girl does not dance.", "소녀가 춤을 안 춰요."),
    (Spec("action", (np("doctor"),), "present", verb="help", obj=np("they", pronoun=True)),
     "The doctor helps them.", "의사가 그들을 도와요."),
    (Spec("action", (np("father"),), "present", verb="build", obj=np("house", det="a")),
     "The father builds a house.", "아버지가 집을 지어요."),
    (Spec("action", (np("boy"),), "past", verb="buy", obj=np("apple", number=3)),
     "The boy bought three apples.", "소년이 사과 세 개를 샀어요."),
    (Spec("action", (np("student", number=5),), "present", verb="sing", obj=np("song", det="a")),
     "Five students sing a song.", "학생 다섯 명이 노래를 불러요."),
    (Spec("action", (np("boy"),), "present", verb="wake_up", question=True),
     "Does the boy wake up?", "소년이 일어나요?"),
    (Spec("action", (np("bird", plural=True),), "future", verb="fly", adjunct="place", extra=np("sky"),
          time="tonight"),
     "The birds will fly in the sky tonight.", "오늘 밤에 새들이 하늘에서 날 거예요."),
    (Spec("describe", (np("dog"),), "present", adjective="big", question=True),
     "Is the dog big?", "개가 커요?"),
    (Spec("describe", (np("apple"),), "present", adjective="red", negated=True),
     "The apple is not red.", "사과가 빨갛지 않아요."),
    (Spec("describe", (np("cake"),), "past", adjective="delicious", negated=True),
     "The cake was not delicious.", "케이크가 맛없었어요."),
    (Spec("describe", (np("we", pronoun=True),), "future", adjective="hungry", time="tomorrow"),
     "We will be hungry tomorrow.", "내일 우리는 배고플 거예요."),
    (Spec("describe", (np("I", pronoun=True),), "present", adjective="tired"),
     "I am tired.", "저는 피곤해요."),
    (Spec("exist", (np("cat", number=2),), "present", adjunct="at", extra=np("room")),
     "There are two cats in the room.", "방에 고양이 두 마리가 있어요."),
    (Spec("exist", (np("dog", det="no"),), "past", adjunct="at", extra=np("park"), negated=True),
     "There was no dog in the park.", "공원에 개가 없었어요."),
    (Spec("exist", (np("ball", det="a", adjective="red"),), "future", adjunct="under", extra=np("table"),
          question=True),
     "Will there be a red ball under the table?", "탁자 아래에 빨간 공이 있을 거예요?"),
    (Spec("exist", (np("water", det=""),), "present", adjunct="in", extra=np("cup")),
     "There is water in the cup.", "컵 안에 물이 있어요."),
    (Spec("exist", (np("cake", det="a", adjective="sweet"),), "present", adjunct="on", extra=np("plate")),
     "There is a sweet cake on the plate.", "접시 위에 단 케이크가 있어요."),
    (Spec("identity", (np("man"),), "present", complement=np("doctor", det="a")),
     "The man is a doctor.", "남자는 의사예요."),
    (Spec("identity", (np("she", pronoun=True),), "past",
          complement=np("teacher", det="a", adjective="kind")),
     "She was a kind teacher.", "그녀는 친절한 선생님이었어요."),
    (Spec("identity", (np("they", pronoun=True),), "present", complement=np("student", det="", plural=True),
          negated=True),
     "They are not students.", "그들은 학생이 아니에요."),
    (Spec("identity", (np("woman", plural=True),), "present", complement=np("nurse", det="", plural=True),
          question=True),
     "Are the women nurses?", "여자들은 간호사예요?"),
]


@pytest.mark.parametrize("spec, en, ko", HAND, ids=[h[1] for h in HAND])
def test_hand_written_sentences(spec, en, ko):
    example = render(spec)
    assert (example.english, example.korean) == (en, ko)


def test_known_particles():
    # the cases named in the issue, through the renderer's noun phrase + particle path
    cases = [("apple", "을/를", "사과를"), ("book", "을/를", "책을"), ("friend", "와/과", "친구와"),
             ("teacher", "와/과", "선생님과"), ("bus", "으로/로", "버스로"),
             ("subway", "으로/로", "지하철로"), ("pencil", "으로/로", "연필로"),
             ("pen", "으로/로", "펜으로"), ("knife", "으로/로", "칼로"), ("cat", "이/가", "고양이가"),
             ("student", "이/가", "학생이"), ("dentist", "이/가", "치과 의사가")]
    for noun, pair, expected in cases:
        assert gen.with_particle(gen.korean_np(np(noun)), pair) == expected
    assert gen.korean_np(np("school")) + "에서" == "학교에서"


# --- grammar checked over the whole corpus ---------------------------------------------------------------

def _last_word(phrase: NounPhrase, plural_marked: bool = True) -> str:
    """The Korean word a particle attaches to, derived here independently of generate.korean_np."""
    if phrase.pronoun:
        return lexicon.PRONOUNS[phrase.head].ko
    noun = lexicon.NOUNS[phrase.head]
    if phrase.number:
        return noun.counter
    return noun.ko.split()[-1] + ("들" if phrase.plural and plural_marked else "")


def _has_final(word: str) -> bool:
    return decompose(word[-1])[2] != 0


def _expected_form(word: str, pair: str) -> str:
    """Particle choice written out from the final consonant (not via hangul.particle), to cross-check it."""
    if "/" not in pair:
        return word + pair
    if pair == "으로/로":
        return word + ("으로" if decompose(word[-1])[2] not in (0, 8) else "로")
    consonant_form, vowel_form = {"이/가": ("이", "가"), "은/는": ("은", "는"), "을/를": ("을", "를"),
                                  "와/과": ("과", "와")}[pair]
    return word + (consonant_form if _has_final(word) else vowel_form)


def marked_words(spec: Spec) -> list[tuple[str, str]]:
    """(word, particle) for every noun phrase of a description that carries a particle in Korean."""
    out = []
    subjects = spec.subjects
    if len(subjects) == 2:
        out.append((_last_word(subjects[0]), "와/과"))
    topic = spec.template == "identity" or subjects[0].pronoun
    out.append((_last_word(subjects[-1]), "은/는" if topic else "이/가"))
    if spec.template == "action":
        verb = lexicon.VERBS[spec.verb]
        if spec.obj is not None:
            out.append((_last_word(spec.obj), verb.case))
        if spec.extra is not None:
            particle_of = {"place": "에서", "with": "와/과", "tool": "으로/로", "vehicle": "으로/로"}
            out.append((_last_word(spec.extra), particle_of[spec.adjunct]))
    if spec.template == "exist" and spec.adjunct == "at":
        out.append((_last_word(spec.extra), "에"))
    if spec.template == "identity" and spec.negated:
        out.append((_last_word(spec.complement, plural_marked=False), "이/가"))
    return out


def particle_problems(example: Example) -> list[str]:
    words = tokens(example.korean)
    problems = []
    for word, pair in marked_words(example.spec):
        expected = _expected_form(word, pair)
        if "/" in pair and expected != word + particle(word, pair):
            problems.append(f"hangul.particle disagrees on {word}+{pair}")
        if expected not in words:
            problems.append(f"{example.korean!r} lacks {expected!r}")
    if example.spec.template == "identity" and not example.spec.negated:
        job = _last_word(example.spec.complement, plural_marked=False)
        ending = {"present": ("이에요", "예요"), "past": ("이었어요", "였어요")}[example.spec.tense]
        if job + ending[0 if _has_final(job) else 1] not in words:
            problems.append(f"{example.korean!r}: wrong copula after {job!r}")
    return problems


def test_particles_follow_final_consonant_over_corpus(examples):
    checked = sum(len(marked_words(e.spec)) for e in examples)
    assert checked > 1.5 * len(examples)  # about two particles a sentence
    problems = [p for e in examples for p in particle_problems(e)]
    assert not problems, problems[:10]


def test_particle_checker_catches_a_wrong_particle():
    good = render(HAND[0][0])
    bad = Example(good.english, good.korean.replace("사과를", "사과을"), good.spec)
    assert not particle_problems(good)
    assert particle_problems(bad)


def _tense_of_korean(korean_text: str) -> str:
    """Tense read off the Korean predicate: ...(으)ㄹ 거예요 = future; ㅆ before 어요 = past."""
    text = korean_text.rstrip(".?")
    if text.endswith("거예요"):
        return "future"
    last = text.split()[-1]
    # ㅆ before 어요 marks the past, except in 있어요 (있다 "be there", present)
    if last.endswith("어요") and len(last) >= 3 and decompose(last[-3])[2] == 20 and last[-3] != "있":
        return "past"
    return "present"


def test_tense_matches_time_word_and_predicate(examples):
    seen = {"present": 0, "past": 0, "future": 0}
    for e in examples:
        spec = e.spec
        seen[spec.tense] += 1
        if spec.time:
            time = lexicon.TIME_WORDS[spec.time]
            assert spec.tense == time.tense, e
            assert e.english.rstrip(".?").endswith(time.en) and e.korean.startswith(time.ko), e
        assert _tense_of_korean(e.korean) == spec.tense, e
        assert (" will " in f" {e.english.lower()} ") == (spec.tense == "future"), e
    assert min(seen.values()) > 3000
    assert _tense_of_korean("어제 고양이가 생선을 먹었어요.") == "past"
    assert _tense_of_korean("방에 고양이가 있어요.") == "present"


def test_negation_and_questions(examples):
    for e in examples:
        en, ko, spec = f" {e.english.lower().rstrip('.?')} ", tokens(e.korean), e.spec
        negated_en = " not " in en or " no " in en
        negated_ko = "안" in ko or any(w.startswith(("않", "없", "몰", "맛없", "재미없", "아니")) for w in ko)
        assert negated_en == negated_ko == spec.negated, e
        assert e.english.endswith("?") == e.korean.endswith("?") == spec.question, e
        if spec.question:
            assert e.english.split()[0] in {"Do", "Does", "Did", "Will", "Is", "Are", "Am", "Was", "Were"}, e
            assert not spec.negated


def test_sentences_are_short(examples):
    lengths = [len(e.english.split()) for e in examples]
    assert min(lengths) >= 3 and max(lengths) <= 10
    assert sum(lengths) / len(lengths) < 8


def test_vocabulary_agreement(examples):
    """Verbs get subjects and objects of the right kind; adjectives describe what they fit."""
    def tags(phrase):
        if phrase.pronoun:
            return lexicon.PRONOUNS[phrase.head].tags
        return lexicon.NOUNS[phrase.head].tags

    for e in examples:
        spec = e.spec
        if spec.template == "action":
            verb = lexicon.VERBS[spec.verb]
            assert any(all(gen.matches(tags(s), f.subject) for s in spec.subjects)
                       and (spec.obj is None or (f.object and gen.matches(tags(spec.obj), f.object)))
                       for f in verb.frames), e
            if spec.obj is None:
                assert verb.object_optional or not any(f.object for f in verb.frames), e
            if spec.adjunct == "place":
                assert verb.place in tags(spec.extra), e
            if spec.adjunct == "tool":
                assert verb.tool in tags(spec.extra), e
            if spec.adjunct == "vehicle":
                assert "vehicle" in tags(spec.extra), e
            if spec.adjunct == "with":
                assert "person" in tags(spec.extra), e
            if spec.adjunct in ("with", "tool", "vehicle"):
                assert all("person" in tags(s) for s in spec.subjects), e
            if spec.verb == "eat":
                assert tags(spec.obj) & {"food", "plant_food", "meat_food", "omni_food"}, e
            if spec.verb in ("read", "study", "write", "drive"):
                assert all("person" in tags(s) for s in spec.subjects), e
        if spec.template == "describe":
            assert gen.matches(tags(spec.subjects[0]), lexicon.ADJECTIVES[spec.adjective].applies), e
        for phrase in gen.noun_phrases(spec):
            if phrase.adjective:
                assert gen.matches(tags(phrase), lexicon.ADJECTIVES[phrase.adjective].applies), e
        if spec.template == "exist":
            assert spec.subjects[0].head in gen.contents(spec.extra.head) or spec.adjunct == "under", e
        if spec.template == "identity":
            assert "job" in tags(spec.complement), e


# --- morphology tables -------------------------------------------------------------------------------------

def _entry(ko: str):
    """The lexicon's verb or adjective with this dictionary form (so its irregular flag is tested too)."""
    for entry in list(lexicon.VERBS.values()) + list(lexicon.ADJECTIVES.values()):
        if entry.ko == ko:
            return entry
    raise KeyError(ko)


# dictionary form: present, past, future, negated present (short negation for verbs)
CONJUGATIONS = {
    "듣다": ("들어요", "들었어요", "들을 거예요", "안 들어요"),
    "돕다": ("도와요", "도왔어요", "도울 거예요", "안 도와요"),
    "하다": ("해요", "했어요", "할 거예요", "안 해요"),
    "가다": ("가요", "갔어요", "갈 거예요", "안 가요"),
    "오다": ("와요", "왔어요", "올 거예요", "안 와요"),
    "먹다": ("먹어요", "먹었어요", "먹을 거예요", "안 먹어요"),
    "걷다": ("걸어요", "걸었어요", "걸을 거예요", "안 걸어요"),
    "부르다": ("불러요", "불렀어요", "부를 거예요", "안 불러요"),
    "짓다": ("지어요", "지었어요", "지을 거예요", "안 지어요"),
    "살다": ("살아요", "살았어요", "살 거예요", "안 살아요"),
    "만들다": ("만들어요", "만들었어요", "만들 거예요", "안 만들어요"),
    "마시다": ("마셔요", "마셨어요", "마실 거예요", "안 마셔요"),
    "보다": ("봐요", "봤어요", "볼 거예요", "안 봐요"),
    "배우다": ("배워요", "배웠어요", "배울 거예요", "안 배워요"),
    "쓰다": ("써요", "썼어요", "쓸 거예요", "안 써요"),
    "자르다": ("잘라요", "잘랐어요", "자를 거예요", "안 잘라요"),
    "오르다": ("올라요", "올랐어요", "오를 거예요", "안 올라요"),
    "머무르다": ("머물러요", "머물렀어요", "머무를 거예요", "안 머물러요"),
    "닫다": ("닫아요", "닫았어요", "닫을 거예요", "안 닫아요"),  # regular ㄷ
    "받다": ("받아요", "받았어요", "받을 거예요", "안 받아요"),
    "입다": ("입어요", "입었어요", "입을 거예요", "안 입어요"),  # regular ㅂ
    "씻다": ("씻어요", "씻었어요", "씻을 거예요", "안 씻어요"),  # regular ㅅ
    "웃다": ("웃어요", "웃었어요", "웃을 거예요", "안 웃어요"),
    "쉬다": ("쉬어요", "쉬었어요", "쉴 거예요", "안 쉬어요"),
    "뛰다": ("뛰어요", "뛰었어요", "뛸 거예요", "안 뛰어요"),
    "날다": ("날아요", "날았어요", "날 거예요", "안 날아요"),
    "안다": ("안아요", "안았어요", "안을 거예요", "안 안아요"),
    "깨다": ("깨요", "깼어요", "깰 거예요", "안 깨요"),
    "가르치다": ("가르쳐요", "가르쳤어요", "가르칠 거예요", "안 가르쳐요"),
    "잃어버리다": ("잃어버려요", "잃어버렸어요", "잃어버릴 거예요", "안 잃어버려요"),
    "가져오다": ("가져와요", "가져왔어요", "가져올 거예요", "안 가져와요"),
    "일어나다": ("일어나요", "일어났어요", "일어날 거예요", "안 일어나요"),
    "공부하다": ("공부해요", "공부했어요", "공부할 거예요", "공부 안 해요"),
    "춤을 추다": ("춤을 춰요", "춤을 췄어요", "춤을 출 거예요", "춤을 안 춰요"),
    "알다": ("알아요", "알았어요", "알 거예요", "몰라요"),
}

# adjectives: present, past, future, long negation (or the suppletive negative)
ADJECTIVE_CONJUGATIONS = {
    "크다": ("커요", "컸어요", "클 거예요", "크지 않아요"),
    "빨갛다": ("빨개요", "빨갰어요", "빨갈 거예요", "빨갛지 않아요"),
    "하얗다": ("하얘요", "하얬어요", "하얄 거예요", "하얗지 않아요"),
    "귀엽다": ("귀여워요", "귀여웠어요", "귀여울 거예요", "귀엽지 않아요"),
    "가깝다": ("가까워요", "가까웠어요", "가까울 거예요", "가깝지 않아요"),
    "길다": ("길어요", "길었어요", "길 거예요", "길지 않아요"),
    "바쁘다": ("바빠요", "바빴어요", "바쁠 거예요", "바쁘지 않아요"),
    "배고프다": ("배고파요", "배고팠어요", "배고플 거예요", "배고프지 않아요"),
    "예쁘다": ("예뻐요", "예뻤어요", "예쁠 거예요", "예쁘지 않아요"),
    "빠르다": ("빨라요", "빨랐어요", "빠를 거예요", "빠르지 않아요"),
    "배부르다": ("배불러요", "배불렀어요", "배부를 거예요", "배부르지 않아요"),
    "좋다": ("좋아요", "좋았어요", "좋을 거예요", "좋지 않아요"),
    "행복하다": ("행복해요", "행복했어요", "행복할 거예요", "행복하지 않아요"),
    "맛있다": ("맛있어요", "맛있었어요", "맛있을 거예요", "맛없어요"),
    "재미있다": ("재미있어요", "재미있었어요", "재미있을 거예요", "재미없어요"),
}


@pytest.mark.parametrize("verb", list(CONJUGATIONS) + list(ADJECTIVE_CONJUGATIONS))
def test_conjugation_table(verb):
    expected = CONJUGATIONS.get(verb) or ADJECTIVE_CONJUGATIONS[verb]
    entry = _entry(verb)
    split = getattr(entry, "split", "")
    negation = "short" if verb in CONJUGATIONS else "long"
    got = tuple(korean.conjugate(entry.ko, t, False, entry.irregular) for t in ("present", "past", "future"))
    got += (korean.conjugate(entry.ko, "present", True, entry.irregular, negation, split, entry.negative),)
    assert got == expected


def test_more_negations_and_copula():
    assert korean.conjugate("알다", "past", True, negative="모르다") == "몰랐어요"
    assert korean.conjugate("크다", "past", True, negation="long") == "크지 않았어요"
    assert korean.conjugate("크다", "future", True, negation="long") == "크지 않을 거예요"
    assert korean.conjugate("있다", "future", True, negative="없다") == "없을 거예요"
    assert korean.conjugate("공부하다", "past", True, split="공부") == "공부 안 했어요"
    assert [korean.copula("의사", t) for t in ("present", "past", "future")] == [
        "의사예요", "의사였어요", "의사일 거예요"]
    assert korean.copula("학생", "past") == "학생이었어요"
    assert korean.copula("의사", "present", True) == "의사가 아니에요"
    assert korean.copula("선생님", "past", True) == "선생님이 아니었어요"


def test_attributive_adjectives():
    expected = {"크다": "큰", "작다": "작은", "빨갛다": "빨간", "귀엽다": "귀여운", "길다": "긴",
                "맛있다": "맛있는", "하얗다": "하얀", "노랗다": "노란", "달다": "단", "멀다": "먼",
                "둥글다": "둥근", "재미있다": "재미있는", "어렵다": "어려운", "배고프다": "배고픈",
                "빠르다": "빠른", "좋다": "좋은", "밝다": "밝은", "행복하다": "행복한", "예쁘다": "예쁜",
                "짧다": "짧은"}
    for adjective, form in expected.items():
        entry = _entry(adjective)
        assert korean.attributive(entry.ko, entry.irregular) == form, adjective
    big_dog = Spec("action", (np("dog", adjective="big"),), "present", verb="sleep")
    assert render(big_dog).korean == "큰 개가 자요."


def test_native_numbers_with_counters():
    nouns = lexicon.NOUNS
    assert korean.counted(nouns["cat"].ko, 2, nouns["cat"].counter) == "고양이 두 마리"
    assert korean.counted(nouns["apple"].ko, 3, nouns["apple"].counter) == "사과 세 개"
    assert korean.counted(nouns["student"].ko, 5, nouns["student"].counter) == "학생 다섯 명"
    assert korean.counted(nouns["book"].ko, 4, nouns["book"].counter) == "책 네 권"
    assert [korean.native_number(n) for n in range(1, 11)] == [
        "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열"]
    assert [korean.native_number(n, before_counter=False) for n in (1, 2, 3, 4, 20)] == [
        "하나", "둘", "셋", "넷", "스물"]
    assert [korean.native_number(n) for n in (11, 20, 21)] == ["열한", "스무", "스물한"]
    two_cats = Spec("exist", (np("cat", number=2),), "present", adjunct="at", extra=np("room"))
    assert render(two_cats).english == "There are two cats in the room."


def test_english_morphology():
    plurals = {"person": "people", "child": "children", "mouse": "mice", "sheep": "sheep", "fish": "fish",
               "man": "men", "woman": "women", "goose": "geese", "knife": "knives", "wolf": "wolves",
               "box": "boxes", "bus": "buses", "baby": "babies", "key": "keys", "potato": "potatoes",
               "photo": "photos", "police officer": "police officers", "sandwich": "sandwiches",
               "dress": "dresses", "cat": "cats"}
    assert {w: english.plural(w) for w in plurals} == plurals
    pasts = {"eat": "ate", "go": "went", "see": "saw", "buy": "bought", "drink": "drank", "swim": "swam",
             "play": "played", "study": "studied", "stop": "stopped", "like": "liked", "hug": "hugged",
             "visit": "visited", "open": "opened", "fix": "fixed", "cry": "cried", "wake up": "woke up",
             "read": "read", "build": "built", "catch": "caught", "travel": "traveled", "shop": "shopped"}
    assert {w: english.past(w) for w in pasts} == pasts
    thirds = {"eat": "eats", "go": "goes", "watch": "watches", "study": "studies", "play": "plays",
              "do": "does", "fix": "fixes", "wash": "washes", "have": "has", "fly": "flies",
              "wake up": "wakes up"}
    assert {w: english.third_person(w) for w in thirds} == thirds
    articles = {"apple": "an", "banana": "a", "egg": "an", "umbrella": "an", "elephant": "an",
                "university": "a", "hour": "an", "uniform": "a", "orange": "an", "big": "a",
                "expensive": "an", "one": "a"}
    assert {w: english.indefinite_article(w) for w in articles} == articles
    assert english.verb_phrase("eat", "present", 3, False, negated=True) == ("", "does not eat")
    assert english.verb_phrase("eat", "present", 1, False, negated=True) == ("", "do not eat")
    assert english.verb_phrase("eat", "past", 3, True, negated=True) == ("", "did not eat")
    assert english.verb_phrase("eat", "future", 3, False, negated=True) == ("", "will not eat")
    assert english.verb_phrase("eat", "past", 3, False, question=True) == ("did", "eat")
    assert english.verb_phrase("wake up", "present", 3, False, question=True) == ("does", "wake up")
    assert english.be_phrase("present", 3, False, question=True) == ("is", "")
    assert english.be_phrase("past", 1, False) == ("", "was")
    assert english.be_phrase("past", 3, True, negated=True) == ("", "were not")
    assert english.be_phrase("future", 3, False, question=True) == ("will", "be")
    assert english.be_phrase("present", 1, False) == ("", "am")
    assert [english.number_word(n) for n in (1, 3, 10, 21)] == ["one", "three", "ten", "twenty-one"]


# --- split, determinism, files -------------------------------------------------------------------------

def _words(example: Example) -> set[str]:
    return {w.lower() for w in tokens(example.english)} | {"ko:" + w for w in tokens(example.korean)}


def test_held_out_combinations_never_in_train(corpus):
    held = gen.held_out(0)
    assert held["valid"] and held["test"] and not held["valid"] & held["test"]
    train_pairs = set().union(*(gen.combinations(e.spec) for e in corpus["train"]))
    assert not train_pairs & (held["valid"] | held["test"])
    train_words = set().union(*(_words(e) for e in corpus["train"]))
    for name in ("valid", "test"):
        other = held["test" if name == "valid" else "valid"]
        for e in corpus[name]:
            pairs = gen.combinations(e.spec)
            assert pairs & held[name] and not pairs & other, e
            assert pairs - train_pairs, e  # a combination of words train never shows
            assert _words(e) <= train_words, e  # ... made of words train does show


def test_counts_and_uniqueness(corpus):
    assert len(lexicon.NOUNS) >= 150
    assert len(lexicon.VERBS) >= 60
    assert len(lexicon.TRANSITIVE_VERBS) >= 30 and len(lexicon.INTRANSITIVE_VERBS) >= 10
    assert all(not f.object for v in lexicon.INTRANSITIVE_VERBS for f in v.frames)
    assert all(f.object for v in lexicon.TRANSITIVE_VERBS for f in v.frames)
    assert len(lexicon.ADJECTIVES) >= 40
    assert {"yesterday", "today", "tomorrow", "every day"} <= set(lexicon.TIME_WORDS)
    assert {n: len(corpus[n]) for n in gen.SPLITS} == gen.DEFAULT_SIZES
    english_sentences = [e.english for n in gen.SPLITS for e in corpus[n]]
    assert len(set(english_sentences)) == len(english_sentences) >= 30000


def test_same_seed_same_corpus_other_seed_other_corpus(small):
    again = gen.generate_corpus(**SMALL)
    other = gen.generate_corpus(**{**SMALL, "seed": 4})
    for name in gen.SPLITS:
        assert gen.to_tsv(again[name]) == gen.to_tsv(small[name])
        assert gen.to_tsv(other[name]) != gen.to_tsv(small[name])


def test_shipped_files_equal_seed_0(corpus):
    for name in gen.SPLITS:
        shipped = (DATA / f"{name}.tsv").read_bytes()
        expected = gen.to_tsv(corpus[name]).encode("utf-8")
        assert shipped == expected, f"{name}.tsv differs from generate_corpus(seed=0): regenerate it"
        lines = shipped.decode("utf-8").split("\n")
        assert lines[-1] == "" and all(line.count("\t") == 1 for line in lines[:-1])


def test_command_line(tmp_path, small):
    script = DATA / "generate.py"
    run = subprocess.run([sys.executable, str(script), "--seed", "3", "--train", "1500", "--valid", "60",
                          "--test", "60", "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "train 1500, valid 60, test 60" in run.stdout and "vocabulary" in run.stdout
    for name in gen.SPLITS:
        assert (tmp_path / f"{name}.tsv").read_text(encoding="utf-8") == gen.to_tsv(small[name])
    usage = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True)
    assert all(option in usage.stdout for option in ("--seed", "--out", "--train", "--valid", "--test"))
    bad = subprocess.run([sys.executable, str(script), "--train", "0", "--out", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "n_train must be an integer >= 1" in bad.stderr


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="dictionary form"):
        korean.stem("먹")
    with pytest.raises(ValueError, match="tense"):
        korean.conjugate("먹다", "yesterday")
    with pytest.raises(ValueError, match="1..99"):
        korean.native_number(0)
    with pytest.raises(ValueError, match="no counter"):
        korean.counted("물", 2, "")
    with pytest.raises(ValueError, match="irregular"):
        korean.present("듣다", "ㅈ")
    with pytest.raises(ValueError, match="non-empty"):
        english.plural("")
    with pytest.raises(ValueError, match="0..99"):
        english.number_word(100)
    with pytest.raises(ValueError, match="n_valid"):
        gen.generate_corpus(n_valid=-1)
    with pytest.raises(ValueError, match="template"):
        render(Spec("poem", (np("cat"),), "present"))
