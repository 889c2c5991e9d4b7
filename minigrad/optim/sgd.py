"""Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay (as PyTorch).

With g the gradient, lr the learning rate, mu the momentum, tau the dampening and wd the weight decay:

    g   = g + wd * p                         (L2 penalty 0.5 * wd * |p|^2 added to the loss)
    buf = g                      on the first step (no dampening then, as torch)
    buf = mu * buf + (1 - tau) * g           afterwards
    d   = g + mu * buf   if nesterov, else buf   (d = g when mu = 0)
    p   = p - lr * d
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim.optimizer import Optimizer, ParamsArg, _check_nonnegative


class SGD(Optimizer):
    """SGD: `p -= lr * d` with d the (momentum-averaged, optionally Nesterov) gradient.

    State per parameter: "momentum_buffer" (same shape as p), only when momentum != 0.
    """

    def __init__(
        self,
        params: ParamsArg,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_nonnegative(group, "lr", "momentum", "dampening", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")

    def _update(self, group: dict[str, Any]) -> None:
        lr, mu, tau, wd = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            w = p.data  # updated in place: modules may hold views of it
            d = p.grad
            if wd != 0:
                d = d + wd * w  # a new array: p.grad itself is left as backward() made it
            if mu != 0:
                state = self.state.setdefault(p, {})
                if "momentum_buffer" not in state:
                    buf = state["momentum_buffer"] = np.array(d, copy=True)
                else:
                    buf = state["momentum_buffer"]
                    buf *= mu
                    buf += (1 - tau) * d
                d = d + mu * buf if group["nesterov"] else buf
            w -= lr * d
