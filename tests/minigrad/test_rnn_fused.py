"""The fused sequence kernels (minigrad/nn/rnn_fused.py): forward against plain NumPy written one step at a
time, backward against finite differences and against autograd through the same recurrence built from ops,
dh_norms, masks, reverse, and the safety of the reused buffers."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import GradcheckError, gradcheck, tensor
from minigrad.nn import rnn_fused
from minigrad.nn.rnn_fused import GRUSequence, LSTMSequence, RNNSequence

N, T, I, H = 2, 3, 4, 5  # all different, so a transposed weight or a swapped axis cannot pass
GATES = {"rnn": 1, "relu": 1, "lstm": 4, "gru": 3}
# row 0: step 1 masked in the middle; row 1: the whole tail after step 0 is padding
MASK = np.array([[True, False, True], [True, False, False]])


# ---- plain NumPy, one time step at a time: the equations as written in the docstrings ----------------------


def _sig(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def np_sequence(cell: str, x, h0, c0, params, reverse=False, mask=None):
    """Reference forward: returns hs (in processed order), h_T, c_T (None except LSTM)."""
    n, t_len, _ = x.shape
    hid = h0.shape[1]
    h, c = h0, c0
    outs = []
    for t in (range(t_len - 1, -1, -1) if reverse else range(t_len)):
        xt = x[:, t]
        if cell in ("rnn", "relu"):
            W_ih, W_hh, b = params
            a = xt @ W_ih + h @ W_hh + b
            h_new = np.tanh(a) if cell == "rnn" else np.maximum(a, 0.0)
            c_new = None
        elif cell == "lstm":
            W_ih, W_hh, b = params
            a = xt @ W_ih + h @ W_hh + b
            i = _sig(a[:, :hid])
            f = _sig(a[:, hid:2 * hid])
            g = np.tanh(a[:, 2 * hid:3 * hid])
            o = _sig(a[:, 3 * hid:])
            c_new = f * c + i * g
            h_new = o * np.tanh(c_new)
        else:
            W_ih, W_hh, b_ih, b_hh = params
            ax = xt @ W_ih + b_ih
            ah = h @ W_hh + b_hh
            r = _sig(ax[:, :hid] + ah[:, :hid])
            z = _sig(ax[:, hid:2 * hid] + ah[:, hid:2 * hid])
            nn_ = np.tanh(ax[:, 2 * hid:] + r * ah[:, 2 * hid:])
            h_new = (1 - z) * nn_ + z * h
            c_new = None
        real = np.ones((n, 1), bool) if mask is None else mask[:, t:t + 1]
        outs.append(np.where(real, h_new, 0.0))
        h = np.where(real, h_new, h)
        if c_new is not None:
            c = np.where(real, c_new, c)
    return np.stack(outs, axis=1), h, (c if cell == "lstm" else None)


# ---- the same recurrence with minigrad ops (autograd does the backward) ------------------------------------


def ag_sequence(cell: str, x, h0, c0, params, reverse=False, mask=None):
    """hs, h_T, c_T and the list of states h_t (by input position) built from minigrad ops."""
    t_len = x.shape[1]
    hid = h0.shape[1]
    h, c = h0, c0
    outs, states = [], [None] * t_len
    for t in (range(t_len - 1, -1, -1) if reverse else range(t_len)):
        xt = x[:, t]
        if cell in ("rnn", "relu"):
            W_ih, W_hh, b = params
            a = xt @ W_ih + h @ W_hh + b
            h_new = a.tanh() if cell == "rnn" else a.relu()
            c_new = None
        elif cell == "lstm":
            W_ih, W_hh, b = params
            a = xt @ W_ih + h @ W_hh + b
            i, f, g, o = a[:, :hid].sigmoid(), a[:, hid:2 * hid].sigmoid(), a[:, 2 * hid:3 * hid].tanh(), \
                a[:, 3 * hid:].sigmoid()
            c_new = f * c + i * g
            h_new = o * c_new.tanh()
        else:
            W_ih, W_hh, b_ih, b_hh = params
            ax = xt @ W_ih + b_ih
            ah = h @ W_hh + b_hh
            r = (ax[:, :hid] + ah[:, :hid]).sigmoid()
            z = (ax[:, hid:2 * hid] + ah[:, hid:2 * hid]).sigmoid()
            nn_ = (ax[:, 2 * hid:] + r * ah[:, 2 * hid:]).tanh()
            h_new = (1 - z) * nn_ + z * h
            c_new = None
        if mask is None:
            h = h_new
            c = c_new
        else:
            real = mask[:, t:t + 1]
            h = minigrad.where(real, h_new, h)
            if c_new is not None:
                c = minigrad.where(real, c_new, c)
        h.retain_grad()
        states[t] = h
        outs.append(h if mask is None else h * mask[:, t:t + 1].astype(h.dtype))
    return minigrad.stack(outs, axis=1), h, c, states


# ---- fixtures ----------------------------------------------------------------------------------------------


def make_inputs(cell: str, seed: int = 0, dtype=np.float64, n=N, t_len=T, i_=I, hid=H):
    """x, h0, c0 (None unless LSTM) and the parameters as float arrays; non-zero initial states."""
    rng = np.random.default_rng(seed)
    G = GATES[cell]
    x = rng.standard_normal((n, t_len, i_))
    h0 = 0.5 * rng.standard_normal((n, hid))
    c0 = 0.5 * rng.standard_normal((n, hid)) if cell == "lstm" else None
    params = [0.5 * rng.standard_normal((i_, G * hid)), 0.5 * rng.standard_normal((hid, G * hid)),
              0.3 * rng.standard_normal(G * hid)]
    if cell == "gru":
        params.append(0.3 * rng.standard_normal(G * hid))

    def cast(a):
        return None if a is None else a.astype(dtype)

    return cast(x), cast(h0), cast(c0), [cast(p) for p in params]


def make_fn(cell: str, reverse=False, mask=None):
    if cell == "lstm":
        return LSTMSequence(reverse=reverse, mask=mask)
    if cell == "gru":
        return GRUSequence(reverse=reverse, mask=mask)
    return RNNSequence(nonlinearity="relu" if cell == "relu" else "tanh", reverse=reverse, mask=mask)


def fused_inputs(cell, x, h0, c0, params):
    return [x, h0] + ([c0] if cell == "lstm" else []) + list(params)


def run_fused(cell, arrays, reverse=False, mask=None):
    """Forward with every input a tensor requiring grad, loss = Σ outputs * fixed random weights, backward."""
    ts = [tensor(a, requires_grad=True, dtype=a.dtype) for a in arrays]
    fn = make_fn(cell, reverse, mask)
    outs = fn(*ts)
    rng = np.random.default_rng(99)
    ws = [rng.standard_normal(o.shape).astype(o.dtype) for o in outs]
    loss = sum(((o * w).sum() for o, w in zip(outs, ws)), start=tensor(0.0, dtype=arrays[0].dtype))
    loss.backward()
    return fn, [o.data.copy() for o in outs], [t.grad for t in ts], ws


CELLS = ["rnn", "relu", "lstm", "gru"]


# ---- forward equals the step-by-step NumPy equations -------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_forward_equals_numpy_steps(cell, reverse, masked):
    x, h0, c0, params = make_inputs(cell, seed=1)
    mask = MASK if masked else None
    arrays = fused_inputs(cell, x, h0, c0, params)
    outs = make_fn(cell, reverse, mask)(*[tensor(a, dtype=np.float64) for a in arrays])
    hs, h_T, c_T = np_sequence(cell, x, h0, c0, params, reverse, mask)
    np.testing.assert_allclose(outs[0].data, hs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(outs[1].data, h_T, rtol=1e-12, atol=1e-12)
    if cell == "lstm":
        np.testing.assert_allclose(outs[2].data, c_T, rtol=1e-12, atol=1e-12)
        assert len(outs) == 3
    else:
        assert len(outs) == 2


@pytest.mark.parametrize("cell", CELLS)
def test_float32_forward_and_t1(cell):
    """float32 agrees with float64 to float32 precision; T = 1 works; output dtypes follow x."""
    for t_len in (1, 7):
        x, h0, c0, params = make_inputs(cell, seed=2, t_len=t_len)
        ref = np_sequence(cell, x, h0, c0, params)
        arrays32 = [a.astype(np.float32) for a in fused_inputs(cell, x, h0, c0, params)]
        outs = make_fn(cell)(*[tensor(a) for a in arrays32])
        assert all(o.dtype == np.float32 for o in outs)
        np.testing.assert_allclose(outs[0].data, ref[0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(outs[1].data, ref[1], rtol=1e-4, atol=1e-5)


def test_reverse_outputs_in_processed_order_and_mask_by_input_position():
    """go_backwards: hs[:, k] is the output after reading x[:, T-1-k]; mask[:, t] means input position t."""
    x, h0, c0, params = make_inputs("lstm", seed=3, t_len=4)
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    arrays = fused_inputs("lstm", x, h0, c0, params)
    fwd_on_flipped = LSTMSequence(mask=mask[:, ::-1].copy())(
        *[tensor(a, dtype=np.float64) for a in [x[:, ::-1].copy()] + arrays[1:]])
    rev = LSTMSequence(reverse=True, mask=mask)(*[tensor(a, dtype=np.float64) for a in arrays])
    for a, b in zip(rev, fwd_on_flipped):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-12)
    # row 0 is padded at positions 2, 3: read backwards they come first, so their outputs are 0 and the
    # state is still h0 until position 1 is read
    assert np.all(rev[0].data[0, :2] == 0.0) and np.all(rev[0].data[0, 2:] != 0.0)


def test_mask_right_padding_gives_last_real_state():
    """With right padding, h_T is each row's state at its last real step; padded outputs are exactly 0."""
    x, h0, c0, params = make_inputs("gru", seed=4, t_len=5)
    lengths = [5, 2]
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    arrays = fused_inputs("gru", x, h0, c0, params)
    hs, h_T = GRUSequence(mask=mask)(*[tensor(a, dtype=np.float64) for a in arrays])
    short = GRUSequence()(*[tensor(a, dtype=np.float64) for a in [x[1:2, :2]] + [h0[1:2]] + arrays[2:]])
    np.testing.assert_allclose(h_T.data[1], short[1].data[0], rtol=1e-12)
    np.testing.assert_allclose(h_T.data[1], hs.data[1, 1], rtol=1e-12)
    assert np.all(hs.data[1, 2:] == 0.0)


