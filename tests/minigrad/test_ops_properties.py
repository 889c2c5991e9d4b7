"""Property tests (hypothesis) over random shapes: elementwise ops with broadcasting, reductions, matmul.

Each property compares minigrad with NumPy and with the gradient's closed form, computed here
independently of minigrad's `unbroadcast`. Plus numerical stability at extreme inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import functional as F

# derandomize: the same examples on every run (fixed seeds, as every test here); no example database
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None)

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "maximum": (mg.maximum, np.maximum),
    "minimum": (mg.minimum, np.minimum),
}


def _data(shape: tuple[int, ...], seed: int, dtype: Any = np.float64) -> np.ndarray:
    """Standard normal values (nonzero with probability 1, so division is safe)."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum g down to `shape` by the broadcasting rules: an independent check of minigrad's unbroadcast.

    Every element of g is added to the input element it was broadcast from, found by broadcasting the
    input's flat indices to g's shape.
    """
    source = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), g.shape)
    return np.bincount(source.ravel(), weights=g.ravel(), minlength=int(np.prod(shape))).reshape(shape)


# ---- elementwise ------------------------------------------------------------------------------------------


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       name=st.sampled_from(list(BINARY)), seed=st.integers(0, 2**16))
def test_binary_values_and_gradient_shapes(shapes: Any, name: str, seed: int) -> None:
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    op, ref = BINARY[name]
    a = mg.tensor(_data(sa, seed, np.float32), requires_grad=True)
    b = mg.tensor(_data(sb, seed + 1, np.float32), requires_grad=True)
    y = op(a, b)
    assert y.shape == out_shape and y.dtype == np.float32
    np.testing.assert_array_equal(y.data, ref(a.data, b.data))
    y.backward(np.ones(out_shape, dtype=np.float32))
    assert a.grad.shape == sa and b.grad.shape == sb
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       seed=st.integers(0, 2**16))
def test_gradient_of_sum_a_times_b_is_b_summed_over_broadcast_axes(shapes: Any, seed: int) -> None:
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    a = mg.tensor(_data(sa, seed), requires_grad=True, dtype=np.float64)
    b = mg.tensor(_data(sb, seed + 1), requires_grad=True, dtype=np.float64)
    (a * b).sum().backward()
    tol = {"rtol": 1e-12, "atol": 1e-12}
    np.testing.assert_allclose(a.grad, _sum_to(np.broadcast_to(b.data, out_shape), sa), **tol)
    np.testing.assert_allclose(b.grad, _sum_to(np.broadcast_to(a.data, out_shape), sb), **tol)


UNARY = {
    # name: (minigrad op, value, derivative as a function of x)
    "neg": (lambda x: -x, np.negative, lambda x: -np.ones_like(x)),
    "exp": (mg.exp, np.exp, np.exp),
    "tanh": (mg.tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "sigmoid": (mg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    "relu": (mg.relu, lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(x.dtype)),
    "abs": (lambda x: x.abs(), np.abs, np.sign),
    "square": (lambda x: x**2, np.square, lambda x: 2 * x),
}


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, max_side=5), name=st.sampled_from(list(UNARY)),
       seed=st.integers(0, 2**16))
def test_unary_values_and_closed_form_gradients(shape: tuple[int, ...], name: str, seed: int) -> None:
    op, value, deriv = UNARY[name]
    x = mg.tensor(_data(shape, seed), requires_grad=True, dtype=np.float64)
    dy = _data(shape, seed + 1)
    y = op(x)
    np.testing.assert_allclose(y.data, value(x.data), rtol=1e-12, atol=1e-15)
    y.backward(dy)
    np.testing.assert_allclose(x.grad, dy * deriv(x.data), rtol=1e-10, atol=1e-15)


# ---- reductions -------------------------------------------------------------------------------------------


@st.composite
def shape_and_axis(draw: Any) -> tuple[tuple[int, ...], Any]:
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, max_side=5))
    nd = len(shape)
    axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1), hnp.valid_tuple_axes(nd, min_size=1)))
    return shape, axis


@SETTINGS
@given(case=shape_and_axis(), name=st.sampled_from(["sum", "mean", "max", "min"]), keepdims=st.booleans(),
       seed=st.integers(0, 2**16))
def test_reduction_values_shapes_and_gradients(case: Any, name: str, keepdims: bool, seed: int) -> None:
    shape, axis = case
    x = mg.tensor(_data(shape, seed), requires_grad=True, dtype=np.float64)  # continuous: no ties
    y = getattr(x, name)(axis=axis, keepdims=keepdims)
    expected = getattr(np, name)(x.data, axis=axis, keepdims=keepdims)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)
    dy = _data(y.shape, seed + 1)
    y.backward(dy)
    # dy with the reduced axes put back as size 1, so it broadcasts against x
    dy_kept = dy.reshape(getattr(np, name)(x.data, axis=axis, keepdims=True).shape)
    if name == "sum":
        want = np.broadcast_to(dy_kept, shape)
    elif name == "mean":
        want = np.broadcast_to(dy_kept, shape) * (y.data.size / x.data.size)
    else:
        want = dy_kept * (x.data == getattr(np, name)(x.data, axis=axis, keepdims=True))
    np.testing.assert_allclose(x.grad, want, rtol=1e-12)


# ---- matmul -----------------------------------------------------------------------------------------------


@SETTINGS
@given(batch=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
       nkm=st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)), seed=st.integers(0, 2**16))
def test_matmul_values_and_closed_form_gradients(batch: Any, nkm: tuple[int, int, int], seed: int) -> None:
    (ba, bb), bout = batch.input_shapes, batch.result_shape
    n, k, m = nkm
    A = mg.tensor(_data(ba + (n, k), seed), requires_grad=True, dtype=np.float64)
    B = mg.tensor(_data(bb + (k, m), seed + 1), requires_grad=True, dtype=np.float64)
    Y = A @ B
    np.testing.assert_allclose(Y.data, A.data @ B.data, rtol=1e-12)
    assert Y.shape == bout + (n, m)
    dY = _data(Y.shape, seed + 2)
    Y.backward(dY)
    # dA = dY B^T, dB = A^T dY, each summed over the batch axes its operand was broadcast along
    tol = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(A.grad, _sum_to(dY @ np.swapaxes(B.data, -1, -2), A.shape), **tol)
    np.testing.assert_allclose(B.grad, _sum_to(np.swapaxes(A.data, -1, -2) @ dY, B.shape), **tol)


# ---- numerical stability ----------------------------------------------------------------------------------


@pytest.fixture
def no_overflow() -> Any:
    """Turn NumPy's overflow / invalid / divide-by-zero warnings into errors inside the test."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        yield


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_tanh_of_huge_inputs(no_overflow: None, dtype: Any) -> None:
    x = mg.tensor([-1000.0, 1000.0], requires_grad=True, dtype=dtype)
    y = mg.sigmoid(x)
    np.testing.assert_array_equal(y.data, [0.0, 1.0])
    y.sum().backward()
    assert np.all(np.isfinite(x.grad)) and np.all(x.grad == 0)
    np.testing.assert_array_equal(mg.tanh(mg.tensor([-1000.0, 1000.0], dtype=dtype)).data, [-1.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_and_log_softmax_of_large_values(no_overflow: None, dtype: Any) -> None:
    x = mg.tensor([[1000.0, 0.0], [1000.0, 1000.0]], requires_grad=True, dtype=dtype)
    y = F.softmax(x)
    np.testing.assert_allclose(y.data, [[1.0, 0.0], [0.5, 0.5]])
    (y * mg.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=dtype)).sum().backward()
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(x.grad[1], [-0.5, 0.5])  # y (w - y.w) = 0.5 * ([3, 5] - 4)
    x.zero_grad()
    z = F.log_softmax(mg.tensor([[1000.0, 0.0, -1000.0]], requires_grad=True, dtype=dtype) * 1.0)
    np.testing.assert_allclose(z.data, [[0.0, -1000.0, -2000.0]])
    ls = mg.tensor([[1e4, -1e4, 0.0]], requires_grad=True, dtype=dtype)
    F.log_softmax(ls).sum().backward()
    assert np.all(np.isfinite(ls.grad))
    np.testing.assert_allclose(ls.grad, [[-2.0, 1.0, 1.0]], atol=1e-6)  # 1 - 3 softmax


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_at_extreme_logits_are_finite(no_overflow: None, dtype: Any) -> None:
    x = mg.tensor([-100.0, 100.0, -100.0, 100.0], requires_grad=True, dtype=dtype)
    t = mg.tensor([0.0, 1.0, 1.0, 0.0], dtype=dtype)
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 100.0, 100.0], atol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.0, -1.0, 1.0], atol=1e-6)  # sigmoid(x) - t
    logits = mg.tensor([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]], requires_grad=True, dtype=dtype)
    ce = F.cross_entropy(logits, np.array([1, 2]), reduction="none")
    np.testing.assert_allclose(ce.data, [2e4, np.log(3.0)], rtol=1e-6)
    ce.sum().backward()
    assert np.all(np.isfinite(logits.grad))
