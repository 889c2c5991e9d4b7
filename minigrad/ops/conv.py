"""2-D convolution (im2col + GEMMs) and max pooling, channels first: x (N, C, H, W).

Both loop over the kernel's offsets, never over pixels: offset (u, v) of every window, across the whole
batch, is one strided slice of the padded input, xpad[:, :, u : u + sh*Ho : sh, v : v + sw*Wo : sw].
"""

from __future__ import annotations

import numpy as np

from minigrad.function import Function
from minigrad.tensor import Tensor


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))


def _offset(u: int, v: int, sh: int, sw: int, Ho: int, Wo: int) -> tuple[slice, slice, slice, slice]:
    """Index of element (u, v) of every window in a padded (N, C, Hp, Wp) array: a (N, C, Ho, Wo) slice."""
    return np.s_[:, :, u : u + sh * (Ho - 1) + 1 : sh, v : v + sw * (Wo - 1) + 1 : sw]


def _inside(v: int, s: int, p: int, n_out: int, n_in: int) -> tuple[slice, slice]:
    """Output positions j whose input position j*s + v - p falls inside the image [0, n_in), not in the
    padding: (their slice over j, the slice of input positions they read)."""
    j0 = max(0, -((v - p) // s))  # ceil((p - v) / s)
    j1 = max(j0, min(n_out, (n_in - 1 + p - v) // s + 1))
    x0 = j0 * s + v - p
    return slice(j0, j1), slice(x0, x0 + s * (j1 - j0 - 1) + 1, s) if j1 > j0 else slice(0, 0)


def _im2col(x: np.ndarray, X: np.ndarray, stride: tuple[int, int], padding: tuple[int, int]) -> None:
    """X[c, u, v, n, i, j] = xpad[n, c, i*sh + u, j*sw + v]: x (N, C, H, W) into X (C, kh, kw, N, Ho, Wo).

    Two stages, one whole-batch copy per kernel column v, then one per kernel row u, through
    cols[v, n, c, r, j] = xpad[n, c, r, j*sw + v] (kw, N, C, Hp, Wo): a shift along a row copies runs of only Wo
    pixels (NumPy pays per run), a shift by rows moves whole Ho x Wo planes when sh = 1 (3x faster in all).
    """
    (sh, sw), (ph, pw) = stride, padding
    (N, C, H, W), (kh, kw, _, Ho, Wo) = x.shape, X.shape[1:]
    cols = np.zeros((kw, N, C, H + 2 * ph, Wo), dtype=x.dtype)  # the padding stays 0
    for v in range(kw):
        j, xs = _inside(v, sw, pw, Wo, W)
        cols[v, :, :, ph : ph + H, j] = x[:, :, :, xs]
    for u in range(kh):
        X[:, u] = cols[:, :, :, u : u + sh * (Ho - 1) + 1 : sh].transpose(2, 0, 1, 3, 4)


def _col2im(dX: np.ndarray, dx: np.ndarray, stride: tuple[int, int], padding: tuple[int, int]) -> None:
    """dx[n, c, i*sh + u - ph, j*sw + v - pw] += dX[n, c, u, v, i, j]: _im2col's copies reversed, as adds.

    dX (N, C, kh, kw, Ho, Wo), dx (N, C, H, W); what falls on the padding is dropped.
    """
    (sh, sw), (ph, pw) = stride, padding
    (N, C, kh, kw, Ho, Wo), (H, W) = dX.shape, dx.shape[2:]
    dcols = np.zeros((kw, N, C, H + 2 * ph, Wo), dtype=dx.dtype)
    for u in range(kh):
        dcols[:, :, :, u : u + sh * (Ho - 1) + 1 : sh] += dX[:, :, u].transpose(2, 0, 1, 3, 4)
    for v in range(kw):
        j, xs = _inside(v, sw, pw, Wo, W)
        dx[:, :, :, xs] += dcols[v, :, :, ph : ph + H, j]


class Conv2d(Function):
    """y[n, f, i, j] = b[f] + sum_{c, u, v} w[f, c, u, v] * xpad[n, c, i*sh + u, j*sw + v].

    As matrices (K = C*kh*kw weights per filter, P = Ho*Wo output pixels per image):
        X (K+1, N*P)  im2col: column (n, p) holds the input window under output pixel p of image n, and a 1
                      in the last row, so that the bias rides in the GEMM: [W, b] [X; 1] = W X + b
        Y = [W, b] X              W (F, K) = weight.reshape(F, K); one GEMM for the batch, (F, N*P), then
                                  one copy into (N, F, Ho, Wo)
    Backward, with dY (F, N*P) (a copy of dy in that order):
        [dW, db] = dY X^T         one GEMM over all N*P pixels; the ones row gives db
        dX = W^T dY               (K, N*P), then col2im adds each window's gradient back onto the pixels it
                                  read; a few images at a time, so that dX is still in cache for col2im
    Few, large GEMMs: with 2 BLAS threads every call is a fork and join, and 64 small ones per layer (one per
    image) wait for a busy machine's scheduler 64 times.
    """

    CACHE_BYTES = 2**20  # dX of this many bytes per col2im call (a typical L2 cache); measured 30% faster

    def __init__(self, stride: tuple[int, int], padding: tuple[int, int]) -> None:
        self.stride, self.padding = stride, padding

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        # x: (N, C, H, W), w: (F, C, kh, kw), b: (F,)
        (sh, sw), (ph, pw) = self.stride, self.padding
        (N, C, H, W), (F, _, kh, kw) = x.shape, w.shape
        K = C * kh * kw
        Ho, Wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
        self.X = np.empty((K + 1, N * Ho * Wo), dtype=x.dtype)
        _im2col(x, self.X[:K].reshape(C, kh, kw, N, Ho, Wo), self.stride, self.padding)
        self.X[K] = 1
        self.Wb = np.concatenate([w.reshape(F, K), b[:, None]], axis=1)  # [W, b]: (F, K+1)
        self.xshape = x.shape
        y = (self.Wb @ self.X).reshape(F, N, Ho, Wo)
        return np.ascontiguousarray(y.transpose(1, 0, 2, 3))

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        # [dW, db] = dY X^T ; dX = W^T dY, scattered back to the pixels each window read
        (N, F, Ho, Wo), (_, C, kh, kw) = dy.shape, self.inputs[1].shape
        K = C * kh * kw
        P = Ho * Wo
        dY = dy.reshape(N, F, P).transpose(1, 0, 2).reshape(F, N * P)  # a copy of dy, far smaller than X
        dWb = (self.X @ dY.T).T  # = dY X^T; this operand order is ~20% faster
        dw, db = dWb[:, :K].reshape(self.inputs[1].shape), dWb[:, K]
        if not self.inputs[0].requires_grad:  # an image batch: skip the GEMM and the scatter below
            return None, dw, db
        WT = np.ascontiguousarray(self.Wb[:, :K].T)  # small; BLAS reads a transposed operand ~10% slower
        dx = np.zeros(self.xshape, dtype=dy.dtype)
        step = max(1, self.CACHE_BYTES // (K * P * dy.itemsize))  # images per chunk
        for n in range(0, N, step):
            dX = (WT @ dY[:, n * P : (n + step) * P]).reshape(C, kh, kw, -1, Ho, Wo)  # images n .. n+step-1
            _col2im(dX.transpose(3, 0, 1, 2, 4, 5), dx[n : n + step], self.stride, self.padding)
        return dx, dw, db


class MaxPool2d(Function):
    """y[n, c, i, j] = max_{u < kh, v < kw} xpad[n, c, i*sh + u, j*sw + v]   (xpad: x padded with -inf).

    A running max over the kh*kw kernel offsets (4 slices for 2x2), remembering which offset won;
    backward sends dy to that input: dx[n, c, i*sh + u*, j*sw + v*] += dy[n, c, i, j]. The first max wins
    ties, as in torch; a NaN propagates to y (as torch).
    """

    def __init__(self, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]) -> None:
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x: np.ndarray) -> np.ndarray:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf) if ph or pw else x
        Ho, Wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
        y = xp[_offset(0, 0, sh, sw, Ho, Wo)].copy()
        self.arg = np.zeros(y.shape, dtype=np.min_scalar_type(kh * kw - 1))  # the winning offset u*kw + v
        for k in range(1, kh * kw):
            s = xp[_offset(k // kw, k % kw, sh, sw, Ho, Wo)]
            better = s > y  # strictly greater: at a tie the earlier offset keeps the gradient
            # arg = k where better, else arg; as unsigned arithmetic (it wraps around, and the result is
            # exact) it is ~10x faster than np.copyto(..., where=better) or arg[better] = k
            self.arg += better * (k - self.arg)
            np.maximum(y, s, out=y)
        self.xshape, self.xpshape, self.out_hw = x.shape, xp.shape, (Ho, Wo)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # dx = dy at the offset that won each window, 0 elsewhere
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        Ho, Wo = self.out_hw
        dy = np.ascontiguousarray(dy)  # if it is a strided view: kh*kw passes read it below, 1 copy here
        # windows that tile the input exactly write each element once, so every slice is a plain write
        tiled = (sh, sw) == (kh, kw) and self.xpshape[2:] == (Ho * kh, Wo * kw)
        dxp = np.empty(self.xpshape, dtype=dy.dtype) if tiled else np.zeros(self.xpshape, dtype=dy.dtype)
        for k in range(kh * kw):
            hit = self.arg == k
            part = dxp[_offset(k // kw, k % kw, sh, sw, Ho, Wo)]
            if tiled:
                np.multiply(dy, hit, out=part)
            else:  # overlapping windows or uncovered borders: add up
                part += dy * hit
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
