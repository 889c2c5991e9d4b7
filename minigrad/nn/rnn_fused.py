"""The recurrent layers as fused kernels: one Function runs RNN, LSTM or GRU over a whole sequence.

`rnn_ref.py` writes each cell with minigrad ops and lets autograd build the backward pass: about 20
graph nodes per time step. Here one `Function` does the whole sequence in NumPy and its `backward` is
derived by hand, so a training step costs little more than its matrix multiplications. Same parameters,
same numbers (the tests compare both to 1e-10 in float64).

    hs, h_T      = RNNSequence(nonlinearity="tanh")(x, h0, W_ih, W_hh, b)
    hs, h_T, c_T = LSTMSequence()(x, h0, c0, W_ih, W_hh, b)
    hs, h_T      = GRUSequence()(x, h0, W_ih, W_hh, b_ih, b_hh)

Shapes: x (N, T, I), h0 and c0 (N, H), hs (N, T, H), h_T and c_T (N, H). Weights in Keras's layout,
G gates per cell (RNN 1, LSTM 4 in the order i, f, g, o; GRU 3 in the order r, z, n), gate k owning the
columns k*H .. (k+1)*H:  W_ih (I, G*H), W_hh (H, G*H), b (G*H,).

Options (given to the constructor; one Function instance per call, like every op):
    reverse=True  Keras's go_backwards: steps run from t = T-1 down to 0, and hs is in the order the steps
                  ran: hs[:, k] is the output after reading x[:, T-1-k].
    mask (N, T)   bool, True = a real step. At a masked step the state (h and c) is carried over unchanged
                  and the output hs[:, k] is 0; no gradient reaches the weights from it, the state's gradient
                  passes straight through. mask[:, t] refers to input position t, also when reverse=True.
After backward, `fn.dh_norms` (T,) holds ||dL/dh_t|| (the total gradient reaching the state produced at
input position t: from hs and through the recurrence), to plot vanishing gradients.

How it is fast (measured in benchmarks/rnn.py, background in /work/shared/PERF.md):
  * the input projection x W_ih + b of all T steps is one matrix multiplication before the time loop;
    each step then needs one (N, H) @ (H, G*H) product for all its gates at once;
  * inside, everything is time-major (T, N, ...), so one step's slice [k] is one contiguous block;
  * the gates are stored in an order that makes the sigmoid gates one slice (LSTM o, i, f, g), and
    sigmoid(a) = 0.5 tanh(0.5 a) + 0.5 with the 0.5 inside folded into those gates' weight columns, so
    one tanh call covers all four LSTM gates and never overflows;
  * every elementwise step writes into preallocated arrays (out=), and those arrays are reused by the
    next call with the same shapes (the workspace pool below) instead of being allocated again;
  * dW_ih, dW_hh are one matrix multiplication each over all steps after the loop, db one sum; dx is
    computed only if x requires a gradient.
The public weight layout never changes: the permutation and scaling happen on copies inside forward,
and the gradients are mapped back to the public layout.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from minigrad import autograd_mode
from minigrad.function import Function
from minigrad.tensor import Tensor

# ---- the workspace pool: arrays reused from one call to the next ----------------------------------------


class _WorkspacePool:
    """Keeps the big intermediate arrays of finished calls, to reuse them in the next call of the same shape.

    Allocating ~10 MB of fresh arrays per training step costs page faults on every call (PERF.md). A forward
    takes a workspace (a dict of arrays) for its key (kind of cell and shapes); the Function keeps it while
    backward may still need it and gives it back in release(), i.e. after backward. A forward that runs
    while the last workspace is still held (two stacked layers, or two forwards before one backward) does
    not find a free one and gets new arrays: nothing a pending backward needs is ever overwritten.
    Nothing in a workspace is ever returned to the caller. At most `max_free` free workspaces are kept.
    """

    def __init__(self, max_free: int = 8) -> None:
        self.max_free = max_free
        self._free: list[tuple[tuple[Any, ...], dict[str, np.ndarray]]] = []

    def take(self, key: tuple[Any, ...], shapes: dict[str, tuple[int, ...]], dtype: np.dtype) -> dict:
        """A free workspace for `key`, or new (uninitialised) arrays of the given shapes."""
        for j in range(len(self._free) - 1, -1, -1):
            if self._free[j][0] == key:
                return self._free.pop(j)[1]
        return {name: np.empty(shape, dtype) for name, shape in shapes.items()}

    def give_back(self, key: tuple[Any, ...], ws: dict[str, np.ndarray]) -> None:
        self._free.append((key, ws))
        if len(self._free) > self.max_free:
            self._free.pop(0)  # the oldest: probably a shape that is not coming back

    def clear(self) -> None:
        self._free.clear()


_POOL = _WorkspacePool()


# ---- checks and helpers shared by the three cells -------------------------------------------------------


def _check_shape(cell: str, name: str, arr: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """One clear error for a wrong shape or dtype, before NumPy would fail deep inside the loop."""
    if arr.shape != shape:
        raise ValueError(f"{cell}: {name} must have shape {shape}, got {arr.shape}")
    if arr.dtype != dtype:
        raise TypeError(f"{cell}: {name} is {arr.dtype} but x is {dtype}; use one float dtype for all inputs")


def _check_x(cell: str, x: np.ndarray) -> tuple[int, int, int]:
    if x.ndim != 3:
        raise ValueError(f"{cell}: x must have shape (N, T, I), got {x.shape}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{cell}: x must be float32 or float64, got {x.dtype}")
    N, T, I = x.shape
    if T == 0 or N == 0:
        raise ValueError(f"{cell}: empty input: x has shape {x.shape} (need N >= 1 and T >= 1)")
    return N, T, I


def _as_mask(mask: Any) -> np.ndarray | None:
    """The mask as a bool (N, T) array; 0/1 integers are accepted, anything else is an error."""
    if mask is None:
        return None
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.dtype != np.bool_:
        if m.dtype.kind not in "iu" or not np.isin(m, (0, 1)).all():
            raise TypeError(f"mask must be a bool array (True = real step), got dtype {m.dtype}")
        m = m.astype(bool)
    if m.ndim != 2:
        raise ValueError(f"mask must have shape (N, T), got {m.shape}")
    return m


def _time_major(x: np.ndarray, reverse: bool, out: np.ndarray) -> np.ndarray:
    """out[k] = x[:, t] for the k-th step processed (t = k, or T-1-k when reverse): (N, T, I) -> (T, N, I)."""
    xt = x.transpose(1, 0, 2)
    np.copyto(out, xt[::-1] if reverse else xt)
    return out


@functools.lru_cache(maxsize=64)
def _gate_order(public: tuple[str, ...], internal: tuple[str, ...], H: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices: W[:, perm] puts the gates in internal order; W_int[:, inv] puts them back."""
    perm = np.concatenate([np.arange(H) + public.index(gate) * H for gate in internal])
    return perm, np.argsort(perm)


