"""Cross-check optimizers, schedulers and clipping against PyTorch in float64 (skipped without torch)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from minigrad.nn import Parameter  # noqa: E402
from minigrad.optim import (  # noqa: E402
    SGD,
    Adagrad,
    Adam,
    AdamW,
    LambdaLR,
    ReduceLROnPlateau,
    RMSprop,
    StepLR,
    clip_grad_norm_,
)

SHAPES = [(4, 3), (3,), (2, 1, 5)]

CASES = [
    (SGD, torch.optim.SGD, dict(lr=0.1)),
    (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)),
    (Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    (Adam, torch.optim.Adam, dict(lr=0.01, amsgrad=True)),
    (AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.3)),
    (AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, weight_decay=0.05)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.7)),
    (Adagrad, torch.optim.Adagrad,
     dict(lr=0.1, lr_decay=0.05, weight_decay=0.02, initial_accumulator_value=0.1)),
]


@pytest.mark.parametrize("ours,theirs,kw", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_ten_steps_equal_torch(ours, theirs, kw):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in SHAPES]
    params = [Parameter(a.copy(), dtype=np.float64) for a in init]
    tparams = [torch.tensor(a.copy(), dtype=torch.float64, requires_grad=True) for a in init]
    opt = ours(params, **kw)
    # single-tensor code path, the one our implementation follows
    topt = theirs(tparams, foreach=False, **kw)
    for _ in range(10):
        for p, tp in zip(params, tparams):
            g = rng.standard_normal(p.shape) * 3.0
            p.grad = g.copy()
            tp.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        topt.step()
    for p, tp, a in zip(params, tparams, init):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-10)
        assert not np.allclose(p.data, a)  # they did move


def _torch_pair(lr=1.0):
    p = Parameter(np.zeros(2), dtype=np.float64)
    tp = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    return SGD([p], lr=lr), torch.optim.SGD([tp], lr=lr)


def test_step_and_lambda_schedulers_equal_torch():
    opt, topt = _torch_pair()
    ours = [StepLR(opt, step_size=3, gamma=0.3)]
    theirs = [torch.optim.lr_scheduler.StepLR(topt, step_size=3, gamma=0.3)]
    opt2, topt2 = _torch_pair(0.5)
    ours.append(LambdaLR(opt2, lambda e: 1.0 / (1 + e)))
    theirs.append(torch.optim.lr_scheduler.LambdaLR(topt2, lambda e: 1.0 / (1 + e)))
    for _ in range(12):
        for s, ts in zip(ours, theirs):
            np.testing.assert_allclose(s.get_last_lr(), ts.get_last_lr(), rtol=1e-12)
            s.optimizer.step()
            ts.optimizer.step()
            s.step()
            ts.step()


def test_reduce_lr_on_plateau_equals_torch():
    opt, topt = _torch_pair()
    kw = dict(factor=0.5, patience=2, cooldown=1, min_lr=0.05, threshold=0.01)
    s, ts = ReduceLROnPlateau(opt, **kw), torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    rng = np.random.default_rng(1)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 5), 0.5 + 0.01 * rng.standard_normal(25)])
    for m in metrics:
        s.step(float(m))
        ts.step(float(m))
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    assert s.get_last_lr()[0] < 1.0  # the plateau did trigger reductions


@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_equals_torch(norm_type, max_norm):
    rng = np.random.default_rng(2)
    grads = [rng.standard_normal(s) for s in SHAPES]
    params = []
    for g in grads:
        p = Parameter(np.zeros(g.shape), dtype=np.float64)
        p.grad = g.copy()
        params.append(p)
    params.append(Parameter(np.zeros(3), dtype=np.float64))  # no grad: skipped by both
    tparams = []
    for g in grads:
        tp = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        tp.grad = torch.tensor(g)
        tparams.append(tp)
    tparams.append(torch.zeros(3, dtype=torch.float64, requires_grad=True))

    norm = clip_grad_norm_(params, max_norm=max_norm, norm_type=norm_type)
    tnorm = torch.nn.utils.clip_grad_norm_(tparams, max_norm=max_norm, norm_type=norm_type)
    assert norm == pytest.approx(float(tnorm), rel=1e-12)
    for p, tp in zip(params, tparams):
        if tp.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)
    if max_norm < norm:
        assert not np.allclose(params[0].grad, grads[0])  # clipping happened
