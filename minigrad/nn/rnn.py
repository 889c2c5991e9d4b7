"""Recurrent modules: the cells RNNCell, LSTMCell, GRUCell and the sequence layers RNN (SimpleRNN), LSTM, GRU,
Bidirectional, with Keras's options and PyTorch's weight names one call away (`rnn_torch.py`).

Equations (gates in PyTorch's and Keras's order; `rnn_ref.py` writes them line by line; W_k is gate k's
slice of weight_ih, U_k of weight_hh):
    RNN   h' = act(x W_ih + h W_hh + b),  act = tanh or relu                                      G = 1
    LSTM  i = σ(x W_i + h U_i + b_i),  f = σ(x W_f + h U_f + b_f),  g = tanh(x W_g + h U_g + b_g),
          o = σ(x W_o + h U_o + b_o),  c' = f*c + i*g,  h' = o*tanh(c')                          G = 4
    GRU   r = σ(x W_r + b_ir + h U_r + b_hr),  z = σ(x W_z + b_iz + h U_z + b_hz),
          n = tanh(x W_n + b_in + r*(h U_n + b_hn)),  h' = (1-z)*n + z*h                          G = 3

Parameters, laid out as Keras (x @ W), so the counts are Keras's:
    weight_ih (I, G*H)   glorot-uniform, the whole matrix at once (Keras's `kernel`)
    weight_hh (H, G*H)   orthogonal, the whole matrix at once (Keras's `recurrent_kernel`)
    bias      (G*H,)     zeros; the LSTM's forget-gate block is 1 (Keras's unit_forget_bias)
    GRU: bias_ih, bias_hh (3H,) instead of bias (Keras's GRU with reset_after=True keeps the same two)
    Param # = G*H*(I + H + 1) for RNN and LSTM, 3H*(I + H + 2) for GRU:
    SimpleRNN(8) on 100 features = 872, LSTM(8) = 3,488, GRU(8) = 2,640.

How the code is laid out: one class per kind of cell (_SimpleKind, _LSTMKind, _GRUKind; the first two share
_OneBias) says what differs between kinds -- the gate count, the state's parts, the biases and their
initialisation, the reference step, the fused Function and step kernel, the packed buffer's rows, the torch
bias layout -- and is mixed into that kind's cell and layer:
    RNNCell  = _SimpleKind + _Cell       RNN  = _SimpleKind + _Layer      (_Cell, _Layer: what every kind
    LSTMCell = _LSTMKind   + _Cell       LSTM = _LSTMKind   + _Layer       shares, over _Recurrent)
    GRUCell  = _GRUKind    + _Cell       GRU  = _GRUKind    + _Layer
Inputs are checked where they enter (the cell's or layer's forward) by `rnn_checks.py`, the same functions
the fused Functions call: a wrong dtype is a TypeError, a wrong shape or value a ValueError.

Two implementations share the parameters: impl="fused" (the default) runs one Function per sequence
with a hand-derived backward (`rnn_fused.py`); impl="ref" runs the textbook cells of `rnn_ref.py` step by
step through autograd. Switch with `layer.impl = "ref"`; both give the same numbers (tested to 1e-10).

Besides Keras's options: `y, state = layer.step(x_t, state)` runs one time step for incremental decoding
(cells have it too; a T = 1 call without a graph takes the same path), and stateful=True carries each call's
final state, detached, into the next (truncated BPTT). The parameters are views of one packed buffer the
kernels read as it is, so no per-call copy of the weights exists that could go stale (`_Recurrent._packed`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import autograd_mode
from minigrad.function import Function
from minigrad.nn import init, rnn_ref, rnn_torch
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.nn.rnn_checks import check_float, check_mask
from minigrad.nn.rnn_fused import GRUSequence, LSTMSequence, RNNSequence, gru_step, lstm_step, rnn_step
from minigrad.ops import concatenate
from minigrad.tensor import Tensor

StateArg = Any  # None, a tensor h, or for LSTM a tuple (h, c); arrays are accepted too
State = tuple[Tensor, ...]


class _Recurrent(Module):
    """What every cell and layer shares: the parameters, their initialisation, input checks, the two paths.

    A kind of cell (the _*Kind classes below) sets the class attributes and defines the methods marked
    "per kind"; nothing here asks which kind it is.
    """

    gates = 0                     # G: gate blocks in the weights' columns
    state_names: tuple[str, ...] = ("h",)  # the parts of the state, in the order they are passed
    cell_name = ""                # "RNN", "LSTM", "GRU": used in messages
    has_nonlinearity = False      # only the simple RNN lets you choose tanh or relu
    nonlinearity = "tanh"
    _input_bias_rows = 1          # rows after W_ih in the packed buffer that the input GEMM uses ([W_ih; b])

    def __init__(self, input_size: int, hidden_size: int, impl: str = "fused") -> None:
        super().__init__()
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{type(self).__name__}: {arg} must be a positive integer, got {value!r}")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.impl = impl
        I, H, G = self.input_size, self.hidden_size, self.gates
        self.weight_ih = Parameter(np.empty((I, G * H), dtype=np.float32))
        self.weight_hh = Parameter(np.empty((H, G * H), dtype=np.float32))
        # Keras initialises each kernel as ONE matrix (not gate by gate): the fans are (I, G*H) and (H, G*H)
        init.xavier_uniform_(self.weight_ih)
        init.orthogonal_(self.weight_hh)
        self._make_biases()
        self._packed()  # from here on the parameters are views of one buffer (see _packed)

    # ---- per kind -----------------------------------------------------------------------------------
    def _make_biases(self) -> None:
        """Create and initialise the bias parameter(s)."""
        raise NotImplementedError

    def _biases(self) -> tuple[Tensor, ...]:
        """The bias parameter(s), in the order the cell functions take them after W_ih, W_hh."""
        raise NotImplementedError

    def _ref_step(self, x_t: Tensor, state: State) -> State:
        """One reference time step (rnn_ref): state (h,) or (h, c) -> the new state, same form."""
        raise NotImplementedError

    def _fused(self, reverse: bool, mask: np.ndarray | None, packed: np.ndarray | None) -> Function:
        """The fused sequence Function (rnn_fused) for one call; it takes (x, *state, *self._weights())."""
        raise NotImplementedError

    def _step_kernel(self, x: np.ndarray, state: tuple[np.ndarray, ...], W: np.ndarray) -> tuple[np.ndarray, ...]:
        """One step without a graph (rnn_fused.*_step) on arrays, W the packed buffer -> the new state."""
        raise NotImplementedError

    def _torch_biases(self) -> tuple[np.ndarray, np.ndarray]:
        """(bias_ih, bias_hh) as torch lays them out."""
        raise NotImplementedError

    def _load_torch_biases(self, b_ih: np.ndarray, b_hh: np.ndarray) -> None:
        """Set the bias parameter(s) from torch's two biases, in place."""
        raise NotImplementedError

    def _kind_config(self) -> dict[str, Any]:
        """Constructor arguments only this kind has (RNN: nonlinearity)."""
        return {}

    # ---- options ----------------------------------------------------------------------------------
    @property
    def impl(self) -> str:
        """"fused" (one Function per sequence, hand-derived backward) or "ref" (rnn_ref.py via autograd)."""
        return self._impl

    @impl.setter
    def impl(self, value: str) -> None:
        if value not in ("fused", "ref"):
            raise ValueError(f"{type(self).__name__}: impl must be 'fused' or 'ref', got {value!r}")
        self._impl = value

    def _weights(self) -> tuple[Tensor, ...]:
        """The parameters in the order the cell functions take them: W_ih, W_hh, then the bias(es)."""
        return (self.weight_ih, self.weight_hh, *self._biases())

    # ---- the packed parameters ------------------------------------------------------------------------
    def _packed_rows(self) -> tuple[Tensor | None, ...]:
        """The packed buffer's row blocks, in order: the parameters, and None for a row the kind derives
        from them on every call (`_derive_rows`). RNN, LSTM: W_ih, bias, W_hh."""
        return (self.weight_ih, self._biases()[0], self.weight_hh)

    def _derive_rows(self, buf: np.ndarray) -> None:
        """Refresh the derived rows of the packed buffer (O(H): never anything of weight size)."""

    def _packed(self) -> np.ndarray | None:
        """[W_ih; b; W_hh] (GRU: [W_ih; b_ih; (b_hr, b_hz, 0); W_hh; b_hh]) as ONE array whose row blocks ARE
        the parameters' .data (views), so the kernels read the current weights without copying or
        reordering them.

        Why this and not a cache of a kernel layout: a cache must be told when the weights change, and
        nothing tells it (optimizers and load_state_dict write p.data in place, and a checksum would read all
        the weights on every call). Here there is nothing to invalidate: an optimizer step, load_state_dict
        or p.data[...] = v writes into the buffer itself. What can break the sharing is replacing a
        parameter's array (layer.double(), p.data = new_array, a new Parameter): this O(1) identity check
        sees it, and the buffer is rebuilt from the current values with the parameters pointing into it
        again (assigning a new Parameter attribute forgets the buffer: __setattr__). None if the parameters'
        dtypes differ (the kernels' checks then name the odd one).
        """
        pairs = self.__dict__.get("_pack_pairs")
        if pairs is not None and all(p.data is v for p, v in pairs):
            buf = self._pack_buf
        else:
            blocks = self._packed_rows()
            params = [p for p in blocks if p is not None]
            if len({p.data.dtype for p in params}) != 1:
                return None
            dtype, M = params[0].data.dtype, params[0].data.shape[-1]
            buf = np.concatenate([np.zeros((1, M), dtype) if p is None else p.data.reshape(-1, M)
                                  for p in blocks])
            new_pairs, row = [], 0
            for p in blocks:
                if p is None:
                    row += 1
                    continue
                rows = 1 if p.data.ndim == 1 else p.data.shape[0]
                v = buf[row] if p.data.ndim == 1 else buf[row:row + rows]
                p.data = v
                new_pairs.append((p, v))
                row += rows
            self._pack_buf, self._pack_pairs = buf, tuple(new_pairs)
        self._derive_rows(buf)
        return buf

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if isinstance(value, Parameter):  # a parameter replaced by another: pack again on the next call
            self.__dict__.pop("_pack_pairs", None)

    # ---- the two implementations --------------------------------------------------------------------
    def _run(
        self, x: Tensor, state: State, mask: np.ndarray | None, reverse: bool
    ) -> tuple[Tensor, State, Any]:
        """Run the sequence x (N, T, I) -> (hs (N, T, H), final state, the source of hidden_grad_norms)."""
        if self.impl == "ref":
            return rnn_ref.run_sequence(self._ref_step, x, state, mask, reverse)
        W = self._packed()
        fn = self._fused(reverse, mask, None if W is None else W[:self.input_size + self._input_bias_rows])
        hs, *state_T = fn(x, *state, *self._weights())
        return hs, tuple(state_T), fn

    def _needs_graph(self, x: Tensor, state: State) -> bool:
        """Will this call be differentiated (so it must run through a Function)?"""
        return autograd_mode.enabled and (x.requires_grad or any(s.requires_grad for s in state)
                                          or any(p.requires_grad for p in self._weights()))

    def _step(self, x: Tensor, state: State) -> State:
        """One time step, x (N, I) -> the new state: the reference cell, the sequence Function with T = 1
        when a gradient is wanted, else the graph-free kernel on the packed weights (nothing copied)."""
        if self.impl == "ref":
            return self._ref_step(x, state)
        W = self._packed()
        if W is None or self._needs_graph(x, state):
            _, new, _ = self._run(x.reshape(x.shape[0], 1, x.shape[1]), state, None, False)
            return new
        return tuple(Tensor._wrap(a, False) for a in self._step_kernel(x.data, tuple(s.data for s in state), W))

    def step(self, x: Any, state: StateArg = None) -> tuple[Tensor, Any]:
        """One time step for incremental decoding: x (N, I) and the state -> (output (N, H), new state).

        The state is what initial_state= takes (h, or (h, c) for LSTM; None = zeros), and the new state
        comes back in the same form, so a loop reads
            state = None
            for t in range(T):
                y, state = layer.step(x[:, t], state)
        and gives the outputs and final state of layer(x) (go_backwards: feed the tokens last-first).
        Without a gradient to compute (no_grad(), or nothing requires one) a step costs one GEMM on the
        parameters as they are (no copy, no reordering of the weights) and a few (N, H) elementwise calls;
        with one, it runs the fused sequence Function over T = 1 and backpropagates like the layer. The step
        neither reads nor writes the carried state of a stateful layer (call the layer with (N, 1, I) for
        that). Cells have the same method: cell.step(x, state) == (new h, new state).
        """
        x = self._as_float_tensor(x, "input")
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"{type(self).__name__}.step: input has shape {x.shape} but one step is "
                             f"(batch, {self.input_size})")
        new = self._step(x, self._check_state(state, x.shape[0], x.shape, "state"))
        return new[0], self._pack(new)

    def to(self, dtype: Any) -> Module:
        """Convert every parameter to `dtype`, in place, and pack them into one buffer again."""
        super().to(dtype)
        self._packed()
        return self

    # ---- input checks (the rules themselves are in rnn_checks.py) ----------------------------------
    @property
    def _dtype(self) -> np.dtype:
        return self.weight_ih.dtype

    def _as_float_tensor(self, v: Any, what: str) -> Tensor:
        """A Tensor in the weights' dtype: arrays (any numeric dtype) are converted, except integer input
        (token ids); a Tensor must already have the weights' dtype."""
        if isinstance(v, Tensor):
            if v.data.dtype != self.weight_ih.data.dtype:  # (the usual case skips the check: decoding calls this)
                check_float(v.dtype, type(self).__name__, what, self._dtype)
            return v
        name = type(self).__name__
        arr = np.asarray(v)
        if arr.dtype.kind not in "fiub" or (what == "input" and arr.dtype.kind != "f"):
            check_float(arr.dtype, name, what)  # raises: the message says what is wrong
        return Tensor(arr, dtype=self._dtype)

    def _check_state(self, state: StateArg, batch: int, x_shape: tuple[int, ...] | None, what: str) -> State:
        """None -> zeros; else one tensor per part of the state (h, or h and c), each (batch, hidden_size).

        A one-part state may be given alone or as a 1-tuple; a two-part state must be a tuple (h, c).
        """
        name, H, parts_named = type(self).__name__, self.hidden_size, self.state_names
        if state is None:  # the zero state: constants, no gradient; one array per part
            return tuple(Tensor._wrap(np.zeros((batch, H), self._dtype), False) for _ in parts_named)
        if len(parts_named) > 1:
            if not isinstance(state, (tuple, list)) or len(state) != len(parts_named):
                raise ValueError(f"{name}: {what} must be a tuple ({', '.join(parts_named)}) of "
                                 f"{len(parts_named)} ({batch}, {H}) tensors, got {_describe(state)}")
            parts = list(state)
        else:
            if isinstance(state, (tuple, list)):
                if len(state) != 1:
                    raise ValueError(f"{name}: {what} must be one tensor h of shape ({batch}, {H}), "
                                     f"got {_describe(state)}")
                state = state[0]
            parts = [state]
        out = []
        for label, s in zip(parts_named, parts):
            t = self._as_float_tensor(s, f"{what} {label}")
            if t.shape != (batch, H):
                given = f"the input is {x_shape}: expected {(batch, H)}" if x_shape else f"expected (N, {H})"
                raise ValueError(f"{name}: {what} {label} has shape {t.shape} but {given} (batch, hidden_size)")
            out.append(t)
        return tuple(out)

    def _pack(self, state: State) -> Any:
        """A state as the user passes it: h alone for one part, the tuple (h, c) for two."""
        return state if len(state) > 1 else state[0]

    # ---- PyTorch interop (rnn_torch.py does the work) -------------------------------------------------
    def _check_nonlinearity(self, nonlinearity: str, name: str) -> str:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        return nonlinearity


