"""Long sequences: 2,000 steps backpropagate through both implementations (no recursion limit, same
gradients), and the memory a training step needs grows linearly with the sequence length.
"""

from __future__ import annotations

import sys
import tracemalloc

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


@pytest.mark.parametrize("kind, impls", [("LSTM", ("fused", "ref")), ("RNN", ("fused", "ref")),
                                         ("GRU", ("fused",))])
def test_2000_steps_backprop_and_both_paths_agree(kind, impls):
    assert sys.getrecursionlimit() < 20_000  # the unrolled reference graph has ~60,000 nodes: no recursion
    mg.manual_seed(0)
    layer = getattr(nn, kind)(3, 2, return_sequences=True).double()  # tiny, so the reference stays quick
    x_np = np.random.default_rng(1).standard_normal((1, 2000, 3))
    x = mg.tensor(x_np, dtype=np.float64, requires_grad=True)
    r = np.random.default_rng(2).standard_normal((1, 2000, 2))
    grads = {}
    for impl in impls:
        layer.impl = impl
        layer.zero_grad()
        x.grad = None
        (layer(x) * r).sum().backward()
        grads[impl] = [x.grad.copy()] + [p.grad.copy() for p in layer.parameters()]
        assert all(np.isfinite(g).all() for g in grads[impl])
        assert np.abs(grads[impl][0][0, 0]).max() > 0  # the first step got a gradient
        norms = layer.hidden_grad_norms()
        assert norms.shape == (2000,) and np.isfinite(norms).all()
    if len(impls) == 2:
        for a, b in zip(grads["ref"], grads["fused"]):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def peak_bytes_of_a_training_step(impl: str, T: int, hidden: int) -> int:
    mg.manual_seed(0)
    layer = nn.LSTM(8, hidden, return_sequences=True, impl=impl)
    x = mg.tensor(np.random.default_rng(0).standard_normal((16, T, 8)), requires_grad=True)
    tracemalloc.start()
    try:
        layer(x).sum().backward()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("impl, hidden, T", [("fused", 32, 200), ("ref", 4, 100)])
def test_memory_grows_linearly_with_sequence_length(impl, hidden, T):
    peak_bytes_of_a_training_step(impl, 17, hidden)  # one-time allocations (caches, imports) out of the way
    # each length is a new shape, so nothing is reused from an earlier call: the whole step is counted
    short = peak_bytes_of_a_training_step(impl, T, hidden)
    ratio = peak_bytes_of_a_training_step(impl, 2 * T, hidden) / short
    assert 1.6 <= ratio <= 2.4, f"peak memory at 2T / at T = {ratio:.2f}: not linear in T"