# ---- gradients: finite differences ------------------------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck(cell, reverse, masked):
    x, h0, c0, params = make_inputs(cell, seed=5)
    mask = MASK if masked else None
    ts = [tensor(a, requires_grad=True, dtype=np.float64) for a in fused_inputs(cell, x, h0, c0, params)]
    assert gradcheck(lambda *a: make_fn(cell, reverse, mask)(*a), *ts, eps=1e-6, atol=1e-7, rtol=1e-5)


def test_gradcheck_catches_a_wrong_derivative():
    """The check above can fail: a backward with dW_hh off by 1% is caught."""

    class Broken(LSTMSequence):
        def backward(self, *dys):
            dx, dh0, dc0, dW_ih, dW_hh, db = super().backward(*dys)
            return dx, dh0, dc0, dW_ih, dW_hh * 1.01, db

    x, h0, c0, params = make_inputs("lstm", seed=6)
    ts = [tensor(a, requires_grad=True, dtype=np.float64) for a in fused_inputs("lstm", x, h0, c0, params)]
    with pytest.raises(GradcheckError, match="input 4"):
        gradcheck(lambda *a: Broken()(*a), *ts, eps=1e-6, atol=1e-7, rtol=1e-5)


# ---- gradients and dh_norms against autograd through the same recurrence -----------------------------------


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_grads_and_dh_norms_equal_autograd(cell, reverse, masked):
    x, h0, c0, params = make_inputs(cell, seed=7, t_len=4)
    mask = np.array([[True, False, True, True], [True, True, False, False]]) if masked else None
    arrays = fused_inputs(cell, x, h0, c0, params)
    fn, outs, grads, ws = run_fused(cell, arrays, reverse, mask)

    ts = [tensor(a, requires_grad=True, dtype=np.float64) for a in arrays]
    c0_t = ts[2] if cell == "lstm" else None
    prm = ts[3:] if cell == "lstm" else ts[2:]
    hs, h_T, c_T, states = ag_sequence(cell, ts[0], ts[1], c0_t, prm, reverse, mask)
    ag_outs = [hs, h_T] + ([c_T] if cell == "lstm" else [])
    loss = sum((o * w).sum() for o, w in zip(ag_outs, ws))
    loss.backward()

    for o, ag in zip(outs, ag_outs):
        np.testing.assert_allclose(o, ag.data, rtol=1e-12, atol=1e-12)
    for k, (g, t) in enumerate(zip(grads, ts)):
        np.testing.assert_allclose(g, t.grad, rtol=1e-10, atol=1e-12, err_msg=f"input {k}")
    expected = np.array([np.linalg.norm(s.grad) for s in states])
    assert fn.dh_norms.shape == (x.shape[1],)
    np.testing.assert_allclose(fn.dh_norms, expected, rtol=1e-10)
    # they differ from step to step, so an index mix-up (e.g. processed order when reverse) would fail
    assert np.ptp(expected) > 1e-3


