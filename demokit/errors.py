"""The two things that can go wrong in a demo, and the one exit-code convention of every command.

    exit 0    done
    exit 1    the run diverged (Diverged): NaN/inf in a loss, a gradient norm or a weight
    exit 2    bad usage or bad input (argparse's own exit code for a bad option; UserError and
              minigrad's CheckpointError for a missing/unreadable file, malformed data, a bad checkpoint)
    exit 130  interrupted by Ctrl-C (after saving what can be resumed)

Each is reported as ONE line on stderr ("error: ..."), never a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_DIVERGED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UserError(ValueError):
    """Bad input the user can fix: names the file, the line or the option. Exit code 2."""


class Diverged(RuntimeError):
    """Training produced a non-finite loss, gradient norm or weight: names the epoch and step. Exit code 1.

    Raised before anything non-finite reaches a checkpoint, so the files on disk stay the last finite ones.
    """


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run after it saved what --resume needs; the message says how to continue. Exit 130."""
