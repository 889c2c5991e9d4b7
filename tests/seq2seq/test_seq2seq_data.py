"""seq2seq.data: TSV parsing and its errors, splits, toy tasks, tokenizers (Hangul round trip), batches."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import numpy as np
import pytest

from demokit.errors import UserError
from seq2seq import data as D


# ---------------------------------------------------------------------------------------------- TSV
def test_read_tsv_columns_extra_columns_and_blank_lines(tmp_path):
    f = tmp_path / "pairs.tsv"
    f.write_text("Go.\t가.\tCC-BY 2.0 #1\n\nHi.\t안녕.\tCC-BY 2.0 #2\n", encoding="utf-8")
    assert D.read_tsv(f) == [("Go.", "가."), ("Hi.", "안녕.")]
    assert D.read_tsv(f, src_col=1, tgt_col=0) == [("가.", "Go."), ("안녕.", "Hi.")]


def test_read_tsv_strips_a_byte_order_mark(tmp_path):
    f = tmp_path / "bom.tsv"
    f.write_bytes("\ufeffa\tb\n".encode())
    assert D.read_tsv(f) == [("a", "b")]


@pytest.mark.parametrize(
    "content, message",
    [
        ("a\tb\nno tab here\nc\td\n", r"pairs\.tsv:2: expected at least 2 tab-separated columns"),
        ("a\tb\nc\t \n", r"pairs\.tsv:2: the target column is empty"),
        ("a\tb\n\n\n\tx\n", r"pairs\.tsv:4: the source column is empty"),
        ("\n\n", r"no sentence pairs"),
    ],
)
def test_read_tsv_errors_name_the_line(tmp_path, content, message):
    f = tmp_path / "pairs.tsv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        D.read_tsv(f)


def test_read_tsv_more_errors(tmp_path):
    f = tmp_path / "pairs.tsv"
    f.write_bytes(b"a\tb\nc\t\xff\xfe\n")
    with pytest.raises(ValueError, match=r"pairs\.tsv:2: not UTF-8"):
        D.read_tsv(f)
    f.write_text("a\tb\tc\n", encoding="utf-8")
    with pytest.raises(ValueError, match="at least 4 tab-separated columns"):
        D.read_tsv(f, src_col=0, tgt_col=3)
    with pytest.raises(ValueError, match="different column"):
        D.read_tsv(f, src_col=1, tgt_col=1)
    with pytest.raises(FileNotFoundError, match="no such file"):
        D.read_tsv(tmp_path / "missing.tsv")


@pytest.mark.parametrize("content, name", [("a;b\nc;d\n", "semicolon"), ("a,b\nc,d\n", "comma")])
def test_a_csv_gets_a_hint_to_use_tabs(tmp_path, content, name):
    f = tmp_path / "pairs.csv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=rf"pairs\.csv:1: .* looks like a {name}-separated \(CSV\) file"):
        D.read_tsv(f)
    f.write_text("a\tb\nno tab; here\n", encoding="utf-8")  # a TSV with one bad line: no CSV hint
    with pytest.raises(UserError, match=r"found 1: 'no tab; here'$"):
        D.read_tsv(f)


def test_repeated_pairs_are_removed_before_splitting(tmp_path):
    pairs = [("a", "1"), ("b", "2"), ("a", "1"), ("a", "2"), ("b", "2")]
    assert D.distinct_pairs(pairs) == ([("a", "1"), ("b", "2"), ("a", "2")], 2)
    f = tmp_path / "rep.tsv"
    f.write_text("".join(f"s{i % 10}\tt{i % 10}\n" for i in range(100)), encoding="utf-8")
    splits = D.load_task(data=f)
    assert splits.duplicates == 90 and len(splits.train) + len(splits.valid) + len(splits.test) == 10
    assert not set(splits.test) & set(splits.train) and not set(splits.valid) & set(splits.train)
    f.write_text("x\ty\n" * 5 + "u\tv\n", encoding="utf-8")
    with pytest.raises(UserError, match="only 2 distinct pair"):
        D.load_task(data=f)


def test_cap_lengths_leaves_long_pairs_out_of_every_split():
    short = [(f"{i}", f"{i}") for i in range(10)]
    splits = D.Splits(short[:6] + [("9" * 30, "1")], short[6:8] + [("1", "2" * 30)], short[8:] + [("3" * 9, "4")],
                      name="t")
    tok = D.CharTokenizer.train("0123456789")
    kept, dropped = D.cap_lengths(splits, tok, tok, max_tokens=10)  # 9 tokens + EOS fit, 30 do not
    assert dropped == {"train": 1, "valid": 1, "test": 0}
    assert kept.train == short[:6] and kept.valid == short[6:8] and kept.test == short[8:] + [("3" * 9, "4")]
    with pytest.raises(UserError, match="every test pair is longer than 5 tokens"):
        D.cap_lengths(D.Splits(short, short, [("3" * 9, "4")], name="t"), tok, tok, max_tokens=5)


def test_measure_and_fingerprint():
    stats = D.measure([("Is the dog big?", "개가 커요?"), ("Yes.", "네.")])
    assert stats.chars == (len(set("Isthedogbig?Yes.")), len(set("개가커요?네.")))
    assert stats.mean_words == (2.5, 1.5) and stats.words == (5, 3)
    assert stats.hangul[0] == 0 and stats.hangul[1] == pytest.approx(5 / 7)
    a = D.Splits([("a", "b")], [("c", "d")], [("e", "f")], name="t")
    b = D.Splits([("a", "b")], [("c", "d"), ("e", "f")], [], name="t")
    assert D.fingerprint(a) == D.fingerprint(D.Splits(*map(list, (a.train, a.valid, a.test)), name="u"))
    assert D.fingerprint(a) != D.fingerprint(b)  # the same pairs split otherwise are other data


def test_a_corrupt_sentencepiece_model_is_a_one_line_value_error(korean_lines):
    model = D.SentencePieceTokenizer.train(korean_lines[:500], _enough(korean_lines[:500])).model_bytes
    for broken in (b"", model[: len(model) // 3], b"not a model at all"):
        with pytest.raises(ValueError) as e:
            D.SentencePieceTokenizer(broken)
        assert "\n" not in str(e.value) and "sentencepiece model" in str(e.value)


def test_split_pairs_is_seeded_disjoint_and_complete():
    pairs = [(f"s{i}", f"t{i}") for i in range(100)]
    a = D.split_pairs(pairs, seed=3)
    assert a == D.split_pairs(pairs, seed=3)
    assert a != D.split_pairs(pairs, seed=4)
    train, valid, test = a
    assert (len(train), len(valid), len(test)) == (90, 5, 5)
    assert sorted(train + valid + test) == sorted(pairs)
    tiny = D.split_pairs(pairs[:3], seed=0)
    assert [len(x) for x in tiny] == [1, 1, 1]
    with pytest.raises(ValueError, match="at least 3"):
        D.split_pairs(pairs[:2], seed=0)


def test_builtin_corpus_loads():
    splits = D.load_task("corpus")
    assert len(splits.train) >= 30_000 and len(splits.valid) > 0 and len(splits.test) > 0
    assert all(s and t for s, t in splits.test)


# ---------------------------------------------------------------------------------------------- toy tasks
@pytest.mark.parametrize(
    "fmt, text",
    [
        ("{month_lower} {d}, {yyyy}", "september 27, 1994"),
        ("{m}/{d}/{yy}", "9/27/94"),
        ("{d} {mon_upper} {yyyy}", "27 SEP 1994"),
        ("{weekday_title}, {month_title} {d}, {yyyy}", "Tuesday, September 27, 1994"),
        ("{dd}.{mm}.{yy}", "27.09.94"),
    ],
)
def test_date_formats(fmt, text):
    assert D.format_date(dt.date(1994, 9, 27), fmt) == text


def _parse_back(src: str) -> dt.date:
    """An independent reading of every generated format (two-digit years: 50..99 -> 19yy, else 20yy)."""
    s = src.lower()
    months = {m.lower(): i + 1 for i, m in enumerate(D.MONTHS)}
    months.update({m[:3].lower(): i + 1 for i, m in enumerate(D.MONTHS)})
    if m := re.fullmatch(r"(\d+)/(\d+)/(\d+)", s):
        mo, d, y = map(int, m.groups())
    elif m := re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", s):
        d, mo, y = map(int, m.groups())
    elif m := re.fullmatch(r"(?:[a-z]+, )?([a-z]+) (\d+), (\d+)", s):
        mo, d, y = months[m.group(1)], int(m.group(2)), int(m.group(3))
    elif m := re.fullmatch(r"(\d+) ([a-z]+) (\d+)", s):
        d, mo, y = int(m.group(1)), months[m.group(2)], int(m.group(3))
    else:
        raise AssertionError(f"unknown date format: {src!r}")
    if y < 100:
        y += 1900 if y >= 50 else 2000
    return dt.date(y, mo, d)


def test_dates_are_correct_distinct_and_seeded():
    pairs = D.make_dates(3000, seed=1)
    assert pairs == D.make_dates(3000, seed=1)
    assert pairs != D.make_dates(3000, seed=2)
    assert len({s for s, _ in pairs}) == 3000
    for src, tgt in pairs:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", tgt)
        assert _parse_back(src).isoformat() == tgt, src
        if "," in src and src.split(",")[0].lower() in {d.lower() for d in D.calendar.day_name}:
            assert src.split(",")[0].lower() == D.calendar.day_name[_parse_back(src).weekday()].lower()
    used = {re.sub(r"[A-Za-z]+", "W", re.sub(r"\d+", "0", s)) for s, _ in pairs}
    assert len(used) >= 5  # several surface formats really occur


def test_addition_is_correct_distinct_and_seeded():
    pairs = D.make_addition(5000, seed=0)
    assert pairs == D.make_addition(5000, seed=0) and pairs != D.make_addition(5000, seed=1)
    assert len(set(pairs)) == 5000
    for src, tgt in pairs:
        a, b = map(int, src.split("+"))
        assert 0 <= a <= 999 and 0 <= b <= 999 and int(tgt) == a + b


def test_toy_tasks_use_the_books_90_10_split():
    splits = D.load_task("addition", seed=0)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (44_000, 1_000, 5_000)
    assert not set(splits.test) & set(splits.train + splits.valid)
    assert splits.train[0] == D.make_addition(50_000, seed=0)[0]
    with pytest.raises(ValueError, match="unknown task"):
        D.load_task("poetry")


# ---------------------------------------------------------------------------------------------- tokenizers
@pytest.fixture(scope="module")
def korean_lines():
    return [t for _, t in D.load_task("corpus").train[:3000]]


def _enough(lines):
    """A vocabulary size just above the number of distinct characters (every character needs a piece)."""
    return len(set("".join(lines))) + 40


def test_hangul_round_trips_through_sentencepiece(korean_lines):
    tok = D.SentencePieceTokenizer.train(korean_lines, vocab_size=400)
    # held-out sentences written only with syllables of the tokenizer's training text (others are UNK)
    seen = set("".join(korean_lines))
    held_out = [t for _, t in D.load_task("corpus").test if set(t) <= seen][:300]
    assert len(held_out) > 100
    for line in korean_lines[:300] + held_out:
        ids = tok.encode(line)
        assert tok.decode(ids) == line
        # no piece is a conjoining jamo (U+1100..U+11FF): syllables stay composed
        assert not any("\u1100" <= ch <= "\u11ff" for p in tok.pieces(ids) for ch in p)
    # Hangul typed as jamo (NFD) comes back composed
    assert (
        tok.decode(tok.encode(unicodedata.normalize("NFD", "고양이가 사과를 먹어요.")))
        == "고양이가 사과를 먹어요."
    )


def test_unknown_characters_become_unk_not_errors(korean_lines):
    with pytest.raises(ValueError, match="--vocab-size 300 is too small"):
        D.SentencePieceTokenizer.train(korean_lines, vocab_size=300, model_type="bpe")
    tok = D.SentencePieceTokenizer.train(korean_lines, vocab_size=600, model_type="bpe")
    ids = tok.encode("고양이 🦄 ㅋ")
    assert D.UNK in ids
    assert isinstance(tok.decode(ids), str)
    char = D.CharTokenizer.train(["abc"])
    assert char.encode("abz") == [4, 5, D.UNK]
    assert char.decode([4, 5, D.UNK, D.EOS, D.PAD]) == "ab" + D.UNK_TEXT


def test_tokenizer_state_round_trip(korean_lines):
    for tok in (
        D.SentencePieceTokenizer.train(korean_lines[:500], _enough(korean_lines[:500])),
        D.CharTokenizer.train(["12+34"]),
    ):
        again = D.tokenizer_from_state(tok.state())
        assert again.vocab_size == tok.vocab_size
        text = korean_lines[7] if tok.kind == "sentencepiece" else "43+21"
        assert again.encode(text) == tok.encode(text)
    with pytest.raises(ValueError, match="unknown tokenizer kind"):
        D.tokenizer_from_state({"kind": "bytes"})


def test_special_ids_are_fixed(korean_lines):
    tok = D.SentencePieceTokenizer.train(korean_lines[:500], _enough(korean_lines[:500]))
    assert tok.pieces([D.PAD, D.BOS, D.EOS, D.UNK]) == ["<pad>", "<s>", "</s>", "<unk>"]
    assert D.CharTokenizer(["a"]).pieces([0, 1, 2, 3, 4]) == D.SPECIALS + ["a"]


# ---------------------------------------------------------------------------------------------- batches
def _encoded(n=50, seed=0):
    rng = np.random.default_rng(seed)
    pairs = [
        (
            "".join(rng.choice(list("abcde"), rng.integers(1, 12))),
            "".join(rng.choice(list("xyz"), rng.integers(1, 9))),
        )
        for _ in range(n)
    ]
    src_tok, tgt_tok = (
        D.CharTokenizer.train([s for s, _ in pairs]),
        D.CharTokenizer.train([t for _, t in pairs]),
    )
    return pairs, D.encode_pairs(pairs, src_tok, tgt_tok), src_tok, tgt_tok


def test_batches_pad_and_mask_correctly():
    pairs, enc, src_tok, tgt_tok = _encoded()
    batches = D.make_batches(enc, 8, np.random.default_rng(0))
    seen = np.concatenate([b.index for b in batches])
    assert sorted(seen.tolist()) == list(range(len(pairs)))  # every pair exactly once
    for b in batches:
        assert b.src.shape == b.src_mask.shape and b.tgt_in.shape == b.tgt_out.shape
        for row, i in enumerate(b.index):
            src, tgt = pairs[i]
            n = len(src) + 1
            assert b.src_mask[row].tolist() == [True] * n + [False] * (b.src.shape[1] - n)
            assert src_tok.decode(b.src[row, : n - 1]) == src and b.src[row, n - 1] == D.EOS
            assert (b.src[row, n:] == D.PAD).all()
            m = len(tgt) + 1
            assert b.tgt_in[row, 0] == D.BOS and tgt_tok.decode(b.tgt_in[row, 1:m]) == tgt
            assert tgt_tok.decode(b.tgt_out[row, : m - 1]) == tgt and b.tgt_out[row, m - 1] == D.EOS
            assert (b.tgt_out[row, m:] == D.PAD).all() and (b.tgt_in[row, m:] == D.PAD).all()
        assert b.n_tokens == int((b.tgt_out != D.PAD).sum())


def test_bucketing_reduces_padding_and_is_seeded():
    _, enc, _, _ = _encoded(400, seed=1)

    def padding(batches):
        return sum(int((~b.src_mask).sum()) for b in batches)

    bucketed = D.make_batches(enc, 16, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    shuffled = [D.collate(enc, c) for c in np.array_split(rng.permutation(400), 25)]
    assert padding(bucketed) < 0.5 * padding(shuffled)
    again = D.make_batches(enc, 16, np.random.default_rng(0))
    assert all((a.index == b.index).all() for a, b in zip(bucketed, again))
    other = D.make_batches(enc, 16, np.random.default_rng(1))
    assert any((a.index != b.index).any() for a, b in zip(bucketed, other))


def test_reverse_source_and_truncation():
    tok = D.CharTokenizer.train(["abc"])
    assert tok.decode(D.encode_source(tok, "abc", reverse=True)[:-1]) == "cba"
    ids = D.encode_source(tok, "abcabc", max_len=4)
    assert len(ids) == 4 and ids[-1] == D.EOS
    enc = D.encode_pairs([("abc", "ab"), ("abcabcabc", "a")], tok, tok, max_len=5)
    assert enc.dropped == 1 and len(enc.src) == 1
