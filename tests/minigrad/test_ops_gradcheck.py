"""Finite-difference gradcheck (float64, central differences) of every op, plus a test of the checker.

Inputs are drawn away from kinks (relu/abs at 0, clip bounds, max ties) so the numerical derivative exists.
Shapes are chosen unequal on every axis, so a transposed or unbroadcast gradient cannot pass by accident.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from testkit import conv_reference

import minigrad as mg
from minigrad import Function, GradcheckError, gradcheck
from minigrad import functional as F

# float64 central differences with eps=1e-6 are good to ~1e-9; these leave room yet catch any wrong rule
EPS, ATOL, RTOL = 1e-6, 1e-6, 1e-5


def leaf(*shape: int, seed: int = 0, low: float = -1.0, high: float = 1.0) -> mg.Tensor:
    """A float64 leaf with uniform values in [low, high)."""
    data = np.random.default_rng(seed).uniform(low, high, shape)
    return mg.tensor(data, requires_grad=True, dtype=np.float64)


def leaf_away_from_zero(*shape: int, seed: int = 0, margin: float = 0.2) -> mg.Tensor:
    """A float64 leaf with |x| in [margin, 1.2), random signs: for relu, abs, 1/x."""
    rng = np.random.default_rng(seed)
    data = rng.uniform(margin, 1.2, shape) * rng.choice([-1.0, 1.0], shape)
    return mg.tensor(data, requires_grad=True, dtype=np.float64)


def check(fn: Callable[..., Any], *inputs: mg.Tensor) -> None:
    assert gradcheck(fn, *inputs, eps=EPS, atol=ATOL, rtol=RTOL)


# ---- the checker itself ---------------------------------------------------------------------------------


class _WrongSquare(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self.x  # deliberately wrong: d(x^2)/dx = 2x


class _WrongAtOneElement(Function):
    """a * b whose gradient wrt b is off at element (1, 2) only."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a * b

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        db = dy * self.a
        db[1, 2] += 0.5
        return dy * self.b, db


class _RightSquare(_WrongSquare):
    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * 2 * self.x


def test_gradcheck_fails_on_wrong_backward_naming_input_and_element() -> None:
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(3, 4\)\) at element \(\d, \d\)"):
        gradcheck(lambda x: _WrongSquare()(x), leaf(3, 4), atol=ATOL, rtol=RTOL)
    a, b = leaf(2, 3, seed=1), leaf(2, 3, seed=2)
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(2, 3\)\) at element \(1, 2\)") as info:
        gradcheck(lambda a, b: _WrongAtOneElement()(a, b), a, b, atol=ATOL, rtol=RTOL)
    assert "1 of 6 elements disagree" in str(info.value)


def test_gradcheck_passes_right_backward_and_can_return_false() -> None:
    check(lambda x: _RightSquare()(x), leaf(3, 4))
    assert gradcheck(lambda x: _WrongSquare()(x), leaf(3, 4), raise_exception=False) is False


def test_gradcheck_perturbs_non_contiguous_inputs() -> None:
    # a transposed array is a strided view; perturbing a reshape(-1) copy of it would change nothing
    x = mg.tensor(np.random.default_rng(3).standard_normal((4, 3)).T, requires_grad=True, dtype=np.float64)
    assert not x.data.flags["C_CONTIGUOUS"]
    before = x.data.copy()
    check(lambda x: x * x, x)
    np.testing.assert_array_equal(x.data, before)  # every perturbation was undone
    with pytest.raises(GradcheckError):
        gradcheck(lambda x: _WrongSquare()(x), x)


def test_gradcheck_refuses_float32_and_no_grad_inputs() -> None:
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda x: x * x, mg.tensor([1.0, 2.0], requires_grad=True))
    with pytest.raises(ValueError, match="requires_grad"):
        gradcheck(lambda x: x * x, mg.tensor([1.0, 2.0], dtype=np.float64))


# ---- arithmetic with broadcasting -------------------------------------------------------------------------

