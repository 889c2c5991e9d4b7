"""Optimizers, learning-rate schedulers and gradient clipping (names and update rules as PyTorch).

    from minigrad import optim
    opt = optim.Adam(model.parameters(), lr=1e-3)
    sched = optim.WarmupDecay(opt, warmup_steps=100, total_steps=5000)   # also optim.lr_scheduler.WarmupDecay
    ...
    loss.backward()
    optim.clip_grad_norm_(model.parameters(), max_norm=1.0)   # between backward() and step()
    opt.step(); sched.step(); opt.zero_grad()
"""

from minigrad.optim import lr_scheduler
from minigrad.optim.adagrad import Adagrad
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.clip import clip_grad_norm_, clip_grad_value_
from minigrad.optim.lr_scheduler import LambdaLR, LRScheduler, ReduceLROnPlateau, StepLR, WarmupDecay
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.rmsprop import RMSprop
from minigrad.optim.sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "lr_scheduler",
    "LRScheduler",
    "StepLR",
    "LambdaLR",
    "WarmupDecay",
    "ReduceLROnPlateau",
    "clip_grad_norm_",
    "clip_grad_value_",
]
