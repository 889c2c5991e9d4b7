"""charlm.text: the corpus text, reading a user's file, the held-out tail and the stateful batch layout."""

import unicodedata

import numpy as np
import pytest

from charlm.text import (
    CORPUS_DIR,
    TextError,
    batchify,
    bptt_chunks,
    corpus_text,
    read_text,
    split_stream,
    split_text,
)


# ------------------------------------------------------------------------------------------------ corpus
def test_corpus_text_is_the_korean_column_one_line_each_deduplicated():
    text = corpus_text("ko")
    lines = text.split("\n")
    assert lines[-1] == "" and all(lines[:-1])  # every sentence ends in a newline, no blank line
    lines = lines[:-1]
    assert len(lines) == len(set(lines))  # deduplicated
    rows = [line.split("\t") for split in ("train", "valid", "test")
            for line in (CORPUS_DIR / f"{split}.tsv").read_text(encoding="utf-8").splitlines()]
    korean = [r[1] for r in rows]
    assert lines == list(dict.fromkeys(korean))  # first occurrence kept, file order train, valid, test
    assert len(korean) == 35_000 and len(lines) < len(korean)  # the corpus does repeat Korean sentences
    assert lines[0] == rows[0][1]
    assert unicodedata.is_normalized("NFC", text)
    assert all("\uac00" <= ch <= "\ud7a3" for ch in lines[0].replace(" ", "").rstrip(".?"))


def test_corpus_text_english_and_no_dedupe():
    en = corpus_text("en")
    assert en.startswith("Is there a woman at the bakery?\n")
    assert en.count("\n") == 35_000  # English sentences are unique
    assert corpus_text("ko", dedupe=False).count("\n") == 35_000
    with pytest.raises(ValueError, match="lang"):
        corpus_text("fr")


def test_corpus_text_missing_folder_says_how_to_regenerate(tmp_path):
    with pytest.raises(FileNotFoundError, match="generate.py"):
        corpus_text("ko", folder=tmp_path)


# ------------------------------------------------------------------------------------------------ read_text
def test_read_text_normalises_nfd_to_nfc_and_line_ends(tmp_path):
    path = tmp_path / "nfd.txt"
    nfd = unicodedata.normalize("NFD", "한국어 문장.\r\n둘째 줄\r")
    assert len(nfd) > len("한국어 문장.\r\n둘째 줄\r")
    path.write_bytes(b"\xef\xbb\xbf" + nfd.encode("utf-8"))  # with a BOM
    assert read_text(path) == "한국어 문장.\n둘째 줄\n"


def test_read_text_binary_names_file_and_byte_offset(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"abc\x00def")
    with pytest.raises(TextError, match=r"data\.bin: binary file.*byte offset 3\)") as e:
        read_text(path)
    assert "\n" not in str(e.value)
    assert isinstance(e.value, ValueError)


def test_read_text_not_utf8_names_the_byte_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("gut\nauf Straße".encode("latin-1"))  # ß = 0xdf, then "e": not a UTF-8 sequence
    offset = len("gut\nauf Stra")
    with pytest.raises(TextError, match=rf"latin1\.txt: not UTF-8 text \(byte 0xdf at byte offset {offset}\)"):
        read_text(path)
    # the offset counts bytes, not characters, and includes a BOM
    path.write_bytes(b"\xef\xbb\xbf" + "한".encode() + b"\xff")
    with pytest.raises(TextError, match="byte 0xff at byte offset 6"):
        read_text(path)