BROADCAST_PAIRS = [
    ((3, 4), (3, 4)),
    ((3, 1, 4), (5, 1)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((1,), (2, 3)),
    ((2, 1), (1, 3)),
]
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b,
    "maximum": mg.maximum,
    "minimum": mg.minimum,
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_binary_ops_broadcast(name: str, shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    a = leaf(*shapes[0], seed=1)
    # the divisor stays away from 0; distinct seeds make max/min ties (non-differentiable) impossible here
    b = leaf(*shapes[1], seed=2, low=0.5, high=1.5) if name == "truediv" else leaf(*shapes[1], seed=2)
    out = BINARY[name](a, b)
    expected = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.divide,
                "maximum": np.maximum, "minimum": np.minimum}[name](a.data, b.data)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    check(BINARY[name], a, b)


def test_neg() -> None:
    check(lambda x: -x, leaf(3, 4))


@pytest.mark.parametrize("p", [0.5, -1, 2, 3, -0.5])
def test_pow(p: float) -> None:
    x = leaf(3, 4, low=0.3, high=2.0)  # positive: x**0.5 and x**-0.5 need it
    np.testing.assert_allclose((x**p).data, x.data**p, rtol=1e-12)
    check(lambda x: x**p, x)


def test_pow_three_of_negative_values() -> None:
    check(lambda x: x**3, leaf(2, 5, seed=3, low=-2.0, high=2.0))


REFLECTED = {
    "2 * x": lambda x: 2 * x,
    "x * 0.5": lambda x: x * 0.5,
    "1 - x": lambda x: 1 - x,
    "2 / x": lambda x: 2 / x,
    "x / 2": lambda x: x / 2,
    "x + array": lambda x: x + np.arange(12.0).reshape(4, 3),
    "array - x": lambda x: np.arange(12.0).reshape(4, 3) - x,
    "array * x": lambda x: np.linspace(-1, 1, 3) * x,
    "array / x": lambda x: np.linspace(1, 2, 12).reshape(4, 3) / x,
    "int array + x": lambda x: np.array([1, 2, 3]) + x,
    "array @ x": lambda x: np.ones((2, 3)) @ x,
}


@pytest.mark.parametrize("name", list(REFLECTED))
def test_reflected_forms(name: str) -> None:
    x = leaf_away_from_zero(3, seed=4)  # (3,) broadcasts against the (4, 3) arrays
    out = REFLECTED[name](x)
    assert isinstance(out, mg.Tensor), f"{name} did not return a Tensor"
    np.testing.assert_allclose(out.data, REFLECTED[name](x.data), rtol=1e-12)
    check(REFLECTED[name], x)


# ---- matmul ---------------------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),  # 2-D
    ((2, 3, 4), (2, 4, 5)),  # batched
    ((2, 3, 4), (4, 5)),  # batched @ a shared 2-D weight
    ((3, 4), (2, 4, 5)),  # 2-D @ batched
    ((2, 1, 3, 4), (5, 4, 2)),  # broadcast batch axes
    ((4,), (4, 5)),  # vector @ matrix
    ((3, 4), (4,)),  # matrix @ vector
    ((4,), (4,)),  # dot product
    ((2, 3, 4), (4,)),  # batched @ vector
    ((4,), (2, 4, 3)),  # vector @ batched
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    a, b = leaf(*shapes[0], seed=5), leaf(*shapes[1], seed=6)
    out = a @ b
    np.testing.assert_allclose(out.data, a.data @ b.data, rtol=1e-12)
    check(lambda a, b: a @ b, a, b)
    check(mg.matmul, a, b)


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5))], ids=str)
def test_matmul_with_one_constant_operand(shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    # backward skips the GEMM of an operand that needs no gradient: the other one must still be right
    a, b = leaf(*shapes[0], seed=7), leaf(*shapes[1], seed=8)
    a_const, b_const = a.detach(), b.detach()
    check(lambda b: a_const @ b, b)
    check(lambda a: a @ b_const, a)
    (a_const @ b).sum().backward()
    assert a_const.grad is None


# ---- elementwise functions --------------------------------------------------------------------------------

def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-v))


