"""Data for the seq2seq (many-to-many) demo: corpora, toy tasks, tokenizers and padded batches.

    splits = load_task("corpus")                       # built-in English->Korean, or "dates" / "addition",
                                                       # or load_task(data="my.tsv", src_col=0, tgt_col=1)
    src_tok, tgt_tok = build_tokenizers(splits, task="corpus", vocab_size=1000)
    train = encode_pairs(splits.train, src_tok, tgt_tok)
    for batch in make_batches(train, batch_size=64, rng=np.random.default_rng(0)):
        batch.src       # (N, S) int64, padded with PAD = 0, each row ends with EOS
        batch.src_mask  # (N, S) bool, True = real token
        batch.tgt_in    # (N, T) BOS y1 .. yn        (decoder input, teacher forcing)
        batch.tgt_out   # (N, T) y1 .. yn EOS        (what the decoder must predict; the loss ignores PAD)

Special ids, the same for every tokenizer: PAD = 0, BOS = 1, EOS = 2, UNK = 3.

Splits:
    corpus    data/en_ko/{train,valid,test}.tsv as shipped (test holds word combinations unseen in training)
    tsv       a user's file, repeated pairs removed (a test pair must not also be a training pair), shuffled with
              the seed: 5% valid, 5% test (each at least 1, at most 2,000 pairs)
    dates     50,000 generated examples: the last 10% (5,000) are test, as in "Deep Learning from Scratch 2";
    addition  of the first 90% (45,000), 1,000 are held out for validation (early stopping), 44,000 train.
Every split then loses the pairs longer than a cap in tokens (`cap_lengths`): one 44,000-token pair in the
validation split would otherwise make attention a 26,000 x 44,000 matrix after an epoch of training.

`measure(pairs)` describes a user's text (distinct characters, words per sentence, Hangul share) so that
seq2seq.options can choose character units or a sentencepiece vocabulary that fit it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from demokit.errors import UserError

CORPUS_DIR = Path(__file__).resolve().parents[1] / "data" / "en_ko"

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
UNK_TEXT = "\u2047"  # "⁇", what sentencepiece prints for an unknown piece

TASKS = ("corpus", "dates", "addition")
TOY_SIZE = 50_000

Pair = tuple[str, str]


# ------------------------------------------------------------------------------------------- splits
@dataclass
class Splits:
    """Source/target text pairs of one task, split three ways."""

    train: list[Pair]
    valid: list[Pair]
    test: list[Pair]
    name: str
    about: str = ""
    duplicates: int = 0  # repeated pairs removed from a user's file before splitting

    def sizes(self) -> str:
        return f"{len(self.train):,} train / {len(self.valid):,} valid / {len(self.test):,} test"


def read_tsv(path: str | Path, src_col: int = 0, tgt_col: int = 1) -> list[Pair]:
    """Read tab-separated pairs (Tatoeba/Anki format: source, target, optional extra columns).

    Blank lines are skipped. A line with too few columns or an empty source/target cell is a UserError
    naming the file and line number (with a hint when the file looks semicolon- or comma-separated); so is
    a file that is not UTF-8 or holds no pair at all.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if src_col < 0 or tgt_col < 0 or src_col == tgt_col:
        raise UserError(f"--src-col {src_col} and --tgt-col {tgt_col} must be different column numbers >= 0")
    try:
        text = path.read_bytes().decode("utf-8-sig")  # -sig: a BOM left by Windows editors is not text
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not UTF-8 text (byte {e.object[e.start]:#04x})") from None
    need = max(src_col, tgt_col) + 1
    pairs: list[Pair] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) < need:
            raise UserError(
                f"{path}:{lineno}: expected at least {need} tab-separated columns (source column {src_col}, "
                f"target column {tgt_col}), found {len(cells)}: {line[:60]!r}{_separator_hint(text)}"
            )
        src, tgt = cells[src_col].strip(), cells[tgt_col].strip()
        if not src or not tgt:
            which = "source" if not src else "target"
            raise UserError(f"{path}:{lineno}: the {which} column is empty")
        pairs.append((src, tgt))
    if not pairs:
        raise UserError(f"{path}: no sentence pairs found (empty file?)")
    return pairs


def _separator_hint(text: str) -> str:
    """A hint when a file without tabs looks like a CSV: every line holds the same separator."""
    if "\t" in text:
        return ""
    lines = [line for line in text.splitlines() if line.strip()][:50]
    for sep, name in ((";", "semicolon"), (",", "comma")):
        if lines and all(sep in line for line in lines):
            return (f"; this looks like a {name}-separated (CSV) file: save it with tabs between the columns "
                    "(e.g. a spreadsheet's 'Save as' tab-separated values)")
    return ""


def distinct_pairs(pairs: Sequence[Pair]) -> tuple[list[Pair], int]:
    """The pairs without repeats (first occurrence kept, order kept) and how many repeats were removed.

    Anki/Tatoeba exports often repeat pairs; a repeated pair split at random would sit in train AND test,
    and the test figures would measure memory, not translation.
    """
    seen: set[Pair] = set()
    out = []
    for p in pairs:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out, len(pairs) - len(out)


def split_pairs(
    pairs: Sequence[Pair], seed: int, frac: float = 0.05, cap: int = 2000
) -> tuple[list, list, list]:
    """Shuffle with the seed, then cut valid and test (frac each, >= 1 and <= cap) from the end."""
    if len(pairs) < 3:
        raise UserError(f"need at least 3 distinct sentence pairs to make train/valid/test splits, got {len(pairs)}")
    order = np.random.default_rng(seed).permutation(len(pairs))
    shuffled = [pairs[i] for i in order]
    n = min(cap, max(1, round(frac * len(pairs))))
    n = min(n, (len(pairs) - 1) // 2)
    return shuffled[: -2 * n], shuffled[-2 * n : -n], shuffled[-n:]


def load_corpus(folder: str | Path = CORPUS_DIR) -> Splits:
    """The built-in English->Korean corpus as shipped in data/en_ko/{train,valid,test}.tsv."""
    folder = Path(folder)
    missing = [s for s in ("train", "valid", "test") if not (folder / f"{s}.tsv").is_file()]
    if missing:
        raise FileNotFoundError(
            f"the built-in corpus is missing {', '.join(s + '.tsv' for s in missing)} in {folder}; "
            "regenerate it with: python data/en_ko/generate.py --seed 0 --out data/en_ko"
        )
    parts = [read_tsv(folder / f"{s}.tsv") for s in ("train", "valid", "test")]
    return Splits(*parts, name="corpus", about=f"built-in English->Korean corpus ({folder})")


# ------------------------------------------------------------------------------------------- toy tasks
MONTHS = [calendar.month_name[m] for m in range(1, 13)]
DATE_FORMATS = (
    "{month_lower} {d}, {yyyy}",  # september 27, 1994
    "{month_title} {d}, {yyyy}",  # September 27, 1994
    "{month_upper} {d}, {yyyy}",  # SEPTEMBER 27, 1994
    "{mon_title} {d}, {yyyy}",  # Sep 27, 1994
    "{mon_upper} {d}, {yyyy}",  # SEP 27, 1994
    "{d} {mon_upper} {yyyy}",  # 27 SEP 1994
    "{d} {month_title} {yyyy}",  # 27 September 1994
    "{m}/{d}/{yy}",  # 9/27/94
    "{mm}/{dd}/{yyyy}",  # 09/27/1994
    "{dd}.{mm}.{yy}",  # 27.09.94   (day first: the dots say European order)
    "{weekday_title}, {month_title} {d}, {yyyy}",  # Tuesday, September 27, 1994
    "{weekday_upper}, {month_upper} {d}, {yyyy}",  # TUESDAY, SEPTEMBER 27, 1994
)
DATE_FIRST, DATE_LAST = dt.date(1950, 1, 1), dt.date(2049, 12, 31)


def format_date(date: dt.date, fmt: str) -> str:
    """Render one date in one of DATE_FORMATS. Two-digit years mean 1950..2049 (50..99 -> 19yy)."""
    month = MONTHS[date.month - 1]
    weekday = calendar.day_name[date.weekday()]
    return fmt.format(
        month_lower=month.lower(),
        month_title=month,
        month_upper=month.upper(),
        mon_title=month[:3],
        mon_upper=month[:3].upper(),
        weekday_title=weekday,
        weekday_upper=weekday.upper(),
        d=date.day,
        dd=f"{date.day:02d}",
        m=date.month,
        mm=f"{date.month:02d}",
        yyyy=date.year,
        yy=f"{date.year % 100:02d}",
    )


def make_dates(n: int = TOY_SIZE, seed: int = 0) -> list[Pair]:
    """n distinct (free-form date, ISO date) pairs, e.g. ("27 SEP 1994", "1994-09-27"), from the seed."""
    rng = np.random.default_rng(seed)
    span = (DATE_LAST - DATE_FIRST).days + 1
    seen: set[str] = set()
    pairs: list[Pair] = []
    while len(pairs) < n:
        date = DATE_FIRST + dt.timedelta(days=int(rng.integers(span)))
        src = format_date(date, DATE_FORMATS[int(rng.integers(len(DATE_FORMATS)))])
        if src in seen:  # a repeated input could sit in both train and test
            continue
        seen.add(src)
        pairs.append((src, date.isoformat()))
    return pairs


def make_addition(n: int = TOY_SIZE, seed: int = 0, max_value: int = 999) -> list[Pair]:
    """n distinct ("a+b", "a+b's value") pairs with 0 <= a, b <= max_value, e.g. ("16+75", "91")."""
    if n > (max_value + 1) ** 2:
        raise ValueError(
            f"only {(max_value + 1) ** 2} distinct sums exist for max_value {max_value}, asked {n}"
        )
    rng = np.random.default_rng(seed)
    codes = rng.choice((max_value + 1) ** 2, size=n, replace=False)  # distinct (a, b) pairs
    a, b = np.divmod(codes, max_value + 1)
    return [(f"{x}+{y}", str(x + y)) for x, y in zip(a.tolist(), b.tolist())]


def split_toy(pairs: list[Pair], valid: int = 1000) -> tuple[list, list, list]:
    """The book's 90/10 train/test split, then `valid` pairs of the 90% held out for early stopping."""
    n_test = len(pairs) // 10
    train, test = pairs[: len(pairs) - n_test], pairs[len(pairs) - n_test :]
    return train[:-valid], train[-valid:], test


def load_task(
    task: str = "corpus", data: str | Path | None = None, src_col: int = 0, tgt_col: int = 1, seed: int = 0
) -> Splits:
    """The train/valid/test pairs for `task`: corpus (or the user's --data TSV), dates or addition."""
    if data is not None:
        pairs, duplicates = distinct_pairs(read_tsv(data, src_col, tgt_col))
        if len(pairs) < 3:
            raise UserError(
                f"{data}: only {len(pairs)} distinct pair(s) after removing {duplicates} repeated one(s); "
                "train, validation and test need different pairs (at least 3)"
            )
        train, valid, test = split_pairs(pairs, seed)
        return Splits(
            train, valid, test, name="tsv", about=f"{data} (columns {src_col} -> {tgt_col}, seed {seed})",
            duplicates=duplicates,
        )
    if task == "corpus":
        return load_corpus()
    if task == "dates":
        return Splits(
            *split_toy(make_dates(TOY_SIZE, seed)),
            name="dates",
            about=f"{TOY_SIZE:,} free-form dates -> ISO 8601 (seed {seed})",
        )
    if task == "addition":
        return Splits(
            *split_toy(make_addition(TOY_SIZE, seed)),
            name="addition",
            about=f"{TOY_SIZE:,} additions a+b (0..999) -> the sum (seed {seed})",
        )
    raise UserError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")


def fingerprint(splits: Splits) -> str:
    """SHA-256 of every pair of every split, in order: --resume checks that the data did not change."""
    h = hashlib.sha256()
    for part in (splits.train, splits.valid, splits.test):
        for s, t in part:
            h.update(s.encode("utf-8") + b"\t" + t.encode("utf-8") + b"\n")
        h.update(b"\f")
    return h.hexdigest()


@dataclass(frozen=True)
class TextStats:
    """What decides the units for a user's text, per side (source, target), measured on the training split."""

    chars: tuple[int, int]  # distinct characters (spaces excluded)
    words: tuple[int, int]  # distinct space-separated words
    mean_words: tuple[float, float]  # words per sentence
    mean_chars: tuple[float, float]  # characters per sentence
    hangul: tuple[float, float]  # share of the characters that are Hangul syllables or jamo


def _is_hangul(ch: str) -> bool:
    o = ord(ch)
    return 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F


def measure(pairs: Sequence[Pair]) -> TextStats:
    """Character set, word counts, lengths and Hangul share of each side of `pairs` (see TextStats)."""
    per_side = []
    for side in (0, 1):
        texts = [p[side] for p in pairs]
        joined = "".join(texts)
        words = [w for t in texts for w in t.split()]
        letters = [c for c in joined if not c.isspace()]
        per_side.append((
            len(set(letters)),
            len(set(words)),
            len(words) / max(len(texts), 1),
            len(joined) / max(len(texts), 1),
            sum(map(_is_hangul, letters)) / max(len(letters), 1),
        ))
    src, tgt = per_side
    return TextStats(*((a, b) for a, b in zip(src, tgt)))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- tokenizers
class CharTokenizer:
    """One id per character seen in training (ids after the 4 specials); unseen characters -> UNK."""

    kind = "char"

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars = sorted(set(chars))
        self.index = {c: i + len(SPECIALS) for i, c in enumerate(self.chars)}

    @classmethod
    def train(cls, texts: Iterable[str]) -> CharTokenizer:
        return cls(c for t in texts for c in t)

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.chars)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(c, UNK) for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        out = []
        for i in ids:
            i = int(i)
            if i == UNK or i >= self.vocab_size:
                out.append(UNK_TEXT)
            elif i >= len(SPECIALS):
                out.append(self.chars[i - len(SPECIALS)])
        return "".join(out)

    def pieces(self, ids: Iterable[int]) -> list[str]:
        """The text of each id (for plots)."""
        return [SPECIALS[i] if i < len(SPECIALS) else self.chars[i - len(SPECIALS)] for i in map(int, ids)]

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "chars": list(self.chars)}


