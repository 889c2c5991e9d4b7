"""Text in, text out: a Seq2Seq model with its tokenizers (used by seq2seq.translate, and by seq2seq.train to
decode the validation and test splits).

Sources are NFC-normalised (Hangul typed as jamo becomes syllables), encoded with EOS, truncated to the longest
source the model was trained for (a warning on stderr when asked), decoded in length-sorted batches (greedy or
beam search, demokit.decoding) and detokenised. Unknown words become the tokenizer's unknown piece, never an error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np

from seq2seq import checkpoint
from seq2seq.data import Tokenizer, encode_source, nfc, pad
from seq2seq.model import Seq2Seq


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
    def from_checkpoint(cls, path: str | os.PathLike[str]) -> Translator:
        """The translator of a checkpoint written by seq2seq.train (a file, or a run folder: its best.npz, else
        last.npz); CheckpointError (one line naming the file and the entry) when it is not a usable one."""
        saved = checkpoint.read(path)
        saved.model.eval()
        return cls(saved.model, saved.src_tok, saved.tgt_tok, saved.reverse_source, saved.max_src_len)

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