UNARY = {
    "exp": (mg.exp, np.exp, leaf),
    "log": (mg.log, np.log, lambda *s, seed: leaf(*s, seed=seed, low=0.2, high=3.0)),
    "sqrt": (mg.sqrt, np.sqrt, lambda *s, seed: leaf(*s, seed=seed, low=0.2, high=3.0)),
    "tanh": (mg.tanh, np.tanh, lambda *s, seed: leaf(*s, seed=seed, low=-3.0, high=3.0)),
    "sigmoid": (mg.sigmoid, _sigmoid, lambda *s, seed: leaf(*s, seed=seed, low=-4, high=4)),
    "relu": (mg.relu, lambda v: np.maximum(v, 0), leaf_away_from_zero),
    "abs": (lambda x: x.abs(), np.abs, leaf_away_from_zero),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary(name: str) -> None:
    op, ref, make = UNARY[name]
    x = make(3, 4, seed=7)
    np.testing.assert_allclose(op(x).data, ref(x.data), rtol=1e-12)
    check(op, x)


def test_maximum_minimum_with_a_constant() -> None:
    x = leaf_away_from_zero(3, 4, seed=8)
    check(lambda x: mg.maximum(x, 0.0), x)
    check(lambda x: mg.minimum(0.0, x), x)


@pytest.mark.parametrize("low, high", [(-0.5, 0.5), (-0.3, None), (None, 0.4)])
def test_clip(low: float | None, high: float | None) -> None:
    x = leaf(4, 5, seed=9)
    assert np.all(np.abs(x.data - 0.5) > 1e-3) and np.all(np.abs(x.data + 0.3) > 1e-3)  # no kink hit
    np.testing.assert_array_equal(mg.clip(x, low, high).data, np.clip(x.data, low, high))
    check(lambda x: mg.clip(x, low, high), x)


def test_where_with_broadcasting() -> None:
    cond = np.random.default_rng(10).random((3, 4)) > 0.5
    a, b = leaf(3, 4, seed=11), leaf(4, seed=12)
    np.testing.assert_array_equal(mg.where(cond, a, b).data, np.where(cond, a.data, b.data))
    check(lambda a, b: mg.where(cond, a, b), a, b)
    check(lambda a: mg.where(cond, a, 0.0), a)


def test_masked_fill_with_broadcast_mask() -> None:
    x = leaf(2, 3, 4, seed=13)
    mask = np.array([[True], [False], [True]])  # (3, 1) broadcasts over (2, 3, 4)
    y = x.masked_fill(mask, -1e9)
    assert np.all(y.data[:, [0, 2]] == -1e9) and np.all(y.data[:, 1] == x.data[:, 1])
    # a small fill value: -1e9 in the summed loss would swamp the finite differences in rounding error
    check(lambda x: mg.masked_fill(x, mask, -5.0), x)


# ---- reductions -------------------------------------------------------------------------------------------

REDUCTIONS = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (-1, 0)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(name: str, axis: Any, keepdims: bool) -> None:
    x = leaf(3, 4, 5, seed=14)  # continuous values: no ties for max/min
    out = getattr(x, name)(axis=axis, keepdims=keepdims)
    expected = REDUCTIONS[name](x.data, axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    check(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims), x)


def test_max_ties_share_the_gradient() -> None:
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]], requires_grad=True, dtype=np.float64)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [1, 0, 0]])


# ---- shape ops --------------------------------------------------------------------------------------------

SHAPE_OPS = {
    "reshape": (lambda x: x.reshape(4, 6), (2, 3, 4)),
    "reshape -1": (lambda x: x.reshape(2, -1, 3), (4, 3, 2)),
    "flatten": (lambda x: x.flatten(1), (2, 3, 4)),
    "permute": (lambda x: x.permute(2, 0, 1), (2, 3, 4)),
    "transpose(0, 2)": (lambda x: x.transpose(0, 2), (2, 3, 4)),
    "transpose(-1, -3)": (lambda x: x.transpose(-1, -3), (2, 3, 4)),
    "mg.transpose": (mg.transpose, (2, 3, 4)),
    "T": (lambda x: x.T, (3, 5)),
    "squeeze(1)": (lambda x: x.squeeze(1), (3, 1, 4)),
    "squeeze()": (lambda x: x.squeeze(), (1, 3, 1)),
    "unsqueeze(0)": (lambda x: x.unsqueeze(0), (3, 4)),
    "unsqueeze(-1)": (lambda x: x.unsqueeze(-1), (3, 4)),
    "broadcast_to": (lambda x: x.broadcast_to((2, 3, 4)), (3, 1)),
    "broadcast_to scalar": (lambda x: mg.broadcast_to(x, (2, 3)), ()),
}


@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_ops(name: str) -> None:
    fn, shape = SHAPE_OPS[name]
    check(fn, leaf(*shape, seed=15))


