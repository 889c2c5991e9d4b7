"""Adagrad (as PyTorch): each weight's step shrinks with the sum of all its past squared gradients.

With g the gradient, t the step count (1, 2, ...) and wd the weight decay:

    g   = g + wd * p
    clr = lr / (1 + (t - 1) * lr_decay)
    s   = s + g^2                    s starts at initial_accumulator_value
    p   = p - clr * g / (sqrt(s) + eps)

Weights that receive rare but large gradients (embeddings of rare words) keep larger steps than
frequently updated ones; the sum only grows, so the effective rate only falls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim.optimizer import Optimizer, ParamsArg, _check_nonnegative


class Adagrad(Optimizer):
    """Adagrad: `p -= clr * g / (sqrt(sum of g^2) + eps)`.

    State per parameter (created here for every parameter, as torch does): "step" (int) and "sum".
    """

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {
                    "step": 0,
                    "sum": np.full_like(p.data, group["initial_accumulator_value"]),
                }

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_nonnegative(group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def _update(self, group: dict[str, Any]) -> None:
        lr, lr_decay, wd, eps = group["lr"], group["lr_decay"], group["weight_decay"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            w = p.data  # updated in place
            g = p.grad
            state = self.state.setdefault(p, {})
            if not state:  # a group added after construction
                state["step"] = 0
                state["sum"] = np.full_like(w, group["initial_accumulator_value"])
            state["step"] += 1
            if wd != 0:
                g = g + wd * w
            clr = lr / (1 + (state["step"] - 1) * lr_decay)
            s = state["sum"]
            s += g * g
            w -= clr * (g / (np.sqrt(s) + eps))
