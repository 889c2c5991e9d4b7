"""The recurrent layers as fused kernels: one Function runs RNN, LSTM or GRU over a whole sequence, and
one plain NumPy function runs one step of it without a graph (incremental decoding).

`rnn_ref.py` writes each cell with minigrad ops and lets autograd build the backward pass: about 20
graph nodes per time step. Here one `Function` does the whole sequence in NumPy and its `backward` is
derived by hand, so a training step costs little more than its matrix multiplications. Same parameters,
same numbers (the tests compare both to 1e-10 in float64).

    hs, h_T      = RNNSequence(nonlinearity="tanh")(x, h0, W_ih, W_hh, b)
    hs, h_T, c_T = LSTMSequence()(x, h0, c0, W_ih, W_hh, b)
    hs, h_T      = GRUSequence()(x, h0, W_ih, W_hh, b_ih, b_hh)
    h, c         = lstm_step(x_t, h, c, W, I)       (rnn_step, gru_step: one step, arrays, no graph)

Shapes: x (N, T, I), h0 and c0 (N, H), hs (N, T, H), h_T and c_T (N, H). Weights in Keras's layout,
G gates per cell (RNN 1, LSTM 4 in the order i, f, g, o; GRU 3 in the order r, z, n), gate k owning the
columns k*H .. (k+1)*H:  W_ih (I, G*H), W_hh (H, G*H), b (G*H,).

Options (given to the constructor; one Function instance per call, like every op):
    reverse=True  Keras's go_backwards: steps run from t = T-1 down to 0, and hs is in the order the steps
                  ran: hs[:, k] is the output after reading x[:, T-1-k].
    mask (N, T)   bool or 0/1 (the rule of rnn_checks.check_mask, the layers' rule), True = a real step.
                  At a masked step the state (h and c) is carried over unchanged and the output hs[:, k]
                  is 0; no gradient reaches the weights from it, the state's gradient passes straight through.
                  mask[:, t] refers to input position t, also when reverse=True.
    packed        the rows [W_ih; b] as ONE (I+1, G*H) array (GRU: [W_ih; b_ih; (b_hr, b_hz, 0)], (I+2, 3H)).
                  The layers keep their parameters as views of one buffer [W_ih; b; W_hh] (GRU: [W_ih; b_ih;
                  (b_hr, b_hz, 0); W_hh; b_hh]), so the input GEMM below needs no copy of the weights; the
                  Function checks (by address, O(1); the GRU's derived row by value, O(H)) that `packed`
                  really holds the weights it is given, and stacks them itself otherwise.
After backward, `fn.dh_norms` (T,) holds ||dL/dh_t|| (the total gradient reaching the state produced at
input position t: from hs and through the recurrence), to plot vanishing gradients.

How it is fast (measured with benchmarks/rnn.py, figures in the README's benchmarks section):
  * x W_ih + b for all T steps is one matrix multiplication (GEMM) before the time loop (the bias rides
    in it as a row of the weights, against a column of ones in x); each step then needs one GEMM for all
    its gates, h_{t-1} W_hh (N, H) @ (H, G*H);
  * the kernels read the parameters in their public (Keras) layout: nothing is reordered, rescaled or
    copied per call in the forward, so a T = 1 call (decoding one token) costs its GEMM and a few small
    elementwise calls;
  * inside, arrays are time-major (T, N, ...), and the gates are kept GATE-MAJOR: A[k, j] is gate j of step
    k, one contiguous (N, H) block. NumPy's elementwise calls on column slices of an (N, 4H) array
    (a[:, H:2H]) are 3-5x slower than on contiguous blocks, and a step makes a dozen of them. The GEMM
    writes (N, G*H) rows; the first elementwise call of the step reads them as (G, N, H) and writes
    gate-major, so the reordering costs no extra call;
  * sigmoid(a) = 0.5 tanh(0.5 a) + 0.5: one tanh call covers all four LSTM gates (GRU: r and z together),
    with the 0.5 applied by a per-gate multiplier, and it never overflows;
  * every elementwise step writes into preallocated arrays (out=), reused by the next call with the same
    shapes (the workspace pool below) instead of being allocated again;
  * backward writes the gates' gradients into one row-major (T, N, G*H) array in the public gate order:
    dh_prev is one GEMM per step against a contiguous copy of W_hh^T (made once per call when T >= 3: BLAS
    reads a transposed operand 20-40% slower), dW_ih (with db as its extra row) and dW_hh one GEMM each
    over all steps after the loop, already in the public layout; dx is computed only if x requires a
    gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import autograd_mode
from minigrad.function import Function
from minigrad.nn.rnn_checks import check_float, check_mask, check_shape
from minigrad.tensor import Tensor

# ---- the workspace pool: arrays reused from one call to the next ----------------------------------------


class _WorkspacePool:
    """Keeps the big intermediate arrays of finished calls, to reuse them in the next call of the same shape.

    Allocating ~10 MB of fresh arrays per training step costs page faults on every call (PERF.md). A forward
    takes a workspace (a dict of arrays) for its key (kind of cell and shapes); the Function keeps it while
    backward may still need it and gives it back in release(), i.e. after backward. A forward that runs
    while the last workspace is still held (two stacked layers, or two forwards before one backward) does
    not find a free one and gets new arrays: nothing a pending backward needs is ever overwritten.
    Nothing in a workspace is ever returned to the caller. Free workspaces are kept up to `max_free` of
    them and `max_bytes` in all, the oldest dropped first (e.g. shapes of a sequence length not seen again).
    """

    def __init__(self, max_free: int = 8, max_bytes: int = 256 * 2**20) -> None:
        self.max_free, self.max_bytes = max_free, max_bytes
        self._free: list[tuple[tuple[Any, ...], dict[str, np.ndarray]]] = []

    def take(self, key: tuple[Any, ...], shapes: dict[str, tuple[int, ...]], dtype: np.dtype) -> dict:
        """A free workspace for `key`, or new (uninitialised) arrays of the given shapes."""
        for j in range(len(self._free) - 1, -1, -1):
            if self._free[j][0] == key:
                return self._free.pop(j)[1]
        return {name: np.empty(shape, dtype) for name, shape in shapes.items()}

    def give_back(self, key: tuple[Any, ...], ws: dict[str, np.ndarray]) -> None:
        self._free.append((key, ws))
        while len(self._free) > self.max_free or (len(self._free) > 1 and self.nbytes() > self.max_bytes):
            self._free.pop(0)

    def nbytes(self) -> int:
        return sum(a.nbytes for _, ws in self._free for a in ws.values())

    def clear(self) -> None:
        self._free.clear()


_POOL = _WorkspacePool()


# ---- checks and helpers shared by the three cells -------------------------------------------------------


def _check_shape(cell: str, name: str, arr: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """One clear error for a wrong shape (ValueError) or dtype (TypeError), by the rules of rnn_checks."""
    check_shape(cell, name, arr.shape, shape)
    check_float(arr.dtype, cell, name, dtype, against="x is")


def _check_x(cell: str, x: np.ndarray) -> tuple[int, int, int]:
    if x.ndim != 3:
        raise ValueError(f"{cell}: x must have shape (N, T, I), got {x.shape}")
    check_float(x.dtype, cell, "x")
    N, T, I = x.shape
    if T == 0 or N == 0:
        raise ValueError(f"{cell}: empty input: x has shape {x.shape} (need N >= 1 and T >= 1)")
    return N, T, I


def _inputs_with_ones(x: np.ndarray, reverse: bool, out: np.ndarray) -> np.ndarray:
    """out[k] = [x[:, t], 1] for the k-th step run (t = k, or T-1-k when reverse): (N, T, I) -> (T, N, I+1)
    (the GRU's has two columns of ones, (T, N, I+2)).

    The column of ones carries the bias through the input GEMM, [x, 1] @ [W_ih; b] = x W_ih + b, and its
    gradient back: the last row of [X, 1]^T @ da is Σ_t da_t = db. No separate pass over the big arrays.
    """
    I = x.shape[2]
    xt = x.transpose(1, 0, 2)
    np.copyto(out[..., :I], xt[::-1] if reverse else xt)
    out[..., I:] = 1
    return out


def _gates(a: np.ndarray, G: int) -> np.ndarray:
    """A row-major (..., N, G*H) view as gate-major (..., G, N, H): gate j is [..., j], without copying.

    Taken once per call for the whole (T, N, G*H) buffer, not per step: at small sizes (W3) the views
    themselves cost ~20% of a training step when made 2T times."""
    return np.swapaxes(a.reshape(*a.shape[:-1], G, -1), -3, -2)


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _is_stacked(packed: np.ndarray | None, W: np.ndarray, b: np.ndarray) -> bool:
    """Is `packed` the rows [W; b] in memory (so the two need no stacking)? O(1): addresses and strides."""
    if packed is None or packed.dtype != W.dtype or packed.shape != (W.shape[0] + 1, W.shape[1]):
        return False
    row = packed.strides[0]
    return (W.strides == packed.strides and b.strides == packed.strides[1:]
            and _address(W) == _address(packed) and _address(b) == _address(packed) + W.shape[0] * row)


def _stacked(packed: np.ndarray | None, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[W; b] (K+1, M): `packed` itself when it holds exactly these two, else a new stacked copy."""
    return packed if _is_stacked(packed, W, b) else np.concatenate([W, b[None, :]])


def _gru_input_weights(packed: np.ndarray | None, W_ih: np.ndarray, b_ih: np.ndarray,
                       b_hh: np.ndarray) -> np.ndarray:
    """[W_ih; b_ih; (b_hr, b_hz, 0)] (I+2, 3H) for the GRU's input GEMM against [x, 1, 1]: b_hr and b_hz add
    to the pre-activation like b_ir and b_iz, so they ride in the GEMM too (b_hn cannot: it sits inside
    r * (...)). `packed` itself if its first I+1 rows are W_ih and b_ih in memory (addresses, O(1)) and its
    last row holds (b_hr, b_hz, 0) (values, O(H)); else a new stacked copy."""
    I, GH = W_ih.shape
    H = GH // 3
    if (packed is not None and packed.shape == (I + 2, GH) and _is_stacked(packed[:I + 1], W_ih, b_ih)
            and np.array_equal(packed[I + 1, :2 * H], b_hh[:2 * H]) and not packed[I + 1, 2 * H:].any()):
        return packed
    extra = np.concatenate([b_hh[:2 * H], np.zeros(H, b_hh.dtype)])
    return np.concatenate([W_ih, b_ih[None, :], extra[None, :]])


def _transposed(W: np.ndarray, T: int, held: list) -> np.ndarray:
    """W^T for the backward's dh = da W^T, once per call: a C-contiguous copy when the call has T >= 3 steps
    (BLAS multiplies by a transposed operand 20-40% slower than by a contiguous one), a view for T < 3 (a
    copy would cost more than it saves: a decoding step pays for nothing proportional to the weights but
    its GEMMs).

    The copy goes through a buffer whose rows are 16 elements longer: NumPy's transposing copy of a
    (256, 1024) float32 array straight from W is ~4x slower (its power-of-two row stride keeps hitting the
    same cache sets). Both buffers come from the workspace pool; `held` collects them for the caller to
    give back (_give_back_all) when its backward is done.
    """
    if T < 3:
        return W.T
    K, M = W.shape
    key = ("transpose", K, M, W.dtype)
    ws = _POOL.take(key, {"padded": (K, M + 16), "out": (M, K)}, W.dtype)
    held.append((key, ws))
    padded, out = ws["padded"], ws["out"]
    padded[:, :M] = W
    np.copyto(out, padded[:, :M].T)
    return out


def _give_back_all(held: list) -> None:
    for key, ws in held:
        _POOL.give_back(key, ws)


class _Sequence(Function):
    """What the three cells share: the options, the mask in step order, the workspace, dh_norms."""

    cell = "Sequence"
    _for_backward = True  # forward() called directly, not through __call__: keep the workspace

    def __init__(self, reverse: bool = False, mask: Any = None, packed: np.ndarray | None = None) -> None:
        self.reverse = bool(reverse)
        self.mask = check_mask(mask, None, self.cell)
        self.packed = packed  # [W_ih; b] as one array, if the caller has it (see the module docstring)

    def __call__(self, *inputs: Any) -> Any:
        # forward must know whether a backward can follow: if not, the workspace goes straight back.
        self._for_backward = autograd_mode.enabled and any(
            isinstance(t, Tensor) and t.requires_grad for t in inputs
        )
        return super().__call__(*inputs)

    def _steps_mask(self, x_shape: tuple[int, ...], dtype: np.dtype) -> None:
        """The mask in step order, k = 0..T-1 as the steps run (all None if every step is real).

        self.real (T, N, 1) float: 1 = real step;  self.padded (T, N, 1) bool: True = masked;
        self.partial (T,) bool: the step has at least one masked row (only those need extra work).
        """
        m = self.mask
        self.real = self.padded = self.partial = None
        if m is None:
            return
        check_mask(m, x_shape, self.cell)  # the shape: the values were checked in __init__
        if m.all():
            return
        steps = m.T[::-1] if self.reverse else m.T  # (T, N): row k = the k-th step run
        self.real = steps.astype(dtype)[:, :, None]
        self.padded = ~steps[:, :, None]
        self.partial = self.padded.any(axis=(1, 2))

    def _masked_steps(self, T: int) -> list[bool]:
        """[k] = step k has a masked row (a plain list: read once per step in the loops)."""
        return [False] * T if self.partial is None else self.partial.tolist()

    def _outputs(self, Hb: np.ndarray) -> np.ndarray:
        """hs (N, T, H) from the time-major states Hb[1:], 0 at masked steps: a new array, the caller's."""
        states = Hb[1:].transpose(1, 0, 2)
        if self.real is None:
            return states.copy()
        return states * self.real.transpose(1, 0, 2)

    def _output_grad(self, dhs: np.ndarray) -> np.ndarray:
        """The gradient reaching the states from hs: dhs (N, T, H), 0 at masked steps (their output is 0)."""
        return dhs if self.real is None else dhs * self.real.transpose(1, 0, 2)

    def _store_dh_norms(self, dH: np.ndarray) -> None:
        """dH[k] = dh of step k (T, N, H) -> self.dh_norms[t] = ||dh|| at input position t, as float64."""
        T = dH.shape[0]
        flat = dH.reshape(T, -1)
        sq = (flat[:, None, :] @ flat[:, :, None]).ravel()  # row-wise dot products: ||dh_k||², one call
        norms = np.sqrt(sq.astype(np.float64))
        self.dh_norms = norms[::-1].copy() if self.reverse else norms

    def _input_grad(self, dXt: np.ndarray) -> np.ndarray:
        """dx (N, T, I) from its time-major, step-ordered version."""
        dx = dXt.transpose(1, 0, 2)
        return dx[:, ::-1] if self.reverse else dx

    def _needs(self, i: int) -> bool:
        """Does input i want a gradient? (True if backward is called by hand, without a recorded graph)."""
        inputs = self.__dict__.get("inputs")
        return inputs is None or inputs[i].requires_grad

    def _done_forward(self, key: tuple[Any, ...], ws: dict[str, np.ndarray]) -> None:
        """Keep the workspace for backward, or give it back at once when no backward can come."""
        if self._for_backward:
            self._ws_key, self._ws = key, ws
        else:
            _POOL.give_back(key, ws)

    def release(self) -> None:
        """Give the workspace back to the pool and drop everything else, but keep dh_norms for the layer."""
        ws = self.__dict__.get("_ws")
        if ws is not None:
            _POOL.give_back(self._ws_key, ws)
        norms = self.__dict__.get("dh_norms")
        super().release()
        if norms is not None:
            self.dh_norms = norms


# ---- simple RNN -----------------------------------------------------------------------------------------


class RNNSequence(_Sequence):
    """The simple (Elman) RNN, Keras's SimpleRNN, over a whole sequence:

        h_t = act(x_t W_ih + h_{t-1} W_hh + b),   act = tanh or relu

    forward(x (N, T, I), h0 (N, H), W_ih (I, H), W_hh (H, H), b (H,)) -> (hs (N, T, H), h_T (N, H)).
    """

    cell = "RNNSequence"

    def __init__(
        self, nonlinearity: str = "tanh", reverse: bool = False, mask: Any = None, packed: np.ndarray | None = None
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNSequence: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(reverse, mask, packed)
        self.nonlinearity = nonlinearity

    def forward(
        self, x: np.ndarray, h0: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        N, T, I = _check_x(self.cell, x)
        H = W_hh.shape[0] if W_hh.ndim == 2 else -1
        for name, arr, shape in (("W_hh", W_hh, (H, H)), ("W_ih", W_ih, (I, H)), ("b", b, (H,)),
                                 ("h0", h0, (N, H))):
            _check_shape(self.cell, name, arr, shape, x.dtype)
        self._steps_mask(x.shape, x.dtype)
        key = ("rnn", N, T, I, H, x.dtype)
        ws = _POOL.take(key, {"Xt": (T, N, I + 1), "Hb": (T + 1, N, H), "hW": (N, H)}, x.dtype)
        Xt, Hb, hW = ws["Xt"], ws["Hb"], ws["hW"]
        # Hb[0] = h0, Hb[k+1] = the state after step k (so Hb[:T] are the h_{t-1} that dW_hh needs)

        _inputs_with_ones(x, self.reverse, Xt)
        Wb = _stacked(self.packed, W_ih, b)                                    # [W_ih; b] (I+1, H)
        np.matmul(Xt.reshape(T * N, I + 1), Wb, out=Hb[1:].reshape(T * N, H))  # x_t W_ih + b, all steps
        Hb[0] = h0
        relu = self.nonlinearity == "relu"
        masked = self._masked_steps(T)
        for k in range(T):
            h = Hb[k + 1]
            np.matmul(Hb[k], W_hh, out=hW)  # h_{t-1} W_hh
            h += hW                          # a_t = x_t W_ih + b + h_{t-1} W_hh
            if relu:
                np.maximum(h, 0, out=h)      # h_t = relu(a_t)
            else:
                np.tanh(h, out=h)            # h_t = tanh(a_t)
            if masked[k]:
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
        bws = _POOL.take(bkey, {"dH": (T, N, H), "dA": (T, N, H), "dh_next": (N, H)}, dh_T.dtype)
        dH, dA, dh_next = bws["dH"], bws["dA"], bws["dh_next"]
        held: list = []
        W_hhT = _transposed(self.W_hh, T, held)
        dhs = self._output_grad(dhs)
        relu = self.nonlinearity == "relu"

        np.copyto(dh_next, dh_T)
        masked = self._masked_steps(T)
        for k in range(T - 1, -1, -1):
            h, da = Hb[k + 1], dA[k]
            dh = dH[k]                      # (kept for dh_norms)
            np.add(dhs[:, k], dh_next, out=dh)  # dh = ∂L/∂h_t from the output + from step t+1
            if relu:
                np.greater(h, 0, out=da)     # relu' = [h_t > 0]
            else:
                np.multiply(h, h, out=da)
                np.subtract(1, da, out=da)   # tanh' = 1 - h_t²
            da *= dh                         # da = dh * act'
            if masked[k]:
                da *= self.real[k]                            # masked rows: no gradient to the weights
                np.matmul(da, W_hhT, out=dh_next)             # dh_prev = da W_hh^T
                np.copyto(dh_next, dh, where=self.padded[k])  # masked rows: dh_prev = dh
            else:
                np.matmul(da, W_hhT, out=dh_next)             # dh_prev = da W_hh^T

        self._store_dh_norms(dH)
        dA2 = dA.reshape(T * N, H)
        dWb = Xt.reshape(T * N, I + 1).T @ dA2          # [dW_ih; db] = Σ_t [x_t, 1]^T da_t
        dW_ih, db = dWb[:I], dWb[I]
        dW_hh = Hb[:T].reshape(T * N, H).T @ dA2        # dW_hh = Σ_t h_{t-1}^T da_t
        dx = None
        if self._needs(0):
            dx = self._input_grad((dA2 @ _transposed(self.W_ih, T, held)).reshape(T, N, I))  # dx_t = da_t W_ih^T
        dh0 = dh_next.copy()
        _POOL.give_back(bkey, bws)
        _give_back_all(held)
        return dx, dh0, dW_ih, dW_hh, db


# ---- LSTM -----------------------------------------------------------------------------------------------

# Gate order i, f, g, o (public and inside). σ(a) = 0.5 tanh(a/2) + 0.5 for i, f, o; g = tanh(a): one tanh
# call for all four gates between a multiply by SCALE and `* SCALE + SHIFT` (1 and 0 leave g as it is).
_LSTM_SCALE = np.array([0.5, 0.5, 1.0, 0.5])[:, None, None]
_LSTM_SHIFT = np.array([0.5, 0.5, 0.0, 0.5])[:, None, None]


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
        self._steps_mask(x.shape, x.dtype)
        key = ("lstm", N, T, I, H, x.dtype)
        ws = _POOL.take(key, {"Xt": (T, N, I + 1), "P": (T, N, 4 * H), "A": (T, 4, N, H), "hW": (N, 4 * H),
                              "Hb": (T + 1, N, H), "Cb": (T + 1, N, H), "TC": (T, N, H), "ig": (N, H)},
                        x.dtype)
        Xt, P, A, hW, Hb, Cb, TC, ig = (ws[n] for n in ("Xt", "P", "A", "hW", "Hb", "Cb", "TC", "ig"))
        # P[k] = x W + b of step k (N, 4H), row-major as the matmul writes it;  A[k] = the gates i, f, g, o
        # of step k, gate-major (4, N, H);  Hb[k+1], Cb[k+1] = h_t, c_t (Hb[0], Cb[0] = h0, c0);
        # TC[k] = tanh(c_t)

        scale, shift = _LSTM_SCALE.astype(x.dtype), _LSTM_SHIFT.astype(x.dtype)
        _inputs_with_ones(x, self.reverse, Xt)
        Wb = _stacked(self.packed, W_ih, b)                                    # [W_ih; b] (I+1, 4H)
        np.matmul(Xt.reshape(T * N, I + 1), Wb, out=P.reshape(T * N, 4 * H))  # x_t W_ih + b, all steps
        Hb[0], Cb[0] = h0, c0
        masked = self._masked_steps(T)
        Pg = _gates(P, 4)  # (T, 4, N, H) view of P
        for k in range(T):
            a, c, h, tc = A[k], Cb[k + 1], Hb[k + 1], TC[k]
            np.matmul(Hb[k], W_hh, out=hW)   # h_{t-1} W_hh: all four gates in one GEMM
            P[k] += hW                       # a = x W + b + h U
            np.multiply(Pg[k], scale, out=a)  # a/2 for i, f, o, a for g; now gate-major
            np.tanh(a, out=a)
            a *= scale
            a += shift                       # i, f, o = 0.5 tanh(a/2) + 0.5 = σ(a);  g = tanh(a_g)
            i, f, g, o = a
            np.multiply(f, Cb[k], out=c)     # c_t = f * c_{t-1}
            np.multiply(i, g, out=ig)
            c += ig                          #       + i * g
            np.tanh(c, out=tc)
            np.multiply(o, tc, out=h)        # h_t = o * tanh(c_t)
            if masked[k]:
                np.copyto(h, Hb[k], where=self.padded[k])  # masked rows keep their state:
                np.copyto(c, Cb[k], where=self.padded[k])  # h_t = h_{t-1}, c_t = c_{t-1}

        self.W_ih, self.W_hh, self.x_shape = W_ih, W_hh, x.shape
        self._done_forward(key, ws)
        return self._outputs(Hb), Hb[T].copy(), Cb[T].copy()

    def backward(self, dhs: np.ndarray, dh_T: np.ndarray, dc_T: np.ndarray) -> tuple[np.ndarray | None, ...]:
        """Back through time. dh = the total gradient reaching h_t (from hs[:, t] and from step t+1),
        dc_next = the gradient reaching c_t from step t+1; with the gates i, f, g, o of step t:

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
        bws = _POOL.take(bkey, {"dH": (T, N, H), "dA": (T, N, 4 * H), "dgate": (4, N, H), "act": (4, N, H),
                                "dc": (N, H), "dh_next": (N, H), "dc_next": (N, H), "tmp": (N, H)},
                        dh_T.dtype)
        dH, dA, dgate, act, dc, dh_next, dc_next, tmp = (
            bws[n] for n in ("dH", "dA", "dgate", "act", "dc", "dh_next", "dc_next", "tmp"))
        held: list = []
        W_hhT = _transposed(self.W_hh, T, held)  # (4H, H), row blocks i, f, g, o like dA's columns
        dhs = self._output_grad(dhs)
        di, df, dg, do = dgate

        np.copyto(dh_next, dh_T)
        np.copyto(dc_next, dc_T)
        masked = self._masked_steps(T)
        dAg = _gates(dA, 4)  # (T, 4, N, H) view of dA
        for k in range(T - 1, -1, -1):
            a, tc = A[k], TC[k]
            i, f, g, o = a
            dh = dH[k]                      # (kept for dh_norms)
            np.add(dhs[:, k], dh_next, out=dh)  # dh = ∂L/∂h_t from the output + from step t+1
            np.multiply(dh, tc, out=do)      # do = dh * tanh(c)
            np.multiply(tc, tc, out=tmp)
            np.subtract(1, tmp, out=tmp)     # 1 - tanh²(c)
            np.multiply(dh, o, out=dc)
            dc *= tmp
            dc += dc_next                    # dc = dh * o * (1 - tanh²(c)) + dc_next
            np.multiply(dc, g, out=di)       # di = dc * g
            np.multiply(dc, Cb[k], out=df)   # df = dc * c_{t-1}
            np.multiply(dc, i, out=dg)       # dg = dc * i
            np.multiply(a, a, out=act)       # i², f², g², o²
            np.subtract(a[:2], act[:2], out=act[:2])  # σ' = σ - σ² for i, f
            np.subtract(a[3], act[3], out=act[3])     #                and o
            np.subtract(1, act[2], out=act[2])        # tanh' = 1 - g²
            if masked[k]:
                act *= self.real[k]                                  # masked rows: da = 0
                np.multiply(dc, f, out=dc_next, where=~self.padded[k])  # dc_prev = dc * f; masked: dc_next
            else:
                np.multiply(dc, f, out=dc_next)                      # dc_prev = dc * f
            act *= dgate                                             # da = d(gate) * gate'(a)
            np.copyto(dAg[k], act)                                   # into the row-major dA[k] (N, 4H)
            np.matmul(dA[k], W_hhT, out=dh_next)                     # dh_prev = da W_hh^T
            if masked[k]:
                np.copyto(dh_next, dh, where=self.padded[k])         # masked rows: dh_prev = dh

        self._store_dh_norms(dH)
        dA2 = dA.reshape(T * N, 4 * H)
        dWb = Xt.reshape(T * N, I + 1).T @ dA2          # [dW_ih; db] = Σ_t [x_t, 1]^T da_t
        dW_ih, db = dWb[:I], dWb[I]
        dW_hh = Hb[:T].reshape(T * N, H).T @ dA2        # dW_hh = Σ_t h_{t-1}^T da_t
        dx = None
        if self._needs(0):
            dx = self._input_grad((dA2 @ _transposed(self.W_ih, T, held)).reshape(T, N, I))  # dx_t = da_t W_ih^T
        dh0, dc0 = dh_next.copy(), dc_next.copy()
        _POOL.give_back(bkey, bws)
        _give_back_all(held)
        return dx, dh0, dc0, dW_ih, dW_hh, db


# ---- GRU ------------------------------------------------------------------------------------------------


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
        self._steps_mask(x.shape, x.dtype)
        key = ("gru", N, T, I, H, x.dtype)
        ws = _POOL.take(key, {"Xt": (T, N, I + 2), "P": (T, N, 3 * H), "A": (T, 3, N, H), "hu": (N, 3 * H),
                              "HUn": (T, N, H), "HmN": (T, N, H), "Hb": (T + 1, N, H)}, x.dtype)
        Xt, P, A, hu, HUn, HmN, Hb = (ws[n] for n in ("Xt", "P", "A", "hu", "HUn", "HmN", "Hb"))
        # P[k] = x W + b of step k (N, 3H), row-major as the matmul writes it;  A[k] = r, z, n of step k,
        # gate-major (3, N, H);  HUn[k] = h U_n + b_hn;  HmN[k] = h_{t-1} - n;  Hb[k+1] = h_t (Hb[0] = h0)

        _inputs_with_ones(x, self.reverse, Xt)                                 # [x_t, 1, 1]
        Wb = _gru_input_weights(self.packed, W_ih, b_ih, b_hh)                 # [W_ih; b_ih; b_hr, b_hz, 0]
        np.matmul(Xt.reshape(T * N, I + 2), Wb, out=P.reshape(T * N, 3 * H))  # x W + b_i (+ b_hr, b_hz)
        b_hn = b_hh[2 * H:]
        Hb[0] = h0
        masked = self._masked_steps(T)
        hu3, Pg = _gates(hu, 3), _gates(P, 3)
        for k in range(T):
            a, h, hun, p3 = A[k], Hb[k + 1], HUn[k], Pg[k]
            rz = a[:2]
            r, z, n = a
            np.matmul(Hb[k], W_hh, out=hu)          # h_{t-1} W_hh: r, z, n in one GEMM
            np.add(hu3[2], b_hn, out=hun)           # h U_n + b_hn
            np.add(hu3[:2], p3[:2], out=rz)         # a_r, a_z = x W + b_i + h U + b_h, now gate-major
            rz *= 0.5
            np.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5                               # r, z = σ(a) = 0.5 tanh(a/2) + 0.5
            np.multiply(r, hun, out=n)
            n += p3[2]
            np.tanh(n, out=n)                       # n = tanh(x W_n + b_in + r * (h U_n + b_hn))
            np.subtract(Hb[k], n, out=HmN[k])
            np.multiply(z, HmN[k], out=h)
            h += n                                  # h_t = (1 - z) n + z h_{t-1} = n + z (h_{t-1} - n)
            if masked[k]:
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
            dW_ih = X^T [da_r, da_z, da_n],        db_ih = Σ [da_r, da_z, da_n],    dx = [...] W_ih^T
            dW_hh = H_prev^T [da_r, da_z, dhu_n],  db_hh = Σ [da_r, da_z, dhu_n]
        One row-major buffer D[k] = [da_r | da_z | dhu_n | da_n] (N, 4H) holds both: D[..., :3H] is the
        recurrent side, D[..., :2H] and D[..., 3H:] the input side, each read by the matmuls in place and
        written straight into the public layout.
        A masked step has D = 0 and passes dh straight to dh_prev.
        """
        N, T, I = self.x_shape
        H = self.W_hh.shape[0]
        Xt, A, HUn, HmN, Hb = (self._ws[n] for n in ("Xt", "A", "HUn", "HmN", "Hb"))
        bkey = ("gru-back", N, T, H, dh_T.dtype)
        bws = _POOL.take(bkey, {"dH": (T, N, H), "D": (T, N, 4 * H), "dgate": (4, N, H), "act": (2, N, H),
                                "dhz": (N, H), "dh_next": (N, H), "tmp": (N, H)}, dh_T.dtype)
        dH, D, dgate, act, dhz, dh_next, tmp = (
            bws[n] for n in ("dH", "D", "dgate", "act", "dhz", "dh_next", "tmp"))
        held: list = []
        W_hhT = _transposed(self.W_hh, T, held)  # (3H, H), row blocks r, z, n like D[..., :3H]
        dhs = self._output_grad(dhs)
        dr, dz, dhun, dn = dgate  # the four column blocks of D, in D's order
        drz = dgate[:2]

        np.copyto(dh_next, dh_T)
        masked = self._masked_steps(T)
        Dg = _gates(D, 4)  # (T, 4, N, H) view of D
        for k in range(T - 1, -1, -1):
            a, d = A[k], D[k]
            r, z, n = a
            dh = dH[k]                      # (kept for dh_norms)
            np.add(dhs[:, k], dh_next, out=dh)  # dh = ∂L/∂h_t from the output + from step t+1
            np.multiply(dh, z, out=dhz)      # dh * z: the direct path to h_{t-1}
            np.subtract(dh, dhz, out=dn)     # dn = dh * (1 - z)
            np.multiply(n, n, out=tmp)
            np.subtract(1, tmp, out=tmp)
            dn *= tmp                        # da_n = dn * (1 - n²)
            np.multiply(dn, HUn[k], out=dr)  # dr = da_n * (h U_n + b_hn)
            np.multiply(dh, HmN[k], out=dz)  # dz = dh * (h_{t-1} - n)
            np.subtract(1, a[:2], out=act)
            act *= a[:2]
            drz *= act                       # da_r, da_z = dr, dz * σ(1 - σ)
            np.multiply(dn, r, out=dhun)     # dhu_n = da_n * r
            if masked[k]:
                dgate *= self.real[k]        # masked rows: no gradient to the weights
            np.copyto(Dg[k], dgate)          # into the row-major D[k] (N, 4H) the GEMMs read
            np.matmul(d[:, :3 * H], W_hhT, out=dh_next)
            dh_next += dhz                   # dh_prev = [da_r, da_z, dhu_n] W_hh^T + dh * z
            if masked[k]:
                np.copyto(dh_next, dh, where=self.padded[k])  # masked rows: dh_prev = dh

        self._store_dh_norms(dH)
        D2 = D.reshape(T * N, 4 * H)
        Xt2 = Xt.reshape(T * N, I + 2)[:, :I + 1]  # [x_t, 1] (the second column of ones is b_hr, b_hz's)
        # [dW_ih; db_ih] = Σ_t [x_t, 1]^T [da_r, da_z, da_n]: two GEMMs writing the public column blocks
        dWb = np.empty((I + 1, 3 * H), dh_T.dtype)
        np.matmul(Xt2.T, D2[:, :2 * H], out=dWb[:, :2 * H])
        np.matmul(Xt2.T, D2[:, 3 * H:], out=dWb[:, 2 * H:])
        dW_ih, db_ih = dWb[:I], dWb[I]
        dW_hh = Hb[:T].reshape(T * N, H).T @ D2[:, :3 * H]            # Σ_t h_{t-1}^T [da_r, da_z, dhu_n]
        dbh_n = np.ones(T * N, dh_T.dtype) @ D2[:, 2 * H:3 * H]       # Σ_t dhu_n as one GEMV (a strided sum
        db_hh = np.concatenate([db_ih[:2 * H], dbh_n])                   # is ~10x slower); b_hr, b_hz: = b_ir, b_iz
        dx = None
        if self._needs(0):
            W_ihT = _transposed(self.W_ih, T, held)                           # (3H, I), rows r, z, n
            dx2 = D2[:, :2 * H] @ W_ihT[:2 * H]
            dx2 += D2[:, 3 * H:] @ W_ihT[2 * H:]                        # dx_t = [da_r, da_z, da_n] W_ih^T
            dx = self._input_grad(dx2.reshape(T, N, I))
        dh0 = dh_next.copy()
        _POOL.give_back(bkey, bws)
        _give_back_all(held)
        return dx, dh0, dW_ih, dW_hh, db_ih, db_hh


# ---- one step without a graph (incremental decoding) ----------------------------------------------------
#
# The layers keep [W_ih; b; W_hh] (GRU: [W_ih; b_ih; (b_hr, b_hz, 0); W_hh; b_hh]) as ONE array W whose row
# blocks their parameters are; against xh = [x, 1, h] one GEMM gives x W_ih + b + h W_hh (GRU: two more for
# the n gate). Nothing is copied or reordered that is proportional to the weights: the cost is the GEMMs and
# a few (N, H) calls.


_CONSTANTS: dict[tuple[Any, ...], np.ndarray] = {}


def _constant(name: str, values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`values` in `dtype`, made once (a decoding step should not pay for converting them every call)."""
    key = (name, values.shape, np.dtype(dtype))
    arr = _CONSTANTS.get(key)
    if arr is None:
        if len(_CONSTANTS) > 256:  # (columns of ones for many batch sizes: keep it small)
            _CONSTANTS.clear()
        arr = _CONSTANTS[key] = values.astype(dtype)
    return arr


def _with_ones(x: np.ndarray, h: np.ndarray, ones: int = 1) -> np.ndarray:
    """[x, 1, h] (GRU: [x, 1, 1, h]) as one (N, I+ones+H) array: one concatenate call."""
    return np.concatenate((x, _constant("ones", np.ones((x.shape[0], ones)), x.dtype), h), axis=1)


def rnn_step(x: np.ndarray, h: np.ndarray, W: np.ndarray, nonlinearity: str = "tanh") -> np.ndarray:
    """h' = act(x W_ih + h W_hh + b): x (N, I), h (N, H), W = [W_ih; b; W_hh] (I+1+H, H) -> h' (N, H)."""
    a = _with_ones(x, h) @ W
    return np.tanh(a, out=a) if nonlinearity == "tanh" else np.maximum(a, 0, out=a)


def lstm_step(x: np.ndarray, h: np.ndarray, c: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The LSTM step of LSTMSequence for one token: x (N, I), h, c (N, H), W = [W_ih; b; W_hh] (I+1+H, 4H)
    -> (h', c')."""
    z = _with_ones(x, h) @ W                          # x W_ih + b + h W_hh (N, 4H): one GEMM
    scale, shift = _constant("scale", _LSTM_SCALE, x.dtype), _constant("shift", _LSTM_SHIFT, x.dtype)
    a = np.multiply(_gates(z, 4), scale)              # gate-major (4, N, H): a/2 for i, f, o
    np.tanh(a, out=a)
    a *= scale
    a += shift                                        # i, f, o = σ(a); g = tanh(a_g)
    i, f, g, o = a
    c_new = f * c
    c_new += i * g                                    # c' = f c + i g
    h_new = np.tanh(c_new)
    h_new *= o                                        # h' = o tanh(c')
    return h_new, c_new


def gru_step(x: np.ndarray, h: np.ndarray, W: np.ndarray) -> np.ndarray:
    """The GRU step of GRUSequence for one token: x (N, I), h (N, H), W = [W_ih; b_ih; (b_hr, b_hz, 0); W_hh;
    b_hh] (I+H+3, 3H) -> h' (N, H). Two GEMMs, as the floor: [x, 1] @ [W_ih; b_ih] and [h, 1] @ [W_hh; b_hh]."""
    I, H = x.shape[1], h.shape[1]
    one = _constant("ones", np.ones((x.shape[0], 1)), x.dtype)
    xh = np.concatenate((x, one, h, one), axis=1)     # [x, 1, h, 1]
    ax = xh[:, :I + 1] @ W[:I + 1]                    # x W + b_ih          (N, 3H)
    ah = xh[:, I + 1:] @ W[I + 2:]                    # h U + b_hh          (N, 3H)
    rz = np.add(_gates(ax, 3)[:2], _gates(ah, 3)[:2])  # a_r, a_z, gate-major
    rz *= 0.5
    np.tanh(rz, out=rz)
    rz *= 0.5
    rz += 0.5                                         # r, z = σ(a)
    r, z = rz
    hun = ah[:, 2 * H:]                               # h U_n + b_hn
    n = np.multiply(r, hun)
    n += ax[:, 2 * H:]
    np.tanh(n, out=n)                                 # n = tanh(x W_n + b_in + r (h U_n + b_hn))
    h_new = h - n
    h_new *= z
    h_new += n                                        # h' = n + z (h - n)
    return h_new


__all__ = ["RNNSequence", "LSTMSequence", "GRUSequence", "rnn_step", "lstm_step", "gru_step"]
