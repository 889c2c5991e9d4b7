"""Optional matplotlib: plots are written when it is installed, otherwise the user is told how to get it."""

from __future__ import annotations

from typing import Any

_HINT = "matplotlib is not installed, so no plot was drawn: pip install matplotlib  (or pip install -e '.[plot]')"
_warned = False


def pyplot() -> Any | None:
    """matplotlib.pyplot with a file-only backend, or None (with a one-time hint) when it is missing."""
    global _warned
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed: we only write PNG files
        import matplotlib.pyplot as plt
    except ImportError:
        if not _warned:
            print(_HINT)
            _warned = True
        return None
    return plt
