"""minigrad: a small reverse-mode autograd engine on NumPy, with RNN, LSTM and GRU cells.

    import minigrad
    from minigrad import nn, optim
    x = minigrad.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == [[2, 4]]
"""

# The order matters: tensor first (the ops import Tensor), then everything built on it.
from minigrad.tensor import Tensor, tensor  # isort: skip
from minigrad import autograd_mode  # isort: skip
from minigrad import functional  # noqa: E402,I001
from minigrad.autograd_mode import enable_grad, is_grad_enabled, no_grad
from minigrad.function import Function
from minigrad.gradcheck import GradcheckError, gradcheck  # noqa: E402
from minigrad.checkpoint import CheckpointError, load, save  # noqa: E402
from minigrad.ops import (
    broadcast_to,
    cat,
    clip,
    concatenate,
    exp,
    log,
    masked_fill,
    matmul,
    maximum,
    minimum,
    permute,
    relu,
    reshape,
    sigmoid,
    split,
    sqrt,
    squeeze,
    stack,
    tanh,
    transpose,
    unsqueeze,
    where,
)
from minigrad.random import get_rng_state, manual_seed, set_rng_state
from minigrad.threads import get_num_threads, set_num_threads
from minigrad.viz import draw_graph, to_dot

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "autograd_mode", "no_grad", "enable_grad", "is_grad_enabled", "Function", "functional",
    "broadcast_to", "cat", "clip", "concatenate", "exp", "log", "masked_fill", "matmul", "maximum",
    "minimum", "permute", "relu", "reshape", "sigmoid", "split", "sqrt", "squeeze", "stack", "tanh",
    "transpose", "unsqueeze", "where", "manual_seed", "get_rng_state", "set_rng_state",
    "set_num_threads", "get_num_threads",
    "gradcheck", "GradcheckError", "zeros", "ones", "randn", "save", "load", "CheckpointError",
    "to_dot", "draw_graph",
]


def zeros(*shape: int, requires_grad: bool = False, dtype=None) -> Tensor:  # noqa: ANN001
    """A tensor of zeros (float32 unless dtype says otherwise)."""
    import numpy as np

    return Tensor(np.zeros(shape, dtype=dtype or np.float32), requires_grad=requires_grad)


def ones(*shape: int, requires_grad: bool = False, dtype=None) -> Tensor:  # noqa: ANN001
    """A tensor of ones."""
    import numpy as np

    return Tensor(np.ones(shape, dtype=dtype or np.float32), requires_grad=requires_grad)


def randn(*shape: int, requires_grad: bool = False, dtype=None) -> Tensor:  # noqa: ANN001
    """Standard normal samples from minigrad's seeded generator."""
    import numpy as np

    from minigrad.random import default_generator

    data = default_generator().standard_normal(shape).astype(dtype or np.float32)
    return Tensor(data, requires_grad=requires_grad)

from minigrad import nn, optim  # noqa: E402,F401  (so `minigrad.nn.LSTM` works after `import minigrad`)
