"""What the captioning command reports: test and held-out scores, gallery.html, loss.png, samples.png, metrics.json.

Scores, on the test split (colour-shape pairs seen in training) and on the held-out split (every image has a
colour-shape pair never seen in training, e.g. "red square"):
    exact match          generated caption == reference caption, word for word
    BLEU                 sacrebleu corpus BLEU on the detokenised captions (demokit.bleu): tokenize 13a for
                         English, ko-mecab for Korean; printed with its signature
    true description     the caption is one of the scene's true descriptions (any subject, any reference order),
                         checked against the scene geometry (captioning.data.true_captions), not one string
    held-out pair named  held-out split only: the caption names the unseen pair ("red square") at all

Captions are CANONICAL (captioning.data.canonical_scene): one fixed description per picture, so exact match is
a fair score; "true description" asks the looser question "is the caption right at all?".

Every file goes through an atomic write (RunFolder.write_*, images.write_image, plotting.save_figure), and
metrics.json is strict JSON (NaN/inf -> null). Timings live in metrics["timing"] only, so two runs of one seed
give identical metrics apart from that section.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np

from captioning import data, images
from captioning.model import CaptionModel
from demokit import bleu, plotting
from demokit.runs import RunFolder

GALLERY_TEST, GALLERY_HELDOUT = 48, 24  # images shown per gallery section
SAMPLES_TEST, SAMPLES_HELDOUT = 8, 4  # images in samples.png


def pair_phrase(colour: str, kind: str, lang: str) -> str:
    """How a caption names a colour-shape pair: "red square" / "빨간 사각형"."""
    if lang == "ko":
        return f"{data.KO_COLOUR[colour]} {data.KO_KIND[kind]}"
    return f"{colour} {kind}"


def evaluate(model: CaptionModel, split: data.Split, vocab: data.Vocab, lang: str, beam: int) -> dict[str, Any]:
    """Caption every image of the split and score it (the scores of the module docstring)."""
    ids = model.generate(split.images, vocab.bos_id, vocab.eos_id, beam=beam)
    hyps = [vocab.decode(x) for x in ids]
    refs = list(split.captions)
    exact = np.array([h == r for h, r in zip(hyps, refs)])
    true = np.array([h in data.true_captions(s, lang) for h, s in zip(hyps, split.scenes)])
    scores = bleu.score(hyps, refs, bleu.tokenizer_for(lang))
    n_shapes = np.array([len(s.shapes) for s in split.scenes])
    result: dict[str, Any] = {
        "n": len(hyps),
        "exact_match": float(exact.mean()),
        "exact_match_by_shapes": {str(k): float(exact[n_shapes == k].mean()) for k in (1, 2, 3)
                                  if (n_shapes == k).any()},
        "bleu": scores["bleu"],
        "bleu_tokenize": scores["tokenize"],
        "bleu_signature": scores["bleu_signature"],
        "bleu_13a": scores["bleu_13a"],  # beside ko-mecab, for comparison with 13a figures elsewhere
        "chrf": scores["chrf"],
        "true_description": float(true.mean()),
    }
    held = set(data.HELDOUT_PAIRS)
    named = [all(pair_phrase(s.colour, s.kind, lang) in h for s in scene.shapes if s.pair in held)
             for h, scene in zip(hyps, split.scenes) if any(s.pair in held for s in scene.shapes)]
    if named:
        result["heldout_pair_named"] = float(np.mean(named))
    result["hypotheses"], result["references"] = hyps, refs
    return result


def scores_only(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("hypotheses", "references")}


def summary(test: dict[str, Any], held: dict[str, Any], training: dict[str, Any]) -> str:
    """The printed result block (also shown at the top of the gallery)."""
    return "\n".join([
        f"test ({test['n']} images):      exact match {test['exact_match']:.1%}   BLEU {test['bleu']:.2f}   "
        f"true description {test['true_description']:.1%}",
        f"held-out pairs ({held['n']}): exact match {held['exact_match']:.1%}   BLEU {held['bleu']:.2f}   "
        f"true description {held['true_description']:.1%}   "
        f"held-out pair named {held.get('heldout_pair_named', 0.0):.1%}",
        f"BLEU signature: {test['bleu_signature']}"
        + (f"   (13a: test {test['bleu_13a']:.2f}, held-out {held['bleu_13a']:.2f})"
           if test["bleu_tokenize"] != "13a" else ""),
        f"training: {training['steps']} steps, {training['epochs']} epochs ({training['stopped']}); "
        f"clipped {training['clip_rate']:.0%} of steps; evaluated: {training['evaluated']}",
    ])


# ------------------------------------------------------------------------------------------------ files


def write_gallery(run: RunFolder, splits: dict[str, data.Split], results: dict[str, dict[str, Any]],
                  text: str) -> list[str]:
    """gallery.html with its PNGs in images/: picture, generated caption (marked right/wrong), truth."""
    (run / "images").mkdir(exist_ok=True)
    written, sections = [], []
    for name, title, limit in (("test", "Test images (colour-shape pairs seen in training)", GALLERY_TEST),
                               ("heldout", "Held-out colour-shape pairs (never seen in training)",
                                GALLERY_HELDOUT)):
        split, res = splits[name], results[name]
        cards = []
        for i in range(min(limit, len(split))):
            rel = f"images/{name}_{i:05d}.png"
            images.write_image(run / rel, split.images[i])
            written.append(rel)
            hyp, ref = res["hypotheses"][i], res["references"][i]
            ok = hyp == ref
            cards.append(
                f'<figure class="{"ok" if ok else "bad"}"><img src="{html.escape(rel)}" alt="{html.escape(ref)}" '
                f'width="128" height="128"><figcaption><b>{"&#10003;" if ok else "&#10007;"} model:</b> '
                f"{html.escape(hyp)}<br><b>true:</b> {html.escape(ref)}</figcaption></figure>"
            )
        sections.append(
            f"<h2>{html.escape(title)}</h2><p>exact match {res['exact_match']:.1%} over {res['n']} images, "
            f"BLEU {res['bleu']:.2f} ({html.escape(res['bleu_signature'])}); first {len(cards)} shown.</p>"
            f'<div class="grid">{"".join(cards)}</div>'
        )
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>minigrad captioning gallery</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; background: #fafafa; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 12px; }}
figure {{ width: 260px; margin: 0; padding: 8px; background: white; border: 2px solid #ccc; border-radius: 6px; }}
figure.ok {{ border-color: #5a5; }} figure.bad {{ border-color: #d55; }}
img {{ image-rendering: pixelated; display: block; margin: 0 auto 6px; }}
figcaption {{ font-size: 13px; line-height: 1.35; }}
pre {{ background: white; padding: 8px; border: 1px solid #ccc; }}
</style></head><body>
<h1>Image captioning with minigrad: CNN encoder, LSTM decoder</h1>
<pre>{html.escape(text)}</pre>
{"".join(sections)}
</body></html>
"""
    run.write_text("gallery.html", page)
    return ["gallery.html", *written]