def _gate_scale(internal: tuple[str, ...], sigmoid_gates: str, H: int, dtype: np.dtype) -> np.ndarray:
    """0.5 on the columns of the sigmoid gates, 1 elsewhere: σ(a) = 0.5 tanh(0.5 a) + 0.5."""
    return np.repeat([0.5 if g in sigmoid_gates else 1.0 for g in internal], H).astype(dtype)


class _Sequence(Function):
    """What the three cells share: the options, the mask in step order, the workspace, dh_norms."""

    cell = "Sequence"
    _for_backward = True  # forward() called directly, not through __call__: keep the workspace

    def __init__(self, reverse: bool = False, mask: Any = None) -> None:
        self.reverse = bool(reverse)
        self.mask = _as_mask(mask)

    def __call__(self, *inputs: Any) -> Any:
        # forward must know whether a backward can follow: if not, the workspace goes straight back.
        self._for_backward = autograd_mode.enabled and any(
            isinstance(t, Tensor) and t.requires_grad for t in inputs
        )
        return super().__call__(*inputs)

    def _steps_mask(self, N: int, T: int, dtype: np.dtype) -> None:
        """The mask in step order, k = 0..T-1 as the steps run (None if every step is real).

        self.real (T, N, 1) float: 1 = real step;  self.padded (T, N, 1) bool: True = masked;
        self.partial (T,) bool: the step has at least one masked row (only those need extra work).
        """
        m = self.mask
        self.real = self.padded = self.partial = None
        if m is None:
            return
        if m.shape != (N, T):
            raise ValueError(f"{self.cell}: mask must have shape (N, T) = {(N, T)}, got {m.shape}")
        if m.all():
            return
        steps = m.T[::-1] if self.reverse else m.T  # (T, N): row k = the k-th step run
        self.real = steps.astype(dtype)[:, :, None]
        self.padded = ~steps[:, :, None]
        self.partial = self.padded.any(axis=(1, 2))

    def _outputs(self, Hb: np.ndarray) -> np.ndarray:
        """hs (N, T, H) from the time-major states Hb[1:], 0 at masked steps: a new array, the caller's."""
        states = Hb[1:].transpose(1, 0, 2)
        if self.real is None:
            return states.copy()
        return states * self.real.transpose(1, 0, 2)

    def _output_grad(self, dhs: np.ndarray) -> np.ndarray:
        """dhs with the masked steps zeroed: a masked step's output is the constant 0, not the state."""
        return dhs if self.real is None else dhs * self.real.transpose(1, 0, 2)

    def _store_dh_norms(self, sq: np.ndarray) -> None:
        """sq[k] = ||dh||² at step k (step order) -> self.dh_norms indexed by input position t."""
        norms = np.sqrt(sq)
        self.dh_norms = norms[::-1].copy() if self.reverse else norms

    def _input_grad(self, dXt: np.ndarray) -> np.ndarray:
        """dx (N, T, I) from its time-major, step-ordered version."""
        dx = dXt.transpose(1, 0, 2)
        return dx[:, ::-1] if self.reverse else dx

    def _needs(self, i: int) -> bool:
        """Does input i want a gradient? (True if backward is called by hand, without a recorded graph)."""
        inputs = self.__dict__.get("inputs")
        return inputs is None or inputs[i].requires_grad

    def release(self) -> None:
        """Give the workspace back to the pool and drop everything else, but keep dh_norms for the layer."""
        ws = self.__dict__.get("_ws")
        if ws is not None:
            _POOL.give_back(self._ws_key, ws)
        norms = self.__dict__.get("dh_norms")
        super().release()
        if norms is not None:
            self.dh_norms = norms

    def _done_forward(self, key: tuple[Any, ...], ws: dict[str, np.ndarray]) -> None:
        """Keep the workspace for backward, or give it back at once when no backward can come."""
        if self._for_backward:
            self._ws_key, self._ws = key, ws
        else:
            _POOL.give_back(key, ws)