def _describe(v: Any) -> str:
    if isinstance(v, (tuple, list)):
        return f"a {type(v).__name__} of {len(v)}"
    return f"shape {tuple(np.shape(v.data if isinstance(v, Tensor) else v))}"


# ---- the three kinds of cell: what differs between them -------------------------------------------------


class _OneBias(_Recurrent):
    """RNN and LSTM: one bias (G*H,), which carries the sum of torch's two (both add to the same
    pre-activation)."""

    def _make_biases(self) -> None:
        self.bias = Parameter(np.zeros(self.gates * self.hidden_size, dtype=np.float32))

    def _biases(self) -> tuple[Tensor, ...]:
        return (self.bias,)

    def _torch_biases(self) -> tuple[np.ndarray, np.ndarray]:
        return self.bias.data, np.zeros_like(self.bias.data)

    def _load_torch_biases(self, b_ih: np.ndarray, b_hh: np.ndarray) -> None:
        self.bias.data[...] = b_ih.astype(np.float64) + b_hh  # summed in float64, then stored


class _SimpleKind(_OneBias):
    """The simple (Elman) RNN: h' = act(x W_ih + h W_hh + b), act = tanh or relu. G = 1, one bias."""

    gates, state_names, cell_name, has_nonlinearity = 1, ("h",), "RNN", True

    def _ref_step(self, x_t: Tensor, state: State) -> State:
        return (rnn_ref.rnn_cell(x_t, state[0], *self._weights(), self.nonlinearity),)

    def _fused(self, reverse: bool, mask: np.ndarray | None, packed: np.ndarray | None) -> Function:
        return RNNSequence(self.nonlinearity, reverse=reverse, mask=mask, packed=packed)

    def _step_kernel(self, x: np.ndarray, state: tuple[np.ndarray, ...], W: np.ndarray) -> tuple[np.ndarray, ...]:
        return (rnn_step(x, state[0], W, self.nonlinearity),)

    def _kind_config(self) -> dict[str, Any]:
        return {"nonlinearity": self.nonlinearity}


