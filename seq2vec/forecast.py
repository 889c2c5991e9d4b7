"""Many-to-one forecasting: the last N values of a series in, the next value out.

    python -m seq2vec.forecast                          # the airline passengers series, LSTM
    python -m seq2vec.forecast --series synthetic --cell gru
    python -m seq2vec.forecast --csv prices.csv --column Close --window 30
    python -m seq2vec.forecast --predict 12             # forecast 12 steps past the end (saved model)

The series is split by time (train, then valid, then test), scaled with statistics of the train part
only, and cut into windows whose targets all lie inside their split: nothing from the future leaks
into training. The model is stacked RNN/LSTM/GRU layers and a Dense head, trained with Adam on MSE
with gradient clipping. The report puts its test RMSE/MAE next to two naive baselines (the last value;
a moving average): a network that cannot beat "tomorrow = today" has learned nothing.
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
from minigrad import optim
from minigrad.checkpoint import CheckpointError, load, save
from seq2vec.data import (
    Scaler,
    builtin_series,
    load_series,
    mae,
    moving_average,
    naive_last,
    prepare_forecast,
    rmse,
)
from seq2vec.model import SequenceRegressor
from seq2vec.plotting import pyplot
from seq2vec.training import NonFiniteLoss, minibatches, mse, predict, run_folder, train_step, write_json

MODEL_KIND = "seq2vec.forecast"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m seq2vec.forecast",
        description="Forecast the next value of a series from a window of past values with an RNN/LSTM/GRU.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    d = p.add_argument_group("data")
    d.add_argument("--series", choices=["airline", "synthetic"], default="airline",
                   help="built-in series: monthly airline passengers 1949-1960, or a seeded synthetic daily price")
    d.add_argument("--csv", type=Path, help="your own CSV file with a header row (overrides --series)")
    d.add_argument("--column", default="Close", help="the CSV column to forecast")
    d.add_argument("--window", type=int, default=20, help="how many past values the model sees")
    d.add_argument("--log", action=argparse.BooleanOptionalAction, default=None,
                   help="model log(values) (for growing, multiplicative series; default: on for positive series)")
    d.add_argument("--target", choices=["delta", "level"], default="delta",
                   help="delta: the model sees the window's step-to-step changes and predicts the next change "
                   "(works for trending series); level: it sees the values and predicts the next value")
    m = p.add_argument_group("model")
    m.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="lstm", help="recurrent cell")
    m.add_argument("--hidden", type=int, default=32, help="units per recurrent layer")
    m.add_argument("--layers", type=int, default=1, help="stacked recurrent layers")
    m.add_argument("--dropout", type=float, default=0.0, help="dropout between stacked layers")
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=300, help="maximum passes over the training windows")
    t.add_argument("--batch-size", type=int, default=16, help="windows per step")
    t.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    t.add_argument("--clip", type=float, default=1.0, help="clip the global gradient norm to this (0: off)")
    t.add_argument("--patience", type=int, default=60, help="stop after this many epochs without a better valid loss")
    t.add_argument("--seed", type=int, default=0, help="random seed: the same seed repeats a run bit for bit")
    t.add_argument("--threads", type=int, default=1,
                   help="BLAS threads for NumPy; small recurrent models run fastest with 1")
    t.add_argument("--resume", action="store_true", help="continue the run saved in --out (last.npz)")
    o = p.add_argument_group("output")
    o.add_argument("--out", type=Path, default=Path("runs/forecast"), help="folder for checkpoints, CSV, plot")
    o.add_argument("--predict", type=int, metavar="K", default=0,
                   help="load --checkpoint and forecast K steps past the end of the series (no training)")
    o.add_argument("--checkpoint", type=Path, help="checkpoint for --predict (default: OUT/best.npz)")
    o.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def read_series(args: argparse.Namespace) -> tuple[np.ndarray, str]:
    if args.csv is not None:
        return load_series(args.csv, args.column), f"{args.csv} [{args.column}]"
    return builtin_series(args.series)


def to_model_units(values: np.ndarray, use_log: bool) -> np.ndarray:
    return np.log(values) if use_log else values


def from_model_units(values: np.ndarray, use_log: bool) -> np.ndarray:
    return np.exp(values) if use_log else values


def inputs_for(X: np.ndarray, target: str) -> np.ndarray:
    """What the network sees: the window (level) or its step-to-step changes (delta).

    Changes are stationary where levels trend: a series that grows past its training range (the airline
    passengers do) still gives inputs of the kind the network was trained on.
    """
    return X[:, 1:] - X[:, :-1] if target == "delta" else X


def targets_for(X: np.ndarray, y: np.ndarray, target: str) -> np.ndarray:
    """What the network is trained to output: the next value, or its change from the window's last value."""
    return y - X[:, -1, :] if target == "delta" else y


