"""Matrix multiplication: 2-D and batched (leading axes broadcast), vectors promoted as NumPy does."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.function import Function, unbroadcast
from minigrad.tensor import Tensor, _data


class MatMul(Function):
    """y = a @ b for a (..., n, k), b (..., k, m) -> (..., n, m)."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError("MatMul expects at least 2-D operands; use matmul() for vectors")
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul shape mismatch: {a.shape} @ {b.shape} ({a.shape[-1]} != {b.shape[-2]})")
        self.a, self.b = a, b
        if b.ndim == 2 and a.ndim > 2:
            # a weight shared by every leading index: ONE GEMM over all rows (NumPy's batched matmul would run a
            # small GEMM per leading index: 2x slower forward, 3x backward, for a (64, 11, 256) @ (256, 977))
            return (a.reshape(math.prod(a.shape[:-1]), a.shape[-1]) @ b).reshape(a.shape[:-1] + b.shape[-1:])
        return a @ b

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        # dA = dY B^T, dB = A^T dY (summed over broadcast batch axes)
        a, b = self.a, self.b
        # a GEMM is skipped for an operand that needs no gradient (the data x in x @ W)
        need_a, need_b = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        db = da = None
        if b.ndim == 2 and a.ndim > 2:  # shared weight: as in forward, all rows in one GEMM
            rows = math.prod(a.shape[:-1])
            a2, dy2 = a.reshape(rows, a.shape[-1]), dy.reshape(rows, dy.shape[-1])
            db = a2.T @ dy2 if need_b else None
            da = (dy2 @ b.T).reshape(a.shape) if need_a else None
            return da, db
        if need_b:
            db = unbroadcast(np.swapaxes(a, -1, -2) @ dy, b.shape)
        if need_a:
            da = unbroadcast(dy @ np.swapaxes(b, -1, -2), a.shape)
        return da, db


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b with NumPy's rules: 1-D operands are treated as row/column vectors and squeezed after."""
    ta = a if isinstance(a, Tensor) else Tensor(a)
    tb = b if isinstance(b, Tensor) else Tensor(b)
    if ta.ndim == 0 or tb.ndim == 0:
        raise ValueError("matmul does not take scalars; use * for scalar multiplication")
    squeeze = []
    if ta.ndim == 1:
        ta = ta.reshape(1, -1)
        squeeze.append(-2)
    if tb.ndim == 1:
        tb = tb.reshape(-1, 1)
        squeeze.append(-1)
    if ta.shape[-1] != tb.shape[-2]:
        raise ValueError(
            f"matmul shape mismatch: {np.shape(_data(a))} @ {np.shape(_data(b))} "
            f"(inner dimensions {ta.shape[-1]} and {tb.shape[-2]} differ)"
        )
    y = MatMul()(ta, tb)
    if squeeze:
        y = y.reshape(y.shape[:-2] + tuple(n for ax, n in zip((-2, -1), y.shape[-2:]) if ax not in squeeze))
    return y
