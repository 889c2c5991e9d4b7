"""What a seq2seq run reports: validation figures per epoch, the test evaluation, samples, the heatmap, metrics.json.

    validation(...)  -> {"val_loss", "val_bleu", "val_exact"}   per epoch, for demokit's Trainer (eval mode)
    test(...)        greedy and beam decoding of the test split, scored by demokit.bleu on detokenised text:
                     the BLEU of the run's tokenizer first (ko-mecab for Korean targets, with its sacrebleu
                     signature; char for character units), 13a and chrF beside it, and the exact-match rate
    heatmap(...)     attention.png for one test sentence (demokit.plotting.plot_attention; Hangul labels)
    final(...)       all of the above for the model the run trained, and metrics.json

metrics.json is written by `final` through RunFolder.write_json (strict JSON: NaN/inf become null). Every
figure in it is a function of the seed and the data; the wall-clock figures sit apart under "timing", so two runs
with the same seed have equal metrics once "timing" is set aside.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from demokit import bleu
from demokit.runs import RunFolder
from demokit.step import eval_mode
from demokit.trainer import Trainer
from seq2seq import checkpoint
from seq2seq.data import Encoded, Pair, Splits, make_batches
from seq2seq.model import Seq2Seq
from seq2seq.options import Config
from seq2seq.translator import Translator


def mean_loss(model: Seq2Seq, data: Encoded, batch_size: int = 128) -> float:
    """Cross-entropy per real target token (no label smoothing) over a whole split, in eval mode:
    L = -(1 / sum_i |y_i|) * sum_i sum_t log p(y_i,t | y_i,<t, x_i)."""
    total = count = 0.0
    with eval_mode(model):
        for batch in make_batches(data, batch_size):
            total += model.loss(batch, 0.0).item() * batch.n_tokens
            count += batch.n_tokens
    return total / max(count, 1.0)


def validation(
    model: Seq2Seq, translator: Translator, data: Encoded, pairs: Sequence[Pair], sentences: int, tokenize: str
) -> dict[str, float]:
    """Validation loss, and greedy BLEU / exact match on the first `sentences` pairs (0 = loss only)."""
    figures = {"val_loss": mean_loss(model, data)}
    if sentences:
        subset = pairs[:sentences]
        hyps = translator.translate([s for s, _ in subset], beam=1)
        scores = bleu.score(hyps, [t for _, t in subset], tokenize)
        figures["val_bleu"], figures["val_exact"] = scores["bleu"], scores["exact"]
    return figures


def _decode(translator: Translator, sources: list[str], beam: int, max_len: int, alpha: float) -> tuple[list, float]:
    t0 = time.perf_counter()
    return translator.translate(sources, beam=beam, max_len=max_len, length_penalty=alpha), time.perf_counter() - t0


def test(translator: Translator, pairs: Sequence[Pair], beam: int, max_len: int, length_penalty: float,
         tokenize: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
    """Greedy and beam figures on `pairs`, the beam outputs, and the decoding times (for the timing section)."""
    sources, refs = [s for s, _ in pairs], [t for _, t in pairs]
    greedy, t_greedy = _decode(translator, sources, 1, max_len, length_penalty)
    outputs, t_beam = _decode(translator, sources, beam, max_len, length_penalty) if beam > 1 else (greedy, 0.0)
    figures = {
        "greedy": bleu.score(greedy, refs, tokenize),
        "beam": {**bleu.score(outputs, refs, tokenize), "beam": beam, "length_penalty": length_penalty},
    }
    return figures, {"greedy": greedy, "beam": outputs}, {"greedy": t_greedy, "beam": t_beam}


def print_test(figures: dict[str, Any], n: int, name: str, model_from: str, seconds: dict[str, float]) -> None:
    """The test figures as the log shows them: the run's BLEU and its signature first, 13a and chrF beside."""
    print(f"\ntest ({n:,} sentences, {name}), model from {model_from}:")
    for key, label in (("greedy", "greedy"), ("beam", f"beam {figures['beam']['beam']}")):
        f = figures[key]
        print(f"  {label:<8} BLEU {f['bleu']:6.2f} ({f['tokenize']})  BLEU {f['bleu_13a']:6.2f} (13a)  "
              f"chrF {f['chrf']:6.2f}  exact match {f['exact']:6.2f}%   [{seconds[key]:.1f} s]")
    print(f"  BLEU signature: {figures['greedy']['bleu_signature']}")