def test_dh_norms_survive_release_and_other_state_is_freed():
    x, h0, c0, params = make_inputs("lstm", seed=8)
    fn, *_ = run_fused("lstm", fused_inputs("lstm", x, h0, c0, params))
    assert fn._released and not hasattr(fn, "A") and "_ws" not in fn.__dict__
    assert isinstance(fn.dh_norms, np.ndarray) and fn.dh_norms.shape == (T,)


def test_backward_twice_with_retain_graph_doubles_gradients():
    """backward never writes into what forward saved: a second backward gives exactly the same gradients."""
    for cell in ("lstm", "gru", "rnn"):
        x, h0, c0, params = make_inputs(cell, seed=9)
        ts = [tensor(a, requires_grad=True, dtype=np.float64) for a in fused_inputs(cell, x, h0, c0, params)]
        outs = make_fn(cell, mask=MASK)(*ts)
        loss = (outs[0] * outs[0]).sum() + outs[1].sum()
        loss.backward(retain_graph=True)
        first = [t.grad.copy() for t in ts]
        loss.backward()
        for a, t in zip(first, ts):
            np.testing.assert_array_equal(t.grad, 2 * a)


def test_input_grad_skipped_when_x_needs_none():
    """x without requires_grad gets no gradient (dx is not computed); the other gradients are unchanged."""
    arrays = fused_inputs("gru", *make_inputs("gru", seed=10))
    _, _, grads, ws = run_fused("gru", arrays)
    xt = tensor(arrays[0], dtype=np.float64)
    rest = [tensor(a, requires_grad=True, dtype=np.float64) for a in arrays[1:]]
    outs = GRUSequence()(xt, *rest)
    sum((o * w).sum() for o, w in zip(outs, ws)).backward()
    assert xt.grad is None
    for g, t in zip(grads[1:], rest):
        np.testing.assert_allclose(t.grad, g, rtol=1e-12, atol=1e-14)