class SentencePieceTokenizer:
    """A sentencepiece subword model (unigram or BPE) with PAD/BOS/EOS/UNK = 0/1/2/3.

    Normalisation is NFKC (sentencepiece's nmt_nfkc): it COMPOSES Hangul, so 고양이 stays three syllables
    (NFKD would split it into jamo), and it maps full-width Latin letters to ASCII. Unknown characters
    become UNK, never an error.
    """

    kind = "sentencepiece"

    def __init__(self, model_bytes: bytes) -> None:
        import sentencepiece as spm

        self.model_bytes = bytes(model_bytes)
        if not self.model_bytes:  # sentencepiece would accept it and answer every call with 0
            raise ValueError("the sentencepiece model is empty")
        try:
            self.sp = spm.SentencePieceProcessor(model_proto=self.model_bytes)
        except RuntimeError:  # its message is a C++ source location, not a reason
            raise ValueError("not a readable sentencepiece model (corrupt or truncated)") from None
        if [self.sp.pad_id(), self.sp.bos_id(), self.sp.eos_id(), self.sp.unk_id()] != [PAD, BOS, EOS, UNK]:
            raise ValueError("sentencepiece model does not use the special ids pad=0, bos=1, eos=2, unk=3")

    @classmethod
    def train(
        cls, texts: Sequence[str], vocab_size: int, model_type: str = "unigram"
    ) -> SentencePieceTokenizer:
        """Train in memory on `texts` (the training split only). The vocab may end up smaller than asked
        when the text has fewer distinct pieces (hard_vocab_limit=False)."""
        import sentencepiece as spm

        if model_type not in ("unigram", "bpe"):
            raise ValueError(f"sentencepiece model type must be 'unigram' or 'bpe', got {model_type!r}")
        if vocab_size < len(SPECIALS) + 4:
            raise UserError(f"--vocab-size {vocab_size} is too small (at least {len(SPECIALS) + 4})")
        chars = len(set("".join(texts)) - {" "})
        if vocab_size < chars + len(SPECIALS) + 1:
            raise UserError(
                f"--vocab-size {vocab_size} is too small: the training text has {chars} distinct characters "
                f"and each needs a piece; use at least {chars + len(SPECIALS) + 1} (or 0 for characters)"
            )
        buf = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(texts),
                model_writer=buf,
                vocab_size=vocab_size,
                model_type=model_type,
                pad_id=PAD,
                bos_id=BOS,
                eos_id=EOS,
                unk_id=UNK,
                character_coverage=1.0,  # keep every Hangul syllable seen (0.9995 would drop rare ones)
                hard_vocab_limit=False,
                normalization_rule_name="nmt_nfkc",
                num_threads=2,
                minloglevel=2,
                input_sentence_size=200_000,
                shuffle_input_sentence=False,
            )
        except RuntimeError as e:  # sentencepiece reports problems as multi-line RuntimeErrors
            raise UserError(f"sentencepiece training failed: {' '.join(str(e).split())}") from None
        return cls(buf.getvalue())

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def decode(self, ids: Iterable[int]) -> str:
        return self.sp.decode([int(i) for i in ids if int(i) not in (PAD, BOS, EOS)])

    def pieces(self, ids: Iterable[int]) -> list[str]:
        return [self.sp.id_to_piece(int(i)) for i in ids]

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": np.frombuffer(self.model_bytes, dtype=np.uint8).copy()}


