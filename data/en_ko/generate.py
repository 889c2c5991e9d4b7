"""Generate the English->Korean translation corpus: sentence templates, sampling, held-out split, TSV files.

    python data/en_ko/generate.py --seed 0 --out data/en_ko

Each sentence is first sampled as a structured description (Spec: which nouns, verb, adjective, tense,
negation, question, ...) and then rendered twice, by english.py and by korean.py, so the pair is a
translation by construction. Templates (Korean is SOV, polite 해요체):

    action    The boy reads a book at the library.    소년이 도서관에서 책을 읽어요.
    describe  Is the dog big?                         개가 커요?
    exist     There are two cats on the bed.          침대 위에 고양이 두 마리가 있어요.
    identity  She was not a doctor.                   그녀는 의사가 아니었어요.

Split: a few (subject noun, verb) and (adjective, noun) pairs are held out. Every test sentence holds at
least one test pair, every valid sentence one valid pair, and no train sentence holds any held-out pair;
every word of valid and test also occurs in train. Same seed -> byte-identical files.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as a script or imported from elsewhere: the sibling modules must import
    sys.path.insert(0, str(HERE))

import english  # noqa: E402
import korean  # noqa: E402
from lexicon import (  # noqa: E402
    ADJECTIVES,
    INTRANSITIVE_VERBS,
    NOUNS,
    NUMBERS,
    PRONOUNS,
    TIME_WORDS,
    TRANSITIVE_VERBS,
    VERBS,
    Noun,
)

from demokit.hangul import attach  # noqa: E402  (korean.py has put the repo root on sys.path if needed)

SPLITS = ("train", "valid", "test")
DEFAULT_SIZES = {"train": 32000, "valid": 1500, "test": 1500}
MIN_WORDS, MAX_WORDS = 3, 10  # English words per sentence: short, so a small LSTM can learn the task
# share of all possible (noun, verb) and (adjective, noun) pairs held out, for valid and for test each
HELD_OUT_FRACTION = 0.03

# how often each construction is sampled
TEMPLATE_WEIGHTS = {"action": 0.62, "describe": 0.16, "exist": 0.14, "identity": 0.08}
TENSE_WEIGHTS = {"present": 0.40, "past": 0.35, "future": 0.25}
P_TIME = 0.45  # a time word, which then fixes the tense
P_NEGATED, P_QUESTION = 0.2, 0.2
P_PRONOUN, P_PRONOUN_OBJECT = 0.2, 0.15
P_COORDINATED = 0.08  # "the cat and the dog"
P_PLURAL, P_SUBJECT_NUMBER, P_OBJECT_NUMBER = 0.2, 0.07, 0.15
P_INDEFINITE_SUBJECT = 0.2
P_ADJECTIVE = 0.15
P_OBJECT_DROPPED = 0.25  # for verbs whose object is optional: "The girl reads."
P_ADJUNCT = 0.35  # in the park / with a friend / with a pen / by bus


# --- structured descriptions -----------------------------------------------------------------------------

@dataclass(frozen=True)
class NounPhrase:
    """A noun or pronoun with its determiner, number and adjective."""

    head: str  # a key of lexicon.NOUNS, or of lexicon.PRONOUNS when pronoun is True
    pronoun: bool = False
    det: str = "the"  # "the", "a" (a/an), "" (none: mass, bare and plural complements), "no"
    plural: bool = False  # English plural / Korean 들; counted phrases use `number` instead
    number: int = 0  # 0 = not counted; else "three apples" / 사과 세 개
    adjective: str = ""  # a key of lexicon.ADJECTIVES, placed before the noun


@dataclass(frozen=True)
class Spec:
    """The structure a sentence pair is rendered from."""

    template: str  # "action", "describe", "exist" or "identity"
    subjects: tuple[NounPhrase, ...]  # two when coordinated: "the cat and the dog"
    tense: str  # "present", "past" or "future"
    verb: str = ""  # action: a key of lexicon.VERBS
    obj: NounPhrase | None = None  # action: the object or destination
    adjunct: str = ""  # action: "place" (에서), "with" (와/과), "tool", "vehicle" ((으)로);
    #                     exist: "at" (a place: 에), "in" (안에), "on" (위에), "under" (아래에)
    extra: NounPhrase | None = None  # the adjunct's noun phrase
    adjective: str = ""  # describe: the predicate adjective
    complement: NounPhrase | None = None  # identity: "a doctor"
    time: str = ""  # a key of lexicon.TIME_WORDS
    negated: bool = False
    question: bool = False


@dataclass(frozen=True)
class Example:
    """One sentence pair and the description both sides were rendered from."""

    english: str
    korean: str
    spec: Spec


# --- tag patterns -----------------------------------------------------------------------------------------

@cache
def parse_pattern(pattern: str) -> tuple[frozenset[str], ...]:
    """Split a tag pattern: "person+able | animal+land" -> ({person, able}, {animal, land})."""
    alternatives = tuple(frozenset(a.strip().split("+")) for a in pattern.split("|") if a.strip())
    if not alternatives:
        raise ValueError(f"empty tag pattern {pattern!r}")
    return alternatives


def matches(tags: frozenset[str], pattern: str) -> bool:
    """True when the tags satisfy one alternative of the pattern."""
    return any(alt <= tags for alt in parse_pattern(pattern))


@cache
def nouns_matching(pattern: str) -> tuple[str, ...]:
    """Noun keys matching a pattern, in lexicon order (never a set: the order must not vary)."""
    return tuple(key for key, noun in NOUNS.items() if matches(noun.tags, pattern))


@cache
def pronouns_matching(pattern: str) -> tuple[str, ...]:
    return tuple(key for key, p in PRONOUNS.items() if matches(p.tags, pattern))


@cache
def nouns_tagged(tag: str) -> tuple[str, ...]:
    return tuple(key for key, noun in NOUNS.items() if tag in noun.tags)


@cache
def adjectives_for(noun: str) -> tuple[str, ...]:
    """Adjectives that can describe a noun."""
    tags = NOUNS[noun].tags
    return tuple(key for key, a in ADJECTIVES.items() if matches(tags, a.applies))


def contents_pattern(location: Noun) -> str:
    """What can be at a location: its has:X tags joined into one pattern ("" when none)."""
    return " | ".join(sorted(t[4:] for t in location.tags if t.startswith("has:")))


@cache
def contents(location: str) -> tuple[str, ...]:
    pattern = contents_pattern(NOUNS[location])
    return tuple(k for k in nouns_matching(pattern) if k != location) if pattern else ()


LOCATIONS = tuple(key for key in NOUNS if contents(key))
UNDER_PATTERN = "animal+small+pet | thing+small"  # what fits under furniture


# --- rendering --------------------------------------------------------------------------------------------

def _join(*words: str) -> str:
    return " ".join(w for w in words if w)


def english_np(np: NounPhrase, case: str = "subject") -> str:
    """English noun phrase: "the big dogs", "an apple", "three red apples", "him"."""
    if np.pronoun:
        p = PRONOUNS[np.head]
        return p.en if case == "subject" else p.en_object
    noun = NOUNS[np.head]
    adjective = ADJECTIVES[np.adjective].en if np.adjective else ""
    if np.number:
        return _join(english.number_word(np.number), adjective,
                     english.plural(noun.en) if np.number > 1 else noun.en)
    word = english.plural(noun.en) if np.plural else noun.en
    det = english.indefinite_article(adjective or word) if np.det == "a" else np.det
    return _join(det, adjective, word)


def korean_np(np: NounPhrase) -> str:
    """Korean noun phrase without its particle: 큰 개들, 빨간 사과 세 개, 그."""
    if np.pronoun:
        return PRONOUNS[np.head].ko
    noun = NOUNS[np.head]
    adjective = ""
    if np.adjective:
        a = ADJECTIVES[np.adjective]
        adjective = korean.attributive(a.ko, a.irregular)
    if np.number:
        return _join(adjective, korean.counted(noun.ko, np.number, noun.counter))
    return _join(adjective, noun.ko + ("들" if np.plural else ""))


def with_particle(phrase: str, particle: str) -> str:
    """Attach a particle; alternating ones ("을/를") are chosen by hangul.py from the last syllable."""
    return attach(phrase, particle) if "/" in particle else phrase + particle


def agreement(subjects: tuple[NounPhrase, ...]) -> tuple[int, bool]:
    """(person, plural) of the subject for English verb agreement."""
    if len(subjects) > 1:
        return 3, True
    np = subjects[0]
    if np.pronoun:
        return PRONOUNS[np.head].person, PRONOUNS[np.head].plural
    return 3, np.plural or np.number > 1


def _english_location(np: NounPhrase, relation: str) -> str:
    prep = NOUNS[np.head].prep if relation == "at" else relation
    return _join(prep, english_np(np, "object"))


KOREAN_RELATION = {"in": " 안에", "on": " 위에", "under": " 아래에", "at": "에"}


def render(spec: Spec) -> Example:
    """Render a description into its English and Korean sentences."""
    time = TIME_WORDS[spec.time] if spec.time else None
    time_en, time_ko = (time.en, time.ko) if time else ("", "")
    person, plural = agreement(spec.subjects)
    subject_en = " and ".join(english_np(s) for s in spec.subjects)
    subject_ko = korean_np(spec.subjects[0])
    if len(spec.subjects) == 2:
        subject_ko = _join(with_particle(subject_ko, "와/과"), korean_np(spec.subjects[1]))
    topic = spec.template == "identity" or spec.subjects[0].pronoun  # 저는, 그는; 남자는 의사예요
    subject_ko = with_particle(subject_ko, "은/는" if topic else "이/가")

    if spec.template == "action":
        verb = VERBS[spec.verb]
        front, rest = english.verb_phrase(verb.en, spec.tense, person, plural, spec.negated, spec.question)
        object_en = object_ko = adjunct_en = adjunct_ko = ""
        if spec.obj is not None:
            prep = NOUNS[spec.obj.head].prep if verb.prep == "LOC" else verb.prep
            object_en = _join(prep, english_np(spec.obj, "object"))
            object_ko = with_particle(korean_np(spec.obj), verb.case)
        if spec.extra is not None:
            if spec.adjunct == "place":
                adjunct_en = _english_location(spec.extra, "at")
                adjunct_ko = korean_np(spec.extra) + "에서"
            elif spec.adjunct in ("with", "tool"):
                adjunct_en = "with " + english_np(spec.extra, "object")
                pair = "와/과" if spec.adjunct == "with" else "으로/로"
                adjunct_ko = with_particle(korean_np(spec.extra), pair)
            elif spec.adjunct == "vehicle":
                adjunct_en = "by " + NOUNS[spec.extra.head].en
                adjunct_ko = with_particle(korean_np(spec.extra), "으로/로")
            else:
                raise ValueError(f"unknown adjunct {spec.adjunct!r} for an action")
        words = [front, subject_en, rest] if spec.question else [subject_en, rest]
        en = english.sentence(words + [object_en, adjunct_en, time_en], spec.question)
        predicate = korean.conjugate(verb.ko, spec.tense, spec.negated, verb.irregular, "short", verb.split,
                                     verb.negative)
        ko = _join(time_ko, subject_ko, adjunct_ko, object_ko, predicate)

    elif spec.template == "describe":
        adjective = ADJECTIVES[spec.adjective]
        front, rest = english.be_phrase(spec.tense, person, plural, spec.negated, spec.question)
        words = [front, subject_en, rest] if spec.question else [subject_en, rest]
        en = english.sentence(words + [adjective.en, time_en], spec.question)
        predicate = korean.conjugate(adjective.ko, spec.tense, spec.negated, adjective.irregular, "long",
                                     negative=adjective.negative)
        ko = _join(time_ko, subject_ko, predicate)

    elif spec.template == "exist":
        # "There is no cat": the negation sits on the noun phrase in English, on the verb in Korean (없다)
        front, rest = english.be_phrase(spec.tense, person, plural, False, spec.question)
        subject_en = english_np(spec.subjects[0])
        location_en = _english_location(spec.extra, spec.adjunct)
        words = [front, "there", rest] if spec.question else ["there", rest]
        en = english.sentence(words + [subject_en, location_en, time_en], spec.question)
        location_ko = korean_np(spec.extra) + KOREAN_RELATION[spec.adjunct]
        predicate = korean.conjugate("있다", spec.tense, spec.negated, negative="없다")
        ko = _join(time_ko, location_ko, with_particle(korean_np(spec.subjects[0]), "이/가"), predicate)

    elif spec.template == "identity":
        front, rest = english.be_phrase(spec.tense, person, plural, spec.negated, spec.question)
        complement_en = english_np(spec.complement, "object")
        words = [front, subject_en, rest] if spec.question else [subject_en, rest]
        en = english.sentence(words + [complement_en], spec.question)
        # Korean marks no plural on a predicate noun: 그들은 의사예요
        predicate = korean.copula(korean_np(replace(spec.complement, plural=False)), spec.tense, spec.negated)
        ko = _join(subject_ko, predicate)
    else:
        raise ValueError(f"unknown template {spec.template!r}")
    return Example(en, ko + ("?" if spec.question else "."), spec)


# --- sampling ---------------------------------------------------------------------------------------------

ALL_VERBS = tuple(VERBS)
GROUND_VEHICLES = nouns_matching("vehicle+ground")
ALL_VEHICLES = nouns_tagged("vehicle")
COMPANIONS = nouns_matching("person+able")
IDENTITY_SUBJECTS = tuple(k for k in nouns_matching("person+able")  # "The man is a doctor"
                          if not {"job", "royal"} & NOUNS[k].tags and k != "person")


class Sampler:
    """Draws random descriptions from the templates with one random.Random (never a set's order)."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def sample(self) -> Spec | None:
        """A random description, or None when the draw hit an implausible combination (draw again)."""
        template = self._weighted(TEMPLATE_WEIGHTS)
        return getattr(self, "_" + template)()

    # helpers
    def _weighted(self, weights: dict[str, float]) -> str:
        keys = list(weights)
        return self.rng.choices(keys, weights=[weights[k] for k in keys])[0]

    def _tense(self, tenses: tuple[str, ...] = english.TENSES, timed: bool = True) -> tuple[str, str]:
        if timed and self.rng.random() < P_TIME:
            time = self.rng.choice([t for t in TIME_WORDS.values() if t.tense in tenses])
            return time.tense, time.en
        return self._weighted({t: TENSE_WEIGHTS[t] for t in tenses}), ""

    def _polarity(self) -> tuple[bool, bool]:
        r = self.rng.random()
        return r < P_NEGATED, P_NEGATED <= r < P_NEGATED + P_QUESTION

    def _adjective(self, noun: str, p: float = P_ADJECTIVE) -> str:
        options = adjectives_for(noun)
        return self.rng.choice(options) if options and self.rng.random() < p else ""

    def _subject(self, noun: str) -> NounPhrase:
        n = NOUNS[noun]
        r = self.rng.random()
        adjective = self._adjective(noun)
        if n.article == "count" and "place" not in n.tags:
            if n.counter and r < P_SUBJECT_NUMBER:
                return NounPhrase(noun, number=self.rng.randint(2, 5), adjective=adjective)
            # sheep, fish, deer: "the sheep ate" is singular or plural, so they are counted, never plural
            if r < P_SUBJECT_NUMBER + P_PLURAL and english.plural(n.en) != n.en:
                return NounPhrase(noun, plural=True, adjective=adjective)
            det = "a" if self.rng.random() < P_INDEFINITE_SUBJECT else "the"
            return NounPhrase(noun, det=det, adjective=adjective)
        return NounPhrase(noun, det="" if n.article == "bare" else "the", adjective=adjective)

    def _object(self, noun: str, countable: bool, adjective_ok: bool, definite: bool = False) -> NounPhrase:
        n = NOUNS[noun]
        if "place" in n.tags:
            return NounPhrase(noun)
        adjective = self._adjective(noun) if adjective_ok else ""
        if n.article == "bare":
            return NounPhrase(noun, det="")
        if n.article == "mass":
            return NounPhrase(noun, det="" if self.rng.random() < 0.6 else "the", adjective=adjective)
        if countable and n.counter and self.rng.random() < P_OBJECT_NUMBER:
            return NounPhrase(noun, number=self.rng.choice(NUMBERS), adjective=adjective)
        return NounPhrase(noun, det="the" if definite else self.rng.choice(("a", "the")), adjective=adjective)

    # templates
    def _action(self) -> Spec | None:
        rng = self.rng
        verb = VERBS[rng.choice(ALL_VERBS)]
        frame = rng.choice(verb.frames)
        tense, time = self._tense(verb.tenses, verb.timed)
        negated, question = self._polarity()
        nouns, pronouns = nouns_matching(frame.subject), pronouns_matching(frame.subject)
        if len(nouns) >= 2 and rng.random() < P_COORDINATED:
            first, second = rng.sample(nouns, 2)
            if ("person" in NOUNS[first].tags) != ("person" in NOUNS[second].tags):
                return None  # "the dolphin and the child": people go with people, animals with animals
            subjects = (NounPhrase(first), NounPhrase(second))
        elif pronouns and rng.random() < P_PRONOUN:
            subjects = (NounPhrase(rng.choice(pronouns), pronoun=True),)
        else:
            subjects = (self._subject(rng.choice(nouns)),)
        if question and subjects[0].pronoun and subjects[0].head == "I":
            question = False  # "Did I eat ...?" is odd as a drill sentence
        heads = {s.head for s in subjects}
        obj = None
        if frame.object and not (verb.object_optional and rng.random() < P_OBJECT_DROPPED):
            pronoun_objects = pronouns_matching(frame.object)
            if pronoun_objects and not subjects[0].pronoun and rng.random() < P_PRONOUN_OBJECT:
                obj = NounPhrase(rng.choice(pronoun_objects), pronoun=True)
            else:
                adjective_ok = not any(s.adjective for s in subjects)
                countable = verb.case == "을/를" and not verb.definite
                noun = rng.choice(nouns_matching(frame.object))
                obj = self._object(noun, countable, adjective_ok, verb.definite)
            if obj.head in heads:
                return None  # "the cat chases the cat"
        person, plural = agreement(subjects)
        if (tense != "future" and not (negated or question or time) and english.past(verb.en) == verb.en
                and not (person == 3 and not plural)):
            return None  # "We read." could be present or past: such a sentence needs its time word
        adjunct, extra = self._adjunct(verb, obj, subjects)
        return Spec("action", subjects, tense, verb=verb.id, obj=obj, adjunct=adjunct, extra=extra, time=time,
                    negated=negated, question=question)

    def _adjunct(self, verb, obj: NounPhrase | None, subjects: tuple[NounPhrase, ...]
                 ) -> tuple[str, NounPhrase | None]:
        rng = self.rng
        heads = {s.head for s in subjects}
        places = nouns_tagged(verb.place) if verb.place else ()
        animals = [s.head for s in subjects if not s.pronoun and "animal" in NOUNS[s.head].tags]
        if animals:  # an animal acts only where it can be: a pet in the park, a tiger in the forest
            places = tuple(p for p in places if all(a in contents(p) for a in animals))
        options = ["place"] if places else []
        if not animals:  # friends, pens and buses go with people only
            options += [kind for kind, ok in (("with", verb.companion), ("tool", verb.tool),
                                              ("vehicle", verb.vehicle)) if ok]
        if not options or rng.random() >= P_ADJUNCT:
            return "", None
        kind = rng.choice(options)
        if kind == "place":
            return kind, NounPhrase(rng.choice(places))
        if kind == "with":
            noun = rng.choice(COMPANIONS)
            if noun in heads:
                return "", None
            return kind, NounPhrase(noun, det=rng.choice(("a", "the")))
        if kind == "tool":
            return kind, NounPhrase(rng.choice(nouns_tagged(verb.tool)), det=rng.choice(("a", "the")))
        # an airplane only to far places (cities, islands) or on a journey with no destination
        far = obj is None or "far" in NOUNS[obj.head].tags
        return kind, NounPhrase(rng.choice(ALL_VEHICLES if far else GROUND_VEHICLES), det="")

    def _describe(self) -> Spec:
        rng = self.rng
        key = rng.choice(tuple(ADJECTIVES))
        adjective = ADJECTIVES[key]
        pronouns = pronouns_matching(adjective.applies)
        if pronouns and rng.random() < P_PRONOUN:
            subject = NounPhrase(rng.choice(pronouns), pronoun=True)
        else:
            subject = self._subject(rng.choice(nouns_matching(adjective.applies)))
            subject = replace(subject, adjective="", number=0,
                              det="the" if subject.det in ("a", "") and NOUNS[subject.head].article != "bare"
                              else subject.det)
        if adjective.state:  # hungry today, hot yesterday, tired tomorrow
            tense, time = self._tense()
        else:  # lasting qualities: "The dog is big", "The movie was funny"
            tense, time = self._weighted({"present": 0.7, "past": 0.3}), ""
        negated, question = self._polarity()
        if subject.pronoun and subject.head == "I":
            question = False
        return Spec("describe", (subject,), tense, adjective=key, time=time, negated=negated,
                    question=question)

    def _exist(self) -> Spec | None:
        rng = self.rng
        location = rng.choice(LOCATIONS)
        tags = NOUNS[location].tags
        if "container" in tags:
            relation, candidates = "in", contents(location)
        elif "surface" in tags:
            relation, candidates = "on", contents(location)
            if "furniture" in tags and rng.random() < 0.3:
                relation = "under"
                candidates = tuple(k for k in nouns_matching(UNDER_PATTERN) if k != location)
        else:
            relation, candidates = "at", contents(location)
        noun = rng.choice(candidates)
        n = NOUNS[noun]
        negated, question = self._polarity()
        adjective = self._adjective(noun)
        if negated:  # "There is no cat in the room."
            subject = NounPhrase(noun, det="no", adjective=adjective)
        elif n.article != "count":
            subject = NounPhrase(noun, det="", adjective=adjective)
        elif n.counter and rng.random() < 0.3:
            subject = NounPhrase(noun, number=rng.randint(2, 5), adjective=adjective)
        else:
            subject = NounPhrase(noun, det="a", adjective=adjective)
        tense, time = self._tense()
        return Spec("exist", (subject,), tense, adjunct=relation, extra=NounPhrase(location), time=time,
                    negated=negated, question=question)

    def _identity(self) -> Spec:
        rng = self.rng
        if rng.random() < 0.35:
            subject = NounPhrase(rng.choice(tuple(PRONOUNS)), pronoun=True)
            young, plural = False, PRONOUNS[subject.head].plural
        else:
            noun = rng.choice(IDENTITY_SUBJECTS)
            plural = rng.random() < P_PLURAL
            subject = NounPhrase(noun, plural=plural)
            young = "young" in NOUNS[noun].tags
        job = rng.choice(nouns_tagged("young_job" if young else "job"))
        # "a kind doctor", not "a full doctor"
        lasting = [a for a in adjectives_for(job) if not ADJECTIVES[a].state]
        adjective = rng.choice(lasting) if lasting and rng.random() < 0.2 else ""
        complement = NounPhrase(job, det="" if plural else "a", plural=plural, adjective=adjective)
        tense = self._weighted({"present": 0.7, "past": 0.3})
        negated, question = self._polarity()
        if subject.pronoun and subject.head == "I":
            question = False
        return Spec("identity", (subject,), tense, complement=complement, negated=negated, question=question)


# --- held-out pairs and the split ------------------------------------------------------------------------

def noun_phrases(spec: Spec) -> list[NounPhrase]:
    """Every noun phrase of a description (subjects, object, adjunct, complement)."""
    return [np for np in (*spec.subjects, spec.obj, spec.extra, spec.complement) if np is not None]


def combinations(spec: Spec) -> frozenset[tuple[str, str, str]]:
    """Word pairs a sentence shows together: ("sv", subject noun, verb) and ("an", adjective, noun)."""
    pairs = set()
    for s in spec.subjects:
        if not s.pronoun:
            if spec.verb:
                pairs.add(("sv", s.head, spec.verb))
            if spec.adjective:
                pairs.add(("an", spec.adjective, s.head))
    for np in noun_phrases(spec):
        if np.adjective and not np.pronoun:
            pairs.add(("an", np.adjective, np.head))
    return frozenset(pairs)


def possible_pairs() -> list[tuple[str, str, str]]:
    """Every (subject noun, verb) and (adjective, noun) pair the templates can produce, in a fixed order."""
    pairs = []
    for key, verb in VERBS.items():
        nouns = {n for frame in verb.frames for n in nouns_matching(frame.subject)}
        pairs += [("sv", n, key) for n in NOUNS if n in nouns]
    for key, adjective in ADJECTIVES.items():
        pairs += [("an", key, n) for n in nouns_matching(adjective.applies)]
    return pairs


def held_out(seed: int = 0, fraction: float = HELD_OUT_FRACTION
             ) -> dict[str, frozenset[tuple[str, str, str]]]:
    """Disjoint sets of held-out pairs for "valid" and "test", drawn by seed from possible_pairs()."""
    if not 0 < fraction < 0.5:
        raise ValueError(f"held-out fraction must be in (0, 0.5), got {fraction}")
    rng = random.Random(f"held-out/{seed}")  # its own stream: the split does not shift with the sampling
    out: dict[str, set] = {"valid": set(), "test": set()}
    for kind in ("sv", "an"):
        pairs = [p for p in possible_pairs() if p[0] == kind]
        rng.shuffle(pairs)
        k = max(1, round(len(pairs) * fraction))
        out["valid"].update(pairs[:k])
        out["test"].update(pairs[k:2 * k])
    return {name: frozenset(s) for name, s in out.items()}


def words(example: Example) -> set[str]:
    """English words (lower case) and Korean words (space-separated, particles attached), no punctuation."""
    en = {w.lower() for w in example.english.rstrip(".?").split()}
    ko = {"ko:" + w for w in example.korean.rstrip(".?").split()}
    return en | ko


def _check_size(name: str, n: int, minimum: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")


def generate_corpus(seed: int = 0, n_train: int = DEFAULT_SIZES["train"],
                    n_valid: int = DEFAULT_SIZES["valid"],
                    n_test: int = DEFAULT_SIZES["test"]) -> dict[str, list[Example]]:
    """Sample the corpus: {"train": [...], "valid": [...], "test": [...]}, each English sentence once.

    Train holds no held-out pair; valid and test sentences each hold one of their own held-out pairs (and
    none of the other split's), and use only words that occur in train.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    _check_size("n_train", n_train, 1)
    _check_size("n_valid", n_valid, 0)
    _check_size("n_test", n_test, 0)
    need = {"train": n_train, "valid": n_valid, "test": n_test}
    held = held_out(seed)
    sampler = Sampler(random.Random(seed))
    seen: set[str] = set()  # English sentences already used: each maps to exactly one Korean sentence
    out: dict[str, list[Example]] = {name: [] for name in SPLITS}
    pending: dict[str, list[Example]] = {"valid": [], "test": []}  # drawn before train was complete
    train_words: set[str] = set()
    budget = 60 * sum(need.values()) + 100_000
    for _ in range(budget):
        if all(len(out[name]) == need[name] for name in SPLITS):
            return out
        spec = sampler.sample()
        if spec is None:
            continue
        example = render(spec)
        if not MIN_WORDS <= len(example.english.split()) <= MAX_WORDS or example.english in seen:
            continue
        pairs = combinations(spec)
        in_valid, in_test = bool(pairs & held["valid"]), bool(pairs & held["test"])
        if in_valid and in_test:
            continue
        split = "test" if in_test else "valid" if in_valid else "train"
        train_full = len(out["train"]) == n_train
        if split == "train":
            if train_full:
                continue
            out["train"].append(example)
            train_words |= words(example)
            if len(out["train"]) == n_train:  # train is final: keep the drawn valid/test sentences it covers
                for name, drawn in pending.items():
                    out[name] = [e for e in drawn if words(e) <= train_words][:need[name]]
        elif not train_full:
            if len(pending[split]) >= 3 * need[split]:
                continue
            pending[split].append(example)
        elif len(out[split]) < need[split] and words(example) <= train_words:
            out[split].append(example)
        else:
            continue
        seen.add(example.english)
    raise RuntimeError(f"could not fill the splits in {budget} draws: got "
                       + ", ".join(f"{n} {len(out[n])}/{need[n]}" for n in SPLITS))


# --- files and statistics -------------------------------------------------------------------------------

def to_tsv(examples: list[Example]) -> str:
    """english<TAB>korean per line."""
    for e in examples:
        if "\t" in e.english + e.korean or "\n" in e.english + e.korean:
            raise ValueError(f"tab or newline inside a sentence: {e.english!r}")
    return "".join(f"{e.english}\t{e.korean}\n" for e in examples)


def write_corpus(corpus: dict[str, list[Example]], out_dir: str | Path) -> list[Path]:
    """Write train.tsv, valid.tsv and test.tsv (UTF-8, "\\n" line ends, no header)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in SPLITS:
        path = out_dir / f"{name}.tsv"
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(to_tsv(corpus[name]))
        paths.append(path)
    return paths


def statistics(corpus: dict[str, list[Example]]) -> dict[str, object]:
    """Counts per split, vocabulary sizes, sentence lengths and template shares."""
    stats: dict[str, object] = {name: len(corpus[name]) for name in SPLITS}
    everything = [e for name in SPLITS for e in corpus[name]]
    en_vocab = {w for e in everything for w in e.english.rstrip(".?").lower().split()}
    ko_vocab = {w for e in everything for w in e.korean.rstrip(".?").split()}
    stats["english_word_types"] = len(en_vocab)
    stats["korean_word_types"] = len(ko_vocab)
    stats["mean_english_words"] = sum(len(e.english.split()) for e in everything) / max(1, len(everything))
    stats["mean_korean_words"] = sum(len(e.korean.split()) for e in everything) / max(1, len(everything))
    stats["templates"] = dict(Counter(e.spec.template for e in everything))
    stats["lexicon"] = {"nouns": len(NOUNS), "transitive_verbs": len(TRANSITIVE_VERBS),
                        "intransitive_verbs": len(INTRANSITIVE_VERBS), "adjectives": len(ADJECTIVES),
                        "pronouns": len(PRONOUNS), "time_words": len(TIME_WORDS), "numbers": len(NUMBERS)}
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate the English->Korean corpus (train/valid/test TSV, english<TAB>korean).")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed; the same seed gives identical files (default: 0, as shipped)")
    parser.add_argument("--out", default=str(HERE),
                        help="output directory (default: this script's directory)")
    parser.add_argument("--train", type=int, default=DEFAULT_SIZES["train"],
                        help="number of training pairs (default: %(default)s)")
    parser.add_argument("--valid", type=int, default=DEFAULT_SIZES["valid"],
                        help="number of validation pairs, each with a held-out word pair of its own "
                        "(default: %(default)s)")
    parser.add_argument("--test", type=int, default=DEFAULT_SIZES["test"],
                        help="number of test pairs, each with a word pair never seen in train "
                        "(default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        corpus = generate_corpus(args.seed, args.train, args.valid, args.test)
    except ValueError as e:
        parser.error(str(e))
    except RuntimeError as e:  # sizes the lexicon cannot fill, e.g. a tiny train with a large test
        print(f"generate.py: error: {e}", file=sys.stderr)
        return 1
    try:
        paths = write_corpus(corpus, args.out)
    except OSError as e:
        print(f"generate.py: error: cannot write to {args.out}: {e}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"wrote {path}")
    stats = statistics(corpus)
    print("pairs: " + ", ".join(f"{name} {stats[name]}" for name in SPLITS)
          + f" (total {sum(stats[name] for name in SPLITS)}, all English sentences unique)")
    print(f"vocabulary: {stats['english_word_types']} English words, "
          f"{stats['korean_word_types']} Korean words (space-separated, particles attached)")
    print(f"mean length: {stats['mean_english_words']:.1f} English words, "
          f"{stats['mean_korean_words']:.1f} Korean words")
    print("lexicon: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in stats["lexicon"].items()))
    print("templates: " + ", ".join(f"{k} {v}" for k, v in sorted(stats["templates"].items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
