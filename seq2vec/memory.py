"""`python -m seq2vec.memory`: how long can RNN, LSTM and GRU remember? Vanishing and exploding gradients.

    python -m seq2vec.memory                       # T = 10, 50, 100; RNN, LSTM, GRU; 2,000 steps each
    python -m seq2vec.memory --lengths 200 --cells lstm,gru --steps 4000

1. The adding problem at each length T: test MSE after the same number of steps for every cell
   (always answering 1.0 scores 1/6: a cell has learned only if it beats that).
2. Gradient flow: ||dloss/dh_t|| for every t at initialisation and after training (the vanishing gradient).
3. Exploding gradients: a simple RNN with large recurrent weights under plain SGD, without and with
   clip_grad_norm_(1.0).
Writes into --out: one sub-folder per (cell, T) run with its checkpoints, adding.csv, gradient_flow.png,
exploding.png, metrics.json. --resume continues an interrupted command: finished runs are kept, the run that
was cut off continues exactly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

import minigrad
from demokit import cli
from demokit.checkpoints import load_checkpoint
from demokit.errors import Diverged
from demokit.runs import RunFolder
from demokit.step import train_step
from demokit.trainer import FitSettings, Trainer
from minigrad import functional as F
from minigrad import nn, optim
from seq2vec.data import adding_baseline_mse, adding_problem
from seq2vec.memory_report import adding_table, plot_exploding, plot_flow
from seq2vec.model import SequenceRegressor

KIND = "seq2vec.memory"
CELLS = ("rnn", "lstm", "gru")


@dataclass
class Config(cli.RunOptions):
    lengths: tuple[int, ...] = (10, 50, 100)
    cells: tuple[str, ...] = CELLS
    steps: int = 2000
    batch_size: int = 64
    hidden: int = 32
    lr: float = 1e-2
    clip: float = 1.0
    test_size: int = 2000
    explode_length: int = 10
    explode_gain: float = 2.0
    explode_steps: int = 400
    explode_lr: float = 0.05
    skip: tuple[str, ...] = ()
    out: str = "runs/memory"


def comma_list(item: Callable[[str], object], allowed: Sequence[str] = (), least: int = 1) -> Callable[[str], tuple]:
    """An argparse type for 'a,b,c': each item converted by `item` and checked."""
    def parse(text: str) -> tuple:
        try:
            items = tuple(item(x.strip()) for x in text.split(",") if x.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}") from None
        bad = [x for x in items if (allowed and x not in allowed) or (isinstance(x, int) and x < least)]
        if not items or bad:
            rule = f"items from {', '.join(allowed)}" if allowed else f"integers >= {least}"
            raise argparse.ArgumentTypeError(f"expected {rule}, got {text!r}")
        return items

    return parse


def build_parser() -> argparse.ArgumentParser:
    d = Config()
    p = cli.parser("python -m seq2vec.memory",
                   "Measure long-term memory of RNN, LSTM and GRU on the adding problem; plot vanishing "
                   "gradients and show exploding gradients with and without clipping.")
    p.add_argument("--lengths", type=comma_list(int, least=2), default=d.lengths,
                   help="comma-separated sequence lengths T (each >= 2)")
    p.add_argument("--cells", type=comma_list(str, CELLS), default=d.cells, help="comma-separated cells to compare")
    p.add_argument("--steps", type=cli.positive_int, default=d.steps,
                   help="training steps per (cell, T): the same budget for all")
    p.add_argument("--batch-size", type=cli.positive_int, default=d.batch_size, help="sequences per step")
    p.add_argument("--hidden", type=cli.positive_int, default=d.hidden, help="recurrent units")
    p.add_argument("--lr", type=cli.positive_float, default=d.lr, help="Adam learning rate for the adding problem")
    p.add_argument("--clip", type=cli.nonnegative_float, default=d.clip,
                   help="global-norm clipping in the adding runs (0: off)")
    p.add_argument("--test-size", type=cli.positive_int, default=d.test_size, help="test sequences per T")
    p.add_argument("--explode-length", type=cli.int_range(2, 100_000), default=d.explode_length,
                   help="T of the exploding-gradient experiment")
    p.add_argument("--explode-gain", type=cli.positive_float, default=d.explode_gain,
                   help="scale of the recurrent weights in the exploding experiment (orthogonal * gain)")
    p.add_argument("--explode-steps", type=cli.positive_int, default=d.explode_steps,
                   help="SGD steps in the exploding experiment")
    p.add_argument("--explode-lr", type=cli.positive_float, default=d.explode_lr,
                   help="SGD learning rate in the exploding experiment")
    p.add_argument("--skip", type=comma_list(str, ("adding", "flow", "explode")), default=d.skip,
                   help="comma-separated parts to skip: adding, flow, explode")
    cli.add_run_options(p, out=d.out)
    return p


class AddingBatches(Sequence):
    """Fresh adding-problem data every step; batch i depends on (seed, T, i) only, so --resume repeats it."""

    def __init__(self, steps: int, batch_size: int, T: int, seed: int) -> None:
        self.steps, self.batch_size, self.T, self.seed = steps, batch_size, T, seed

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return adding_problem(self.batch_size, self.T, np.random.default_rng([self.seed, self.T, i]))


def train_adding(cell: str, T: int, cfg: Config, run: RunFolder) -> tuple[SequenceRegressor, dict]:
    """Train one cell at one length for cfg.steps steps in its own sub-folder of `run`; its model and numbers."""
    folder = run / f"adding_{cell}_T{T}"
    sub = RunFolder(folder, resume=cfg.resume and (folder / "last.npz").is_file()).open()
    minigrad.manual_seed(cfg.seed)
    model = SequenceRegressor(cell, 2, cfg.hidden)
    X_test, y_test = adding_problem(cfg.test_size, T, np.random.default_rng(10_000 + T))
    settings = FitSettings(1, cfg.clip, monitor="test_mse", progress=cfg.progress, name=f"adding T={T} {cell}")
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=cfg.lr), sub, settings, kind=KIND,
                      config={"cell": cell, "T": T, "hidden": cfg.hidden})
    if sub.resume:
        trainer.restore(load_checkpoint(sub / "last.npz", KIND, {"model": dict, "progress": dict}), sub / "last.npz")
    trainer.fit(
        batches=lambda epoch: AddingBatches(cfg.steps, cfg.batch_size, T, cfg.seed),
        loss=lambda batch: F.mse_loss(model(minigrad.tensor(batch[0])), batch[1]),
        validate=lambda: {"test_mse": model.mse(X_test, y_test)},
    )
    h = trainer.progress.history[-1]
    return model, {"cell": cell, "T": T, "test_mse": h["test_mse"],
                   "final_train_mse": float(np.mean(trainer.progress.step_losses[-50:])), "clip_rate": h["clip_rate"]}


def gradient_norms(model: SequenceRegressor, T: int, seed: int, n: int = 256) -> np.ndarray:
    """||dloss/dh_t|| for t = 0..T-1 of the last recurrent layer on one batch of the adding problem."""
    X, y = adding_problem(n, T, np.random.default_rng(seed))
    model.zero_grad()
    F.mse_loss(model(minigrad.tensor(X)), y).backward()
    norms = model.last_recurrent.hidden_grad_norms()
    model.zero_grad()
    return np.asarray(norms, dtype=np.float64)


def exploding_run(clip: float, cfg: Config) -> dict:
    """Simple RNN, recurrent kernel = gain * orthogonal, plain SGD; the gradient norm at every step.

    Plain SGD on purpose: Adam divides each update by a running gradient scale, which hides the explosion;
    SGD shows it as Pascanu et al. (2013) describe. The step is demokit's train_step, which stops at the
    first non-finite loss or gradient norm (Diverged) -- here that is the expected outcome without clipping.
    """
    minigrad.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = SequenceRegressor("rnn", 2, cfg.hidden)
    nn.init.orthogonal_(model.last_recurrent.weight_hh, gain=cfg.explode_gain)
    opt = optim.SGD(model.parameters(), lr=cfg.explode_lr)
    norms, losses, diverged = [], [], None
    for step in range(cfg.explode_steps):
        X, y = adding_problem(cfg.batch_size, cfg.explode_length, rng)
        try:
            r = train_step(lambda X=X, y=y: F.mse_loss(model(minigrad.tensor(X)), y), opt, clip, f"step {step + 1}")
        except Diverged as e:
            diverged = str(e)
            break
        norms.append(r.grad_norm)
        losses.append(r.loss)
    return {"clip": clip, "grad_norms": norms, "losses": losses, "diverged": diverged,
            "max_grad_norm": float(max(norms)) if norms else None,
            "final_loss": float(np.mean(losses[-20:])) if losses else None}


def main(argv: Sequence[str] | None = None) -> int:
    cfg = cli.to_config(build_parser().parse_args(argv), Config)
    minigrad.set_num_threads(cfg.threads)
    run = RunFolder(cfg.out, cfg.resume, cfg.restart).open()  # before any work: nothing is lost later
    results: dict = {"config": asdict(cfg)}
    written = []
    trained: dict[str, SequenceRegressor] = {}
    if "adding" not in cfg.skip:
        rows = []
        for T in cfg.lengths:
            for cell in cfg.cells:
                model, row = train_adding(cell, T, cfg, run)
                rows.append(row)
                if T == max(cfg.lengths):
                    trained[cell] = model
        results["adding"] = rows
        print(f"\nadding problem: test MSE after {cfg.steps} steps of batch {cfg.batch_size} "
              f"(always answering 1.0 scores {adding_baseline_mse():.3f}; lower is better)")
        table, csv_text = adding_table(rows, cfg.lengths, cfg.cells)
        print(table)
        written.append(run.write_text("adding.csv", csv_text))

    if "flow" not in cfg.skip:
        T = max(cfg.lengths)
        flow = {}
        for cell in cfg.cells:
            minigrad.manual_seed(cfg.seed)
            flow[cell] = {"init": gradient_norms(SequenceRegressor(cell, 2, cfg.hidden), T, cfg.seed + 1).tolist()}
            if cell in trained:
                flow[cell]["trained"] = gradient_norms(trained[cell], T, cfg.seed + 1).tolist()
        results["gradient_flow"] = {"T": T, **flow}
        print(f"\ngradient flow at T={T}: ||dloss/dh_t|| at t=0 relative to t=T-1 (smaller = more vanishing)")
        for cell, f in flow.items():
            parts = [f"{k} {v[0] / v[-1]:.2e}" if v[0] > 0 else f"{k} 0 (below float32's range)" for k, v in f.items()]
            print(f"  {cell.upper():<5} " + ", ".join(parts))
        written.append(plot_flow(run / "gradient_flow.png", flow, T))

    if "explode" not in cfg.skip:
        runs = [exploding_run(0.0, cfg), exploding_run(1.0, cfg)]
        results["exploding"] = runs
        print(f"\nexploding gradients: simple RNN, recurrent weights = {cfg.explode_gain} x orthogonal, "
              f"SGD lr {cfg.explode_lr}, T={cfg.explode_length}")
        for r in runs:
            name = "clip_grad_norm_(1.0)" if r["clip"] else "no clipping"
            status = f"DIVERGED: {r['diverged']}" if r["diverged"] else f"trained, final MSE {r['final_loss']:.4f}"
            print(f"  {name:<22} max gradient norm {r['max_grad_norm'] or float('nan'):.3g}; {status}")
        written.append(plot_exploding(run / "exploding.png", runs, adding_baseline_mse()))

    written.append(run.write_json("metrics.json", results))
    print("\nwritten: " + ", ".join(str(w) for w in written if w is not None))
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_command(main))
