"""seq2seq: the many-to-many demo -- an encoder-decoder translator with attention and beam search.

    python -m seq2seq.train                                        # English -> Korean, within 10 minutes
    python -m seq2seq.translate --checkpoint runs/seq2seq "The cat ate an apple."

Modules, one concern each: data (corpora, toy tasks, tokenizers, length caps, batches), model (Seq2Seq),
options (argparse -> Config, per-task and per-data defaults), checkpoint (what a checkpoint holds, written
through demokit's Trainer and read back here), translator (text in, text out), report (validation and test
figures, samples, heatmap, metrics.json), and the two commands train and translate. Greedy and beam search
live in demokit.decoding, BLEU in demokit.bleu, the heatmap in demokit.plotting (shared with other demos).
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
    "Translator": "seq2seq.translator",
    "Config": "seq2seq.options",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'seq2seq' has no attribute {name!r}")
