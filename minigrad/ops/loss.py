"""Softmax, log-softmax and the losses, each a fused op with a closed-form backward (stable forms)."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.function import Function, unbroadcast
from minigrad.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


class Softmax(Function):
    """y_i = exp(x_i - max x) / sum_j exp(x_j - max x) along `axis`."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # dx = y * (dy - sum(dy * y))
        y = self.y
        return y * (dy - (dy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y_i = x_i - max x - log sum_j exp(x_j - max x) along `axis`."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        z = x - x.max(axis=self.axis, keepdims=True)
        self.y = z - np.log(np.exp(z).sum(axis=self.axis, keepdims=True))
        return self.y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # dx = dy - softmax * sum(dy)
        return dy - np.exp(self.y) * dy.sum(axis=self.axis, keepdims=True)


class CrossEntropy(Function):
    """Softmax cross-entropy with class indices, ignore_index and label smoothing (as torch).

    logits (..., C), targets (...) ints. With smoothing eps the target distribution is
    q = (1 - eps) * onehot(t) + eps / C, and loss = -sum_c q_c log softmax(x)_c.
    'mean' divides by the number of targets that are not ignore_index.
    """

    def __init__(self, targets: np.ndarray, ignore_index: int, reduction: str, label_smoothing: float) -> None:
        self.t, self.ignore_index = targets, ignore_index
        self.reduction, self.eps = reduction, label_smoothing

    def forward(self, x: np.ndarray) -> np.ndarray:
        C = x.shape[-1]
        flat = x.reshape(-1, C)
        t = self.t.reshape(-1)
        self.valid = t != self.ignore_index
        tt = np.where(self.valid, t, 0)
        if tt.size and (tt.min() < 0 or tt.max() >= C):
            bad = int(tt[(tt < 0) | (tt >= C)][0])
            raise IndexError(f"cross_entropy: target {bad} is out of range for {C} classes")
        z = flat - flat.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        self.p, self.tt, self.shape = np.exp(logp), tt, x.shape
        nll = -logp[np.arange(len(tt)), tt]
        if self.eps:
            nll = (1 - self.eps) * nll - self.eps * logp.mean(axis=1)
        nll = nll * self.valid
        self.count = max(int(self.valid.sum()), 1) if self.reduction == "mean" else 1
        if self.reduction == "none":
            return nll.reshape(self.t.shape).astype(x.dtype, copy=False)
        return np.asarray(nll.sum() / self.count, dtype=x.dtype)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # d loss / d logits = softmax - q (zero for ignored targets)
        g = self.p.copy()
        n, C = g.shape
        if self.eps:
            g -= self.eps / C
        g[np.arange(n), self.tt] -= 1 - self.eps
        g *= self.valid[:, None]
        scale = dy.reshape(-1, 1) if self.reduction == "none" else dy / self.count
        return (g * scale).reshape(self.shape).astype(dy.dtype, copy=False)


class MSELoss(Function):
    def __init__(self, reduction: str) -> None:
        self.reduction = reduction

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.shapes = x.shape, y.shape
        self.diff = x - y
        sq = self.diff * self.diff
        if self.reduction == "none":
            return sq
        return np.asarray(sq.mean() if self.reduction == "mean" else sq.sum(), dtype=sq.dtype)

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # d (x-y)^2 / dx = 2 (x-y)
        scale = 2 / self.diff.size if self.reduction == "mean" else 2
        g = self.diff * (dy * np.asarray(scale, dtype=dy.dtype))
        return unbroadcast(g, self.shapes[0]), unbroadcast(-g, self.shapes[1])


class BCEWithLogits(Function):
    """loss = max(x, 0) - x*y + log(1 + exp(-|x|)): log(1 + e^x) - x*y without overflow."""

    def __init__(self, reduction: str) -> None:
        self.reduction = reduction

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.shapes = x.shape, y.shape
        self.x, self.y = x, y
        loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
        if self.reduction == "none":
            return loss
        return np.asarray(loss.mean() if self.reduction == "mean" else loss.sum(), dtype=loss.dtype)

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # dloss/dx = sigmoid(x) - y ; dloss/dy = -x
        scale = dy / self.x.size if self.reduction == "mean" else dy
        s = 0.5 + 0.5 * np.tanh(0.5 * self.x)
        b = np.broadcast_shapes(*self.shapes)
        dx = np.broadcast_to((s - self.y) * scale, b)
        dyy = np.broadcast_to(-self.x * scale, b)
        return unbroadcast(dx, self.shapes[0]), unbroadcast(dyy, self.shapes[1])


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return Softmax(axis)(x)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return LogSoftmax(axis)(x)


def cross_entropy(
    logits: Tensor,
    targets: Any,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy. logits: (..., C) with the classes LAST (torch puts them at axis 1);
    targets: integer class indices of shape (...). Targets equal to ignore_index (padding) count nothing.
    """
    _check_reduction(reduction)
    t = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if t.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy targets must be integer class indices, got dtype {t.dtype}")
    if t.shape != logits.shape[:-1]:
        raise ValueError(
            f"cross_entropy: targets of shape {t.shape} do not match logits of shape {logits.shape} "
            f"(expected targets {logits.shape[:-1]}: the classes are the last axis)"
        )
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    return CrossEntropy(t, ignore_index, reduction, float(label_smoothing))(logits)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error; input and target must have the same shape (no silent broadcasting)."""
    _check_reduction(reduction)
    tshape = np.shape(target.data if isinstance(target, Tensor) else target)
    if tuple(tshape) != input.shape:
        raise ValueError(f"mse_loss: input shape {input.shape} and target shape {tuple(tshape)} differ")
    return MSELoss(reduction)(input, target)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Sigmoid + binary cross-entropy in one stable op."""
    _check_reduction(reduction)
    tshape = np.shape(target.data if isinstance(target, Tensor) else target)
    if tuple(tshape) != input.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: input {input.shape} and target {tuple(tshape)} differ")
    return BCEWithLogits(reduction)(input, target)
