"""What charlm.train reports: bits per character against n-gram baselines, samples at two temperatures, the
grammar figures of sampled text (model vs the best n-gram), and the figures (bpc.png, activations.png, gates.png).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from charlm.activations import best_cells, lstm_trace, signals
from charlm.generate import bits_per_char, generate
from charlm.grammar import format_report, grammar_report
from charlm.model import CharLM
from charlm.ngram import NGram, choose_k, sample
from charlm.units import Units
from demokit.plotting import label, pyplot, save_figure
from demokit.runs import RunFolder

ORDERS = (1, 2, 3, 5)
TEMPERATURES = (0.5, 1.0)


def baselines(units: Units, train_ids: np.ndarray, valid_ids: np.ndarray) -> dict[int, dict[str, float]]:
    """n-gram baselines on the same split, in bits per character: {order: {"k", "bpc"}} (k chosen on train)."""
    per_char = len(valid_ids) / units.count_chars(valid_ids)
    out = {}
    for order in ORDERS:
        k, _ = choose_k(train_ids, order, units.size)
        bits = NGram(order, units.size, k).fit(train_ids).cross_entropy(valid_ids)
        out[order] = {"k": k, "bpc": bits * per_char}
    return out


def report(run: RunFolder, model: CharLM, units: Units, train_ids: np.ndarray, valid_ids: np.ndarray,
           history: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
    """Print and return every figure; write samples.txt and the PNGs into the run folder."""
    rng = np.random.default_rng(options["seed"])
    bpc = bits_per_char(model, units, valid_ids)
    base = baselines(units, train_ids, valid_ids)
    best_order = min(base, key=lambda n: base[n]["bpc"])
    print(f"\nvalidation bits per character ({units.count_chars(valid_ids):,} held-out characters):")
    print(f"  {options['cell'].upper()} (ours)      {bpc:.4f}")
    for order, b in base.items():
        print(f"  {order}-gram (k={b['k']:g})".ljust(20) + f"{b['bpc']:.4f}")

    samples = {}
    for t in TEMPERATURES:
        row = generate(model, units, "\n", 400, temperature=t, rng=rng)[0]
        samples[str(t)] = units.decode(row)
    rows = 16
    ours = "\n".join(units.decode(r) for r in generate(model, units, "\n", options["sample_chars"] // rows,
                                                         temperature=1.0, rng=rng, rows=rows))
    ngram = NGram(best_order, units.size, base[best_order]["k"]).fit(train_ids)
    theirs = units.decode(sample(ngram, options["sample_chars"], rng, prime=units.encode("\n")))
    grammar = {"model": grammar_report(ours), f"{best_order}-gram": grammar_report(theirs)}
    print("\ngrammar of sampled text (temperature 1.0):")
    for name, g in grammar.items():
        print("  " + format_report(name, g))
    for t, text in samples.items():
        print(f"\nsample, temperature {t}:\n" + "\n".join(text.splitlines()[1:6]))
    run.write_text("samples.txt", "".join(f"# temperature {t}\n{text}\n\n" for t, text in samples.items())
                   + f"# temperature 1.0, {rows} rows (the grammar figures' sample)\n{ours}\n")

    figures = [plot_bpc(run / "bpc.png", history, units, train_ids, base)]
    if options["cell"] == "lstm" and units.size > 1:
        figures += plot_inside(run, model, units, valid_ids)
    return {"val_bpc": bpc, "baselines": {f"{n}-gram": b for n, b in base.items()}, "best_baseline": best_order,
            "beats_best_baseline": bpc < base[best_order]["bpc"], "grammar": grammar, "samples": samples,
            "history": history, "config": options, "vocabulary": units.size,
            "units_per_char": units.units_per_char(train_ids), "figures": [f for f in figures if f is not None]}


def plot_bpc(path: Path, history: list[dict[str, Any]], units: Units, train_ids: np.ndarray,
             base: dict[int, dict[str, float]]) -> Path | None:
    """bpc.png: training and validation bits per character per epoch, with the n-gram baselines as lines."""
    plt = pyplot()
    if plt is None or not history:
        return None
    per_char = units.units_per_char(train_ids)
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(epochs, [h["train_loss"] / math.log(2) * per_char for h in history], "o-", label="training")
    ax.plot(epochs, [h["val_bpc"] for h in history], "o-", label="validation")
    for i, (order, b) in enumerate(base.items()):
        if order > 1:
            ax.axhline(b["bpc"], color=f"C{i + 2}", ls="--", lw=1, label=f"{order}-gram")
    ax.set_xlabel("epoch")
    ax.set_ylabel("bits per character")
    ax.set_title("character-level language model")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_inside(run: RunFolder, model: CharLM, units: Units, ids: np.ndarray) -> list[Path | None]:
    """activations.png (two cells shaded over a passage) and gates.png (i, f, o of one cell over time)."""
    plt = pyplot()
    if plt is None:
        return []
    span = ids[: min(len(ids), 4000)]
    trace, sig = lstm_trace(model, span), signals(units, span)
    picks = []
    for name, s in sig.items():
        if s.std() > 0:
            k, r = best_cells(trace["h"], s, exclude=tuple(p[0] for p in picks))
            picks.append((k, r, name))
    if not picks:  # a held-out part too short for any signal to vary: no cell to show
        return []
    shown = span[: min(len(span), 240)]
    chars = [units.decode([int(i)]) for i in shown]
    width = min(60, max(len(line) for line in "".join(chars).split("\n")) + 1)
    fig, axes = plt.subplots(len(picks), 1, figsize=(1.5 + 0.2 * width, 2.6 * len(picks)), squeeze=False)
    for ax, (k, r, name) in zip(axes[:, 0], picks):
        _shade(ax, chars, trace["h"][: len(shown), k], plt, width)
        ax.set_title(f"cell {k}: correlation {r:+.2f} with {name} (red +, blue -)", fontsize=10)
    fig.tight_layout()
    paths = [save_figure(fig, run / "activations.png")]
    k = picks[0][0]
    n = min(len(shown), 80)
    fig, ax = plt.subplots(figsize=(12, 3.5))
    for gate, colour in (("i", "C0"), ("f", "C1"), ("o", "C2")):
        ax.plot(trace[gate][:n, k], color=colour, label={"i": "input", "f": "forget", "o": "output"}[gate])
    ax.set_xticks(range(n), [label(c) if c != "\n" else "⏎" for c in chars[:n]], fontsize=7)
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"gates of cell {k} over the first {n} characters of held-out text")
    ax.legend(loc="upper right")
    fig.tight_layout()
    paths.append(save_figure(fig, run / "gates.png"))
    return paths


def _shade(ax: Any, chars: list[str], values: np.ndarray, plt: Any, width: int = 60) -> None:
    """Draw `chars` in rows of `width`, each on a background coloured by its activation in [-1, 1]."""
    cmap = plt.get_cmap("RdBu_r")
    row = col = 0
    for ch, v in zip(chars, values):
        if ch == "\n":
            ax.add_patch(plt.Rectangle((col, -row - 1), 1, 1, color=cmap(0.5 + 0.5 * v)))
            ax.text(col + 0.5, -row - 0.5, "⏎", ha="center", va="center", fontsize=7, color="0.4")
            row, col = row + 1, 0
            continue
        ax.add_patch(plt.Rectangle((col, -row - 1), 1, 1, color=cmap(0.5 + 0.5 * v)))
        ax.text(col + 0.5, -row - 0.5, label(ch), ha="center", va="center", fontsize=8)
        col += 1
        if col == width:
            row, col = row + 1, 0
    ax.set_xlim(0, width)
    ax.set_ylim(-row - 1, 0)
    ax.axis("off")
