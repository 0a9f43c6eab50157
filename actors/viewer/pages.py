"""Pages of a run's timeline, read straight from the log without loading it whole.

Events are served in pages keyed by ``seq`` (``after``/``before``/``around`` a seq), so the
first page of a log with a hundred thousand events costs the same as that of a small one.
``seq`` ``n`` is line ``n`` of the log, so finding it means counting newlines: a sparse
index remembers the byte offset of every 1,024th line seen, and later seeks start from
the nearest one. The index only grows (the log is append-only); a log that shrank
(repaired) starts a fresh one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from actors.views.events import summarize
from events import CorruptLine, Event, UnknownEvent
from store import EventLog

__all__ = ["EventFilter", "LogPager", "event_row", "event_type"]

AnyEvent = Event | UnknownEvent
EventFilter = Callable[[AnyEvent], bool]
_STRIDE = 1024
_CHUNK = 1 << 20


def event_type(event: AnyEvent) -> str:
    """The event's ``type`` tag."""
    return event.type if isinstance(event, UnknownEvent) else type(event).__name__


def event_row(event: AnyEvent) -> dict[str, Any]:
    """What the timeline shows of one event (its whole body is fetched on demand)."""
    return {
        "seq": event.seq,
        "ts": event.ts,
        "type": event_type(event),
        "actor": event.actor,
        "step": getattr(event, "step", None),
        "attempt": getattr(event, "attempt", None),
        "round": getattr(event, "round", None),
        "summary": summarize(event),
    }


class LogPager:
    """Reads pages of one log; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._log = EventLog(path)
        self._marks: list[int] = [0]  # _marks[k]: byte offset of line k * _STRIDE + 1
        self._lock = threading.Lock()

    def last_seq(self) -> int:
        """The seq of the last complete line (:meth:`store.EventLog.last_seq`)."""
        return self._log.last_seq()

    def events(self, from_seq: int) -> Iterator[AnyEvent | CorruptLine]:
        """Events from ``from_seq`` on; a damaged line ends it as a ``CorruptLine``.

        The sparse index finds the line; :meth:`store.EventLog.scan_at` reads from it.
        """
        with open(self.path, "rb", buffering=0) as f:
            seq, pos = self._seek(f.fileno(), max(1, from_seq))
        if seq < from_seq:
            return
        try:
            for _, ev in self._log.scan_at(pos):
                yield ev
                seq += 1
        except CorruptLine as exc:
            yield CorruptLine(f"line {seq}: {exc}")

    def page_after(self, after: int, limit: int, wanted: EventFilter) -> list[dict[str, Any]]:
        """Up to ``limit`` rows of wanted events with ``seq > after``."""
        rows: list[dict[str, Any]] = []
        for ev in self.events(after + 1):
            if isinstance(ev, CorruptLine):
                rows.append(_damaged_row(ev))
                break
            if wanted(ev):
                rows.append(event_row(ev))
                if len(rows) >= limit:
                    break
        return rows

    def page_before(self, before: int, limit: int, wanted: EventFilter) -> list[dict[str, Any]]:
        """Up to ``limit`` rows of wanted events with ``seq < before``, oldest first."""
        rows: list[dict[str, Any]] = []
        end = before
        span = max(limit, 256)
        while end > 1 and len(rows) < limit:
            start = max(1, end - span)
            chunk: list[dict[str, Any]] = []
            for ev in self.events(start):
                if isinstance(ev, CorruptLine) or ev.seq >= end:
                    break
                if wanted(ev):
                    chunk.append(event_row(ev))
            rows = chunk + rows
            end = start
            span *= 4
        return rows[-limit:] if limit else []

    def event(self, seq: int) -> AnyEvent | None:
        """The event with this seq, or None (no such line, or it is damaged)."""
        for ev in self.events(seq):
            if isinstance(ev, CorruptLine) or ev.seq != seq:
                return None
            return ev
        return None

    def _seek(self, fd: int, seq: int) -> tuple[int, int]:
        """(seq, offset) of line ``seq``, or of the last line start found before it."""
        with self._lock:
            size = os.fstat(fd).st_size
            marks = self._marks
            if marks[-1] > size:
                marks[:] = [0]
            k = min((seq - 1) // _STRIDE, len(marks) - 1)
            line, pos = k * _STRIDE + 1, marks[k]
            scan = pos
            while line < seq and scan < size:
                data = os.pread(fd, min(_CHUNK, size - scan), scan)
                if not data:
                    break
                at = 0
                while line < seq and (nl := data.find(b"\n", at)) != -1:
                    at = nl + 1
                    line += 1
                    pos = scan + at
                    if (line - 1) % _STRIDE == 0 and (line - 1) // _STRIDE == len(marks):
                        marks.append(pos)
                scan += len(data)
            return line, pos


def _damaged_row(exc: CorruptLine) -> dict[str, Any]:
    return {"seq": None, "ts": "", "type": "damaged", "actor": "", "summary": str(exc)}
