"""charlm: the character-level language model demo ("synced many-to-many": every input unit predicts the next).

    python -m charlm.train     # train on the corpus's Korean sentences (--units char | jamo, --text FILE)
    python -m charlm.sample --prime "어제 고양이가" --temperature 0.7

The model and the commands: model.py (CharLM, stateful layers), train.py and sample.py (the commands),
generate.py (bits per character, sampling), report.py and activations.py (figures, looking inside the LSTM),
checkpoint.py (written and read there only). The building blocks (NumPy and the standard library only):

    text.py      corpus_text, read_text (NFC, one-line TextError), split_stream (held-out tail), batchify and
                 bptt_chunks (the stateful truncated-BPTT layout)
    units.py     --units char | jamo: build_units, Units.encode/decode (jamo recomposed), count_chars for bits
                 per character, to_state/units_from_state for checkpoints
    ngram.py     n-gram baselines (add-k, backing off to lower orders) in bits per unit, and sampling from them
    grammar.py   particle agreement (short range) and time-word/tense agreement (long range) of Korean text
    sampling.py  sample_next: temperature, top-k, top-p
"""

from __future__ import annotations

import importlib
from typing import Any

# the public names load on first use, so `import charlm` (and `python -m charlm.ngram`) imports no module twice
_PUBLIC = {
    "CharLM": "charlm.model", "bits_per_char": "charlm.generate", "generate": "charlm.generate",
    "grammar_report": "charlm.grammar", "particle_agreement": "charlm.grammar", "tense_agreement": "charlm.grammar",
    "NGram": "charlm.ngram", "choose_k": "charlm.ngram",
    "filtered_probs": "charlm.sampling", "sample_next": "charlm.sampling",
    "TextError": "charlm.text", "batchify": "charlm.text", "bptt_chunks": "charlm.text",
    "corpus_text": "charlm.text", "read_text": "charlm.text", "split_stream": "charlm.text",
    "split_text": "charlm.text",
    "UNK": "charlm.units", "CharUnits": "charlm.units", "JamoUnits": "charlm.units", "Units": "charlm.units",
    "build_units": "charlm.units", "units_from_state": "charlm.units",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'charlm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
