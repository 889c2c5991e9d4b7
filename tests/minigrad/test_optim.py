"""Optimizers and LR schedulers against update rules written out by hand, plus state-dict round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad
from minigrad import checkpoint, nn
from minigrad.nn import Parameter
from minigrad.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    LambdaLR,
    ReduceLROnPlateau,
    RMSprop,
    StepLR,
    WarmupDecay,
    clip_grad_norm_,
    lr_scheduler,
)

P0 = np.array([1.0, -2.0, 0.5])
# Large then small gradients, so Adam's v shrinks (amsgrad matters) and signs change (momentum matters).
GRADS = [np.array([0.5, -4.0, 1.0]), np.array([3.0, 0.1, -2.0]), np.array([0.2, 0.05, 0.3])]


def make_param(values, dtype=np.float64) -> Parameter:
    return Parameter(np.array(values, dtype=dtype), dtype=dtype)


def run(opt_cls, grads=GRADS, p0=P0, **kw) -> np.ndarray:
    """Parameter values after one optimizer step per gradient."""
    p = make_param(p0)
    opt = opt_cls([p], **kw)
    for g in grads:
        p.grad = np.array(g, dtype=np.float64)
        opt.step()
    return p.data


# ---- first steps with literal values -----------------------------------------------------------------
def test_first_steps_have_known_values():
    g = [GRADS[0]]
    # SGD: p - lr * g
    np.testing.assert_allclose(run(SGD, g, lr=0.1), [0.95, -1.6, 0.4], rtol=1e-15)
    # Adam step 1: m_hat = g, v_hat = g^2, so p - lr * g / (|g| + eps) = p - lr * sign(g)
    np.testing.assert_allclose(run(Adam, g, lr=0.1), [0.9, -1.9, 0.4], rtol=1e-7)
    # RMSprop step 1: sqrt(v) = sqrt(1 - alpha) |g| = 0.1 |g|, so p - 10 lr sign(g)
    np.testing.assert_allclose(run(RMSprop, g, lr=0.01), [0.9, -1.9, 0.4], rtol=1e-7)
    # Adagrad step 1 (zero accumulator): sqrt(s) = |g|, so p - lr * sign(g)
    np.testing.assert_allclose(run(Adagrad, g, lr=0.1), [0.9, -1.9, 0.4], rtol=1e-9)


# ---- SGD ---------------------------------------------------------------------------------------------
def test_sgd_momentum_dampening_weight_decay_by_hand():
    lr, mu, tau, wd = 0.1, 0.9, 0.25, 0.01
    g1, g2, g3 = GRADS
    p = P0.copy()
    d = g1 + wd * p
    buf = d  # first step: buffer = gradient, no dampening
    p = p - lr * buf
    d = g2 + wd * p
    buf = mu * buf + (1 - tau) * d
    p = p - lr * buf
    d = g3 + wd * p
    buf = mu * buf + (1 - tau) * d
    p = p - lr * buf
    got = run(SGD, lr=lr, momentum=mu, dampening=tau, weight_decay=wd)
    np.testing.assert_allclose(got, p, rtol=1e-14)


def test_sgd_nesterov_by_hand():
    lr, mu = 0.1, 0.9
    g1, g2, g3 = GRADS
    p = P0.copy()
    buf = g1
    p = p - lr * (g1 + mu * buf)
    buf = mu * buf + g2
    p = p - lr * (g2 + mu * buf)
    buf = mu * buf + g3
    p = p - lr * (g3 + mu * buf)
    np.testing.assert_allclose(run(SGD, lr=lr, momentum=mu, nesterov=True), p, rtol=1e-14)
    # and it is not plain momentum
    assert not np.allclose(run(SGD, lr=lr, momentum=mu), p)


def test_sgd_rejects_bad_nesterov_and_negative_values():
    p = make_param([1.0])
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="lr"):
        SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="momentum"):
        SGD([p], lr=0.1, momentum=-1)


# ---- Adam / AdamW ------------------------------------------------------------------------------------
def adam_by_hand(lr, b1, b2, eps, wd, amsgrad=False, decoupled=False) -> np.ndarray:
    p = P0.copy()
    m = np.zeros(3)
    v = np.zeros(3)
    v_max = np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        v_max = np.maximum(v_max, v)
        v_used = v_max if amsgrad else v
        m_hat = m / (1 - b1**t)
        v_hat = v_used / (1 - b2**t)
        # torch's eps placement: eps is added to sqrt(v_hat), i.e. after the bias correction of v
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def test_adam_l2_by_hand():
    kw = dict(lr=0.05, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1)
    want = adam_by_hand(0.05, 0.8, 0.9, 1e-3, 0.1)
    np.testing.assert_allclose(run(Adam, **kw), want, rtol=1e-13)


def test_adam_amsgrad_by_hand():
    want = adam_by_hand(0.05, 0.8, 0.9, 1e-3, 0.0, amsgrad=True)
    assert not np.allclose(want, adam_by_hand(0.05, 0.8, 0.9, 1e-3, 0.0))  # amsgrad changes the result
    got = run(Adam, lr=0.05, betas=(0.8, 0.9), eps=1e-3, amsgrad=True)
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_adamw_decoupled_decay_by_hand():
    want = adam_by_hand(0.05, 0.8, 0.9, 1e-3, 0.5, decoupled=True)
    got = run(AdamW, lr=0.05, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.5)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    # decoupled decay differs from Adam's L2 with the same coefficient
    assert not np.allclose(got, run(Adam, lr=0.05, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.5))
    assert AdamW([make_param([1.0])]).defaults["weight_decay"] == 0.01


def test_adam_rejects_bad_betas():
    with pytest.raises(ValueError, match="betas"):
        Adam([make_param([1.0])], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="betas"):
        Adam([make_param([1.0])], betas=(0.9,))


# ---- RMSprop -----------------------------------------------------------------------------------------
def test_rmsprop_plain_by_hand():
    lr, a, eps = 0.01, 0.9, 1e-4
    p = P0.copy()
    v = np.zeros(3)
    for g in GRADS:
        v = a * v + (1 - a) * g**2
        p = p - lr * g / (np.sqrt(v) + eps)
    np.testing.assert_allclose(run(RMSprop, lr=lr, alpha=a, eps=eps), p, rtol=1e-13)


def test_rmsprop_centered_momentum_weight_decay_by_hand():
    lr, a, eps, mu, wd = 0.01, 0.9, 1e-4, 0.5, 0.1
    p = P0.copy()
    v = np.zeros(3)
    gm = np.zeros(3)
    buf = np.zeros(3)
    for g in GRADS:
        g = g + wd * p
        v = a * v + (1 - a) * g**2
        gm = a * gm + (1 - a) * g
        std = np.sqrt(v - gm**2) + eps  # centered: subtract the squared mean
        buf = mu * buf + g / std
        p = p - lr * buf
    got = run(RMSprop, lr=lr, alpha=a, eps=eps, momentum=mu, weight_decay=wd, centered=True)
    np.testing.assert_allclose(got, p, rtol=1e-12)
    assert not np.allclose(got, run(RMSprop, lr=lr, alpha=a, eps=eps, momentum=mu, weight_decay=wd))


# ---- Adagrad -----------------------------------------------------------------------------------------
def test_adagrad_lr_decay_weight_decay_initial_accumulator_by_hand():
    lr, lr_decay, wd, s0, eps = 0.1, 0.5, 0.01, 0.2, 1e-10
    p = P0.copy()
    s = np.full(3, s0)
    for t, g in enumerate(GRADS, start=1):
        g = g + wd * p
        clr = lr / (1 + (t - 1) * lr_decay)  # 0.1, 0.1/1.5, 0.1/2
        s = s + g**2
        p = p - clr * g / (np.sqrt(s) + eps)
    got = run(Adagrad, lr=lr, lr_decay=lr_decay, weight_decay=wd, initial_accumulator_value=s0, eps=eps)
    np.testing.assert_allclose(got, p, rtol=1e-13)


# ---- base class behaviour ----------------------------------------------------------------------------
@pytest.mark.parametrize("opt_cls", [SGD, Adam, AdamW, RMSprop, Adagrad])
def test_params_without_grad_are_skipped_and_updates_are_in_place(opt_cls):
    a, b = make_param([1.0, 2.0]), make_param([3.0])
    a_buffer = a.data
    opt = opt_cls([a, b], lr=0.1)
    a.grad = np.array([0.5, -0.5])
    opt.step()
    assert b.data.tolist() == [3.0]  # no grad: untouched
    assert a.data is a_buffer  # updated in place, never rebound
    assert not np.array_equal(a.data, [1.0, 2.0])
    state = opt.state_dict()["state"]
    assert 1 not in state or state[1]["step"] == 0  # no step for b (Adagrad creates its state up front)


def test_float32_parameters_stay_float32():
    p = make_param([1.0, -1.0], dtype=np.float32)
    opt = Adam([p], lr=0.1)
    p.grad = np.array([0.5, 0.25], dtype=np.float32)
    opt.step()
    assert p.data.dtype == np.float32
    assert opt.state[p]["exp_avg"].dtype == np.float32


def test_zero_grad_to_none_and_to_zeros():
    p = make_param([1.0, 2.0])
    opt = SGD([p], lr=0.1)
    p.grad = np.array([1.0, 1.0])
    buffer = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is buffer and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_param_groups_use_their_own_hyperparameters():
    a, b = make_param([1.0]), make_param([1.0])
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9  # from the defaults
    a.grad, b.grad = np.array([1.0]), np.array([1.0])
    opt.step()
    assert a.data.tolist() == [0.9] and b.data.tolist() == [0.5]


def test_bad_parameter_lists_are_rejected():
    p = make_param([1.0])
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single"):
        SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        SGD([p, p], lr=0.1)
    with pytest.raises(TypeError, match="not a parameter"):
        SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        SGD({p}, lr=0.1)  # a set has no stable order, so state_dict indices would be meaningless


# ---- optimizer state dicts ---------------------------------------------------------------------------
OPTIMIZERS = [
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (Adam, dict(lr=0.05, amsgrad=True, weight_decay=0.01)),
    (AdamW, dict(lr=0.05)),
    (RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (Adagrad, dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.1)),
]


def _model(rng):
    """Two param groups, three parameters of different shapes (so a shape or order mix-up breaks)."""
    params = [make_param(rng.standard_normal(s)) for s in [(2, 3), (3,), (4, 1)]]
    return params, [{"params": params[:2]}, {"params": params[2:], "lr": 0.02}]


def _step(opt, params, rng):
    for p in params:
        p.grad = rng.standard_normal(p.shape)
    opt.step()


@pytest.mark.parametrize("opt_cls,kw", OPTIMIZERS, ids=[c.__name__ for c, _ in OPTIMIZERS])
def test_optimizer_state_round_trip_through_checkpoint(opt_cls, kw, tmp_path):
    rng = np.random.default_rng(0)
    params_a, groups_a = _model(rng)
    opt_a = opt_cls(groups_a, **kw)
    grad_rng = np.random.default_rng(1)
    for _ in range(3):
        _step(opt_a, params_a, grad_rng)

    checkpoint.save({"optim": opt_a.state_dict()}, tmp_path / "opt.npz")
    saved = checkpoint.load(tmp_path / "opt.npz")["optim"]

    params_b = [make_param(p.data.copy()) for p in params_a]
    params_c = [make_param(p.data.copy()) for p in params_a]
    opt_b = opt_cls([{"params": params_b[:2]}, {"params": params_b[2:], "lr": 0.02}], **kw)
    opt_c = opt_cls([{"params": params_c[:2]}, {"params": params_c[2:], "lr": 0.02}], **kw)  # not loaded
    opt_b.load_state_dict(saved)
    _assert_same_tree(opt_b.state_dict(), opt_a.state_dict())  # the round trip is exact, types included

    rng_a, rng_b, rng_c = (np.random.default_rng(2) for _ in range(3))
    for _ in range(3):
        _step(opt_a, params_a, rng_a)
        _step(opt_b, params_b, rng_b)
        _step(opt_c, params_c, rng_c)
    for pa, pb in zip(params_a, params_b):
        assert np.array_equal(pa.data, pb.data)
    # without the loaded state the result differs, so the comparison above can fail
    assert not all(np.array_equal(pa.data, pc.data) for pa, pc in zip(params_a, params_c))


def test_state_dict_is_a_snapshot():
    p = make_param([1.0, 2.0])
    opt = Adam([p], lr=0.1)
    p.grad = np.array([1.0, -1.0])
    opt.step()
    sd = opt.state_dict()
    before = sd["state"][0]["exp_avg"].copy()
    opt.step()
    assert np.array_equal(sd["state"][0]["exp_avg"], before)
    assert sd["state"][0]["step"] == 1


def test_load_state_dict_for_other_parameters_is_an_error():
    rng = np.random.default_rng(0)
    params, groups = _model(rng)
    opt = Adam(groups, lr=0.1)
    _step(opt, params, rng)
    sd = opt.state_dict()

    fewer = Adam([make_param(np.zeros((2, 3))), make_param(np.zeros(3))], lr=0.1)
    with pytest.raises(ValueError, match="param groups"):
        fewer.load_state_dict(sd)
    two_groups_fewer = Adam([{"params": [make_param(np.zeros((2, 3)))]},
                             {"params": [make_param(np.zeros((4, 1)))]}])
    with pytest.raises(ValueError, match="group 0 has 2 parameters"):
        two_groups_fewer.load_state_dict(sd)
    wrong_shape = Adam([{"params": [make_param(np.zeros((3, 2))), make_param(np.zeros(3))]},
                        {"params": [make_param(np.zeros((4, 1)))]}])
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*shape \(3, 2\)"):
        wrong_shape.load_state_dict(sd)
    other_optimizer = SGD([{"params": [make_param(np.zeros((2, 3))), make_param(np.zeros(3))]},
                           {"params": [make_param(np.zeros((4, 1)))]}], lr=0.1)
    with pytest.raises(ValueError, match="another optimizer"):
        other_optimizer.load_state_dict(sd)
    assert other_optimizer.state == {}  # a failed load changes nothing


# ---- schedulers --------------------------------------------------------------------------------------
def _opt(lr=1.0, n_groups=1):
    return SGD([{"params": [make_param([1.0])]} for _ in range(n_groups)], lr=lr)


def _lrs(sched, n):
    """The lr at construction, then after each of n-1 steps."""
    out = [sched.get_last_lr()[0]]
    for _ in range(n - 1):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


def test_step_lr_sequence():
    opt = _opt(lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    assert _lrs(sched, 7) == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert opt.param_groups[0]["lr"] == 0.125
    assert opt.param_groups[0]["initial_lr"] == 1.0


def test_warmup_cosine_sequence():
    sched = WarmupDecay(_opt(lr=1.0), warmup_steps=2, total_steps=6, decay="cosine", min_lr=0.1)
    c = math.cos(math.pi / 4)
    want = [0.0, 0.5, 1.0, 0.1 + 0.45 * (1 + c), 0.55, 0.1 + 0.45 * (1 - c), 0.1, 0.1]
    np.testing.assert_allclose(_lrs(sched, 8), want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(want[3], 0.868198052, rtol=1e-9)


def test_warmup_linear_sequence():
    sched = WarmupDecay(_opt(lr=2.0), warmup_steps=4, total_steps=8, decay="linear")
    want = [0.0, 0.5, 1.0, 1.5, 2.0, 1.5, 1.0, 0.5, 0.0, 0.0]
    np.testing.assert_allclose(_lrs(sched, 10), want, rtol=1e-12, atol=1e-15)


def test_warmup_decay_rejects_bad_arguments():
    with pytest.raises(ValueError, match="total_steps"):
        WarmupDecay(_opt(), warmup_steps=5, total_steps=5)
    with pytest.raises(ValueError, match="decay"):
        WarmupDecay(_opt(), warmup_steps=1, total_steps=5, decay="step")
    with pytest.raises(ValueError, match="min_lr"):
        WarmupDecay(_opt(lr=0.1), warmup_steps=1, total_steps=5, min_lr=0.5)


def test_lambda_lr_per_group():
    opt = _opt(lr=1.0, n_groups=2)
    sched = LambdaLR(opt, [lambda e: 0.5**e, lambda e: 1.0 / (e + 1)])
    for _ in range(3):
        opt.step()
        sched.step()
    assert sched.get_last_lr() == [0.125, 0.25]
    assert "lr_lambdas" not in sched.state_dict()


def test_reduce_lr_on_plateau_sequence():
    opt = _opt(lr=1.0)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    lrs = []
    for metric in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]:
        sched.step(metric)
        lrs.append(opt.param_groups[0]["lr"])
    # bad epochs 1, 2 (> patience 1) -> halve; one cooldown epoch; bad 1, 2 -> halve; ...; floor at min_lr
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]
    assert sched.get_last_lr() == [0.2]


def test_reduce_lr_on_plateau_max_mode_and_threshold():
    opt = _opt(lr=1.0)
    sched = ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=0, threshold=0.1)
    sched.step(1.0)  # better than -inf
    sched.step(1.05)  # not 10% better: bad epoch 1 > patience 0 -> reduce
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    sched.step(1.2)  # 1.2 > 1.1: better
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    "make_sched",
    [
        lambda opt: StepLR(opt, step_size=2, gamma=0.5),
        lambda opt: WarmupDecay(opt, warmup_steps=2, total_steps=10),
        lambda opt: LambdaLR(opt, lambda e: 0.9**e),
    ],
    ids=["StepLR", "WarmupDecay", "LambdaLR"],
)
def test_scheduler_state_round_trip_through_checkpoint(make_sched, tmp_path):
    rng = np.random.default_rng(3)
    params_a, groups_a = _model(rng)
    opt_a = Adam(groups_a, lr=0.1)
    sched_a = make_sched(opt_a)
    for _ in range(3):
        _step(opt_a, params_a, rng)
        sched_a.step()
    checkpoint.save({"optim": opt_a.state_dict(), "sched": sched_a.state_dict()}, tmp_path / "s.npz")
    state = checkpoint.load(tmp_path / "s.npz")

    params_b = [make_param(p.data.copy()) for p in params_a]
    opt_b = Adam([{"params": params_b[:2]}, {"params": params_b[2:], "lr": 0.02}], lr=0.1)
    sched_b = make_sched(opt_b)
    opt_b.load_state_dict(state["optim"])
    sched_b.load_state_dict(state["sched"])
    _assert_same_tree(sched_b.state_dict(), sched_a.state_dict())

    rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
    for _ in range(3):
        _step(opt_a, params_a, rng_a)
        sched_a.step()
        _step(opt_b, params_b, rng_b)
        sched_b.step()
        assert sched_a.get_last_lr() == sched_b.get_last_lr()
        assert [g["lr"] for g in opt_a.param_groups] == [g["lr"] for g in opt_b.param_groups]
    for pa, pb in zip(params_a, params_b):
        assert np.array_equal(pa.data, pb.data)


def test_reduce_lr_on_plateau_state_round_trip(tmp_path):
    opt_a = _opt()
    sched_a = ReduceLROnPlateau(opt_a, factor=0.5, patience=2)
    for m in [1.0, 0.8, 0.9]:  # best 0.8, one bad epoch so far
        sched_a.step(m)
    checkpoint.save({"optim": opt_a.state_dict(), "sched": sched_a.state_dict()}, tmp_path / "p.npz")
    state = checkpoint.load(tmp_path / "p.npz")
    opt_b = _opt()
    sched_b = ReduceLROnPlateau(opt_b, factor=0.5, patience=2)
    opt_b.load_state_dict(state["optim"])
    sched_b.load_state_dict(state["sched"])
    assert sched_b.best == 0.8 and sched_b.num_bad_epochs == 1
    for m in [0.9, 0.9, 0.7, 0.9]:
        sched_a.step(m)
        sched_b.step(m)
        assert sched_a.get_last_lr() == sched_b.get_last_lr()
    assert sched_b.get_last_lr() == [0.5]  # the reduction needed the loaded bad-epoch count


def test_scheduler_load_rejects_another_scheduler_state():
    step = StepLR(_opt(), step_size=2)
    warm = WarmupDecay(_opt(), warmup_steps=1, total_steps=3)
    with pytest.raises(ValueError, match="not a StepLR state dict"):
        step.load_state_dict(warm.state_dict())
    two_groups = StepLR(_opt(n_groups=2), step_size=2)
    with pytest.raises(ValueError, match="param groups"):
        step.load_state_dict(two_groups.state_dict())


def test_lr_scheduler_module_is_exported():
    assert lr_scheduler.StepLR is StepLR
    assert issubclass(ReduceLROnPlateau, lr_scheduler.LRScheduler)


# ---- with real modules -------------------------------------------------------------------------------
def test_training_a_linear_layer_and_resuming_from_a_checkpoint(tmp_path):
    """zero_grad -> backward -> clip -> step -> scheduler: the loss falls; a resumed run continues exactly."""
    rng = np.random.default_rng(5)
    x = minigrad.tensor(rng.standard_normal((16, 3)))
    y = minigrad.tensor(rng.standard_normal((16, 2)))

    def build():
        minigrad.manual_seed(0)
        model = nn.Linear(3, 2)
        opt = Adam(model.parameters(), lr=0.05)
        return model, opt, WarmupDecay(opt, warmup_steps=2, total_steps=40)

    def train(model, opt, sched, steps):
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
        return losses

    model, opt, sched = build()
    losses = train(model, opt, sched, 10)
    assert losses[-1] < 0.8 * losses[0]
    checkpoint.save({"model": model.state_dict(), "optim": opt.state_dict(), "sched": sched.state_dict()},
                    tmp_path / "run.npz")
    state = checkpoint.load(tmp_path / "run.npz")
    model_b, opt_b, sched_b = build()
    model_b.load_state_dict(state["model"])
    opt_b.load_state_dict(state["optim"])
    sched_b.load_state_dict(state["sched"])
    assert train(model, opt, sched, 5) == train(model_b, opt_b, sched_b, 5)
    for (name, p), (_, q) in zip(model.named_parameters(), model_b.named_parameters()):
        assert np.array_equal(p.data, q.data), name


# ---- helpers -----------------------------------------------------------------------------------------
def _assert_same_tree(a, b, where="root"):
    """Equal values AND equal types (int vs float, tuple vs list, array dtypes)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            _assert_same_tree(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_tree(x, y, f"{where}/{i}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
