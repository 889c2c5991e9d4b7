"""Gradient clipping: global norm (2, 1, inf), pre-clip norm, non-finite norms, value clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from minigrad.nn import Parameter
from minigrad.optim import clip_grad_norm_, clip_grad_value_


def with_grad(grad, dtype=np.float64) -> Parameter:
    g = np.array(grad, dtype=dtype)
    p = Parameter(np.zeros_like(g), dtype=dtype)
    p.grad = g
    return p


def global_norm(params, ord=2.0) -> float:
    flat = np.concatenate([p.grad.ravel() for p in params if p.grad is not None])
    return float(np.linalg.norm(flat, ord=ord))


def test_returns_pre_clip_norm_and_clips_to_max_norm():
    a, b = with_grad([3.0, 4.0]), with_grad([[12.0]])  # global 2-norm sqrt(9 + 16 + 144) = 13
    norm = clip_grad_norm_([a, b], max_norm=6.5)
    assert isinstance(norm, float)
    assert norm == pytest.approx(13.0, rel=1e-15)
    assert global_norm([a, b]) == pytest.approx(6.5, rel=1e-6)
    coef = 6.5 / (13.0 + 1e-6)  # torch's formula
    np.testing.assert_allclose(a.grad, [3.0 * coef, 4.0 * coef], rtol=1e-15)
    np.testing.assert_allclose(b.grad, [[12.0 * coef]], rtol=1e-15)


def test_small_norm_leaves_grads_untouched():
    a = with_grad([0.3, -0.4])
    buffer = a.grad
    norm = clip_grad_norm_([a], max_norm=1.0)
    assert norm == pytest.approx(0.5)
    assert a.grad is buffer
    assert a.grad.tolist() == [0.3, -0.4]


def test_norm_is_global_not_per_tensor():
    a, b = with_grad([3.0, 4.0]), with_grad([0.0, 0.1])  # norms 5 and 0.1
    clip_grad_norm_([a, b], max_norm=1.0)
    total = math.sqrt(25.0 + 0.01)
    # one shared factor: the small gradient shrinks too, and the direction is kept
    np.testing.assert_allclose(b.grad, [0.0, 0.1 / (total + 1e-6)], rtol=1e-12)
    np.testing.assert_allclose(a.grad, np.array([3.0, 4.0]) / (total + 1e-6), rtol=1e-12)
    # per-tensor clipping would leave b at 0.1 (its own norm is < 1) and set a's norm to 1
    assert not np.allclose(b.grad, [0.0, 0.1])


def test_inf_and_one_norms():
    a, b = with_grad([1.0, -7.0]), with_grad([2.0, 3.0])
    assert clip_grad_norm_([a, b], max_norm=3.5, norm_type=math.inf) == 7.0
    np.testing.assert_allclose(np.abs(np.concatenate([a.grad, b.grad])).max(), 3.5 * 7.0 / (7.0 + 1e-6))
    a, b = with_grad([1.0, -7.0]), with_grad([2.0, 3.0])
    assert clip_grad_norm_([a, b], max_norm=6.5, norm_type=1) == pytest.approx(13.0)
    assert global_norm([a, b], ord=1) == pytest.approx(6.5, rel=1e-6)


def test_nonfinite_norm():
    a, b = with_grad([1.0, np.nan]), with_grad([2.0])
    with pytest.raises(RuntimeError, match="non-finite|nan"):
        clip_grad_norm_([a, b], max_norm=1.0, error_if_nonfinite=True)
    assert b.grad.tolist() == [2.0]  # the error comes before any scaling
    norm = clip_grad_norm_([a, b], max_norm=1.0)
    assert math.isnan(norm)
    assert np.isnan(b.grad).all()  # as torch: the NaN coefficient spreads to every gradient

    a, b = with_grad([1.0, np.inf]), with_grad([2.0])
    assert clip_grad_norm_([a, b], max_norm=1.0) == math.inf
    assert b.grad.tolist() == [0.0]  # coefficient 1/inf = 0, as torch
    assert math.isinf(clip_grad_norm_([with_grad([np.inf])], max_norm=1.0, norm_type=math.inf))
    with pytest.raises(RuntimeError):
        clip_grad_norm_([with_grad([-np.inf])], max_norm=1.0, norm_type=math.inf, error_if_nonfinite=True)


def test_nan_in_a_later_tensor_is_seen_by_the_inf_norm():
    norm = clip_grad_norm_([with_grad([5.0]), with_grad([np.nan])], max_norm=1.0, norm_type=math.inf)
    assert math.isnan(norm)


def test_single_parameter_none_grads_and_float32():
    p = with_grad([6.0, 8.0], dtype=np.float32)
    none = Parameter(np.zeros(2))
    assert none.grad is None
    buffer = p.grad
    assert clip_grad_norm_([p, none], max_norm=5.0) == pytest.approx(10.0)
    assert clip_grad_norm_(p, max_norm=5.0) == pytest.approx(5.0, rel=1e-6)  # one parameter, not a list
    assert p.grad is buffer and p.grad.dtype == np.float32
    assert none.grad is None
    assert clip_grad_norm_([none], max_norm=1.0) == 0.0
    assert clip_grad_norm_((q for q in [p]), max_norm=5.0) > 0  # any iterable, e.g. model.parameters()


def test_float32_norm_does_not_overflow():
    p = with_grad([3e30, 4e30], dtype=np.float32)  # squares overflow float32
    assert clip_grad_norm_([p], max_norm=1.0) == pytest.approx(5e30, rel=1e-6)
    assert np.isfinite(p.grad).all()


def test_bad_arguments():
    p = with_grad([1.0])
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_([p], max_norm=0.0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_([p], max_norm=1.0, norm_type=0)
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_([p], clip_value=-1.0)


def test_clip_grad_value_clamps_each_element():
    a, b, none = with_grad([-3.0, 0.5, 2.0]), with_grad([[0.1, -0.2]]), Parameter(np.zeros(1))
    buffer = a.grad
    assert clip_grad_value_([a, b, none], clip_value=1.0) is None
    assert a.grad is buffer
    assert a.grad.tolist() == [-1.0, 0.5, 1.0]
    assert b.grad.tolist() == [[0.1, -0.2]]
    assert none.grad is None
    c = with_grad([5.0])
    clip_grad_value_(c, 0.25)
    assert c.grad.tolist() == [0.25]
