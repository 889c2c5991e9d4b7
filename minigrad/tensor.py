"""`Tensor`: a NumPy array that remembers the op that made it, and reverse-mode `backward()`.

Each tensor holds `data` (an np.ndarray, float32 by default) and, after `backward()`, `grad` (an array
of the same shape) if it is a leaf that requires a gradient. Ops build a graph of `Function` nodes;
`backward` sorts that graph with an explicit stack (no recursion: an unrolled RNN of 2,000 steps has
tens of thousands of nodes), walks it from the output back to the leaves, and adds each gradient into
the leaves' `.grad`. Intermediate gradients are never stored (unless `retain_grad()`), and the graph is
freed after backward unless `retain_graph=True`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from minigrad.function import Function

DEFAULT_DTYPE = np.float32


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert to an ndarray: floats become float32 unless a dtype is asked for; ints and bools stay."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    arr = np.asarray(data)
    if arr.dtype.kind == "f":
        if arr.dtype != np.float64 or not isinstance(data, np.ndarray):
            return arr.astype(DEFAULT_DTYPE, copy=False)
        # A float64 NumPy array is converted too: a float64 model by accident is 2x slower.
        return arr.astype(DEFAULT_DTYPE)
    if arr.dtype.kind in "iub":
        return arr
    if arr.dtype.kind == "O":
        raise TypeError("cannot make a tensor from an object array (ragged nested lists?)")
    raise TypeError(f"unsupported dtype for a tensor: {arr.dtype}")


class Tensor:
    """A NumPy array with an optional gradient and a link to the op that produced it.

    Attributes:
        data: the values (np.ndarray).
        grad: the accumulated gradient (np.ndarray, same shape) or None.
        requires_grad: whether ops on this tensor are recorded for backward.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_idx", "_retain", "__weakref__")
    __array_priority__ = 1000  # so ndarray OP Tensor calls Tensor's reflected method

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data: np.ndarray = _as_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got {self.data.dtype}")
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._ctx: Function | None = None
        self._idx = 0
        self._retain = False

    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: bool) -> Tensor:
        """Fast constructor for op outputs: no conversion, no checks."""
        t = object.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = None
        t._idx = 0
        t._retain = False
        return t

    # ---- properties -------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.data.dtype != DEFAULT_DTYPE:
            extra += f", dtype={self.data.dtype}"
        return f"tensor({body}{extra})"

    # ---- conversion -------------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied)."""
        return self.data

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A new leaf sharing the data, cut from the graph (truncated BPTT: `h = h.detach()`)."""
        return Tensor._wrap(self.data, False)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got {self.data.dtype}")
        self.requires_grad = flag
        return self

    def astype(self, dtype: Any) -> Tensor:
        """A differentiable cast (float32 <-> float64)."""
        from minigrad.ops.elementwise import Cast

        return Cast(np.dtype(dtype))(self)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def retain_grad(self) -> None:
        """Keep `.grad` on this intermediate tensor after backward (for inspecting gradients).

        A no-op on a leaf, which keeps its gradient anyway (marking it would count it twice).
        """
        if self._ctx is not None:
            self._retain = True

    def zero_grad(self) -> None:
        self.grad = None

    # ---- backward ---------------------------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Backpropagate from this tensor: add d(self)/d(leaf) * grad into every leaf's `.grad`.

        grad: the upstream gradient, same shape as self; may be omitted only for a scalar (then 1).
        retain_graph: keep the graph so backward can run through it again (otherwise it is freed).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the computation had "
                "requires_grad=True (or it ran under no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient works only for a scalar; this tensor has shape "
                    f"{self.shape}: pass grad= of that shape or reduce it first (e.g. loss.sum())"
                )
            g = np.ones_like(self.data)
        else:
            g = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.data.dtype)
            if g.shape != self.shape:
                raise ValueError(f"backward(): grad has shape {g.shape}, but the tensor has shape {self.shape}")
        if self._ctx is None:
            self._accumulate(g)
            return
        root = self._ctx
        if root._released:
            raise _second_backward_error()
        if self._retain:
            self.grad = g.copy() if self.grad is None else self.grad + g
        root._grads = [None] * len(root._out_meta)
        root._grads[self._idx] = g
        for fn in _topological_order(root):
            dys = fn._grads  # a list is made only when a gradient arrives, so it holds at least one
            fn._grads = None
            if dys is None:  # no gradient reached this op (its outputs lead nowhere near self)
                if not retain_graph:
                    fn.release()
                continue
            if len(dys) == 1:
                dxs = fn.backward(dys[0])
            else:  # an output no gradient reached contributes zeros
                dxs = fn.backward(*[
                    np.zeros(shape, dtype) if d is None else d for d, (shape, dtype) in zip(dys, fn._out_meta)
                ])
            if not isinstance(dxs, tuple):
                dxs = (dxs,)
            for t, dx in zip(fn.inputs, dxs):
                if dx is None or not t.requires_grad:
                    continue
                ctx = t._ctx
                if ctx is None:
                    t._accumulate(dx)
                else:
                    if t._retain:
                        t.grad = dx.copy() if t.grad is None else t.grad + dx
                    if ctx._grads is None:
                        ctx._grads = [None] * len(ctx._out_meta)
                    prev = ctx._grads[t._idx]
                    # never in place: dx may be an array another op also holds
                    ctx._grads[t._idx] = dx if prev is None else prev + dx
            if not retain_graph:
                fn.release()

    def _accumulate(self, g: np.ndarray) -> None:
        """Leaves add gradients up (until zero_grad); the first one is copied so it is ours to change."""
        if g.shape != self.data.shape:
            raise RuntimeError(f"internal error: gradient shape {g.shape} != tensor shape {self.data.shape}")
        if self.grad is None:
            self.grad = np.array(g, dtype=self.data.dtype, copy=True)
        else:
            self.grad += g

    # ---- operators (the ops live in minigrad/ops; these are thin entry points) --------------------
    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pow__(self, exponent: float) -> Tensor:
        return _ops.pow(self, exponent)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    # comparisons give plain boolean tensors (no gradient), useful for masks
    def __lt__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data < _data(other), False)

    def __le__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data <= _data(other), False)

    def __gt__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data > _data(other), False)

    def __ge__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data >= _data(other), False)

    def eq(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data == _data(other), False)

    __hash__ = object.__hash__

    # ---- methods for the common ops ---------------------------------------------------------------
    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def abs(self) -> Tensor:
        return _ops.abs(self)

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        return _ops.clip(self, low, high)

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.sum(self, axis, keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.mean(self, axis, keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.max(self, axis, keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.min(self, axis, keepdims)

    def argmax(self, axis: int | None = None) -> np.ndarray:
        return self.data.argmax(axis=axis)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def view(self, *shape: Any) -> Tensor:
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0) -> Tensor:
        start = start_dim % max(self.ndim, 1)
        return _ops.reshape(self, self.shape[:start] + (-1,))

    def transpose(self, *axes: int) -> Tensor:
        """transpose() reverses all axes; transpose(a, b) swaps two axes (as torch); transpose(axes) permutes."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            return _ops.permute(self, tuple(axes[0]))
        if not axes:
            return _ops.permute(self, tuple(reversed(range(self.ndim))))
        if len(axes) == 2:
            a, b = (ax % self.ndim for ax in axes)
            perm = list(range(self.ndim))
            perm[a], perm[b] = perm[b], perm[a]
            return _ops.permute(self, tuple(perm))
        return _ops.permute(self, tuple(axes))

    def permute(self, *axes: int) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.permute(self, tuple(axes))

    @property
    def T(self) -> Tensor:
        return _ops.permute(self, tuple(reversed(range(self.ndim))))

    def squeeze(self, axis: int | None = None) -> Tensor:
        return _ops.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        return _ops.unsqueeze(self, axis)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return _ops.broadcast_to(self, tuple(shape))

    def masked_fill(self, mask: Any, value: float) -> Tensor:
        return _ops.masked_fill(self, mask, value)

    def split(self, sections: int | Sequence[int], axis: int = 0) -> tuple[Tensor, ...]:
        return _ops.split(self, sections, axis)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _second_backward_error() -> RuntimeError:
    return RuntimeError(
        "backward() through a graph that was already freed: call the first backward with "
        "retain_graph=True to run backward twice, or recompute the forward pass"
    )


def _topological_order(root: Function) -> list[Function]:
    """Functions reachable from root, each after every function that consumes its outputs.

    An explicit stack instead of recursion: deep graphs (long sequences) must not hit the recursion limit.
    """
    order: list[Function] = []
    visited: set[int] = set()
    stack: list[tuple[Function, bool]] = [(root, False)]
    while stack:
        fn, children_done = stack.pop()
        if children_done:
            order.append(fn)
            continue
        # mark on pop, not on push: a node reached by two paths must finish after both consumers
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        stack.append((fn, True))
        for t in fn.inputs:
            ctx = t._ctx
            if ctx is not None and t.requires_grad and id(ctx) not in visited:
                if ctx._released:
                    raise _second_backward_error()
                stack.append((ctx, False))
    order.reverse()  # post-order lists inputs first; backward needs consumers first
    return order


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Make a tensor: float data becomes float32 unless `dtype` says otherwise (e.g. np.float64)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


from minigrad import ops as _ops  # noqa: E402  (ops import Tensor; import them after it exists)
