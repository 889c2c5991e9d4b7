"""Translate with a trained checkpoint: `python -m seq2seq.translate --checkpoint runs/seq2seq "a sentence"`.

    python -m seq2seq.translate --checkpoint runs/seq2seq "The cat ate an apple yesterday."
    python -m seq2seq.translate --checkpoint runs/seq2seq/best.npz --file sentences.txt --beam 5
    echo "I will go to school tomorrow." | python -m seq2seq.translate --checkpoint runs/seq2seq

One translation is printed per input line, in order (an empty input line gives an empty output line).
Unknown words become the tokenizer's unknown piece, never an error; inputs longer than the model was
trained for are truncated with a warning on stderr. A missing or unusable checkpoint (a missing or
inconsistent entry, a corrupt embedded sentencepiece model) is one line naming the file and the entry, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from demokit.cli import int_range, nonnegative_float, parser, positive_int, run_command, set_threads
from demokit.errors import UserError
from seq2seq.translator import Translator


def build_parser() -> argparse.ArgumentParser:
    p = parser("python -m seq2seq.translate", "Translate sentences with a checkpoint written by "
               "`python -m seq2seq.train`.")
    p.add_argument("sentences", nargs="*", help="sentences to translate (otherwise --file, otherwise stdin)")
    p.add_argument("--checkpoint", default="runs/seq2seq",
                   help="a checkpoint .npz, or a run folder (uses its best.npz, else last.npz)")
    p.add_argument("--file", help="a UTF-8 text file with one sentence per line ('-' = stdin)")
    p.add_argument("--beam", type=int_range(1, 64), default=5, help="beam size; 1 = greedy decoding")
    p.add_argument("--max-len", type=int_range(0, 10_000), default=0,
                   help="longest output in tokens; 0 = automatic, 2 x source length + 10")
    p.add_argument("--length-penalty", type=nonnegative_float, default=0.6,
                   help="GNMT length-penalty exponent alpha for beam search; 0 = none")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="BLAS threads for NumPy (minigrad.set_num_threads); 1 is fastest for this small model")
    return p


def _read_lines(sentences: list[str], file: str | None) -> list[str]:
    if sentences:
        return list(sentences)
    if file and file != "-":
        path = Path(file)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        try:
            return path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise UserError(f"{path}: not UTF-8 text") from None
    if sys.stdin.isatty():
        print("type sentences, one per line; Ctrl-D to finish", file=sys.stderr)
    return sys.stdin.read().splitlines()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_threads(args.threads)
    translator = Translator.from_checkpoint(args.checkpoint)
    lines = _read_lines(args.sentences, args.file)
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            print(f"note: line {n} is empty: nothing to translate", file=sys.stderr)
    for out in translator.translate(lines, args.beam, args.max_len, warn=True, length_penalty=args.length_penalty):
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