# ---- simple RNN -----------------------------------------------------------------------------------------


class RNNSequence(_Sequence):
    """The simple (Elman) RNN, Keras's SimpleRNN, over a whole sequence:

        h_t = act(x_t W_ih + h_{t-1} W_hh + b),   act = tanh or relu

    forward(x (N, T, I), h0 (N, H), W_ih (I, H), W_hh (H, H), b (H,)) -> (hs (N, T, H), h_T (N, H)).
    """

    cell = "RNNSequence"

    def __init__(self, nonlinearity: str = "tanh", reverse: bool = False, mask: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNSequence: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(reverse, mask)
        self.nonlinearity = nonlinearity

    def forward(
        self, x: np.ndarray, h0: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        N, T, I = _check_x(self.cell, x)
        H = W_hh.shape[0] if W_hh.ndim == 2 else -1
        for name, arr, shape in (("W_hh", W_hh, (H, H)), ("W_ih", W_ih, (I, H)), ("b", b, (H,)),
                                 ("h0", h0, (N, H))):
            _check_shape(self.cell, name, arr, shape, x.dtype)
        self._steps_mask(N, T, x.dtype)
        key = ("rnn", N, T, I, H, x.dtype)
        ws = _POOL.take(key, {"Xt": (T, N, I), "Hb": (T + 1, N, H), "hW": (N, H)}, x.dtype)
        Xt, Hb, hW = ws["Xt"], ws["Hb"], ws["hW"]
        # Hb[0] = h0, Hb[k+1] = the state after step k (time-major, so Hb[:T] are the h_{t-1} of dW_hh)

        _time_major(x, self.reverse, Xt)
        np.matmul(Xt.reshape(T * N, I), W_ih, out=Hb[1:].reshape(T * N, H))  # x_t W_ih, all steps at once
        Hb[1:] += b                                                            #   + b
        Hb[0] = h0
        relu = self.nonlinearity == "relu"
        for k in range(T):
            h = Hb[k + 1]
            np.matmul(Hb[k], W_hh, out=hW)  # h_{t-1} W_hh
            h += hW                          # a_t = x_t W_ih + b + h_{t-1} W_hh
            if relu:
                np.maximum(h, 0, out=h)      # h_t = relu(a_t)
            else:
                np.tanh(h, out=h)            # h_t = tanh(a_t)
            if self.partial is not None and self.partial[k]:
                np.copyto(h, Hb[k], where=self.padded[k])  # masked rows: h_t = h_{t-1}

        self.W_ih, self.W_hh, self.x_shape = W_ih, W_hh, x.shape
        self._done_forward(key, ws)
        return self._outputs(Hb), Hb[T].copy()

    def backward(self, dhs: np.ndarray, dh_T: np.ndarray) -> tuple[np.ndarray | None, ...]:
        """Back through time, dh = the total gradient reaching h_t (from hs[:, t] and from step t+1):

            da      = dh * (1 - h_t²)       (tanh' = 1 - tanh²)      or  dh * [h_t > 0]   (relu)
            dh_prev = da W_hh^T
        then over all steps at once:  dW_ih = X^T da,  dW_hh = H_prev^T da,  db = Σ da,  dx = da W_ih^T.
        A masked step has da = 0 and passes dh straight to dh_prev.
        """
        N, T, I = self.x_shape
        H = self.W_hh.shape[0]
        Xt, Hb = self._ws["Xt"], self._ws["Hb"]
        bkey = ("rnn-back", N, T, H, dh_T.dtype)
        bws = _POOL.take(bkey, {"dA": (T, N, H), "dh": (N, H), "dh_next": (N, H)}, dh_T.dtype)
        dA, dh, dh_next = bws["dA"], bws["dh"], bws["dh_next"]
        W_hhT = np.ascontiguousarray(self.W_hh.T)  # a contiguous W^T makes the per-step GEMM ~20% faster
        dhs = self._output_grad(dhs)
        sq = np.empty(T)
        relu = self.nonlinearity == "relu"

        np.copyto(dh_next, dh_T)
        for k in range(T - 1, -1, -1):
            h, da = Hb[k + 1], dA[k]
            np.add(dhs[:, k], dh_next, out=dh)  # dh = ∂L/∂h_t from the output + from step t+1
            sq[k] = np.vdot(dh, dh)
            if relu:
                np.greater(h, 0, out=da)        # relu' = [h_t > 0]
            else:
                np.multiply(h, h, out=da)
                np.subtract(1, da, out=da)      # tanh' = 1 - h_t²
            da *= dh                            # da = dh * act'
            if self.partial is not None and self.partial[k]:
                da *= self.real[k]                            # masked rows: no gradient to the weights
                np.matmul(da, W_hhT, out=dh_next)             # dh_prev = da W_hh^T
                np.copyto(dh_next, dh, where=self.padded[k])  # masked rows: dh_prev = dh
            else:
                np.matmul(da, W_hhT, out=dh_next)             # dh_prev = da W_hh^T

        self._store_dh_norms(sq)
        dA2 = dA.reshape(T * N, H)
        dW_ih = Xt.reshape(T * N, I).T @ dA2            # dW_ih = Σ_t x_t^T da_t
        dW_hh = Hb[:T].reshape(T * N, H).T @ dA2        # dW_hh = Σ_t h_{t-1}^T da_t
        db = dA2.sum(axis=0)                            # db = Σ_t da_t
        dx = self._input_grad((dA2 @ self.W_ih.T).reshape(T, N, I)) if self._needs(0) else None
        dh0 = dh_next.copy()
        _POOL.give_back(bkey, bws)
        return dx, dh0, dW_ih, dW_hh, db


# ---- LSTM -----------------------------------------------------------------------------------------------

_LSTM_PUBLIC = ("i", "f", "g", "o")
_LSTM_INTERNAL = ("o", "i", "f", "g")  # the sigmoid gates o, i, f are one slice [0:3H]; i, f, g are [H:4H]


class LSTMSequence(_Sequence):
    """The LSTM over a whole sequence (Hochreiter & Schmidhuber 1997 with a forget gate, as Keras/PyTorch):

        i = σ(x W_i + h U_i + b_i)     input gate
        f = σ(x W_f + h U_f + b_f)     forget gate
        g = tanh(x W_g + h U_g + b_g)  candidate cell
        o = σ(x W_o + h U_o + b_o)     output gate
        c' = f * c + i * g
        h' = o * tanh(c')

    forward(x (N, T, I), h0 (N, H), c0 (N, H), W_ih (I, 4H), W_hh (H, 4H), b (4H,))
        -> (hs (N, T, H), h_T (N, H), c_T (N, H)); gate columns i, f, g, o.
    """

    cell = "LSTMSequence"

    def forward(
        self, x: np.ndarray, h0: np.ndarray, c0: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        N, T, I = _check_x(self.cell, x)
        H = W_hh.shape[0] if W_hh.ndim == 2 else -1
        for name, arr, shape in (("W_hh", W_hh, (H, 4 * H)), ("W_ih", W_ih, (I, 4 * H)), ("b", b, (4 * H,)),
                                 ("h0", h0, (N, H)), ("c0", c0, (N, H))):
            _check_shape(self.cell, name, arr, shape, x.dtype)
        self._steps_mask(N, T, x.dtype)
        key = ("lstm", N, T, I, H, x.dtype)
        ws = _POOL.take(key, {"Xt": (T, N, I), "A": (T, N, 4 * H), "Hb": (T + 1, N, H), "Cb": (T + 1, N, H),
                              "TC": (T, N, H), "hW": (N, 4 * H), "ig": (N, H)}, x.dtype)
        Xt, A, Hb, Cb, TC, hW, ig = (ws[n] for n in ("Xt", "A", "Hb", "Cb", "TC", "hW", "ig"))
        # A[k] = the gates of step k, [o | i | f | g]; Hb[k+1], Cb[k+1] = h_t, c_t; TC[k] = tanh(c_t)

        perm, _ = _gate_order(_LSTM_PUBLIC, _LSTM_INTERNAL, H)
        half = _gate_scale(_LSTM_INTERNAL, "oif", H, x.dtype)
        Wx, Wh, bx = W_ih[:, perm] * half, W_hh[:, perm] * half, b[perm] * half  # halved: tanh(a/2) below

        _time_major(x, self.reverse, Xt)
        np.matmul(Xt.reshape(T * N, I), Wx, out=A.reshape(T * N, 4 * H))  # x_t W_ih, all steps at once
        A += bx                                                              #   + b
        Hb[0], Cb[0] = h0, c0
        for k in range(T):
            a, c, h, tc = A[k], Cb[k + 1], Hb[k + 1], TC[k]
            o, i, f, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            np.matmul(Hb[k], Wh, out=hW)  # h_{t-1} W_hh, all four gates in one product
            a += hW                        # a = x W + h U + b  (halved for o, i, f)
            np.tanh(a, out=a)              # g = tanh(a_g);  tanh(a/2) for o, i, f
            sig = a[:, :3 * H]
            sig *= 0.5
            sig += 0.5                     # o, i, f = σ(a) = 0.5 tanh(a/2) + 0.5
            np.multiply(f, Cb[k], out=c)   # c_t = f * c_{t-1}
            np.multiply(i, g, out=ig)
            c += ig                        #       + i * g
            np.tanh(c, out=tc)
            np.multiply(o, tc, out=h)      # h_t = o * tanh(c_t)
            if self.partial is not None and self.partial[k]:
                np.copyto(h, Hb[k], where=self.padded[k])  # masked rows keep their state:
                np.copyto(c, Cb[k], where=self.padded[k])  # h_t = h_{t-1}, c_t = c_{t-1}

        self.W_ih, self.W_hh, self.x_shape = W_ih, W_hh, x.shape
        self._done_forward(key, ws)
        return self._outputs(Hb), Hb[T].copy(), Cb[T].copy()

    def backward(self, dhs: np.ndarray, dh_T: np.ndarray, dc_T: np.ndarray) -> tuple[np.ndarray | None, ...]:
        """Back through time. dh = the total gradient reaching h_t (from hs[:, t] and from step t+1),
        dc_next = the gradient reaching c_t from step t+1; with the gates a = [o, i, f, g] of step t:

            dc      = dh * o * (1 - tanh²(c_t)) + dc_next      (h_t = o tanh(c_t))
            da_o    = dh * tanh(c_t)  * o (1 - o)              (σ' = σ(1 - σ))
            da_i    = dc * g          * i (1 - i)
            da_f    = dc * c_{t-1}    * f (1 - f)
            da_g    = dc * i          * (1 - g²)               (tanh' = 1 - tanh²)
            dc_prev = dc * f
            dh_prev = da W_hh^T
        then over all steps at once:  dW_ih = X^T da,  dW_hh = H_prev^T da,  db = Σ da,  dx = da W_ih^T.
        A masked step has da = 0 and passes dh, dc straight to dh_prev, dc_prev.
        """
        N, T, I = self.x_shape
        H = self.W_hh.shape[0]
        Xt, A, Hb, Cb, TC = (self._ws[n] for n in ("Xt", "A", "Hb", "Cb", "TC"))
        bkey = ("lstm-back", N, T, H, dh_T.dtype)
        bws = _POOL.take(bkey, {"dA": (T, N, 4 * H), "act": (N, 4 * H), "dh": (N, H), "dc": (N, H),
                                "dh_next": (N, H), "dc_next": (N, H), "tmp": (N, H)}, dh_T.dtype)
        dA, act, dh, dc, dh_next, dc_next, tmp = (
            bws[n] for n in ("dA", "act", "dh", "dc", "dh_next", "dc_next", "tmp"))
        perm, inv = _gate_order(_LSTM_PUBLIC, _LSTM_INTERNAL, H)
        W_hhT = self.W_hh.T[perm]  # (4H, H) contiguous, rows in internal gate order: dh_prev = da W_hh^T
        dhs = self._output_grad(dhs)
        sq = np.empty(T)

        np.copyto(dh_next, dh_T)
        np.copyto(dc_next, dc_T)
        for k in range(T - 1, -1, -1):
            a, da, tc = A[k], dA[k], TC[k]
            o, i, f, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            np.add(dhs[:, k], dh_next, out=dh)         # dh = ∂L/∂h_t from the output + from step t+1
            sq[k] = np.vdot(dh, dh)
            np.multiply(dh, tc, out=da[:, :H])          # do = dh * tanh(c)
            np.multiply(tc, tc, out=tmp)
            np.subtract(1, tmp, out=tmp)                # 1 - tanh²(c)
            np.multiply(dh, o, out=dc)
            dc *= tmp
            dc += dc_next                               # dc = dh * o * (1 - tanh²(c)) + dc_next
            np.multiply(dc, g, out=da[:, H:2 * H])      # di = dc * g
            np.multiply(dc, Cb[k], out=da[:, 2 * H:3 * H])  # df = dc * c_{t-1}
            np.multiply(dc, i, out=da[:, 3 * H:])       # dg = dc * i
            np.multiply(a, a, out=act)                  # [o², i², f², g²]
            np.subtract(a[:, :3 * H], act[:, :3 * H], out=act[:, :3 * H])  # σ' = σ - σ² for o, i, f
            np.subtract(1, act[:, 3 * H:], out=act[:, 3 * H:])              # tanh' = 1 - g²
            da *= act                                   # da = d(gate) * gate'(a)
            if self.partial is not None and self.partial[k]:
                real, padded = self.real[k], self.padded[k]
                da *= real                                         # masked rows: no gradient to the weights
                np.multiply(dc, f, out=dc_next, where=~padded)     # dc_prev = dc * f; masked rows keep dc_next
                np.matmul(da, W_hhT, out=dh_next)                  # dh_prev = da W_hh^T
                np.copyto(dh_next, dh, where=padded)               # masked rows: dh_prev = dh
            else:
                np.multiply(dc, f, out=dc_next)                    # dc_prev = dc * f
                np.matmul(da, W_hhT, out=dh_next)                  # dh_prev = da W_hh^T

        self._store_dh_norms(sq)
        dA2 = dA.reshape(T * N, 4 * H)
        dW_ih = (Xt.reshape(T * N, I).T @ dA2)[:, inv]      # dW_ih = Σ_t x_t^T da_t, back to i, f, g, o
        dW_hh = (Hb[:T].reshape(T * N, H).T @ dA2)[:, inv]  # dW_hh = Σ_t h_{t-1}^T da_t
        db = dA2.sum(axis=0)[inv]                            # db = Σ_t da_t
        dx = None
        if self._needs(0):
            dx = self._input_grad((dA2 @ self.W_ih.T[perm]).reshape(T, N, I))  # dx_t = da_t W_ih^T
        dh0, dc0 = dh_next.copy(), dc_next.copy()
        _POOL.give_back(bkey, bws)
        return dx, dh0, dc0, dW_ih, dW_hh, db


# ---- GRU ------------------------------------------------------------------------------------------------

_GRU_PUBLIC = ("r", "z", "n")
_GRU_INPUT_INTERNAL = ("n", "r", "z")  # x side; the recurrent side keeps the public r, z, n


class GRUSequence(_Sequence):
    """The GRU over a whole sequence (Cho et al. 2014; Keras reset_after=True, PyTorch's formulation):

        r  = σ(x W_r + b_ir + h U_r + b_hr)          reset gate
        z  = σ(x W_z + b_iz + h U_z + b_hz)          update gate
        n  = tanh(x W_n + b_in + r * (h U_n + b_hn)) candidate state
        h' = (1 - z) * n + z * h

    forward(x (N, T, I), h0 (N, H), W_ih (I, 3H), W_hh (H, 3H), b_ih (3H,), b_hh (3H,))
        -> (hs (N, T, H), h_T (N, H)); gate columns r, z, n.
    """

    cell = "GRUSequence"

    def forward(
        self, x: np.ndarray, h0: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b_ih: np.ndarray,
        b_hh: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        N, T, I = _check_x(self.cell, x)
        H = W_hh.shape[0] if W_hh.ndim == 2 else -1
        for name, arr, shape in (("W_hh", W_hh, (H, 3 * H)), ("W_ih", W_ih, (I, 3 * H)),
                                 ("b_ih", b_ih, (3 * H,)), ("b_hh", b_hh, (3 * H,)), ("h0", h0, (N, H))):
            _check_shape(self.cell, name, arr, shape, x.dtype)
        self._steps_mask(N, T, x.dtype)
        key = ("gru", N, T, I, H, x.dtype)
        ws = _POOL.take(key, {"Xt": (T, N, I), "A": (T, N, 3 * H), "HU": (T, N, 3 * H), "Hb": (T + 1, N, H),
                              "HmN": (T, N, H), "rhn": (N, H)}, x.dtype)
        Xt, A, HU, Hb, HmN, rhn = (ws[n] for n in ("Xt", "A", "HU", "Hb", "HmN", "rhn"))
        # A[k] = [n | r | z] of step k (x side, then the gates); HU[k] = [h U_r, h U_z, h U_n + b_hn];
        # HmN[k] = h_{t-1} - n; Hb[k+1] = h_t

        perm, _ = _gate_order(_GRU_PUBLIC, _GRU_INPUT_INTERNAL, H)
        half_x = _gate_scale(_GRU_INPUT_INTERNAL, "rz", H, x.dtype)
        half_h = _gate_scale(_GRU_PUBLIC, "rz", H, x.dtype)
        b_rz = np.concatenate([b_hh[:2 * H], np.zeros(H, x.dtype)])  # b_hr, b_hz add like b_ir, b_iz
        Wx, bx = W_ih[:, perm] * half_x, (b_ih + b_rz)[perm] * half_x  # halved for r, z: tanh(a/2) below
        Wh, b_hn = W_hh * half_h, b_hh[2 * H:]

        _time_major(x, self.reverse, Xt)
        np.matmul(Xt.reshape(T * N, I), Wx, out=A.reshape(T * N, 3 * H))  # x_t W_ih, all steps at once
        A += bx                                                              #   + b_ih (+ b_hr, b_hz)
        Hb[0] = h0
        for k in range(T):
            a, hu, h = A[k], HU[k], Hb[k + 1]
            n, rz, r, z = a[:, :H], a[:, H:], a[:, H:2 * H], a[:, 2 * H:]
            hn = hu[:, 2 * H:]
            np.matmul(Hb[k], Wh, out=hu)  # h_{t-1} U for r, z, n in one product
            hn += b_hn                     # h U_n + b_hn
            rz += hu[:, :2 * H]            # a_r, a_z = x W + b + h U  (halved)
            np.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5                      # r, z = σ(a) = 0.5 tanh(a/2) + 0.5
            np.multiply(r, hn, out=rhn)
            n += rhn
            np.tanh(n, out=n)              # n = tanh(x W_n + b_in + r * (h U_n + b_hn))
            np.subtract(Hb[k], n, out=HmN[k])
            np.multiply(z, HmN[k], out=h)
            h += n                         # h_t = (1 - z) n + z h_{t-1} = n + z (h_{t-1} - n)
            if self.partial is not None and self.partial[k]:
                np.copyto(h, Hb[k], where=self.padded[k])  # masked rows: h_t = h_{t-1}

        self.W_ih, self.W_hh, self.x_shape = W_ih, W_hh, x.shape
        self._done_forward(key, ws)
        return self._outputs(Hb), Hb[T].copy()

    def backward(self, dhs: np.ndarray, dh_T: np.ndarray) -> tuple[np.ndarray | None, ...]:
        """Back through time. dh = the total gradient reaching h_t (from hs[:, t] and from step t+1):

            da_n    = dh * (1 - z) * (1 - n²)              (h_t = n + z (h_{t-1} - n), n = tanh(a_n))
            da_z    = dh * (h_{t-1} - n) * z (1 - z)
            da_r    = da_n * (h U_n + b_hn) * r (1 - r)
            dhu_n   = da_n * r                             (the gradient of h U_n + b_hn)
            dh_prev = dh * z + [da_r, da_z, dhu_n] W_hh^T
        then over all steps at once:
            dW_ih = X^T [da_r, da_z, da_n],        db_ih = Σ [da_r, da_z, da_n]
            dW_hh = H_prev^T [da_r, da_z, dhu_n],  db_hh = Σ [da_r, da_z, dhu_n],   dx = [da_r, da_z, da_n] W_ih^T
        One buffer D[k] = [da_n | da_r | da_z | dhu_n] holds both: D[..., :3H] is the x side (internal order
        n, r, z) and D[..., H:] the recurrent side (public order r, z, n).
        A masked step has D = 0 and passes dh straight to dh_prev.
        """
        N, T, I = self.x_shape
        H = self.W_hh.shape[0]
        Xt, A, HU, Hb, HmN = (self._ws[n] for n in ("Xt", "A", "HU", "Hb", "HmN"))
        bkey = ("gru-back", N, T, H, dh_T.dtype)
        bws = _POOL.take(bkey, {"D": (T, N, 4 * H), "dh": (N, H), "dhz": (N, H), "dh_next": (N, H),
                                "tmp": (N, H), "act": (N, 2 * H)}, dh_T.dtype)
        D, dh, dhz, dh_next, tmp, act = (bws[n] for n in ("D", "dh", "dhz", "dh_next", "tmp", "act"))
        perm, inv = _gate_order(_GRU_PUBLIC, _GRU_INPUT_INTERNAL, H)
        W_hhT = np.ascontiguousarray(self.W_hh.T)  # (3H, H): dh_prev = [da_r, da_z, dhu_n] W_hh^T
        dhs = self._output_grad(dhs)
        sq = np.empty(T)

        np.copyto(dh_next, dh_T)
        for k in range(T - 1, -1, -1):
            a, d = A[k], D[k]
            n, rz, r, z = a[:, :H], a[:, H:], a[:, H:2 * H], a[:, 2 * H:]
            da_n, da_rz = d[:, :H], d[:, H:3 * H]
            np.add(dhs[:, k], dh_next, out=dh)       # dh = ∂L/∂h_t from the output + from step t+1
            sq[k] = np.vdot(dh, dh)
            np.multiply(dh, z, out=dhz)              # dh * z: the direct path to h_{t-1}
            np.subtract(dh, dhz, out=da_n)           # dn = dh * (1 - z)
            np.multiply(n, n, out=tmp)
            np.subtract(1, tmp, out=tmp)
            da_n *= tmp                              # da_n = dn * (1 - n²)
            np.multiply(da_n, HU[k][:, 2 * H:], out=d[:, H:2 * H])  # dr = da_n * (h U_n + b_hn)
            np.multiply(dh, HmN[k], out=d[:, 2 * H:3 * H])          # dz = dh * (h_{t-1} - n)
            np.subtract(1, rz, out=act)
            act *= rz
            da_rz *= act                             # da_r, da_z = dr, dz * σ(1 - σ)
            np.multiply(da_n, r, out=d[:, 3 * H:])   # dhu_n = da_n * r
            if self.partial is not None and self.partial[k]:
                d *= self.real[k]                                  # masked rows: no gradient to the weights
                np.matmul(d[:, H:], W_hhT, out=dh_next)
                dh_next += dhz                                     # dh_prev = [da_r, da_z, dhu_n] W_hh^T + dh z
                np.copyto(dh_next, dh, where=self.padded[k])       # masked rows: dh_prev = dh
            else:
                np.matmul(d[:, H:], W_hhT, out=dh_next)
                dh_next += dhz                                     # dh_prev = [da_r, da_z, dhu_n] W_hh^T + dh z

        self._store_dh_norms(sq)
        Dx = D[..., :3 * H].reshape(T * N, 3 * H)  # [da_n, da_r, da_z]: strided rows, which BLAS reads as is
        Dh = D[..., H:].reshape(T * N, 3 * H)      # [da_r, da_z, dhu_n]
        dW_ih = (Xt.reshape(T * N, I).T @ Dx)[:, inv]   # dW_ih = Σ_t x_t^T [da_r, da_z, da_n]
        dW_hh = Hb[:T].reshape(T * N, H).T @ Dh         # dW_hh = Σ_t h_{t-1}^T [da_r, da_z, dhu_n]
        sums = D.reshape(T * N, 4 * H).sum(axis=0)      # Σ_t [da_n, da_r, da_z, dhu_n]
        db_ih = sums[:3 * H][inv]
        db_hh = sums[H:].copy()
        dx = None
        if self._needs(0):
            dx = self._input_grad((Dx @ self.W_ih.T[perm]).reshape(T, N, I))  # dx_t = [da_n, da_r, da_z] W_ih^T
        dh0 = dh_next.copy()
        _POOL.give_back(bkey, bws)
        return dx, dh0, dW_ih, dW_hh, db_ih, db_hh
