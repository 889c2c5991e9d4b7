"""charlm.units: characters or jamo, lossless recomposition, unknown characters, counting characters."""

import json
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charlm.units import (
    UNK,
    UNK_TEXT,
    CharUnits,
    JamoUnits,
    build_units,
    compose_jamo,
    decompose_syllables,
    units_from_state,
)

ALL_SYLLABLES = "".join(chr(c) for c in range(0xAC00, 0xD7A4))
MIXED = "ㅋㅋ 오늘 밤에 cat 3마리가 ... 먹을 거예요?! ㅠㅠ\n값 (1,000원) ㄱㅏ é ñ ǅ 中文 🙂\tend"


@pytest.mark.parametrize("mode", ["char", "jamo"])
def test_every_syllable_round_trips(mode):
    units = build_units(ALL_SYLLABLES, mode)
    ids = units.encode(ALL_SYLLABLES)
    assert units.decode(ids) == ALL_SYLLABLES
    assert units.count_chars(ids) == len(ALL_SYLLABLES) == 11_172
    if mode == "jamo":
        assert units.size == 1 + 19 + 21 + 27  # every modern initial, medial and final, plus <unk>
        n_with_final = sum((ord(c) - 0xAC00) % 28 != 0 for c in ALL_SYLLABLES)
        assert len(ids) == 2 * 11_172 + n_with_final
    else:
        assert units.size == 11_172 + 1 and len(ids) == 11_172


def test_jamo_decomposition_is_the_canonical_one_and_distinguishes_initial_from_final():
    assert decompose_syllables(ALL_SYLLABLES) == unicodedata.normalize("NFD", ALL_SYLLABLES)
    assert decompose_syllables("한") == "\u1112\u1161\u11ab"
    # 간아 and 가나 differ in their units (a final ㄴ is not an initial ㄴ)
    assert decompose_syllables("간아") != decompose_syllables("가나")
    assert compose_jamo(decompose_syllables("간아")) == "간아"
    assert compose_jamo(decompose_syllables("가나")) == "가나"


@pytest.mark.parametrize("mode", ["char", "jamo"])
def test_mixed_text_round_trips_and_lone_jamo_stay_distinct(mode):
    units = build_units(MIXED, mode)
    ids = units.encode(MIXED)
    assert units.decode(ids) == MIXED
    assert units.count_chars(ids) == len(MIXED)
    assert (ids != UNK).all()
    if mode == "jamo":
        # the lone compatibility jamo ㄱ (U+3131) is not the initial ᄀ (U+1100) of a decomposed 가
        assert units.id_of("ㄱ") != units.id_of("\u1100") and UNK not in (units.id_of("ㄱ"), units.id_of("\u1100"))
        assert "ㄱㅏ" in units.decode(ids)  # not recomposed into 가
        lone = units.encode("ㅋㅋ")
        assert len(lone) == 2 and units.decode(lone) == "ㅋㅋ"


@pytest.mark.parametrize("mode", ["char", "jamo"])
def test_nfc_and_nfd_input_give_the_same_units(mode):
    text = "고양이가 café에서 값을 냈어요."
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    units = build_units(nfd, mode)
    assert units == build_units(text, mode)
    np.testing.assert_array_equal(units.encode(nfd), units.encode(text))
    assert units.decode(units.encode(nfd)) == text  # printed in NFC


def test_incomplete_jamo_print_as_letters_and_exact_keeps_them():
    units = build_units("먹어요 갔다", "jamo")
    ids = list(units.encode("먹어"))
    assert units.decode(ids[:-1]) == "먹ㅇ"  # a sample that stops after the initial of 어
    assert units.decode(ids[:-1], exact=True) == "먹\u110b"
    assert units.count_chars(ids[:-1]) == 2
    g, a, ss = units.encode("갔")  # initial, medial, final
    assert units.decode([a, g, a, ss, ss]) == "ㅏ갔ㅆ"  # medial with no initial, final after a full syllable
    assert units.count_chars([a, g, a, ss, ss]) == 3
    assert units.decode([g, ss]) == "ㄱㅆ"  # a final right after an initial does not compose
    assert units.count_chars([g, ss]) == 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 70), max_size=40))