def test_shape_ops_values() -> None:
    x = leaf(2, 3, 4, seed=16)
    np.testing.assert_array_equal(x.permute(2, 0, 1).data, x.data.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.transpose(0, 2).data, x.data.swapaxes(0, 2))
    np.testing.assert_array_equal(mg.transpose(x).data, x.data.swapaxes(-1, -2))
    assert x.unsqueeze(-1).shape == (2, 3, 4, 1) and x.unsqueeze(1).shape == (2, 1, 3, 4)
    with pytest.raises(ValueError, match="cannot squeeze axis 1"):
        x.squeeze(1)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate(axis: int) -> None:
    sizes = [1, 3, 2]
    shapes = [tuple(s if i == axis % 3 else (2, 3, 4)[i] for i in range(3)) for s in sizes]
    xs = [leaf(*s, seed=17 + i) for i, s in enumerate(shapes)]
    np.testing.assert_array_equal(mg.concatenate(xs, axis).data, np.concatenate([x.data for x in xs], axis))
    check(lambda *xs: mg.concatenate(list(xs), axis=axis), *xs)


def test_concatenate_with_a_constant() -> None:
    check(lambda x: mg.cat([x, np.zeros((2, 3))], axis=0), leaf(1, 3, seed=20))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack(axis: int) -> None:
    xs = [leaf(3, 4, seed=21 + i) for i in range(3)]
    np.testing.assert_array_equal(mg.stack(xs, axis).data, np.stack([x.data for x in xs], axis))
    check(lambda *xs: mg.stack(list(xs), axis=axis), *xs)


@pytest.mark.parametrize("sections, axis, sizes", [(3, 0, [3, 3, 1]), ([2, 5], 0, [2, 5]), (2, -1, [2, 1]),
                                                    ([1, 1, 1], 1, [1, 1, 1])])
def test_split(sections: Any, axis: int, sizes: list[int]) -> None:
    x = leaf(7, 3, seed=24)
    pieces = x.split(sections, axis)
    assert [p.shape[axis] for p in pieces] == sizes
    check(lambda x: mg.split(x, sections, axis), x)  # every piece gets a gradient
    check(lambda x: mg.split(x, sections, axis)[0] * 2, x)  # unused pieces contribute zeros


INDICES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, 3),
    "negative step": slice(None, None, -1),
    "step -2 and int": (slice(None, None, -2), 1),
    "None": (None, 2),
    "Ellipsis": (Ellipsis, 1),
    "Ellipsis and None": (1, Ellipsis, None),
    "int array, repeated": np.array([0, 2, 0, 3, 0]),
    "list, repeated": [1, 1, 3],
    "2 int arrays, repeated pairs": (np.array([0, 0, 2]), np.array([1, 1, 4])),
    "slice and int array": (slice(None), [2, 2, 4]),
    "2-D int array": np.array([[0, 1], [1, 1]]),
    "bool mask": np.random.default_rng(25).random((4, 5)) > 0.5,
    "bool mask on axis 0": np.array([True, False, True, True]),
}


@pytest.mark.parametrize("name", list(INDICES))
def test_getitem(name: str) -> None:
    index = INDICES[name]
    x = leaf(4, 5, 6, seed=26)
    np_index = np.asarray(index) if isinstance(index, list) else index
    np.testing.assert_array_equal(x[index].data, x.data[np_index])
    check(lambda x: x[index], x)


def test_getitem_repeated_index_adds_gradients() -> None:
    x = mg.tensor(np.zeros((4, 2)), requires_grad=True, dtype=np.float64)
    x[np.array([3, 1, 3, 3])].sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0], [1, 1], [0, 0], [3, 3]])


# ---- functional: softmax and losses -----------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax(axis: int) -> None:
    x = leaf(3, 4, 5, seed=27, low=-3, high=3)
    e = np.exp(x.data - x.data.max(axis=axis, keepdims=True))
    ref = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(F.softmax(x, axis).data, ref, rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(x, axis).data, np.log(ref), rtol=1e-12, atol=1e-14)
    check(lambda x: F.softmax(x, axis), x)
    check(lambda x: F.log_softmax(x, axis), x)