# ---- buffer reuse safety -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_two_forwards_then_two_backwards(cell):
    """Two calls of the same shapes before any backward: the second must not overwrite the first's buffers."""
    a1 = fused_inputs(cell, *make_inputs(cell, seed=11))
    a2 = fused_inputs(cell, *make_inputs(cell, seed=12))
    _, outs1, grads1, _ = run_fused(cell, a1, mask=MASK)
    _, outs2, grads2, _ = run_fused(cell, a2, mask=MASK)

    t1 = [tensor(a, requires_grad=True, dtype=np.float64) for a in a1]
    t2 = [tensor(a, requires_grad=True, dtype=np.float64) for a in a2]
    o1 = make_fn(cell, mask=MASK)(*t1)
    held = o1[0].data.copy()
    o2 = make_fn(cell, mask=MASK)(*t2)
    np.testing.assert_array_equal(o1[0].data, held)  # the caller's output is not a reused buffer
    rng = np.random.default_rng(99)
    w = [rng.standard_normal(o.shape) for o in o1]
    # backward in the order "first forward first", the harder one for a buffer shared by both calls
    sum((o * wi).sum() for o, wi in zip(o1, w)).backward()
    sum((o * wi).sum() for o, wi in zip(o2, w)).backward()
    for g, t in zip(grads1, t1):
        np.testing.assert_allclose(t.grad, g, rtol=1e-12, atol=1e-14)
    for g, t in zip(grads2, t2):
        np.testing.assert_allclose(t.grad, g, rtol=1e-12, atol=1e-14)


def test_stacked_layers_same_shapes():
    """Layer 2 reads layer 1's hs; both hold workspaces of the same key until the one backward."""
    x, h0, c0, params1 = make_inputs("lstm", seed=13, i_=H)
    _, _, _, params2 = make_inputs("lstm", seed=14, i_=H)
    ref1 = np_sequence("lstm", x, h0, c0, params1)
    ref2 = np_sequence("lstm", ref1[0], h0, c0, params2)
    ts1 = [tensor(a, requires_grad=True, dtype=np.float64) for a in [x, h0, c0] + params1]
    ts2 = [tensor(a, requires_grad=True, dtype=np.float64) for a in params2]
    hs1, _, _ = LSTMSequence()(*ts1)
    hs2, h2, _ = LSTMSequence()(hs1, ts1[1], ts1[2], *ts2)
    np.testing.assert_allclose(hs2.data, ref2[0], rtol=1e-12)
    loss = (hs2 * hs2).sum() + h2.sum()
    loss.backward()
    # against autograd through both layers
    ag1 = [tensor(a, requires_grad=True, dtype=np.float64) for a in [x, h0, c0] + params1]
    ag2 = [tensor(a, requires_grad=True, dtype=np.float64) for a in params2]
    s1 = ag_sequence("lstm", ag1[0], ag1[1], ag1[2], ag1[3:])[0]
    s2, g2, _, _ = ag_sequence("lstm", s1, ag1[1], ag1[2], ag2)
    ((s2 * s2).sum() + g2.sum()).backward()
    for a, b in zip(ts1 + ts2, ag1 + ag2):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10, atol=1e-12)


