"""`python -m captioning.demo`: train the image captioner, evaluate it, and write an HTML gallery.

    python -m captioning.demo                      # data -> train -> evaluate -> runs/captioning/
    python -m captioning.demo --lang ko --beam 3   # Korean captions, beam search
    python -m captioning.demo --image my.png       # caption your own PNG with the saved model

What it writes into --out (default runs/captioning):
    model.npz      the checkpoint (minigrad.checkpoint: weights + vocabulary + config + loss history;
                   atomic, no pickle). Reused on the next run unless --retrain.
    gallery.html   test images with the generated and the true caption, then a held-out-pair section;
                   the PNGs sit beside it in images/ (relative links: copy the folder anywhere)
    loss.png       the training loss per step (needs matplotlib: pip install matplotlib)
    metrics.json   everything printed at the end, with the wall time and the configuration

The metrics, on the test split (colour-shape pairs seen in training) and on the held-out split (every
image has a colour-shape pair never seen in training, e.g. "red square"):
    exact match          generated caption == reference caption, word for word
    BLEU-4               sacrebleu corpus BLEU on the word captions, tokenize="13a" (printed beside it)
    true description     the generated caption is one of the scene's true descriptions (any subject, any
                         reference order), checked against the scene geometry, not against one string
    held-out pair named  held-out split only: the caption names the unseen pair ("red square") at all

Captions are CANONICAL (captioning.data.canonical_scene): one fixed description per picture, so exact
match is a fair score. "True description" asks the looser question "is the caption right at all?"
(captioning.data.true_captions lists every true description of a scene).
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from captioning import data
from captioning.model import INJECT_MODES, CaptionModel
from captioning.png import PNGError
from minigrad import checkpoint, optim
from minigrad.checkpoint import CheckpointError

CHECKPOINT_NAME = "model.npz"
BLEU_TOKENIZER = "13a"  # captions are space-separated words without punctuation: 13a leaves them as they are
CHANNELS = (16, 64, 128)  # encoder conv channels; fixed (not an option) to keep the command line short
IMAGE_DIM = 256
GALLERY_TEST, GALLERY_HELDOUT = 48, 24  # images shown per section


class DemoError(Exception):
    """A problem the user can fix (bad file, missing checkpoint, ...): printed as one line, exit code 2."""


# ------------------------------------------------------------------------------------------------ captions


def pair_phrase(colour: str, kind: str, lang: str) -> str:
    """How a caption names a colour-shape pair: "red square" / "빨간 사각형"."""
    if lang == "ko":
        return f"{data.KO_COLOUR[colour]} {data.KO_KIND[kind]}"
    return f"{colour} {kind}"


# ------------------------------------------------------------------------------------------------ options


@dataclass
class Config:
    """Every option of the command (argparse fills it; metrics.json stores it)."""

    size: int = 32
    n_train: int = 32000
    n_valid: int = 500
    n_test: int = 1000
    epochs: int = 6
    batch_size: int = 64
    lr: float = 2e-3
    hidden: int = 256
    emb: int = 32
    inject: str = "init"
    beam: int = 3
    lang: str = "en"
    clip: float = 1.0
    seed: int = 0
    out: str = "runs/captioning"
    retrain: bool = False
    image: str | None = None
    max_minutes: float = 8.0
    threads: int = 1


def build_parser() -> argparse.ArgumentParser:
    """The command line; every option is documented in --help."""
    d = Config()
    p = argparse.ArgumentParser(
        prog="python -m captioning.demo",
        description="Image captioning (vector to sequence): a small CNN encodes a synthetic scene into one "
                    "vector, an LSTM writes the caption word by word. With no arguments: make the data, "
                    "train, evaluate, write gallery.html, loss.png and metrics.json into --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--size", type=int, default=d.size, help="image side in pixels (32..64)")
    p.add_argument("--n-train", type=int, default=d.n_train, help="training images")
    p.add_argument("--n-valid", type=int, default=d.n_valid,
                   help="validation images (exact match printed after each epoch)")
    p.add_argument("--n-test", type=int, default=d.n_test,
                   help="test images, and as many held-out-pair images")
    p.add_argument("--epochs", type=int, default=d.epochs, help="passes over the training images")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="images per training step")
    p.add_argument("--lr", type=float, default=d.lr,
                   help="Adam's peak learning rate (warm-up, then cosine decay to 5%% of it by the end of "
                        "the epochs or of the time budget, whichever comes first)")
    p.add_argument("--hidden", type=int, default=d.hidden, help="LSTM hidden size H")
    p.add_argument("--emb", type=int, default=d.emb, help="word embedding size")
    p.add_argument("--inject", choices=INJECT_MODES, default=d.inject,
                   help="how the image vector v reaches the LSTM: 'init' sets the initial state, h0 = "
                        "tanh(W_h v + b_h), c0 = W_c v + b_c; 'first' feeds it as the first input, as in "
                        "Show and Tell")
    p.add_argument("--beam", type=int, default=d.beam, help="beam size for evaluation (1 = greedy)")
    p.add_argument("--lang", choices=data.LANGS, default=d.lang, help="caption language: English or Korean")
    p.add_argument("--clip", type=float, default=d.clip,
                   help="clip the global gradient norm to this value (0 turns clipping off)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the data and of the weights")
    p.add_argument("--out", default=d.out, help="output folder (checkpoint, gallery, figures, metrics)")
    p.add_argument("--retrain", action="store_true", help="train again even if --out holds a checkpoint")
    p.add_argument("--image", metavar="FILE.png",
                   help="caption this PNG with the checkpoint in --out (resized to the model's image size), "
                        "print the caption and exit")
    p.add_argument("--max-minutes", type=float, default=d.max_minutes,
                   help="training time budget in minutes (validation included); the learning rate "
                        "decays to reach its minimum when the budget ends (0 = no limit)")
    p.add_argument("--threads", type=int, default=d.threads,
                   help="BLAS threads for NumPy (minigrad.set_num_threads); this small model runs fastest "
                        "with 1, and far faster than with 2 when another program is using the CPU")
    return p


def parse_config(argv: list[str] | None = None) -> Config:
    """Parse and check the options; a bad value exits with argparse's one-line usage error."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    cfg = Config(**{k: v for k, v in vars(ns).items()})
    if not data.MIN_SIZE <= cfg.size <= data.MAX_SIZE:
        parser.error(f"--size must be {data.MIN_SIZE}..{data.MAX_SIZE}, got {cfg.size}")
    for name in ("n_train", "n_valid", "n_test", "epochs", "batch_size", "hidden", "emb", "beam", "threads"):
        if getattr(cfg, name) < (0 if name in ("n_valid",) else 1):
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(cfg, name)}")
    if not cfg.lr > 0:
        parser.error(f"--lr must be > 0, got {cfg.lr}")
    if cfg.clip < 0 or cfg.max_minutes < 0:
        parser.error("--clip and --max-minutes must be >= 0")
    return cfg


