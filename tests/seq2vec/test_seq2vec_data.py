"""Tests for seq2vec.data: CSV loading, shipped series, windows without look-ahead, scaling, baselines,
the adding problem, and the synthetic price generator."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seq2vec.data import (
    BUILTIN_SERIES,
    SERIES_DIR,
    Scaler,
    adding_baseline_mse,
    adding_problem,
    builtin_series,
    chronological_split,
    load_series,
    mae,
    make_windows,
    moving_average,
    naive_last,
    prepare_forecast,
    rmse,
    seasonal_naive,
    split_bounds,
    split_windows,
)

GENERATOR = SERIES_DIR / "make_synthetic_prices.py"
OHLCV = "Date,Open,High,Low,Close,Volume\n"


def write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_generator():
    """Import data/series/make_synthetic_prices.py (a script, not a package) as a module."""
    spec = importlib.util.spec_from_file_location("make_synthetic_prices", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------- CSV loader
def test_load_ohlcv_file_parses_every_column(tmp_path):
    path = write(
        tmp_path,
        OHLCV
        + "2020-01-02,10.5,11,10,10.75,1200\n"
        + '2020-01-03,"10.75",11.5,10.5,11.25,900\n'
        + "2020-01-06,11.25,12,11,-1.5e1,+3\n\n\n",  # trailing blank lines are fine
    )
    np.testing.assert_array_equal(load_series(path, "Close"), [10.75, 11.25, -15.0])
    np.testing.assert_array_equal(load_series(path, "Open"), [10.5, 10.75, 11.25])
    volume = load_series(path, "Volume")
    assert volume.dtype == np.float64 and volume.shape == (3,)
    np.testing.assert_array_equal(volume, [1200, 900, 3])


def test_load_handles_byte_order_mark_and_spaces_in_header(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffDate, Close \n2020-01-01, 1.5 \n2020-01-02,2\n".encode())
    np.testing.assert_array_equal(load_series(path, "Close"), [1.5, 2.0])


def test_missing_column_lists_available_columns(tmp_path):
    path = write(tmp_path, OHLCV + "2020-01-02,1,2,0.5,1.5,10\n2020-01-03,1,2,0.5,1.5,10\n")
    with pytest.raises(ValueError) as err:
        load_series(path, "Price")
    message = str(err.value)
    assert "no column 'Price'" in message
    assert "available columns: Date, Open, High, Low, Close, Volume" in message
    assert "prices.csv" in message and "\n" not in message


def test_empty_cell_names_the_line(tmp_path):
    rows = ["2020-01-02,1,2,0.5,1.5,10", "2020-01-03,1,2,0.5,1.6,10", "2020-01-06,1,2,0.5, ,10"]
    path = write(tmp_path, OHLCV + "\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"prices\.csv line 4: column 'Close' is empty$"):
        load_series(path, "Close")
    # Another column of the same row is fine: only the requested column is checked.
    assert len(load_series(path, "Open")) == 3


def test_non_number_names_line_and_value(tmp_path):
    path = write(tmp_path, OHLCV + "2020-01-02,1,2,0.5,1.5,10\n2020-01-03,1,2,0.5,abc,10\n")
    with pytest.raises(ValueError, match=r"prices\.csv line 3: column 'Close' is not a number: 'abc'$"):
        load_series(path, "Close")


@pytest.mark.parametrize("cell", ["nan", "inf", "-Infinity", "1_000", "0x10", "12$", "1e999"])
def test_float_lookalikes_are_rejected(tmp_path, cell):
    path = write(tmp_path, f"t,x\n1,5\n2,{cell}\n")
    with pytest.raises(ValueError, match=r"line 3: column 'x' is not a (finite )?number"):
        load_series(path, "x")


def test_thousands_separator_is_rejected_quoted_or_not(tmp_path):
    quoted = write(tmp_path, 't,x\n1,5\n2,"1,234.5"\n', "quoted.csv")
    with pytest.raises(ValueError, match=r"quoted\.csv line 3: .*'1,234\.5' \(thousands separators"):
        load_series(quoted, "x")
    unquoted = write(tmp_path, "t,x\n1,5\n2,1,234.5\n", "unquoted.csv")
    with pytest.raises(ValueError, match=r"unquoted\.csv line 3: 3 cells but the header has 2"):
        load_series(unquoted, "x")


def test_short_row_is_an_error(tmp_path):
    path = write(tmp_path, "t,x,z\n1,5,0\n2,6\n")
    with pytest.raises(ValueError, match=r"line 3: 2 cells but the header has 3"):
        load_series(path, "x")


def test_line_numbers_count_physical_lines_of_quoted_multiline_cells(tmp_path):
    path = write(tmp_path, 'note,x\n"two\nlines",1\nok,2\nok,bad\n')
    with pytest.raises(ValueError, match=r"line 5: column 'x' is not a number: 'bad'"):
        load_series(path, "x")


def test_blank_line_inside_the_data_is_an_error(tmp_path):
    path = write(tmp_path, "t,x\n1,5\n\n2,6\n")
    with pytest.raises(ValueError, match=r"line 3: blank line inside the data"):
        load_series(path, "x")


@pytest.mark.parametrize("text", ["", "\n\n", "   \n"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=r"prices\.csv: file is empty"):
        load_series(path, "Close")


def test_too_few_rows(tmp_path):
    header_only = write(tmp_path, OHLCV, "header.csv")
    with pytest.raises(ValueError, match=r"header\.csv: 0 data rows in column 'Close'; need at least 2"):
        load_series(header_only, "Close")
    three = write(tmp_path, "t,x\n1,1\n2,2\n3,3\n", "three.csv")
    assert len(load_series(three, "x", min_rows=3)) == 3
    with pytest.raises(ValueError, match=r"3 data rows .* need at least 4"):
        load_series(three, "x", min_rows=4)


def test_duplicate_column_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"column 'x' appears 2 times"):
        load_series(write(tmp_path, "x,x\n1,2\n3,4\n"), "x")
    with pytest.raises(FileNotFoundError, match=r"nope\.csv: no such file"):
        load_series(tmp_path / "nope.csv", "x")


# ------------------------------------------------------------------------------------- shipped series
def test_airline_series_is_the_box_jenkins_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the path must not depend on the working directory
    values, description = builtin_series("airline")
    assert values.shape == (144,) and values.dtype == np.float64
    assert values.sum() == 40363 and values.min() == 104 and values.max() == 622
    np.testing.assert_array_equal(values[:12], [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118])
    assert values[-1] == 432
    assert values.argmax() == 138  # July 1960
    assert "airline" in description.lower()


def test_airline_months_are_consecutive():
    with open(SERIES_DIR / "airline_passengers.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Month", "Passengers"]
    expected = [f"{year}-{month:02d}" for year in range(1949, 1961) for month in range(1, 13)]
    assert [row[0] for row in rows[1:]] == expected


def test_synthetic_builtin_and_unknown_name():
    values, description = builtin_series("synthetic")
    assert values.shape == (1500,) and np.all(values > 0)
    assert "synthetic" in description
    with pytest.raises(ValueError, match=r"unknown series 'sunspots'; known: airline, synthetic"):
        builtin_series("sunspots")
    assert set(BUILTIN_SERIES) == {"airline", "synthetic"}


# ---------------------------------------------------------------------------------- synthetic generator
def test_generator_is_deterministic_and_seed_dependent():
    gen = load_generator()
    a, b = gen.generate_prices(300, seed=5), gen.generate_prices(300, seed=5)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    c = gen.generate_prices(300, seed=6)
    assert not np.array_equal(a["Close"], c["Close"])


def test_generator_rows_are_consistent():
    cols = load_generator().generate_prices(1500, seed=0)
    assert np.all(cols["High"] >= np.maximum(cols["Open"], cols["Close"]))
    assert np.all(cols["Low"] <= np.minimum(cols["Open"], cols["Close"]))
    assert np.all(cols["Low"] > 0)
    assert cols["Volume"].dtype == np.int64 and np.all(cols["Volume"] > 0)
    dates = cols["Date"]
    assert str(dates[0]) == "2018-01-01" and len(dates) == 1500
    assert np.all(np.diff(dates).astype(int) >= 1)
    assert np.all(np.is_busday(dates))  # Mon-Fri only


def test_shipped_synthetic_csv_is_the_seed_0_output(tmp_path):
    gen = load_generator()
    out = tmp_path / "regen.csv"
    gen.write_csv(gen.generate_prices(1500, seed=0, start="2018-01-01"), out)
    assert out.read_bytes() == (SERIES_DIR / "synthetic_prices.csv").read_bytes()


def test_shipped_synthetic_csv_rows_are_consistent():
    with open(SERIES_DIR / "synthetic_prices.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1500 and list(rows[0]) == ["Date", "Open", "High", "Low", "Close", "Volume"]
    for row in rows:
        o, h, lo, c = (float(row[k]) for k in ("Open", "High", "Low", "Close"))
        assert h >= max(o, c) and lo <= min(o, c)
        assert int(row["Volume"]) > 0


def test_generator_command_line(tmp_path):
    help_run = subprocess.run([sys.executable, str(GENERATOR), "--help"], capture_output=True, text=True)
    assert help_run.returncode == 0 and "--seed" in help_run.stdout and "--out" in help_run.stdout
    outs = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for out in outs:
        cmd = [sys.executable, str(GENERATOR), "--seed", "3", "--days", "25", "--out", str(out)]
        subprocess.run(cmd, check=True, capture_output=True)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert load_series(outs[0], "Close").shape == (25,)


# ------------------------------------------------------------------------------------------- windowing
@pytest.mark.parametrize("window,horizon", [(1, 1), (4, 1), (4, 3)])
def test_make_windows_follows_its_formula(window, horizon):
    values = np.arange(20, dtype=np.float64) * 1.5 + 2.0
    X, y = make_windows(values, window, horizon)
    n = 20 - window - horizon + 1
    assert X.shape == (n, window, 1) and y.shape == (n, 1)
    assert X.dtype == np.float32 and y.dtype == np.float32
    for i in range(n):
        np.testing.assert_array_equal(X[i, :, 0], values[i : i + window])
        assert y[i, 0] == values[i + window + horizon - 1]


def test_make_windows_errors():
    with pytest.raises(ValueError, match=r"series of 5 values is too short for window 4 and horizon 2"):
        make_windows(np.arange(5.0), 4, 2)
    with pytest.raises(ValueError, match=r"window must be a positive integer"):
        make_windows(np.arange(5.0), 0)
    with pytest.raises(ValueError, match=r"1-D series"):
        make_windows(np.zeros((5, 2)), 2)
    with pytest.raises(ValueError, match=r"NaN or inf at index 2"):
        make_windows(np.array([1.0, 2.0, np.nan, 4.0]), 2)


@settings(max_examples=60, deadline=None)
@given(
    T=st.integers(20, 200),
    window=st.integers(1, 8),
    horizon=st.integers(1, 3),
    train=st.floats(0.4, 0.8),
    valid=st.floats(0.05, 0.15),
)
def test_split_windows_have_no_look_ahead(T, window, horizon, train, valid):
    # With values = time index, every number in a window *is* the time it was observed.
    values = np.arange(T, dtype=np.float64)
    a, b = split_bounds(T, train, valid)
    if a < window + horizon or b == a or b == T:
        with pytest.raises(ValueError):
            split_windows(values, window, train, valid, horizon)
        return
    parts = split_windows(values, window, train, valid, horizon)
    ranges = {"train": (window + horizon - 1, a), "valid": (a, b), "test": (b, T)}
    for (X, y), (lo, hi) in zip(parts, ranges.values()):
        targets = y[:, 0].astype(np.int64)
        assert np.all(X[:, :, 0].max(axis=1) < targets)  # every input precedes its target
        np.testing.assert_array_equal(targets - X[:, -1, 0], horizon)
        np.testing.assert_array_equal(targets, np.arange(lo, hi))  # inside the split, each time once


def test_prepare_forecast_fits_scaler_on_train_only():
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.standard_normal(200)) + 50.0
    data = prepare_forecast(values, window=10)
    a, b = data.bounds
    assert (a, b) == (140, 170)
    assert data.scaler.shift == pytest.approx(values[:a].mean(), rel=1e-12)
    assert data.scaler.scale == pytest.approx(values[:a].std(), rel=1e-12)

    changed = values.copy()
    changed[a] = changed[-1] = 1e6  # the first valid value and the last test value
    other = prepare_forecast(changed, window=10)
    assert other.scaler.to_dict() == data.scaler.to_dict()
    for part in ("train",):
        np.testing.assert_array_equal(getattr(other, part)[0], getattr(data, part)[0])
        np.testing.assert_array_equal(getattr(other, part)[1], getattr(data, part)[1])

    changed_train = values.copy()
    changed_train[0] += 10.0  # a train value must move the statistics: the check above can fail
    assert prepare_forecast(changed_train, window=10).scaler.shift != data.scaler.shift


def test_changing_a_value_only_affects_windows_whose_target_is_at_or_after_it():
    rng = np.random.default_rng(1)
    values = rng.standard_normal(120)
    t_change = 110  # inside test, which starts at 102
    changed = values.copy()
    changed[t_change] = 99.0
    base, new = prepare_forecast(values, 8), prepare_forecast(changed, 8)
    for split in ("train", "valid", "test"):
        times = base.times(split)
        before = times < t_change
        np.testing.assert_array_equal(getattr(base, split)[0][before], getattr(new, split)[0][before])
        np.testing.assert_array_equal(getattr(base, split)[1][before], getattr(new, split)[1][before])
    assert base.bounds[1] <= t_change
    assert not np.array_equal(base.test[1], new.test[1])  # the change does show where it may


def test_forecast_data_targets_in_original_units():
    values, _ = builtin_series("airline")
    data = prepare_forecast(values, window=12, scaling="minmax")
    assert (
        data.train[0].shape == (88, 12, 1)
        and data.valid[1].shape == (21, 1)
        and data.test[1].shape == (23, 1)
    )
    np.testing.assert_array_equal(data.times("test"), np.arange(121, 144))
    np.testing.assert_array_equal(data.unscaled_targets("test")[:, 0], values[121:])
    np.testing.assert_allclose(
        data.scaler.inverse_transform(data.test[1]), data.unscaled_targets("test"), rtol=1e-6
    )
    assert data.train[1].min() >= 0.0 and data.train[1].max() <= 1.0
    assert data.test[1].max() > 1.0  # the trend leaves the train range: expected with min-max
    with pytest.raises(ValueError, match=r"unknown split 'dev'"):
        data.times("dev")


def test_chronological_split():
    values = np.arange(100.0)
    train, valid, test = chronological_split(values, window=5)
    assert (len(train), len(valid), len(test)) == (70, 15, 15)
    np.testing.assert_array_equal(np.concatenate([train, valid, test]), values)
    with pytest.raises(ValueError, match=r"valid split has 15 values but window 15 \+ horizon 1 needs 16"):
        chronological_split(values, window=15)
    assert len(chronological_split(values, window=14)[1]) == 15
    with pytest.raises(ValueError, match=r"train \+ valid < 1"):
        chronological_split(values, window=2, train=0.9, valid=0.1)
    with pytest.raises(ValueError, match=r"train split has 7 values but window 7 \+ horizon 1 needs 8"):
        split_windows(np.arange(10.0), 7, train=0.7, valid=0.1)


# --------------------------------------------------------------------------------------------- scaler
def test_standard_scaler_round_trip_and_json():
    train = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    scaler = Scaler("standard").fit(train)
    z = scaler.transform(train)
    assert z.mean() == pytest.approx(0.0, abs=1e-12) and z.std() == pytest.approx(1.0)
    later = np.array([[20.0], [-3.0]])
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(later)), later, rtol=1e-12)
    restored = Scaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(restored.transform(later), scaler.transform(later))
    assert (
        restored.to_dict() == scaler.to_dict() == {"method": "standard", "shift": 4.0, "scale": train.std()}
    )


def test_minmax_scaler_and_errors():
    scaler = Scaler("minmax").fit(np.array([2.0, 6.0, 4.0]))
    np.testing.assert_array_equal(scaler.transform(np.array([2.0, 4.0, 6.0, 10.0])), [0.0, 0.5, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"not fitted"):
        Scaler().transform(np.ones(3))
    with pytest.raises(ValueError, match=r"training values are all 3.0"):
        Scaler().fit(np.full(4, 3.0))
    with pytest.raises(ValueError, match=r"unknown scaling method 'robust'"):
        Scaler("robust")
    with pytest.raises(ValueError, match=r"missing scale"):
        Scaler.from_dict({"method": "standard", "shift": 0.0})
    assert Scaler("none").fit(np.array([5.0, 7.0])).transform(np.array([3.0]))[0] == 3.0


# ------------------------------------------------------------------------------------------- baselines
@pytest.mark.parametrize("horizon", [1, 3])
def test_naive_last_on_a_ramp_is_off_by_slope_times_horizon(horizon):
    slope = 0.5
    values = 3.0 + slope * np.arange(40)
    X, y = make_windows(values, 6, horizon)
    pred = naive_last(X)
    assert pred.shape == (len(X), 1)
    np.testing.assert_array_equal(y - pred, slope * horizon)
    assert rmse(pred, y) == pytest.approx(slope * horizon, abs=1e-12)
    assert mae(pred, y) == pytest.approx(slope * horizon, abs=1e-12)


def test_moving_average_hand_example():
    X = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 9.0]])[:, :, None]
    np.testing.assert_array_equal(moving_average(X, 2), [[3.5], [7.5]])
    np.testing.assert_array_equal(moving_average(X, 4), [[2.5], [5.25]])
    np.testing.assert_array_equal(moving_average(X, 1), naive_last(X))
    with pytest.raises(ValueError, match=r"k must be an integer in 1..window=4"):
        moving_average(X, 5)


def test_seasonal_naive_takes_the_value_one_season_before_the_target():
    values = np.arange(30.0)
    X, y = make_windows(values, 6, horizon=2)
    np.testing.assert_array_equal(seasonal_naive(X, season=4, horizon=2), y - 4)
    with pytest.raises(ValueError, match=r"season 12 with horizon 1 needs a window of at least 12"):
        seasonal_naive(X, season=12)


def test_metrics_hand_example_and_shape_check():
    pred, target = np.array([1.0, 2.0, 3.0]), np.array([1.0, 4.0, 7.0])
    assert mae(pred, target) == pytest.approx(2.0)
    assert rmse(pred, target) == pytest.approx(math.sqrt(20.0 / 3.0))
    with pytest.raises(ValueError, match=r"prediction shape \(3, 1\) differs from target shape \(3,\)"):
        rmse(pred[:, None], target)


# ------------------------------------------------------------------------------------ adding problem
@pytest.mark.parametrize("T", [2, 7, 50])
def test_adding_problem_markers_and_targets(T):
    X, y = adding_problem(500, T, np.random.default_rng(0))
    assert X.shape == (500, T, 2) and y.shape == (500, 1)
    assert X.dtype == np.float32 and y.dtype == np.float32
    markers = X[:, :, 1]
    assert np.all((markers == 0.0) | (markers == 1.0))
    np.testing.assert_array_equal(markers.sum(axis=1), 2)
    np.testing.assert_array_equal(markers[:, : T // 2].sum(axis=1), 1)  # one in the first half
    np.testing.assert_array_equal(markers[:, T // 2 :].sum(axis=1), 1)  # one in the second half
    values = X[:, :, 0]
    assert values.min() >= 0.0 and values.max() < 1.0
    np.testing.assert_array_equal(y[:, 0], (values * markers).sum(axis=1))
    if T == 50:  # the markers really move around: every position of each half gets used
        assert np.all(markers.sum(axis=0) > 0)


def test_adding_problem_is_seeded_and_checks_arguments():
    a, b = adding_problem(10, 8, 123), adding_problem(10, 8, np.random.default_rng(123))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match=r"T must be an integer >= 2"):
        adding_problem(10, 1, 0)
    with pytest.raises(ValueError, match=r"n must be an integer >= 1"):
        adding_problem(0, 5, 0)


def test_constant_predictor_scores_one_sixth():
    _, y = adding_problem(20_000, 20, np.random.default_rng(7))
    mse = float(np.mean((y.astype(np.float64) - 1.0) ** 2))
    assert abs(mse - 1.0 / 6.0) < 0.01
    assert adding_baseline_mse() == pytest.approx(1.0 / 6.0)
    assert abs(float(y.mean()) - 1.0) < 0.02
