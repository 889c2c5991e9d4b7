"""Gradient clipping: keep one bad batch from throwing the weights far away (as PyTorch).

Why: backpropagation through time multiplies the gradient by the recurrent Jacobian once per time step.
When those factors are larger than 1 the gradient grows exponentially with the sequence length
(*exploding gradients*): one long or unusual batch gives a huge gradient, the update jumps far, and the
loss spikes or becomes NaN. Clipping bounds the size of the update while keeping most of its information.

Which one to use:

- `clip_grad_norm_(params, max_norm)` -- the default for RNNs, LSTMs and GRUs. It computes ONE norm over
  all gradients together (as if they were one long vector) and, if that norm exceeds `max_norm`, scales
  every gradient by the same factor. The update keeps its direction and only gets shorter. Per-tensor
  clipping is not the same: it rescales tensors by different factors and so changes the direction.
- `clip_grad_value_(params, clip_value)` -- clamps each element to [-clip_value, clip_value]. Cheaper (no
  norm) and bounds single outlier elements, but it changes the direction of the update: an element that
  was clipped loses its proportion to the others. Use it when a few entries blow up (e.g. an embedding
  row of a rare token) or as a crude safety net.

Where: between `loss.backward()` and `optimizer.step()` -- after step() the damage is done, and before
backward() there is nothing to clip:

    optimizer.zero_grad()
    loss.backward()
    norm = clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()

Log the returned norm (and how often it exceeded max_norm): if clipping fires on almost every step,
max_norm is too small or the lr too large; if it never fires it does nothing; a NaN or inf norm means
the loss itself has gone bad and that step should be skipped or training stopped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def _grads(parameters: Any) -> list[np.ndarray]:
    """The gradients of one parameter or an iterable of them, skipping those whose grad is None."""
    if hasattr(parameters, "grad"):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(
    parameters: Any | Iterable[Any],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> float:
    """Scale all gradients in place to a global norm <= `max_norm`; return the norm BEFORE clipping.

    total_norm = || (||g_1||_p, ||g_2||_p, ...) ||_p  = the p-norm of all gradients concatenated
                 (norm_type=inf: the largest |element| of any gradient)
    coef = max_norm / (total_norm + 1e-6);  if coef < 1:  g_i *= coef  for every gradient

    The 1e-6 keeps the division finite, so after clipping the norm is max_norm * total / (total + 1e-6),
    a hair below max_norm. Use it for RNNs (the direction is kept), between backward() and step(), and
    log the returned norm to see how often clipping fires (see the module docstring).

    parameters: one parameter or an iterable of them; those whose `.grad` is None are skipped.
    max_norm: the largest allowed global norm (> 0).
    norm_type: p of the p-norm (> 0), or math.inf.
    error_if_nonfinite: raise RuntimeError if the total norm is NaN or inf. Otherwise, as in torch, the
        gradients are still multiplied by coef (inf norm -> coef 0; NaN -> NaN) and the non-finite norm is
        returned so the caller can skip the step and report it.
    foreach: accepted for PyTorch compatibility; NumPy has no fused multi-tensor kernels, so it is ignored.
    Returns: the total norm as a Python float (0.0 if no parameter has a gradient).
    """
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be > 0, got {max_norm}")
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type}")
    grads = _grads(parameters)
    if not grads:
        return 0.0
    if norm_type == math.inf:
        # np.max, not Python's max(): it propagates a NaN from any tensor, whatever the order
        total_norm = float(np.max([np.max(np.abs(g)) if g.size else 0.0 for g in grads]))
    else:
        norms = [_norm(g, norm_type) for g in grads]
        total_norm = float(np.linalg.norm(np.array(norms), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total_norm}, so they "
            "cannot be clipped (the loss is probably NaN/inf); pass error_if_nonfinite=False to scale anyway"
        )
    clip_coef = max_norm / (total_norm + 1e-6)
    # torch multiplies by min(coef, 1): a no-op when coef >= 1, but a NaN coef still turns grads into NaN.
    if clip_coef < 1.0 or math.isnan(clip_coef):
        with np.errstate(invalid="ignore"):  # inf * 0 = NaN is expected here: the norm says so
            for g in grads:
                g *= clip_coef
    return total_norm


def _norm(g: np.ndarray, norm_type: float) -> float:
    """The p-norm of one gradient as a Python float."""
    x = g.ravel()
    if norm_type == 2.0:
        with np.errstate(over="ignore"):  # handled just below
            sq = float(np.dot(x, x))  # BLAS in the gradient's dtype: 10x faster than a float64 copy
        if sq != math.inf:
            return math.sqrt(sq)  # NaN stays NaN
        x = x.astype(np.float64)  # float32 squares overflow above ~1.8e19: redo in float64
        return math.sqrt(float(np.dot(x, x)))
    return float(np.linalg.norm(x.astype(np.float64, copy=False), ord=norm_type))


def clip_grad_value_(parameters: Any | Iterable[Any], clip_value: float) -> None:
    """Clamp every gradient element in place to [-clip_value, clip_value].

    Cheaper than norm clipping and bounds outliers element-wise, but it changes the update's direction
    (see the module docstring). Call it between backward() and optimizer.step().
    parameters: one parameter or an iterable of them; those whose `.grad` is None are skipped.
    """
    clip_value = float(clip_value)
    if not clip_value > 0:
        raise ValueError(f"clip_grad_value_: clip_value must be > 0, got {clip_value}")
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
