"""Translate with a trained checkpoint: `python -m seq2seq.translate --checkpoint runs/seq2seq "a sentence"`.

    python -m seq2seq.translate --checkpoint runs/seq2seq "The cat ate an apple yesterday."
    python -m seq2seq.translate --checkpoint runs/seq2seq/best.npz --file sentences.txt --beam 5
    echo "I will go to school tomorrow." | python -m seq2seq.translate --checkpoint runs/seq2seq

One translation is printed per input line, in order (an empty input line gives an empty output line).
Unknown words become the tokenizer's unknown piece, never an error; inputs longer than the model was
trained for are truncated with a warning on stderr. A missing or corrupt checkpoint is a one-line error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from minigrad import checkpoint
from minigrad.checkpoint import CheckpointError
from seq2seq.data import Tokenizer, encode_source, nfc, pad, tokenizer_from_state
from seq2seq.model import ModelConfig, Seq2Seq

CHECKPOINT_KIND = "seq2seq"


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run folder (its best.npz, else last.npz)."""
    path = Path(path)
    if path.is_dir():
        for name in ("best.npz", "last.npz"):
            if (path / name).is_file():
                return path / name
        raise CheckpointError(
            f"{path}: no best.npz or last.npz in this folder (train first: python -m seq2seq.train)"
        )
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint file not found")
    return path


class Translator:
    """A model with its tokenizers and settings: text in, text out."""

    def __init__(
        self,
        model: Seq2Seq,
        src_tok: Tokenizer,
        tgt_tok: Tokenizer,
        reverse_source: bool = False,
        max_src_len: int = 128,
    ) -> None:
        self.model, self.src_tok, self.tgt_tok = model, src_tok, tgt_tok
        self.reverse_source, self.max_src_len = reverse_source, max_src_len

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> Translator:
        """Load a checkpoint written by seq2seq.train; CheckpointError if it is not one."""
        path = find_checkpoint(path)
        state = checkpoint.load(path)
        return cls.from_state(state, path)

    @classmethod
    def from_state(cls, state: dict[str, Any], path: str | Path = "checkpoint") -> Translator:
        try:
            if state.get("kind") != CHECKPOINT_KIND:
                raise CheckpointError(f"{path}: not a seq2seq checkpoint (kind {state.get('kind')!r})")
            cfg = state["config"]
            model = Seq2Seq(ModelConfig(**cfg["model"]))
            model.load_state_dict(state["model"])
            src_tok = tokenizer_from_state(state["tokenizers"]["src"])
            tgt_tok = tokenizer_from_state(state["tokenizers"]["tgt"])
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(
                f"{path}: not a usable seq2seq checkpoint ({' '.join(str(e).split())})"
            ) from None
        model.eval()
        return cls(
            model, src_tok, tgt_tok, bool(cfg.get("reverse_source", False)), int(cfg.get("max_src_len", 128))
        )

    def encode(self, texts: Sequence[str], warn: bool = False) -> list[np.ndarray]:
        """Source ids (with EOS) of each text, truncated to max_src_len (a warning on stderr if warn)."""
        out = []
        for i, text in enumerate(texts):
            full = len(self.src_tok.encode(nfc(text))) + 1
            if full > self.max_src_len and warn:
                print(
                    f"warning: input {i + 1} has {full} tokens; truncated to the first {self.max_src_len} "
                    "(the model was not trained on longer sentences)",
                    file=sys.stderr,
                )
            out.append(encode_source(self.src_tok, nfc(text), self.reverse_source, self.max_src_len))
        return out

    def translate_ids(
        self,
        src: list[np.ndarray],
        beam: int = 1,
        max_len: int = 0,
        batch_size: int = 128,
        length_penalty: float = 0.6,
    ) -> list[list[int]]:
        """Output ids for each encoded source, decoded in length-sorted batches (less padding).

        max_len 0 = automatic: 2 * source length + 10 tokens per batch.
        """
        order = np.argsort([len(s) for s in src], kind="stable")
        out: list[list[int]] = [[] for _ in src]
        for start in range(0, len(src), batch_size):
            idx = order[start : start + batch_size]
            ids, mask = pad([src[i] for i in idx])
            limit = max_len if max_len > 0 else 2 * ids.shape[1] + 10
            for i, toks in zip(idx, self.model.translate(ids, mask, beam, limit, length_penalty)):
                out[i] = toks
        return out

    def translate(
        self,
        texts: Sequence[str],
        beam: int = 1,
        max_len: int = 0,
        warn: bool = False,
        length_penalty: float = 0.6,
    ) -> list[str]:
        """Translate sentences; an empty (or blank) sentence gives ''."""
        real = [i for i, t in enumerate(texts) if t.strip()]
        result = [""] * len(texts)
        ids = self.translate_ids(
            self.encode([texts[i] for i in real], warn), beam, max_len, length_penalty=length_penalty
        )
        for i, toks in zip(real, ids):
            result[i] = self.tgt_tok.decode(toks)
        return result


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m seq2seq.translate",
        description="Translate sentences with a checkpoint written by `python -m seq2seq.train`.",
    )
    p.add_argument("sentences", nargs="*", help="sentences to translate (otherwise --file, otherwise stdin)")
    p.add_argument(
        "--checkpoint",
        default="runs/seq2seq",
        help="a checkpoint .npz, or a run folder (uses its best.npz, else last.npz); default runs/seq2seq",
    )
    p.add_argument("--file", help="a UTF-8 text file with one sentence per line ('-' = stdin)")
    p.add_argument("--beam", type=int, default=5, help="beam size; 1 = greedy decoding (default 5)")
    p.add_argument(
        "--max-len",
        type=int,
        default=0,
        help="longest output in tokens; 0 = automatic, 2 x source length + 10 (default 0)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS threads for NumPy (minigrad.set_num_threads); 1 is fastest for this small model",
    )
    p.add_argument(
        "--length-penalty",
        type=float,
        default=0.6,
        help="GNMT length-penalty exponent alpha for beam search; 0 = none (default 0.6)",
    )
    return p


def _read_lines(args: argparse.Namespace) -> list[str]:
    if args.sentences:
        return list(args.sentences)
    if args.file and args.file != "-":
        path = Path(args.file)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        try:
            return path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not UTF-8 text") from None
    if sys.stdin.isatty():
        print("type sentences, one per line; Ctrl-D to finish", file=sys.stderr)
    return sys.stdin.read().splitlines()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        minigrad.set_num_threads(args.threads)
        if args.beam < 1:
            raise ValueError(f"--beam must be >= 1, got {args.beam}")
        if args.max_len < 0:
            raise ValueError(f"--max-len must be >= 0, got {args.max_len}")
        translator = Translator.from_checkpoint(args.checkpoint)
        lines = _read_lines(args)
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                print(f"note: line {n} is empty: nothing to translate", file=sys.stderr)
        for out in translator.translate(
            lines, args.beam, args.max_len, warn=True, length_penalty=args.length_penalty
        ):
            print(out)
    except (CheckpointError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
