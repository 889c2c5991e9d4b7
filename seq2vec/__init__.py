"""seq2vec: the many-to-one demos -- a sequence in, one vector out.

    python -m seq2vec.forecast     # forecasting the next value of a series (airline passengers, your CSV)
    python -m seq2vec.memory       # the adding problem: how long RNN, LSTM and GRU remember; clipping

Modules: data (series, CSV loading, windows, scaling, baselines, the adding problem), model
(SequenceRegressor), forecast and memory (the two commands), checkpoint (the forecaster's checkpoint),
report and memory_report (tables and figures). The training loop is demokit's Trainer.
"""

from __future__ import annotations

from seq2vec.data import adding_baseline_mse, adding_problem, builtin_series, load_series, prepare_forecast
from seq2vec.model import SequenceRegressor

__all__ = ["SequenceRegressor", "adding_baseline_mse", "adding_problem", "builtin_series", "load_series",
           "prepare_forecast"]
