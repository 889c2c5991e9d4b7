"""nn.utils: gradient clipping lives in minigrad.optim.clip; it is reachable here under torch's path."""

from minigrad.optim.clip import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