# ------------------------------------------------------------------------------------------------ training


def train(model: CaptionModel, images: np.ndarray, captions: np.ndarray, cfg: Config,
          valid: tuple[np.ndarray, list[str]] | None, vocab: data.Vocab) -> dict[str, Any]:
    """Teacher-forced training with Adam, warm-up + cosine decay, global-norm clipping and a time budget.

    Learning rate, with progress p = max(steps done / steps planned, seconds used / time budget):
        lr = lr_peak * min(1, step / warmup) * (0.05 + 0.95 * (1 + cos(pi * p)) / 2)
    so a run that the time budget (--max-minutes) cuts short still ends at a low learning rate instead of
    stopping in the middle of the schedule; training ends when p reaches 1.
    images (N, 3, S, S), captions (N, T+1) ids. Returns the history: per-step loss and grad norm,
    epochs run, clip rate, seconds, whether the time budget stopped it.
    """
    from tqdm import tqdm

    n = len(images)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    opt = optim.Adam(model.parameters(), lr=cfg.lr)
    warmup = max(1, min(200, total // 10))
    budget = cfg.max_minutes * 60 if cfg.max_minutes > 0 else math.inf
    rng = minigrad.random.default_generator()
    params = list(model.parameters())
    losses: list[float] = []
    norms: list[float] = []
    valid_exact: list[float] = []
    clipped, step, epochs_run, out_of_time = 0, 0, 0, False
    start = time.perf_counter()
    model.train()
    for epoch in range(1, cfg.epochs + 1):
        order = rng.permutation(n)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{cfg.epochs}", unit="batch", leave=False,
                   file=sys.stdout, dynamic_ncols=True, disable=None)  # None: no bar when not a terminal
        for b in bar:
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            loss = model.loss(images[idx], captions[idx])
            value = float(loss.item())
            if not math.isfinite(value):
                raise DemoError(f"training diverged: the loss is {value} at epoch {epoch}, step {step + 1}; "
                                f"try a smaller --lr (now {cfg.lr}) or keep --clip on")
            progress = max(step / total, (time.perf_counter() - start) / budget)
            for group in opt.param_groups:
                decay = 0.05 + 0.95 * (1 + math.cos(math.pi * min(progress, 1.0))) / 2
                group["lr"] = cfg.lr * min(1.0, (step + 1) / warmup) * decay
            opt.zero_grad()
            loss.backward()
            # with clipping off, an infinite max_norm still returns the norm (for the log) and never scales
            norm = optim.clip_grad_norm_(params, cfg.clip if cfg.clip > 0 else math.inf)
            clipped += cfg.clip > 0 and norm > cfg.clip
            opt.step()
            step += 1
            losses.append(value)
            norms.append(norm)
            if step % 10 == 0 or b == steps_per_epoch - 1:
                lr = opt.param_groups[0]["lr"]
                bar.set_postfix(loss=f"{value:.3f}", gnorm=f"{norm:.2f}", lr=f"{lr:.1e}")
            if time.perf_counter() - start >= budget:
                out_of_time = True
                break
        bar.close()
        epochs_run = epoch
        line = (f"epoch {epoch}/{cfg.epochs}: loss {np.mean(losses[-steps_per_epoch:]):.4f}, "
                f"grad norm {np.mean(norms[-steps_per_epoch:]):.2f}, clipped {clipped / step:.0%} of steps")
        if valid is not None and len(valid[0]):
            hyps = [vocab.decode(ids) for ids in model.generate(valid[0], vocab.bos_id, vocab.eos_id)]
            valid_exact.append(float(np.mean([h == r for h, r in zip(hyps, valid[1])])))
            line += f", valid exact match {valid_exact[-1]:.1%}"
            model.train()
        print(line + f" ({time.perf_counter() - start:.0f} s)", flush=True)
        if out_of_time:
            print(f"time budget of {cfg.max_minutes:g} min reached: stopping after epoch {epoch} "
                  f"(step {step} of {total})", flush=True)
            break
    model.eval()
    return {"loss": np.array(losses, np.float32), "grad_norm": np.array(norms, np.float32),
            "valid_exact": np.array(valid_exact, np.float32), "steps": step, "epochs_run": epochs_run,
            "clip_rate": clipped / max(step, 1), "seconds": time.perf_counter() - start,
            "stopped_by_time_budget": out_of_time}


# ------------------------------------------------------------------------------------------------ evaluation


def evaluate(model: CaptionModel, split: data.Split, vocab: data.Vocab, cfg: Config) -> dict[str, Any]:
    """Caption every image of the split and score it (the metrics of the module docstring)."""
    from sacrebleu.metrics import BLEU

    ids = model.generate(split.images, vocab.bos_id, vocab.eos_id, beam=cfg.beam)
    hyps = [vocab.decode(x) for x in ids]
    refs = list(split.captions)
    exact = np.array([h == r for h, r in zip(hyps, refs)])
    true = np.array([h in data.true_captions(s, cfg.lang) for h, s in zip(hyps, split.scenes)])
    bleu = BLEU(tokenize=BLEU_TOKENIZER)
    score = bleu.corpus_score(hyps, [refs])  # one reference per image: a list holding one list of N strings
    n_shapes = np.array([len(s.shapes) for s in split.scenes])
    result: dict[str, Any] = {
        "n": len(hyps),
        "exact_match": float(exact.mean()) if len(hyps) else 0.0,
        "bleu4": round(float(score.score), 2),
        "bleu_signature": str(bleu.get_signature()),
        "true_description": float(true.mean()) if len(hyps) else 0.0,
        "exact_match_by_shapes": {str(k): float(exact[n_shapes == k].mean()) for k in (1, 2, 3)
                                  if (n_shapes == k).any()},
    }
    held = set(data.HELDOUT_PAIRS)
    named = [all(pair_phrase(s.colour, s.kind, cfg.lang) in h for s in scene.shapes if s.pair in held)
             for h, scene in zip(hyps, split.scenes) if any(s.pair in held for s in scene.shapes)]
    if named:
        result["heldout_pair_named"] = float(np.mean(named))
    result["hypotheses"], result["references"] = hyps, refs
    return result


# ------------------------------------------------------------------------------------------------ outputs


def write_gallery(out: Path, splits: dict[str, data.Split], results: dict[str, dict], summary: str) -> Path:
    """gallery.html with the PNGs in out/images/: picture, generated caption (marked right/wrong), truth."""
    images_dir = out / "images"
    sections = []
    for name, title, limit in (("test", "Test images (colour-shape pairs seen in training)", GALLERY_TEST),
                               ("heldout", "Held-out colour-shape pairs (never seen in training)",
                                GALLERY_HELDOUT)):
        split, res = splits[name], results[name]
        k = min(limit, len(split))
        part = data.Split(split.name, split.images[:k], split.captions[:k], split.scenes[:k])
        paths = data.save_split_pngs(part, images_dir)
        cards = []
        for i, path in enumerate(paths):
            hyp, ref = res["hypotheses"][i], res["references"][i]
            ok = hyp == ref
            mark = "&#10003;" if ok else "&#10007;"
            cards.append(
                f'<figure class="{"ok" if ok else "bad"}"><img src="images/{html.escape(path.name)}" '
                f'alt="{html.escape(ref)}" width="128" height="128">'
                f'<figcaption><b>{mark} model:</b> {html.escape(hyp)}<br><b>true:</b> {html.escape(ref)}'
                "</figcaption></figure>"
            )
        sections.append(
            f"<h2>{html.escape(title)}</h2><p>exact match {res['exact_match']:.1%} over {res['n']} images, "
            f"BLEU-4 {res['bleu4']:.1f} (sacrebleu, tokenize={BLEU_TOKENIZER}); first {k} shown.</p>"
            f'<div class="grid">{"".join(cards)}</div>'
        )
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>minigrad captioning gallery</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; background: #fafafa; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 12px; }}
figure {{ width: 260px; margin: 0; padding: 8px; background: white; border: 2px solid #ccc;
          border-radius: 6px; }}
figure.ok {{ border-color: #5a5; }} figure.bad {{ border-color: #d55; }}
img {{ image-rendering: pixelated; display: block; margin: 0 auto 6px; }}
figcaption {{ font-size: 13px; line-height: 1.35; }}
pre {{ background: white; padding: 8px; border: 1px solid #ccc; }}
</style></head><body>
<h1>Image captioning with minigrad: CNN encoder, LSTM decoder</h1>
<pre>{html.escape(summary)}</pre>
{"".join(sections)}
</body></html>
"""
    path = out / "gallery.html"
    path.write_text(page, encoding="utf-8")
    return path


def plot_loss(out: Path, losses: np.ndarray, steps_per_epoch: int) -> Path | None:
    """loss.png: training loss per step and its moving average; None (with a hint) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        print("loss curve skipped: matplotlib is not installed "
              "(pip install matplotlib, or pip install -e .[plot])")
        return None
    if len(losses) == 0:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, color="#9bbbe0", linewidth=0.7, label="per step")
    w = max(1, min(50, len(losses) // 10))
    if len(losses) >= w:
        smooth = np.convolve(losses, np.ones(w) / w, mode="valid")
        ax.plot(steps[w - 1:], smooth, color="#1f5fa8", linewidth=1.6, label=f"moving average ({w} steps)")
    ax.set_yscale("log")
    ax.set_xlabel(f"step (batch; {steps_per_epoch} per epoch)")
    ax.set_ylabel("cross-entropy per word")
    ax.set_title("captioning: training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out / "loss.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------------------ checkpoint


def save_checkpoint(path: Path, model: CaptionModel, vocab: data.Vocab, cfg: Config, history: dict) -> None:
    """Weights + vocabulary + config (+ the loss history for the curve), atomically and without pickle."""
    checkpoint.save({"kind": "captioning", "config": model.config, "lang": cfg.lang,
                     "model": model.state_dict(), "vocab": vocab.to_dict(), "history": history,
                     "train_options": {k: v for k, v in asdict(cfg).items() if v is not None}}, path)


def load_checkpoint(path: Path) -> tuple[CaptionModel, data.Vocab, dict[str, Any]]:
    """Rebuild the model and vocabulary from a checkpoint; CheckpointError (one line) if it is not ours."""
    state = checkpoint.load(path)
    if not isinstance(state, dict) or state.get("kind") != "captioning":
        raise CheckpointError(f"{path}: not a captioning checkpoint")
    try:
        vocab = data.Vocab.from_dict(state["vocab"])
        model = CaptionModel(**state["config"])
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError) as e:
        reason = " ".join(str(e).split())
        raise CheckpointError(f"{path}: unusable captioning checkpoint ({reason})") from None
    model.eval()
    return model, vocab, state


def caption_file(path: str, out: str, beam: int = 1) -> str:
    """Caption one PNG with the checkpoint in `out`; DemoError for a missing checkpoint or unreadable file."""
    ckpt = Path(out) / CHECKPOINT_NAME
    if not ckpt.exists():
        raise DemoError(f"no trained model at {ckpt}: run `python -m captioning.demo` first (or pass --out)")
    model, vocab, _ = load_checkpoint(ckpt)
    try:
        image = data.load_image(path, model.config["image_size"])
    except PNGError as e:
        raise DemoError(str(e)) from None
    except OSError as e:
        raise DemoError(f"{path}: cannot read the file ({e.strerror or e})") from None
    ids = model.generate(image[None], vocab.bos_id, vocab.eos_id, beam=beam)[0]
    return vocab.decode(ids)


# ------------------------------------------------------------------------------------------------ main


def summarize(test: dict, held: dict, history: dict, reused: bool, wall: float) -> str:
    """The printed result block (also shown at the top of the gallery)."""
    return "\n".join([
        f"test ({test['n']} images):    exact match {test['exact_match']:.1%}   "
        f"BLEU-4 {test['bleu4']:.2f} (sacrebleu, tokenize={BLEU_TOKENIZER})   "
        f"true description {test['true_description']:.1%}",
        f"held-out pairs ({held['n']}): exact match {held['exact_match']:.1%}   BLEU-4 {held['bleu4']:.2f}   "
        f"true description {held['true_description']:.1%}   "
        f"held-out pair named {held.get('heldout_pair_named', 0.0):.1%}",
        f"training: {int(history['steps'])} steps, {int(history['epochs_run'])} epochs, "
        f"{float(history['seconds']):.0f} s, clipped {float(history['clip_rate']):.0%} of steps"
        + (" (reused checkpoint)" if reused else ""),
        f"wall time: {wall:.0f} s",
    ])


def run(cfg: Config) -> dict[str, Any]:
    """The whole demo: data, training (or the saved checkpoint), evaluation, gallery, figure, metrics."""
    t0 = time.perf_counter()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / CHECKPOINT_NAME
    reuse = ckpt_path.exists() and not cfg.retrain
    minigrad.manual_seed(cfg.seed)

    print(f"making the data: {0 if reuse else cfg.n_train} train, {cfg.n_valid} valid, {cfg.n_test} test, "
          f"{cfg.n_test} held-out images of {cfg.size}x{cfg.size} ({cfg.lang} captions)", flush=True)
    splits = data.make_dataset(0 if reuse else cfg.n_train, cfg.n_valid, cfg.n_test, size=cfg.size,
                               seed=cfg.seed, lang=cfg.lang)
    if reuse:
        model, vocab, state = load_checkpoint(ckpt_path)
        wanted = {"image_size": cfg.size, "hidden": cfg.hidden, "emb": cfg.emb, "inject": cfg.inject}
        checkpoint.check_config({**state["config"], "lang": state.get("lang")}, {**wanted, "lang": cfg.lang},
                                ckpt_path)
        history = state["history"]
        print(f"reusing the trained model in {ckpt_path} (pass --retrain to train again)", flush=True)
    else:
        train_caps = list(splits["train"].captions)
        vocab = data.Vocab.build(train_caps)
        model = CaptionModel(len(vocab), image_size=cfg.size, channels=CHANNELS, image_dim=IMAGE_DIM,
                             emb=cfg.emb, hidden=cfg.hidden, inject=cfg.inject, pad_id=vocab.pad_id)
        print(f"vocabulary: {len(vocab)} words; model: {model.num_parameters():,} parameters "
              f"(inject={cfg.inject}, clip={'off' if cfg.clip == 0 else cfg.clip})", flush=True)
        valid_refs = list(splits["valid"].captions)
        history = train(model, splits["train"].images, vocab.encode_batch(train_caps), cfg,
                        (splits["valid"].images, valid_refs), vocab)
        save_checkpoint(ckpt_path, model, vocab, cfg, history)

    print(f"evaluating ({'greedy' if cfg.beam == 1 else f'beam {cfg.beam}'} decoding)", flush=True)
    results = {name: evaluate(model, splits[name], vocab, cfg) for name in ("test", "heldout")}
    test, held = results["test"], results["heldout"]
    summary = summarize(test, held, history, reuse, time.perf_counter() - t0)
    gallery = write_gallery(out, splits, results, summary)
    steps_per_epoch = math.ceil(max(cfg.n_train, 1) / cfg.batch_size)
    losses = np.asarray(history["loss"])
    figure = plot_loss(out, losses, steps_per_epoch)
    wall = time.perf_counter() - t0
    metrics = {
        "exact_match": test["exact_match"], "bleu4": test["bleu4"], "bleu_tokenizer": BLEU_TOKENIZER,
        "test": {k: v for k, v in test.items() if k not in ("hypotheses", "references")},
        "heldout": {k: v for k, v in held.items() if k not in ("hypotheses", "references")},
        "heldout_pairs": [" ".join(p) for p in data.HELDOUT_PAIRS],
        "decoding": "greedy" if cfg.beam == 1 else f"beam {cfg.beam}",
        "training": {"steps": int(history["steps"]), "epochs_run": int(history["epochs_run"]),
                     "seconds": round(float(history["seconds"]), 1), "clip_rate": float(history["clip_rate"]),
                     "final_loss": float(np.mean(losses[-50:])) if len(losses) else None,
                     "valid_exact_per_epoch": [float(x) for x in np.asarray(history["valid_exact"])],
                     "stopped_by_time_budget": bool(history["stopped_by_time_budget"]),
                     "reused_checkpoint": reuse},
        "parameters": model.num_parameters(), "model_config": model.config,
        "wall_time_seconds": round(wall, 1), "config": asdict(cfg),
        "samples": [{"true": r, "generated": h}
                    for h, r in zip(test["hypotheses"][:10], test["references"][:10])],
    }
    metrics_path = out / "metrics.json"
    metrics_path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(summarize(test, held, history, reuse, wall))
    print("examples (test):")
    for h, r in list(zip(test["hypotheses"], test["references"]))[:5]:
        print(f"  {'ok ' if h == r else 'BAD'} model: {h}\n      true:  {r}")
    print("wrote:")
    for p in (ckpt_path, gallery, figure, metrics_path):
        if p is not None:
            print(f"  {p}")
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Entry point: returns the exit code (0, or 2 after a one-line error message on stderr)."""
    cfg = parse_config(argv)
    minigrad.set_num_threads(cfg.threads)
    try:
        if cfg.image is not None:
            print(caption_file(cfg.image, cfg.out, cfg.beam))
            return 0
        run(cfg)
    except (DemoError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
