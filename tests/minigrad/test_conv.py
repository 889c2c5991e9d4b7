"""conv2d, max_pool2d and ReLU: gradcheck (float64), a loop-by-definition reference, torch cross-checks in
float64 (1e-10) and float32 (1e-5), ties and NaN in pooling, and a smoke test of benchmarks/models.py.

Shapes are unequal on every axis (batch 2, channels 2 -> 3, odd images such as 7x9, kernels 1/3/5 and 3x2), so
a transposed weight, a flipped kernel or swapped spatial axes cannot pass by accident; two deliberately wrong
backwards show that these checks fail when they should.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from testkit import conv_reference

import minigrad as mg
from minigrad import GradcheckError, gradcheck
from minigrad import functional as F
from minigrad.ops.conv import Conv2d, MaxPool2d

EPS, ATOL, RTOL = 1e-6, 1e-6, 1e-5
ROOT = Path(__file__).resolve().parents[2]


def leaf(*shape: int, seed: int) -> mg.Tensor:
    return mg.tensor(np.random.default_rng(seed).uniform(-1, 1, shape), requires_grad=True, dtype=np.float64)


def check(fn: Any, *inputs: mg.Tensor) -> None:
    assert gradcheck(fn, *inputs, eps=EPS, atol=ATOL, rtol=RTOL)


def pool_reference(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple) -> np.ndarray:
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    Ho, Wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    y = np.empty(x.shape[:2] + (Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            y[:, :, i, j] = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw].max(axis=(2, 3))
    return y


# ---- conv2d: gradcheck over stride, padding, kernel size, bias -------------------------------------------------

CONV_GRID = [(k, s, p) for k in (1, 3, 5) for s in (1, 2) for p in (0, 1, 2)]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("kernel, stride, padding", CONV_GRID, ids=lambda v: str(v))
def test_conv2d_gradcheck(kernel: int, stride: int, padding: int, bias: bool) -> None:
    x, w = leaf(2, 2, 7, 9, seed=1), leaf(3, 2, kernel, kernel, seed=2)
    b = leaf(3, seed=3) if bias else None
    y = F.conv2d(x, w, b, stride, padding)
    ref = conv_reference(x.data, w.data, None if b is None else b.data, (stride,) * 2, (padding,) * 2)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.data, ref, rtol=1e-12, atol=1e-12)
    if bias:
        check(lambda x, w, b: F.conv2d(x, w, b, stride, padding), x, w, b)
    else:
        check(lambda x, w: F.conv2d(x, w, None, stride, padding), x, w)


@pytest.mark.parametrize("stride, padding", [((2, 1), (0, 2)), ((1, 3), (2, 1))], ids=str)
def test_conv2d_non_square_kernel_stride_padding(stride: tuple, padding: tuple) -> None:
    x, w, b = leaf(2, 2, 7, 9, seed=4), leaf(3, 2, 3, 2, seed=5), leaf(3, seed=6)
    np.testing.assert_allclose(F.conv2d(x, w, b, stride, padding).data,
                               conv_reference(x.data, w.data, b.data, stride, padding), rtol=1e-12, atol=1e-12)
    check(lambda x, w, b: F.conv2d(x, w, b, stride, padding), x, w, b)


def test_conv2d_non_contiguous_leaves() -> None:
    # x and w are transposed views: the op must not assume C order, and gradcheck perturbs them in place
    xt = np.random.default_rng(7).uniform(-1, 1, (2, 2, 9, 7)).transpose(0, 1, 3, 2)
    wt = np.random.default_rng(8).uniform(-1, 1, (3, 2, 3, 3)).transpose(0, 1, 3, 2)
    x, w = mg.tensor(xt, requires_grad=True, dtype=np.float64), mg.tensor(wt, requires_grad=True, dtype=np.float64)
    assert not x.data.flags.c_contiguous and not w.data.flags.c_contiguous
    b = leaf(3, seed=9)
    np.testing.assert_allclose(F.conv2d(x, w, b, 2, 1).data, conv_reference(xt, wt, b.data, (2, 2), (1, 1)),
                               rtol=1e-12, atol=1e-12)
    check(lambda x, w, b: F.conv2d(x, w, b, 2, 1), x, w, b)


def test_conv2d_of_a_transposed_tensor() -> None:
    # the input is an op's non-contiguous output (permute), and its gradient flows back through it
    x, w = leaf(2, 9, 2, 7, seed=10), leaf(3, 2, 3, 3, seed=11)
    check(lambda x, w: F.conv2d(x.permute(0, 2, 3, 1), w, None, 1, 1), x, w)


def test_conv2d_backward_in_chunks_of_images(monkeypatch: pytest.MonkeyPatch) -> None:
    # backward scatters dX a few images at a time (to stay in cache): one image per chunk gives the same result
    x, w, b = leaf(3, 2, 7, 9, seed=18), leaf(3, 2, 3, 3, seed=19), leaf(3, seed=20)
    whole = [g.copy() for g in _grads(x, w, b)]
    monkeypatch.setattr(Conv2d, "CACHE_BYTES", 1)
    for g, g1 in zip(whole, _grads(x, w, b)):
        np.testing.assert_allclose(g1, g, rtol=1e-13, atol=1e-14)
    check(lambda x, w, b: F.conv2d(x, w, b, 2, 1), x, w, b)


def _grads(*ts: mg.Tensor) -> list[np.ndarray]:
    for t in ts:
        t.grad = None
    F.conv2d(*ts, 1, 1).backward(np.random.default_rng(0).standard_normal((3, 3, 7, 9)))
    return [t.grad for t in ts]


def test_conv2d_image_without_gradient() -> None:
    # the first layer's input needs no gradient: backward skips dx, the weight gradients stay right
    x = leaf(2, 2, 7, 9, seed=12).detach()
    check(lambda w, b: F.conv2d(x, w, b, 1, 1), leaf(3, 2, 3, 3, seed=13), leaf(3, seed=14))
    assert x.grad is None


def test_conv2d_keeps_float32() -> None:
    x = mg.tensor(np.ones((1, 2, 5, 4), np.float32), requires_grad=True)
    w = mg.tensor(np.ones((3, 2, 3, 3), np.float32), requires_grad=True)
    y = F.conv2d(x, w, None, 1, 1)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == np.float32


class _ConvFlippedKernelGrad(Conv2d):
    """A plausible bug: the weight gradient with the kernel flipped (as in a true convolution)."""

    def backward(self, dy: np.ndarray) -> Any:
        dx, dw, db = super().backward(dy)
        return dx, dw[:, :, ::-1, ::-1], db


def test_a_wrong_conv_backward_fails_gradcheck() -> None:
    x, w, b = leaf(2, 2, 5, 6, seed=15), leaf(3, 2, 3, 3, seed=16), leaf(3, seed=17)
    check(lambda x, w, b: Conv2d((1, 1), (1, 1))(x, w, b), x, w, b)  # the real one passes
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(lambda x, w, b: _ConvFlippedKernelGrad((1, 1), (1, 1))(x, w, b), x, w, b,
                  eps=EPS, atol=ATOL, rtol=RTOL)


# ---- max_pool2d ---------------------------------------------------------------------------------------------

POOLS = [  # x shape, kernel, stride, padding
    ((2, 3, 6, 8), 2, 2, 0),  # windows tile the input
    ((2, 3, 7, 9), 2, 2, 0),  # odd sizes: the last row and column are left out (floor)
    ((2, 3, 7, 9), 3, 2, 1),  # overlapping windows, -inf padding
    ((2, 3, 7, 9), 2, 1, 0),  # stride 1: every inner element is in four windows
    ((1, 2, 7, 9), (3, 2), (2, 3), (1, 0)),  # non-square everything
    ((1, 2, 5, 7), 1, 2, 0),  # a 1x1 kernel: strided subsampling
]


@pytest.mark.parametrize("shape, kernel, stride, padding", POOLS, ids=str)
def test_max_pool2d_gradcheck(shape: tuple, kernel: Any, stride: Any, padding: Any) -> None:
    x = leaf(*shape, seed=20)  # continuous values: no ties, so the derivative exists
    k, s, p = ((v, v) if isinstance(v, int) else v for v in (kernel, stride, padding))
    y = F.max_pool2d(x, kernel, stride, padding)
    np.testing.assert_array_equal(y.data, pool_reference(x.data, k, s, p))
    check(lambda x: F.max_pool2d(x, kernel, stride, padding), x)


def test_max_pool2d_ties_go_to_the_first_max() -> None:
    # rows of a window are scanned top to bottom, left to right; the first maximum takes the whole gradient
    x = mg.tensor(np.array([[[[1.0, 1.0, 0.0, 2.0],
                              [1.0, 0.0, 2.0, 2.0],
                              [0.0, 0.0, 5.0, 3.0],
                              [0.0, 0.0, 3.0, 5.0]]]]), requires_grad=True, dtype=np.float64)
    y = F.max_pool2d(x, 2)
    np.testing.assert_array_equal(y.data, [[[[1.0, 2.0], [0.0, 5.0]]]])
    y.backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    np.testing.assert_array_equal(x.grad, [[[[10.0, 0.0, 0.0, 20.0],
                                              [0.0, 0.0, 0.0, 0.0],
                                              [30.0, 0.0, 40.0, 0.0],
                                              [0.0, 0.0, 0.0, 0.0]]]])


def test_max_pool2d_overlapping_windows_add_up() -> None:
    # stride 1: the one large element is the max of all four windows that contain it
    data = np.zeros((1, 1, 3, 3))
    data[0, 0, 1, 1] = 1.0
    x = mg.tensor(data, requires_grad=True, dtype=np.float64)
    F.max_pool2d(x, 2, 1).sum().backward()
    expected = np.zeros((3, 3))
    expected[1, 1] = 4.0
    np.testing.assert_array_equal(x.grad[0, 0], expected)


def test_max_pool2d_of_a_cropped_view_and_float32() -> None:
    # a non-contiguous input and a non-contiguous upstream gradient (what a padded conv's dx looks like)
    big = np.random.default_rng(21).standard_normal((2, 3, 10, 12)).astype(np.float32)
    x = mg.tensor(big[:, :, 1:-1, 1:-1], requires_grad=True)
    y = F.max_pool2d(x, 2)
    dy = np.random.default_rng(22).standard_normal((2, 3, 6, 7)).astype(np.float32)[:, :, 1:-1, 1:-1]
    y.backward(dy)
    assert y.dtype == x.grad.dtype == np.float32
    np.testing.assert_array_equal(y.data, pool_reference(x.data, (2, 2), (2, 2), (0, 0)))
    assert np.isclose(x.grad.sum(), dy.sum(), rtol=1e-5) and np.count_nonzero(x.grad) == dy.size


class _PoolWrongOffset(MaxPool2d):
    """A plausible bug: the gradient goes to the neighbour of the winner (offset off by one)."""

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self.arg = (self.arg + 1) % (self.kernel[0] * self.kernel[1])
        return super().backward(dy)


def test_a_wrong_pool_backward_fails_gradcheck() -> None:
    x = leaf(2, 3, 6, 8, seed=23)
    with pytest.raises(GradcheckError):
        gradcheck(lambda x: _PoolWrongOffset((2, 2), (2, 2), (0, 0))(x), x, eps=EPS, atol=ATOL, rtol=RTOL)


# ---- ReLU ---------------------------------------------------------------------------------------------------


def test_relu_gradcheck_and_values() -> None:
    rng = np.random.default_rng(24)
    data = rng.uniform(0.1, 1.0, (3, 4, 5)) * rng.choice([-1.0, 1.0], (3, 4, 5))  # away from the kink at 0
    x = mg.tensor(data, requires_grad=True, dtype=np.float64)
    np.testing.assert_array_equal(F.relu(x).data, np.maximum(data, 0))
    check(F.relu, x)


def test_relu_at_zero_and_special_values() -> None:
    x = mg.tensor(np.array([-np.inf, -1.0, 0.0, 2.0, np.inf, np.nan], np.float32), requires_grad=True)
    y = F.relu(x)
    y.backward(np.ones(6, np.float32))
    np.testing.assert_array_equal(y.data, [0.0, 0.0, 0.0, 2.0, np.inf, np.nan])  # NaN stays NaN, as torch
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0, 1.0, 1.0, 0.0])  # relu'(0) = 0, as torch
    assert y.dtype == np.float32


# ---- torch cross-checks -------------------------------------------------------------------------------------

TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-10}, np.float32: {"rtol": 1e-5, "atol": 1e-5}}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])


def compare_with_torch(ours: Any, theirs: Any, arrays: list[np.ndarray], dtype: Any) -> None:
    """Same inputs, same random upstream gradient: outputs and every input's gradient must agree."""
    torch = pytest.importorskip("torch")
    xs = [mg.tensor(a, requires_grad=True, dtype=dtype) for a in arrays]
    ts = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    y, ty = ours(*xs), theirs(*ts)
    assert y.dtype == dtype and y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL[dtype])
    g = np.random.default_rng(99).standard_normal(y.shape).astype(dtype)
    y.backward(g)
    ty.backward(torch.tensor(g))
    for i, (x, t) in enumerate(zip(xs, ts)):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), err_msg=f"gradient of input {i}", **TOL[dtype])


