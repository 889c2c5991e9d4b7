"""Our recurrent layers against torch.nn.RNN (tanh, relu), LSTM and GRU: outputs, final states and gradients,
after load_torch_state_dict; also bidirectional, padded batches (pack_padded_sequence) and the way back
(torch_state_dict -> torch). Skipped when torch is not installed; minigrad itself never imports torch.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402

N, T, I, H = 3, 6, 4, 5
KINDS = ["RNN", "RNN_relu", "LSTM", "GRU"]
LENGTHS = [6, 2, 4]  # one full row, one with a long padded tail
TOLS = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-11)}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def torch_layer(kind: str, dtype, bidirectional: bool = False):
    torch.manual_seed(sum(map(ord, kind)) + bidirectional)
    cls = {"RNN": torch.nn.RNN, "RNN_relu": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    kw = {"nonlinearity": "relu"} if kind == "RNN_relu" else {}
    return cls(I, H, batch_first=True, bidirectional=bidirectional, **kw).to(TORCH_DTYPE[dtype])


def our_layer(kind: str, dtype, impl: str, **kw) -> nn.Module:
    if kind == "RNN_relu":
        layer = nn.RNN(I, H, nonlinearity="relu", return_sequences=True, return_state=True, impl=impl, **kw)
    else:
        layer = getattr(nn, kind)(I, H, return_sequences=True, return_state=True, impl=impl, **kw)
    return layer.to(dtype)


def numpy_state_dict(module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def nonlin(kind: str) -> str | None:
    return {"RNN": "tanh", "RNN_relu": "relu"}.get(kind)


def check_grads(ours_layer, tm, suffix: str, kind: str, tol: dict) -> None:
    """Our gradients equal torch's once converted to our layout (weights transposed, biases merged)."""
    g = {name: p.grad.numpy() for name, p in tm.named_parameters()}
    np.testing.assert_allclose(ours_layer.weight_ih.grad, g["weight_ih" + suffix].T, **tol)
    np.testing.assert_allclose(ours_layer.weight_hh.grad, g["weight_hh" + suffix].T, **tol)
    if kind == "GRU":
        np.testing.assert_allclose(ours_layer.bias_ih.grad, g["bias_ih" + suffix], **tol)
        np.testing.assert_allclose(ours_layer.bias_hh.grad, g["bias_hh" + suffix], **tol)
    else:  # both torch biases enter the same sum, so each gets our bias's gradient
        np.testing.assert_allclose(ours_layer.bias.grad, g["bias_ih" + suffix], **tol)
        np.testing.assert_allclose(ours_layer.bias.grad, g["bias_hh" + suffix], **tol)


def inputs(dtype, n_dirs: int, kind: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, I)).astype(dtype)
    n_states = 2 if kind == "LSTM" else 1
    states = [rng.standard_normal((n_dirs, N, H)).astype(dtype) * 0.5 for _ in range(n_states)]
    return x, states


def run_torch(tm, kind, x, states, lengths=None):
    xt = torch.tensor(x, requires_grad=True)
    st = [torch.tensor(s, requires_grad=True) for s in states]
    arg = tuple(st) if kind == "LSTM" else st[0]
    if lengths is None:
        out, final = tm(xt, arg)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=True, enforce_sorted=False)
        out_p, final = tm(packed, arg)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out_p, batch_first=True, total_length=T)
    final = final if kind == "LSTM" else (final,)
    return xt, st, out, final


