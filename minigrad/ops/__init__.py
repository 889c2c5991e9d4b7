"""Every differentiable op, grouped by kind; each file keeps an op's forward and backward together."""

from minigrad.ops.elementwise import (
    abs,
    add,
    clip,
    div,
    exp,
    log,
    masked_fill,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    sqrt,
    sub,
    tanh,
    where,
)
from minigrad.ops.linalg import matmul
from minigrad.ops.reduce import max, mean, min, sum
from minigrad.ops.shape import (
    broadcast_to,
    cat,
    concatenate,
    getitem,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)

__all__ = [
    "abs", "add", "clip", "div", "exp", "log", "masked_fill", "maximum", "minimum", "mul", "neg", "pow",
    "relu", "sigmoid", "sqrt", "sub", "tanh", "where", "matmul", "max", "mean", "min", "sum",
    "broadcast_to", "cat", "concatenate", "getitem", "permute", "reshape", "split", "squeeze", "stack",
    "transpose", "unsqueeze",
]