TORCH_CONV = [  # x shape, weight shape, stride, padding
    ((2, 2, 7, 9), (3, 2, 3, 3), 1, 1),
    ((2, 2, 7, 9), (3, 2, 5, 5), 2, 2),
    ((2, 2, 7, 9), (3, 2, 1, 1), 2, 0),
    ((2, 3, 7, 9), (4, 3, 3, 2), (2, 1), (0, 1)),
    ((4, 16, 16, 16), (32, 16, 3, 3), 1, 1),  # the captioning encoder's shapes, smaller
]


@DTYPES
@pytest.mark.parametrize("xs, ws, stride, padding", TORCH_CONV, ids=str)
def test_conv2d_matches_torch(xs: tuple, ws: tuple, stride: Any, padding: Any, dtype: Any) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(30)
    # x scaled so that the weight gradient, a sum over N*Ho*Wo pixels (1,024 for the largest case), stays O(1):
    # float32 sums of that length in a different order differ by ~1e-5 of their largest term
    x = rng.standard_normal(xs) / np.sqrt(xs[0] * xs[2] * xs[3] / 64)
    compare_with_torch(lambda x, w, b: F.conv2d(x, w, b, stride, padding),
                       lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=stride, padding=padding),
                       [x, rng.standard_normal(ws), rng.standard_normal(ws[0])], dtype)


