"""The seq2vec commands end to end on tiny settings, and the learners' notes' tiny example."""

from __future__ import annotations

import json

import numpy as np
import pytest

import minigrad
from minigrad import functional as F
from minigrad import nn, optim
from seq2vec import forecast, memory
from seq2vec.data import adding_baseline_mse
from seq2vec.model import SequenceRegressor


def test_notes_example_simple_rnn_learns_next_value():
    """SimpleRNN(10) + Dense(1), Adam, MSE: 0.0, 0.1, 0.2, 0.3 -> 0.4 (the learners' first RNN)."""
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.SimpleRNN(1, 10), nn.Linear(10, 1))
    x = np.array([[[0.0], [0.1], [0.2], [0.3]]], dtype=np.float32)
    y = np.array([[0.4]], dtype=np.float32)
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(200):
        opt.zero_grad()
        loss = F.mse_loss(model(minigrad.tensor(x)), y)
        loss.backward()
        opt.step()
    assert abs(model(minigrad.tensor(x)).item() - 0.4) < 0.01
    assert "Total params: 131" in model.summary(x, print_fn=None)  # 10*(1+10+1) + 11, as Keras


def write_series(path, n=90):
    t = np.arange(n)
    values = 100 + 0.5 * t + 5 * np.sin(2 * np.pi * t / 12)
    lines = ["Date,Close"] + [f"2020-{i:04d},{v:.3f}" for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_forecast(tmp_path, *extra):
    csv = write_series(tmp_path / "s.csv")
    args = ["--csv", str(csv), "--column", "Close", "--window", "8", "--epochs", "6", "--hidden", "8",
            "--out", str(tmp_path / "run"), "--quiet", *extra]
    return forecast.main(args)


def test_forecast_end_to_end_writes_outputs_and_beats_nothing_silently(tmp_path, capsys):
    assert run_forecast(tmp_path) == 0
    out = capsys.readouterr().out
    assert "naive: last value" in out and "moving average" in out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for name in ("LSTM (ours)", "naive: last value", "moving average (3)"):
        assert np.isfinite(metrics["test"][name]["rmse"])
    rows = (tmp_path / "run" / "predictions.csv").read_text().splitlines()
    assert rows[0] == "t,truth,prediction,naive_last" and len(rows) > 5
    assert (tmp_path / "run" / "best.npz").exists()


def test_forecast_predict_from_checkpoint(tmp_path, capsys):
    assert run_forecast(tmp_path) == 0
    capsys.readouterr()
    assert run_forecast(tmp_path, "--predict", "3") == 0
    out = capsys.readouterr().out
    assert "t+1:" in out and "t+3:" in out


def test_forecast_resume_continues_exactly(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    assert run_forecast(a, "--patience", "100") == 0
    assert run_forecast(b, "--patience", "100", "--epochs", "3") == 0
    assert run_forecast(b, "--patience", "100", "--resume") == 0
    wa = minigrad.load(a / "run" / "last.npz")["model"]
    wb = minigrad.load(b / "run" / "last.npz")["model"]
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k])


def test_forecast_bad_csv_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Close\n2020-01,1.0\n2020-02,abc\n")
    assert forecast.main(["--csv", str(bad), "--column", "Close", "--quiet", "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "line 3" in err and "abc" in err


def test_forecast_missing_checkpoint_is_clear(tmp_path, capsys):
    assert forecast.main(["--predict", "2", "--out", str(tmp_path / "none"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "best.npz" in err and "Traceback" not in err


def test_lstm_beats_constant_predictor_on_adding_problem():
    """A short run at T=10: an LSTM must do clearly better than always answering 1.0 (MSE 1/6)."""
    args = memory.build_parser().parse_args(["--steps", "250", "--hidden", "16", "--test-size", "500", "--quiet"])
    _, row = memory.train_adding("lstm", 10, args, seed=0)
    assert row["test_mse"] < 0.5 * adding_baseline_mse()


def test_gradient_norms_cover_every_step():
    minigrad.manual_seed(0)
    norms = memory.gradient_norms(SequenceRegressor("rnn", 2, 8), T=12, seed=0, n=16)
    assert norms.shape == (12,) and np.all(norms > 0)
    assert norms[0] < norms[-1]  # at initialisation the simple RNN's gradient fades toward the start


def test_exploding_run_is_caught_and_clipping_trains():
    args = memory.build_parser().parse_args(["--explode-steps", "150", "--quiet"])
    wild, clipped = memory.exploding_run(0.0, args), memory.exploding_run(1.0, args)
    assert wild["diverged"] is not None and "step" in wild["diverged"]
    assert clipped["diverged"] is None and np.isfinite(clipped["final_loss"])
    assert max(clipped["grad_norms"]) > 1.0  # clipping really had something to clip


@pytest.mark.parametrize("argv", [["--lengths", "x"], ["--cells", "rnn,cnn"], ["--steps", "0"]])
def test_memory_rejects_bad_options(argv, capsys):
    assert memory.main(argv + ["--quiet"]) == 2
    assert "error" in capsys.readouterr().err
