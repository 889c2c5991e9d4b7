"""English morphology for the generated corpus: articles, plurals, verb agreement, tense, negation, questions.

Verb phrases come back in two parts so that questions can move the auxiliary to the front:

    statement   subject + rest             "the cat" + "did not eat"
    question    front + subject + rest     "did" + "the cat" + "eat"

Tenses: present simple (eats / do-support), past simple (ate / did), future with "will".
Negation uses do-support ("does not eat", "did not eat", "will not eat"); "be" takes "not" directly.
"""

from __future__ import annotations

import re

IRREGULAR_PLURALS = {
    "person": "people", "man": "men", "woman": "women", "child": "children", "mouse": "mice",
    "goose": "geese", "tooth": "teeth", "foot": "feet", "ox": "oxen",
    "sheep": "sheep", "fish": "fish", "deer": "deer",
    "knife": "knives", "wife": "wives", "life": "lives", "leaf": "leaves", "wolf": "wolves", "half": "halves",
    "shelf": "shelves", "loaf": "loaves", "thief": "thieves",
    "potato": "potatoes", "tomato": "tomatoes", "hero": "heroes", "echo": "echoes",
}

IRREGULAR_PASTS = {
    "be": "was", "have": "had", "do": "did", "go": "went", "eat": "ate", "drink": "drank", "see": "saw",
    "buy": "bought", "sell": "sold", "read": "read", "write": "wrote", "make": "made", "build": "built",
    "find": "found", "lose": "lost", "throw": "threw", "catch": "caught", "draw": "drew", "sing": "sang",
    "teach": "taught", "know": "knew", "drive": "drove", "ride": "rode", "wear": "wore", "bring": "brought",
    "send": "sent", "bite": "bit", "cut": "cut", "break": "broke", "come": "came", "leave": "left",
    "sleep": "slept", "run": "ran", "swim": "swam", "fly": "flew", "sit": "sat", "stand": "stood",
    "fall": "fell", "hide": "hid", "meet": "met", "choose": "chose", "take": "took", "give": "gave",
    "get": "got", "hold": "held", "keep": "kept", "feel": "felt", "speak": "spoke", "tell": "told",
    "think": "thought", "win": "won", "begin": "began", "hear": "heard", "pay": "paid", "put": "put",
    "hit": "hit", "say": "said", "forget": "forgot", "grow": "grew", "wake": "woke", "become": "became",
    "feed": "fed", "understand": "understood", "spend": "spent", "light": "lit",
}

IRREGULAR_THIRD_PERSON = {"have": "has", "be": "is"}

# "an" goes by sound, not letter: a university, an hour
_AN_EXCEPTIONS = ("hour", "honest", "honor", "heir")
_A_EXCEPTIONS = ("uni", "use", "usu", "eu", "one", "once", "uran")

NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
                "nineteen"]
TENS_WORDS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

TENSES = ("present", "past", "future")
VOWELS = "aeiou"


def _check_word(word: str) -> str:
    if not isinstance(word, str) or not word.strip():
        raise ValueError(f"expected a non-empty English word, got {word!r}")
    return word.strip()


def _check_tense(tense: str) -> None:
    if tense not in TENSES:
        raise ValueError(f"unknown tense {tense!r}; expected one of {', '.join(TENSES)}")


def indefinite_article(word: str) -> str:
    """"a" or "an" for the word that follows the article (by sound: an apple, a university, an hour)."""
    w = _check_word(word).lower()
    if w.startswith(_AN_EXCEPTIONS):
        return "an"
    if w.startswith(_A_EXCEPTIONS):
        return "a"
    return "an" if w[0] in VOWELS else "a"


def plural(noun: str) -> str:
    """Plural of a noun; in a compound ("police officer") the last word changes."""
    noun = _check_word(noun)
    head, _, last = noun.rpartition(" ")
    prefix = head + " " if head else ""
    lower = last.lower()
    if lower in IRREGULAR_PLURALS:
        return prefix + IRREGULAR_PLURALS[lower]
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return prefix + last + "es"
    if len(lower) > 1 and lower.endswith("y") and lower[-2] not in VOWELS:
        return prefix + last[:-1] + "ies"
    return prefix + last + "s"