class _LSTMKind(_OneBias):
    """The LSTM, gates i, f, g, o; state (h, c). G = 4, one bias whose forget block starts at 1."""

    gates, state_names, cell_name = 4, ("h", "c"), "LSTM"

    def _make_biases(self) -> None:
        super()._make_biases()
        H = self.hidden_size
        self.bias.data[H:2 * H] = 1.0  # keep the cell state by default early on (Jozefowicz 2015)

    def _ref_step(self, x_t: Tensor, state: State) -> State:
        return rnn_ref.lstm_cell(x_t, state[0], state[1], *self._weights())

    def _fused(self, reverse: bool, mask: np.ndarray | None, packed: np.ndarray | None) -> Function:
        return LSTMSequence(reverse=reverse, mask=mask, packed=packed)

    def _step_kernel(self, x: np.ndarray, state: tuple[np.ndarray, ...], W: np.ndarray) -> tuple[np.ndarray, ...]:
        return lstm_step(x, state[0], state[1], W)



class _GRUKind(_Recurrent):
    """The GRU, gates r, z, n (reset_after=True); state h. G = 3, two biases (b_hn sits inside r*(...))."""

    gates, state_names, cell_name = 3, ("h",), "GRU"

    def _make_biases(self) -> None:
        self.bias_ih = Parameter(np.zeros(3 * self.hidden_size, dtype=np.float32))
        self.bias_hh = Parameter(np.zeros(3 * self.hidden_size, dtype=np.float32))

    def _biases(self) -> tuple[Tensor, ...]:
        return self.bias_ih, self.bias_hh

    def _ref_step(self, x_t: Tensor, state: State) -> State:
        return (rnn_ref.gru_cell(x_t, state[0], *self._weights()),)

    _input_bias_rows = 2  # [W_ih; b_ih; (b_hr, b_hz, 0)]: b_hr and b_hz ride in the input GEMM too

    def _packed_rows(self) -> tuple[Tensor | None, ...]:
        return (self.weight_ih, self.bias_ih, None, self.weight_hh, self.bias_hh)

    def _derive_rows(self, buf: np.ndarray) -> None:
        H2 = 2 * self.hidden_size
        extra = buf[self.input_size + 1]
        extra[:H2] = self.bias_hh.data[:H2]
        extra[H2:] = 0

    def _fused(self, reverse: bool, mask: np.ndarray | None, packed: np.ndarray | None) -> Function:
        return GRUSequence(reverse=reverse, mask=mask, packed=packed)

    def _step_kernel(self, x: np.ndarray, state: tuple[np.ndarray, ...], W: np.ndarray) -> tuple[np.ndarray, ...]:
        return (gru_step(x, state[0], W),)

    def _torch_biases(self) -> tuple[np.ndarray, np.ndarray]:
        return self.bias_ih.data, self.bias_hh.data

    def _load_torch_biases(self, b_ih: np.ndarray, b_hh: np.ndarray) -> None:
        self.bias_ih.data[...] = b_ih
        self.bias_hh.data[...] = b_hh


