"""Shape ops: reshape, permute, squeeze/unsqueeze, broadcast_to, concatenate, stack, split, indexing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.function import Function, unbroadcast
from minigrad.tensor import Tensor


class Reshape(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"cannot reshape a tensor of shape {x.shape} ({x.size} elements) to {self.shape}"
            ) from None

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy.reshape(self.in_shape)  # reshape back


class Permute(Function):
    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, x: np.ndarray) -> np.ndarray:
        if sorted(a % max(x.ndim, 1) for a in self.axes) != list(range(x.ndim)):
            raise ValueError(f"permute: {self.axes} is not a permutation of the {x.ndim} axes of shape {x.shape}")
        return x.transpose(self.axes)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy.transpose(np.argsort([a % dy.ndim for a in self.axes]))  # the inverse permutation


class BroadcastTo(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.in_shape = x.shape
        try:
            return np.broadcast_to(x, self.shape)
        except ValueError:
            raise ValueError(f"cannot broadcast shape {x.shape} to {self.shape}") from None

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return unbroadcast(dy, self.in_shape)  # sum over the copies


class Concatenate(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self.sizes = [x.shape[self.axis] for x in xs]
        try:
            return np.concatenate(xs, axis=self.axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(f"concatenate along axis {self.axis}: shapes do not fit: {shapes}") from None

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(np.split(dy, np.cumsum(self.sizes)[:-1], axis=self.axis))  # cut dy where the inputs met


class Stack(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        try:
            return np.stack(xs, axis=self.axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(f"stack needs equal shapes, got {shapes}") from None

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(np.moveaxis(dy, self.axis, 0))  # one slice back to each input


class Split(Function):
    def __init__(self, sections: int | Sequence[int], axis: int) -> None:
        self.sections, self.axis = sections, axis

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        n = x.shape[self.axis]
        if isinstance(self.sections, (int, np.integer)):
            # torch-style: pieces of `sections` elements each (the last may be shorter)
            bounds = list(range(int(self.sections), n, int(self.sections)))
        else:
            if sum(self.sections) != n:
                raise ValueError(f"split sizes {list(self.sections)} do not add up to {n} (axis {self.axis})")
            bounds = list(np.cumsum(self.sections)[:-1])
        self.in_shape = x.shape
        return tuple(np.split(x, bounds, axis=self.axis))

    def backward(self, *dys: np.ndarray) -> np.ndarray:
        return np.concatenate(dys, axis=self.axis)  # glue the pieces' gradients back


def _has_array(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (np.ndarray, list, Tensor)) for i in items)


class GetItem(Function):
    """x[index] for ints, slices, None, Ellipsis and integer/boolean arrays.

    With integer arrays an element can be picked twice (an embedding lookup with a repeated word), so
    backward scatter-adds with np.add.at; plain slices cannot repeat and assign directly.
    """

    def __init__(self, index: Any) -> None:
        self.index = index

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape, self.dtype = x.shape, x.dtype
        try:
            return x[self.index]
        except IndexError as e:
            raise IndexError(f"index out of range for a tensor of shape {x.shape}: {e}") from None

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = np.zeros(self.shape, dtype=dy.dtype)
        if _has_array(self.index):
            np.add.at(dx, self.index, dy)  # repeated indices add up
        else:
            dx[self.index] = dy
        return dx


# ---- the functions users call -------------------------------------------------------------------------


def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    return Reshape(tuple(int(s) for s in shape))(x)


def permute(x: Tensor, axes: Sequence[int]) -> Tensor:
    return Permute(tuple(axes))(x)


def transpose(x: Tensor, axis0: int = -2, axis1: int = -1) -> Tensor:
    """Swap two axes (the last two by default)."""
    return x.transpose(axis0, axis1)


def squeeze(x: Tensor, axis: int | None = None) -> Tensor:
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    ax = axis % x.ndim
    if x.shape[ax] != 1:
        raise ValueError(f"cannot squeeze axis {axis} of shape {x.shape}: its size is {x.shape[ax]}, not 1")
    return reshape(x, x.shape[:ax] + x.shape[ax + 1 :])


def unsqueeze(x: Tensor, axis: int) -> Tensor:
    ax = axis % (x.ndim + 1)
    return reshape(x, x.shape[:ax] + (1,) + x.shape[ax:])


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    return BroadcastTo(tuple(shape))(x)


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("concatenate needs at least one tensor")
    return Concatenate(axis)(*tensors)


cat = concatenate


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("stack needs at least one tensor")
    return Stack(axis)(*tensors)


def split(x: Tensor, sections: int | Sequence[int], axis: int = 0) -> tuple[Tensor, ...]:
    """Split into pieces of `sections` elements (an int), or of the listed sizes (a list), as torch.split."""
    if isinstance(sections, (int, np.integer)) and sections < 1:
        raise ValueError(f"split: the piece size must be a positive integer, got {sections}")
    out = Split(sections, axis)(x)
    return out if isinstance(out, tuple) else (out,)


def getitem(x: Tensor, index: Any) -> Tensor:
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        index = np.asarray(index)
    return GetItem(index)(x)
