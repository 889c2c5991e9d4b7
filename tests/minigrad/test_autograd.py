"""Autograd semantics: deep graphs, reused tensors, no_grad, retain_graph, accumulation, detach, errors,
dtypes, retain_grad and seeding."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F
from minigrad import nn

# ---- deep graphs ------------------------------------------------------------------------------------------


def test_chain_of_10000_ops_backprops_without_recursion() -> None:
    limit = sys.getrecursionlimit()
    x = mg.tensor([0.5, -2.0], requires_grad=True, dtype=np.float64)
    c = 1.0001
    y = x
    for _ in range(5000):  # 10,000 ops: y = c * y + 1, so dy/dx = c^5000
        y = y * c
        y = y + 1.0
    y.sum().backward()
    assert sys.getrecursionlimit() == limit  # nobody raised it to make this pass
    np.testing.assert_allclose(x.grad, [c**5000] * 2, rtol=1e-10)


def test_2000_step_recurrence_matches_hand_written_bptt() -> None:
    # h_t = tanh(h_{t-1} W + x_t): W is used 2,000 times; its gradient is the BPTT sum over steps
    rng = np.random.default_rng(0)
    T, H = 2000, 3
    xs = rng.standard_normal((T, 1, H)) * 0.5
    W0 = rng.standard_normal((H, H)) * 0.4
    W = mg.tensor(W0, requires_grad=True, dtype=np.float64)
    h = mg.tensor(np.zeros((1, H)), dtype=np.float64)
    for t in range(T):
        h = mg.tanh(h @ W + xs[t])
    h.sum().backward()

    hs = [np.zeros((1, H))]
    for t in range(T):
        hs.append(np.tanh(hs[-1] @ W0 + xs[t]))
    dW, dh = np.zeros_like(W0), np.ones((1, H))
    for t in reversed(range(T)):
        da = dh * (1 - hs[t + 1] ** 2)
        dW += hs[t].T @ da
        dh = da @ W0.T
    np.testing.assert_allclose(W.grad, dW, rtol=1e-10, atol=1e-12)


# ---- a tensor used several times --------------------------------------------------------------------------


def test_tensor_used_several_times_gets_the_summed_gradient() -> None:
    x = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 1)
    x.zero_grad()
    (x * x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * x.data**2, rtol=1e-6)


def test_diamond_graph() -> None:
    # a feeds two branches that meet again: d = 3a + a^2 with a = 2x, so dd/dx = (3 + 2a) * 2
    x = mg.tensor([0.5, 1.5], requires_grad=True, dtype=np.float64)
    a = x * 2
    d = a * 3 + a**2
    d.sum().backward()
    np.testing.assert_allclose(x.grad, (3 + 2 * a.data) * 2)
    assert a.grad is None  # intermediates keep no gradient


def test_diamond_through_a_multi_output_op() -> None:
    x = mg.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True, dtype=np.float64)
    top, bottom = x.split([1, 2], axis=0)
    # (1, 2) result; each scalar sum is broadcast over its 2 elements, so it counts twice
    (top * bottom[0] + bottom.sum() + top.sum()).sum().backward()
    np.testing.assert_allclose(x.grad, [[2 + 2, 3 + 2], [0 + 2, 1 + 2], [2, 2]])


# ---- no_grad ----------------------------------------------------------------------------------------------


def _records_nothing(y: mg.Tensor) -> bool:
    return not y.requires_grad and y._ctx is None


def test_no_grad_context_records_nothing_and_restores() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = mg.tanh(x * 2 + 1).sum()
        with mg.enable_grad():
            z = x * 3
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    assert _records_nothing(y)
    assert z.requires_grad and z._ctx is not None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_no_grad_decorator_records_nothing() -> None:
    @mg.no_grad()
    def step(t: mg.Tensor) -> mg.Tensor:
        """docstring kept"""
        assert not mg.is_grad_enabled()
        return (t @ t.T).relu()

    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    assert _records_nothing(step(x))
    assert step.__doc__ == "docstring kept" and step.__name__ == "step"
    assert mg.is_grad_enabled()


def test_no_grad_restores_the_mode_after_an_exception() -> None:
    with pytest.raises(ZeroDivisionError):
        with mg.no_grad():
            raise ZeroDivisionError
    assert mg.is_grad_enabled()

    @mg.no_grad()
    def fails() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        fails()
    assert mg.is_grad_enabled()
    with mg.no_grad():
        with pytest.raises(ValueError):
            with mg.enable_grad():
                raise ValueError
        assert not mg.is_grad_enabled()  # back to the enclosing no_grad, not to "on"
    assert mg.is_grad_enabled()


# ---- retain_graph and accumulation ------------------------------------------------------------------------


def test_second_backward_without_retain_graph_raises() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    assert loss._ctx._released  # the graph is freed: saved arrays dropped
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_backward_through_a_freed_shared_subgraph_raises() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    a, b = y.sum(), (y * 3).sum()
    a.backward()
    with pytest.raises(RuntimeError, match="already freed"):
        b.backward()


def test_retain_graph_accumulates_leaves_but_not_intermediates() -> None:
    x = mg.tensor([1.0, -3.0], requires_grad=True)
    y = x * x
    loss = y.sum()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, 2 * x.data)
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, 4 * x.data)  # leaves add up
    assert y.grad is None and loss.grad is None  # intermediates never store a gradient
    loss.backward()
    np.testing.assert_allclose(x.grad, 6 * x.data)


def test_leaves_accumulate_across_graphs_until_zero_grad() -> None:
    x = mg.tensor([2.0, 4.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 + 2 * x.data)
    x.zero_grad()
    assert x.grad is None
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad, [5.0, 5.0])


def test_accumulated_grad_is_not_an_alias_of_the_upstream_gradient() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    g = np.array([1.0, 1.0], dtype=np.float32)
    x.backward(g)
    x.backward(g)
    np.testing.assert_array_equal(g, [1.0, 1.0])  # the caller's array was not added into
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_detach_cuts_the_graph() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y2 = x * 2
    y = y2.detach()
    assert not y.requires_grad and y.is_leaf and y2._ctx is not None
    assert np.shares_memory(y.data, y2.data)  # no copy: detach only forgets the history
    z = (y * x).sum()
    z.backward()
    np.testing.assert_allclose(x.grad, y.data)  # no path through y: d/dx (y x) = y only


# ---- errors -----------------------------------------------------------------------------------------------


def test_backward_on_non_scalar_without_grad_raises() -> None:
    y = mg.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"only for a scalar.*shape \(2,\)"):
        y.backward()


def test_backward_with_wrong_shape_grad_raises() -> None:
    y = mg.tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(ValueError, match=r"grad has shape \(3, 2\), but the tensor has shape \(2, 3\)"):
        y.backward(np.ones((3, 2)))


def test_item() -> None:
    assert mg.tensor([[2.5]]).item() == 2.5
    with pytest.raises(ValueError, match=r"one element.*shape \(2,\)"):
        mg.tensor([1.0, 2.0]).item()


def test_only_float_tensors_can_require_grad() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        mg.tensor([1, 2], requires_grad=True)


# ---- dtypes -----------------------------------------------------------------------------------------------


def test_tensor_dtype_rules() -> None:
    assert mg.tensor([1.0, 2.0]).dtype == np.float32
    assert mg.tensor(np.array([1.0, 2.0])).dtype == np.float32  # float64 arrays too, unless asked
    assert mg.tensor(3.5).dtype == np.float32
    assert mg.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert mg.tensor([1, 2]).dtype.kind == "i"
    assert mg.tensor(np.array([1, 2], dtype=np.int32)).dtype == np.int32
    assert mg.tensor([True, False]).dtype == np.bool_


@pytest.mark.parametrize("expr", [
    "2 * x", "x * 0.5", "1 - x", "x - 1", "x / 3", "3 / x", "x ** 2", "x + np.ones(3)", "np.ones(3) * x",
    "x * np.array([1, 2, 3])", "np.array([1, 2, 3]) + x", "mg.maximum(x, 0.0)", "mg.where(x > 0, x, 0.0)",
    "x.masked_fill(x > 1, 0.0)", "mg.clip(x, 0.0, 1.0)", "x.mean()", "F.softmax(x)", "x @ np.ones((3, 2))",
    "mg.cat([x, np.zeros(2)])", "F.mse_loss(x, np.zeros(3))", "F.cross_entropy(x, np.array(1))",
])
def test_float32_stays_float32(expr: str) -> None:
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = eval(expr)  # noqa: S307 (fixed expressions above)
    assert y.dtype == np.float32, f"{expr} gave {y.dtype}"
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_float64_stays_float64() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    y = (2 * x * 0.5 + 1) / 3
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float64


# ---- retain_grad ------------------------------------------------------------------------------------------


def test_retain_grad_on_an_intermediate() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = (y * y).sum()
    z.retain_grad()
    z.backward()
    np.testing.assert_allclose(y.grad, 2 * y.data)
    np.testing.assert_allclose(x.grad, 6 * y.data)
    assert z.grad == 1.0


def test_retain_grad_on_a_leaf_does_not_count_twice() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    x.retain_grad()
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 2.0])


# ---- seeding ----------------------------------------------------------------------------------------------


def _random_things() -> list[np.ndarray]:
    r = mg.randn(3, 4).data.copy()
    lin = nn.Linear(4, 5)
    x = mg.tensor(np.ones((50, 20)), requires_grad=True)
    d = F.dropout(x, 0.5)
    d.sum().backward()
    return [r, lin.weight.data.copy(), nn.Embedding(7, 3).weight.data.copy(), d.data.copy(), x.grad]


def test_manual_seed_repeats_bit_for_bit() -> None:
    mg.manual_seed(1234)
    first = _random_things()
    mg.manual_seed(1234)
    second = _random_things()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    mg.manual_seed(1235)
    assert not np.array_equal(_random_things()[0], first[0])


def test_rng_state_round_trip() -> None:
    mg.manual_seed(5)
    state = mg.get_rng_state()
    a = mg.randn(6).data.copy()
    mg.set_rng_state(state)
    np.testing.assert_array_equal(mg.randn(6).data, a)
    with pytest.raises(ValueError, match="non-negative integer"):
        mg.manual_seed(-1)


def test_set_num_threads_changes_the_blas_limit():
    import minigrad

    before = minigrad.get_num_threads()
    try:
        minigrad.set_num_threads(1)
        assert minigrad.get_num_threads() == 1
    finally:
        minigrad.set_num_threads(before)
    with pytest.raises(ValueError, match="positive integer"):
        minigrad.set_num_threads(0)


@pytest.mark.parametrize("op", ["mul", "div"])
def test_constant_operand_gets_no_gradient_computed(op):
    """Mul/Div skip the gradient of an input that does not require one (a mask, a loss weight)."""
    from minigrad.ops.elementwise import Div, Mul

    x = mg.tensor(np.array([1.0, 2.0, 4.0]), requires_grad=True)
    c = mg.tensor(np.array([2.0, 2.0, 2.0]))
    fn = Mul() if op == "mul" else Div()
    y = fn(x, c)
    dx, dc = fn.backward(np.ones(3, dtype=np.float32))
    assert dc is None
    np.testing.assert_allclose(dx, [2.0, 2.0, 2.0] if op == "mul" else [0.5, 0.5, 0.5])
    fn2 = Mul() if op == "mul" else Div()
    fn2(c, x)
    dc2, dx2 = fn2.backward(np.ones(3, dtype=np.float32))
    assert dc2 is None and dx2 is not None
    assert y.requires_grad