# ---- cells: one time step -------------------------------------------------------------------------------


class _Cell(_Recurrent):
    """One time step, called as torch's cells: h = cell(x, h) (LSTM: h, c = cell(x, (h, c)))."""

    def forward(self, x: Any, state: StateArg = None) -> Any:
        """x (N, I), state h (N, H) or (h, c) for LSTM, None = zeros -> the new h, or (h, c) for LSTM."""
        name = type(self).__name__
        x = self._as_float_tensor(x, "input")
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(
                f"{name}: input has shape {x.shape} but the cell expects (batch, {self.input_size})"
            )
        new = self._step(x, self._check_state(state, x.shape[0], x.shape, "state"))
        return self._pack(new)

    def torch_state_dict(self) -> dict[str, np.ndarray]:
        """The weights under the names of torch.nn.RNNCell/LSTMCell/GRUCell (weight_ih (G*H, I), ...)."""
        return rnn_torch.export(self, "")

    def load_torch_state_dict(self, d: dict[str, Any], nonlinearity: str | None = None) -> None:
        """Load a torch cell's state_dict (arrays or torch tensors); see RNN.load_torch_state_dict."""
        rnn_torch.load_layer(self, d, nonlinearity, None)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for k, v in self._kind_config().items():
            if k == "nonlinearity" and v != "tanh":
                s += f", {k}={v!r}"
        return s + (f", impl={self.impl!r}" if self.impl != "fused" else "")


class RNNCell(_SimpleKind, _Cell):
    """The simple RNN step: h' = act(x W_ih + h W_hh + b), act = tanh or relu.

    Call: h = cell(x, h) with x (N, I), h (N, H) or None (the zero state) -> h' (N, H).
    Parameters: weight_ih (I, H), weight_hh (H, H), bias (H,).
    """

    def __init__(
        self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", impl: str = "fused"
    ) -> None:
        self.nonlinearity = self._check_nonlinearity(nonlinearity, type(self).__name__)
        _Cell.__init__(self, input_size, hidden_size, impl)


class LSTMCell(_LSTMKind, _Cell):
    """The LSTM step, gates in the order i, f, g, o:

        i = σ(x W_i + h U_i + b_i)      f = σ(x W_f + h U_f + b_f)
        g = tanh(x W_g + h U_g + b_g)   o = σ(x W_o + h U_o + b_o)
        c' = f * c + i * g              h' = o * tanh(c')

    Call: h, c = cell(x, (h, c)) with x (N, I), h and c (N, H); state None = zeros -> (h', c').
    Parameters: weight_ih (I, 4H), weight_hh (H, 4H), bias (4H,), forget-gate bias initialised to 1.
    """

    def __init__(self, input_size: int, hidden_size: int, impl: str = "fused") -> None:
        _Cell.__init__(self, input_size, hidden_size, impl)


