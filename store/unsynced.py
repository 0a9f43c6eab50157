"""A log line that a power cut kept without the object it names: the unsynced tail.

The log's writer syncs the run pack, then the log, at every commit point
(:meth:`store.LogWriter.sync_first`), and not when a line is written: lines written since
the last commit can reach the disk before the pack records they name (the kernel's
writeback keeps no order between files). So after a power cut, a line naming an object
the run keeps as it goes (a model request, an edit's bytes, a tool's whole output) that
the run does not store was never covered by a completed sync, since every sync made the
pack durable first: that line and every line after it are the unsynced tail a cut may
lose, like a torn last line. ``verify`` names it; ``verify --repair`` and every
continuation of the run (``resume`` and what continues through it) move it aside with
:func:`move_unsynced_tail`, holding the log's writer lock, and the run redoes it. A killed
process leaves no such line: its writes stay in the page cache, the pack's before the
line's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec

from events import Event, UnknownEvent, WorkflowStarted
from store._lock import LogLock
from store._logging import get_logger
from store._writer import LogWriter
from store.log import EventLog, RepairReport
from store.objects import ObjectStore
from store.refs import object_refs
from store.run_pack import PACK_NAME

_log = get_logger("agentlog.store")

__all__ = [
    "UnsyncedLine",
    "UnsyncedMove",
    "move_before_continuing",
    "move_unsynced_tail",
    "unsynced_line",
]


class UnsyncedLine(msgspec.Struct, frozen=True, kw_only=True):
    """The first line of the unsynced tail: its ``seq`` (its line number too), and the
    object it names that the run does not store (``hash``, and what it holds)."""

    seq: int
    hash: str
    what: str

    def __str__(self) -> str:
        return (
            f"line {self.seq} names {self.what} (object {self.hash[:12]}), which the run does "
            "not store: this line and those after it were written after the last sync and "
            "a power cut kept them without their objects"
        )


def unsynced_line(
    run_dir: str | Path, events: Iterable[Event | UnknownEvent]
) -> UnsyncedLine | None:
    """The first event of ``events`` (the log of ``run_dir``, in order) naming an object
    the run keeps as it goes that is not stored, or None.

    Only where the run pack is there: the first commit after it was made synced its entry,
    before any line naming a record of it was (the request is kept before the commit that
    precedes its call), so a missing pack is damage, never a tail; and so is a missing base
    file of a workspace (synced before the run starts)."""
    if not (Path(run_dir) / "objects" / PACK_NAME).is_file():
        return None
    store = ObjectStore(run_dir)
    starts: set[int] = set()

    def noting(evs: Iterable[Event | UnknownEvent]) -> Iterator[Event | UnknownEvent]:
        for ev in evs:
            if isinstance(ev, WorkflowStarted):
                starts.add(ev.seq)
            yield ev

    seen: set[str] = set()
    for ref in object_refs(noting(events)):
        if ref.seq in starts or ref.hash in seen:
            continue
        seen.add(ref.hash)
        if len(ref.hash) == 64 and ref.hash not in store:  # a bad name is damage
            return UnsyncedLine(seq=ref.seq, hash=ref.hash, what=ref.path)
    return None


class UnsyncedMove(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`move_unsynced_tail` did: the first line it moved and the move itself."""

    line: UnsyncedLine
    moved: RepairReport

    def __str__(self) -> str:
        lines = "line" if self.moved.moved_lines == 1 else "lines"
        return (
            f"{self.line}; moved {self.moved.moved_lines} {lines} from line {self.line.seq} "
            f"on ({self.moved.moved_bytes} bytes) to {self.moved.side_file}"
        )


def move_unsynced_tail(log: EventLog, writer: LogWriter | None = None) -> UnsyncedMove | None:
    """Move the unsynced tail of ``log`` (its first line and every line after it) to
    ``events.jsonl.torn-<n>``, or do nothing (None) when the log has none.

    The one way it is moved: by ``verify --repair`` and before a run is continued. The
    writer lock is held before the log is read, so a live run is never touched: with
    ``writer`` (a resume's, opened first and not yet written to) that writer's lock, which
    then appends after the last line kept; without, the lock is taken here
    (:class:`store.LogLocked` while a run writes). Nothing is deleted: the side file keeps
    the bytes."""
    lock = LogLock.acquire(log.path, create=False) if writer is None else None
    try:
        line = unsynced_line(log.path.parent, log.read())
        if line is None:
            return None
        moved = log.move_aside_from(line.seq, locked=True)
        if writer is not None:
            writer.cut_back(line.seq - 1)
        return UnsyncedMove(line=line, moved=moved)
    finally:
        if lock is not None:
            lock.release()


def move_before_continuing(
    log: EventLog, writer: LogWriter | None = None, *, warn: bool = True
) -> UnsyncedMove | None:
    """Before a run is continued (``resume``, ``retry``, a decision): its unsynced tail
    moved aside (:func:`move_unsynced_tail`), so nothing is appended after lines that
    no sync covered; the run redoes them. With ``warn`` the move is logged as a warning
    naming the side file and the first line moved (the note a caller of the Python API
    gets); the CLI says it itself. Without ``writer``, a log a writer holds is left
    alone: a live run, whose opening reports its holder."""
    if writer is None and log.being_written():
        return None
    moved = move_unsynced_tail(log, writer)
    if moved is not None and warn:
        _log.warning(
            f"{log.path}: {moved}; the run redoes them",
            side_file=str(moved.moved.side_file),
            from_line=moved.line.seq,
        )
    return moved
