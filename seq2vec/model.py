"""The many-to-one model: stacked recurrent layers (sequence in) and a Dense head (vector out).

    x (N, T, I) -> [RNN/LSTM/GRU, return_sequences=True] * (layers - 1) -> RNN/LSTM/GRU -> Linear -> (N, out)

This is the Keras `Sequential([LSTM(32, return_sequences=True), LSTM(32), Dense(1)])` of the learners'
notes, written with minigrad.nn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minigrad
from demokit.step import eval_mode
from minigrad import nn
from minigrad.tensor import Tensor

CELLS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def recurrent_layer(cell: str, input_size: int, hidden: int, return_sequences: bool, **kw: Any) -> nn.Module:
    """nn.RNN / nn.LSTM / nn.GRU by name ('rnn', 'lstm', 'gru')."""
    if cell not in CELLS:
        raise ValueError(f"unknown cell '{cell}'; choose one of {', '.join(CELLS)}")
    return getattr(nn, CELLS[cell])(input_size, hidden, return_sequences=return_sequences, **kw)


class SequenceRegressor(nn.Module):
    """Sequence -> vector: `layers` stacked recurrent layers, dropout between them, a Linear head."""

    def __init__(
        self, cell: str, input_size: int, hidden: int, layers: int = 1, out: int = 1, dropout: float = 0.0,
        **cell_kw: Any,
    ) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"layers must be at least 1, got {layers}")
        self.config = dict(cell=cell, input_size=input_size, hidden=hidden, layers=layers, out=out, dropout=dropout)
        blocks: list[nn.Module] = []
        for i in range(layers):
            last = i == layers - 1
            blocks.append(recurrent_layer(cell, input_size if i == 0 else hidden, hidden, not last, **cell_kw))
            if not last and dropout > 0:
                blocks.append(nn.Dropout(dropout))
        self.rnn = nn.Sequential(*blocks)
        self.head = nn.Linear(hidden, out)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.rnn(x))  # (N, T, I) -> (N, hidden) -> (N, out)

    @property
    def last_recurrent(self) -> nn.Module:
        """The recurrent layer whose hidden states feed the head (for gradient-norm plots)."""
        return [m for m in self.rnn if not isinstance(m, nn.Dropout)][-1]

    def predict(self, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Outputs for X (N, T, I) in eval mode (dropout off, no graph), batch by batch, as float64 (N, out)."""
        with eval_mode(self):
            outs = [self(minigrad.tensor(X[i : i + batch_size])).data for i in range(0, len(X), batch_size)]
        return np.concatenate(outs).astype(np.float64)

    def mse(self, X: np.ndarray, y: np.ndarray) -> float:
        """Mean squared error of predict(X) against y."""
        return float(np.mean((self.predict(X) - y) ** 2))