class GRUCell(_GRUKind, _Cell):
    """The GRU step, gates in the order r, z, n:

        r = σ(x W_r + b_ir + h U_r + b_hr)             z = σ(x W_z + b_iz + h U_z + b_hz)
        n = tanh(x W_n + b_in + r * (h U_n + b_hn))    h' = (1 - z) * n + z * h

    Call: h = cell(x, h) with x (N, I), h (N, H) or None -> h' (N, H).
    Parameters: weight_ih (I, 3H), weight_hh (H, 3H), bias_ih (3H,), bias_hh (3H,).
    """

    def __init__(self, input_size: int, hidden_size: int, impl: str = "fused") -> None:
        _Cell.__init__(self, input_size, hidden_size, impl)


# ---- layers: a whole sequence ---------------------------------------------------------------------------


class _Layer(_Recurrent):
    """A recurrent layer over (batch, time, features) with Keras's options. See RNN for the details."""

    def __init__(
        self, input_size: int, hidden_size: int, return_sequences: bool = False, return_state: bool = False,
        go_backwards: bool = False, impl: str = "fused", stateful: bool = False,
    ) -> None:
        super().__init__(input_size, hidden_size, impl)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self._carried: tuple[np.ndarray, ...] | None = None  # stateful: the last call's final state (arrays)
        self._grad_source: Any = None  # the last forward's fused Function, or its list of h_t (ref)

    def _check_input(self, x: Any) -> Tensor:
        """x as a float Tensor of shape (N, T, input_size) with T >= 1."""
        name = type(self).__name__
        x = self._as_float_tensor(x, "input")
        if x.ndim != 3:
            raise ValueError(
                f"{name}: input has shape {x.shape}: expected 3-D (batch, time, {self.input_size})"
            )
        N, T = x.shape[:2]
        if x.shape[2] != self.input_size:
            raise ValueError(f"{name}: input has shape {x.shape} but input_size is {self.input_size}: "
                             f"expected {(N, T, self.input_size)}")
        if T == 0:
            raise ValueError(f"{name}: input has shape {x.shape}: a sequence needs at least one time step")
        return x

    def forward(self, x: Any, initial_state: StateArg = None, mask: Any = None) -> Any:
        """x (N, T, I) -> output, or (output, h_T[, c_T]) with return_state; see the class docstring."""
        x = self._check_input(x)
        if initial_state is None and self.stateful and self._carried is not None:
            state = self._carried_state(x.shape)  # stateful: the previous call's final state, detached
        else:
            state = self._check_state(initial_state, x.shape[0], x.shape, "initial_state")
        mask = check_mask(mask, x.shape, type(self).__name__)

        if x.shape[1] == 1 and self.impl == "fused" and not self._needs_graph(x, state):
            hs, state_T, source = self._one_step(x, state, mask)  # decoding one token: no Function
        else:
            hs, state_T, source = self._run(x, state, mask, self.go_backwards)
        recorded = hs.requires_grad  # False under no_grad() or when nothing needs a gradient
        if recorded and self.impl == "ref":
            for h in source:
                h.retain_grad()  # so hidden_grad_norms() can read each h_t's gradient after backward
        self._grad_source = source if recorded else None
        if self.stateful:  # a copy: the caller may change the returned state in place
            self._carried = tuple(s.data.copy() for s in state_T)

        output = hs if self.return_sequences else state_T[0]
        return (output, *state_T) if self.return_state else output

    def _one_step(self, x: Tensor, state: State, mask: np.ndarray | None) -> tuple[Tensor, State, Any]:
        """A T = 1 call without a graph, through the step kernel: the same results as _run."""
        new = self._step(x.reshape(x.shape[0], x.shape[2]), state)
        h = new[0].data
        if mask is not None and not mask.all():  # masked rows keep their state and output 0
            real = mask  # (N, 1)
            new = tuple(Tensor._wrap(np.where(real, n.data, s.data), False) for n, s in zip(new, state))
            h = np.where(real, h, 0)
        return Tensor._wrap(h.reshape(x.shape[0], 1, -1), False), new, None

    # ---- stateful=True ------------------------------------------------------------------------------
    def _carried_state(self, x_shape: tuple[int, ...]) -> State:
        """The carried state as constants (no gradient crosses the chunk edge); the batch must match."""
        n_carried, N = self._carried[0].shape[0], x_shape[0]
        if n_carried != N:
            raise ValueError(f"{type(self).__name__}(stateful=True): the carried state is for batch size "
                             f"{n_carried} but the input {tuple(x_shape)} has batch size {N}: call "
                             f"reset_states() first (or pass initial_state=), e.g. for a last, smaller batch")
        return tuple(Tensor._wrap(a.astype(self._dtype, copy=False), False) for a in self._carried)

    @property
    def states(self) -> State | None:
        """stateful=True: the state the next call starts from, (h,) or (h, c) as constant tensors (N, H);
        None when nothing is carried (the next call starts from zeros)."""
        if self._carried is None:
            return None
        return tuple(Tensor._wrap(a.copy(), False) for a in self._carried)

    def reset_states(self, states: StateArg = None) -> None:
        """Forget the carried state (the next call starts from zeros), or set it: `states` is what
        initial_state= takes (h, or (h, c) for LSTM; a list is accepted), each (N, H), copied and detached.
        Only for stateful=True layers (Keras raises the same way)."""
        name = type(self).__name__
        if not self.stateful:
            raise RuntimeError(f"{name}.reset_states(): the layer is not stateful: build it with "
                               f"stateful=True, or pass initial_state= at each call")
        if states is None:
            self._carried = None
            return
        first = states[0] if isinstance(states, (tuple, list)) and len(states) > 0 else states
        shape = np.shape(first.data if isinstance(first, Tensor) else first)
        checked = self._check_state(states, shape[0] if len(shape) == 2 else -1, None, "reset_states(states)")
        self._carried = tuple(np.array(t.data, dtype=self._dtype, copy=True) for t in checked)

    def hidden_grad_norms(self) -> np.ndarray:
        """‖∂loss/∂h_t‖ for every input position t (T,), after loss.backward(), for the last forward call.

        h_t is the hidden state the layer produced at input position t (whatever the reading order), and
        ∂loss/∂h_t its TOTAL gradient: through its own output plus through all later steps. Plotted over t,
        it shows the vanishing gradient: for a plain tanh RNN it shrinks roughly geometrically towards
        t = 0 when the loss sits at the end, so the first inputs barely train the weights; an LSTM keeps it
        much flatter. The norm is taken over the batch and the hidden units.
        """
        name = type(self).__name__
        src = self._grad_source
        not_yet = (f"{name}.hidden_grad_norms(): no gradient has reached this layer yet: run a forward pass "
                   f"with gradients enabled, then loss.backward(), then call it")
        if src is None:
            raise RuntimeError(not_yet)
        if isinstance(src, list):  # the reference path: the retained h_t tensors
            if all(h.grad is None for h in src):
                raise RuntimeError(not_yet)
            return np.array([0.0 if h.grad is None else float(np.linalg.norm(h.grad)) for h in src])
        norms = getattr(src, "dh_norms", None)
        if norms is None:
            raise RuntimeError(not_yet)
        return np.asarray(norms, dtype=np.float64).copy()

    # ---- PyTorch interop ----------------------------------------------------------------------------
    def torch_state_dict(self, layer_index: int = 0) -> dict[str, np.ndarray]:
        """The weights under torch.nn.RNN/LSTM/GRU's names and shapes, as NumPy arrays (copies):

            weight_ih_l0 (G*H, I) = weight_ih.T      weight_hh_l0 (G*H, H) = weight_hh.T
            bias_ih_l0 (G*H,) = bias                 bias_hh_l0 (G*H,) = zeros      (RNN, LSTM)
            bias_ih_l0, bias_hh_l0 = bias_ih, bias_hh                               (GRU)

        Continue in PyTorch with
            torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in layer.torch_state_dict().items()})
        layer_index picks the `_l{k}` suffix, to fill one layer of a torch model with num_layers > 1.
        """
        return rnn_torch.export(self, f"_l{layer_index}")

    def load_torch_state_dict(
        self, d: dict[str, Any], nonlinearity: str | None = None, layer_index: int = 0
    ) -> None:
        """Load weights from a torch.nn.RNN/LSTM/GRU state_dict (NumPy arrays or torch tensors).

        Reads weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} with k = layer_index (keys of
        other layers are ignored, so a num_layers > 1 dict loads layer by layer); RNN and LSTM keep
        bias = bias_ih + bias_hh. Gate orders are the same as torch's. Raises KeyError for missing or
        unexpected keys, ValueError for a wrong shape (naming the key and both shapes) or, when you
        pass the torch model's nonlinearity (torch_rnn.nonlinearity), for a nonlinearity that differs;
        TypeError for arrays that do not hold floats. A failed load changes nothing.
        """
        rnn_torch.load_layer(self, d, nonlinearity, layer_index)

    # ---- display ----------------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        """The constructor arguments (used by Bidirectional to build its copies)."""
        cfg: dict[str, Any] = dict(input_size=self.input_size, hidden_size=self.hidden_size)
        cfg.update(self._kind_config())
        cfg.update(return_sequences=self.return_sequences, return_state=self.return_state,
                   go_backwards=self.go_backwards, impl=self.impl, stateful=self.stateful)
        return cfg

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        defaults = dict(nonlinearity="tanh", return_sequences=False, return_state=False, go_backwards=False,
                        impl="fused", stateful=False)
        for k, v in self._config().items():
            if k in defaults and v != defaults[k]:
                s += f", {k}={v!r}"
        return s