@DTYPES
@pytest.mark.parametrize("shape, kernel, stride, padding", POOLS, ids=str)
def test_max_pool2d_matches_torch(shape: tuple, kernel: Any, stride: Any, padding: Any, dtype: Any) -> None:
    torch = pytest.importorskip("torch")
    compare_with_torch(lambda x: F.max_pool2d(x, kernel, stride, padding),
                       lambda x: torch.nn.functional.max_pool2d(x, kernel, stride, padding),
                       [np.random.default_rng(31).standard_normal(shape)], dtype)


@DTYPES
def test_max_pool2d_ties_match_torch(dtype: Any) -> None:
    # few distinct values: most windows hold ties (as after a ReLU, which leaves many zeros)
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(32).integers(0, 3, (2, 3, 7, 9)).astype(np.float64)
    for args in ((2, 2, 0), (3, 2, 1), (2, 1, 0)):  # kernel, stride, padding
        compare_with_torch(lambda x, a=args: F.max_pool2d(x, *a),
                           lambda x, a=args: torch.nn.functional.max_pool2d(x, *a), [x], dtype)


def test_max_pool2d_nan_propagates_as_torch() -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(33).standard_normal((1, 2, 4, 4))
    x[0, 0, 1, 0] = np.nan
    ours = F.max_pool2d(mg.tensor(x, dtype=np.float64), 2).data
    np.testing.assert_array_equal(ours, torch.nn.functional.max_pool2d(torch.tensor(x), 2).numpy())
    assert np.isnan(ours[0, 0, 0, 0]) and not np.isnan(ours[0, 1]).any()


