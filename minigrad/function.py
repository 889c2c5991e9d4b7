"""The base class of every differentiable op.

An op is a subclass of `Function` with two methods that sit next to each other:

    forward(*arrays)  -> array or tuple of arrays      (NumPy in, NumPy out)
    backward(*grads)  -> grad or tuple of grads         (one grad per input, None = no gradient)

`backward` receives one upstream gradient per output (zeros for an output no gradient reached) and
returns the gradient with respect to each input, already summed back to that input's shape.
Calling the op on tensors runs `forward` and, unless grad mode is off or no input needs a gradient,
links the outputs to the op so that `Tensor.backward` can find it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import autograd_mode
from minigrad.tensor import Tensor


class Function:
    """One node of the graph: the op, the tensors it read, what it saved for backward."""

    # Set by __call__ when a graph is recorded.
    inputs: tuple[Tensor, ...]
    _out_meta: list[tuple[tuple[int, ...], Any]]
    _grads: list[np.ndarray | None] | None
    _released: bool = False

    def forward(self, *xs: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        raise NotImplementedError

    def backward(self, *dys: np.ndarray) -> np.ndarray | tuple[np.ndarray | None, ...] | None:
        raise NotImplementedError

    def __call__(self, *inputs: Any) -> Any:
        # This runs for every op of every time step, so it is kept lean: list comprehensions rather than
        # generators, and a direct path for the usual single output.
        ts = [x if isinstance(x, Tensor) else Tensor._wrap(_constant(x, inputs), False) for x in inputs]
        ys = self.forward(*[t.data for t in ts])
        needs_grad = autograd_mode.enabled and any([t.requires_grad for t in ts])
        if not isinstance(ys, tuple):
            out = Tensor._wrap(ys, needs_grad)
            if needs_grad:
                self.inputs = tuple(ts)
                self._out_meta = [(ys.shape, ys.dtype)]
                self._grads = None
                out._ctx = self  # out._idx stays 0
            return out
        outs = tuple([Tensor._wrap(y, needs_grad) for y in ys])
        if needs_grad:
            self.inputs = tuple(ts)
            self._out_meta = [(y.shape, y.dtype) for y in ys]
            self._grads = None
            for i, o in enumerate(outs):
                o._ctx = self
                o._idx = i
        return outs

    def release(self) -> None:
        """Drop what forward saved, so memory is freed after backward (unless retain_graph)."""
        self.__dict__.clear()
        self._released = True


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `grad` back to `shape`: the backward of NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _constant(x: Any, inputs: tuple[Any, ...]) -> np.ndarray:
    """A non-tensor operand (2 in `2 * x`) as an array of the tensors' float dtype.

    Without the cast a Python float (or an int64 array: int64 * float32 -> float64 in NumPy) would
    silently promote float32 results to float64.
    """
    arr = np.asarray(x)
    if arr.dtype.kind in "fiu":
        for t in inputs:
            if isinstance(t, Tensor) and t.data.dtype.kind == "f":
                return arr.astype(t.data.dtype, copy=False)
    return arr
