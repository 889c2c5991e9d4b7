"""seq2seq: the many-to-many demo -- an encoder-decoder translator with attention and beam search.

    python -m seq2seq.train                                        # English -> Korean, about 8 minutes
    python -m seq2seq.translate --checkpoint runs/seq2seq "The cat ate an apple."

Modules: data (corpora, toy tasks, tokenizers, batches), model (Seq2Seq), train and translate (the two
commands). Greedy and beam search live in demokit.decoding, shared with the captioning demo.
The public names below load on first use, so `import seq2seq` stays instant and trains nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "Seq2Seq": "seq2seq.model",
    "ModelConfig": "seq2seq.model",
    "load_task": "seq2seq.data",
    "build_tokenizers": "seq2seq.data",
    "Translator": "seq2seq.translate",
}

__all__ = sorted(_PUBLIC)

def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'seq2seq' has no attribute {name!r}")
