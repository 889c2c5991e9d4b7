"""Cross-check against PyTorch: values and gradients of ops and losses, float64 (1e-10) and float32 (1e-5).

Skipped when torch is not installed. Layout notes: our class axis is LAST in cross_entropy (torch wants
(N, C, ...), so the torch side moves it); our Linear weight is (in, out) (torch's is (out, in)); conv weights
are torch's (F, C, kh, kw).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

import minigrad as mg  # noqa: E402  (after the skip: these tests need torch first)
from minigrad import functional as F  # noqa: E402
from minigrad import nn  # noqa: E402

TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-10}, np.float32: {"rtol": 1e-5, "atol": 1e-5}}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])


def _normal(*shape: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _positive(*shape: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.3, 2.0, shape)


def _away_from_zero(*shape: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def compare(ours: Callable[..., Any], theirs: Callable[..., Any] | None, arrays: list[np.ndarray], dtype: Any
            ) -> None:
    """Run both on the same inputs; compare the outputs and, after one backward with the same random upstream
    gradient, every input's gradient. theirs=None: the same expression works on torch tensors."""
    tol = TOL[dtype]
    theirs = theirs or ours
    xs = [mg.tensor(a, requires_grad=True, dtype=dtype) for a in arrays]
    ts = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    y, ty = ours(*xs), theirs(*ts)
    assert y.dtype == dtype and ty.dtype == getattr(torch, np.dtype(dtype).name)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **tol)
    g = np.random.default_rng(99).standard_normal(y.shape).astype(dtype)
    y.backward(g)
    ty.backward(torch.tensor(g))
    for i, (x, t) in enumerate(zip(xs, ts)):
        expected = t.grad.numpy() if t.grad is not None else np.zeros(x.shape)
        got = x.grad if x.grad is not None else np.zeros(x.shape)
        np.testing.assert_allclose(got, expected, err_msg=f"gradient of input {i}", **tol)


# ---- elementwise and matmul -------------------------------------------------------------------------------

# name: (ours, theirs (None: the same expression), inputs)
OPS: dict[str, tuple[Callable, Callable | None, Callable[[], list[np.ndarray]]]] = {
    "add broadcast": (lambda a, b: a + b, None, lambda: [_normal(3, 1, 4, seed=1), _normal(5, 1, seed=2)]),
    "sub broadcast": (lambda a, b: a - b, None, lambda: [_normal(1, 3, seed=3), _normal(2, 1, seed=4)]),
    "mul broadcast": (lambda a, b: a * b, None, lambda: [_normal(2, 3, seed=5), _normal(3, seed=6)]),
    "div broadcast": (lambda a, b: a / b, None,
                      lambda: [_normal(2, 3, seed=7), _away_from_zero(2, 1, seed=8)]),
    "neg": (lambda a: -a, None, lambda: [_normal(3, 4, seed=9)]),
    "reflected": (lambda a: 1 - 2 / a + a * 0.5, None, lambda: [_away_from_zero(5, seed=10)]),
    "pow 0.5": (lambda a: a**0.5, None, lambda: [_positive(3, 4, seed=11)]),
    "pow -1": (lambda a: a**-1, None, lambda: [_away_from_zero(3, 4, seed=12)]),
    "pow 3": (lambda a: a**3, None, lambda: [_normal(3, 4, seed=13)]),
    "exp": (mg.exp, torch.exp, lambda: [_normal(3, 4, seed=14)]),
    "log": (mg.log, torch.log, lambda: [_positive(3, 4, seed=15)]),
    "sqrt": (mg.sqrt, torch.sqrt, lambda: [_positive(3, 4, seed=16)]),
    "tanh": (mg.tanh, torch.tanh, lambda: [_normal(3, 4, seed=17) * 2]),
    "sigmoid": (mg.sigmoid, torch.sigmoid, lambda: [_normal(3, 4, seed=18) * 3]),
    "relu": (mg.relu, torch.relu, lambda: [_away_from_zero(3, 4, seed=19)]),
    "abs": (lambda a: a.abs(), None, lambda: [_away_from_zero(3, 4, seed=20)]),
    "maximum": (mg.maximum, torch.maximum, lambda: [_normal(3, 4, seed=21), _normal(3, 4, seed=22)]),
    "minimum": (mg.minimum, torch.minimum, lambda: [_normal(3, 4, seed=23), _normal(3, 4, seed=24)]),
    "clip": (lambda a: mg.clip(a, -0.5, 0.7), lambda a: torch.clamp(a, -0.5, 0.7),
             lambda: [_normal(4, 5, seed=25)]),
    "where": (lambda a, b: mg.where(a > b, a * 2, b), lambda a, b: torch.where(a > b, a * 2, b),
              lambda: [_normal(3, 4, seed=26), _normal(4, seed=27)]),
    "masked_fill": (lambda a: a.masked_fill(a > 0.5, -3.0), None, lambda: [_normal(3, 4, seed=28)]),
    "matmul 2-D": (lambda a, b: a @ b, None, lambda: [_normal(3, 4, seed=29), _normal(4, 5, seed=30)]),
    "matmul batched": (lambda a, b: a @ b, None,
                       lambda: [_normal(2, 3, 4, seed=31), _normal(2, 4, 5, seed=32)]),
    "matmul shared weight": (lambda a, b: a @ b, None,
                             lambda: [_normal(2, 3, 4, seed=33), _normal(4, 5, seed=34)]),
    "matmul broadcast batch": (lambda a, b: a @ b, None,
                               lambda: [_normal(2, 1, 3, 4, seed=35), _normal(5, 4, 2, seed=36)]),
    "matmul vector": (lambda a, b: a @ b, None, lambda: [_normal(4, seed=37), _normal(2, 4, 3, seed=38)]),
}


