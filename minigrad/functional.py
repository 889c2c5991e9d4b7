"""`minigrad.functional` (import as F): the ops as plain functions, like torch.nn.functional."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.function import Function
from minigrad.ops import (  # noqa: F401  (re-exported)
    clip,
    concatenate,
    exp,
    log,
    masked_fill,
    matmul,
    maximum,
    minimum,
    relu,
    sigmoid,
    split,
    stack,
    tanh,
    where,
)
from minigrad.ops.conv import conv2d, max_pool2d  # noqa: F401
from minigrad.ops.loss import (  # noqa: F401
    binary_cross_entropy_with_logits,
    cross_entropy,
    log_softmax,
    mse_loss,
    softmax,
)
from minigrad.random import default_generator
from minigrad.tensor import Tensor


class Dropout(Function):
    """Inverted dropout: y = x * m / (1 - p), m ~ Bernoulli(1 - p), so eval needs no rescaling."""

    def __init__(self, p: float) -> None:
        self.p = p

    def forward(self, x: np.ndarray) -> np.ndarray:
        keep = default_generator().random(x.shape, dtype=np.float32) >= self.p
        self.scale = (keep / (1.0 - self.p)).astype(x.dtype)
        return x * self.scale

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self.scale  # the same mask and scale


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p while training; the identity in eval mode."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    return Dropout(p)(x)


class Embedding(Function):
    """y = W[idx]: a row lookup. Backward scatter-adds dy into the rows (a word used twice gets both)."""

    def __init__(self, idx: np.ndarray, padding_idx: int | None) -> None:
        self.idx, self.padding_idx = idx, padding_idx

    def forward(self, w: np.ndarray) -> np.ndarray:
        self.wshape = w.shape
        return w[self.idx]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dw = np.zeros(self.wshape, dtype=dy.dtype)
        np.add.at(dw, self.idx.reshape(-1), dy.reshape(-1, self.wshape[1]))
        if self.padding_idx is not None:
            dw[self.padding_idx] = 0  # the padding row stays fixed (zero)
        return dw


def embedding(indices: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Look up rows of weight (V, D) for integer indices of any shape -> (*indices.shape, D)."""
    idx = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding indices must be integers, got dtype {idx.dtype}")
    V = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= V):
        bad = int(idx[(idx < 0) | (idx >= V)].flat[0])
        raise IndexError(f"embedding: index {bad} is out of range for a table of {V} rows")
    return Embedding(idx, padding_idx)(weight)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W + b with W stored (in_features, out_features), as Keras's Dense kernel."""
    if x.shape[-1] != weight.shape[0]:
        raise ValueError(
            f"linear: input has {x.shape[-1]} features (shape {x.shape}) but the layer expects "
            f"{weight.shape[0]} (weight {weight.shape})"
        )
    y = matmul(x, weight)
    return y if bias is None else y + bias