def test_jamo_count_chars_equals_length_of_decode(ids):
    units = build_units(ALL_SYLLABLES + " .\n", "jamo")
    assert units.size == 71  # <unk>, 19 + 21 + 27 jamo, space . newline
    assert units.count_chars(ids) == len(units.decode(ids, exact=True)) == len(units.decode(ids))


@settings(max_examples=300, deadline=None)
@given(st.text(st.one_of(st.characters(min_codepoint=0x1100, max_codepoint=0x11FF),
                         st.characters(min_codepoint=0x3131, max_codepoint=0x318E),
                         st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
                         st.characters(blacklist_categories=("Cs",))), max_size=30))
def test_any_text_round_trips_exactly_in_nfc(text):
    nfc = unicodedata.normalize("NFC", text)
    for mode in ("char", "jamo"):
        units = build_units(text, mode)
        ids = units.encode(text)
        assert units.decode(ids, exact=True) == nfc
        assert units.count_chars(ids) == len(nfc)


def test_unknown_characters_map_to_unk_and_print_as_a_marker():
    units = build_units("고양이가 잤어요.\n", "char")
    ids = units.encode("고양이 🙂 잤다")
    assert ids[4] == UNK and ids[-1] == UNK and (ids[:3] != UNK).all()
    assert units.decode(ids) == f"고양이 {UNK_TEXT} 잤{UNK_TEXT}"
    assert units.id_of("🙂") == UNK and units.id_of("\n") != UNK
    with pytest.raises(ValueError, match="one character"):
        units.id_of("고양")
    jamo = build_units("고양이가 잤어요.\n", "jamo")
    # an unseen syllable made of known jamo needs no <unk> in jamo mode
    assert (jamo.encode("가자") != UNK).all() and jamo.decode(jamo.encode("가자")) == "가자"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        units.decode([units.size])


def test_ids_are_deterministic_and_unk_is_zero():
    a, b = build_units("banana", "char"), build_units("nanaba", "char")
    assert a.units == ["a", "b", "n"] and a == b and a.size == 4
    np.testing.assert_array_equal(a.encode("ban"), [2, 1, 3])
    assert isinstance(a, CharUnits) and isinstance(build_units("a", "jamo"), JamoUnits)
    with pytest.raises(ValueError, match="--units"):
        build_units("a", "bpe")


@pytest.mark.parametrize("mode", ["char", "jamo"])
def test_state_round_trips_through_json(mode):
    units = build_units(MIXED, mode)
    state = json.loads(json.dumps(units.to_state()))
    again = units_from_state(state)
    assert again == units and type(again) is type(units)
    np.testing.assert_array_equal(again.encode(MIXED), units.encode(MIXED))
    assert again.decode(units.encode(MIXED)) == MIXED


def test_from_state_rejects_other_dicts_in_one_line():
    good = build_units("abc", "jamo").to_state()
    for bad, match in [({}, "not a charlm vocabulary"), ({**good, "version": 9}, "version 9"),
                       ({**good, "mode": "bpe"}, "unknown mode"), ({**good, "units": ["a"]}, "string"),
                       ({**good, "units": "aa"}, "distinct")]:
        with pytest.raises(ValueError, match=match) as e:
            units_from_state(bad)
        assert "\n" not in str(e.value)


def test_korean_corpus_vocabulary_and_units_per_character():
    from charlm.text import corpus_text

    text = corpus_text("ko")
    char, jamo = build_units(text, "char"), build_units(text, "jamo")
    c_ids, j_ids = char.encode(text), jamo.encode(text)
    assert char.size == 401 and jamo.size == 66  # 396 syllables + space . ? \n + <unk>; 19 + 21 + 21 jamo + 4 + <unk>
    assert char.count_chars(c_ids) == jamo.count_chars(j_ids) == len(text)
    assert char.units_per_char(c_ids) == 1.0
    assert 1.95 < jamo.units_per_char(j_ids) < 2.0
    assert jamo.decode(j_ids) == text
