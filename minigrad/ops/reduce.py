"""Reductions: sum, mean, max, min over an axis (or all), with keepdims and negative axes."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

import numpy as np

from minigrad.function import Function
from minigrad.tensor import Tensor

Axis = int | Sequence[int] | None


def _norm_axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % builtins.max(ndim, 1))
    return tuple(sorted(set(out)))


def _expand(dy: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Put back the reduced axes as size-1 axes so dy broadcasts against the input."""
    return dy if keepdims else np.expand_dims(dy, axes)


class Sum(Function):
    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        self.axes = _norm_axes(self.axis, x.ndim)
        return np.asarray(x.sum(axis=self.axes, keepdims=self.keepdims))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # d(sum x)/dx_i = 1: copy dy to every summed element
        return np.broadcast_to(_expand(dy, self.axes, self.keepdims), self.shape)


class Mean(Function):
    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        self.axes = _norm_axes(self.axis, x.ndim)
        self.n = int(np.prod([x.shape[a] for a in self.axes])) if self.axes else 1
        return np.asarray(x.mean(axis=self.axes, keepdims=self.keepdims))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # d(mean x)/dx_i = 1/n
        g = _expand(dy, self.axes, self.keepdims) / np.asarray(self.n, dtype=dy.dtype)
        return np.broadcast_to(g, self.shape)


class Max(Function):
    """max (or min with sign=-1) over axes; ties share the gradient equally (like torch.amax)."""

    def __init__(self, axis: Axis, keepdims: bool, sign: int = 1) -> None:
        self.axis, self.keepdims, self.sign = axis, keepdims, sign

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.axes = _norm_axes(self.axis, x.ndim)
        if x.size == 0:
            raise ValueError("max/min of an empty tensor")
        y = x.max(axis=self.axes, keepdims=True) if self.sign > 0 else x.min(axis=self.axes, keepdims=True)
        hit = x == y
        self.weight = hit / hit.sum(axis=self.axes, keepdims=True)
        return y if self.keepdims else np.squeeze(y, axis=self.axes)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # the gradient goes to the element(s) that were the max
        return (_expand(dy, self.axes, self.keepdims) * self.weight).astype(dy.dtype, copy=False)


def sum(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Sum(axis, keepdims)(x)


def mean(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Mean(axis, keepdims)(x)


def max(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Max(axis, keepdims, 1)(x)


def min(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Max(axis, keepdims, -1)(x)
