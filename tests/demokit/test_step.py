"""demokit.step: clipping sits between backward and step, the pre-clip global norm, Diverged before any update,
eval_mode (dropout off, no graph, the previous mode restored), check_finite naming the parameter."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad
from demokit.errors import Diverged
from demokit.step import check_finite, eval_mode, train_step
from minigrad import nn, optim

N, I, O = 5, 3, 4  # batch, inputs, outputs: all different so a transposed weight would show


def _linear(seed: int = 0) -> nn.Linear:
    minigrad.manual_seed(seed)
    model = nn.Linear(I, O).double()
    model.bias.data[...] = np.random.default_rng(seed).normal(size=O)  # not zero: both parameters matter
    return model


def _x(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(N, I))


def _weights(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model.state_dict().items()}  # state_dict() hands out the arrays themselves


def _scaled_sum(model: nn.Linear, x: np.ndarray, c: float):
    """loss = c * sum(x W + b): dloss/dW[i, j] = c * sum_n x[n, i], dloss/db[j] = c * N."""
    return lambda: model(minigrad.tensor(x, dtype=np.float64)).sum() * c


def _hand_norm(x: np.ndarray, c: float) -> float:
    """The global norm of the gradients of _scaled_sum, computed by hand over BOTH parameters."""
    dW = np.repeat((c * x.sum(axis=0))[:, None], O, axis=1)  # (I, O)
    db = np.full(O, c * N)
    return math.sqrt(float((dW**2).sum() + (db**2).sum()))


# ---- clipping -------------------------------------------------------------------------------------------
def test_clipping_happens_before_the_update():
    """A huge gradient with clip=1 and SGD(lr): the whole update is at most lr * 1 long (clipping after step()
    would change nothing and the weights would jump by lr * 1e6)."""
    model, x, lr = _linear(), _x(), 0.1
    before = _weights(model)
    r = train_step(_scaled_sum(model, x, 1e6), optim.SGD(model.parameters(), lr=lr), clip=1.0)
    moved = math.sqrt(sum(float(((model.state_dict()[k] - before[k]) ** 2).sum()) for k in before))
    assert r.clipped and r.grad_norm > 1e6
    assert 0.99 * lr < moved <= lr * (1 + 1e-9)  # clipped to length 1, direction kept: it did move


def test_without_clipping_the_update_is_the_full_gradient():
    model, x, lr, c = _linear(), _x(), 0.1, 1e3
    before = _weights(model)
    r = train_step(_scaled_sum(model, x, c), optim.SGD(model.parameters(), lr=lr), clip=0.0)
    np.testing.assert_allclose(before["weight"] - model.weight.data, lr * c * x.sum(axis=0)[:, None] * np.ones(O))
    np.testing.assert_allclose(before["bias"] - model.bias.data, lr * c * N * np.ones(O))
    assert not r.clipped  # clip = 0 is off, however large the norm
    assert r.grad_norm == pytest.approx(_hand_norm(x, c), rel=1e-12)


@pytest.mark.parametrize("c", [1e-3, 1.0, 1e6])
def test_grad_norm_is_the_global_norm_before_clipping(c):
    model, x = _linear(), _x()
    loss_before = c * float((x @ model.weight.data + model.bias.data).sum())
    r = train_step(_scaled_sum(model, x, c), optim.SGD(model.parameters(), lr=0.1), clip=0.5)
    assert r.grad_norm == pytest.approx(_hand_norm(x, c), rel=1e-12)
    assert r.clipped == (_hand_norm(x, c) > 0.5)
    assert r.loss == pytest.approx(loss_before, rel=1e-12)  # the loss of the batch before the update


def test_the_gradients_left_after_the_step_are_the_clipped_ones():
    """The optimizer received the clipped gradients: their global norm is the threshold."""
    model, x = _linear(), _x()
    train_step(_scaled_sum(model, x, 1e4), optim.SGD(model.parameters(), lr=0.0), clip=2.0)
    norm = math.sqrt(sum(float((p.grad**2).sum()) for p in model.parameters()))
    assert norm == pytest.approx(2.0, rel=1e-5)


def test_clipped_flag():
    model, x = _linear(), _x()
    small = train_step(_scaled_sum(model, x, 1e-6), optim.SGD(model.parameters(), lr=0.1), clip=1.0)
    big = train_step(_scaled_sum(model, x, 1e6), optim.SGD(model.parameters(), lr=0.1), clip=1.0)
    assert (small.clipped, big.clipped) == (False, True)


def test_gradients_do_not_accumulate_between_steps():
    """zero_grad comes first: two identical steps with lr 0 report the same norm."""
    model, x = _linear(), _x()
    opt = optim.SGD(model.parameters(), lr=0.0)
    a = train_step(_scaled_sum(model, x, 3.0), opt)
    b = train_step(_scaled_sum(model, x, 3.0), opt)
    assert a.grad_norm == b.grad_norm == pytest.approx(_hand_norm(x, 3.0), rel=1e-12)


# ---- divergence -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nonfinite_loss_raises_diverged_naming_the_step_and_leaves_the_weights(bad):
    model, x = _linear(), _x()
    opt = optim.Adam(model.parameters(), lr=0.1)
    before = _weights(model)
    with pytest.raises(Diverged, match=r"epoch 3, step 17: the training loss is"):
        train_step(_scaled_sum(model, x, bad), opt, clip=1.0, where="epoch 3, step 17")
    for k, v in model.state_dict().items():
        assert v.tobytes() == before[k].tobytes()
    assert opt.state_dict()["state"] == {}  # Adam never stepped


@pytest.mark.parametrize("clip", [0.0, 1.0])
def test_infinite_gradient_norm_raises_diverged_and_leaves_the_weights(clip):
    """sqrt at 0: the loss is finite (0) but its gradient is infinite."""
    p = nn.Parameter(np.zeros(3))
    q = nn.Parameter(np.ones(2))
    opt = optim.SGD([p, q], lr=0.1)
    with np.errstate(divide="ignore"), pytest.raises(Diverged, match=r"epoch 1, step 2: the gradient norm is inf"):
        train_step(lambda: minigrad.sqrt(p).sum() + (q * q).sum(), opt, clip=clip, where="epoch 1, step 2")
    assert np.array_equal(p.data, np.zeros(3)) and np.array_equal(q.data, np.ones(2))


# ---- eval_mode ------------------------------------------------------------------------------------------
class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 6)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.lin(x))


def test_eval_mode_turns_dropout_off_and_records_no_graph():
    minigrad.manual_seed(0)
    net, x = _Net(), minigrad.tensor(np.ones((50, 6), dtype=np.float32))
    train_out = net(x)
    assert (train_out.data == 0).mean() > 0.2 and train_out.requires_grad  # dropout active while training
    with eval_mode(net) as m:
        assert m is net and not net.training and not net.drop.training
        assert not minigrad.is_grad_enabled()
        y = net(x)
        assert not y.requires_grad
        np.testing.assert_array_equal(y.data, net.lin(x).data)  # dropout is the identity
    assert net.training and net.drop.training and minigrad.is_grad_enabled()


def test_eval_mode_keeps_a_model_that_was_already_in_eval_mode_in_eval_mode():
    net = _Net().eval()
    with eval_mode(net):
        pass
    assert not net.training and not net.drop.training


def test_eval_mode_restores_the_mode_after_an_exception():
    net = _Net()
    with pytest.raises(RuntimeError, match="inside"), eval_mode(net):
        raise RuntimeError("inside the block")
    assert net.training and net.drop.training and minigrad.is_grad_enabled()


# ---- check_finite ---------------------------------------------------------------------------------------
def test_check_finite_names_the_parameter():
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 2))
    check_finite(net, "epoch 1")  # all finite: nothing happens
    names = [name for name, _ in net.named_parameters()]
    net.state_dict()[names[3]][1] = np.inf
    with pytest.raises(Diverged, match=rf"epoch 2: parameter {names[3]} is not finite") as e:
        check_finite(net, "epoch 2")
    assert "more" not in str(e.value)
    net.state_dict()[names[0]][0, 0] = np.nan
    with pytest.raises(Diverged, match=rf"parameter {names[0]} \(and 1 more\) is not finite"):
        check_finite(net, "epoch 2")
