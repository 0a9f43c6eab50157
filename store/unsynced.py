"""A log line that a power cut kept without the object it names: the unsynced tail.

The log's writer syncs the run pack, then the log, at every commit point
(:meth:`store.LogWriter.sync_first`), and not when a line is written: lines written since
the last commit can reach the disk before the pack records they name (the kernel's
writeback keeps no order between files). So after a power cut, a line naming an object
the run keeps as it goes (a model request, an edit's bytes, a tool's whole output) that
the run does not store was never covered by a completed sync, since every sync made the
pack durable first: that line and every line after it are the unsynced tail a cut may
lose, like a torn last line. ``verify`` names it, ``verify --repair`` moves it aside and
``resume`` refuses to append after it. A killed process leaves no such line: its
writes stay in the page cache, the pack's before the line's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec

from events import Event, UnknownEvent, WorkflowStarted
from store.errors import LogError
from store.objects import ObjectStore
from store.refs import object_refs
from store.run_pack import PACK_NAME

__all__ = ["UnsyncedLine", "UnsyncedTail", "unsynced_line"]


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


class UnsyncedTail(LogError):
    """The log ends in lines a power cut kept without their objects; appending would bury
    them under events that are no tail."""

    def __init__(self, path: Path, line: UnsyncedLine) -> None:
        self.path = path
        self.line = line
        super().__init__(
            f"{path}: {line}. Run `agentlog verify --repair` on it to move them to a side "
            "file (the run redoes them), then try again."
        )