def forecast_from(model: SequenceRegressor, X: np.ndarray, target: str) -> np.ndarray:
    out = predict(model, inputs_for(X, target))
    return out + X[:, -1, :] if target == "delta" else out


def checkpoint_state(model, opt, epoch, best, config, scaler, history, rng) -> dict:  # noqa: ANN001
    return {
        "kind": MODEL_KIND,
        "config": config,
        "model": dict(model.state_dict()),
        "optimizer": opt.state_dict(),
        "epoch": epoch,
        "best_valid": best,
        "scaler": scaler.to_dict(),
        "history": history,
        "rng": {"minigrad": minigrad.get_rng_state(), "data": rng.bit_generator.state},
    }


def load_checkpoint(path: Path) -> dict:
    state = load(path)
    if state.get("kind") != MODEL_KIND:
        raise CheckpointError(f"{path}: not a seq2vec.forecast checkpoint (kind: {state.get('kind')!r})")
    return state


def model_from(state: dict) -> SequenceRegressor:
    c = state["config"]
    model = SequenceRegressor(c["cell"], 1, c["hidden"], c["layers"], 1, c["dropout"])
    model.load_state_dict(state["model"])
    return model


def train(args: argparse.Namespace) -> dict:
    values, description = read_series(args)
    use_log = bool(np.all(values > 0)) if args.log is None else args.log
    if use_log and np.any(values <= 0):
        raise ValueError("--log needs a series of positive values; this one has zeros or negatives")
    config = dict(cell=args.cell, hidden=args.hidden, layers=args.layers, dropout=args.dropout,
                  window=args.window, target=args.target, log=use_log, series=description)
    data = prepare_forecast(to_model_units(values, use_log), args.window)
    (Xtr, ytr), (Xva, yva), (Xte, _) = data.train, data.valid, data.test
    ttr, tva = targets_for(Xtr, ytr, args.target), targets_for(Xva, yva, args.target)
    Itr, Iva = inputs_for(Xtr, args.target), inputs_for(Xva, args.target)

    out = run_folder(args.out)
    minigrad.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = SequenceRegressor(args.cell, 1, args.hidden, args.layers, 1, args.dropout)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    start, best, history = 0, float("inf"), {"train": [], "valid": [], "grad_norm": [], "clip_rate": []}
    best_state = {k: v.copy() for k, v in model.state_dict().items()}
    if args.resume:
        state = load_checkpoint(out / "last.npz")
        if state["config"] != config:
            raise CheckpointError(f"{out / 'last.npz'}: saved for another configuration: {state['config']}")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, best, history = state["epoch"], state["best_valid"], state["history"]
        minigrad.set_rng_state(state["rng"]["minigrad"])
        rng.bit_generator.state = state["rng"]["data"]
        best_state = load_checkpoint(out / "best.npz")["model"]
        print(f"resuming {out / 'last.npz'} at epoch {start}")

    print(f"series: {description}, {len(values)} values; windows train/valid/test = "
          f"{len(Xtr)}/{len(Xva)}/{len(Xte)} (window {args.window}); log={use_log}, target={args.target}")
    t0 = time.perf_counter()
    bar = tqdm(range(start, args.epochs), desc=f"{args.cell} forecast", disable=args.quiet, initial=start,
               total=args.epochs)
    since_best = 0
    for epoch in bar:
        losses, norms, fired = [], [], 0
        for idx in minibatches(len(Xtr), args.batch_size, rng):
            r = train_step(model, opt, Itr[idx], ttr[idx], args.clip, len(history["train"]))
            losses.append(r.loss)
            norms.append(r.grad_norm)
            fired += r.clipped
        valid = mse(model, Iva, tva)
        history["train"].append(float(np.mean(losses)))
        history["valid"].append(valid)
        history["grad_norm"].append(float(np.mean(norms)))
        history["clip_rate"].append(fired / len(norms))
        bar.set_postfix(loss=f"{history['train'][-1]:.4f}", valid=f"{valid:.4f}", gnorm=f"{norms[-1]:.2f}")
        if valid < best:
            best, since_best = valid, 0
            best_state = {k: v.copy() for k, v in model.state_dict().items()}
            save(checkpoint_state(model, opt, epoch + 1, best, config, data.scaler, history, rng), out / "best.npz")
        else:
            since_best += 1
        save(checkpoint_state(model, opt, epoch + 1, best, config, data.scaler, history, rng), out / "last.npz")
        if since_best >= args.patience:
            bar.write(f"early stop at epoch {epoch + 1}: no better valid loss for {args.patience} epochs")
            break
    bar.close()
    wall = time.perf_counter() - t0
    model.load_state_dict(best_state)
    return report(args, model, data, use_log, history, wall, config, out)


