"""The text a character-level language model trains on, and the stateful (truncated-BPTT) batch layout.

    text = corpus_text("ko")                      # or read_text("my.txt") for a user's UTF-8 file
    ids = units.encode(text)                      # charlm.units: characters or jamo -> int ids
    train_ids, valid_ids = split_stream(ids, 0.05, newline_id=units.id_of("\\n"))   # or split_text(text, 0.05)
    streams = batchify(train_ids, batch_size=32)  # (N, L): row b is a contiguous piece of the text
    for x, y in bptt_chunks(streams, bptt=64):    # (N, T) each, y[:, t] = x[:, t + 1] in the stream
        ...                                       # the state after chunk k is the initial state of chunk k + 1

The layout is the one of "Deep Learning from Scratch 2" (ch. 5) and PyTorch's word_language_model example:
the stream of L * N ids is cut into N rows of L consecutive ids, row b = ids[b*L:(b+1)*L], and the rows are
read left to right in windows of `bptt` steps. Each row of chunk k + 1 continues the same row of chunk k, so a
stateful model carries its state across chunks (detaching it so backpropagation stops at the chunk edge).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from demokit.errors import UserError

CORPUS_DIR = Path(__file__).resolve().parents[1] / "data" / "en_ko"
CORPUS_SPLITS = ("train", "valid", "test")
LANGS = {"en": 0, "ko": 1}  # column of each language in the corpus's english<TAB>korean lines


class TextError(UserError):
    """A text a user brought cannot be used (missing, binary, not UTF-8, empty); the message is one line."""


def corpus_text(lang: str = "ko", dedupe: bool = True, folder: str | Path = CORPUS_DIR) -> str:
    """The built-in English-Korean corpus in one language: one sentence per line, each line ending in "\\n".

    Lines come from train.tsv, then valid.tsv, then test.tsv (35,000 pairs as shipped), in file order. So the
    tail that split_stream() holds out is test.tsv plus the end of valid.tsv: sentences built from word
    pairs (subject + verb, adjective + noun) that never occur together in train.tsv, with every word known.

    dedupe=True (the default) keeps only the first occurrence of a sentence: English sentences are unique in
    the corpus, but their Korean translations are not ("the cat ate an apple" and "... the apple" are both
    고양이가 사과를 먹었어요), and a repeated line would put copies of training text in the validation tail.
    Korean as shipped: 35,000 lines, 34,779 distinct. The text is NFC (it is generated that way; normalised
    here anyway so that a regenerated corpus cannot mix forms).
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    folder = Path(folder)
    lines: list[str] = []
    for split in CORPUS_SPLITS:
        path = folder / f"{split}.tsv"
        if not path.is_file():
            raise FileNotFoundError(
                f"the built-in corpus is missing {path}; regenerate it with: "
                "python data/en_ko/generate.py --seed 0 --out data/en_ko"
            )
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            cells = line.split("\t")
            if len(cells) < 2:
                raise ValueError(f"{path}:{lineno}: expected english<TAB>korean, found {len(cells)} column(s)")
            lines.append(unicodedata.normalize("NFC", cells[LANGS[lang]].strip()))
    if dedupe:
        lines = list(dict.fromkeys(lines))  # dict keeps first-insertion order
    return "".join(line + "\n" for line in lines if line)


def read_text(path: str | Path) -> str:
    """Read a user's UTF-8 text file for training, normalised to NFC with "\\n" line ends.

    NFC matters for Korean: the same syllable can arrive precomposed (NFC, 한 = U+D55C) or as three conjoining
    jamo (NFD, e.g. text copied from macOS file names); without normalising, one vocabulary would hold both
    forms and the model would see two spellings of every word. A UTF-8 byte-order mark is dropped; "\\r\\n" and
    "\\r" become "\\n".

    Raises TextError (a ValueError) with one line naming the file for: a missing file or a directory, binary
    input (a NUL byte, with its byte offset), bytes that are not UTF-8 (the byte offset of the first bad
    byte), and a file with no text (empty or only white space).
    """
    path = Path(path)
    if not path.is_file():
        raise TextError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TextError(f"{path}: cannot read: {e.strerror}") from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise TextError(f"{path}: binary file, not text (NUL byte at byte offset {nul})")
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0  # BOM left by Windows editors
    try:
        text = data[start:].decode("utf-8")
    except UnicodeDecodeError as e:
        offset = start + e.start
        raise TextError(f"{path}: not UTF-8 text (byte {data[offset]:#04x} at byte offset {offset})") from None
    if not text.strip():
        raise TextError(f"{path}: no text (the file is empty or only white space)")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def _cut(n: int, valid_fraction: float, line_starts: np.ndarray | None) -> int:
    """Where the validation tail starts: the line start nearest to n * (1 - valid_fraction) (see split_stream)."""
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must be between 0 and 1 (exclusive), got {valid_fraction}")
    if n < 4:
        raise ValueError(f"need at least 4 units to hold out a validation part, got {n}")
    target = min(max(round(n * (1 - valid_fraction)), 2), n - 2)
    if line_starts is None:
        return target
    slack = (n - target) / 2
    starts = line_starts[(line_starts >= 2) & (line_starts <= n - 2) & (np.abs(line_starts - target) <= slack)]
    return int(starts[np.argmin(np.abs(starts - target))]) if len(starts) else target


