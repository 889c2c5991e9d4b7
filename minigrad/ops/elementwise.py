"""Elementwise ops with NumPy broadcasting. Each backward sums its gradient back to the input's shape."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.function import Function, unbroadcast
from minigrad.tensor import Tensor

# ---- arithmetic ---------------------------------------------------------------------------------------


class Add(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # d(a+b)/da = 1, d(a+b)/db = 1
        return unbroadcast(dy, self.shapes[0]), unbroadcast(dy, self.shapes[1])


class Sub(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # d(a-b)/da = 1, d(a-b)/db = -1
        return unbroadcast(dy, self.shapes[0]), unbroadcast(-dy, self.shapes[1])


class Mul(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a * b

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        # d(ab)/da = b, d(ab)/db = a; a constant operand (a mask, a loss weight) gets no gradient
        ta, tb = self.inputs
        da = unbroadcast(dy * self.b, self.a.shape) if ta.requires_grad else None
        db = unbroadcast(dy * self.a, self.b.shape) if tb.requires_grad else None
        return da, db


class Div(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a / b

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        da = dy / self.b
        db = unbroadcast(-da * self.a / self.b, self.b.shape) if self.inputs[1].requires_grad else None
        return (unbroadcast(da, self.a.shape) if self.inputs[0].requires_grad else None), db


class Neg(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return -x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return -dy  # d(-x)/dx = -1


class Pow(Function):
    """x ** p for a constant scalar exponent p."""

    def __init__(self, p: float) -> None:
        self.p = p

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x**self.p

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self.p * self.x ** (self.p - 1)  # d(x^p)/dx = p x^(p-1)


class Cast(Function):
    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy.astype(self.src)  # identity, back in the input's dtype


# ---- elementwise functions ----------------------------------------------------------------------------


class Exp(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.exp(x)
        return self.y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self.y  # (e^x)' = e^x


class Log(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.log(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy / self.x  # (log x)' = 1/x


class Sqrt(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.sqrt(x)
        return self.y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy / (2 * self.y)  # (sqrt x)' = 1 / (2 sqrt x)


class Tanh(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.tanh(x)
        return self.y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * (1 - self.y * self.y)  # tanh' = 1 - tanh^2


class Sigmoid(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = 0.5 + 0.5 * np.tanh(0.5 * x)  # = 1/(1+e^-x), with no overflow for large |x|
        return self.y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self.y * (1 - self.y)  # s' = s(1 - s)


class ReLU(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0  # a byte per element, a quarter of keeping x (float32)
        return np.maximum(x, 0)  # keeps x's dtype; NaN stays NaN, as torch (np.where was 8x slower)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self.mask  # relu' = 1 where x > 0


class Abs(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.sign = np.sign(x)
        return np.abs(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self.sign  # |x|' = sign(x)


class Maximum(Function):
    """Elementwise max(a, b); at ties the gradient is shared half and half (as torch)."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.shapes = a.shape, b.shape
        self.wa = (a > b) + 0.5 * (a == b)
        return np.maximum(a, b)

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        da = dy * self.wa.astype(dy.dtype, copy=False)
        return unbroadcast(da, self.shapes[0]), unbroadcast(dy - da, self.shapes[1])


class Minimum(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.shapes = a.shape, b.shape
        self.wa = (a < b) + 0.5 * (a == b)
        return np.minimum(a, b)

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        da = dy * self.wa.astype(dy.dtype, copy=False)
        return unbroadcast(da, self.shapes[0]), unbroadcast(dy - da, self.shapes[1])


class Clip(Function):
    def __init__(self, low: float | None, high: float | None) -> None:
        self.low, self.high = low, high

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.inside = np.ones(x.shape, dtype=bool)
        if self.low is not None:
            self.inside &= x >= self.low
        if self.high is not None:
            self.inside &= x <= self.high
        return np.clip(x, self.low, self.high)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self.inside  # 1 inside [low, high], 0 where clipped


class Where(Function):
    """where(cond, a, b): a where cond is true, else b. cond is a constant boolean array."""

    def __init__(self, cond: np.ndarray) -> None:
        self.cond = cond

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.shapes = a.shape, b.shape
        return np.where(self.cond, a, b)

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        zero = np.zeros((), dtype=dy.dtype)
        da = np.where(self.cond, dy, zero)
        db = np.where(self.cond, zero, dy)
        return unbroadcast(da, self.shapes[0]), unbroadcast(db, self.shapes[1])


# ---- the functions users call -------------------------------------------------------------------------


def add(a: Any, b: Any) -> Tensor:
    return Add()(a, b)


def sub(a: Any, b: Any) -> Tensor:
    return Sub()(a, b)


def mul(a: Any, b: Any) -> Tensor:
    return Mul()(a, b)


def div(a: Any, b: Any) -> Tensor:
    return Div()(a, b)


def neg(x: Tensor) -> Tensor:
    return Neg()(x)


def pow(x: Tensor, exponent: float) -> Tensor:
    if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
        raise TypeError("pow supports a constant scalar exponent only (x ** 2, x ** 0.5)")
    return Pow(float(exponent))(x)


def exp(x: Tensor) -> Tensor:
    return Exp()(x)


def log(x: Tensor) -> Tensor:
    return Log()(x)


def sqrt(x: Tensor) -> Tensor:
    return Sqrt()(x)


def tanh(x: Tensor) -> Tensor:
    return Tanh()(x)


def sigmoid(x: Tensor) -> Tensor:
    return Sigmoid()(x)


def relu(x: Tensor) -> Tensor:
    return ReLU()(x)


def abs(x: Tensor) -> Tensor:
    return Abs()(x)


def maximum(a: Any, b: Any) -> Tensor:
    return Maximum()(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    return Minimum()(a, b)


def clip(x: Tensor, low: float | None = None, high: float | None = None) -> Tensor:
    if low is None and high is None:
        raise ValueError("clip needs low, high or both")
    return Clip(low, high)(x)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Elementwise choice; gradients flow to a where cond is true and to b elsewhere."""
    c = np.asarray(cond.data if isinstance(cond, Tensor) else cond, dtype=bool)
    return Where(c)(a, b)


def masked_fill(x: Tensor, mask: Any, value: float) -> Tensor:
    """x with `value` wherever mask is true (mask broadcasts to x); no gradient reaches filled places."""
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask, dtype=bool)
    return Where(m)(np.asarray(value, dtype=x.dtype), x)