def report(args, model, data, use_log, history, wall, config, out) -> dict:  # noqa: ANN001
    """Test metrics in the series' own units next to the baselines; CSV, plot and metrics.json."""
    Xte, _ = data.test
    truth = from_model_units(data.unscaled_targets("test"), use_log)  # data.values is in model units
    series = from_model_units(data.values, use_log)

    def unscale(z: np.ndarray) -> np.ndarray:
        return from_model_units(data.scaler.inverse_transform(z), use_log)

    rows = {
        f"{args.cell.upper()} (ours)": unscale(forecast_from(model, Xte, args.target)),
        "naive: last value": unscale(naive_last(Xte)),
        "moving average (3)": unscale(moving_average(Xte, min(3, args.window))),
    }
    metrics = {name: {"rmse": rmse(p, truth), "mae": mae(p, truth)} for name, p in rows.items()}
    print(f"\ntest set: {len(truth)} targets (the last part of the series, never seen in training)")
    print(f"{'model':<22}{'RMSE':>12}{'MAE':>12}")
    for name, m in metrics.items():
        print(f"{name:<22}{m['rmse']:>12.3f}{m['mae']:>12.3f}")
    times = data.times("test")
    pred = rows[f"{args.cell.upper()} (ours)"][:, 0]
    csv_path = out / "predictions.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t", "truth", "prediction", "naive_last"])
        for t, y, p, n in zip(times, truth[:, 0], pred, rows["naive: last value"][:, 0]):
            w.writerow([int(t), f"{y:.6g}", f"{p:.6g}", f"{n:.6g}"])
    written = [csv_path]
    plt = pyplot()
    if plt is not None:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
        ax1.plot(np.arange(len(series)), series, color="0.6", label="series")
        ax1.plot(times, pred, color="C3", label=f"{args.cell.upper()} forecast (test)")
        ax1.axvline(data.bounds[0], ls=":", color="k")
        ax1.axvline(data.bounds[1], ls="--", color="k")
        ax1.set_title("prediction vs truth (dotted: valid starts, dashed: test starts)")
        ax1.set_xlabel("time step")
        ax1.legend()
        ax2.plot(history["train"], label="train MSE")
        ax2.plot(history["valid"], label="valid MSE")
        ax2.set_yscale("log")
        ax2.set_xlabel("epoch")
        ax2.legend()
        fig.tight_layout()
        fig.savefig(out / "forecast.png", dpi=110)
        plt.close(fig)
        written.append(out / "forecast.png")
    result = {"config": config, "test": metrics, "epochs": len(history["train"]), "wall_seconds": round(wall, 2),
              "clip_rate": float(np.mean(history["clip_rate"])) if history["clip_rate"] else 0.0}
    written.append(write_json(out / "metrics.json", result))
    written.append(out / "best.npz")
    print(f"\ntrained {len(history['train'])} epochs in {wall:.1f} s; clipping fired on "
          f"{100 * result['clip_rate']:.1f}% of steps")
    print("written: " + ", ".join(str(p) for p in written))
    return result


def predict_ahead(args: argparse.Namespace) -> np.ndarray:
    """Forecast K steps past the end by feeding each forecast back in as the newest value."""
    path = args.checkpoint or args.out / "best.npz"
    state = load_checkpoint(path)
    model, c = model_from(state), state["config"]
    scaler = Scaler.from_dict(state["scaler"])
    values, description = read_series(args)
    if len(values) < c["window"]:
        raise ValueError(f"the series has {len(values)} values; the model needs a window of {c['window']}")
    history = list(scaler.transform(to_model_units(values, c["log"])))
    for _ in range(args.predict):
        x = np.asarray(history[-c["window"]:], dtype=np.float32)[None, :, None]
        history.append(float(forecast_from(model, x, c["target"])[0, 0]))
    future = from_model_units(scaler.inverse_transform(np.asarray(history[len(values):])), c["log"])
    print(f"{args.predict}-step forecast after the last of {len(values)} values of {description}:")
    for k, v in enumerate(future, 1):
        print(f"  t+{k}: {v:.4f}")
    return future


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("window", "hidden", "layers", "epochs", "batch_size"):
        if getattr(args, name) < 1:
            print(f"error: --{name.replace('_', '-')} must be at least 1", file=sys.stderr)
            return 2
    if args.threads < 1:
        print("error: --threads must be at least 1", file=sys.stderr)
        return 2
    minigrad.set_num_threads(args.threads)
    if args.target == "delta" and args.window < 2:
        print("error: --target delta needs --window of at least 2 (it feeds the window's changes)", file=sys.stderr)
        return 2
    try:
        if args.predict:
            predict_ahead(args)
        else:
            train(args)
    except (ValueError, FileNotFoundError, CheckpointError, NonFiniteLoss) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted: the last finished epoch is saved in {args.out / 'last.npz'} (use --resume)")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
