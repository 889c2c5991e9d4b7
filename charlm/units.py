"""What one step of the character-level model reads and predicts: a Unicode character, or a Hangul jamo.

    units = build_units(text, "jamo")        # or "char"
    ids = units.encode("고양이가 ㅋㅋ")        # int64 ids; characters not in the training text -> UNK (id 0)
    units.decode(ids)                        # "고양이가 ㅋㅋ"
    units.count_chars(ids)                   # 7: Unicode characters the ids stand for (for bits per character)

--units char: one unit per Unicode character after NFC, so a Hangul syllable (한) is one unit.

--units jamo: each precomposed syllable is split by Unicode arithmetic into its initial, medial and (if any)
final jamo, written as CONJOINING jamo (U+1100..U+11FF), which is exactly the syllable's canonical (NFD)
decomposition:

    syllable = U+AC00 + (initial * 21 + medial) * 28 + final      initial 0..18, medial 0..20, final 0..27
    jamo     = U+1100 + initial,  U+1161 + medial,  U+11A7 + final (none when final == 0)

Why conjoining and not compatibility jamo (U+3131..U+318E): conjoining jamo have separate code points for an
initial and a final consonant (ᄀ U+1100 vs ᆨ U+11A8), so 간아 (ᄀ ᅡ ᆫ ᄋ ᅡ) and 가나 (ᄀ ᅡ ᄂ ᅡ) stay different unit
sequences and recompose without guessing; with compatibility jamo both would read ㄱㅏㄴㅏ. Compatibility
jamo that the text itself contains (ㅋㅋ, ㅠㅠ) are left as they are: they are other code points than the
units of decomposed syllables, so lone jamo in the input round-trip unchanged.

Every text is normalised to NFC first, so NFC and NFD input give the same units. Recomposition is the inverse
arithmetic: initial + medial [+ final] -> one syllable. A sampled unit sequence may end or break mid-syllable
(an initial with no vowel after it, a final with no syllable before it): decode() prints such an orphan
conjoining jamo as its compatibility letter (ᄋ -> ㅇ), which every font shows on its own; decode(exact=True)
keeps it as it is (only text that already held lone conjoining jamo needs that to round-trip exactly).

Unknown characters (a user's prompt may hold characters absent from the training text) are mapped to the
<unk> id 0 rather than refused: each unit of the prompt keeps its place, and decode() prints <unk> as "⁇".
In jamo mode an unseen syllable whose jamo are all known encodes without <unk>.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from demokit.hangul import HANGUL_FIRST, HANGUL_LAST

UNK = 0
UNK_TOKEN = "<unk>"
UNK_TEXT = "\u2047"  # "⁇", as seq2seq prints an unknown piece
STATE_VERSION = 1

N_INITIAL, N_MEDIAL, N_FINAL = 19, 21, 28  # modern jamo; final 0 = none
L_BASE, V_BASE, T_BASE = 0x1100, 0x1161, 0x11A7  # conjoining initial, medial, final (T_BASE + 0 = none)
# compatibility letters of the conjoining jamo, in index order (how an orphan jamo prints)
COMPAT_INITIAL = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
COMPAT_MEDIAL = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
COMPAT_FINAL = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"  # index 0 unused (no final)

OTHER, INITIAL, MEDIAL, FINAL = 0, 1, 2, 3  # kinds of a code point for recomposition


def _jamo_kind(cp: np.ndarray) -> np.ndarray:
    """Kind of each code point: INITIAL, MEDIAL, FINAL for modern conjoining jamo, else OTHER."""
    kind = np.full(cp.shape, OTHER, dtype=np.int8)
    kind[(cp >= L_BASE) & (cp < L_BASE + N_INITIAL)] = INITIAL
    kind[(cp >= V_BASE) & (cp < V_BASE + N_MEDIAL)] = MEDIAL
    kind[(cp > T_BASE) & (cp < T_BASE + N_FINAL)] = FINAL
    return kind


def _code_points(text: str) -> np.ndarray:
    """The code points of a string as an int64 array (one per character)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)


def decompose_syllables(text: str) -> str:
    """Replace each precomposed Hangul syllable by its conjoining jamo (the module docstring's arithmetic)."""
    return text.translate(_DECOMPOSE_TABLE)


def _decomposition(code: int) -> str:
    s = code - HANGUL_FIRST
    initial, medial, final = s // 588, (s % 588) // 28, s % 28
    return chr(L_BASE + initial) + chr(V_BASE + medial) + (chr(T_BASE + final) if final else "")


