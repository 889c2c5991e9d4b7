"""Data for the many-to-one (seq2vec) demos: series, CSV loading, windows, splits, scaling, baselines,
and the adding problem.

Forecasting recipe, with no look-ahead (nothing from a later time reaches an earlier decision):

    values, about = builtin_series("airline")                  # or load_series("my.csv", "Close")
    data = prepare_forecast(values, window=12)                 # split by time, fit scaler on train, window
    X_train, y_train = data.train                              # X: (N, window, 1), y: (N, 1), scaled units
    ...train a model...
    X_test, _ = data.test
    pred = data.scaler.inverse_transform(model(X_test))        # back to passengers / dollars
    print(rmse(pred, data.unscaled_targets("test")))

1. The series is split by time first: train = the oldest part, then valid, then test.
2. The scaler is fitted on the train part only, then applied to the whole series.
3. A window's target y[i] = values[i + window + horizon - 1] belongs to the split that contains that time.
   Its inputs values[i : i + window] all come before the target; a valid/test window may start in the
   tail of the previous split, which is allowed: those values are in the past at prediction time.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from demokit.errors import UserError

SERIES_DIR = Path(__file__).resolve().parents[1] / "data" / "series"

# name -> (file in SERIES_DIR, column, description)
BUILTIN_SERIES: dict[str, tuple[str, str, str]] = {
    "airline": (
        "airline_passengers.csv",
        "Passengers",
        "Box & Jenkins monthly international airline passengers (thousands), 1949-01..1960-12, 144 months",
    ),
    "synthetic": (
        "synthetic_prices.csv",
        "Close",
        "synthetic daily closing price (random walk with drift + weekly/yearly seasonality), "
        "1,500 business days from 2018-01-01, seed 0",
    ),
}

# A plain decimal number: digits, optional fraction, optional exponent. Stricter than float(), which would
# also take 'nan', 'inf', '1_000' and hide a bad cell; thousands separators like '1,234' are rejected too.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


# ----------------------------------------------------------------------------------------------- loading
def _parse_number(cell: str, where: str, column: str) -> float:
    """One CSV cell as a finite float, or a ValueError that names the place and the cell."""
    text = cell.strip()
    if text == "":
        raise UserError(f"{where}: column '{column}' is empty")
    if not _NUMBER.fullmatch(text):
        hint = " (thousands separators are not accepted; write 1234.5)" if "," in text else ""
        raise UserError(f"{where}: column '{column}' is not a number: {cell!r}{hint}")
    value = float(text)
    if not math.isfinite(value):  # e.g. '1e999'
        raise UserError(f"{where}: column '{column}' is not a finite number: {cell!r}")
    return value


def load_series(path: str | Path, column: str, min_rows: int = 2) -> np.ndarray:
    """Read one numeric column of a CSV file with a header row, in file order.

    Returns float64 of shape (T,). Blank lines at the end are ignored. Every problem is a one-line
    UserError (a ValueError) naming the file and line: missing column (lists the columns there are), empty cell,
    non-number, a row with the wrong number of cells, a blank line inside the data, fewer than
    min_rows rows, or an empty file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    values: list[float] = []
    blank_line = 0  # line number of the first blank line seen after the header, 0 = none yet
    # utf-8-sig drops the byte-order mark that spreadsheet programs put before the first header name.
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)  # skip blank lines before the header
        if header is None:
            raise UserError(f"{path}: file is empty (expected a header row such as 'Date,{column}')")
        names = [name.strip() for name in header]
        if names.count(column) == 0:
            hint = " (the file looks semicolon-separated: save it with commas)" if ";" in ",".join(names) else ""
            raise UserError(f"{path}: no column '{column}'; available columns: {', '.join(names)}{hint}")
        if names.count(column) > 1:
            raise UserError(f"{path}: column '{column}' appears {names.count(column)} times in the header")
        index = names.index(column)
        for row in reader:
            # reader.line_num counts physical lines, so it stays right after quoted multi-line cells.
            where = f"{path} line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                blank_line = blank_line or reader.line_num
                continue
            if blank_line:
                raise UserError(f"{path} line {blank_line}: blank line inside the data")
            if len(row) != len(names):
                hint = " (an unquoted comma, e.g. a thousands separator?)" if len(row) > len(names) else ""
                raise UserError(f"{where}: {len(row)} cells but the header has {len(names)}{hint}")
            values.append(_parse_number(row[index], where, column))
    if len(values) < min_rows:
        raise UserError(f"{path}: {len(values)} data rows in column '{column}'; need at least {min_rows}")
    return np.asarray(values, dtype=np.float64)


