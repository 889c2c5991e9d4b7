"""nn.Module and the basic layers: registration and names, state_dict, train/eval, summary counts, init,
Embedding padding, shape errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F
from minigrad import nn, optim


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4, padding_idx=0)
        self.proj = nn.Linear(4, 6)

    def forward(self, idx: np.ndarray) -> mg.Tensor:
        return self.proj(self.embed(idx)).tanh()


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.encoder = Encoder()
        self.blocks = nn.ModuleList([nn.Linear(6, 6), nn.Linear(6, 5, bias=False)])
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.5), nn.Linear(5, 3))

    def forward(self, idx: np.ndarray) -> mg.Tensor:
        h = self.encoder(idx) * self.scale
        for block in self.blocks:
            h = block(h)
        return self.head(h)


NET_NAMES = [
    "scale", "encoder.embed.weight", "encoder.proj.weight", "encoder.proj.bias", "blocks.0.weight",
    "blocks.0.bias", "blocks.1.weight", "head.2.weight", "head.2.bias",
]


# ---- registration -----------------------------------------------------------------------------------------


def test_registration_order_and_dotted_names() -> None:
    net = Net()
    assert [n for n, _ in net.named_parameters()] == NET_NAMES
    assert [n for n, _ in net.named_modules()][:4] == ["", "encoder", "encoder.embed", "encoder.proj"]
    assert net.num_parameters() == 1 + 40 + 24 + 6 + 36 + 6 + 30 + 15 + 3
    assert isinstance(net.head[2], nn.Linear) and len(net.head) == 3 and len(net.blocks) == 2
    out = net(np.array([[1, 2, 0]]))
    assert out.shape == (1, 3, 3)


def test_reassigning_an_attribute_unregisters_it() -> None:
    lin = nn.Linear(3, 2)
    lin.bias = None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
    del lin.weight
    assert list(lin.parameters()) == []


def test_assigning_before_super_init_is_a_clear_error() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(RuntimeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_containers_reject_non_modules() -> None:
    with pytest.raises(TypeError, match="argument 1"):
        nn.Sequential(nn.ReLU(), lambda x: x)
    with pytest.raises(TypeError, match="ModuleList takes modules"):
        nn.ModuleList([nn.ReLU()]).append(3)


def test_shared_parameter_and_module_listed_once() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(7, 4)
            self.out = nn.Linear(7, 4, bias=False)  # weight (7, 4), the embedding's shape
            self.out.weight = self.embed.weight  # one Parameter under two names
            self.again = self.embed  # the same module under a second name

    m = Tied()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["embed.weight"]
    assert m.num_parameters() == 28
    assert len(m.state_dict()) == 1


def test_zero_grad_clears_every_parameter() -> None:
    net = Net()
    net(np.array([[1, 2]])).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


# ---- state_dict -------------------------------------------------------------------------------------------


def test_state_dict_round_trip() -> None:
    mg.manual_seed(0)
    a = Net().eval()
    mg.manual_seed(1)
    b = Net().eval()
    idx = np.array([[3, 4, 0], [1, 9, 9]])
    assert not np.allclose(a(idx).data, b(idx).data)
    state = {k: v.copy() for k, v in a.state_dict().items()}
    assert list(state) == NET_NAMES
    b_arrays = [p.data for p in b.parameters()]
    b.load_state_dict(state)
    np.testing.assert_array_equal(a(idx).data, b(idx).data)
    assert all(p.data is arr for p, arr in zip(b.parameters(), b_arrays))  # loaded in place
    state["scale"][0] = 42.0
    assert b.scale.data[0] != 42.0  # load copies; it does not keep the caller's arrays


def test_load_state_dict_lists_every_problem_in_one_message() -> None:
    lin = nn.Linear(3, 4)
    before = lin.weight.data.copy()
    bad = {"weight": np.ones((4, 3)), "extra": np.ones(2), "other": np.ones(1)}
    with pytest.raises(KeyError) as info:
        lin.load_state_dict(bad)
    msg = str(info.value)
    assert "missing keys: bias" in msg
    assert "unexpected keys: extra, other" in msg
    assert "weight: given (4, 3), model has (3, 4)" in msg
    assert "\n" not in msg
    np.testing.assert_array_equal(lin.weight.data, before)  # nothing was half-loaded


def test_load_state_dict_non_strict() -> None:
    lin = nn.Linear(3, 4)
    lin.load_state_dict({"weight": np.full((3, 4), 2.0), "unused": np.ones(3)}, strict=False)
    np.testing.assert_array_equal(lin.weight.data, 2.0)
    np.testing.assert_array_equal(lin.bias.data, 0.0)
    with pytest.raises(KeyError, match="wrong shapes"):
        lin.load_state_dict({"bias": np.ones(5)}, strict=False)


# ---- train / eval -----------------------------------------------------------------------------------------


def test_train_eval_propagate_and_dropout_is_identity_in_eval() -> None:
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    x = mg.tensor(np.ones((20, 30)))
    drop = nn.Dropout(0.5)
    drop.eval()
    assert drop(x) is x
    drop.train()
    y = drop(x).data
    assert set(np.unique(y)) == {0.0, 2.0}
    net.train()
    assert all(m.training for m in net.modules())


# ---- summary ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer, example, count, out_shape", [
    (lambda: nn.Linear(100, 8), np.zeros((2, 100)), "808", "(None, 8)"),
    (lambda: nn.Embedding(1000, 64), np.zeros((2, 5), dtype=np.int64), "64,000", "(None, 5, 64)"),
    (lambda: nn.Conv2d(3, 16, 3), np.zeros((2, 3, 8, 8)), "448", "(None, 16, 6, 6)"),
])
def test_summary_counts_equal_keras(layer: object, example: np.ndarray, count: str, out_shape: str) -> None:
    text = layer().summary(example, print_fn=None)
    assert f"Total params: {count}\n" in text
    row = text.splitlines()[4]  # title, rule, header, rule, then the rows
    assert row.rstrip().endswith(count) and out_shape in row


def test_summary_of_a_sequential_model() -> None:
    model = nn.Sequential(nn.Linear(100, 8), nn.ReLU(), nn.Linear(8, 3))
    printed: list[str] = []
    model.summary(np.zeros((4, 100)), print_fn=printed.append)
    text = printed[0]
    rows = text.splitlines()[4:7]
    assert "(None, 8)" in rows[0] and rows[0].endswith("808")
    assert rows[1].endswith(" 0") and "(None, 3)" in rows[2] and rows[2].endswith("27")
    assert "Total params: 835" in text and "Trainable params: 835" in text
    assert model.training  # summary's eval() pass restores the mode


# ---- init -------------------------------------------------------------------------------------------------


def test_glorot_uniform_bounds() -> None:
    mg.manual_seed(3)
    w = nn.Linear(300, 200).weight.data  # (in, out)
    bound = math.sqrt(6 / (300 + 200))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    conv = nn.Conv2d(3, 16, 3).weight.data  # fan_in 3*9, fan_out 16*9
    cbound = math.sqrt(6 / (27 + 144))
    assert np.abs(conv).max() <= cbound and np.abs(conv).max() > 0.95 * cbound


def test_glorot_normal_std_and_simple_initialisers() -> None:
    mg.manual_seed(4)
    p = nn.Parameter(np.empty((400, 600), dtype=np.float32))
    nn.init.glorot_normal_(p)
    assert abs(p.data.std() - math.sqrt(2 / 1000)) < 0.02 * math.sqrt(2 / 1000)
    nn.init.uniform_(p, -0.1, 0.3)
    assert p.data.min() >= -0.1 and p.data.max() < 0.3
    nn.init.zeros_(p)
    assert not p.data.any()
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(3, dtype=np.float32)))


@pytest.mark.parametrize("shape", [(4, 7), (7, 4), (5, 5)])
def test_orthogonal(shape: tuple[int, int]) -> None:
    mg.manual_seed(5)
    p = nn.Parameter(np.empty(shape, dtype=np.float64), dtype=np.float64)
    nn.init.orthogonal_(p)
    W = p.data
    if shape[0] <= shape[1]:
        np.testing.assert_allclose(W @ W.T, np.eye(shape[0]), atol=1e-12)
    if shape[0] >= shape[1]:
        np.testing.assert_allclose(W.T @ W, np.eye(shape[1]), atol=1e-12)
    nn.init.orthogonal_(p, gain=2.0)
    np.testing.assert_allclose(np.linalg.svd(p.data, compute_uv=False), 2.0, rtol=1e-12)


# ---- Embedding padding ------------------------------------------------------------------------------------


@pytest.mark.parametrize("make_opt", [lambda ps: optim.SGD(ps, lr=0.5, momentum=0.9),
                                      lambda ps: optim.Adam(ps, lr=0.1)])
def test_embedding_padding_row_is_zero_and_stays_zero(make_opt: object) -> None:
    emb = nn.Embedding(6, 3, padding_idx=-1)  # negative index counts from the end, as torch
    assert emb.padding_idx == 5
    np.testing.assert_array_equal(emb.weight.data[5], 0)
    opt = make_opt(emb.parameters())
    idx = np.array([[1, 5, 5], [2, 1, 5]])
    target = np.ones((2, 3, 3))
    for _ in range(3):
        opt.zero_grad()
        F.mse_loss(emb(idx), target).backward()
        np.testing.assert_array_equal(emb.weight.grad[5], 0)
        assert np.all(emb.weight.grad[[1, 2]] != 0)
        opt.step()
    np.testing.assert_array_equal(emb.weight.data[5], 0)
    np.testing.assert_array_equal(emb(np.array([5])).data, 0)


def test_embedding_errors() -> None:
    with pytest.raises(ValueError, match="padding_idx 6 is outside"):
        nn.Embedding(6, 3, padding_idx=6)
    with pytest.raises(IndexError, match="index 6 is out of range for a table of 6 rows"):
        nn.Embedding(6, 3)(np.array([1, 6]))
    with pytest.raises(TypeError, match="must be integers"):
        nn.Embedding(6, 3)(np.array([1.0]))


# ---- shape errors -----------------------------------------------------------------------------------------


def _one_line_value_error(fn: object) -> str:
    with pytest.raises(ValueError) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_linear_shape_mismatch_names_both_shapes() -> None:
    msg = _one_line_value_error(lambda: nn.Linear(3, 4)(mg.tensor(np.ones((2, 5)))))
    assert "(2, 5)" in msg and "(3, 4)" in msg


def test_conv2d_shape_mismatch_names_both_shapes() -> None:
    msg = _one_line_value_error(lambda: nn.Conv2d(3, 4, 3)(mg.tensor(np.ones((2, 5, 8, 8)))))
    assert "(2, 5, 8, 8)" in msg and "(4, 3, 3, 3)" in msg
    msg = _one_line_value_error(lambda: nn.Conv2d(3, 4, 3)(mg.tensor(np.ones((3, 8, 8)))))
    assert "(N, C, H, W)" in msg and "(3, 8, 8)" in msg
    msg = _one_line_value_error(lambda: nn.Conv2d(3, 4, 5)(mg.tensor(np.ones((1, 3, 3, 3)))))
    assert "larger" in msg


def test_layers_forward_shapes() -> None:
    x = mg.tensor(np.ones((2, 3, 9, 8)))
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    net = nn.Sequential(conv, nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 5))
    y = net(x)  # (9, 8) -> conv stride 2 pad 1 -> (5, 4) -> pool 2 -> (2, 2): 4 * 2 * 2 = 16 features
    assert y.shape == (2, 5)
    assert nn.Linear(4, 2)(mg.tensor(np.ones((3, 7, 4)))).shape == (3, 7, 2)  # any leading axes
