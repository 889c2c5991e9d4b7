"""`python -m seq2vec.forecast`: forecast the next value of a series from a window of past values.

    python -m seq2vec.forecast                          # airline passengers, LSTM, up to 300 epochs
    python -m seq2vec.forecast --csv prices.csv --column Close --cell gru
    python -m seq2vec.forecast --resume                 # continue runs/forecast exactly
    python -m seq2vec.forecast --predict 12             # 12 steps past the end, from runs/forecast/best.npz

Writes into --out: best.npz (lowest validation MSE), last.npz, predictions.csv, forecast.png, metrics.json.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import minigrad
from demokit import cli
from demokit.errors import UserError
from demokit.runs import RunFolder
from demokit.trainer import FitSettings, Trainer, shuffled_batches
from minigrad import functional as F
from minigrad import optim
from seq2vec import checkpoint
from seq2vec.data import builtin_series, load_series, prepare_forecast
from seq2vec.report import from_model_units, inputs_for, report, targets_for, to_model_units

RUN_CONTROL = {"epochs", "patience", "max_minutes", "progress", "threads"}  # may change on --resume


@dataclass
class Config(cli.RunOptions):
    series: str = "airline"
    csv: str | None = None
    column: str = "Close"
    window: int = 20
    log: bool | None = None
    target: str = "delta"
    cell: str = "lstm"
    hidden: int = 32
    layers: int = 1
    dropout: float = 0.0
    epochs: int = 300
    batch_size: int = 16
    lr: float = 3e-3
    clip: float = 1.0
    patience: int = 60
    out: str = "runs/forecast"
    predict: int = 0
    checkpoint: str | None = None


def build_parser() -> argparse.ArgumentParser:
    d = Config()
    p = cli.parser("python -m seq2vec.forecast",
                   "Forecast the next value of a series from a window of past values with an RNN/LSTM/GRU.")
    g = p.add_argument_group("data")
    g.add_argument("--series", choices=["airline", "synthetic"], default=d.series,
                   help="built-in series: monthly airline passengers 1949-1960, or a seeded synthetic daily price")
    g.add_argument("--csv", help="your own CSV file with a header row (overrides --series)")
    g.add_argument("--column", default=d.column, help="the CSV column to forecast")
    g.add_argument("--window", type=cli.int_range(2, 10_000), default=d.window,
                   help="how many past values the model sees")
    g.add_argument("--log", action=argparse.BooleanOptionalAction, default=None,
                   help="model log(values) (for growing, multiplicative series; default: on for positive series)")
    g.add_argument("--target", choices=["delta", "level"], default=d.target,
                   help="delta: the model sees the window's step-to-step changes and predicts the next change "
                   "(works for trending series); level: it sees the values and predicts the next value")
    g = p.add_argument_group("model")
    g.add_argument("--cell", choices=["rnn", "lstm", "gru"], default=d.cell, help="recurrent cell")
    g.add_argument("--hidden", type=cli.positive_int, default=d.hidden, help="units per recurrent layer")
    g.add_argument("--layers", type=cli.positive_int, default=d.layers, help="stacked recurrent layers")
    g.add_argument("--dropout", type=cli.dropout_float, default=d.dropout, help="dropout between stacked layers")
    g = cli.add_run_options(p, out=d.out, epochs=d.epochs)
    g.add_argument("--batch-size", type=cli.positive_int, default=d.batch_size, help="windows per step")
    g.add_argument("--lr", type=cli.positive_float, default=d.lr, help="Adam learning rate")
    g.add_argument("--clip", type=cli.nonnegative_float, default=d.clip,
                   help="clip the global gradient norm to this (0: off)")
    g.add_argument("--patience", type=cli.nonnegative_int, default=d.patience,
                   help="early stopping: stop after this many epochs without a lower validation MSE (0: off)")
    g = p.add_argument_group("forecast with a trained model")
    g.add_argument("--predict", type=cli.positive_int, metavar="K", default=d.predict,
                   help="load --checkpoint and forecast K steps past the end of the series (no training)")
    g.add_argument("--checkpoint", help="checkpoint for --predict (default: OUT/best.npz)")
    return p


def read_series(cfg: Config) -> tuple[np.ndarray, str]:
    if cfg.csv is not None:
        return load_series(cfg.csv, cfg.column), f"{cfg.csv} [{cfg.column}]"
    return builtin_series(cfg.series)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    cfg = cli.to_config(parser.parse_args(argv), Config)
    minigrad.set_num_threads(cfg.threads)
    if cfg.predict:
        return predict_ahead(cfg)
    run = RunFolder(cfg.out, cfg.resume, cfg.restart).open()  # before any work: nothing is lost later
    state = checkpoint.read(run / "last.npz") if cfg.resume else None
    if state is not None:
        saved = state["config"]["options"]
        cfg = Config(**cli.resumed(asdict(cfg), saved, cli.given_options(parser, argv), RUN_CONTROL))
    values, about = read_series(cfg)
    use_log = bool(np.all(values > 0)) if cfg.log is None else cfg.log
    if use_log and np.any(values <= 0):
        raise UserError("--log needs a series of positive values; this one has zeros or negatives")
    if cfg.target == "delta" and cfg.window < 2:
        raise UserError("--target delta needs --window of at least 2 (it feeds the window's changes)")
    data = prepare_forecast(to_model_units(values, use_log), cfg.window)
    (Xtr, ytr), (Xva, yva) = data.train, data.valid
    inputs, targets = inputs_for(Xtr, cfg.target), targets_for(Xtr, ytr, cfg.target)
    val_inputs, val_targets = inputs_for(Xva, cfg.target), targets_for(Xva, yva, cfg.target)
    print(f"series: {about}, {len(values)} values; windows train/valid/test = {len(Xtr)}/{len(Xva)}/"
          f"{len(data.test[0])} (window {cfg.window}); log={use_log}, target={cfg.target}")

    minigrad.manual_seed(cfg.seed)
    options = {k: v for k, v in asdict(cfg).items() if k not in {"out", "resume", "restart", "predict", "checkpoint"}}
    model = checkpoint.build_model(options)
    opt = optim.Adam(model.parameters(), lr=cfg.lr)
    settings = FitSettings(cfg.epochs, cfg.clip, cfg.patience, max_minutes=cfg.max_minutes, progress=cfg.progress)
    trainer = Trainer(model, opt, run, settings, kind=checkpoint.KIND,
                      config={"options": options, "log": use_log, "series": about},
                      extra={"scaler": data.scaler.to_dict()})
    if state is not None:
        trainer.restore(state, run / "last.npz")
        print(f"resuming {run / 'last.npz'} at epoch {trainer.progress.epoch + 1}")

    stopped = trainer.fit(
        batches=lambda epoch: shuffled_batches(len(inputs), cfg.batch_size, cfg.seed, epoch),
        loss=lambda idx: F.mse_loss(model(minigrad.tensor(inputs[idx])), targets[idx]),
        validate=lambda: {"val_loss": model.mse(val_inputs, val_targets)},
        size=len,
    )
    print(f"training stopped: {stopped}")
    best, _, _ = checkpoint.load_model(run / "best.npz")  # the lowest validation MSE of THIS run
    p = trainer.progress
    result = report(run, best, data, options, use_log, p.history)
    clip_rate = float(np.mean([h["clip_rate"] for h in p.history])) if p.history else 0.0
    metrics = {"config": options, "series": about, "log": use_log, "test": result["test"], "epochs": p.epoch,
               "stopped": stopped, "clip_rate": clip_rate, "best_val_loss": p.best, "history": p.history,
               "timing": trainer.timing}
    written = [*result["written"], run.write_json("metrics.json", metrics), run / "best.npz", run / "last.npz"]
    print(f"\ntrained {p.epoch} epochs; clipping fired on {100 * clip_rate:.1f}% of steps")
    print("written: " + ", ".join(str(w) for w in written))
    return 0


def predict_ahead(cfg: Config) -> int:
    """Forecast K steps past the end by feeding each forecast back in as the newest value."""
    path = Path(cfg.checkpoint) if cfg.checkpoint else Path(cfg.out) / "best.npz"
    model, scaler, c = checkpoint.load_model(path)
    values, about = read_series(cfg)
    window, target = c["options"]["window"], c["options"]["target"]
    if len(values) < window:
        raise UserError(f"the series has {len(values)} values; the model needs a window of {window}")
    history = list(scaler.transform(to_model_units(values, c["log"])))
    for _ in range(cfg.predict):
        x = np.asarray(history[-window:], dtype=np.float64)[None, :, None]
        step = model.predict(inputs_for(x, target).astype(np.float32))[0, 0]
        history.append(float(step + x[0, -1, 0] if target == "delta" else step))
    future = from_model_units(scaler.inverse_transform(np.asarray(history[len(values):])), c["log"])
    print(f"{cfg.predict}-step forecast after the last of {len(values)} values of {about}:")
    for k, v in enumerate(future, 1):
        print(f"  t+{k}: {v:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_command(main))