def test_read_text_empty_missing_and_directory(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(TextError, match="empty.txt: no text"):
        read_text(empty)
    empty.write_bytes(b" \n\t\n")
    with pytest.raises(TextError, match="no text"):
        read_text(empty)
    with pytest.raises(TextError, match="no such file"):
        read_text(tmp_path / "missing.txt")
    with pytest.raises(TextError, match="not a file"):
        read_text(tmp_path)


# ------------------------------------------------------------------------------------------------ split
NL = 9  # the newline id in these tests


def _stream_of_lines(lengths, rng):
    parts = []
    for n in lengths:
        parts.append(rng.integers(0, 9, size=n))
        parts.append([NL])
    return np.concatenate(parts).astype(np.int64)


def test_split_stream_holds_out_the_tail_at_a_line_start():
    rng = np.random.default_rng(0)
    ids = _stream_of_lines(rng.integers(5, 30, size=200), rng)
    train, valid = split_stream(ids, 0.05, newline_id=NL)
    np.testing.assert_array_equal(np.concatenate([train, valid]), ids)
    assert train[-1] == NL and valid[-1] == NL  # whole lines on both sides
    assert abs(len(valid) - 0.05 * len(ids)) <= 30  # near the fraction: within a line
    # the exact cut without a newline id
    train, valid = split_stream(ids, 0.05)
    assert len(valid) == len(ids) - round(len(ids) * 0.95)


def test_split_stream_ignores_a_far_line_start_and_checks_arguments():
    ids = np.array([1] * 50 + [NL] + [2] * 949)  # one line start, at 5% instead of 95%
    train, valid = split_stream(ids, 0.05, newline_id=NL)
    assert len(valid) == 50  # exact position: the only line start would hold out 95%
    with pytest.raises(ValueError, match="valid_fraction"):
        split_stream(ids, 1.0)
    with pytest.raises(ValueError, match="valid_fraction"):
        split_stream(ids, 0)
    with pytest.raises(ValueError, match="at least 4"):
        split_stream(np.arange(3), 0.5)
    with pytest.raises(ValueError, match="1-D"):
        split_stream(np.zeros((2, 5)), 0.5)


def test_split_text_matches_split_stream_on_characters():
    text = "".join(f"{'가나다' * (i % 7 + 1)} {i}.\n" for i in range(300))
    train, valid = split_text(text, 0.05)
    assert train + valid == text and train.endswith("\n") and valid.endswith("\n")
    ids = np.array([ord(c) for c in text])
    t_ids, v_ids = split_stream(ids, 0.05, newline_id=ord("\n"))
    assert len(t_ids) == len(train)


# ------------------------------------------------------------------------------------------------ batches
@pytest.mark.parametrize("n, batch_size, bptt", [(1000, 4, 7), (1003, 5, 10), (64, 2, 100), (10, 5, 1)])
def test_batchify_rows_are_contiguous_and_cover_the_train_part_once(n, batch_size, bptt):
    ids = np.arange(n) * 3 + 1  # distinct values, so a misplaced id is visible
    streams = batchify(ids, batch_size)
    L = n // batch_size
    assert streams.shape == (batch_size, L)
    for b in range(batch_size):  # row b is a contiguous piece of the text
        np.testing.assert_array_equal(streams[b], ids[b * L : (b + 1) * L])
    values, counts = np.unique(streams, return_counts=True)
    assert counts.max() == 1 and len(values) == batch_size * L  # every id in exactly one row
    assert n - batch_size * L < batch_size  # only the remainder that fills no column is dropped

    chunks = list(bptt_chunks(streams, bptt))
    xs = np.concatenate([x for x, _ in chunks], axis=1)
    ys = np.concatenate([y for _, y in chunks], axis=1)
    np.testing.assert_array_equal(xs, streams[:, :-1])  # in order: chunk k+1 continues chunk k in each row
    np.testing.assert_array_equal(ys, streams[:, 1:])
    position = {v: i for i, v in enumerate(ids)}
    for x, y in chunks:
        assert x.shape == y.shape and x.shape[0] == batch_size and 1 <= x.shape[1] <= bptt
        # y is the next character of the text
        np.testing.assert_array_equal(np.vectorize(position.get)(y), np.vectorize(position.get)(x) + 1)
    assert all(x.shape[1] == bptt for x, _ in chunks[:-1])


def test_bptt_chunks_carry_over_between_chunks():
    streams = batchify(np.arange(40), 2)  # rows 0..19 and 20..39
    (x0, y0), (x1, y1), (x2, y2) = bptt_chunks(streams, 8)
    assert x0[:, -1].tolist() == [7, 27] and x1[:, 0].tolist() == [8, 28]  # the next chunk starts where x ended
    assert y0[:, -1].tolist() == x1[:, 0].tolist()
    assert x2.shape == (2, 3) and y2[:, -1].tolist() == [19, 39]


def test_batchify_and_bptt_check_arguments():
    with pytest.raises(ValueError, match="too few"):
        batchify(np.arange(5), 3)
    with pytest.raises(ValueError, match="batch_size"):
        batchify(np.arange(5), 0)
    with pytest.raises(ValueError, match="batch_size"):
        batchify(np.arange(5), 1.5)
    with pytest.raises(ValueError, match="bptt"):
        next(bptt_chunks(np.zeros((2, 5), dtype=int), 0))
    with pytest.raises(ValueError, match=r"\(N, L\)"):
        next(bptt_chunks(np.zeros(5, dtype=int), 2))
