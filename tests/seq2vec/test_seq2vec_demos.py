"""The seq2vec commands end to end on tiny settings, and the learners' notes' tiny example."""

from __future__ import annotations

import json

import numpy as np
import pytest

import minigrad
from demokit.cli import run_command
from demokit.errors import EXIT_DIVERGED, EXIT_USAGE
from demokit.runs import RunFolder
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
            "--out", str(tmp_path / "run"), "--no-progress", *extra]
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


def metrics_without_timing(path):
    """metrics.json less what differs between two folders by design: wall times and the input file's path."""
    m = json.loads(path.read_text())
    m.pop("timing"), m.pop("series"), m["config"].pop("csv")
    return m


def test_forecast_same_seed_same_metrics(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    assert run_forecast(a) == 0 and run_forecast(b) == 0
    assert metrics_without_timing(a / "run" / "metrics.json") == metrics_without_timing(b / "run" / "metrics.json")


def test_forecast_resume_continues_exactly_including_early_stopping(tmp_path):
    """10 epochs + resume must stop where one uninterrupted run stops (the early-stopping counter is saved)."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    common = ("--patience", "2", "--epochs", "40", "--lr", "0.03")
    assert run_forecast(a, *common) == 0
    assert run_forecast(b, *common[:2], "--epochs", "3", *common[4:]) == 0
    assert run_forecast(b, "--resume", "--epochs", "40") == 0
    ma, mb = metrics_without_timing(a / "run" / "metrics.json"), metrics_without_timing(b / "run" / "metrics.json")
    assert ma["epochs"] < 40  # early stopping really stopped it
    assert ma["history"] == mb["history"] and ma["test"] == mb["test"]
    wa, wb = minigrad.load(a / "run" / "last.npz")["model"], minigrad.load(b / "run" / "last.npz")["model"]
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k])


def test_forecast_bad_csv_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Close\n2020-01,1.0\n2020-02,abc\n")
    assert run_command(forecast.main, ["--csv", str(bad), "--column", "Close", "--no-progress",
                                       "--out", str(tmp_path / "r")]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "line 3" in err and "abc" in err


def test_forecast_semicolon_csv_gets_a_hint(tmp_path, capsys):
    bad = tmp_path / "semi.csv"
    bad.write_text("Date;Close\n2020-01;1.0\n2020-02;2.0\n")
    assert run_command(forecast.main, ["--csv", str(bad), "--out", str(tmp_path / "r")]) == EXIT_USAGE
    assert "semicolon" in capsys.readouterr().err


def test_forecast_missing_checkpoint_is_clear(tmp_path, capsys):
    assert run_command(forecast.main, ["--predict", "2", "--out", str(tmp_path / "none")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "best.npz" in err and "Traceback" not in err and err.count("\n") == 1


def test_forecast_diverging_run_keeps_finite_checkpoints(tmp_path, capsys):
    """--lr 1e39 with one batch per epoch: the run stops in one line and never saves NaN weights."""
    code = run_command(lambda argv: run_forecast(tmp_path, "--lr", "1e39", "--batch-size", "512", "--epochs", "5"))
    assert code == EXIT_DIVERGED
    err = capsys.readouterr().err
    assert "epoch" in err and "Traceback" not in err
    for name in ("last.npz", "best.npz"):
        path = tmp_path / "run" / name
        if path.exists():
            for w in minigrad.load(path)["model"].values():
                assert np.isfinite(w).all()


def test_forecast_second_run_refuses_and_restart_moves_aside(tmp_path, capsys):
    assert run_forecast(tmp_path) == 0
    assert run_command(lambda argv: run_forecast(tmp_path)) == EXIT_USAGE
    assert "--resume" in capsys.readouterr().err
    assert run_forecast(tmp_path, "--restart") == 0
    assert (tmp_path / "run.old-1" / "best.npz").exists() and (tmp_path / "run" / "best.npz").exists()


@pytest.mark.parametrize("argv", [["--hidden", "0"], ["--batch-size", "0"], ["--lr", "-1"], ["--window", "1"],
                                  ["--predict", "-3"], ["--epochs", "0"], ["--dropout", "1"]])
def test_forecast_rejects_bad_options_at_parse_time(argv, capsys):
    with pytest.raises(SystemExit) as e:
        forecast.main(argv)
    assert e.value.code == 2 and "error" in capsys.readouterr().err


def memory_config(**kw):
    return memory.Config(**{"progress": False, **kw})


def test_lstm_beats_constant_predictor_on_adding_problem(tmp_path):
    """A short run at T=10: an LSTM must do clearly better than always answering 1.0 (MSE 1/6)."""
    run = RunFolder(tmp_path / "m").open()
    cfg = memory_config(steps=250, hidden=16, test_size=500)
    _, row = memory.train_adding("lstm", 10, cfg, run)
    assert row["test_mse"] < 0.5 * adding_baseline_mse()


def test_gradient_norms_cover_every_step():
    minigrad.manual_seed(0)
    norms = memory.gradient_norms(SequenceRegressor("rnn", 2, 8), T=12, seed=0, n=16)
    assert norms.shape == (12,) and np.all(norms > 0)
    assert norms[0] < norms[-1]  # at initialisation the simple RNN's gradient fades toward the start


def test_exploding_run_is_caught_and_clipping_trains():
    cfg = memory_config(explode_steps=150)
    wild, clipped = memory.exploding_run(0.0, cfg), memory.exploding_run(1.0, cfg)
    assert wild["diverged"] is not None and "step" in wild["diverged"]
    assert clipped["diverged"] is None and np.isfinite(clipped["final_loss"])
    assert max(clipped["grad_norms"]) > 1.0  # clipping really had something to clip


MEMORY_TINY = ["--lengths", "6", "--cells", "rnn,gru", "--steps", "30", "--hidden", "4", "--test-size", "50",
               "--explode-steps", "20", "--no-progress"]


def test_memory_same_seed_same_metrics_and_resume_equals_uninterrupted(tmp_path):
    assert memory.main([*MEMORY_TINY, "--out", str(tmp_path / "a")]) == 0
    assert memory.main([*MEMORY_TINY, "--out", str(tmp_path / "b")]) == 0
    ma = json.loads((tmp_path / "a" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "b" / "metrics.json").read_text())
    ma["config"].pop("out")
    mb["config"].pop("out")
    assert ma == mb
    # interrupted after the first run: only rnn's sub-run exists; --resume finishes the rest identically
    assert memory.main([*MEMORY_TINY, "--cells", "rnn", "--skip", "flow,explode", "--out", str(tmp_path / "c")]) == 0
    (tmp_path / "c" / "metrics.json").unlink()
    assert memory.main([*MEMORY_TINY, "--out", str(tmp_path / "c"), "--resume"]) == 0
    mc = json.loads((tmp_path / "c" / "metrics.json").read_text())
    assert mc["adding"] == ma["adding"] and mc["exploding"] == ma["exploding"]


@pytest.mark.parametrize("argv", [["--lengths", "x"], ["--cells", "rnn,cnn"], ["--steps", "0"], ["--hidden", "0"],
                                  ["--batch-size", "0"], ["--lr", "-1"], ["--test-size", "0"],
                                  ["--explode-length", "1"], ["--skip", "nothing"]])
def test_memory_rejects_bad_options(argv, capsys):
    with pytest.raises(SystemExit) as e:
        memory.main(argv + ["--no-progress"])
    assert e.value.code == 2 and "error" in capsys.readouterr().err
