"""Looking inside the trained LSTM: its first layer's gates and states over a passage, and which cells track what.

The trace recomputes the layer with NumPy in float64 from the layer's own weights (gates i, f, g, o):
    a_t = e_t W_ih + h_{t-1} W_hh + b,   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
    c_t = f * c_{t-1} + i * g,            h_t = o * tanh(c_t)
so every gate value is visible (the fused kernel keeps them internal); a test checks h against the layer.
"""

from __future__ import annotations

import numpy as np

from charlm.model import CharLM
from charlm.units import Units

PARTICLES = frozenset("을를이가은는와과")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def lstm_trace(model: CharLM, ids: np.ndarray) -> dict[str, np.ndarray]:
    """The first LSTM layer over `ids` (T,) from the zero state: {"i", "f", "g", "o", "c", "h"}, each (T, H)."""
    layer = model.rnns[0]
    if model.config["cell"] != "lstm":
        raise ValueError(f"the gate trace is written for LSTM layers, not {model.config['cell']!r}")
    E = model.embed.weight.data.astype(np.float64)
    W_ih, W_hh = layer.weight_ih.data.astype(np.float64), layer.weight_hh.data.astype(np.float64)
    b = layer.bias.data.astype(np.float64)
    H = W_hh.shape[0]
    h, c = np.zeros(H), np.zeros(H)
    out = {k: np.empty((len(ids), H)) for k in ("i", "f", "g", "o", "c", "h")}
    for t, x in enumerate(np.asarray(ids)):
        a = E[x] @ W_ih + h @ W_hh + b
        i, f, g, o = _sigmoid(a[:H]), _sigmoid(a[H : 2 * H]), np.tanh(a[2 * H : 3 * H]), _sigmoid(a[3 * H :])
        c = f * c + i * g
        h = o * np.tanh(c)
        for k, v in (("i", i), ("f", f), ("g", g), ("o", o), ("c", c), ("h", h)):
            out[k][t] = v
    return out


def signals(units: Units, ids: np.ndarray) -> dict[str, np.ndarray]:
    """What a cell might track, per unit: the position in its line (0 at the start, 1 at the end) and whether
    the unit is a particle syllable (을/를, 이/가, 은/는, 와/과; with --units char only, zeros with jamo units)."""
    text = [units.decode([int(i)], exact=True) for i in ids]
    position = np.zeros(len(ids))
    start = 0
    for t, ch in enumerate(text + ["\n"]):
        if ch == "\n":
            span = max(t - start, 1)
            position[start:t] = np.arange(t - start) / span
            start = t + 1
    particle = np.array([ch in PARTICLES for ch in text], dtype=float)
    return {"position in line": position, "particle": particle}


def best_cells(h: np.ndarray, signal: np.ndarray, exclude: tuple[int, ...] = ()) -> tuple[int, float]:
    """The cell whose activation correlates most (in absolute value) with `signal`, and that correlation."""
    hc = h - h.mean(axis=0)
    sc = signal - signal.mean()
    denom = np.sqrt((hc**2).sum(axis=0) * (sc**2).sum()) + 1e-12
    corr = (hc * sc[:, None]).sum(axis=0) / denom
    corr[list(exclude)] = 0.0
    k = int(np.argmax(np.abs(corr)))
    return k, float(corr[k])