def plot_loss(run: RunFolder, step_losses: Sequence[float], history: Sequence[dict[str, Any]]) -> str | None:
    """loss.png: training loss per step, its moving average, and val_loss after each epoch."""
    plt = plotting.pyplot()
    if plt is None or not step_losses:
        return None
    losses = np.asarray(step_losses)
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, color="#9bbbe0", linewidth=0.7, label="training loss per step")
    w = max(1, min(50, len(losses) // 10))
    smooth = np.convolve(losses, np.ones(w) / w, mode="valid")
    ax.plot(steps[w - 1:], smooth, color="#1f5fa8", linewidth=1.6, label=f"moving average ({w} steps)")
    if history:
        ax.plot([h["step"] for h in history], [h["val_loss"] for h in history], "o-", color="#d2691e",
                label="validation loss (end of epoch)")
    plotting.log_scale(ax)
    ax.set_xlabel("step (batch)")
    ax.set_ylabel("cross-entropy per word (nats)")
    ax.set_title("captioning: training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    plotting.save_figure(fig, run / "loss.png")
    return "loss.png"


def plot_samples(run: RunFolder, splits: dict[str, data.Split], results: dict[str, dict[str, Any]],
                 lang: str) -> str | None:
    """samples.png: test and held-out pictures titled with the model's caption (green right, red wrong).

    Korean captions are drawn in Hangul (demokit.plotting picks a font that has it).
    """
    plt = plotting.pyplot()
    if plt is None:
        return None
    picks = [("test", i) for i in range(min(SAMPLES_TEST, len(splits["test"])))]
    picks += [("heldout", i) for i in range(min(SAMPLES_HELDOUT, len(splits["heldout"])))]
    cols = 4
    rows = -(-len(picks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 4.2 * rows), squeeze=False, layout="constrained")
    width = 20 if lang == "ko" else 32  # a Hangul syllable is about twice as wide as a Latin letter
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (name, i) in zip(axes.ravel(), picks):
        hyp, ref = results[name]["hypotheses"][i], results[name]["references"][i]
        ax.imshow(images.to_uint8(splits[name].images[i]), interpolation="nearest")
        prefix = "held-out: " if name == "heldout" else ""
        ax.set_title(plotting.label(textwrap.fill(prefix + hyp, width)), fontsize=9,
                     color="#2a7a2a" if hyp == ref else "#c02020")
    fig.suptitle("generated captions (green: exact, red: differs from the truth)")
    plotting.save_figure(fig, run / "samples.png")
    return "samples.png"


def write_metrics(run: RunFolder, metrics: dict[str, Any]) -> str:
    """metrics.json: strict JSON (NaN/inf -> null), written atomically."""
    run.write_json("metrics.json", metrics)
    return "metrics.json"