def _cross_entropy_reference(x: np.ndarray, t: np.ndarray, ignore: int, reduction: str, eps: float) -> Any:
    """The loss written out: -sum_c q_c log p_c, q = (1 - eps) onehot + eps / C, ignored rows dropped."""
    C = x.shape[-1]
    logp = x - x.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    valid = t != ignore
    q = np.eye(C)[np.where(valid, t, 0)] * (1 - eps) + eps / C
    loss = -(q * logp).sum(-1) * valid
    if reduction == "none":
        return loss
    return loss.sum() / (valid.sum() if reduction == "mean" else 1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("logits_shape", [(6, 5), (2, 3, 5)], ids=str)
def test_cross_entropy(reduction: str, label_smoothing: float, logits_shape: tuple[int, ...]) -> None:
    x = leaf(*logits_shape, seed=28, low=-2, high=2)
    targets = np.random.default_rng(29).integers(0, 5, logits_shape[:-1])
    targets.reshape(-1)[[1, 4]] = -100  # padding: ignored
    out = F.cross_entropy(x, targets, reduction=reduction, label_smoothing=label_smoothing)
    ref = _cross_entropy_reference(x.data, targets, -100, reduction, label_smoothing)
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)
    check(lambda x: F.cross_entropy(x, targets, reduction=reduction, label_smoothing=label_smoothing), x)


def test_cross_entropy_custom_ignore_index_gives_ignored_rows_no_gradient() -> None:
    x = leaf(5, 4, seed=30)
    targets = np.array([0, 2, 0, 3, 1])
    check(lambda x: F.cross_entropy(x, targets, ignore_index=0), x)
    F.cross_entropy(x, targets, ignore_index=0).backward()
    np.testing.assert_array_equal(x.grad[[0, 2]], 0)
    assert np.all(x.grad[[1, 3, 4]] != 0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction: str) -> None:
    x, y = leaf(3, 4, seed=31), leaf(3, 4, seed=32)
    sq = (x.data - y.data) ** 2
    ref = {"mean": sq.mean(), "sum": sq.sum(), "none": sq}[reduction]
    np.testing.assert_allclose(F.mse_loss(x, y, reduction).data, ref, rtol=1e-12)
    check(lambda x, y: F.mse_loss(x, y, reduction), x, y)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_logits(reduction: str) -> None:
    x, y = leaf(3, 4, seed=33, low=-4, high=4), leaf(3, 4, seed=34, low=0, high=1)
    p = 1 / (1 + np.exp(-x.data))
    loss = -(y.data * np.log(p) + (1 - y.data) * np.log(1 - p))
    ref = {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, y, reduction).data, ref, rtol=1e-10)
    check(lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction), x, y)


def test_dropout_backward_uses_the_forward_mask() -> None:
    # finite differences would draw a new mask per call, so check analytically: dx = dy * mask / (1 - p)
    p = 0.3
    x = leaf_away_from_zero(40, 50, seed=35)  # no zeros in x: y == 0 exactly where dropped
    mg.manual_seed(7)
    y = F.dropout(x, p)
    mask = y.data != 0
    assert 0.6 < mask.mean() < 0.8
    np.testing.assert_allclose(y.data, x.data * mask / (1 - p), rtol=1e-12)
    dy = np.random.default_rng(36).standard_normal(x.shape)
    y.backward(dy)
    np.testing.assert_allclose(x.grad, dy * mask / (1 - p), rtol=1e-12)
    mg.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, p).data, y.data)  # the seed fixes the mask
    assert F.dropout(x, p, training=False) is x


def test_embedding_with_repeated_indices() -> None:
    w = leaf(6, 3, seed=37)
    idx = np.array([[1, 2, 1], [4, 1, 0]])  # row 1 three times
    np.testing.assert_array_equal(F.embedding(idx, w).data, w.data[idx])
    check(lambda w: F.embedding(idx, w), w)


def test_embedding_padding_row_gets_no_gradient() -> None:
    w = leaf(6, 3, seed=38)
    idx = np.array([[1, 0, 1], [0, 5, 0]])  # 0 is padding
    dy = np.random.default_rng(39).standard_normal((2, 3, 3))
    F.embedding(idx, w, padding_idx=0).backward(dy)
    expected = np.zeros((6, 3))
    np.add.at(expected, idx.reshape(-1), dy.reshape(-1, 3))
    expected[0] = 0
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12)
    assert np.all(w.grad[1] != 0)


# ---- convolution, pooling, linear -------------------------------------------------------------------------