Tokenizer = CharTokenizer | SentencePieceTokenizer


def tokenizer_from_state(state: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from its `state()` (as stored in a checkpoint)."""
    kind = state.get("kind")
    if kind == "char":
        return CharTokenizer(state["chars"])
    if kind == "sentencepiece":
        return SentencePieceTokenizer(np.asarray(state["model"], dtype=np.uint8).tobytes())
    raise ValueError(f"unknown tokenizer kind {kind!r} in the checkpoint")


def build_tokenizers(
    splits: Splits, char_level: bool, vocab_size: int = 1000, model_type: str = "unigram"
) -> tuple[Tokenizer, Tokenizer]:
    """Source and target tokenizers trained on the TRAINING split only (no peeking at valid/test)."""
    src_texts = [s for s, _ in splits.train]
    tgt_texts = [t for _, t in splits.train]
    if char_level:
        return CharTokenizer.train(src_texts), CharTokenizer.train(tgt_texts)
    return (
        SentencePieceTokenizer.train(src_texts, vocab_size, model_type),
        SentencePieceTokenizer.train(tgt_texts, vocab_size, model_type),
    )


def nfc(text: str) -> str:
    """Unicode NFC: Hangul typed as separate jamo becomes syllables (the form the tokenizers expect)."""
    return unicodedata.normalize("NFC", text)


# ------------------------------------------------------------------------------------------- batches
@dataclass
class Encoded:
    """Token-id sequences of one split: src[i] ends with EOS; tgt[i] has neither BOS nor EOS."""

    src: list[np.ndarray]
    tgt: list[np.ndarray]
    dropped: int = 0  # pairs left out because they were longer than max_len


def encode_source(tok: Tokenizer, text: str, reverse: bool = False, max_len: int | None = None) -> np.ndarray:
    """Source ids + EOS (the EOS gives even an empty sentence one real position to attend to).

    reverse=True reverses the tokens (not the EOS): Sutskever et al.'s trick, which puts the first source
    words next to the first target words. max_len caps the length including EOS.
    """
    ids = tok.encode(text)
    if max_len is not None:
        ids = ids[: max_len - 1]
    if reverse:
        ids = ids[::-1]
    return np.array(ids + [EOS], dtype=np.int64)


def encode_pairs(
    pairs: Sequence[Pair],
    src_tok: Tokenizer,
    tgt_tok: Tokenizer,
    reverse_source: bool = False,
    max_len: int | None = None,
) -> Encoded:
    """Tokenize pairs; with max_len, pairs whose source or target is longer are dropped (and counted)."""
    src, tgt, dropped = [], [], 0
    for s, t in pairs:
        si = encode_source(src_tok, s, reverse_source)
        ti = np.array(tgt_tok.encode(t), dtype=np.int64)
        if max_len is not None and (len(si) > max_len or len(ti) + 1 > max_len):
            dropped += 1
            continue
        src.append(si)
        tgt.append(ti)
    return Encoded(src, tgt, dropped)


def cap_lengths(
    splits: Splits, src_tok: Tokenizer, tgt_tok: Tokenizer, max_tokens: int
) -> tuple[Splits, dict[str, int]]:
    """Leave out of EVERY split the pairs whose source or target, with its EOS, has more than max_tokens tokens.

    Returns the kept splits and how many pairs each split lost. Validation and test decode and attend over
    whole sentences too: one overlong pair there costs as much memory as one in training.
    """
    def fits(pair: Pair) -> bool:
        return len(src_tok.encode(pair[0])) + 1 <= max_tokens and len(tgt_tok.encode(pair[1])) + 1 <= max_tokens

    kept = {name: [p for p in getattr(splits, name) if fits(p)] for name in ("train", "valid", "test")}
    dropped = {name: len(getattr(splits, name)) - len(kept[name]) for name in kept}
    for name in ("train", "valid", "test"):
        if not kept[name]:
            raise UserError(
                f"every {name} pair is longer than {max_tokens} tokens (--max-tokens); raise it or shorten the pairs"
            )
    return replace(splits, **kept), dropped


@dataclass
class Batch:
    """Padded arrays of N pairs (see the module docstring); index = the pairs' positions in the split."""

    src: np.ndarray
    src_mask: np.ndarray
    tgt_in: np.ndarray
    tgt_out: np.ndarray
    index: np.ndarray
    n_tokens: int = field(default=0)  # real target tokens (incl. EOS): what the loss averages over


def pad(seqs: Sequence[np.ndarray], value: int = PAD) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad to the longest: (N, L) ids and the (N, L) bool mask of real positions."""
    L = max((len(s) for s in seqs), default=0)
    out = np.full((len(seqs), L), value, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    lengths = np.array([len(s) for s in seqs])
    return out, np.arange(L)[None, :] < lengths[:, None]


def collate(data: Encoded, index: np.ndarray) -> Batch:
    """One batch from the pairs at `index`."""
    src, src_mask = pad([data.src[i] for i in index])
    tgt_in, _ = pad([np.concatenate([[BOS], data.tgt[i]]) for i in index])
    tgt_out, tgt_mask = pad([np.concatenate([data.tgt[i], [EOS]]) for i in index])
    return Batch(src, src_mask, tgt_in, tgt_out, np.asarray(index), int(tgt_mask.sum()))


def make_batches(data: Encoded, batch_size: int, rng: np.random.Generator | None = None) -> list[Batch]:
    """Length-bucketed batches: pairs of similar length go together, so little padding is computed.

    With rng (training): shuffle, sort by (source, target) length (ties stay shuffled), cut into batches,
    shuffle the batches. Without rng (evaluation): sorted by length, a fixed order; `Batch.index` maps back.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    n = len(data.src)
    order = rng.permutation(n) if rng is not None else np.arange(n)
    src_len = np.array([len(s) for s in data.src], dtype=np.int64)
    tgt_len = np.array([len(t) for t in data.tgt], dtype=np.int64)
    key = src_len[order] * 1000 + tgt_len[order]
    order = order[np.argsort(key, kind="stable")]
    chunks = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if rng is not None:
        chunks = [chunks[i] for i in rng.permutation(len(chunks))]
    return [collate(data, c) for c in chunks]
