"""The input rules of the recurrent layers, written once: the layers (`rnn.py`) and the fused Functions
(`rnn_fused.py`) call these same functions, so a mask or a dtype is accepted or refused the same way
whichever door it comes in by, with the same exception type and message.

The rule, in two lines:
    a wrong KIND of value (a dtype that is not allowed) is a TypeError;
    a wrong SHAPE, or values outside what is allowed (a mask holding 0.5), is a ValueError.
Every message starts with the owner ("LSTM", "GRUSequence", ...) and names the offending value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.tensor import Tensor


def check_mask(mask: Any, x_shape: tuple[int, ...] | None, owner: str) -> np.ndarray | None:
    """A mask as a contiguous bool (N, T) array, True = a real step, False = padding; None stays None.

    Accepted: booleans, or integers or floats that are all exactly 0 or 1, given as a NumPy array, a
    nested list or a minigrad Tensor. The shape must be (N, T) = x_shape[:2], the input's batch and
    time axes (x_shape None: only "2-D" is checked, for a Function that learns the input later).
        another dtype (complex, strings, objects)   -> TypeError  "mask must be booleans or 0/1 ..."
        values other than 0 and 1                    -> ValueError "mask must be booleans or 0/1 ..."
        another shape                                -> ValueError "mask has shape ... expected (N, T)"
    """
    if mask is None:
        return None
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.dtype != np.bool_:
        if m.dtype.kind not in "iuf":
            raise TypeError(f"{owner}: mask must be booleans or 0/1 (True/1 = a real step), got dtype {m.dtype}")
        if not np.isin(m, (0, 1)).all():
            bad = m[~np.isin(m, (0, 1))].ravel()[0]
            raise ValueError(f"{owner}: mask must be booleans or 0/1 (True/1 = a real step), got the value "
                             f"{bad!r} (dtype {m.dtype})")
        m = m != 0
    if x_shape is None:
        if m.ndim != 2:
            raise ValueError(f"{owner}: mask has shape {m.shape}: expected 2-D (N, T)")
    elif m.shape != tuple(x_shape[:2]):
        raise ValueError(f"{owner}: mask has shape {m.shape} but the input is {tuple(x_shape)}: "
                         f"expected {tuple(x_shape[:2])}")
    return np.ascontiguousarray(m)


def check_float(dtype: np.dtype, owner: str, what: str, expected: np.dtype | None = None,
                against: str = "the weights are") -> None:
    """TypeError unless `dtype` is float32 or float64 and, if `expected` is given, equal to it.

    `what` names the value ("input", "initial_state h", "W_hh"), `against` what it must match, with
    its verb ("the weights are", "x is"). Integer
    input gets a hint: token ids go through nn.Embedding first.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        hint = " (token ids? pass them through nn.Embedding first)" if what in ("input", "x") else ""
        raise TypeError(f"{owner}: {what} must hold float32 or float64, got dtype {dtype}{hint}")
    if expected is not None and dtype != expected:
        raise TypeError(f"{owner}: {what} is {dtype} but {against} {np.dtype(expected)}: use one float "
                        f"dtype for all (layer.double() / layer.float(), or x.astype(...))")


def check_shape(owner: str, what: str, shape: tuple[int, ...], expected: tuple[int, ...]) -> None:
    """ValueError naming both shapes, before NumPy would fail deep inside a time loop."""
    if tuple(shape) != tuple(expected):
        raise ValueError(f"{owner}: {what} must have shape {tuple(expected)}, got {tuple(shape)}")


__all__ = ["check_mask", "check_float", "check_shape"]