def split_stream(ids: np.ndarray, valid_fraction: float, newline_id: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Hold out the TAIL of a stream for validation: (train_ids, valid_ids), train_ids + valid_ids == ids.

    The cut is the line start nearest to len(ids) * (1 - valid_fraction), so no line is split between the two
    parts: train ends with its newline and valid begins a line. Only line starts that keep the validation part
    between half and 1.5 times the requested size count; with newline_id=None, or when there is none (a text
    of long paragraphs), the cut is at that position exactly. The tail, not a random sample, because the
    stateful layout reads the text as one stream and consecutive lines can be related. Both parts hold at
    least 2 ids (one input and its next-id target).

    The fraction counts units, so --units char and --units jamo cut the same text at slightly different
    lines; to compare the two modes on the same held-out text, cut the text with split_text() and encode
    each part (encoding works character by character, so encode(a) + encode(b) == encode(a + b)).
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be a 1-D stream, got shape {ids.shape}")
    starts = None if newline_id is None else np.flatnonzero(ids[:-1] == newline_id) + 1
    cut = _cut(len(ids), valid_fraction, starts)
    return ids[:cut], ids[cut:]


def split_text(text: str, valid_fraction: float) -> tuple[str, str]:
    """split_stream() on characters: (train_text, valid_text), cut at the line start nearest to the fraction."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    starts = np.array([i + 1 for i, ch in enumerate(text[:-1]) if ch == "\n"], dtype=np.int64)
    cut = _cut(len(text), valid_fraction, starts)
    return text[:cut], text[cut:]


def batchify(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut a stream into batch_size parallel streams: (N, L) with row b = ids[b*L:(b+1)*L], L = len // N.

    The last len(ids) - N * L ids (fewer than N) do not fit a full column and are dropped, as in PyTorch's
    word_language_model. Every other id appears once, in order, in exactly one row.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be a 1-D stream, got shape {ids.shape}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    length = len(ids) // batch_size
    if length < 2:
        raise ValueError(
            f"{len(ids)} ids are too few for batch_size {batch_size}: each row needs at least 2 ids "
            f"(lower the batch size to at most {max(1, len(ids) // 2)})"
        )
    return ids[: batch_size * length].reshape(batch_size, length)


def bptt_chunks(streams: np.ndarray, bptt: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (x, y), both (N, T) int arrays, reading the streams left to right in windows of bptt steps.

        x = streams[:, i : i + T],   y = streams[:, i + 1 : i + 1 + T],   i = 0, bptt, 2*bptt, ...

    T = bptt except in the last chunk, which is shorter when (L - 1) is not a multiple of bptt. The windows
    tile the inputs streams[:, :L-1] exactly once, so over one pass every id but a row's first is a target
    once; chunk k + 1 continues chunk k in every row (the stateful layout). The arrays are views: copy them
    before writing into them.
    """
    streams = np.asarray(streams)
    if streams.ndim != 2:
        raise ValueError(f"streams must be (N, L), got shape {streams.shape}")
    if isinstance(bptt, bool) or not isinstance(bptt, (int, np.integer)) or bptt < 1:
        raise ValueError(f"bptt must be an integer >= 1, got {bptt!r}")
    length = streams.shape[1]
    for i in range(0, length - 1, bptt):
        t = min(bptt, length - 1 - i)
        yield streams[:, i : i + t], streams[:, i + 1 : i + 1 + t]
