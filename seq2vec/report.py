"""What the forecast command reports: test errors beside the baselines, predictions.csv, forecast.png."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np

from demokit.plotting import log_scale, pyplot, save_figure
from demokit.runs import RunFolder
from seq2vec.data import ForecastData, mae, moving_average, naive_last, rmse
from seq2vec.model import SequenceRegressor


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
    out = model.predict(inputs_for(X, target))
    return out + X[:, -1, :] if target == "delta" else out


def report(
    run: RunFolder, model: SequenceRegressor, data: ForecastData, options: dict[str, Any], use_log: bool,
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    """Print the test table, write predictions.csv and forecast.png; returns the figures for metrics.json."""
    cell, target = options["cell"].upper(), options["target"]
    Xte, _ = data.test
    truth = from_model_units(data.unscaled_targets("test"), use_log)

    def unscale(z: np.ndarray) -> np.ndarray:
        return from_model_units(data.scaler.inverse_transform(z), use_log)

    rows = {
        f"{cell} (ours)": unscale(forecast_from(model, Xte, target)),
        "naive: last value": unscale(naive_last(Xte)),
        "moving average (3)": unscale(moving_average(Xte, min(3, options["window"]))),
    }
    test = {name: {"rmse": rmse(p, truth), "mae": mae(p, truth)} for name, p in rows.items()}
    print(f"\ntest set: {len(truth)} targets (the last part of the series, never seen in training)")
    print(f"{'model':<22}{'RMSE':>12}{'MAE':>12}")
    for name, m in test.items():
        print(f"{name:<22}{m['rmse']:>12.3f}{m['mae']:>12.3f}")

    times, pred = data.times("test"), rows[f"{cell} (ours)"][:, 0]
    table = io.StringIO()
    w = csv.writer(table, lineterminator="\n")
    w.writerow(["t", "truth", "prediction", "naive_last"])
    for t, y, p, n in zip(times, truth[:, 0], pred, rows["naive: last value"][:, 0]):
        w.writerow([int(t), f"{y:.6g}", f"{p:.6g}", f"{n:.6g}"])
    written = [run.write_text("predictions.csv", table.getvalue())]

    plt = pyplot()
    if plt is not None:
        series = from_model_units(data.values, use_log)
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
        ax1.plot(np.arange(len(series)), series, color="0.6", label="series")
        ax1.plot(times, pred, color="C3", label=f"{cell} forecast (test)")
        ax1.axvline(data.bounds[0], ls=":", color="k")
        ax1.axvline(data.bounds[1], ls="--", color="k")
        ax1.set_title("prediction vs truth (dotted: valid starts, dashed: test starts)")
        ax1.set_xlabel("time step")
        ax1.legend()
        ax2.plot([h["train_loss"] for h in history], label="train MSE")
        ax2.plot([h["val_loss"] for h in history], label="valid MSE")
        log_scale(ax2)
        ax2.set_xlabel("epoch")
        ax2.legend()
        fig.tight_layout()
        written.append(save_figure(fig, run / "forecast.png"))
    return {"test": test, "written": written}
