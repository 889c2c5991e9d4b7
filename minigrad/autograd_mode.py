"""Grad mode: whether ops record the graph. `no_grad()` turns it off for a block or a function."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

enabled: bool = True


class no_grad:
    """Context manager and decorator: no graph is recorded inside it (evaluation, decoding, updates).

    >>> with minigrad.no_grad():
    ...     y = model(x)          # y.requires_grad is False, nothing is kept for backward
    """

    def __enter__(self) -> None:
        global enabled
        self._prev = enabled
        enabled = False

    def __exit__(self, *exc: object) -> None:
        global enabled
        enabled = self._prev

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class enable_grad(no_grad):
    """The opposite of no_grad: record the graph inside the block even where grad mode is off."""

    def __enter__(self) -> None:
        global enabled
        self._prev = enabled
        enabled = True


def is_grad_enabled() -> bool:
    """True when ops record the graph."""
    return enabled
