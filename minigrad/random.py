"""The one seedable random generator behind every random number minigrad draws.

`minigrad.manual_seed(n)` makes initialisation, dropout and data shuffling repeat bit for bit;
`get_rng_state()`/`set_rng_state()` let a checkpoint resume the exact random stream.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_generator = np.random.Generator(np.random.PCG64(0))


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator (like torch.manual_seed) and return it."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.Generator(np.random.PCG64(int(seed)))
    return _generator


def default_generator() -> np.random.Generator:
    """The generator used by nn.init, dropout and the demos' shuffling."""
    return _generator


def get_rng_state() -> dict[str, Any]:
    """The generator's state as a JSON-friendly dict (store it in a checkpoint)."""
    return _generator.bit_generator.state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state from get_rng_state()."""
    _generator.bit_generator.state = state