@DTYPES
@pytest.mark.parametrize("name", list(OPS))
def test_elementwise_and_matmul(name: str, dtype: Any) -> None:
    ours, theirs, make = OPS[name]
    compare(ours, theirs, make(), dtype)


# ---- reductions and shape ops -----------------------------------------------------------------------------

REDUCE = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin}


@DTYPES
@pytest.mark.parametrize("name", list(REDUCE))
@pytest.mark.parametrize("axis", [None, -1, (0, 2)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(name: str, axis: Any, keepdims: bool, dtype: Any) -> None:
    def theirs(t: Any) -> Any:
        if axis is None:
            out = REDUCE[name](t) if name in ("sum", "mean") else REDUCE[name](t, dim=(0, 1, 2))
            return out.reshape((1, 1, 1)) if keepdims else out
        return REDUCE[name](t, dim=axis, keepdim=keepdims)

    x = [_normal(3, 4, 5, seed=40)]
    compare(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims), theirs, x, dtype)


REPEATED = np.array([2, 0, 2, 2])
MASK = np.random.default_rng(41).random((3, 4)) > 0.4
SHAPE_OPS = {
    "reshape": (lambda x: x.reshape(4, -1), lambda t: t.reshape(4, -1)),
    "permute": (lambda x: x.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    "transpose": (lambda x: x.transpose(0, 2), lambda t: t.transpose(0, 2)),
    "unsqueeze": (lambda x: x.unsqueeze(1), lambda t: t.unsqueeze(1)),
    "broadcast_to": (lambda x: x[:, :1].broadcast_to((3, 6, 5)), lambda t: t[:, :1].expand(3, 6, 5)),
    "getitem slices": (lambda x: x[1:, ::-2, None, 3], lambda t: t[1:, :, None, 3].flip(1)[:, ::2]),
    "getitem repeated": (lambda x: x[REPEATED], lambda t: t[torch.tensor(REPEATED)]),
    "getitem mask": (lambda x: x[MASK], lambda t: t[torch.tensor(MASK)]),
    "concatenate": (lambda x: mg.cat([x, x * 2, x[:, :2]], axis=1),
                    lambda t: torch.cat([t, t * 2, t[:, :2]], 1)),
    "stack": (lambda x: mg.stack([x, x * x], axis=-1), lambda t: torch.stack([t, t * t], -1)),
    "split": (lambda x: mg.stack([p.sum() * (i + 1) for i, p in enumerate(x.split([1, 3], axis=1))]),
              lambda t: torch.stack([p.sum() * (i + 1) for i, p in enumerate(t.split([1, 3], 1))])),
}


@DTYPES
@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_ops(name: str, dtype: Any) -> None:
    ours, theirs = SHAPE_OPS[name]
    compare(ours, theirs, [_normal(3, 4, 5, seed=42)], dtype)


# ---- softmax and losses -----------------------------------------------------------------------------------


@DTYPES
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_log_softmax(axis: int, dtype: Any) -> None:
    x = [_normal(3, 4, 5, seed=43) * 3]
    compare(lambda x: F.softmax(x, axis), lambda t: TF.softmax(t, dim=axis), x, dtype)
    compare(lambda x: F.log_softmax(x, axis), lambda t: TF.log_softmax(t, dim=axis), x, dtype)


@DTYPES
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
@pytest.mark.parametrize("ignore_index", [-100, 0])
def test_cross_entropy_3d(reduction: str, label_smoothing: float, ignore_index: int, dtype: Any) -> None:
    # ours: logits (N, T, V), targets (N, T); torch: logits (N, V, T)
    targets = np.random.default_rng(44).integers(0, 6, (3, 4))
    targets[0, 1] = targets[2, 3] = ignore_index  # padding present
    kwargs = {"ignore_index": ignore_index, "reduction": reduction, "label_smoothing": label_smoothing}
    compare(lambda x: F.cross_entropy(x, targets, **kwargs),
            lambda t: TF.cross_entropy(t.permute(0, 2, 1), torch.tensor(targets), **kwargs),
            [_normal(3, 4, 6, seed=45) * 2], dtype)


@DTYPES
def test_cross_entropy_2d(dtype: Any) -> None:
    targets = np.array([3, 0, 4, 4, 1])
    compare(lambda x: F.cross_entropy(x, targets), lambda t: TF.cross_entropy(t, torch.tensor(targets)),
            [_normal(5, 5, seed=46)], dtype)


@DTYPES
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_and_bce_with_logits(reduction: str, dtype: Any) -> None:
    compare(lambda x, y: F.mse_loss(x, y, reduction), lambda x, y: TF.mse_loss(x, y, reduction=reduction),
            [_normal(3, 4, seed=47), _normal(3, 4, seed=48)], dtype)
    probs = np.random.default_rng(49).random((3, 4))
    compare(lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction),
            lambda x, y: TF.binary_cross_entropy_with_logits(x, y, reduction=reduction),
            [_normal(3, 4, seed=50) * 4, probs], dtype)


# ---- embedding, conv, pooling, linear ---------------------------------------------------------------------


@DTYPES
@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding(padding_idx: int | None, dtype: Any) -> None:
    idx = np.array([[1, 0, 3], [3, 3, 0]])
    compare(lambda w: F.embedding(idx, w, padding_idx),
            lambda w: TF.embedding(torch.tensor(idx), w, padding_idx=padding_idx),
            [_normal(5, 3, seed=51)], dtype)


CONV = [  # x shape, weight shape, stride, padding
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0),
    ((2, 3, 7, 6), (4, 3, 3, 3), 2, 1),
    ((1, 2, 6, 9), (3, 2, 2, 4), (2, 1), (0, 2)),
]


