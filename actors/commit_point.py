"""The sync before an agent waits, made by the agent once it has kept its request.

The supervisor makes everything it appended durable before an agent may wait (a model
call, a tool, a test run). Made before the agent starts, that sync came before the
agent kept its model request in the run pack, so the request's record needed a sync of
the pack of its own when its ``ModelCalled`` was synced (and an edit's bytes another,
one commit earlier). The supervisor now hands the sync to the agent (:func:`owe`), which
makes it (:func:`pay`) just before it waits: after keeping the request, so one commit
(the pack, then the log) covers the last tool's bytes, the request and every line so far.
An agent that ends its piece without waiting leaves it to the next commit (:func:`forgive`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["forgive", "owe", "pay"]

_OWED: dict[str, Callable[[], None]] = {}
_MUTEX = threading.Lock()


def owe(run: str, commit: Callable[[], None]) -> None:
    """The agent working for ``run`` (its ``requests_to``) makes ``commit`` before it
    waits (once)."""
    with _MUTEX:
        _OWED[run] = commit


def pay(run: str) -> None:
    """Make the commit owed for ``run``, if any (an agent about to wait calls this)."""
    if not run:
        return
    with _MUTEX:
        commit = _OWED.pop(run, None)
    if commit is not None:
        commit()


def forgive(run: str) -> None:
    """Drop the commit owed for ``run``: its agent answered without waiting."""
    with _MUTEX:
        _OWED.pop(run, None)
