"""Adam and AdamW (as PyTorch's single-tensor implementation).

With g the gradient, t the step count (1, 2, ...) and wd the weight decay:

    Adam:   g = g + wd * p                   (L2 penalty folded into the gradient)
    AdamW:  p = p * (1 - lr * wd)            (decoupled decay, applied to p before the update)

    m = beta1 * m + (1 - beta1) * g          first moment (mean of g)
    v = beta2 * v + (1 - beta2) * g^2        second moment (mean of g^2)
    v_max = max(v_max, v)                    amsgrad only; then v_max replaces v below
    bias_correction1 = 1 - beta1^t           m and v start at 0, so early averages are too small
    bias_correction2 = 1 - beta2^t
    step_size = lr / bias_correction1
    denom = sqrt(v) / sqrt(bias_correction2) + eps
    p = p - step_size * m / denom

Why AdamW: with Adam's L2 the decay term is divided by sqrt(v) like the gradient, so parameters with
large gradients are barely decayed; AdamW decays every weight by the same factor.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.optim.optimizer import Optimizer, ParamsArg, _check_nonnegative


class Adam(Optimizer):
    """Adam: per-parameter step sizes from running averages of g and g^2.

    State per parameter: "step" (int), "exp_avg" (m), "exp_avg_sq" (v), and "max_exp_avg_sq" with amsgrad.
    """

    decoupled_weight_decay = False  # AdamW sets True

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_nonnegative(group, "lr", "eps", "weight_decay")
        betas = group["betas"]
        try:
            beta1, beta2 = (float(b) for b in betas)
            ok = 0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"invalid betas: {betas!r} (need two numbers in [0, 1))")
        group["betas"] = (beta1, beta2)

    def _update(self, group: dict[str, Any]) -> None:
        lr, eps, wd, amsgrad = group["lr"], group["eps"], group["weight_decay"], group["amsgrad"]
        beta1, beta2 = group["betas"]
        for p in group["params"]:
            if p.grad is None:
                continue
            w = p.data  # updated in place
            g = p.grad
            state = self.state.setdefault(p, {})
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(w)
                state["exp_avg_sq"] = np.zeros_like(w)
                if amsgrad:
                    state["max_exp_avg_sq"] = np.zeros_like(w)
            state["step"] += 1
            t = state["step"]
            if wd != 0:
                if self.decoupled_weight_decay:
                    w *= 1 - lr * wd
                else:
                    g = g + wd * w
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            bias_correction1 = 1 - beta1**t
            bias_correction2 = 1 - beta2**t
            step_size = lr / bias_correction1
            if amsgrad:
                v_max = state.setdefault("max_exp_avg_sq", np.zeros_like(w))  # amsgrad switched on later
                np.maximum(v_max, v, out=v_max)
                v = v_max
            denom = np.sqrt(v) / math.sqrt(bias_correction2) + eps
            w -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: `p *= 1 - lr * wd` before the Adam update (default wd = 0.01)."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
