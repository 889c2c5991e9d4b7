"""Did the model learn the grammar? Two figures measured on generated Korean text.

    correct, total = particle_agreement(text)    # short range: 사과를, 책을 -- never 사과을
    agreeing, timed = tense_agreement(text)      # long range: 어제 ... 먹었어요, 내일 ... 먹을 거예요

Short range (a few units): Korean particles alternate on the last sound of the word before them, and
demokit.hangul.particle() computes the right form:

    을/를  이/가  은/는  과/와   consonant-final / vowel-final     (책을, 사과를; 책이, 사과가; ...)
    으로/로                      consonant-final except ㄹ / vowel-final or ㄹ    (펜으로, 버스로, 연필로)

A token (a space-separated word, punctuation stripped) counts when it is a known noun, optionally with the
plural 들, followed by one of those particle forms; it is correct when the form is the one particle() picks.
The known nouns are the corpus lexicon's (data/en_ko/lexicon.py: its 205 nouns, the last word of the two-word
ones, their counters 마리, 개, 명, ... and the pronouns 저, 그, 그녀, 우리, 그들), so the figure measures the
allomorph choice on words the corpus teaches; an unknown word followed by a particle is not counted. It does
not judge case roles: 사과가 먹었어요 (subject particle on an object) uses the right form of 이/가 and passes;
only 사과이 would fail.

Long range (a whole sentence, 20-40 units): in the corpus generator (data/en_ko/generate.py) the time word
opens the Korean sentence and fixes its tense (lexicon.TIME_WORDS):

    past     어제, 어젯밤에, 지난주에        -> 먹었어요, 했어요, 의사였어요     (ㅆ before the final 어요)
    present  오늘, 매일                      -> 먹어요, 있어요, 커요, 의사예요   (any other polite -요 ending)
    future   내일, 오늘 밤에, 다음 주에     -> 먹을 거예요, 갈 거예요           (-(으)ㄹ + 거예요)

A sentence (text up to . ? or !, within a line) counts when it opens with a time word (the longest match,
so 오늘 밤에 is future, not 오늘); it agrees when its last word is a polite predicate of that tense. Negation
(안 먹었어요, 크지 않을 거예요) and questions (...?) keep the tense of the last word. The rule is the
generator's, not all of Korean: 오늘 with a past verb (오늘 먹었어요, "I ate today") is good Korean, but the
corpus never writes it, so here it counts as disagreeing. A last word that is no polite predicate at all
(a sentence the model left without a verb) also disagrees; a sample's unfinished last sentence (no . ? or !)
is not counted.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from demokit.hangul import decompose, is_hangul_syllable, particle

LEXICON_PATH = Path(__file__).resolve().parents[1] / "data" / "en_ko" / "lexicon.py"
FINAL_RIEUL, FINAL_SSANG_SIOT = 8, 20  # indices of ㄹ and ㅆ among the 28 finals

# each alternating particle form -> its pair as demokit.hangul.particle() names it; longest forms first
PARTICLE_FORMS: dict[str, str] = {
    "으로": "으로/로", "로": "으로/로",
    "을": "을/를", "를": "을/를",
    "이": "이/가", "가": "이/가",
    "은": "은/는", "는": "은/는",
    "과": "와/과", "와": "와/과",
}
_PUNCTUATION = ".,!?;:\"'()[]{}“”‘’«»…"
_SENTENCE = re.compile(r"[^.?!\n]*[.?!]")  # a complete sentence: up to its final punctuation, within a line


@cache
def load_lexicon(path: str | Path = LEXICON_PATH) -> ModuleType:
    """The corpus lexicon module, imported from its file (data/en_ko is no package; no sys.path change)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"the corpus lexicon is missing: {path}")
    name = "charlm_en_ko_lexicon"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    return module


@cache
def known_nouns() -> frozenset[str]:
    """Korean nouns of the lexicon (last word of two-word ones), their counters and the pronouns."""
    lex = load_lexicon()
    nouns = {n.ko.split()[-1] for n in lex.ALL_NOUNS}
    nouns |= {n.counter for n in lex.ALL_NOUNS if n.counter}
    nouns |= {p.ko for p in lex.PRONOUNS.values()}
    return frozenset(nouns)


@cache
def time_words() -> tuple[tuple[str, str], ...]:
    """(Korean time word, tense) from the lexicon, longest first so 오늘 밤에 wins over 오늘."""
    lex = load_lexicon()
    return tuple(sorted(((t.ko, t.tense) for t in lex.TIME_WORDS.values()), key=lambda kt: -len(kt[0])))


def noun_particles(text: str) -> list[tuple[str, str, str, str]]:
    """Every noun + particle token of a text: (token, noun, particle form used, form the noun demands)."""
    nouns = known_nouns()
    found = []
    for token in text.split():
        word = token.strip(_PUNCTUATION)
        for form, pair in PARTICLE_FORMS.items():
            if len(word) <= len(form) or not word.endswith(form):
                continue
            stem = word[: -len(form)]
            if stem in nouns or (stem.endswith("들") and stem[:-1] in nouns):
                found.append((token, stem, form, particle(stem, pair)))
                break
    return found