CONV_CASES = {
    "stride 1 pad 0": ((2, 2, 5, 6), (3, 2, 3, 3), 1, 0),
    "stride 2 pad 1": ((2, 2, 5, 6), (3, 2, 3, 3), 2, 1),
    "non-square kernel and input": ((1, 3, 5, 7), (2, 3, 3, 2), (2, 1), (1, 0)),
}


@pytest.mark.parametrize("name", list(CONV_CASES))
def test_conv2d(name: str) -> None:
    xs, ws, stride, padding = CONV_CASES[name]
    x, w, b = leaf(*xs, seed=40), leaf(*ws, seed=41), leaf(ws[0], seed=42)
    s = stride if isinstance(stride, tuple) else (stride, stride)
    p = padding if isinstance(padding, tuple) else (padding, padding)
    np.testing.assert_allclose(F.conv2d(x, w, b, stride, padding).data,
                               conv_reference(x.data, w.data, b.data, s, p), rtol=1e-10, atol=1e-12)
    check(lambda x, w, b: F.conv2d(x, w, b, stride, padding), x, w, b)


def test_conv2d_input_without_gradient() -> None:
    # an image batch needs no gradient: backward skips dx, and the weight gradients stay right
    x = leaf(2, 2, 5, 4, seed=43).detach()
    check(lambda w, b: F.conv2d(x, w, b, 2, 1), leaf(3, 2, 3, 3, seed=44), leaf(3, seed=45))
    assert x.grad is None


def test_conv2d_without_bias() -> None:
    check(lambda x, w: F.conv2d(x, w, None, 1, 1), leaf(1, 2, 4, 3, seed=43), leaf(2, 2, 3, 3, seed=44))


@pytest.mark.parametrize("shape, kernel, stride, padding", [((2, 2, 4, 6), 2, 2, 0), ((1, 2, 5, 5), 3, 2, 1),
                                                            ((1, 1, 5, 7), (2, 3), (1, 2), 0)], ids=str)
def test_max_pool2d(shape: tuple, kernel: Any, stride: Any, padding: int) -> None:
    x = leaf(*shape, seed=45)  # continuous values: no ties
    y = F.max_pool2d(x, kernel, stride, padding)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    xp = np.pad(x.data, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=-np.inf)
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            window = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
            np.testing.assert_array_equal(y.data[:, :, i, j], window.max(axis=(2, 3)))
    check(lambda x: F.max_pool2d(x, kernel, stride, padding), x)


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 4, 3)], ids=str)
def test_linear(x_shape: tuple[int, ...]) -> None:
    x, w, b = leaf(*x_shape, seed=46), leaf(3, 5, seed=47), leaf(5, seed=48)
    np.testing.assert_allclose(F.linear(x, w, b).data, x.data @ w.data + b.data, rtol=1e-12)
    check(F.linear, x, w, b)
    check(lambda x, w: F.linear(x, w), x, w)


def test_cast_between_float_dtypes() -> None:
    x = leaf(3, 2, seed=49)
    assert x.astype(np.float32).dtype == np.float32
    x.astype(np.float32).sum().backward()
    assert x.grad.dtype == np.float64 and np.all(x.grad == 1)


def test_bad_arguments_give_one_line_value_errors() -> None:
    x = leaf(1, 2, 4, 4, seed=50)
    w = leaf(3, 2, 3, 3, seed=51)
    cases = {
        "piece size must be a positive integer": lambda: x.split(0),
        "split sizes \\[1, 2\\] do not add up to 2": lambda: x.split([1, 2], axis=1),
        "stride must be >= 1": lambda: F.conv2d(x, w, stride=0),
        "padding >= 0": lambda: F.conv2d(x, w, padding=-1),
        "padding at most half the kernel": lambda: F.max_pool2d(x, 2, 2, padding=2),
        "cannot reshape a tensor of shape \\(1, 2, 4, 4\\)": lambda: x.reshape(3, -1),
        "cannot broadcast shape": lambda: x.broadcast_to((2, 3)),
        "matmul shape mismatch: \\(2, 3\\) @ \\(4, 5\\)": lambda: leaf(2, 3) @ leaf(4, 5),
        "stack needs equal shapes": lambda: mg.stack([leaf(2), leaf(3)]),
    }
    for pattern, fn in cases.items():
        with pytest.raises(ValueError, match=pattern) as info:
            fn()
        assert "\n" not in str(info.value)