def loss_weights(dtype, n_dirs: int, kind: str):
    rng = np.random.default_rng(99)
    r_out = rng.standard_normal((N, T, n_dirs * H)).astype(dtype)
    r_states = [rng.standard_normal((n_dirs, N, H)).astype(dtype) for _ in range(2 if kind == "LSTM" else 1)]
    return r_out, r_states


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("impl", ["fused", "ref"])
@pytest.mark.parametrize("padded", [False, True])
def test_layer_equals_torch(kind, dtype, impl, padded):
    tm = torch_layer(kind, dtype)
    ours = our_layer(kind, dtype, impl)
    ours.load_torch_state_dict(numpy_state_dict(tm), nonlinearity=nonlin(kind))
    x, states = inputs(dtype, 1, kind)
    lengths = LENGTHS if padded else None
    mask = (np.arange(T)[None] < np.array(LENGTHS)[:, None]) if padded else None
    tol = TOLS[dtype]

    xt, st, out_t, final_t = run_torch(tm, kind, x, states, lengths)
    x_m = mg.tensor(x, dtype=dtype, requires_grad=True)
    st_m = [mg.tensor(s[0], dtype=dtype, requires_grad=True) for s in states]
    out_m, *final_m = ours(x_m, initial_state=tuple(st_m) if kind == "LSTM" else st_m[0], mask=mask)

    np.testing.assert_allclose(out_m.data, out_t.detach().numpy(), **tol)  # zeros at padding on both sides
    for a, b in zip(final_m, final_t):
        np.testing.assert_allclose(a.data, b.detach().numpy()[0], **tol)

    r_out, r_states = loss_weights(dtype, 1, kind)
    loss_t = (out_t * torch.from_numpy(r_out)).sum() + sum((f * torch.from_numpy(r)).sum()
                                                           for f, r in zip(final_t, r_states))
    loss_t.backward()
    loss_m = (out_m * r_out).sum() + sum((f * r[0]).sum() for f, r in zip(final_m, r_states))
    loss_m.backward()
    np.testing.assert_allclose(x_m.grad, xt.grad.numpy(), **tol)
    for a, b in zip(st_m, st):
        np.testing.assert_allclose(a.grad, b.grad.numpy()[0], **tol)
    check_grads(ours, tm, "_l0", kind, tol)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padded", [False, True])