class RNN(_SimpleKind, _Layer):
    """The simple (Elman) RNN over a sequence, Keras's SimpleRNN (alias nn.SimpleRNN):

        h_t = act(x_t W_ih + h_{t-1} W_hh + b),   act = tanh or relu

    RNN(input_size, hidden_size, nonlinearity='tanh', return_sequences=False, return_state=False,
        go_backwards=False, impl='fused', stateful=False)
    Parameters: weight_ih (I, H), weight_hh (H, H), bias (H,): H*(I + H + 1) values (SimpleRNN(8) on
    100 features: 872).

    Call: rnn(x, initial_state=None, mask=None), x (N, T, I) = (batch, time, features).
        initial_state: h0 (N, H); None = the zero state (Keras has no zero_state() call any more either).
        mask: None or (N, T) booleans or 0/1 numbers, True/1 = a real step. A masked step keeps the
            previous state and outputs zeros, so with right-padding h_T is each row's state at its last
            real step.
    Returns, in Keras's order:
        return_sequences=False:  output (N, H), the last output, which is the final state h_T
        return_sequences=True:   output (N, T, H), every step's output
        return_state=True:       a tuple (output, h_T)
    go_backwards=True reads the sequence from its end (t = T-1 .. 0) and returns the outputs in that
    PROCESSED order: output[:, k] is the output after reading x[:, T-1-k].
    To continue a long sequence chunk by chunk (truncated BPTT), use stateful=True (below) or pass the last
    h_T.detach() as the next initial_state. hidden_grad_norms() gives ‖∂loss/∂h_t‖ after backward.
    """

    def __init__(
        self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", return_sequences: bool = False,
        return_state: bool = False, go_backwards: bool = False, impl: str = "fused", stateful: bool = False,
    ) -> None:
        self.nonlinearity = self._check_nonlinearity(nonlinearity, type(self).__name__)
        _Layer.__init__(self, input_size, hidden_size, return_sequences, return_state, go_backwards, impl,
                        stateful)


SimpleRNN = RNN


