"""Weight initialisers (in place), all drawing from minigrad's seeded generator.

Fan-in/fan-out follow the layout of each weight: a 2-D kernel is (in, out) as in Keras (x @ W),
a conv weight (F, C, kh, kw) as in torch: fan_in = C*kh*kw, fan_out = F*kh*kw.
    glorot/xavier uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))
    glorot/xavier normal:  N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))
    orthogonal: Q from the QR decomposition of a normal matrix, signs fixed so Q is uniform (Saxe et al.)
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.random import default_generator
from minigrad.tensor import Tensor


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError(f"fan-in/fan-out need a weight with at least 2 dimensions, got shape {shape}")
    if len(shape) == 2:
        return shape[0], shape[1]  # (in, out): the Keras kernel layout
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive  # (F, C, kh, kw): torch conv layout


def _fill(t: Tensor, values: np.ndarray) -> Tensor:
    t.data[...] = values.astype(t.data.dtype, copy=False)  # in place: views of the data stay valid
    return t


def zeros_(t: Tensor) -> Tensor:
    t.data[...] = 0
    return t


def ones_(t: Tensor) -> Tensor:
    t.data[...] = 1
    return t


def constant_(t: Tensor, value: float) -> Tensor:
    t.data[...] = value
    return t


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    return _fill(t, default_generator().uniform(a, b, t.shape))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    return _fill(t, default_generator().normal(mean, std, t.shape))


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _fans(t.shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a)


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _fans(t.shape)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


glorot_uniform_ = xavier_uniform_
glorot_normal_ = xavier_normal_


def orthogonal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Fill with a (semi-)orthogonal matrix: rows or columns orthonormal, whichever are fewer."""
    if t.ndim < 2:
        raise ValueError(f"orthogonal_ needs at least 2 dimensions, got shape {t.shape}")
    rows, cols = t.shape[0], int(np.prod(t.shape[1:]))
    a = default_generator().standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # makes the distribution uniform over orthogonal matrices
    if rows < cols:
        q = q.T
    return _fill(t, gain * q.reshape(t.shape))


def kaiming_uniform_(t: Tensor, nonlinearity: str = "relu") -> Tensor:
    """He initialisation: U(-a, a), a = gain * sqrt(3 / fan_in), gain = sqrt(2) for relu."""
    fan_in, _ = _fans(t.shape)
    gain = math.sqrt(2.0) if nonlinearity == "relu" else 1.0
    a = gain * math.sqrt(3.0 / fan_in)
    return uniform_(t, -a, a)
