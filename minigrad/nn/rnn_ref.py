"""The recurrent cells written as their textbook equations, with plain minigrad ops.

Read this file first. Each cell is one time step: it takes the input of that step and the previous state
and returns the new state. Autograd gives the backward pass for free (no derivative is written here);
`rnn_fused.py` computes exactly the same numbers with one hand-derived Function per sequence, and the
tests check that both agree to 1e-10 in float64.

Shapes: x (N, I) one step of a batch, h and c (N, H), G gates per cell (RNN 1, LSTM 4, GRU 3).
Weights as Keras lays them out (x @ W, so no transpose anywhere):
    W_ih (I, G*H)  the input kernel      ("kernel" in Keras, weight_ih_l0.T in PyTorch)
    W_hh (H, G*H)  the recurrent kernel  ("recurrent_kernel" in Keras, weight_hh_l0.T in PyTorch)
    b    (G*H,)    the bias (GRU has two: b_ih and b_hh, because b_hn sits inside r * (...))
Gate k owns the columns k*H .. (k+1)*H of each of them; W_i below is the input kernel's slice for
gate i, U_i the recurrent kernel's slice for the same gate.

`run_sequence` loops a cell over time with the options every layer in `minigrad.nn.rnn` offers:
a mask for padded batches and go_backwards (Keras's name for reading the sequence from its end).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minigrad.ops import relu, sigmoid, split, stack, tanh, where
from minigrad.tensor import Tensor

State = tuple[Tensor, ...]  # (h,) for RNN and GRU, (h, c) for LSTM


# ---- one time step --------------------------------------------------------------------------------------


def rnn_cell(
    x: Tensor, h: Tensor, W_ih: Tensor, W_hh: Tensor, b: Tensor, nonlinearity: str = "tanh"
) -> Tensor:
    """The simple (Elman) RNN step, Keras's SimpleRNN:

        h' = act(x W_ih + h W_hh + b),   act = tanh or relu

    x (N, I), h (N, H), W_ih (I, H), W_hh (H, H), b (H,) -> h' (N, H).
    """
    a = x @ W_ih + h @ W_hh + b
    if nonlinearity == "tanh":
        return tanh(a)
    if nonlinearity == "relu":
        return relu(a)
    raise ValueError(f"rnn_cell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def lstm_cell(
    x: Tensor, h: Tensor, c: Tensor, W_ih: Tensor, W_hh: Tensor, b: Tensor
) -> tuple[Tensor, Tensor]:
    """The LSTM step (Hochreiter & Schmidhuber 1997, with a forget gate), gates in the order i, f, g, o:

        i  = σ(x W_i + h U_i + b_i)        input gate: how much of the candidate to write
        f  = σ(x W_f + h U_f + b_f)        forget gate: how much of the old cell state to keep
        g  = tanh(x W_g + h U_g + b_g)     candidate values
        o  = σ(x W_o + h U_o + b_o)        output gate: how much of the cell state to show
        c' = f * c + i * g                 the cell state: a sum, so gradients pass along it easily
        h' = o * tanh(c')

    x (N, I), h and c (N, H), W_ih (I, 4H), W_hh (H, 4H), b (4H,) -> (h', c'), each (N, H).
    """
    H = h.shape[-1]
    W_i, W_f, W_g, W_o = W_ih[:, 0:H], W_ih[:, H : 2 * H], W_ih[:, 2 * H : 3 * H], W_ih[:, 3 * H : 4 * H]
    U_i, U_f, U_g, U_o = W_hh[:, 0:H], W_hh[:, H : 2 * H], W_hh[:, 2 * H : 3 * H], W_hh[:, 3 * H : 4 * H]
    b_i, b_f, b_g, b_o = b[0:H], b[H : 2 * H], b[2 * H : 3 * H], b[3 * H : 4 * H]

    i = sigmoid(x @ W_i + h @ U_i + b_i)
    f = sigmoid(x @ W_f + h @ U_f + b_f)
    g = tanh(x @ W_g + h @ U_g + b_g)
    o = sigmoid(x @ W_o + h @ U_o + b_o)
    c_new = f * c + i * g
    h_new = o * tanh(c_new)
    return h_new, c_new


def gru_cell(x: Tensor, h: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tensor:
    """The GRU step (Cho et al. 2014), gates in the order r, z, n, as PyTorch and Keras (reset_after=True):

        r  = σ(x W_r + b_ir + h U_r + b_hr)            reset gate: how much of h the candidate may see
        z  = σ(x W_z + b_iz + h U_z + b_hz)            update gate: how much of h to keep
        n  = tanh(x W_n + b_in + r * (h U_n + b_hn))   candidate state
        h' = (1 - z) * n + z * h

    The recurrent bias b_hn sits inside r * (...), which is why a GRU has two biases (and
    Keras's GRU(8) on 100 features has 2,640 parameters, not 2,616).
    x (N, I), h (N, H), W_ih and W_hh (I or H, 3H), b_ih and b_hh (3H,) -> h' (N, H).
    """
    H = h.shape[-1]
    W_r, W_z, W_n = W_ih[:, 0:H], W_ih[:, H : 2 * H], W_ih[:, 2 * H : 3 * H]
    U_r, U_z, U_n = W_hh[:, 0:H], W_hh[:, H : 2 * H], W_hh[:, 2 * H : 3 * H]
    b_ir, b_iz, b_in = b_ih[0:H], b_ih[H : 2 * H], b_ih[2 * H : 3 * H]
    b_hr, b_hz, b_hn = b_hh[0:H], b_hh[H : 2 * H], b_hh[2 * H : 3 * H]

    r = sigmoid(x @ W_r + b_ir + h @ U_r + b_hr)
    z = sigmoid(x @ W_z + b_iz + h @ U_z + b_hz)
    n = tanh(x @ W_n + b_in + r * (h @ U_n + b_hn))
    h_new = (1 - z) * n + z * h
    return h_new


# ---- the loop over time ---------------------------------------------------------------------------------


def run_sequence(
    step: Callable[[Tensor, State], State],
    x: Tensor,
    state: State,
    mask: np.ndarray | None = None,
    reverse: bool = False,
) -> tuple[Tensor, State, list[Tensor]]:
    """Run a cell over every time step of x: the loop inside every recurrent layer.

        for t = 0 .. T-1 (or T-1 .. 0 when reverse):
            state_t = step(x_t, state_{t-1})       where mask[:, t] is True (a real step)
            state_t = state_{t-1}                  where it is False (padding: the state is kept)
            out_t   = h_t if real, else 0

    step: (x_t (N, I), state) -> new state, a tuple whose first element is h (N, H).
    x (N, T, I); state: the initial state (h0,) or (h0, c0); mask: None or bool (N, T), True = real step,
    mask[:, t] always refers to input position t.
    Returns (hs, state_T, h_at):
        hs (N, T, H): the outputs in PROCESSED order (with reverse, hs[:, k] is the output after reading
            x[:, T-1-k]: Keras's go_backwards), zero at masked steps;
        state_T: the final state; with right-padding that is each row's state at its last real step;
        h_at: h_at[t] is the state tensor produced at input position t (for looking at its gradient).
    """
    T = x.shape[1]
    # T tensors (N, I): one split, whose backward is one concatenation (x[:, t] would cost T full-size grads)
    x_steps = [x_t.squeeze(1) for x_t in split(x, 1, axis=1)]
    order = range(T - 1, -1, -1) if reverse else range(T)
    outputs: list[Tensor] = []
    h_by_position: dict[int, Tensor] = {}
    for t in order:
        new_state = step(x_steps[t], state)
        if mask is not None:
            real = mask[:, t : t + 1]  # (N, 1): broadcasts over the hidden units
            new_state = tuple(where(real, new, old) for new, old in zip(new_state, state))
            outputs.append(where(real, new_state[0], 0.0))
        else:
            outputs.append(new_state[0])
        state = new_state
        h_by_position[t] = state[0]
    return stack(outputs, axis=1), state, [h_by_position[t] for t in range(T)]


def rnn_sequence(
    x: Tensor, h0: Tensor, W_ih: Tensor, W_hh: Tensor, b: Tensor, nonlinearity: str = "tanh",
    reverse: bool = False, mask: np.ndarray | None = None,
) -> tuple[Tensor, Tensor]:
    """`rnn_cell` over a sequence: x (N, T, I), h0 (N, H) -> (hs (N, T, H), h_T (N, H)). See run_sequence."""
    hs, (h_T,), _ = run_sequence(lambda x_t, s: (rnn_cell(x_t, s[0], W_ih, W_hh, b, nonlinearity),),
                                 x, (h0,), mask, reverse)
    return hs, h_T


def lstm_sequence(
    x: Tensor, h0: Tensor, c0: Tensor, W_ih: Tensor, W_hh: Tensor, b: Tensor,
    reverse: bool = False, mask: np.ndarray | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """`lstm_cell` over a sequence: x (N, T, I), h0 and c0 (N, H) -> (hs (N, T, H), h_T, c_T)."""
    hs, (h_T, c_T), _ = run_sequence(lambda x_t, s: lstm_cell(x_t, s[0], s[1], W_ih, W_hh, b),
                                     x, (h0, c0), mask, reverse)
    return hs, h_T, c_T


def gru_sequence(
    x: Tensor, h0: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor,
    reverse: bool = False, mask: np.ndarray | None = None,
) -> tuple[Tensor, Tensor]:
    """`gru_cell` over a sequence: x (N, T, I), h0 (N, H) -> (hs (N, T, H), h_T (N, H)). See run_sequence."""
    hs, (h_T,), _ = run_sequence(lambda x_t, s: (gru_cell(x_t, s[0], W_ih, W_hh, b_ih, b_hh),),
                                 x, (h0,), mask, reverse)
    return hs, h_T


__all__ = [
    "rnn_cell", "lstm_cell", "gru_cell", "run_sequence", "rnn_sequence", "lstm_sequence", "gru_sequence",
]