class LSTM(_LSTMKind, _Layer):
    """The LSTM over a sequence, gates in the order i, f, g, o:

        i_t = σ(x_t W_i + h_{t-1} U_i + b_i)      f_t = σ(x_t W_f + h_{t-1} U_f + b_f)
        g_t = tanh(x_t W_g + h_{t-1} U_g + b_g)   o_t = σ(x_t W_o + h_{t-1} U_o + b_o)
        c_t = f_t * c_{t-1} + i_t * g_t           h_t = o_t * tanh(c_t)

    LSTM(input_size, hidden_size, return_sequences=False, return_state=False, go_backwards=False,
         impl='fused', stateful=False)
    Parameters: weight_ih (I, 4H), weight_hh (H, 4H), bias (4H,): 4H*(I + H + 1) values (LSTM(8) on
    100 features: 3,488). The forget-gate bias starts at 1 (Keras's unit_forget_bias).

    Call: lstm(x, initial_state=None, mask=None), x (N, T, I) = (batch, time, features).
        initial_state: a tuple (h0, c0), each (N, H); None = the zero state.
        mask: None or (N, T) booleans or 0/1 numbers, True/1 = a real step. A masked step keeps the
            previous state (h and c) and outputs zeros, so with right-padding h_T, c_T are each row's
            state at its last real step.
    Returns, in Keras's order:
        return_sequences=False:  output (N, H), the last output, which is the final state h_T
        return_sequences=True:   output (N, T, H), every step's output
        return_state=True:       a tuple (output, h_T, c_T)      (h before c, as Keras)
    go_backwards=True reads the sequence from its end (t = T-1 .. 0) and returns the outputs in that
    PROCESSED order: output[:, k] is the output after reading x[:, T-1-k].
    To continue a long sequence chunk by chunk (truncated BPTT), use stateful=True (below) or pass
    (h_T.detach(), c_T.detach()) as the next initial_state. hidden_grad_norms() gives ‖∂loss/∂h_t‖ after
    backward.
    """

    def __init__(
        self, input_size: int, hidden_size: int, return_sequences: bool = False, return_state: bool = False,
        go_backwards: bool = False, impl: str = "fused", stateful: bool = False,
    ) -> None:
        _Layer.__init__(self, input_size, hidden_size, return_sequences, return_state, go_backwards, impl,
                        stateful)


class GRU(_GRUKind, _Layer):
    """The GRU over a sequence, gates in the order r, z, n (PyTorch's GRU, Keras's with reset_after=True):

        r_t = σ(x_t W_r + b_ir + h_{t-1} U_r + b_hr)
        z_t = σ(x_t W_z + b_iz + h_{t-1} U_z + b_hz)
        n_t = tanh(x_t W_n + b_in + r_t * (h_{t-1} U_n + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    GRU(input_size, hidden_size, return_sequences=False, return_state=False, go_backwards=False,
        impl='fused', stateful=False)
    Parameters: weight_ih (I, 3H), weight_hh (H, 3H), bias_ih (3H,), bias_hh (3H,): 3H*(I + H + 2) values
    (GRU(8) on 100 features: 2,640).

    Call: gru(x, initial_state=None, mask=None), x (N, T, I) = (batch, time, features).
        initial_state: h0 (N, H); None = the zero state.
        mask: None or (N, T) booleans or 0/1 numbers, True/1 = a real step. A masked step keeps the
            previous state and outputs zeros, so with right-padding h_T is each row's state at its last
            real step.
    Returns, in Keras's order:
        return_sequences=False:  output (N, H), the last output, which is the final state h_T
        return_sequences=True:   output (N, T, H), every step's output
        return_state=True:       a tuple (output, h_T)
    go_backwards=True reads the sequence from its end (t = T-1 .. 0) and returns the outputs in that
    PROCESSED order: output[:, k] is the output after reading x[:, T-1-k].
    To continue a long sequence chunk by chunk (truncated BPTT), use stateful=True (below) or pass the last
    h_T.detach() as the next initial_state. hidden_grad_norms() gives ‖∂loss/∂h_t‖ after backward.
    """

    def __init__(
        self, input_size: int, hidden_size: int, return_sequences: bool = False, return_state: bool = False,
        go_backwards: bool = False, impl: str = "fused", stateful: bool = False,
    ) -> None:
        _Layer.__init__(self, input_size, hidden_size, return_sequences, return_state, go_backwards, impl,
                        stateful)


_STATEFUL_DOC = """
    stateful=True (Keras's, for truncated BPTT over long streams): the final state of each call is the
    initial state of the next, carried DETACHED, so no gradient crosses from one call (chunk) back into
    the previous one while the memory does. Row n of one batch continues row n of the previous batch, so
    the batch size must stay the same (a change is a ValueError naming both sizes). reset_states() forgets
    the carried state (the next call starts from zeros); reset_states(states) sets it (what initial_state=
    takes); `layer.states` shows it (None when nothing is carried). The carried state is not a parameter:
    it is not in state_dict() and survives train()/eval(). An explicit initial_state= overrides it for
    that call (as Keras), and that call's final state is carried on. With a mask, a masked step keeps the
    state, so the carried state is each row's state after its last real step. With go_backwards=True each
    call reads its chunk from the end and carries the state after the chunk's first step: feeding the
    chunks last-first equals reading the whole sequence backwards. Bidirectional(layer) of a stateful
    layer carries one state per direction. Without stateful, pass the final state .detach()'ed as the next
    initial_state= by hand: the same numbers. (summary() with an example input runs one forward pass, so
    it leaves a carried state of that batch size: reset_states() after it.)
"""
RNN.__doc__ = (RNN.__doc__ or "") + _STATEFUL_DOC
LSTM.__doc__ = (LSTM.__doc__ or "") + _STATEFUL_DOC
GRU.__doc__ = (GRU.__doc__ or "") + _STATEFUL_DOC


# ---- Bidirectional --------------------------------------------------------------------------------------


