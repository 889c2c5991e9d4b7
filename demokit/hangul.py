"""Hangul helpers: final-consonant (받침) detection and particle choice.

A precomposed Hangul syllable is U+AC00 + (initial * 21 + medial) * 28 + final,
with final == 0 meaning "no final consonant". Korean particles alternate on it:

    은/는  이/가  을/를  과/와  아/야      consonant-final / vowel-final
    으로/로                               consonant-final except ㄹ / vowel-final or ㄹ-final

The particle is computed from the word, never stored per word.
"""

from __future__ import annotations

HANGUL_FIRST = 0xAC00
HANGUL_LAST = 0xD7A3
FINAL_RIEUL = 8  # index of ㄹ among the 28 finals

# particle pairs: (after a consonant, after a vowel)
PARTICLES: dict[str, tuple[str, str]] = {
    "은/는": ("은", "는"),
    "이/가": ("이", "가"),
    "을/를": ("을", "를"),
    "과/와": ("과", "와"),
    "와/과": ("과", "와"),
    "아/야": ("아", "야"),
    "이다/다": ("이다", "다"),
}


def is_hangul_syllable(ch: str) -> bool:
    """True for a precomposed syllable (가..힣)."""
    return len(ch) == 1 and HANGUL_FIRST <= ord(ch) <= HANGUL_LAST


def decompose(ch: str) -> tuple[int, int, int]:
    """Split a syllable into (initial, medial, final) indices."""
    if not is_hangul_syllable(ch):
        raise ValueError(f"not a Hangul syllable: {ch!r}")
    code = ord(ch) - HANGUL_FIRST
    return code // 588, (code % 588) // 28, code % 28


def compose(initial: int, medial: int, final: int = 0) -> str:
    """Inverse of decompose()."""
    if not (0 <= initial < 19 and 0 <= medial < 21 and 0 <= final < 28):
        raise ValueError(
            f"not a Hangul syllable: initial {initial} (0-18), medial {medial} (0-20), final {final} (0-27)"
        )
    return chr(HANGUL_FIRST + (initial * 21 + medial) * 28 + final)


def final_consonant(word: str) -> int:
    """Index (1..27) of the last syllable's final consonant, 0 if none.

    Trailing punctuation is skipped ("책." -> 책). Digits are read the Korean way for their last
    sound ("3" = 삼 ends in ㅁ), which is what particle choice follows; other characters count as
    vowel-final.
    """
    word = word.rstrip().rstrip(".,!?;:\"')]}»”’ ")
    if not word:
        raise ValueError("empty word")
    last = word[-1]
    if is_hangul_syllable(last):
        return decompose(last)[2]
    # 0 영, 1 일, 2 이, 3 삼, 4 사, 5 오, 6 육, 7 칠, 8 팔, 9 구
    digit_finals = {"0": 21, "1": 8, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": 8, "8": 8, "9": 0}
    if last in digit_finals:
        return digit_finals[last]
    return 0


def has_final(word: str) -> bool:
    """True when the word ends in a consonant (받침)."""
    return final_consonant(word) != 0


def particle(word: str, pair: str) -> str:
    """The form of a particle that fits `word`, e.g. particle("사과", "을/를") == "를".

    `pair` is one of PARTICLES or "으로/로".
    """
    if pair in ("으로/로", "로/으로"):
        fin = final_consonant(word)
        return "으로" if fin not in (0, FINAL_RIEUL) else "로"
    try:
        after_consonant, after_vowel = PARTICLES[pair]
    except KeyError:
        raise ValueError(f"unknown particle pair {pair!r}; known: {', '.join(PARTICLES)}, 으로/로") from None
    return after_consonant if has_final(word) else after_vowel


def attach(word: str, pair: str) -> str:
    """word + its particle, e.g. attach("고양이", "이/가") == "고양이가"."""
    return word + particle(word, pair)