def _split_phrasal(verb: str) -> tuple[str, str]:
    """'wake up' -> ('wake', ' up'): inflection applies to the first word only."""
    verb = _check_word(verb)
    first, _, rest = verb.partition(" ")
    return first, (" " + rest if rest else "")


def third_person(verb: str) -> str:
    """Present 3rd person singular: eats, goes, watches, studies, has, wakes up."""
    v, rest = _split_phrasal(verb)
    if v in IRREGULAR_THIRD_PERSON:
        return IRREGULAR_THIRD_PERSON[v] + rest
    if v.endswith(("s", "x", "z", "ch", "sh", "o")):
        return v + "es" + rest
    if len(v) > 1 and v.endswith("y") and v[-2] not in VOWELS:
        return v[:-1] + "ies" + rest
    return v + "s" + rest


# one short vowel then one consonant (not w, x, y) closes a one-syllable word: stop -> stopped
_DOUBLE_FINAL = re.compile(r"^[^aeiou]*[aeiou][^aeiouwxy]$")


def past(verb: str) -> str:
    """Simple past: ate, went, played, studied, stopped, liked, woke up."""
    v, rest = _split_phrasal(verb)
    if v in IRREGULAR_PASTS:
        return IRREGULAR_PASTS[v] + rest
    if v.endswith("e"):
        return v + "d" + rest
    if len(v) > 1 and v.endswith("y") and v[-2] not in VOWELS:
        return v[:-1] + "ied" + rest
    if _DOUBLE_FINAL.match(v):
        return v + v[-1] + "ed" + rest
    return v + "ed" + rest


def _is_third_singular(person: int, is_plural: bool) -> bool:
    if person not in (1, 2, 3):
        raise ValueError(f"person must be 1, 2 or 3, got {person!r}")
    return person == 3 and not is_plural


def verb_phrase(verb: str, tense: str, person: int = 3, is_plural: bool = False, negated: bool = False,
                question: bool = False) -> tuple[str, str]:
    """(front, rest) of a verb phrase; `front` is the auxiliary moved before the subject in a question.

    present: eats / does not eat / does .. eat;  past: ate / did not eat / did .. eat;
    future: will eat / will not eat / will .. eat. A phrasal particle stays after the verb: did .. wake up.
    """
    _check_tense(tense)
    third = _is_third_singular(person, is_plural)
    base = _check_word(verb)
    if tense == "future":
        aux = "will"
    elif negated or question:
        aux = ("did" if tense == "past" else "does" if third else "do")
    elif tense == "past":
        return "", past(base)
    else:
        return "", third_person(base) if third else base
    if question:
        return aux, ("not " if negated else "") + base
    return "", aux + (" not " if negated else " ") + base


def be_phrase(tense: str, person: int = 3, is_plural: bool = False, negated: bool = False,
              question: bool = False) -> tuple[str, str]:
    """(front, rest) of "be": is / is not / is ..;  was;  will be / will not be / will .. be."""
    _check_tense(tense)
    third = _is_third_singular(person, is_plural)
    if tense == "future":
        if question:
            return "will", "not be" if negated else "be"
        return "", "will not be" if negated else "will be"
    if tense == "present":
        form = "am" if person == 1 and not is_plural else "is" if third else "are"
    else:
        form = "was" if (third or (person == 1 and not is_plural)) else "were"
    if question:
        return form, "not" if negated else ""
    return "", form + (" not" if negated else "")


def number_word(n: int) -> str:
    """English cardinal for 0..99: 3 -> "three", 21 -> "twenty-one"."""
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 99:
        raise ValueError(f"number_word covers 0..99, got {n!r}")
    if n < 20:
        return NUMBER_WORDS[n]
    tens, units = divmod(n, 10)
    return TENS_WORDS[tens] + ("-" + NUMBER_WORDS[units] if units else "")


def sentence(words: list[str], question: bool = False) -> str:
    """Join words, capitalise the first letter and end with "." or "?"."""
    text = " ".join(w for w in words if w)
    if not text:
        raise ValueError("empty sentence")
    return text[0].upper() + text[1:] + ("?" if question else ".")