_DECOMPOSE_TABLE = {c: _decomposition(c) for c in range(HANGUL_FIRST, HANGUL_LAST + 1)}


def compose_jamo(text: str, exact: bool = False) -> str:
    """Inverse of decompose_syllables(): initial + medial [+ final] conjoining jamo -> one syllable.

    A conjoining jamo that does not take part in a syllable (an orphan: an initial with no medial after it,
    a medial with no initial before it, a final after anything but initial + medial) is printed as its
    compatibility letter (ᄀ -> ㄱ), unless exact=True, which leaves it unchanged.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = ord(text[i])
        if L_BASE <= c < L_BASE + N_INITIAL and i + 1 < n and V_BASE <= ord(text[i + 1]) < V_BASE + N_MEDIAL:
            initial, medial, final = c - L_BASE, ord(text[i + 1]) - V_BASE, 0
            i += 2
            if i < n and T_BASE < ord(text[i]) < T_BASE + N_FINAL:
                final = ord(text[i]) - T_BASE
                i += 1
            out.append(chr(HANGUL_FIRST + (initial * N_MEDIAL + medial) * N_FINAL + final))
            continue
        out.append(text[i] if exact else _orphan(c))
        i += 1
    return "".join(out)


def _orphan(c: int) -> str:
    """How a conjoining jamo outside a syllable prints: its compatibility letter (other characters as is)."""
    if L_BASE <= c < L_BASE + N_INITIAL:
        return COMPAT_INITIAL[c - L_BASE]
    if V_BASE <= c < V_BASE + N_MEDIAL:
        return COMPAT_MEDIAL[c - V_BASE]
    if T_BASE < c < T_BASE + N_FINAL:
        return COMPAT_FINAL[c - T_BASE]
    return chr(c)


class Units:
    """A vocabulary of units (single code points) with encode/decode; id 0 is <unk>, ids 1.. the units.

    Subclasses say how text splits into units (`_split`) and how units join back (`_join`): CharUnits and
    JamoUnits. Build one with build_units(text, mode); rebuild a saved one with units_from_state(state).
    """

    mode: ClassVar[str] = ""

    def __init__(self, units: Sequence[str]):
        units = list(units)
        bad = [u for u in units if not isinstance(u, str) or len(u) != 1]
        if bad:
            raise ValueError(f"each unit must be one character, got {bad[0]!r}")
        if len(set(units)) != len(units):
            raise ValueError("units must be distinct")
        self.units: list[str] = units  # id = index + 1
        cps = np.array([ord(u) for u in units], dtype=np.int64)
        self._order = np.argsort(cps, kind="stable")
        self._sorted = cps[self._order]

    @classmethod
    def from_text(cls, text: str) -> Units:
        """The units of a text, sorted by code point (so the same text gives the same ids)."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        return cls(sorted(set(cls._split(text))))

    # how text and units convert, per mode
    @staticmethod
    def _split(text: str) -> str:
        raise NotImplementedError

    @staticmethod
    def _join(pieces: str, exact: bool) -> str:
        raise NotImplementedError

    @property
    def size(self) -> int:
        """Number of ids, <unk> included (the model's input and output size V)."""
        return len(self.units) + 1

    def __len__(self) -> int:
        return self.size

    def id_of(self, unit: str) -> int:
        """The id of one unit ("\\n", "가" in char mode, "ᄀ" in jamo mode); UNK when it is not in the vocabulary."""
        if not isinstance(unit, str) or len(unit) != 1:
            raise ValueError(f"a unit is one character, got {unit!r}")
        return int(self.encode_units(unit)[0])

    def encode(self, text: str) -> np.ndarray:
        """Text -> int64 ids (NFC first; in jamo mode syllables are split). Unknown units -> UNK (0)."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        return self.encode_units(self._split(text))

    def encode_units(self, pieces: str) -> np.ndarray:
        """Ids of a string that is already a sequence of units (no normalisation, no splitting)."""
        cp = _code_points(pieces)
        if len(self._sorted) == 0:
            return np.zeros(len(cp), dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._sorted, cp), len(self._sorted) - 1)
        known = self._sorted[pos] == cp
        return np.where(known, self._order[pos] + 1, UNK).astype(np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray, exact: bool = False) -> str:
        """Ids -> text: jamo recomposed into syllables; <unk> prints as "⁇".

        exact=False prints orphan conjoining jamo (a sample that stops mid-syllable) as compatibility letters;
        exact=True keeps them, so decode(encode(t), exact=True) == NFC(t) for every text t.
        """
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.size):
            bad = ids[(ids < 0) | (ids >= self.size)][0]
            raise ValueError(f"id {bad} is outside the vocabulary (0..{self.size - 1})")
        table = [UNK_TEXT] + self.units
        return self._join("".join(table[i] for i in ids.tolist()), exact)

    def count_chars(self, ids: Sequence[int] | np.ndarray) -> int:
        """Number of Unicode characters the ids stand for: len(decode(ids, exact=True)), computed vectorised.

        Bits per character = bits per unit * len(ids) / count_chars(ids): in char mode the two are equal; in
        jamo mode a syllable is 2 or 3 units, so per-unit figures would flatter the jamo model.
        """
        return len(np.asarray(ids).reshape(-1))

    def units_per_char(self, ids: Sequence[int] | np.ndarray) -> float:
        """len(ids) / count_chars(ids): 1 in char mode; in jamo mode 1.97 on the built-in Korean corpus (2.39 per
        syllable, spaces and punctuation being one unit each)."""
        n = len(np.asarray(ids).reshape(-1))
        return n / self.count_chars(ids) if n else 1.0

    def to_state(self) -> dict[str, Any]:
        """A plain JSON-able dict for checkpoints: {"kind", "version", "mode", "units"} (id = index + 1)."""
        return {"kind": "charlm.units", "version": STATE_VERSION, "mode": self.mode, "units": "".join(self.units)}

    @staticmethod
    def from_state(state: dict[str, Any]) -> Units:
        """Rebuild what to_state() saved; a ValueError (one line) for anything else."""
        return units_from_state(state)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Units) and self.mode == other.mode and self.units == other.units

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class CharUnits(Units):
    """One unit per Unicode character (after NFC): a Hangul syllable is one unit."""

    mode = "char"

    @staticmethod
    def _split(text: str) -> str:
        return unicodedata.normalize("NFC", text)

    @staticmethod
    def _join(pieces: str, exact: bool) -> str:
        return pieces


class JamoUnits(Units):
    """Hangul syllables as 2-3 conjoining jamo; every other character (compatibility jamo too) as itself."""

    mode = "jamo"

    @staticmethod
    def _split(text: str) -> str:
        return decompose_syllables(unicodedata.normalize("NFC", text))

    @staticmethod
    def _join(pieces: str, exact: bool) -> str:
        return compose_jamo(pieces, exact)

    def count_chars(self, ids: Sequence[int] | np.ndarray) -> int:
        # a medial right after an initial, and a final right after that medial, join the initial's syllable
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        cps = np.concatenate([[-1], [ord(u) for u in self.units]]).astype(np.int64)  # UNK -> -1 (OTHER)
        kind = _jamo_kind(cps[ids])
        joins_medial = np.zeros(len(ids), dtype=bool)
        joins_medial[1:] = (kind[1:] == MEDIAL) & (kind[:-1] == INITIAL)
        joins_final = np.zeros(len(ids), dtype=bool)
        joins_final[1:] = (kind[1:] == FINAL) & joins_medial[:-1]
        return int(len(ids) - joins_medial.sum() - joins_final.sum())


MODES: dict[str, type[Units]] = {"char": CharUnits, "jamo": JamoUnits}


def build_units(text: str, mode: str = "char") -> Units:
    """The vocabulary of a text in one mode: "char" (Unicode characters) or "jamo" (syllables split)."""
    if mode not in MODES:
        raise ValueError(f"--units must be one of {', '.join(MODES)}, got {mode!r}")
    return MODES[mode].from_text(text)


def units_from_state(state: dict[str, Any]) -> Units:
    """Rebuild a vocabulary from Units.to_state(); one-line ValueError if the dict is not one."""
    if not isinstance(state, dict) or state.get("kind") != "charlm.units":
        raise ValueError("not a charlm vocabulary (expected a dict with kind 'charlm.units')")
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"charlm vocabulary version {state.get('version')!r} is not supported "
                         f"(this code reads version {STATE_VERSION})")
    mode, units = state.get("mode"), state.get("units")
    if mode not in MODES:
        raise ValueError(f"charlm vocabulary has unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    if not isinstance(units, str):
        raise ValueError("charlm vocabulary 'units' must be a string of characters")
    return MODES[mode](list(units))
