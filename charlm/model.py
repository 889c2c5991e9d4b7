"""The character-level language model: every input unit predicts the next one (synced many-to-many).

    e_t      = E[x_t]                                   embedding, (N, T) ids -> (N, T, emb)
    h^l_t    = LSTM_l(h^{l-1}_t, state^l_{t-1})         stacked stateful layers, return_sequences=True
    logits_t = h^L_t W_out + b_out                      (N, T, V): a distribution over the next unit
    loss     = mean_t CE(logits_t, x_{t+1})             in nats per unit; bits = nats / ln 2

The recurrent layers are stateful (Keras's stateful=True): the final state of one chunk is the initial state
of the next, carried DETACHED, so gradients stop at the chunk edge (truncated BPTT) while the memory does not.
reset_states() starts every row afresh (at the start of an epoch, before validation, before sampling).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import nn
from minigrad.tensor import Tensor

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class CharLM(nn.Module):
    """Embedding -> `layers` stateful LSTM/GRU/RNN layers (dropout between) -> Linear to the vocabulary."""

    def __init__(self, vocab: int, emb: int = 64, hidden: int = 256, layers: int = 1, cell: str = "lstm",
                 dropout: float = 0.0) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
        self.config = dict(vocab=vocab, emb=emb, hidden=hidden, layers=layers, cell=cell, dropout=dropout)
        self.embed = nn.Embedding(vocab, emb)
        self.rnns = nn.ModuleList([CELLS[cell](emb if i == 0 else hidden, hidden, return_sequences=True,
                                               stateful=True) for i in range(layers)])
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x: np.ndarray) -> Tensor:
        """x (N, T) int ids -> logits (N, T, V); the layers carry their state to the next call."""
        h = self.drop(self.embed(x))
        for rnn in self.rnns:
            h = self.drop(rnn(h))
        return self.head(h)

    def step(self, ids: np.ndarray, states: list[Any]) -> tuple[Tensor, list[Any]]:
        """One unit per row, state in and state out (the layers' `step`: no weight copies per token):
        ids (N,) -> logits (N, V) and the new per-layer states. Leaves the carried states alone."""
        h = self.embed(ids)
        new = []
        for rnn, state in zip(self.rnns, states):
            h, state = rnn.step(h, state)
            new.append(state)
        return self.head(h), new

    def reset_states(self) -> None:
        for rnn in self.rnns:
            rnn.reset_states()

    def carried_states(self) -> list[Any]:
        """The state each layer carries now, as NumPy arrays (for a checkpoint written mid-epoch)."""
        return [None if r.states is None else [np.array(s.data) for s in r.states] for r in self.rnns]

    def set_carried_states(self, states: list[Any]) -> None:
        for rnn, s in zip(self.rnns, states):
            rnn.reset_states(None if s is None else s[0] if len(s) == 1 else tuple(np.asarray(a) for a in s))