def samples(pairs: Sequence[Pair], outputs: Sequence[str], seed: int, k: int = 5) -> list[dict[str, str]]:
    """k test sentences chosen by the seed, with reference and output; printed."""
    pick = sorted(np.random.default_rng(seed).choice(len(pairs), size=min(k, len(pairs)), replace=False).tolist())
    out = []
    print("\nsamples (beam):")
    for i in pick:
        (src, ref), hyp = pairs[i], outputs[i]
        out.append({"source": src, "reference": ref, "hypothesis": hyp})
        print(f"  src: {src}\n  ref: {ref}\n  hyp: {hyp}{'   (exact)' if hyp == ref else ''}\n")
    return out


def heatmap(run: RunFolder, translator: Translator, source: str, max_len: int) -> dict[str, str]:
    """attention.png for one sentence (rows = output tokens ending with </s>, columns = source tokens)."""
    model = translator.model
    if model.cfg.attention == "none":
        return {}
    from demokit.plotting import hangul_font, plot_attention

    src_ids = translator.encode([source])[0]
    out_ids = translator.translate_ids([src_ids], beam=1, max_len=max_len)[0]
    weights = model.attention_map(src_ids[None, :], np.ones((1, len(src_ids)), dtype=bool), out_ids)
    src_labels = translator.src_tok.pieces(src_ids)
    out_labels = translator.tgt_tok.pieces(out_ids) + ["</s>"]
    title = f"{source}\n-> {translator.tgt_tok.decode(out_ids)}"
    if plot_attention(weights, src_labels, out_labels, run / "attention.png", title) is None:
        return {}  # no matplotlib: demokit.plotting printed the hint
    return {"attention_heatmap": "attention.png", "labels": "Hangul" if hangul_font() else "romanised"}


def final(run: RunFolder, trainer: Trainer, translator: Translator, splits: Splits, cfg: Config,
          about: dict[str, Any]) -> dict[str, Any]:
    """The end of a run: test figures of the model THIS run trained (its best.npz, else the last step), samples,
    the heatmap, metrics.json; returns the metrics. `about`: units, too_long, config, started, stopped."""
    p, model = trainer.progress, translator.model
    model_from = "the last step (no validation finished)"
    if p.best is not None and (run / "best.npz").is_file():  # the run folder holds this run only (RunFolder)
        model.load_state_dict(checkpoint.read(run / "best.npz").state["model"])
        model_from = str(run / "best.npz")
    figures, outputs, decode_seconds = test(translator, splits.test, cfg.beam, cfg.max_len, cfg.length_penalty,
                                            cfg.bleu_tokenize)
    print_test(figures, len(splits.test), splits.name, model_from, decode_seconds)
    examples = samples(splits.test, outputs["beam"], cfg.seed)
    written = heatmap(run, translator, examples[0]["source"], cfg.max_len) if examples else {}
    src_tok, tgt_tok = translator.src_tok, translator.tgt_tok
    metrics = {
        "task": splits.name, "data": splits.about, "sizes": splits.sizes(), "units": about["units"],
        "left_out": {"repeated": splits.duplicates, "too_long": about["too_long"], "max_tokens": cfg.max_tokens},
        "bleu": {"tokenize": figures["greedy"]["tokenize"], "signature": figures["greedy"]["bleu_signature"],
                 "text": "detokenised (sentencepiece pieces decoded first)"},
        "test": figures, "model_from": "best.npz" if p.best is not None else "last step",
        "best_val_loss": p.best, "epochs_run": p.epoch, "steps": p.step, "stop_reason": about["stopped"],
        "history": p.history, "samples": examples, "parameters": model.num_parameters(),
        "vocab": {"src": src_tok.vocab_size, "tgt": tgt_tok.vocab_size, "kind": src_tok.kind},
        "config": about["config"], "figures": written,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "platform": platform.platform()},
    }
    wall = time.perf_counter() - about["started"]
    timing = {"wall_seconds": wall, **trainer.timing, "decode_seconds": decode_seconds,
              "tokens_per_second": trainer.timing["items"] / max(trainer.timing["train_seconds"], 1e-9)}
    run.write_json("metrics.json", {**metrics, "timing": timing})  # strict JSON, atomic
    print(f"wall time {wall:.0f} s. wrote:")
    for name in ("best.npz", "last.npz", "src.model", "tgt.model", "attention.png", "metrics.json"):
        if (run / name).is_file():
            print(f"  {run / name}")
    return metrics
