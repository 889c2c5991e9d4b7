"""Long-term memory: the adding problem, the vanishing gradient, and exploding gradients, measured.

    python -m seq2vec.memory                       # RNN, LSTM, GRU at T = 10, 50, 100 (about 2 minutes)
    python -m seq2vec.memory --lengths 100,200 --steps 2000

1. The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015): a sequence of T (value, marker)
   pairs; the answer is the sum of the two marked values. Each cell trains with the same budget of
   steps at each T; the table gives the test MSE (always answering 1.0 scores 1/6 = 0.167).
2. Gradient flow: ||dloss/dh_t|| for every t, at initialisation and after training. For the simple
   RNN it shrinks geometrically as t moves away from the end (the vanishing gradient): the first
   marker's influence never reaches the weights. LSTM's additive cell state keeps it alive.
3. Exploding gradients: a simple RNN with a large recurrent initialisation, trained with plain SGD
   with and without clip_grad_norm_. Without clipping the gradient norm explodes and training
   diverges (caught and reported); the clipped run keeps every update bounded and trains.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import minigrad
from minigrad import functional as F
from minigrad import nn, optim
from minigrad.checkpoint import save
from seq2vec.data import adding_baseline_mse, adding_problem
from seq2vec.model import SequenceRegressor
from seq2vec.plotting import pyplot
from seq2vec.training import NonFiniteLoss, mse, run_folder, train_step, write_json


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m seq2vec.memory",
        description="Measure long-term memory of RNN, LSTM and GRU on the adding problem; plot vanishing "
        "gradients and show exploding gradients with and without clipping.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--lengths", default="10,50,100", help="comma-separated sequence lengths T")
    p.add_argument("--cells", default="rnn,lstm,gru", help="comma-separated cells to compare")
    p.add_argument("--steps", type=int, default=2000, help="training steps per (cell, T): the same budget for all")
    p.add_argument("--batch-size", type=int, default=64, help="sequences per step")
    p.add_argument("--hidden", type=int, default=32, help="recurrent units")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate for the adding problem")
    p.add_argument("--clip", type=float, default=1.0, help="global-norm clipping in the adding runs (0: off)")
    p.add_argument("--test-size", type=int, default=2000, help="test sequences per T")
    p.add_argument("--explode-length", type=int, default=10, help="T of the exploding-gradient experiment")
    p.add_argument("--explode-gain", type=float, default=2.0,
                   help="scale of the recurrent weights in the exploding experiment (orthogonal * gain)")
    p.add_argument("--explode-steps", type=int, default=400, help="SGD steps in the exploding experiment")
    p.add_argument("--explode-lr", type=float, default=0.05, help="SGD learning rate in the exploding experiment")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: adding, flow, explode")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed repeats a run bit for bit")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS threads for NumPy; small recurrent models run fastest with 1")
    p.add_argument("--out", type=Path, default=Path("runs/memory"), help="folder for CSV/JSON/PNG outputs")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def parse_list(text: str, kind: type, name: str) -> list:
    try:
        items = [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--{name}: expected a comma-separated list, got {text!r}") from None
    if not items:
        raise ValueError(f"--{name} is empty")
    return items


# ---- 1. the adding problem ----------------------------------------------------------------------------


def train_adding(cell: str, T: int, args: argparse.Namespace, seed: int) -> tuple[SequenceRegressor, dict]:
    """Train one cell at one length with the shared budget; return the model and its numbers."""
    minigrad.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = SequenceRegressor(cell, 2, args.hidden)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    Xte, yte = adding_problem(args.test_size, T, np.random.default_rng(10_000 + T))
    losses, norms, fired = [], [], 0
    bar = tqdm(range(args.steps), desc=f"adding T={T:<4} {cell:<4}", disable=args.quiet, leave=False)
    for step in bar:
        X, y = adding_problem(args.batch_size, T, rng)  # fresh data every step: no overfitting possible
        r = train_step(model, opt, X, y, args.clip, step)
        losses.append(r.loss)
        norms.append(r.grad_norm)
        fired += r.clipped
        if step % 20 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}", gnorm=f"{r.grad_norm:.2f}")
    return model, {"cell": cell, "T": T, "test_mse": mse(model, Xte, yte),
                   "final_train_mse": float(np.mean(losses[-50:])), "clip_rate": fired / args.steps}


# ---- 2. gradient flow ---------------------------------------------------------------------------------


def gradient_norms(model: SequenceRegressor, T: int, seed: int, n: int = 256) -> np.ndarray:
    """||dloss/dh_t|| for t = 0..T-1 of the last recurrent layer on one batch of the adding problem."""
    X, y = adding_problem(n, T, np.random.default_rng(seed))
    model.zero_grad()
    F.mse_loss(model(minigrad.tensor(X)), y).backward()
    norms = model.last_recurrent.hidden_grad_norms()
    model.zero_grad()
    return np.asarray(norms, dtype=np.float64)


# ---- 3. exploding gradients ---------------------------------------------------------------------------


def exploding_run(clip: float, args: argparse.Namespace) -> dict:
    """Simple RNN, recurrent kernel = gain * orthogonal, plain SGD; the gradient norm at every step.

    Plain SGD on purpose: Adam divides each update by a running gradient scale, which hides the
    explosion; SGD shows it as Pascanu et al. (2013) describe.
    """
    minigrad.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = SequenceRegressor("rnn", 2, args.hidden)
    layer = model.last_recurrent
    nn.init.orthogonal_(layer.weight_hh, gain=args.explode_gain)
    opt = optim.SGD(model.parameters(), lr=args.explode_lr)
    norms, losses, diverged = [], [], None
    label = f"clip {clip:g}" if clip > 0 else "no clipping"
    for step in tqdm(range(args.explode_steps), desc=f"exploding, {label}", disable=args.quiet, leave=False):
        X, y = adding_problem(args.batch_size, args.explode_length, rng)
        try:
            r = train_step(model, opt, X, y, clip, step)
        except NonFiniteLoss as e:
            diverged = str(e)
            break
        norms.append(r.grad_norm)
        losses.append(r.loss)
    return {"clip": clip, "grad_norms": norms, "losses": losses, "diverged": diverged,
            "max_grad_norm": float(max(norms)) if norms else float("nan"),
            "final_loss": float(np.mean(losses[-20:])) if losses else float("nan")}


# ---- the command --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        lengths = parse_list(args.lengths, int, "lengths")
        cells = parse_list(args.cells, str, "cells")
        skip = set(parse_list(args.skip, str, "skip")) if args.skip else set()
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    bad = [c for c in cells if c not in ("rnn", "lstm", "gru")] + [str(t) for t in lengths if t < 2]
    if bad or args.steps < 1 or skip - {"adding", "flow", "explode"}:
        print(f"error: check --cells (rnn, lstm, gru), --lengths (>= 2), --steps, --skip: {bad or sorted(skip)}",
              file=sys.stderr)
        return 2
    if args.threads < 1:
        print("error: --threads must be at least 1", file=sys.stderr)
        return 2
    minigrad.set_num_threads(args.threads)
    out = run_folder(args.out)
    t0 = time.perf_counter()
    results: dict = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    written: list[Path] = []
    plt = pyplot()

    trained: dict[str, SequenceRegressor] = {}
    if "adding" not in skip:
        rows = []
        for T in lengths:
            for cell in cells:
                model, row = train_adding(cell, T, args, args.seed)
                rows.append(row)
                if T == max(lengths):
                    trained[cell] = model
                    save({"kind": "seq2vec.memory", "config": model.config, "model": dict(model.state_dict())},
                         out / f"adding_{cell}_T{T}.npz")
                tqdm.write(f"  adding T={T:<4} {cell:<5} test MSE {row['test_mse']:.4f}")
        results["adding"] = rows
        print(f"\nadding problem: test MSE after {args.steps} steps of batch {args.batch_size} "
              f"(always answering 1.0 scores {adding_baseline_mse():.3f}; lower is better)")
        print("T".rjust(6) + "".join(c.upper().rjust(10) for c in cells))
        for T in lengths:
            line = str(T).rjust(6)
            for cell in cells:
                line += f"{next(r['test_mse'] for r in rows if r['T'] == T and r['cell'] == cell):10.4f}"
            print(line)
        with open(out / "adding.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        written.append(out / "adding.csv")

    if "flow" not in skip:
        T = max(lengths)
        flow = {}
        for cell in cells:
            minigrad.manual_seed(args.seed)
            fresh = SequenceRegressor(cell, 2, args.hidden)
            flow[cell] = {"init": gradient_norms(fresh, T, args.seed + 1).tolist()}
            if cell in trained:
                flow[cell]["trained"] = gradient_norms(trained[cell], T, args.seed + 1).tolist()
        results["gradient_flow"] = {"T": T, **flow}
        print(f"\ngradient flow at T={T}: ||dloss/dh_t|| at t=0 relative to t=T-1 (smaller = more vanishing)")
        for cell, f in flow.items():
            parts = [f"{k} {v[0] / v[-1]:.2e}" if v[0] > 0 else f"{k} 0 (below float32's range)" for k, v in f.items()]
            print(f"  {cell.upper():<5} " + ", ".join(parts))
        if plt is not None:
            fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
            for ax, when in zip(axes, ("init", "trained")):
                for cell, f in flow.items():
                    if when in f:
                        ax.semilogy(np.arange(T), f[when], label=cell.upper())
                ax.set_title(f"||dloss/dh_t|| {'at initialisation' if when == 'init' else 'after training'}")
                ax.set_xlabel("time step t (the loss is at t = T-1)")
                ax.legend()
            fig.tight_layout()
            fig.savefig(out / "gradient_flow.png", dpi=110)
            plt.close(fig)
            written.append(out / "gradient_flow.png")

    if "explode" not in skip:
        runs = [exploding_run(0.0, args), exploding_run(1.0, args)]
        results["exploding"] = [{k: v for k, v in r.items()} for r in runs]
        print(f"\nexploding gradients: simple RNN, recurrent weights = {args.explode_gain} x orthogonal, "
              f"SGD lr {args.explode_lr}, T={args.explode_length}")
        for r in runs:
            name = "clip_grad_norm_(1.0)" if r["clip"] else "no clipping"
            status = f"DIVERGED: {r['diverged']}" if r["diverged"] else f"trained, final MSE {r['final_loss']:.4f}"
            print(f"  {name:<22} max gradient norm {r['max_grad_norm']:.3g}; {status}")
        if plt is not None:
            fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
            for r in runs:
                name = "clip_grad_norm_(1.0)" if r["clip"] else "no clipping"
                ax1.semilogy(r["grad_norms"], label=name)
                ax2.plot(r["losses"], label=name)
                if r["diverged"]:
                    ax2.axvline(len(r["losses"]), color="C3", ls=":", label="diverged (NaN/inf)")
            ax1.set_title("gradient norm before clipping, per step")
            ax2.set_title("training loss (MSE)")
            ax2.axhline(adding_baseline_mse(), color="0.5", ls="--", label="constant predictor")
            ax2.set_ylim(0, 1.0)
            for ax in (ax1, ax2):
                ax.set_xlabel("step")
                ax.legend()
            fig.tight_layout()
            fig.savefig(out / "exploding.png", dpi=110)
            plt.close(fig)
            written.append(out / "exploding.png")

    results["wall_seconds"] = round(time.perf_counter() - t0, 1)
    written.append(write_json(out / "metrics.json", results))
    print(f"\ndone in {results['wall_seconds']} s; written: " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