def particle_agreement(text: str) -> tuple[int, int]:
    """Short range: (noun + particle tokens whose particle fits the noun's final sound, all such tokens)."""
    found = noun_particles(text)
    return sum(used == demanded for _, _, used, demanded in found), len(found)


def sentences(text: str) -> list[str]:
    """Complete sentences (ending in . ? or !) of a text, line by line, stripped."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip(" .?!")]


def predicate_tense(sentence: str) -> str | None:
    """Tense of a sentence's last word read as a polite (해요체) predicate; None when it is not one.

    future: the last word is 거예요 after a word ending in ㄹ (먹을, 갈, 일할). past: ㅆ closes the syllable
    before the final 어요 (먹었어요, 갔어요, 했어요), except 있어요 (있다 "be there" is present). present:
    any other word ending in a vowel-final syllable + 요 (먹어요, 가요, 있어요, 커요, 의사예요).
    """
    words = sentence.rstrip(" .?!").split()
    if not words:
        return None
    last = words[-1]
    if len(last) < 2 or last[-1] != "요" or not is_hangul_syllable(last[-2]) or decompose(last[-2])[2] != 0:
        return None
    if last == "거예요":
        before = words[-2] if len(words) >= 2 else ""
        if before and is_hangul_syllable(before[-1]) and decompose(before[-1])[2] == FINAL_RIEUL:
            return "future"
        return None
    if last.endswith("어요") and len(last) >= 3 and is_hangul_syllable(last[-3]) \
            and decompose(last[-3])[2] == FINAL_SSANG_SIOT and last[-3] != "있":
        return "past"
    return "present"


def opening_tense(sentence: str) -> str | None:
    """The tense the sentence's opening time word demands (lexicon.TIME_WORDS), None without one."""
    for word, tense in time_words():
        if sentence.startswith(word + " "):
            return tense
    return None


def tense_agreement(text: str) -> tuple[int, int]:
    """Long range: (sentences whose predicate has the tense their opening time word demands, sentences that
    open with a time word)."""
    agreeing = total = 0
    for s in sentences(text):
        demanded = opening_tense(s)
        if demanded is None:
            continue
        total += 1
        agreeing += predicate_tense(s) == demanded
    return agreeing, total


def grammar_report(text: str) -> dict[str, float | int]:
    """Both figures with their counts: {"particles_correct", "particles_total", "particles", "tense_agreeing",
    "tense_total", "tense", "sentences"}; a fraction is NaN when nothing was counted."""
    pc, pt = particle_agreement(text)
    ta, tt = tense_agreement(text)
    return {"particles_correct": pc, "particles_total": pt, "particles": pc / pt if pt else float("nan"),
            "tense_agreeing": ta, "tense_total": tt, "tense": ta / tt if tt else float("nan"),
            "sentences": len(sentences(text))}


def format_report(name: str, r: dict[str, float | int]) -> str:
    """One line: both figures of grammar_report() with their counts."""
    return (f"{name}: particles {r['particles_correct']:,}/{r['particles_total']:,} = {r['particles']:.2%}; "
            f"tense after a time word {r['tense_agreeing']:,}/{r['tense_total']:,} = {r['tense']:.2%} "
            f"({r['sentences']:,} complete sentences)")


def main(argv: list[str] | None = None) -> int:
    """Print the grammar figures of the corpus's Korean text and of text sampled from an n-gram baseline."""
    import numpy as np

    from charlm.ngram import NGram, choose_k, sample
    from charlm.text import corpus_text, split_text
    from charlm.units import build_units

    parser = argparse.ArgumentParser(description="Grammar figures: the corpus vs an n-gram baseline's samples.")
    parser.add_argument("--units", choices=("char", "jamo"), default="char")
    parser.add_argument("--order", type=int, default=5)
    parser.add_argument("--chars", type=int, default=100_000, help="units to sample from the n-gram")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    text = corpus_text("ko")
    print(format_report("corpus (Korean, all splits, deduplicated)", grammar_report(text)))
    units = build_units(text, args.units)
    train = units.encode(split_text(text, 0.05)[0])  # the baselines' training part
    k, _ = choose_k(train, args.order, units.size)
    model = NGram(args.order, units.size, k).fit(train)
    sampled = units.decode(sample(model, args.chars, np.random.default_rng(args.seed), units.encode("\n"),
                                  temperature=args.temperature))
    name = (f"{args.order}-gram, --units {args.units}, k={k:g}, {args.chars:,} units sampled at T="
            f"{args.temperature:g}, seed {args.seed}")
    print(format_report(name, grammar_report(sampled)))
    print("first lines of the sample:\n" + "\n".join(sampled.splitlines()[:8]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
