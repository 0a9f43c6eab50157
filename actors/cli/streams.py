"""Standard streams that may be closed: a run must outlive the reader of its output.

``agentlog run … | head -2`` closes the pipe after two lines; ``>&-`` starts with no
stdout at all. Neither may abandon a run or print a traceback per event: output that
can no longer be written (a closed pipe, any other write error) is sent to
``/dev/null`` (once, with one line on stderr) and the command goes on to its end and
its own exit code. :func:`flush_stdout` does the same for what is still buffered when a
command returns, so the interpreter's last flush cannot fail either.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

__all__ = ["ensure_std_streams", "flush_stdout", "say", "silence_stdout"]

_lock = threading.Lock()
_silenced = False


def ensure_std_streams() -> None:
    """Give a closed fd 0, 1 or 2 ``/dev/null``, so no file we open takes its number."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, encoding="utf-8", closefd=False))  # noqa: SIM115


def silence_stdout() -> bool:
    """Point stdout at ``/dev/null`` (its reader left); True the first time only."""
    global _silenced
    with _lock:
        if _silenced:
            return False
        _silenced = True
        null = os.open(os.devnull, os.O_WRONLY)
        # rich's live display may stand in for sys.stdout; silence the file it wraps
        stdout = getattr(sys.stdout, "rich_proxied_file", sys.stdout)
        try:
            os.dup2(null, stdout.fileno())
        except (OSError, ValueError):
            pass
        finally:
            os.close(null)
        return True


def say(text: str = "") -> bool:
    """Print a line on stdout; False (and stdout silenced) when its reader has left."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return True
    except (OSError, ValueError) as exc:
        _left(exc)
        return False


def flush_stdout() -> None:
    """Flush stdout before the command returns; a reader that left silences it instead."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        _left(exc)


def _left(exc: BaseException) -> None:
    """Silence stdout after a failed write, saying so once on stderr."""
    if not silence_stdout():
        return
    if isinstance(exc, BrokenPipeError | ValueError):
        why = "stdout was closed"
    else:
        why = f"stdout cannot be written ({getattr(exc, 'strerror', None) or exc})"
    with contextlib.suppress(OSError, ValueError):  # stderr gone too: nobody to tell
        print(f"agentlog: {why}; nothing more is printed to it", file=sys.stderr)