def builtin_series(name: str) -> tuple[np.ndarray, str]:
    """A series shipped in data/series, 'airline' or 'synthetic': (values (T,) float64, description)."""
    if name not in BUILTIN_SERIES:
        raise UserError(f"unknown series '{name}'; known: {', '.join(BUILTIN_SERIES)}")
    filename, column, description = BUILTIN_SERIES[name]
    return load_series(SERIES_DIR / filename, column), description


# ------------------------------------------------------------------------------------------------ splits
def _check_window(window: int, horizon: int) -> None:
    """window >= 1 and horizon >= 1, both integers."""
    for label, value in (("window", window), ("horizon", horizon)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise UserError(f"{label} must be a positive integer, got {value!r}")


def split_bounds(n: int, train: float = 0.7, valid: float = 0.15) -> tuple[int, int]:
    """Where valid and test start in a series of length n: (n_train, n_train + n_valid).

    n_train = floor(train * n), n_valid = floor(valid * n), test gets the rest, so the parts are
    values[:n_train], values[n_train:n_train + n_valid], values[n_train + n_valid:].
    """
    if not (0.0 < train < 1.0 and 0.0 < valid < 1.0 and train + valid < 1.0):
        raise UserError(f"need 0 < train, 0 < valid and train + valid < 1; got train={train}, valid={valid}")
    n_train = int(math.floor(train * n))
    n_valid = int(math.floor(valid * n))
    return n_train, n_train + n_valid


def chronological_split(
    values: np.ndarray, window: int, train: float = 0.7, valid: float = 0.15, horizon: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut a series by time into (train, valid, test): three contiguous views, oldest first.

    Each part must hold at least window + horizon values, enough for one window of its own;
    split_windows needs less for valid/test because their windows may start in the previous part.
    """
    values = _as_series(values)
    _check_window(window, horizon)
    a, b = split_bounds(len(values), train, valid)
    parts = (values[:a], values[a:b], values[b:])
    for label, part in zip(("train", "valid", "test"), parts):
        if len(part) < window + horizon:
            raise UserError(
                f"{label} split has {len(part)} values but window {window} + horizon {horizon} needs "
                f"{window + horizon} (series of {len(values)}, train={train}, valid={valid})"
            )
    return parts


# ------------------------------------------------------------------------------------------------ scaler
class Scaler:
    """Affine scaling z = (x - shift) / scale, fitted on the training part of a series only.

    method 'standard': shift = mean, scale = std (population) -> train has mean 0, std 1.
    method 'minmax':   shift = min,  scale = max - min        -> train lies in [0, 1]; later values can
                       leave [0, 1] when the series trends, which is expected, not a bug.
    method 'none':     shift = 0,    scale = 1.
    """

    METHODS = ("standard", "minmax", "none")

    def __init__(self, method: str = "standard") -> None:
        if method not in self.METHODS:
            raise UserError(f"unknown scaling method '{method}'; known: {', '.join(self.METHODS)}")
        self.method = method
        self.shift: float | None = None
        self.scale: float | None = None

    def fit(self, values: np.ndarray) -> Scaler:
        """Compute shift and scale from values (the TRAIN part); returns self."""
        values = _as_series(values)
        if self.method == "standard":
            shift, scale = float(values.mean()), float(values.std())
        elif self.method == "minmax":
            shift, scale = float(values.min()), float(values.max() - values.min())
        else:
            shift, scale = 0.0, 1.0
        if scale == 0.0:
            raise UserError(f"cannot scale with method '{self.method}': the training values are all {shift}")
        self.shift, self.scale = shift, scale
        return self

    def _fitted(self) -> tuple[float, float]:
        """(shift, scale), or an error if fit has not been called."""
        if self.shift is None or self.scale is None:
            raise UserError("Scaler is not fitted; call fit(train_values) first")
        return self.shift, self.scale

    def transform(self, x: np.ndarray) -> np.ndarray:
        """z = (x - shift) / scale, any shape, float64."""
        shift, scale = self._fitted()
        return (np.asarray(x, dtype=np.float64) - shift) / scale

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """x = z * scale + shift, any shape, float64 (e.g. model predictions back to original units)."""
        shift, scale = self._fitted()
        return np.asarray(z, dtype=np.float64) * scale + shift

    def to_dict(self) -> dict[str, str | float]:
        """JSON-friendly state for checkpoints: {'method', 'shift', 'scale'}."""
        shift, scale = self._fitted()
        return {"method": self.method, "shift": shift, "scale": scale}

    @classmethod
    def from_dict(cls, state: dict[str, str | float]) -> Scaler:
        """Rebuild a fitted Scaler from to_dict() output."""
        missing = {"method", "shift", "scale"} - set(state)
        if missing:
            raise UserError(f"scaler state is missing {', '.join(sorted(missing))}")
        scaler = cls(str(state["method"]))
        scaler.shift, scaler.scale = float(state["shift"]), float(state["scale"])
        if not (math.isfinite(scaler.shift) and math.isfinite(scaler.scale) and scaler.scale != 0.0):
            raise UserError(f"scaler state has a bad shift/scale: {state['shift']!r}, {state['scale']!r}")
        return scaler

    def __repr__(self) -> str:
        return f"Scaler(method={self.method!r}, shift={self.shift}, scale={self.scale})"


# ----------------------------------------------------------------------------------------------- windows
def _as_series(values: np.ndarray) -> np.ndarray:
    """values as a finite float64 array of shape (T,), or a ValueError."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise UserError(f"expected a 1-D series of shape (T,), got shape {arr.shape}")
    if len(arr) == 0:
        raise UserError("the series is empty")
    if not np.all(np.isfinite(arr)):
        raise UserError(f"the series has a NaN or inf at index {int(np.flatnonzero(~np.isfinite(arr))[0])}")
    return arr


def make_windows(values: np.ndarray, window: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Slide a window over a series: every (past window, future value) pair.

    X[i] = values[i : i + window]            X: (N, window, 1) float32
    y[i] = values[i + window + horizon - 1]  y: (N, 1) float32,   N = T - window - horizon + 1
    horizon = 1 predicts the value right after the window.
    """
    values = _as_series(values)
    _check_window(window, horizon)
    n = len(values) - window - horizon + 1
    if n < 1:
        raise UserError(
            f"series of {len(values)} values is too short for window {window} and horizon {horizon} "
            f"(needs at least {window + horizon})"
        )
    X = np.lib.stride_tricks.sliding_window_view(values, window)[:n]  # (N, window), a view: copied below
    y = values[window + horizon - 1 :]  # (N,)
    return X.astype(np.float32)[:, :, None], y.astype(np.float32)[:, None]


def target_times(n: int, window: int, horizon: int = 1) -> np.ndarray:
    """Time index of each target of make_windows on a series of length n: t[i] = i + window + horizon - 1."""
    return np.arange(window + horizon - 1, n)


def _window_split_bounds(n: int, window: int, horizon: int, train: float, valid: float) -> tuple[int, int]:
    """split_bounds, checked for split_windows: train fits one whole window, valid and test are non-empty."""
    _check_window(window, horizon)
    a, b = split_bounds(n, train, valid)
    if a < window + horizon:
        raise UserError(
            f"train split has {a} values but window {window} + horizon {horizon} needs {window + horizon} "
            f"(series of {n}, train={train})"
        )
    if b == a or b == n:
        raise UserError(
            f"series of {n} is too short: valid has {b - a} and test {n - b} values "
            f"(train={train}, valid={valid})"
        )
    return a, b


def split_windows(
    values: np.ndarray, window: int, train: float = 0.7, valid: float = 0.15, horizon: int = 1
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Windows of the whole series, grouped by the split their TARGET falls in: ((X, y) train, valid, test).

    With a = n_train, b = n_train + n_valid (split_bounds):
      train targets have times in [window + horizon - 1, a)  -- inputs and targets all inside train
      valid targets have times in [a, b)                     -- every valid value is a target once
      test  targets have times in [b, T)                     -- every test value is a target once
    Inputs always precede their target (X[i] ends horizon steps before y[i]); a valid/test window may
    start inside the previous split, which uses only the past and so is not look-ahead.
    Scale values with a Scaler fitted on values[:a] BEFORE calling this (prepare_forecast does both).
    """
    values = _as_series(values)
    a, b = _window_split_bounds(len(values), window, horizon, train, valid)
    X, y = make_windows(values, window, horizon)
    t = target_times(len(values), window, horizon)
    in_train, in_valid, in_test = (t < a), (t >= a) & (t < b), (t >= b)
    return (X[in_train], y[in_train]), (X[in_valid], y[in_valid]), (X[in_test], y[in_test])


@dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous
class ForecastData:
    """A series cut into train/valid/test windows, scaled with statistics of the train part only.

    train, valid, test: (X (N, window, 1), y (N, 1)) float32 in scaled units.
    bounds: (a, b) -- valid starts at time a, test at time b (split_bounds).
    """

    values: np.ndarray  # the original series (T,), float64, unscaled
    window: int
    horizon: int
    bounds: tuple[int, int]
    scaler: Scaler
    train: tuple[np.ndarray, np.ndarray]
    valid: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]

    def times(self, split: str) -> np.ndarray:
        """Time index of each target of split 'train', 'valid' or 'test' (for plotting against the series)."""
        t = target_times(len(self.values), self.window, self.horizon)
        a, b = self.bounds
        masks = {"train": t < a, "valid": (t >= a) & (t < b), "test": t >= b}
        if split not in masks:
            raise UserError(f"unknown split '{split}'; known: train, valid, test")
        return t[masks[split]]

    def unscaled_targets(self, split: str) -> np.ndarray:
        """The targets of a split in original units, shape (N, 1) float64 (exact, not float32-rounded)."""
        return self.values[self.times(split)][:, None]


def prepare_forecast(
    values: np.ndarray,
    window: int,
    train: float = 0.7,
    valid: float = 0.15,
    horizon: int = 1,
    scaling: str = "standard",
) -> ForecastData:
    """Split by time, fit a Scaler(scaling) on the train part ONLY, scale the whole series, then window."""
    values = _as_series(values)
    a, b = _window_split_bounds(len(values), window, horizon, train, valid)
    scaler = Scaler(scaling).fit(values[:a])
    parts = split_windows(scaler.transform(values), window, train, valid, horizon)
    return ForecastData(values, int(window), int(horizon), (a, b), scaler, *parts)


# --------------------------------------------------------------------------------------------- baselines
def _window_values(X: np.ndarray) -> np.ndarray:
    """Windows as (N, window): accepts X of shape (N, window, 1) or (N, window)."""
    X = np.asarray(X)
    if X.ndim == 3 and X.shape[2] == 1:
        return X[:, :, 0]
    if X.ndim == 2:
        return X
    raise UserError(f"expected windows of shape (N, window, 1) or (N, window), got {X.shape}")


def naive_last(X: np.ndarray) -> np.ndarray:
    """Persistence forecast: predict the last value of each window. X: (N, window, 1) -> (N, 1)."""
    W = _window_values(X)
    return W[:, -1:].astype(np.float64)


def moving_average(X: np.ndarray, k: int) -> np.ndarray:
    """Predict the mean of the last k values of each window. X: (N, window, 1) -> (N, 1)."""
    W = _window_values(X)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= W.shape[1]:
        raise UserError(f"k must be an integer in 1..window={W.shape[1]}, got {k!r}")
    return W[:, -k:].astype(np.float64).mean(axis=1, keepdims=True)


def seasonal_naive(X: np.ndarray, season: int, horizon: int = 1) -> np.ndarray:
    """Predict the value one season before the target: y_hat[t] = x[t - season]. X: (N, window, 1) -> (N, 1).

    The target sits horizon steps after the window's last value, so x[t - season] is the window's
    value at position window - 1 + horizon - season; it must lie inside the window.
    """
    W = _window_values(X)
    _check_window(season, horizon)
    pos = W.shape[1] - 1 + horizon - season
    if not 0 <= pos < W.shape[1]:
        raise UserError(
            f"season {season} with horizon {horizon} needs a window of at least {season - horizon + 1} "
            f"and season >= horizon; window is {W.shape[1]}"
        )
    return W[:, pos : pos + 1].astype(np.float64)


def _check_pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Same shapes only: (N, 1) against (N,) would broadcast to (N, N) and give a meaningless number."""
    pred, target = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise UserError(f"prediction shape {pred.shape} differs from target shape {target.shape}")
    if pred.size == 0:
        raise UserError("no predictions to score")
    return pred, target


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared error sqrt(mean((pred - target)^2)); shapes must match."""
    pred, target = _check_pair(pred, target)
    return float(np.sqrt(np.mean((pred - target) ** 2)))


def mae(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute error mean(|pred - target|); shapes must match."""
    pred, target = _check_pair(pred, target)
    return float(np.mean(np.abs(pred - target)))


# ------------------------------------------------------------------------------------ the adding problem
def adding_problem(
    n: int, T: int, rng: np.random.Generator | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997; the variant of Le et al. 2015).

    X: (n, T, 2) float32. Channel 0: values u_t ~ U[0, 1). Channel 1: markers, exactly two 1s per row,
    one at a time uniform in [0, T//2) and one uniform in [T//2, T); zeros elsewhere.
    y: (n, 1) float32 = the sum of the two marked values.
    The first marker sits on average ~T/2 steps before the end, so solving it needs long memory.
    Always answering 1.0 scores MSE 1/6 (adding_baseline_mse); a model has learned only if it beats that.
    """
    for label, value, least in (("n", n, 1), ("T", T, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise UserError(f"{label} must be an integer >= {least}, got {value!r}")
    rng = np.random.default_rng(rng)
    X = np.zeros((n, T, 2), dtype=np.float32)
    X[:, :, 0] = rng.random((n, T), dtype=np.float32)
    rows = np.arange(n)
    first = rng.integers(0, T // 2, size=n)
    second = rng.integers(T // 2, T, size=n)
    X[rows, first, 1] = 1.0
    X[rows, second, 1] = 1.0
    y = (X[rows, first, 0] + X[rows, second, 0])[:, None]
    return X, y


def adding_baseline_mse() -> float:
    """MSE of always predicting 1.0 on the adding problem: 1/6.

    y = u1 + u2 with u1, u2 ~ U[0, 1) independent, so E[y] = 1 and
    E[(y - 1)^2] = Var(y) = Var(u1) + Var(u2) = 1/12 + 1/12 = 1/6 ~ 0.167.
    """
    return 1.0 / 6.0
