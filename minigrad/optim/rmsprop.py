"""RMSprop (as PyTorch): divide the gradient by a running root-mean-square of recent gradients.

With g the gradient, alpha the smoothing constant, mu the momentum and wd the weight decay:

    g   = g + wd * p
    v   = alpha * v + (1 - alpha) * g^2          running mean of g^2
    gm  = alpha * gm + (1 - alpha) * g           centered only: running mean of g
    avg = sqrt(v - gm^2) + eps   if centered     (an estimate of the standard deviation of g)
    avg = sqrt(v) + eps          otherwise
    buf = mu * buf + g / avg;  p = p - lr * buf  if mu > 0
    p   = p - lr * g / avg                       otherwise
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim.optimizer import Optimizer, ParamsArg, _check_nonnegative


class RMSprop(Optimizer):
    """RMSprop: `p -= lr * g / (sqrt(mean of g^2) + eps)`, optionally centered and with momentum.

    State per parameter: "step" (int), "square_avg", plus "momentum_buffer" if momentum > 0 and
    "grad_avg" if centered.
    """

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_nonnegative(group, "lr", "alpha", "eps", "weight_decay", "momentum")

    def _update(self, group: dict[str, Any]) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, mu = group["weight_decay"], group["momentum"]
        for p in group["params"]:
            if p.grad is None:
                continue
            w = p.data  # updated in place
            g = p.grad
            state = self.state.setdefault(p, {})
            if not state:
                state["step"] = 0
                state["square_avg"] = np.zeros_like(w)
                if mu > 0:
                    state["momentum_buffer"] = np.zeros_like(w)
                if group["centered"]:
                    state["grad_avg"] = np.zeros_like(w)
            state["step"] += 1
            if wd != 0:
                g = g + wd * w
            v = state["square_avg"]
            v *= alpha
            v += (1 - alpha) * g * g
            if group["centered"]:
                gm = state.setdefault("grad_avg", np.zeros_like(w))
                gm *= alpha
                gm += (1 - alpha) * g
                avg = np.sqrt(v - gm * gm) + eps
            else:
                avg = np.sqrt(v) + eps
            if mu > 0:
                buf = state.setdefault("momentum_buffer", np.zeros_like(w))
                buf *= mu
                buf += g / avg
                w -= lr * buf
            else:
                w -= lr * (g / avg)