class Bidirectional(Module):
    """Read the sequence both ways and merge, as Keras's Bidirectional.

    Bidirectional(layer, merge_mode='concat'|'sum'|'ave'|'mul'|None)
        forward_layer: a copy of `layer` (its current weights);
        backward_layer: a fresh layer of the same configuration with go_backwards flipped (new weights).
    The backward layer's outputs come in processed order (last time step first); with return_sequences
    they are reversed back to time order before merging, so position t of the result sees x[:, :t+1]
    through the forward half and x[:, t:] through the backward half. Merging:
        concat -> (..., 2H) [forward, backward];  sum -> fw + bw;  ave -> (fw + bw)/2;  mul -> fw * bw;
        None -> the two outputs unmerged, (y_fw, y_bw).
    Returns, in Keras's order:  output, or with return_state a tuple
        (output, h_fw, h_bw) for RNN/GRU,  (output, h_fw, c_fw, h_bw, c_bw) for LSTM
        (with merge_mode=None, output is the two tensors y_fw, y_bw in place of one).
    Call: bi(x, initial_state=None, mask=None); initial_state lists the forward states then the backward
    ones ([h_fw, h_bw], or [h_fw, c_fw, h_bw, c_bw] for LSTM); the mask goes to both directions.
    A stateful layer makes both directions stateful, each carrying its own state; bi.reset_states() resets
    both, bi.reset_states([h_fw, h_bw]) (LSTM: [h_fw, c_fw, h_bw, c_bw]) sets them.
    Parameters are named forward_layer.* and backward_layer.*; torch_state_dict() gives torch's
    bidirectional names (the backward direction with the suffix _reverse). Each direction is an ordinary
    layer: bi.forward_layer.hidden_grad_norms(), bi.backward_layer.impl = "ref", and so on.
    """

    def __init__(self, layer: _Layer, merge_mode: str | None = "concat") -> None:
        super().__init__()
        if not isinstance(layer, _Layer):
            raise TypeError(
                f"Bidirectional wraps an nn.RNN, nn.LSTM or nn.GRU layer, got {type(layer).__name__}"
            )
        if merge_mode not in ("concat", "sum", "ave", "mul", None):
            raise ValueError(f"Bidirectional: merge_mode must be 'concat', 'sum', 'ave', 'mul' or None, "
                             f"got {merge_mode!r}")
        cfg = layer._config()
        self.forward_layer = type(layer)(**cfg).to(layer._dtype)
        for p_new, p_old in zip(self.forward_layer.parameters(), layer.parameters()):
            p_new.data[...] = p_old.data
        self.backward_layer = type(layer)(**{**cfg, "go_backwards": not layer.go_backwards}).to(layer._dtype)
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state

    def forward(self, x: Any, initial_state: Any = None, mask: Any = None) -> Any:
        """x (N, T, I) -> the merged output, or (output, forward states..., backward states...)."""
        fw_layer, bw_layer = self.forward_layer, self.backward_layer
        S = len(fw_layer.state_names)
        fw_state = bw_state = None
        if initial_state is not None:
            if not isinstance(initial_state, (tuple, list)) or len(initial_state) != 2 * S:
                names = [f"{p}_{d}" for d in ("fw", "bw") for p in fw_layer.state_names]
                raise ValueError(f"Bidirectional({type(fw_layer).__name__}): initial_state must be a list "
                                 f"[{', '.join(names)}], got {_describe(initial_state)}")
            fw_state = fw_layer._pack(tuple(initial_state[:S]))
            bw_state = bw_layer._pack(tuple(initial_state[S:]))
        y_fw = fw_layer(x, initial_state=fw_state, mask=mask)
        y_bw = bw_layer(x, initial_state=bw_state, mask=mask)
        states: tuple[Tensor, ...] = ()
        if self.return_state:
            (y_fw, *st_fw), (y_bw, *st_bw) = y_fw, y_bw
            states = (*st_fw, *st_bw)
        if self.return_sequences:
            y_bw = y_bw[:, ::-1]  # processed order -> time order
        if self.merge_mode is None:
            return (y_fw, y_bw, *states)
        if self.merge_mode == "concat":
            y = concatenate([y_fw, y_bw], axis=-1)
        elif self.merge_mode == "sum":
            y = y_fw + y_bw
        elif self.merge_mode == "ave":
            y = (y_fw + y_bw) * 0.5
        else:
            y = y_fw * y_bw
        return (y, *states) if self.return_state else y

    @property
    def stateful(self) -> bool:
        return self.forward_layer.stateful

    @property
    def states(self) -> State | None:
        """The carried states, forward then backward, or None when nothing is carried."""
        fw, bw = self.forward_layer.states, self.backward_layer.states
        return None if fw is None or bw is None else (*fw, *bw)

    def reset_states(self, states: Any = None) -> None:
        """Reset both directions' carried states (None), or set them from [forward parts..., backward parts...]."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        S = len(self.forward_layer.state_names)
        if not isinstance(states, (tuple, list)) or len(states) != 2 * S:
            raise ValueError(f"Bidirectional.reset_states: states must be a list of {2 * S} arrays (forward "
                             f"parts, then backward parts), got {_describe(states)}")
        self.forward_layer.reset_states(list(states[:S]))
        self.backward_layer.reset_states(list(states[S:]))

    def torch_state_dict(self, layer_index: int = 0) -> dict[str, np.ndarray]:
        """torch.nn.RNN/LSTM/GRU(bidirectional=True)'s names: weight_ih_l0 ... and weight_ih_l0_reverse ..."""
        suffix = f"_l{layer_index}"
        return {**rnn_torch.export(self.forward_layer, suffix),
                **rnn_torch.export(self.backward_layer, suffix + "_reverse")}

    def load_torch_state_dict(
        self, d: dict[str, Any], nonlinearity: str | None = None, layer_index: int = 0
    ) -> None:
        """Load a bidirectional torch model's state_dict: `_l0` keys go forward, `_l0_reverse` backward."""
        rnn_torch.load_bidirectional(self, d, nonlinearity, layer_index)

    def extra_repr(self) -> str:
        return f"merge_mode={self.merge_mode!r}"


__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "SimpleRNN", "LSTM", "GRU", "Bidirectional"]
