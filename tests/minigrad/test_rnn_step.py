"""The incremental step API (layer.step / cell.step / T = 1 calls) and the packed parameter buffer the kernels
read: incremental decoding equals the layer over the whole prefix; no stale weights after an optimizer step,
load_state_dict, in-place or replaced .data, dtype changes; a graph-free step copies nothing of weight size."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn import rnn_fused

N, T, I, H = 3, 6, 4, 5
KINDS = ["RNN", "RNN_relu", "LSTM", "GRU"]
TOL = dict(rtol=1e-10, atol=1e-10)


def make(kind: str, seed: int = 0, cell: bool = False, **kw) -> nn.Module:
    name = kind.split("_")[0] + ("Cell" if cell else "")
    if kind == "RNN_relu":
        kw["nonlinearity"] = "relu"
    m = getattr(nn, name)(I, H, **kw).double()
    rng = np.random.default_rng(seed)
    for p in m.parameters():
        p.data[...] = rng.uniform(-0.5, 0.5, p.shape)
    return m


def n_parts(kind: str) -> int:
    return 2 if kind == "LSTM" else 1


def as_tuple(s) -> tuple:
    return s if isinstance(s, tuple) else (s,)


# ---- plain NumPy oracle: one step from the parameters' current values ------------------------------------


def np_sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def np_step(kind, m, x, state):
    W, U = m.weight_ih.data, m.weight_hh.data
    h = state[0]
    if kind.startswith("RNN"):
        a = x @ W + h @ U + m.bias.data
        return (np.maximum(a, 0) if kind == "RNN_relu" else np.tanh(a),)
    if kind == "LSTM":
        a = x @ W + h @ U + m.bias.data
        i, f, g, o = (a[:, k * H:(k + 1) * H] for k in range(4))
        c = np_sig(f) * state[1] + np_sig(i) * np.tanh(g)
        return np_sig(o) * np.tanh(c), c
    ax, ah = x @ W + m.bias_ih.data, h @ U + m.bias_hh.data
    r, z = np_sig(ax[:, :H] + ah[:, :H]), np_sig(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    return ((1 - z) * n + z * h,)


# ---- incremental decoding == the whole prefix ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_steps_equal_the_layer_over_the_whole_prefix(kind, grad, go_backwards):
    layer = make(kind, seed=1, return_sequences=True, return_state=True, go_backwards=go_backwards)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((N, T, I))
    init = tuple(rng.standard_normal((N, H)) for _ in range(n_parts(kind)))
    whole, *final = layer(mg.tensor(x, dtype=np.float64), initial_state=init if kind == "LSTM" else init[0])
    state = init if kind == "LSTM" else init[0]
    order = range(T - 1, -1, -1) if go_backwards else range(T)
    outs = []
    with mg.enable_grad() if grad else mg.no_grad():
        for t in order:
            y, state = layer.step(mg.tensor(x[:, t], dtype=np.float64), state)
            outs.append(y.data)
            assert y.requires_grad == grad
    np.testing.assert_allclose(np.stack(outs, axis=1), whole.data, **TOL)
    for got, want in zip(as_tuple(state), final):
        np.testing.assert_allclose(got.data, want.data, **TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_cells_step_and_call_agree_with_numpy(kind):
    cell = make(kind, seed=3, cell=True)
    rng = np.random.default_rng(4)
    state = tuple(rng.standard_normal((N, H)) for _ in range(n_parts(kind)))
    want = state
    for _t in range(3):
        x = rng.standard_normal((N, I))
        want = np_step(kind, cell, x, want)
        with mg.no_grad():
            y, new = cell.step(mg.tensor(x, dtype=np.float64), state if kind == "LSTM" else state[0])
            called = as_tuple(cell(mg.tensor(x, dtype=np.float64), state if kind == "LSTM" else state[0]))
        state = tuple(s.data for s in as_tuple(new))
        np.testing.assert_allclose(y.data, want[0], **TOL)
        for a, b, c in zip(state, want, called):
            np.testing.assert_allclose(a, b, **TOL)
            np.testing.assert_allclose(c.data, b, **TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_step_gradients_equal_the_one_step_layer(kind):
    layer = make(kind, seed=5, return_sequences=True, return_state=True)
    rng = np.random.default_rng(6)
    x_np = rng.standard_normal((N, I))
    st_np = [rng.standard_normal((N, H)) for _ in range(n_parts(kind))]
    w = [rng.standard_normal((N, H)) for _ in range(1 + n_parts(kind))]
    grads = []
    for use_step in (True, False):
        layer.zero_grad()
        x = mg.tensor(x_np, dtype=np.float64, requires_grad=True)
        st = [mg.tensor(s, dtype=np.float64, requires_grad=True) for s in st_np]
        init = tuple(st) if kind == "LSTM" else st[0]
        if use_step:
            y, new = layer.step(x, init)
            outs = [y, *as_tuple(new)]
        else:
            seq, *fin = layer(x.reshape(N, 1, I), initial_state=init)
            outs = [seq.reshape(N, H), *fin]
        sum((o * wk).sum() for o, wk in zip(outs, w)).backward()
        grads.append([x.grad, *[s.grad for s in st], *[p.grad for p in layer.parameters()]])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, **TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_t1_call_without_graph_equals_the_sequence_kernel(kind):
    """A (N, 1, I) call under no_grad takes the step kernel; with a mask too (masked rows keep the state)."""
    layer = make(kind, seed=7, return_sequences=True, return_state=True)
    rng = np.random.default_rng(8)
    x = mg.tensor(rng.standard_normal((N, 1, I)), dtype=np.float64)
    init = tuple(mg.tensor(rng.standard_normal((N, H)), dtype=np.float64) for _ in range(n_parts(kind)))
    init = init if kind == "LSTM" else init[0]
    mask = np.array([[True], [False], [True]])
    for m in (None, mask):
        with mg.no_grad():
            fast = layer(x, initial_state=init, mask=m)
        slow = layer(x, initial_state=init, mask=m)  # the parameters require grad: the sequence Function
        assert slow[0].requires_grad and not fast[0].requires_grad
        for a, b in zip(fast, slow):
            np.testing.assert_allclose(a.data, b.data, **TOL)
    assert not fast[0].data[1].any()  # the masked row outputs 0


# ---- the packed buffer: never stale ----------------------------------------------------------------------


def _step_vs_numpy(kind, m, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, I))
    state = tuple(rng.standard_normal((N, H)) for _ in range(n_parts(kind)))
    with mg.no_grad():
        y, new = m.step(mg.tensor(x, dtype=m.weight_ih.dtype), state if kind == "LSTM" else state[0])
    want = np_step(kind, m, x, state)
    np.testing.assert_allclose(y.data, want[0], rtol=1e-6 if y.dtype == np.float32 else 1e-10, atol=1e-7)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("opt_cls", [optim.SGD, optim.Adam])
def test_step_sees_the_weights_after_an_optimizer_step(kind, opt_cls):
    layer = make(kind, seed=9, return_sequences=True)
    _step_vs_numpy(kind, layer, 10)  # the buffer is in use before the update
    opt = opt_cls(layer.parameters(), lr=0.1)
    before = {n: p.data.copy() for n, p in layer.named_parameters()}
    loss = (layer(mg.tensor(np.random.default_rng(11).standard_normal((N, T, I)), dtype=np.float64)) ** 2).sum()
    loss.backward()
    opt.step()
    assert all(not np.allclose(before[n], p.data) for n, p in layer.named_parameters())
    _step_vs_numpy(kind, layer, 12)  # fails if the step read weights from before opt.step()


@pytest.mark.parametrize("kind", KINDS)
def test_step_sees_load_state_dict_and_every_way_of_changing_data(kind):
    layer, other = make(kind, seed=13), make(kind, seed=14)
    _step_vs_numpy(kind, layer, 15)
    layer.load_state_dict(other.state_dict())
    _step_vs_numpy(kind, layer, 16)
    layer.weight_hh.data[...] *= 0.5                   # in place
    _step_vs_numpy(kind, layer, 17)
    layer.weight_ih.data = layer.weight_ih.data * 2.0  # a new array: the buffer is rebuilt
    _step_vs_numpy(kind, layer, 18)
    layer.load_torch_state_dict(other.torch_state_dict(), **({"nonlinearity": "relu"} if kind == "RNN_relu"
                                                             else {}))
    _step_vs_numpy(kind, layer, 19)
    layer.weight_hh = nn.Parameter(layer.weight_hh.data * -1.0, dtype=np.float64)  # a new Parameter object
    _step_vs_numpy(kind, layer, 21)
    layer.float()                                      # every array replaced, another dtype
    _step_vs_numpy(kind, layer, 22)
    assert layer._packed().dtype == np.float32


def test_parameters_are_views_of_one_buffer_and_state_dict_is_unchanged():
    gru = nn.GRU(I, H)
    buf = gru._packed()
    assert buf.shape == (I + 2 + H + 1, 3 * H)  # [W_ih; b_ih; (b_hr, b_hz, 0); W_hh; b_hh]
    for p in gru.parameters():
        assert np.shares_memory(p.data, buf)
    assert list(gru.state_dict()) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert gru.state_dict()["bias_hh"].shape == (3 * H,)
    assert gru._packed() is buf  # nothing rebuilt on the next call


def test_fused_function_checks_the_packed_rows_by_address():
    """A `packed` that is not exactly [W_ih; b] in memory is ignored (the Function stacks them itself)."""
    rng = np.random.default_rng(21)
    x = mg.tensor(rng.standard_normal((N, T, I)), dtype=np.float64)
    h0, c0 = (mg.tensor(rng.standard_normal((N, H)), dtype=np.float64) for _ in range(2))
    W_ih, W_hh, b = (rng.standard_normal(s) for s in ((I, 4 * H), (H, 4 * H), (4 * H,)))
    want = rnn_fused.LSTMSequence()(x, h0, c0, W_ih, W_hh, b)[0].data
    stale = np.concatenate([W_ih, b[None]]) * 2.0  # right shape, wrong values
    got = rnn_fused.LSTMSequence(packed=stale)(x, h0, c0, W_ih, W_hh, b)[0].data
    np.testing.assert_array_equal(got, want)
    packed = np.concatenate([W_ih, b[None]])
    got = rnn_fused.LSTMSequence(packed=packed)(x, h0, c0, packed[:I], W_hh, packed[I])[0].data
    np.testing.assert_allclose(got, want, **TOL)
    assert rnn_fused._is_stacked(packed, packed[:I], packed[I])
    assert not rnn_fused._is_stacked(stale, W_ih, b)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_a_step_without_graph_copies_nothing_of_weight_size(kind):
    """One decoding step allocates O(N (I + G H)) bytes, not O(weights): batch 1 with 1.5 MB of weights."""
    In, Hh = 256, 256
    layer = getattr(nn, kind)(In, Hh)
    weights = sum(p.data.nbytes for p in layer.parameters())
    x = mg.tensor(np.ones((1, In), np.float32))
    state = (np.zeros((1, Hh), np.float32),) * (2 if kind == "LSTM" else 1)
    state = state if kind == "LSTM" else state[0]
    with mg.no_grad():
        layer.step(x, state)  # warm-up
        tracemalloc.start()
        for _ in range(3):
            _, state = layer.step(x, state)
            layer(x.reshape(1, 1, In), initial_state=state)  # a T = 1 call takes the same kernel
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < weights / 20, (peak, weights)


def test_step_errors_name_the_shapes():
    lstm = nn.LSTM(3, 8)
    with pytest.raises(ValueError, match=r"LSTM.step: input has shape \(4, 5\) but one step is \(batch, 3\)"):
        lstm.step(np.zeros((4, 5), np.float32))
    with pytest.raises(ValueError, match=r"state must be a tuple \(h, c\)"):
        lstm.step(np.zeros((4, 3), np.float32), np.zeros((4, 8)))
    with pytest.raises(TypeError, match="Embedding"):
        nn.GRU(3, 8).step(np.zeros((4, 3), np.int64))


def test_gru_derived_row_is_refreshed_and_checked():
    """The GRU's packed buffer has one derived row, (b_hr, b_hz, 0), rewritten on every call from bias_hh;
    the Function accepts a packed block only if that row matches, else stacks the weights itself."""
    gru = make("GRU", seed=22, return_sequences=True)
    x = mg.tensor(np.random.default_rng(23).standard_normal((N, T, I)), dtype=np.float64)
    want = gru(x).data
    gru._pack_buf[I + 1] = 7.0             # corrupt the derived row: the next call derives it again
    np.testing.assert_allclose(gru(x).data, want, **TOL)
    gru.bias_hh.data[:H] += 0.25           # in place: the derived row follows
    moved = gru(x).data
    ref = make("GRU", seed=99, return_sequences=True, impl="ref")
    ref.load_state_dict(gru.state_dict())
    np.testing.assert_allclose(moved, ref(x).data, **TOL)
    W = gru._packed()
    wrong = W[:I + 2].copy()
    wrong[I + 1, :H] += 1.0                # right shape, stale b_hr
    args = [x, mg.tensor(np.zeros((N, H)), dtype=np.float64), *gru._weights()]
    got = rnn_fused.GRUSequence(packed=wrong)(*args)[0].data
    np.testing.assert_allclose(got, moved, **TOL)
    block = W[:I + 2]
    assert rnn_fused._gru_input_weights(block, gru.weight_ih.data, gru.bias_ih.data, gru.bias_hh.data) is block