@DTYPES
def test_conv_relu_pool_stack_matches_torch(dtype: Any) -> None:
    # the captioning encoder's block twice, with gradients through ReLU's mask and pooling's choice
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional

    def ours(x: mg.Tensor, w1: mg.Tensor, w2: mg.Tensor) -> mg.Tensor:
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, None, 1, 1)), 2)
        return F.max_pool2d(F.relu(F.conv2d(h, w2, None, 1, 1)), 2)

    def theirs(x: Any, w1: Any, w2: Any) -> Any:
        h = tf.max_pool2d(tf.relu(tf.conv2d(x, w1, None, 1, 1)), 2)
        return tf.max_pool2d(tf.relu(tf.conv2d(h, w2, None, 1, 1)), 2)

    rng = np.random.default_rng(34)
    compare_with_torch(ours, theirs, [rng.standard_normal((3, 3, 12, 12)), rng.standard_normal((8, 3, 3, 3)),
                                      rng.standard_normal((5, 8, 3, 3))], dtype)


@DTYPES
def test_relu_matches_torch(dtype: Any) -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(35).standard_normal((4, 5, 6))
    x[0, 0, :3] = 0.0  # exactly at the kink: both give gradient 0
    compare_with_torch(F.relu, torch.relu, [x], dtype)


# ---- the whole-model benchmark ------------------------------------------------------------------------------


def test_benchmark_models_quick_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/models.py --quick on the smallest model, in this process (a few seconds)."""
    torch = pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("benchmark_models", ROOT / "benchmarks" / "models.py")
    module = importlib.util.module_from_spec(spec)
    threads, torch_threads, rng_state = mg.get_num_threads(), torch.get_num_threads(), mg.get_rng_state()
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    try:
        spec.loader.exec_module(module)
        assert module.main(["--quick", "--models", "seq2vec", "--threads", "1"]) == 0
    finally:  # the benchmark sets threads and seeds: give the rest of the session its own back
        mg.set_num_threads(threads)
        torch.set_num_threads(torch_threads)
        mg.set_rng_state(rng_state)
        sys.modules.pop(spec.name, None)
    out = capsys.readouterr().out
    assert "equivalence (dropout off)" in out
    row = next(line.split() for line in out.splitlines() if line.startswith("seq2vec") and len(line.split()) == 8)
    assert row[1] == "1" and all(float(v) > 0 for v in row[2:])
    assert "profile of minigrad's seq2vec step" in out and "peak memory" in out
