"""Finite-difference gradient check: does backward() agree with (f(x + eps) - f(x - eps)) / 2eps?"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the numerical one; the message names input and element."""


def _outputs(out: Any) -> list[Tensor]:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors, got {type(o).__name__}")
    return outs


def gradcheck(
    fn: Callable[..., Any],
    *inputs: Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Compare the gradients backward() computes for fn(*inputs) with central differences, in float64.

    fn may return any shape (or a tuple of tensors): it is reduced to a scalar with fixed random
    weights r, L = sum(fn(x) * r), so every output element is checked. Each input that requires a
    gradient must be float64 (float32 differences are too coarse). Passes when, element by element,
    |analytic - numeric| <= atol + rtol * |numeric|. On failure raises GradcheckError naming the input,
    the element index and both values (or returns False with raise_exception=False).
    """
    checked = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i, t in checked:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {t.dtype}; make it float64: tensor(x, dtype=np.float64)")

    rng = np.random.default_rng(seed)
    outs = _outputs(fn(*inputs))
    weights = [rng.standard_normal(o.shape) for o in outs]

    def loss_value() -> float:
        return float(sum((o.data.astype(np.float64) * w).sum() for o, w in zip(_outputs(fn(*inputs)), weights)))

    for _, t in checked:
        t.grad = None
    for o, w in zip(outs, weights):
        if o.requires_grad:
            o.backward(w.astype(o.dtype), retain_graph=True)

    for i, t in checked:
        analytic = t.grad if t.grad is not None else np.zeros_like(t.data)
        numeric = np.zeros(t.shape)
        # perturb the input in place and restore it; indexing by position (not through reshape(-1), which
        # silently copies a non-contiguous array, e.g. a transposed one, so the perturbation would be lost)
        for k in np.ndindex(t.shape):
            orig = t.data[k]
            t.data[k] = orig + eps
            plus = loss_value()
            t.data[k] = orig - eps
            minus = loss_value()
            t.data[k] = orig
            numeric[k] = (plus - minus) / (2 * eps)
        bad = np.abs(analytic - numeric) > atol + rtol * np.abs(numeric)
        if bad.any():
            where = tuple(int(j) for j in np.argwhere(bad)[0])
            msg = (
                f"gradcheck failed for input {i} (shape {t.shape}) at element {where}: "
                f"analytic {analytic[where]:.8g}, numeric {numeric[where]:.8g} "
                f"({int(bad.sum())} of {bad.size} elements disagree; atol={atol}, rtol={rtol})"
            )
            if raise_exception:
                raise GradcheckError(msg)
            return False
    for _, t in checked:
        t.grad = None
    return True