@DTYPES
@pytest.mark.parametrize("xs, ws, stride, padding", CONV, ids=str)
def test_conv2d(xs: tuple, ws: tuple, stride: Any, padding: Any, dtype: Any) -> None:
    compare(lambda x, w, b: F.conv2d(x, w, b, stride, padding),
            lambda x, w, b: TF.conv2d(x, w, b, stride=stride, padding=padding),
            [_normal(*xs, seed=52), _normal(*ws, seed=53), _normal(ws[0], seed=54)], dtype)


@DTYPES
@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1), ((2, 3), (1, 2), 0)], ids=str)
def test_max_pool2d(kernel: Any, stride: Any, padding: int, dtype: Any) -> None:
    compare(lambda x: F.max_pool2d(x, kernel, stride, padding),
            lambda x: TF.max_pool2d(x, kernel, stride, padding), [_normal(2, 3, 7, 8, seed=55)], dtype)


@DTYPES
def test_linear(dtype: Any) -> None:
    # our weight is (in, out) = torch's weight transposed
    compare(F.linear, lambda x, w, b: TF.linear(x, w.T, b),
            [_normal(2, 3, 4, seed=56), _normal(4, 5, seed=57), _normal(5, seed=58)], dtype)


def test_modules_with_copied_weights_match_torch() -> None:
    mg.manual_seed(0)
    conv, lin = nn.Conv2d(3, 4, 3, padding=1).double(), nn.Linear(4 * 2 * 2, 5).double()
    tconv, tlin = torch.nn.Conv2d(3, 4, 3, padding=1).double(), torch.nn.Linear(16, 5).double()
    with torch.no_grad():
        tconv.weight.copy_(torch.tensor(conv.weight.data))  # same (F, C, kh, kw) layout
        tconv.bias.copy_(torch.tensor(conv.bias.data))
        tlin.weight.copy_(torch.tensor(lin.weight.data.T))
        tlin.bias.copy_(torch.tensor(lin.bias.data))
    x = _normal(2, 3, 4, 4, seed=59)
    y = lin(F.max_pool2d(F.relu(conv(mg.tensor(x, dtype=np.float64))), 2).flatten(1))
    ty = tlin(TF.max_pool2d(TF.relu(tconv(torch.tensor(x))), 2).flatten(1))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL[np.float64])
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(conv.weight.grad, tconv.weight.grad.numpy(), **TOL[np.float64])
    np.testing.assert_allclose(lin.weight.grad, tlin.weight.grad.numpy().T, **TOL[np.float64])
