"""Korean morphology for the generated corpus, in the polite 해요체 speech level.

    present   stem + 아요/어요       먹어요, 가요, 해요, 들어요 (듣다), 도와요 (돕다), 몰라요 (모르다)
    past      stem + 았어요/었어요   먹었어요, 갔어요, 했어요
    future    stem + (으)ㄹ 거예요   먹을 거예요, 갈 거예요, 살 거예요 (살다)
    negation  안 + verb (short)      안 먹어요, 공부 안 해요;   stem + 지 않다 (long): 크지 않아요
    adjective before a noun          stem + (으)ㄴ: 큰, 작은, 빨간 (빨갛다), 귀여운 (귀엽다), 긴 (길다)
                                     있다, 없다 take 는: 맛있는

The 아/어 choice is vowel harmony: 아 after a stem whose last vowel is ㅏ or ㅗ, 어 otherwise. Irregular
stems change before a vowel: ㄷ -> ㄹ (듣다 들어요), ㅂ -> 우 (춥다 추워요; 돕다, 곱다 -> 와), ㅅ drops (짓다
지어요), ㅎ merges (빨갛다 빨개요), 르 -> ㄹㄹ (모르다 몰라요), ㅡ drops (쓰다 써요). ㄹ stems drop ㄹ before
ㄴ (길다 긴) and take ㄹ without 으 (살 거예요). Only ㄷ, ㅂ, ㅅ and ㅎ must be given: each has regular
look-alikes (닫다 닫아요, 입다 입어요, 씻다 씻어요, 좋다 좋아요). Every 르 stem is taken as 르-irregular
(the few regular ones, 따르다 and 치르다, are not in the lexicon).

Syllables are split and rebuilt with demokit/hangul.py; particles come from hangul.particle.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from demokit.hangul import compose, decompose, has_final, is_hangul_syllable, particle
except ModuleNotFoundError:  # run from data/en_ko without the repo root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from demokit.hangul import compose, decompose, has_final, is_hangul_syllable, particle

# medial vowel indices (ㅏ=0 .. ㅣ=20) and final consonant indices used below
A, AE, YA, YAE, EO, E, YEO, YE, O, WA, WAE, OE, YO, U, WO, WE, WI, YU, EU, UI, I = range(21)
F_NONE, F_N, F_D, F_L, F_B, F_S, F_SS, F_H = 0, 4, 7, 8, 17, 19, 20, 27
IRREGULAR_CLASSES = ("", "ㄷ", "ㅂ", "ㅅ", "ㅎ")
TENSES = ("present", "past", "future")
NEGATIVE_COPULA = {"present": "아니에요", "past": "아니었어요", "future": "아닐 거예요"}

NATIVE_UNITS = ["", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉"]
NATIVE_UNITS_BEFORE_COUNTER = ["", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉"]
NATIVE_TENS = ["", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔"]


def stem(dictionary_form: str) -> str:
    """The stem of a dictionary form: 먹다 -> 먹. Only the last word counts: 춤을 추다 -> 추."""
    if not isinstance(dictionary_form, str):
        raise ValueError(f"expected a Korean verb, got {dictionary_form!r}")
    last = dictionary_form.split(" ")[-1]
    if len(last) < 2 or not last.endswith("다") or not all(map(is_hangul_syllable, last)):
        raise ValueError(f"not a Korean dictionary form ending in 다: {dictionary_form!r}")
    return last[:-1]


def _check_irregular(irregular: str) -> None:
    if irregular not in IRREGULAR_CLASSES:
        raise ValueError(f"unknown irregular class {irregular!r}; expected one of {IRREGULAR_CLASSES}")


def _bright(medial: int) -> bool:
    """Vowel harmony: ㅏ, ㅑ, ㅗ call for 아; every other vowel for 어."""
    return medial in (A, YA, O)


def infinitive(s: str, irregular: str = "") -> str:
    """The 아/어 form of a stem, the base of the present and past: 먹 -> 먹어, 가 -> 가, 듣 (ㄷ) -> 들어."""
    _check_irregular(irregular)
    head, last = s[:-1], s[-1]
    i, m, f = decompose(last)
    if last == "하":
        return head + "해"
    if f != F_NONE:
        if irregular == "ㄷ" and f == F_D:  # 듣 -> 들어
            return head + compose(i, m, F_L) + ("아" if _bright(m) else "어")
        if irregular == "ㅂ" and f == F_B:  # 춥 -> 추워; one-syllable ㅗ stems keep harmony: 돕 -> 도와
            return head + compose(i, m) + ("와" if len(s) == 1 and m == O else "워")
        if irregular == "ㅅ" and f == F_S:  # 짓 -> 지어: the vowel stays a syllable of its own
            return head + compose(i, m) + ("아" if _bright(m) else "어")
        if irregular == "ㅎ" and f == F_H:  # 빨갛 -> 빨개, 하얗 -> 하얘
            merged = {A: AE, YA: YAE, EO: E}.get(m)
            if merged is None:
                raise ValueError(f"no ㅎ-irregular contraction for {s!r}")
            return head + compose(i, merged)
        return s + ("아" if _bright(m) else "어")
    if last == "르" and len(s) >= 2:  # 모르 -> 몰라: ㄹ moves onto the previous syllable
        pi, pm, pf = decompose(s[-2])
        if pf != F_NONE:
            raise ValueError(f"르 stem with a closed previous syllable: {s!r}")
        return s[:-2] + compose(pi, pm, F_L) + ("라" if _bright(pm) else "러")
    if m == EU:  # ㅡ drops; harmony comes from the syllable before: 바쁘 -> 바빠, 쓰 -> 써
        bright = len(s) >= 2 and _bright(decompose(s[-2])[1])
        return head + compose(i, A if bright else EO)
    if m in (A, EO, AE, E, YEO, YAE, YE):  # the ending's vowel merges: 가 -> 가, 서 -> 서, 보내 -> 보내
        return s
    contracted = {O: WA, U: WO, I: YEO, OE: WAE}.get(m)  # 보 -> 봐, 배우 -> 배워, 마시 -> 마셔, 되 -> 돼
    if contracted is not None:
        return head + compose(i, contracted)
    return s + "어"  # ㅟ, ㅢ, ...: no contraction, 쉬 -> 쉬어


def _with_ending(s: str, irregular: str, final: int, syllable: str) -> str:
    """Stem + (으)ㄹ or (으)ㄴ: final is F_L or F_N, syllable is 을 or 은 (used after a consonant)."""
    _check_irregular(irregular)
    head, last = s[:-1], s[-1]
    i, m, f = decompose(last)
    if irregular == "ㄷ" and f == F_D:  # 듣 -> 들을
        return head + compose(i, m, F_L) + syllable
    if irregular == "ㅂ" and f == F_B:  # 돕 -> 도울, 귀엽 -> 귀여운
        return head + compose(i, m) + compose(11, U, final)
    if irregular == "ㅅ" and f == F_S:  # 짓 -> 지을
        return head + compose(i, m) + syllable
    if irregular == "ㅎ" and f == F_H:  # 빨갛 -> 빨간
        return head + compose(i, m, final)
    if f == F_L:  # ㄹ stem: 살 -> 살 (future), 길 -> 긴 (ㄹ drops before ㄴ)
        return s if final == F_L else head + compose(i, m, final)
    if f == F_NONE:
        return head + compose(i, m, final)
    return s + syllable


def present(verb: str, irregular: str = "") -> str:
    """Polite present: 먹다 -> 먹어요."""
    return _replace_last(verb, infinitive(stem(verb), irregular) + "요")


def past(verb: str, irregular: str = "") -> str:
    """Polite past: the 아/어 form closes with ㅆ, then 어요: 먹다 -> 먹었어요, 하다 -> 했어요."""
    inf = infinitive(stem(verb), irregular)
    i, m, _ = decompose(inf[-1])
    return _replace_last(verb, inf[:-1] + compose(i, m, F_SS) + "어요")


def future(verb: str, irregular: str = "") -> str:
    """Polite future: stem + (으)ㄹ 거예요: 먹다 -> 먹을 거예요, 가다 -> 갈 거예요."""
    return _replace_last(verb, _with_ending(stem(verb), irregular, F_L, "을") + " 거예요")


def _replace_last(verb: str, form: str) -> str:
    """Put a conjugated form in place of the last word of a multi-word verb (춤을 추다 -> 춤을 춰요)."""
    words = verb.split(" ")
    return " ".join(words[:-1] + [form])


_CONJUGATE = {"present": present, "past": past, "future": future}


def conjugate(verb: str, tense: str, negated: bool = False, irregular: str = "", negation: str = "short",
              split: str = "", negative: str = "") -> str:
    """Polite form of a verb or adjective in a tense, optionally negated.

    negation="short": 안 before the conjugated word (안 먹어요); a noun+verb compound puts 안 after its noun
    part `split` (공부하다 -> 공부 안 해요); multi-word verbs put it before the last word (춤을 안 춰요).
    negation="long": stem + 지 않다 (크지 않아요). A suppletive `negative` replaces both (알다 -> 몰라요).
    """
    if tense not in _CONJUGATE:
        raise ValueError(f"unknown tense {tense!r}; expected one of {', '.join(TENSES)}")
    if negation not in ("short", "long"):
        raise ValueError(f"negation must be 'short' or 'long', got {negation!r}")
    form = _CONJUGATE[tense]
    if not negated:
        return form(verb, irregular)
    if negative:
        return form(negative)
    if negation == "long":
        return _replace_last(verb, stem(verb) + "지 " + form("않다"))
    words = verb.split(" ")
    last = words[-1]
    if split:
        if not last.startswith(split) or len(last) <= len(split) + 1:
            raise ValueError(f"split {split!r} is not the noun part of {verb!r}")
        return " ".join(words[:-1] + [split, "안", form(last[len(split):], irregular)])
    return " ".join(words[:-1] + ["안", form(last, irregular)])


def attributive(adjective: str, irregular: str = "") -> str:
    """Present form of an adjective before a noun: 크다 -> 큰, 작다 -> 작은, 맛있다 -> 맛있는.

    For adjectives only: a verb's present attributive is -는 (먹는), which this corpus does not use.
    """
    s = stem(adjective)
    if s.endswith(("있", "없")):  # 있다, 없다 and their compounds take 는 like verbs
        return _replace_last(adjective, s + "는")
    return _replace_last(adjective, _with_ending(s, irregular, F_N, "은"))


def copula(noun: str, tense: str, negated: bool = False) -> str:
    """noun + polite 이다 / 아니다: 의사예요, 학생이에요, 의사였어요, 학생이 아니에요."""
    if tense not in _CONJUGATE:
        raise ValueError(f"unknown tense {tense!r}; expected one of {', '.join(TENSES)}")
    if negated:  # 아니다 keeps 아니에요 / 아니었어요 uncontracted, unlike 마시다 -> 마셔요
        return noun + particle(noun, "이/가") + " " + NEGATIVE_COPULA[tense]
    consonant = has_final(noun)
    if tense == "present":
        return noun + ("이에요" if consonant else "예요")
    if tense == "past":
        return noun + ("이었어요" if consonant else "였어요")
    return noun + "일 거예요"


def native_number(n: int, before_counter: bool = True) -> str:
    """Native Korean number 1..99; before a counter 1-4 and 20 shorten: 한, 두, 세, 네, 스무."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 99:
        raise ValueError(f"native Korean numbers here cover 1..99, got {n!r}")
    tens, units = divmod(n, 10)
    if before_counter:
        if n == 20:
            return "스무"
        return NATIVE_TENS[tens] + NATIVE_UNITS_BEFORE_COUNTER[units]
    return NATIVE_TENS[tens] + NATIVE_UNITS[units]


def counted(noun: str, n: int, counter: str) -> str:
    """Noun + number + counter, the Korean order: 고양이 두 마리, 사과 세 개, 학생 다섯 명."""
    if not counter:
        raise ValueError(f"{noun!r} has no counter, so it cannot be counted")
    return f"{noun} {native_number(n)} {counter}"
