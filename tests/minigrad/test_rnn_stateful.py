"""stateful=True (Keras's): the final state of one call is the next call's initial state, carried detached.

Chunked == whole (every kind, with masks, go_backwards, return_state, both impls), the gradient stops at the
chunk edge, reset_states(), batch-size changes, eval/train, state_dict, explicit initial_state, Bidirectional.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim

N, T, I, H = 3, 7, 4, 5
KINDS = ["RNN", "LSTM", "GRU"]
TOL = dict(rtol=1e-10, atol=1e-10)


def make(kind: str, seed: int = 0, **kw) -> nn.Module:
    layer = getattr(nn, kind)(I, H, **kw).double()
    rng = np.random.default_rng(seed)
    for p in layer.parameters():
        p.data[...] = rng.uniform(-0.5, 0.5, p.shape)
    return layer


def copy_weights(dst: nn.Module, src: nn.Module) -> nn.Module:
    dst.load_state_dict(src.state_dict())
    return dst


def xs(seed: int = 1, n: int = N, t: int = T) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, t, I))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("impl", ["fused", "ref"])
@pytest.mark.parametrize("split", [1, 3, 6])
def test_two_chunks_equal_the_whole_sequence(kind, impl, split):
    whole = make(kind, return_sequences=True, return_state=True, impl=impl)
    chunked = copy_weights(make(kind, return_sequences=True, return_state=True, impl=impl, stateful=True), whole)
    x = xs()
    out, *final = whole(mg.tensor(x, dtype=np.float64))
    a, *_ = chunked(mg.tensor(x[:, :split], dtype=np.float64))
    b, *final_b = chunked(mg.tensor(x[:, split:], dtype=np.float64))
    np.testing.assert_allclose(np.concatenate([a.data, b.data], axis=1), out.data, **TOL)
    assert len(final_b) == len(final) == len(chunked.states)
    for got, carried, want in zip(final_b, chunked.states, final):
        np.testing.assert_allclose(got.data, want.data, **TOL)
        np.testing.assert_allclose(carried.data, want.data, **TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_chunks_with_a_mask_keep_the_state_at_masked_steps(kind):
    mask = np.ones((N, T), bool)
    mask[1, 2:] = False  # row 1 ends early: padding across the chunk edge (split at 4)
    mask[2, 4:6] = False  # row 2 has a hole right after the edge
    whole = make(kind, seed=2, return_sequences=True, return_state=True)
    chunked = copy_weights(make(kind, return_sequences=True, return_state=True, stateful=True), whole)
    x = xs(3)
    out, *final = whole(mg.tensor(x, dtype=np.float64), mask=mask)
    a, *_ = chunked(mg.tensor(x[:, :4], dtype=np.float64), mask=mask[:, :4])
    b, *final_b = chunked(mg.tensor(x[:, 4:], dtype=np.float64), mask=mask[:, 4:])
    np.testing.assert_allclose(np.concatenate([a.data, b.data], axis=1), out.data, **TOL)
    for got, want in zip(final_b, final):
        np.testing.assert_allclose(got.data, want.data, **TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_go_backwards_chunks_fed_last_first_equal_the_whole_sequence_backwards(kind):
    whole = make(kind, seed=4, return_sequences=True, go_backwards=True)
    chunked = copy_weights(make(kind, return_sequences=True, go_backwards=True, stateful=True), whole)
    x = xs(5)
    out = whole(mg.tensor(x, dtype=np.float64))  # processed order: x[:, T-1] first
    late = chunked(mg.tensor(x[:, 4:], dtype=np.float64))
    early = chunked(mg.tensor(x[:, :4], dtype=np.float64))
    np.testing.assert_allclose(np.concatenate([late.data, early.data], axis=1), out.data, **TOL)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("impl", ["fused", "ref"])
def test_gradient_stops_at_the_chunk_edge(kind, impl):
    """The second chunk's loss reaches the weights only through the second chunk: the same gradients as a
    fresh layer run on chunk 2 from the carried state given as a constant, and nothing reaches chunk 1."""
    layer = make(kind, seed=6, return_sequences=True, impl=impl, stateful=True)
    x = xs(7)
    x1 = mg.tensor(x[:, :3], dtype=np.float64, requires_grad=True)
    layer(x1)  # builds a graph through chunk 1
    carried = layer.states
    layer.zero_grad()
    y2 = layer(mg.tensor(x[:, 3:], dtype=np.float64))
    w = np.random.default_rng(8).standard_normal(y2.shape)
    (y2 * w).sum().backward()
    assert x1.grad is None  # nothing flowed back into chunk 1
    got = {n: p.grad.copy() for n, p in layer.named_parameters()}

    ref = copy_weights(make(kind, return_sequences=True, impl=impl), layer)
    init = carried if kind == "LSTM" else carried[0]
    h = ref(mg.tensor(x[:, 3:], dtype=np.float64), initial_state=init)
    (h * w).sum().backward()
    for n, p in ref.named_parameters():
        np.testing.assert_allclose(got[n], p.grad, err_msg=n, **TOL)
    # and the carried state really is a constant
    assert all(not s.requires_grad for s in layer.states)


def test_truncated_bptt_training_runs_and_the_graph_does_not_grow():
    mg.manual_seed(9)
    layer = nn.LSTM(I, H, return_sequences=True, stateful=True)
    head = nn.Linear(H, 1)
    opt = optim.Adam([*layer.parameters(), *head.parameters()], lr=0.01)
    x = mg.tensor(xs(10, t=40).astype(np.float32))
    target = mg.tensor(np.cumsum(x.data[..., :1], axis=1) * 0.1)
    losses = []
    for _epoch in range(8):
        layer.reset_states()
        for k in range(0, 40, 10):
            opt.zero_grad()
            loss = ((head(layer(x[:, k:k + 10])) - target[:, k:k + 10]) ** 2).mean()
            loss.backward()  # would fail ("backward through a freed graph") if the state were not detached
            opt.step()
            losses.append(loss.item())
    assert np.mean(losses[-4:]) < np.mean(losses[:4])


@pytest.mark.parametrize("kind", KINDS)
def test_reset_states_forgets_or_sets_the_state(kind):
    layer = make(kind, seed=11, stateful=True)
    fresh = copy_weights(make(kind), layer)
    x = mg.tensor(xs(12), dtype=np.float64)
    first = layer(x).data.copy()
    assert layer.states is not None
    second = layer(x).data
    assert not np.allclose(first, second)  # it continued from the carried state
    layer.reset_states()
    assert layer.states is None
    np.testing.assert_allclose(layer(x).data, first, **TOL)
    np.testing.assert_allclose(fresh(x).data, first, **TOL)
    rng = np.random.default_rng(13)
    given = [rng.standard_normal((N, H)) for _ in layer.state_names]
    layer.reset_states(given)  # a list, as a checkpoint gives it back
    init = tuple(given) if kind == "LSTM" else given[0]
    np.testing.assert_allclose(layer(x).data, fresh(x, initial_state=init).data, **TOL)
    with pytest.raises(ValueError, match=r"reset_states\(states\) h has shape \(3, 4\) but expected \(N, 5\)"):
        layer.reset_states([np.zeros((N, H - 1))] * len(layer.state_names))


def test_batch_size_change_is_an_error_naming_both_sizes():
    layer = nn.GRU(I, H, stateful=True)
    layer(xs(14).astype(np.float32))
    with pytest.raises(ValueError, match=r"GRU\(stateful=True\): the carried state is for batch size 3 but the "
                                         r"input \(2, 7, 4\) has batch size 2: call reset_states\(\)"):
        layer(xs(15, n=2).astype(np.float32))
    layer.reset_states()
    assert layer(xs(15, n=2).astype(np.float32)).shape == (2, H)


@pytest.mark.parametrize("kind", KINDS)
def test_explicit_initial_state_overrides_the_carried_one_for_that_call(kind):
    layer = make(kind, seed=16, stateful=True, return_state=True)
    fresh = copy_weights(make(kind, return_state=True), layer)
    x = mg.tensor(xs(17), dtype=np.float64)
    layer(x)
    rng = np.random.default_rng(18)
    given = tuple(rng.standard_normal((N, H)) for _ in layer.state_names)
    init = given if kind == "LSTM" else given[0]
    got = layer(x, initial_state=init)
    want = fresh(x, initial_state=init)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.data, b.data, **TOL)
    for carried, b in zip(layer.states, want[1:]):  # that call's final state is carried on
        np.testing.assert_allclose(carried.data, b.data, **TOL)


def test_state_survives_eval_train_and_is_not_in_state_dict():
    layer = make("LSTM", seed=19, stateful=True)
    x = mg.tensor(xs(20), dtype=np.float64)
    layer(x)
    before = [s.data.copy() for s in layer.states]
    layer.eval()
    layer.train()
    for a, b in zip(layer.states, before):
        np.testing.assert_array_equal(a.data, b)
    assert set(layer.state_dict()) == {"weight_ih", "weight_hh", "bias"}
    other = make("LSTM", seed=21, stateful=True)
    other.load_state_dict(layer.state_dict())
    assert other.states is None  # loading weights carries no state over
    with mg.no_grad():  # inference carries the state too
        layer(x)
    assert not np.allclose(layer.states[0].data, before[0])


def test_returned_state_changed_in_place_does_not_change_the_carried_one():
    layer = make("GRU", seed=22, stateful=True, return_state=True)
    _, h = layer(mg.tensor(xs(23), dtype=np.float64))
    keep = layer.states[0].data.copy()
    h.data[...] = 0
    np.testing.assert_array_equal(layer.states[0].data, keep)


def test_not_stateful_layers_refuse_reset_states_and_carry_nothing():
    layer = make("RNN", seed=24)
    x = mg.tensor(xs(25), dtype=np.float64)
    np.testing.assert_array_equal(layer(x).data, layer(x).data)
    assert layer.states is None
    with pytest.raises(RuntimeError, match="not stateful"):
        layer.reset_states()


def test_bidirectional_of_a_stateful_layer_carries_each_direction():
    mg.manual_seed(26)
    bi = nn.Bidirectional(nn.LSTM(I, H, return_sequences=True, stateful=True)).double()
    assert bi.stateful and bi.forward_layer.stateful and bi.backward_layer.stateful
    x = mg.tensor(xs(27), dtype=np.float64)
    bi(x)
    assert len(bi.states) == 4
    fw_state = bi.forward_layer.states
    whole_fw = nn.LSTM(I, H, return_sequences=True).double()
    whole_fw.load_state_dict(bi.forward_layer.state_dict())
    y = bi(x)  # the forward half continues from its carried state
    want = whole_fw(x, initial_state=tuple(fw_state))
    np.testing.assert_allclose(y.data[..., :H], want.data, **TOL)
    bi.reset_states()
    assert bi.states is None
    first = bi(x).data
    bi.reset_states()
    np.testing.assert_allclose(bi(x).data, first, **TOL)
    zeros = [np.zeros((N, H))] * 4
    bi.reset_states(zeros)
    np.testing.assert_allclose(bi(x).data, first, **TOL)
    assert "stateful=True" in repr(bi)
