"""SIGTERM handled as Ctrl-C: the command stops at once, resumable, children cleaned up.

While a command runs, SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``) in
the main thread, so every path that handles Ctrl-C (the resume hint, killing the
children registered in :mod:`actors.cleanup`) handles it too; it exits 143, Ctrl-C 130.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Terminated", "interrupts_raise"]


class Terminated(KeyboardInterrupt):
    """The process got SIGTERM (exit 143: 128 + 15)."""

    exit_code = 128 + signal.SIGTERM


@contextmanager
def interrupts_raise() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        nonlocal raised
        if not raised:  # a second SIGTERM while stopping changes nothing
            raised = True
            raise Terminated

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
