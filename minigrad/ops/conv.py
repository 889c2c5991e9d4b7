"""2-D convolution (im2col + one matmul) and max pooling, channels first: x (N, C, H, W)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from minigrad.function import Function
from minigrad.tensor import Tensor


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))


def _windows(xp: np.ndarray, kh: int, kw: int, sh: int, sw: int) -> np.ndarray:
    """(N, C, Hp, Wp) -> a strided view (N, C, Ho, Wo, kh, kw) of every kernel window."""
    return sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]


class Conv2d(Function):
    """y[n, f, i, j] = b[f] + sum_{c, u, v} w[f, c, u, v] * xpad[n, c, i*s + u, j*s + v]."""

    def __init__(self, stride: tuple[int, int], padding: tuple[int, int]) -> None:
        self.stride, self.padding = stride, padding

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        (sh, sw), (ph, pw) = self.stride, self.padding
        F, C, kh, kw = w.shape
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
        win = _windows(xp, kh, kw, sh, sw)
        N, _, Ho, Wo = win.shape[:4]
        # im2col: rows are output pixels, columns are (c, u, v)
        self.cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * kh * kw)
        self.w, self.xshape, self.xpshape, self.out_hw = w, x.shape, xp.shape, (Ho, Wo)
        y = self.cols @ w.reshape(F, -1).T + b
        return y.reshape(N, Ho, Wo, F).transpose(0, 3, 1, 2)

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        # dW = dY^T cols ; db = sum dY ; dcols = dY W, scattered back to the pixels each window read
        (sh, sw), (ph, pw) = self.stride, self.padding
        F, C, kh, kw = self.w.shape
        N, _, Ho, Wo = dy.shape
        d2 = dy.transpose(0, 2, 3, 1).reshape(-1, F)
        dw = (d2.T @ self.cols).reshape(self.w.shape)
        db = d2.sum(axis=0)
        if not self.inputs[0].requires_grad:  # an image batch: skip the GEMM and the scatter below
            return None, dw, db
        dcols = (d2 @ self.w.reshape(F, -1)).reshape(N, Ho, Wo, C, kh, kw)
        dxp = np.zeros(self.xpshape, dtype=dy.dtype)
        for u in range(kh):  # a loop over kernel offsets (9 for 3x3), each a whole-array add
            for v in range(kw):
                dxp[:, :, u : u + sh * Ho : sh, v : v + sw * Wo : sw] += dcols[:, :, :, :, u, v].transpose(0, 3, 1, 2)
        H, W = self.xshape[2:]
        return dxp[:, :, ph : ph + H, pw : pw + W], dw, db


class MaxPool2d(Function):
    """y[n, c, i, j] = max over the kernel window starting at (i*s, j*s)."""

    def __init__(self, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]) -> None:
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x: np.ndarray) -> np.ndarray:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf) if ph or pw else x
        win = _windows(xp, kh, kw, sh, sw)
        N, C, Ho, Wo = win.shape[:4]
        flat = win.reshape(N, C, Ho, Wo, kh * kw)
        self.arg = flat.argmax(axis=-1)  # the first max wins ties, as torch
        self.xshape, self.xpshape = x.shape, xp.shape
        return np.take_along_axis(flat, self.arg[..., None], axis=-1)[..., 0]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # the gradient goes to the one input that was the window's max
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        Ho, Wo = dy.shape[2:]
        dxp = np.zeros(self.xpshape, dtype=dy.dtype)
        for u in range(kh):
            for v in range(kw):
                hit = self.arg == u * kw + v
                dxp[:, :, u : u + sh * Ho : sh, v : v + sw * Wo : sw] += dy * hit
        H, W = self.xshape[2:]
        return dxp[:, :, ph : ph + H, pw : pw + W]


def conv2d(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """2-D cross-correlation as in torch: x (N, C, H, W), weight (F, C, kh, kw), bias (F,) -> (N, F, Ho, Wo)."""
    if x.ndim != 4:
        raise ValueError(f"conv2d expects input (N, C, H, W), got shape {x.shape}")
    if weight.ndim != 4 or weight.shape[1] != x.shape[1]:
        raise ValueError(f"conv2d: weight {weight.shape} does not fit input {x.shape} (channels differ)")
    s, p = _pair(stride), _pair(padding)
    if min(s) < 1 or min(p) < 0:
        raise ValueError(f"conv2d: stride must be >= 1 and padding >= 0, got stride {s} and padding {p}")
    kh, kw = weight.shape[2:]
    if x.shape[2] + 2 * p[0] < kh or x.shape[3] + 2 * p[1] < kw:
        raise ValueError(f"conv2d: kernel {kh}x{kw} is larger than the padded input {x.shape[2:]}")
    if bias is None:
        bias = Tensor._wrap(np.zeros(weight.shape[0], dtype=weight.dtype), False)
    return Conv2d(s, p)(x, weight, bias)


def max_pool2d(
    x: Tensor, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """Max pooling over (H, W) windows; stride defaults to the kernel size, as torch."""
    if x.ndim != 4:
        raise ValueError(f"max_pool2d expects input (N, C, H, W), got shape {x.shape}")
    k = _pair(kernel_size)
    s = _pair(stride) if stride is not None else k
    p = _pair(padding)
    if min(s) < 1 or not (0 <= p[0] <= k[0] // 2 and 0 <= p[1] <= k[1] // 2):
        # more padding than half a kernel would make windows of padding only, whose max is -inf (as torch)
        raise ValueError(f"max_pool2d: stride must be >= 1 and padding at most half the kernel {k}, "
                         f"got stride {s} and padding {p}")
    if x.shape[2] + 2 * p[0] < k[0] or x.shape[3] + 2 * p[1] < k[1]:
        raise ValueError(f"max_pool2d: kernel {k} is larger than the input {x.shape[2:]}")
    return MaxPool2d(k, s, p)(x)
