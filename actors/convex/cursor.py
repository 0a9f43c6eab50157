"""Where Convex stands for a run, checked against the log: the seq to mirror after.

Convex keeps, with a workflow's ``lastSeq``, the log's event id at that seq. If the log
now holds another event there (a power cut lost unsynced events and ``resume`` gave
their seqs to new ones), or no event at all, Convex holds events the log no longer has:
the workflow's rows are removed (``mirror:rewind``) and the log is sent again from
seq 1, so the rows become the projection of the log as it is. Ids are random, so one
matching id at ``lastSeq`` vouches for every seq before it.
"""

from __future__ import annotations

from typing import Any, Protocol

from actors.convex.errors import ConvexCallError
from actors.convex.rows import HEAD, REWIND
from actors.logs import get_logger
from store.log import EventLog

__all__ = ["Calls", "checked_cursor", "seq_of"]

_log = get_logger("agentlog.convex")


class Calls(Protocol):
    """The two kinds of Convex call a cursor check makes (``ConvexCalls`` has both)."""

    def query(self, function: str, args: dict[str, Any]) -> Any: ...

    def mutation(self, function: str, args: dict[str, Any]) -> Any: ...


def seq_of(function: str, answer: Any, key: str = "lastSeq") -> int:
    """The ``key`` of a Convex answer as a seq; a malformed answer is a ``ConvexCallError``."""
    value = answer.get(key) if isinstance(answer, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConvexCallError(
            function, f"unexpected answer {answer!r}: no numeric {key}", transport=False
        )
    if value != int(value):
        raise ConvexCallError(function, f"unexpected {key} {value!r}", transport=False)
    return int(value)


def checked_cursor(calls: Calls, log: EventLog, workflow_id: str) -> int:
    """The last seq Convex holds for ``workflow_id`` that the log still holds, as is."""
    head = calls.query(HEAD, {"workflowId": workflow_id})
    last_seq = seq_of(HEAD, head)
    last_id = head.get("lastEventId")
    if last_seq == 0 or not last_id:
        return last_seq  # nothing mirrored, or mirrored before ids were kept: trusted
    ours = next(iter(log.read(last_seq)), None) if log.path.exists() else None
    if ours is not None and ours.seq == last_seq and ours.id == last_id:
        return last_seq
    _log.warning(
        "convex holds events the log no longer has; replacing them from the log",
        workflow_id=workflow_id,
        convex_seq=last_seq,
        log_event_id=getattr(ours, "id", None),
    )
    calls.mutation(REWIND, {"workflowId": workflow_id})
    return 0