def test_workspace_is_reused_after_backward_and_after_no_grad():
    rnn_fused._POOL.clear()
    arrays = [a.astype(np.float32) for a in fused_inputs("lstm", *make_inputs("lstm", seed=15))]
    ts = [tensor(a, requires_grad=True) for a in arrays]
    fn = LSTMSequence()
    hs, _, _ = fn(*ts)
    ws = fn._ws
    hs.sum().backward()
    fn2 = LSTMSequence()
    fn2(*ts)
    assert fn2._ws is ws  # the same arrays again, not new ones
    with minigrad.no_grad():
        fn3 = LSTMSequence()
        fn3(*ts)  # fn2 still holds ws: a new workspace, given back at once since no backward can follow
    assert "_ws" not in fn3.__dict__
    # (the backward's transposed copies of W_hh and W_ih, T = 3, are pooled too)
    assert [key[0] for key, _ in rnn_fused._POOL._free] == ["lstm-back", "transpose", "transpose", "lstm"]


def test_pool_keeps_a_bounded_number_of_workspaces():
    pool = rnn_fused._WorkspacePool(max_free=2, max_bytes=10_000)
    shapes = {"a": (10, 10)}  # 400 bytes in float32
    for key in ("k1", "k2", "k3"):
        pool.give_back((key,), pool.take((key,), shapes, np.float32))
    assert [k for k, _ in pool._free] == [("k2",), ("k3",)]  # the oldest went first
    big = pool.take(("big",), {"a": (100, 100)}, np.float32)  # 40 kB > max_bytes
    pool.give_back(("big",), big)
    assert [k for k, _ in pool._free] == [("big",)]
    assert pool.take(("big",), {"a": (100, 100)}, np.float32)["a"] is big["a"]


# ---- bad input ---------------------------------------------------------------------------------------------


def test_bad_inputs_give_clear_errors():
    x, h0, c0, params = make_inputs("lstm", seed=16)
    ts = [tensor(a, dtype=np.float64) for a in fused_inputs("lstm", x, h0, c0, params)]
    with pytest.raises(ValueError, match=r"LSTMSequence: x must have shape \(N, T, I\)"):
        LSTMSequence()(ts[0][0], *ts[1:])
    with pytest.raises(ValueError, match=r"W_ih must have shape \(4, 20\)"):
        LSTMSequence()(ts[0], ts[1], ts[2], tensor(params[0].T, dtype=np.float64), *ts[4:])
    with pytest.raises(ValueError, match=r"c0 must have shape \(2, 5\)"):
        LSTMSequence()(ts[0], ts[1], ts[1][:1], *ts[3:])
    with pytest.raises(TypeError, match="W_hh is float32 but x is float64"):
        LSTMSequence()(ts[0], ts[1], ts[2], ts[3], tensor(params[1]), ts[5])
    with pytest.raises(ValueError, match=r"LSTMSequence: mask has shape \(2, 4\) but the input is \(2, 3, 4\): "
                                         r"expected \(2, 3\)"):
        LSTMSequence(mask=np.ones((2, 4), bool))(*ts)
    with pytest.raises(ValueError, match="mask must be booleans or 0/1"):  # the layers' rule (rnn_checks)
        LSTMSequence(mask=np.full((2, 3), 0.5))
    with pytest.raises(TypeError, match="mask must be booleans or 0/1"):
        LSTMSequence(mask=np.full((2, 3), "yes"))
    with pytest.raises(ValueError, match="empty input"):
        LSTMSequence()(tensor(np.zeros((2, 0, 4)), dtype=np.float64), *ts[1:])
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        RNNSequence(nonlinearity="sigmoid")
    g = fused_inputs("gru", *make_inputs("gru", seed=17))
    gts = [tensor(a, dtype=np.float64) for a in g]
    with pytest.raises(ValueError, match=r"GRUSequence: b_hh must have shape \(15,\)"):
        GRUSequence()(*gts[:-1], gts[-1][:5])

