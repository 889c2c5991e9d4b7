"""Recurrent cells and layers: reference vs fused, the equations vs plain NumPy, Keras's conventions,
parameter counts, gradcheck, hidden_grad_norms, torch-format interop (without torch) and error messages.

Shapes are chosen with N != I != H (N=3, I=4, H=5) so a transposed weight or a swapped axis breaks.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn import rnn_ref

N, T, I, H = 3, 6, 4, 5
KINDS = ["RNN", "RNN_relu", "LSTM", "GRU"]
TOL = dict(rtol=1e-10, atol=1e-10)

# row 0 fully real; row 1 real for 2 steps then a padded tail; row 2 padded start, a hole, a padded end
MASK = np.array([[1, 1, 1, 1, 1, 1],
                 [1, 1, 0, 0, 0, 0],
                 [0, 1, 1, 0, 1, 0]], dtype=bool)


def make_layer(kind: str, input_size: int = I, hidden_size: int = H, **kw) -> nn.Module:
    if kind == "RNN_relu":
        return nn.RNN(input_size, hidden_size, nonlinearity="relu", **kw)
    return getattr(nn, kind)(input_size, hidden_size, **kw)


def randomize(module: nn.Module, seed: int, scale: float = 0.5) -> nn.Module:
    """float64 and random values everywhere, biases included (zero biases would hide bias mistakes)."""
    module.double()
    rng = np.random.default_rng(seed)
    for p in module.parameters():
        p.data[...] = rng.uniform(-scale, scale, p.shape)
    return module


def set_impl(module: nn.Module, impl: str) -> None:
    for m in module.modules():
        if hasattr(m, "impl"):
            m.impl = impl


def n_states(kind: str) -> int:
    return 2 if kind == "LSTM" else 1


def as_tuple(out) -> tuple:
    return tuple(out) if isinstance(out, tuple) else (out,)


def forward_backward(module, impl, x_np, states_np=None, mask=None, pack=None, seed=1) -> dict:
    """Outputs and every gradient (input, initial states, parameters) of sum(outputs * fixed random)."""
    set_impl(module, impl)
    module.zero_grad()
    x = mg.tensor(x_np, dtype=np.float64, requires_grad=True)
    states = [mg.tensor(s, dtype=np.float64, requires_grad=True) for s in states_np or []]
    init = None if states_np is None else pack(states)
    outs = as_tuple(module(x, initial_state=init, mask=mask))
    rng = np.random.default_rng(seed)
    loss = sum((o * rng.standard_normal(o.shape)).sum() for o in outs)
    loss.backward()
    res = {f"out{i}": o.data.copy() for i, o in enumerate(outs)}
    res["dx"] = x.grad.copy()
    for i, s in enumerate(states):
        res[f"dstate{i}"] = s.grad.copy()
    for name, p in module.named_parameters():
        res["d" + name] = p.grad.copy()
    return res


def assert_same(a: dict, b: dict, **tol) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], err_msg=k, **(tol or TOL))


def layer_pack(kind: str):
    return (lambda s: (s[0], s[1])) if kind == "LSTM" else (lambda s: s[0])


# ---- plain NumPy: the equations, one step at a time (an oracle independent of minigrad) -------------------


def np_sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def np_step(kind: str, x, state, params: dict[str, np.ndarray]):
    W, U = params["weight_ih"], params["weight_hh"]
    h = state[0]
    Hh = U.shape[0]
    if kind.startswith("RNN"):
        a = x @ W + h @ U + params["bias"]
        return (np.maximum(a, 0.0) if kind == "RNN_relu" else np.tanh(a),)
    if kind == "LSTM":
        a = x @ W + h @ U + params["bias"]
        i, f, g, o = (a[:, k * Hh:(k + 1) * Hh] for k in range(4))
        c = np_sigmoid(f) * state[1] + np_sigmoid(i) * np.tanh(g)
        return np_sigmoid(o) * np.tanh(c), c
    ax, ah = x @ W + params["bias_ih"], h @ U + params["bias_hh"]
    r = np_sigmoid(ax[:, :Hh] + ah[:, :Hh])
    z = np_sigmoid(ax[:, Hh:2 * Hh] + ah[:, Hh:2 * Hh])
    n = np.tanh(ax[:, 2 * Hh:] + r * ah[:, 2 * Hh:])
    return ((1 - z) * n + z * h,)


def np_layer(kind, params, x, state, mask=None, reverse=False):
    """-> hs (N, T, H) in processed order, final state."""
    outs = []
    for t in (range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])):
        new = np_step(kind, x[:, t], state, params)
        if mask is not None:
            m = mask[:, t, None]
            new = tuple(np.where(m, a, b) for a, b in zip(new, state))
            outs.append(np.where(m, new[0], 0.0))
        else:
            outs.append(new[0])
        state = new
    return np.stack(outs, axis=1), state


def random_inputs(kind: str, seed: int, n=N, t=T, i=I, h=H):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, t, i))
    states = [rng.standard_normal((n, h)) * 0.5 for _ in range(n_states(kind))]
    return x, states


# ---- reference vs fused: every option, every gradient --------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("return_sequences, return_state, go_backwards",
                         list(itertools.product([False, True], repeat=3)))
@pytest.mark.parametrize("use_mask, use_state", [(False, False), (True, False), (False, True), (True, True)])
def test_layer_ref_equals_fused(kind, return_sequences, return_state, go_backwards, use_mask, use_state):
    layer = randomize(make_layer(kind, return_sequences=return_sequences, return_state=return_state,
                                 go_backwards=go_backwards), seed=3)
    x, states = random_inputs(kind, seed=4)
    mask = MASK if use_mask else None
    states = states if use_state else None
    ref = forward_backward(layer, "ref", x, states, mask, layer_pack(kind))
    norms_ref = layer.hidden_grad_norms()
    fused = forward_backward(layer, "fused", x, states, mask, layer_pack(kind))
    norms_fused = layer.hidden_grad_norms()
    assert_same(ref, fused)
    np.testing.assert_allclose(norms_ref, norms_fused, **TOL)
    assert norms_ref.shape == (T,) and (norms_ref > 0).any()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("use_mask", [False, True])
def test_layer_ref_equals_fused_one_step(kind, go_backwards, use_mask):
    layer = make_layer(kind, return_sequences=True, return_state=True, go_backwards=go_backwards)
    randomize(layer, seed=5)
    x, states = random_inputs(kind, seed=6, t=1)
    mask = np.array([[True], [False], [True]]) if use_mask else None
    ref = forward_backward(layer, "ref", x, states, mask, layer_pack(kind))
    fused = forward_backward(layer, "fused", x, states, mask, layer_pack(kind))
    assert_same(ref, fused)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
@pytest.mark.parametrize("return_sequences, return_state", list(itertools.product([False, True], repeat=2)))
def test_bidirectional_ref_equals_fused(kind, merge_mode, return_sequences, return_state):
    bi = randomize(nn.Bidirectional(make_layer(kind, return_sequences=return_sequences,
                                               return_state=return_state), merge_mode=merge_mode), seed=7)
    x, fw = random_inputs(kind, seed=8)
    _, bw = random_inputs(kind, seed=9)
    ref = forward_backward(bi, "ref", x, fw + bw, MASK, list)
    fused = forward_backward(bi, "fused", x, fw + bw, MASK, list)
    assert_same(ref, fused)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("impl", ["ref", "fused"])
def test_cell_ref_and_fused_equal_numpy(kind, impl):
    cls = {"RNN": nn.RNNCell, "RNN_relu": nn.RNNCell, "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}[kind]
    cell = cls(I, H, nonlinearity="relu") if kind == "RNN_relu" else cls(I, H)
    randomize(cell, seed=10)
    cell.impl = impl
    params = {k: v.copy() for k, v in cell.state_dict().items()}
    x, states = random_inputs(kind, seed=11, t=3)
    state = tuple(mg.tensor(s, dtype=np.float64) for s in states)
    expected = tuple(states)
    for t in range(3):  # three steps, feeding the state back
        arg = state if kind == "LSTM" else state[0]
        out = cell(mg.tensor(x[:, t], dtype=np.float64), arg)
        state = out if kind == "LSTM" else (out,)
        expected = np_step(kind, x[:, t], expected, params)
        for got, want in zip(state, expected):
            np.testing.assert_allclose(got.data, want, **TOL)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_cell_gradients_ref_equal_fused(kind):
    cell = randomize(nn.LSTMCell(I, H) if kind == "LSTM" else nn.GRUCell(I, H), seed=12)
    x_np, states = random_inputs(kind, seed=13, t=1)
    grads = {}
    for impl in ("ref", "fused"):
        cell.impl = impl
        cell.zero_grad()
        x = mg.tensor(x_np[:, 0], dtype=np.float64, requires_grad=True)
        st = [mg.tensor(s, dtype=np.float64, requires_grad=True) for s in states]
        out = as_tuple(cell(x, tuple(st) if kind == "LSTM" else st[0]))
        sum((o * (k + 1.5)).sum() for k, o in enumerate(out)).backward()
        grads[impl] = [x.grad, *[s.grad for s in st], *[p.grad for p in cell.parameters()]]
    for a, b in zip(grads["ref"], grads["fused"]):
        np.testing.assert_allclose(a, b, **TOL)


def test_cell_none_state_is_zero_state():
    for cls in (nn.RNNCell, nn.LSTMCell, nn.GRUCell):
        cell = randomize(cls(I, H), seed=14)
        x = mg.tensor(np.random.default_rng(0).standard_normal((N, I)), dtype=np.float64)
        zero = np.zeros((N, H))
        a, b = cell(x), cell(x, (zero, zero) if cls is nn.LSTMCell else zero)
        for u, v in zip(as_tuple(a), as_tuple(b)):
            np.testing.assert_array_equal(u.data, v.data)
        assert isinstance(a, tuple) == (cls is nn.LSTMCell)


@pytest.mark.parametrize("reverse", [False, True])
def test_reference_sequences_equal_the_fused_functions(reverse):
    """rnn_ref's *_sequence helpers follow the same contract as rnn_fused's Functions (same arguments)."""
    from minigrad.nn import rnn_fused

    rng = np.random.default_rng(47)
    x = mg.tensor(rng.standard_normal((N, T, I)), dtype=np.float64)
    h0, c0 = (mg.tensor(rng.standard_normal((N, H)), dtype=np.float64) for _ in range(2))

    def weights(G: int) -> list:  # W_ih, W_hh, b (or b_ih for the GRU)
        shapes = ((I, G * H), (H, G * H), (G * H,))
        return [mg.tensor(rng.uniform(-0.5, 0.5, s), dtype=np.float64) for s in shapes]

    w = {G: weights(G) for G in (1, 3, 4)}
    b_hh = mg.tensor(rng.uniform(-0.5, 0.5, 3 * H), dtype=np.float64)
    pairs = [
        (rnn_ref.rnn_sequence(x, h0, *w[1], "relu", reverse=reverse, mask=MASK),
         rnn_fused.RNNSequence("relu", reverse=reverse, mask=MASK)(x, h0, *w[1])),
        (rnn_ref.lstm_sequence(x, h0, c0, *w[4], reverse=reverse, mask=MASK),
         rnn_fused.LSTMSequence(reverse=reverse, mask=MASK)(x, h0, c0, *w[4])),
        (rnn_ref.gru_sequence(x, h0, *w[3], b_hh, reverse=reverse, mask=MASK),
         rnn_fused.GRUSequence(reverse=reverse, mask=MASK)(x, h0, *w[3], b_hh)),
    ]
    for ref, fused in pairs:
        assert len(ref) == len(fused)
        for a, b in zip(ref, fused):
            np.testing.assert_allclose(a.data, b.data, **TOL)


# ---- the layers against plain NumPy: pins the semantics, not just agreement between two paths -----------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("impl", ["ref", "fused"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_layer_equals_numpy_equations(kind, impl, go_backwards):
    layer = randomize(make_layer(kind, return_sequences=True, return_state=True, go_backwards=go_backwards,
                                 impl=impl), seed=15)
    x, states = random_inputs(kind, seed=16)
    params = {k: v.copy() for k, v in layer.state_dict().items()}
    hs, final = np_layer(kind, params, x, tuple(states), MASK, reverse=go_backwards)
    init = tuple(states) if kind == "LSTM" else states[0]
    out = layer(mg.tensor(x, dtype=np.float64), initial_state=init, mask=MASK)
    np.testing.assert_allclose(out[0].data, hs, **TOL)
    for got, want in zip(out[1:], final):
        np.testing.assert_allclose(got.data, want, **TOL)


# ---- Keras conventions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", ["ref", "fused"])
def test_return_state_order_and_shapes(impl):
    x = mg.tensor(np.random.default_rng(17).standard_normal((N, T, I)), dtype=np.float32)
    mg.manual_seed(0)
    lstm = nn.LSTM(I, H, return_state=True, impl=impl)
    out, h, c = lstm(x)
    assert out.shape == h.shape == c.shape == (N, H)
    np.testing.assert_array_equal(out.data, h.data)  # the last output IS the final h
    assert not np.allclose(h.data, c.data)
    lstm.return_sequences = True
    seq, h2, c2 = lstm(x)
    assert seq.shape == (N, T, H) and h2.shape == c2.shape == (N, H)
    np.testing.assert_allclose(seq.data[:, -1], h2.data, rtol=1e-6)
    np.testing.assert_allclose(c2.data, c.data, rtol=1e-6)
    for cls in (nn.GRU, nn.RNN, nn.SimpleRNN):
        layer = cls(I, H, return_sequences=True, return_state=True, impl=impl)
        res = layer(x)
        assert isinstance(res, tuple) and len(res) == 2
        assert res[0].shape == (N, T, H) and res[1].shape == (N, H)
        assert res[0].dtype == np.float32
    assert nn.SimpleRNN is nn.RNN
    y = nn.GRU(I, H, impl=impl)(x)  # no option: one tensor, the last output
    assert not isinstance(y, tuple) and y.shape == (N, H)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("impl", ["ref", "fused"])
def test_go_backwards_returns_outputs_in_processed_order(kind, impl):
    fwd = randomize(make_layer(kind, return_sequences=True, impl=impl), seed=18)
    bwd = make_layer(kind, return_sequences=True, go_backwards=True, impl=impl).double()
    bwd.load_state_dict(fwd.state_dict())
    x = np.random.default_rng(19).standard_normal((N, T, I))
    out_b = bwd(mg.tensor(x, dtype=np.float64)).data
    out_f_on_reversed = fwd(mg.tensor(x[:, ::-1].copy(), dtype=np.float64)).data
    np.testing.assert_allclose(out_b, out_f_on_reversed, **TOL)  # k-th output = after reading x[:, T-1-k]
    bwd.return_sequences = False
    last = bwd(mg.tensor(x, dtype=np.float64)).data
    np.testing.assert_allclose(last, out_b[:, -1], **TOL)  # the last output read x[:, 0] last


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("impl", ["ref", "fused"])
def test_mask_gives_each_rows_last_real_state(kind, impl):
    layer = randomize(make_layer(kind, return_sequences=True, return_state=True, impl=impl), seed=20)
    rng = np.random.default_rng(21)
    x = rng.standard_normal((N, T, I))
    lengths = [6, 2, 4]
    mask = np.arange(T)[None, :] < np.array(lengths)[:, None]  # right-padded batch
    x[~mask] = 1e3  # padding garbage must not leak into anything
    out, *final = layer(mg.tensor(x, dtype=np.float64), mask=mask)
    assert np.all(out.data[~mask] == 0.0)
    for row, length in enumerate(lengths):
        alone = layer(mg.tensor(x[row:row + 1, :length], dtype=np.float64))
        np.testing.assert_allclose(out.data[row:row + 1, :length], alone[0].data, **TOL)
        for got, want in zip(final, alone[1:]):
            np.testing.assert_allclose(got.data[row:row + 1], want.data, **TOL)


def test_mask_accepts_ints_and_tensors():
    layer = randomize(nn.GRU(I, H, return_sequences=True), seed=22)
    x = mg.tensor(np.random.default_rng(23).standard_normal((N, T, I)), dtype=np.float64)
    a = layer(x, mask=MASK).data
    b = layer(x, mask=MASK.astype(np.int64)).data
    c = layer(x, mask=mg.tensor(MASK)).data
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("impl", ["ref", "fused"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
def test_bidirectional_matches_two_layers_by_hand(impl, merge_mode):
    mg.manual_seed(1)
    layer = nn.LSTM(I, H, return_sequences=True, return_state=True, impl=impl).double()
    bi = nn.Bidirectional(layer, merge_mode=merge_mode)
    randomize(bi, seed=24)
    assert [n for n, _ in bi.named_parameters()] == [
        "forward_layer.weight_ih", "forward_layer.weight_hh", "forward_layer.bias",
        "backward_layer.weight_ih", "backward_layer.weight_hh", "backward_layer.bias"]
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards
    x = mg.tensor(np.random.default_rng(25).standard_normal((N, T, I)), dtype=np.float64)
    res = bi(x, mask=MASK)
    y_f, h_f, c_f = bi.forward_layer(x, mask=MASK)
    y_b, h_b, c_b = bi.backward_layer(x, mask=MASK)
    fw, bw = y_f.data, y_b.data[:, ::-1]  # the backward outputs back in time order
    merged = {"concat": np.concatenate([fw, bw], -1), "sum": fw + bw, "ave": (fw + bw) / 2, "mul": fw * bw}
    if merge_mode is None:
        assert len(res) == 6
        got, states = res[:2], res[2:]
        np.testing.assert_allclose(got[0].data, fw, **TOL)
        np.testing.assert_allclose(got[1].data, bw, **TOL)
    else:
        assert len(res) == 5
        got, states = res[0], res[1:]
        np.testing.assert_allclose(got.data, merged[merge_mode], **TOL)
    for s, want in zip(states, (h_f, c_f, h_b, c_b)):  # Keras order: forward states, then backward
        np.testing.assert_allclose(s.data, want.data, **TOL)
    # at a real position t the backward half has read x[:, t:], so its first real step is the row's last
    assert np.all(bw[~MASK] == 0.0)


def test_bidirectional_copies_the_forward_weights_and_makes_fresh_backward_ones():
    mg.manual_seed(2)
    layer = nn.GRU(I, H)
    bi = nn.Bidirectional(layer)
    np.testing.assert_array_equal(bi.forward_layer.weight_ih.data, layer.weight_ih.data)
    assert bi.forward_layer.weight_ih is not layer.weight_ih
    assert not np.allclose(bi.backward_layer.weight_ih.data, layer.weight_ih.data)
    assert bi.num_parameters() == 2 * layer.num_parameters()
    y = bi(np.zeros((2, 3, I), np.float32))
    assert y.shape == (2, 2 * H)


def test_bidirectional_initial_state_goes_to_each_direction():
    bi = randomize(nn.Bidirectional(nn.LSTM(I, H, return_state=True), merge_mode="sum"), seed=26)
    x = mg.tensor(np.random.default_rng(27).standard_normal((N, T, I)), dtype=np.float64)
    _, st = random_inputs("LSTM", seed=28)
    _, st2 = random_inputs("LSTM", seed=29)
    res = bi(x, initial_state=st + st2)
    _, h_f, c_f = bi.forward_layer(x, initial_state=tuple(st))
    _, h_b, c_b = bi.backward_layer(x, initial_state=tuple(st2))
    for got, want in zip(res[1:], (h_f, c_f, h_b, c_b)):
        np.testing.assert_allclose(got.data, want.data, **TOL)
    with pytest.raises(ValueError, match=r"\[h_fw, c_fw, h_bw, c_bw\]"):
        bi(x, initial_state=st)


# ---- parameters: counts, init, summary, stacking -------------------------------------------------------


def test_parameter_counts_equal_keras_and_show_in_summary():
    for cls, count in ((nn.SimpleRNN, "872"), (nn.LSTM, "3,488"), (nn.GRU, "2,640")):
        layer = cls(100, 8)
        assert f"{layer.num_parameters():,}" == count
        text = layer.summary(np.zeros((1, 20, 100), np.float32), print_fn=None)
        assert f"Total params: {count}" in text
        assert "(None, 8)" in text
    text = nn.Sequential(nn.LSTM(100, 8)).summary(print_fn=None)
    assert "weight_ih (100, 32), weight_hh (8, 32), bias (32,)" in text and "3,488" in text
    gru_text = nn.GRU(100, 8).summary(print_fn=None)
    assert "bias_ih (24,), bias_hh (24,)" in gru_text
    for cls in (nn.RNNCell, nn.LSTMCell, nn.GRUCell):  # a cell holds the same weights as its layer
        assert cls(100, 8).num_parameters() == {nn.RNNCell: 872, nn.LSTMCell: 3488, nn.GRUCell: 2640}[cls]
    assert nn.Bidirectional(nn.LSTM(100, 8)).num_parameters() == 2 * 3488


@pytest.mark.parametrize("cls, G", [(nn.RNN, 1), (nn.LSTM, 4), (nn.GRU, 3), (nn.LSTMCell, 4)])
def test_keras_initialisation(cls, G):
    mg.manual_seed(3)
    In, Hh = 40, 16
    layer = cls(In, Hh)
    W, U = layer.weight_ih.data, layer.weight_hh.data
    assert W.shape == (In, G * Hh) and U.shape == (Hh, G * Hh) and W.dtype == np.float32
    limit = np.sqrt(6.0 / (In + G * Hh))  # glorot-uniform over the whole kernel at once
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.9 * limit
    np.testing.assert_allclose(U @ U.T, np.eye(Hh), atol=1e-5)  # orthogonal rows (H <= G*H)
    if cls is nn.GRU:
        assert not layer.bias_ih.data.any() and not layer.bias_hh.data.any()
    else:
        expected = np.zeros(G * Hh)
        if G == 4:
            expected[Hh:2 * Hh] = 1.0  # unit_forget_bias
        np.testing.assert_array_equal(layer.bias.data, expected)


def test_stacking_with_sequential_trains():
    mg.manual_seed(4)
    model = nn.Sequential(nn.LSTM(3, 16, return_sequences=True), nn.Dropout(0.2), nn.LSTM(16, 8),
                          nn.Linear(8, 1))
    rng = np.random.default_rng(30)
    x = mg.tensor(rng.standard_normal((8, 10, 3)))
    y = mg.tensor(x.data[:, :, 0].sum(axis=1, keepdims=True) * 0.1)
    opt = optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert model(x).shape == (8, 1)
    assert losses[-1] < 0.7 * losses[0]
    text = model.summary(np.zeros((1, 10, 3), np.float32), print_fn=None)
    assert "(None, 10, 16)" in text and "(None, 8)" in text and "Total params: 2,089" in text


def test_extra_repr_shows_the_options():
    assert repr(nn.LSTM(3, 16, return_sequences=True)) == "LSTM(3, 16, return_sequences=True)"
    assert repr(nn.RNN(3, 4, nonlinearity="relu", go_backwards=True, impl="ref")) == \
        "RNN(3, 4, nonlinearity='relu', go_backwards=True, impl='ref')"
    assert repr(nn.GRUCell(2, 3)) == "GRUCell(2, 3)"
    assert "merge_mode='sum'" in repr(nn.Bidirectional(nn.GRU(2, 3), merge_mode="sum"))


# ---- gradcheck of whole layers (central differences, float64) ------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("impl", ["ref", "fused"])
def test_gradcheck_whole_layer(kind, impl):
    layer = randomize(make_layer(kind, 3, 2, return_sequences=True, return_state=True, go_backwards=True,
                                 impl=impl), seed=31)
    rng = np.random.default_rng(32)
    x = mg.tensor(rng.standard_normal((2, 3, 3)), dtype=np.float64, requires_grad=True)
    states = [mg.tensor(rng.standard_normal((2, 2)), dtype=np.float64, requires_grad=True)
              for _ in range(n_states(kind))]
    mask = np.array([[True, True, False], [True, True, True]])

    def f(x, *args):
        init = tuple(states) if kind == "LSTM" else states[0]
        return layer(x, initial_state=init, mask=mask)

    assert mg.gradcheck(f, x, *states, *layer.parameters(), atol=1e-6, rtol=1e-5)


def test_gradcheck_bidirectional_layer():
    bi = randomize(nn.Bidirectional(nn.GRU(3, 2, return_sequences=True), merge_mode="mul"), seed=33)
    x = mg.tensor(np.random.default_rng(34).standard_normal((2, 3, 3)), dtype=np.float64, requires_grad=True)
    assert mg.gradcheck(lambda x, *p: bi(x), x, *bi.parameters(), atol=1e-6, rtol=1e-5)


def test_numpy_oracle_catches_a_wrong_reference_cell(monkeypatch):
    """The checks above can fail: a GRU with b_hn outside r*(...) is caught by the NumPy oracle."""
    def wrong_gru(x, h, W_ih, W_hh, b_ih, b_hh):
        Hh = h.shape[-1]
        r = mg.sigmoid(x @ W_ih[:, :Hh] + b_ih[:Hh] + h @ W_hh[:, :Hh] + b_hh[:Hh])
        z = mg.sigmoid(x @ W_ih[:, Hh:2 * Hh] + b_ih[Hh:2 * Hh] + h @ W_hh[:, Hh:2 * Hh] + b_hh[Hh:2 * Hh])
        n = mg.tanh(x @ W_ih[:, 2 * Hh:] + b_ih[2 * Hh:] + r * (h @ W_hh[:, 2 * Hh:]) + b_hh[2 * Hh:])
        return (1 - z) * n + z * h

    monkeypatch.setattr(rnn_ref, "gru_cell", wrong_gru)
    layer = randomize(nn.GRU(I, H, return_sequences=True, impl="ref"), seed=35)
    x, _ = random_inputs("GRU", seed=36)
    hs, _ = np_layer("GRU", layer.state_dict(), x, (np.zeros((N, H)),))
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(layer(mg.tensor(x, dtype=np.float64)).data, hs, **TOL)


# ---- hidden_grad_norms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", ["ref", "fused"])
def test_hidden_grad_norms_show_the_vanishing_gradient(impl):
    mg.manual_seed(5)
    Tn = 30
    layer = nn.RNN(4, 8, impl=impl).double()
    layer.weight_hh.data *= 0.5  # spectral norm 0.5 and tanh' <= 1: each step back shrinks ‖dh‖ by >= 2x
    with pytest.raises(RuntimeError, match="no gradient has reached"):
        layer.hidden_grad_norms()
    x = mg.tensor(np.random.default_rng(37).standard_normal((2, Tn, 4)), dtype=np.float64)
    out = layer(x)
    with pytest.raises(RuntimeError, match="loss.backward"):
        layer.hidden_grad_norms()  # forward done, backward not yet
    out.sum().backward()
    norms = layer.hidden_grad_norms()
    assert norms.shape == (Tn,)
    np.testing.assert_allclose(norms[-1], np.sqrt(2 * 8))  # d(sum h_T)/dh_T = ones (2, 8)
    assert np.all(norms[:-1] <= 0.5 * norms[1:] + 1e-300)
    assert norms[0] < 1e-6 * norms[-1]


@pytest.mark.parametrize("impl", ["ref", "fused"])
def test_hidden_grad_norms_are_indexed_by_input_position(impl):
    layer = randomize(nn.GRU(I, H, go_backwards=True, impl=impl), seed=38)
    x = mg.tensor(np.random.default_rng(39).standard_normal((N, T, I)), dtype=np.float64)
    layer(x).sum().backward()  # the last state read is the one at input position 0
    norms = layer.hidden_grad_norms()
    np.testing.assert_allclose(norms[0], np.sqrt(N * H))
    with mg.no_grad():
        layer(x)
    with pytest.raises(RuntimeError):
        layer.hidden_grad_norms()  # a forward without gradients has nothing to show


# ---- PyTorch's format, without torch -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_torch_state_dict_round_trip_and_layout(kind):
    layer = randomize(make_layer(kind, return_sequences=True), seed=40)
    d = layer.torch_state_dict()
    G = {"LSTM": 4, "GRU": 3}.get(kind, 1)
    assert set(d) == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}
    assert d["weight_ih_l0"].shape == (G * H, I) and d["weight_hh_l0"].shape == (G * H, H)
    np.testing.assert_array_equal(d["weight_ih_l0"], layer.weight_ih.data.T)
    if kind != "GRU":
        np.testing.assert_array_equal(d["bias_ih_l0"], layer.bias.data)
        assert not d["bias_hh_l0"].any()
    other = make_layer(kind, return_sequences=True).double()
    if kind != "GRU":  # split the bias across the two torch biases: the load must add them up
        d["bias_hh_l0"] = d["bias_ih_l0"] * 0.25
        d["bias_ih_l0"] = d["bias_ih_l0"] * 0.75
    other.load_torch_state_dict(d, nonlinearity="relu" if kind == "RNN_relu" else None)
    x = mg.tensor(np.random.default_rng(41).standard_normal((N, T, I)), dtype=np.float64)
    np.testing.assert_allclose(other(x).data, layer(x).data, **TOL)
    d["weight_ih_l0"][...] = 0  # an export is a copy, never a view of the weights
    assert layer.weight_ih.data.any()


def test_torch_state_dict_bidirectional_and_cells():
    bi = randomize(nn.Bidirectional(nn.LSTM(I, H)), seed=42)
    d = bi.torch_state_dict()
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    assert set(d) == {f"{w}_l0{s}" for w in names for s in ("", "_reverse")}
    np.testing.assert_array_equal(d["weight_hh_l0_reverse"], bi.backward_layer.weight_hh.data.T)
    other = nn.Bidirectional(nn.LSTM(I, H)).double()
    other.load_torch_state_dict(d)
    for a, b in zip(bi.parameters(), other.parameters()):
        np.testing.assert_allclose(a.data, b.data, **TOL)
    cell = randomize(nn.GRUCell(I, H), seed=43)
    assert set(cell.torch_state_dict()) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
    cell2 = nn.GRUCell(I, H).double()
    cell2.load_torch_state_dict(cell.torch_state_dict())
    np.testing.assert_array_equal(cell2.weight_hh.data, cell.weight_hh.data)


def test_load_torch_state_dict_errors_name_the_problem():
    lstm = nn.LSTM(I, H)
    good = lstm.torch_state_dict()
    with pytest.raises(KeyError, match="missing key.*bias_hh_l0"):
        lstm.load_torch_state_dict({k: v for k, v in good.items() if k != "bias_hh_l0"})
    bad = dict(good, weight_hh_l0=np.zeros((4 * H, H + 1), np.float32))
    with pytest.raises(ValueError, match=r"weight_hh_l0 has shape \(20, 6\) but this LSTM needs \(20, 5\)"):
        lstm.load_torch_state_dict(bad)
    with pytest.raises(ValueError, match=r"15 = 3 x 5 rows is the shape of a torch GRU"):
        lstm.load_torch_state_dict(nn.GRU(I, H).torch_state_dict())
    with pytest.raises(KeyError, match="unexpected key.*weight_hr_l0"):
        lstm.load_torch_state_dict(dict(good, weight_hr_l0=np.zeros((5, 5), np.float32)))
    with pytest.raises(KeyError, match="load it into nn.Bidirectional"):
        lstm.load_torch_state_dict(nn.Bidirectional(nn.LSTM(I, H)).torch_state_dict())
    rnn = nn.RNN(I, H)
    with pytest.raises(ValueError, match="nonlinearity='relu' but this layer uses 'tanh'"):
        rnn.load_torch_state_dict(rnn.torch_state_dict(), nonlinearity="relu")
    with pytest.raises(TypeError, match="must hold floats"):
        rnn.load_torch_state_dict(dict(rnn.torch_state_dict(), bias_ih_l0=np.zeros(H, np.int64)))
    before = lstm.weight_ih.data.copy()
    with pytest.raises(ValueError):
        lstm.load_torch_state_dict(bad)
    np.testing.assert_array_equal(lstm.weight_ih.data, before)  # a failed load changes nothing


def test_load_torch_state_dict_layer_by_layer():
    first, second = randomize(nn.GRU(I, H, return_sequences=True), 44), randomize(nn.GRU(H, 7), 45)
    d = {**first.torch_state_dict(0), **second.torch_state_dict(layer_index=1)}
    a, b = nn.GRU(I, H).double(), nn.GRU(H, 7).double()
    a.load_torch_state_dict(d)
    b.load_torch_state_dict(d, layer_index=1)
    np.testing.assert_array_equal(a.weight_ih.data, first.weight_ih.data)
    np.testing.assert_array_equal(b.bias_hh.data, second.bias_hh.data)


# ---- error messages ------------------------------------------------------------------------------------


def test_error_messages_name_the_shapes():
    lstm = nn.LSTM(3, 8)
    with pytest.raises(ValueError, match=r"LSTM: input has shape \(4, 9, 5\) but input_size is 3: "
                                         r"expected \(4, 9, 3\)"):
        lstm(np.zeros((4, 9, 5), np.float32))
    with pytest.raises(ValueError, match=r"LSTM: input has shape \(4, 9\): expected 3-D"):
        lstm(np.zeros((4, 9), np.float32))
    with pytest.raises(ValueError, match=r"LSTM: mask has shape \(4, 7\) but the input is \(4, 9, 3\): "
                                         r"expected \(4, 9\)"):
        lstm(np.zeros((4, 9, 3), np.float32), mask=np.ones((4, 7), bool))
    with pytest.raises(ValueError, match=r"initial_state c has shape \(4, 5\) but the input is \(4, 9, 3\): "
                                         r"expected \(4, 8\)"):
        lstm(np.zeros((4, 9, 3), np.float32), initial_state=(np.zeros((4, 8)), np.zeros((4, 5))))
    with pytest.raises(ValueError, match=r"initial_state must be a tuple \(h, c\)"):
        lstm(np.zeros((4, 9, 3), np.float32), initial_state=np.zeros((4, 8)))
    with pytest.raises(ValueError, match=r"GRU: initial_state h has shape \(2, 8\) but the input is "):
        nn.GRU(3, 8)(np.zeros((4, 9, 3), np.float32), initial_state=np.zeros((2, 8)))
    with pytest.raises(ValueError, match="mask must be booleans"):
        lstm(np.zeros((4, 9, 3), np.float32), mask=np.full((4, 9), 0.5))
    with pytest.raises(ValueError, match="at least one time step"):
        lstm(np.zeros((4, 0, 3), np.float32))
    # one rule (rnn_checks): a wrong dtype is a TypeError, a wrong shape or value a ValueError
    with pytest.raises(TypeError, match="Embedding"):
        lstm(np.zeros((4, 9, 3), np.int64))
    with pytest.raises(TypeError, match="float64 but the weights are float32"):
        lstm(mg.tensor(np.zeros((4, 9, 3)), dtype=np.float64))
    with pytest.raises(ValueError, match=r"LSTMCell: input has shape \(4, 5\) but the cell expects "
                                         r"\(batch, 3\)"):
        nn.LSTMCell(3, 8)(np.zeros((4, 5), np.float32))
    with pytest.raises(ValueError, match="impl must be 'fused' or 'ref'"):
        nn.GRU(3, 8, impl="fast")
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 8, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="merge_mode"):
        nn.Bidirectional(nn.GRU(3, 8), merge_mode="max")
    with pytest.raises(TypeError, match="Bidirectional wraps"):
        nn.Bidirectional(nn.Linear(3, 8))


def test_numpy_inputs_are_converted_to_the_layer_dtype():
    layer = nn.GRU(3, 4, return_sequences=True)
    y = layer(np.random.default_rng(46).standard_normal((2, 5, 3)))  # float64 array -> float32 tensor
    assert y.dtype == np.float32 and y.shape == (2, 5, 4)
    y64 = layer.double()(np.zeros((2, 5, 3), np.float32))
    assert y64.dtype == np.float64


# ---- one input rule for the layers and the fused Functions (rnn_checks) ---------------------------------


@pytest.mark.parametrize("bad, exc", [(np.full((N, T), 0.5), ValueError), (np.full((N, T), 2), ValueError),
                                      (np.full((N, T), "yes"), TypeError), (np.ones((N, T + 1), bool), ValueError),
                                      (np.ones((N, T), complex), TypeError)])
def test_layer_and_fused_function_refuse_a_mask_alike(bad, exc):
    """The same bad mask gives the same exception and message (but the owner) through either door."""
    from minigrad.nn import rnn_fused

    layer = randomize(nn.LSTM(I, H), seed=48)
    x, (h0, c0) = random_inputs("LSTM", seed=49)
    with pytest.raises(exc) as from_layer:
        layer(mg.tensor(x, dtype=np.float64), mask=bad)
    with pytest.raises(exc) as from_fn:
        args = [mg.tensor(a, dtype=np.float64) for a in (x, h0, c0)] + list(layer._weights())
        rnn_fused.LSTMSequence(mask=bad)(*args)
    assert str(from_layer.value).replace("LSTM:", "", 1) == str(from_fn.value).replace("LSTMSequence:", "", 1)


def test_float_and_int_01_masks_are_accepted_by_both_paths():
    layer = randomize(nn.GRU(I, H, return_sequences=True), seed=50)
    x = mg.tensor(np.random.default_rng(51).standard_normal((N, T, I)), dtype=np.float64)
    want = layer(x, mask=MASK).data
    for m in (MASK.astype(np.float32), MASK.astype(np.uint8), MASK.tolist()):
        for impl in ("fused", "ref"):
            layer.impl = impl
            np.testing.assert_allclose(layer(x, mask=m).data, want, **TOL)


def test_no_kind_string_branches():
    """What differs between kinds of cell is on the kind's class: gate count, state parts, biases."""
    for cls, G, parts, biases in ((nn.RNN, 1, ("h",), ("bias",)), (nn.LSTMCell, 4, ("h", "c"), ("bias",)),
                                  (nn.GRU, 3, ("h",), ("bias_ih", "bias_hh"))):
        m = cls(I, H)
        assert m.gates == G and m.state_names == parts
        assert [n for n, _ in m.named_parameters()] == ["weight_ih", "weight_hh", *biases]
        assert not hasattr(m, "kind")
