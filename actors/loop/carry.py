"""A loop's conversation carried from one piece of an attempt to the next.

An attempt's loop is made in pieces (the supervisor appends each and hands the attempt
back, ``ContinueAttempt``), and each piece used to walk the whole recorded conversation
again: every recorded turn's request rebuilt, scrubbed and digested, so a loop cost
the cube of its turns in bytes (a 100-turn loop took ~9 s of its own time, a 500-turn
one would take many minutes). The piece now leaves the conversation after its last
whole turn here, and the next piece of the same attempt in the same process takes it
up, if the attempt's recorded call of that turn has the digest the carried one had (so
the conversation the carried state stands for is the one the log holds). Another
process (a resume, a replay) finds nothing here and walks from the start, as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, NamedTuple

from events import ModelCalled
from store import Tree

__all__ = ["Carried", "carry", "take"]

#: Attempts between two pieces at once whose conversation is kept (the oldest go first).
CARRY_AT_MOST = 256


class Carried(NamedTuple):
    """The conversation after turn ``turn`` (its results answered) and the working copy."""

    turn: int
    messages: list[dict[str, Any]]
    tree: Tree
    #: The request digest of turn ``turn``: its recorded ``ModelCalled`` must have it.
    digest: str


_carried: OrderedDict[tuple[Any, ...], Carried] = OrderedDict()
_lock = threading.Lock()


def carry(key: tuple[Any, ...], mark: Carried) -> None:
    """Keep ``mark`` for the next piece of the attempt ``key`` names."""
    with _lock:
        _carried[key] = mark
        _carried.move_to_end(key)
        while len(_carried) > CARRY_AT_MOST:
            _carried.popitem(last=False)


def take(key: tuple[Any, ...], unused: list[ModelCalled]) -> Carried | None:
    """What the previous piece of attempt ``key`` carried, if it holds for the recorded
    calls ``unused`` (in turn order); their first ``turn`` are then used (removed)."""
    with _lock:
        carried = _carried.pop(key, None)
    if carried is None or len(unused) < carried.turn:
        return None
    if unused[carried.turn - 1].request_digest != carried.digest:
        return None
    del unused[: carried.turn]
    return carried