def test_bidirectional_equals_torch(kind, dtype, padded):
    tm = torch_layer(kind, dtype, bidirectional=True)
    bi = nn.Bidirectional(our_layer(kind, dtype, "fused"), merge_mode="concat")
    bi.load_torch_state_dict(numpy_state_dict(tm), nonlinearity=nonlin(kind))
    x, states = inputs(dtype, 2, kind, seed=1)
    lengths = LENGTHS if padded else None
    mask = (np.arange(T)[None] < np.array(LENGTHS)[:, None]) if padded else None
    tol = TOLS[dtype]

    xt, st, out_t, final_t = run_torch(tm, kind, x, states, lengths)
    x_m = mg.tensor(x, dtype=dtype, requires_grad=True)
    # torch's h0 is (directions, N, H); ours lists the forward states, then the backward ones
    st_m = {(d, j): mg.tensor(s[d], dtype=dtype, requires_grad=True)
            for j, s in enumerate(states) for d in (0, 1)}
    n_s = len(states)
    init = [st_m[(d, j)] for d in (0, 1) for j in range(n_s)]
    out_m, *final_m = bi(x_m, initial_state=init, mask=mask)

    np.testing.assert_allclose(out_m.data, out_t.detach().numpy(), **tol)
    for k, a in enumerate(final_m):  # Keras order: h_fw[, c_fw], h_bw[, c_bw]
        d, j = divmod(k, n_s)
        np.testing.assert_allclose(a.data, final_t[j].detach().numpy()[d], **tol)

    r_out, r_states = loss_weights(dtype, 2, kind)
    loss_t = (out_t * torch.from_numpy(r_out)).sum() + sum((f * torch.from_numpy(r)).sum()
                                                           for f, r in zip(final_t, r_states))
    loss_t.backward()
    loss_m = (out_m * r_out).sum()
    for k, a in enumerate(final_m):
        d, j = divmod(k, n_s)
        loss_m = loss_m + (a * r_states[j][d]).sum()
    loss_m.backward()
    np.testing.assert_allclose(x_m.grad, xt.grad.numpy(), **tol)
    for (d, j), a in st_m.items():
        np.testing.assert_allclose(a.grad, st[j].grad.numpy()[d], **tol)
    check_grads(bi.forward_layer, tm, "_l0", kind, tol)
    check_grads(bi.backward_layer, tm, "_l0_reverse", kind, tol)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_torch_state_dict_continues_in_torch(kind, bidirectional):
    """The documented way out: our weights -> torch.load_state_dict -> the same outputs."""
    mg.manual_seed(7)
    layer = our_layer(kind, np.float32, "fused")
    ours = nn.Bidirectional(layer) if bidirectional else layer
    for p in ours.parameters():  # non-zero biases, so a lost or doubled bias shows
        p.data += np.random.default_rng(8).uniform(-0.3, 0.3, p.shape).astype(np.float32)
    tm = torch_layer(kind, np.float32, bidirectional)
    tm.load_state_dict({k: torch.from_numpy(v) for k, v in ours.torch_state_dict().items()})  # strict
    x = np.random.default_rng(9).standard_normal((N, T, I)).astype(np.float32)
    out_m = ours(x)[0].data
    with torch.no_grad():
        out_t = tm(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(out_m, out_t, rtol=1e-5, atol=1e-5)
    # and back: torch tensors (even ones that require grad) load directly
    again = nn.Bidirectional(our_layer(kind, np.float32, "fused")) if bidirectional else our_layer(
        kind, np.float32, "fused")
    again.load_torch_state_dict(dict(tm.named_parameters()))
    for a, b in zip(ours.parameters(), again.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("impl", ["fused", "ref"])
def test_cells_equal_torch_cells(kind, impl):
    torch.manual_seed(3)
    tcell = {"RNN": torch.nn.RNNCell, "LSTM": torch.nn.LSTMCell, "GRU": torch.nn.GRUCell}[kind](I, H).double()
    cell = {"RNN": nn.RNNCell, "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}[kind](I, H, impl=impl).double()
    cell.load_torch_state_dict(numpy_state_dict(tcell))
    rng = np.random.default_rng(4)
    x, h, c = rng.standard_normal((N, I)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    with torch.no_grad():
        args = (torch.from_numpy(h), torch.from_numpy(c)) if kind == "LSTM" else torch.from_numpy(h)
        want = tcell(torch.from_numpy(x), args)
    got = cell(mg.tensor(x, dtype=np.float64), (h, c) if kind == "LSTM" else h)
    for a, b in zip(got if kind == "LSTM" else (got,), want if kind == "LSTM" else (want,)):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_graph_free_step_equals_torch_cells(kind):
    """layer.step under no_grad (the graph-free kernel on the packed weights) against torch's cells, three
    tokens, float64; the layer's weights come from a torch layer, the same weights go into the torch cell."""
    tm = torch_layer(kind, np.float64)
    layer = our_layer(kind, np.float64, "fused")
    layer.load_torch_state_dict(numpy_state_dict(tm), nonlinearity=nonlin(kind))
    cls = {"RNN": torch.nn.RNNCell, "RNN_relu": torch.nn.RNNCell, "LSTM": torch.nn.LSTMCell,
           "GRU": torch.nn.GRUCell}[kind]
    tcell = cls(I, H, **({"nonlinearity": "relu"} if kind == "RNN_relu" else {})).double()
    tcell.load_state_dict({k[:-3]: v for k, v in tm.state_dict().items()})  # weight_ih_l0 -> weight_ih
    rng = np.random.default_rng(5)
    h, c = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    state = (h, c) if kind == "LSTM" else h
    t_state = (torch.from_numpy(h), torch.from_numpy(c)) if kind == "LSTM" else torch.from_numpy(h)
    for _ in range(3):
        x = rng.standard_normal((N, I))
        with mg.no_grad():
            y, state = layer.step(mg.tensor(x, dtype=np.float64), state)
        with torch.no_grad():
            t_state = tcell(torch.from_numpy(x), t_state)
        got = state if kind == "LSTM" else (state,)
        want = t_state if kind == "LSTM" else (t_state,)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(y.data, want[0].numpy(), rtol=1e-12, atol=1e-12)
