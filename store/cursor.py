"""Events of a log fetched by seq, read forward once, in flat memory, decoding only those.

A replay asks for its recorded answers in the order they were recorded. Keeping every
answer from the first pass would make its memory grow with the log; instead it keeps
their seqs and fetches each answer through an :class:`EventCursor`, which reads the log
forward from the first seq asked for, holding only the current read block. Asking for a
seq behind the cursor reads the log again from there (a binary search finds it).

Only the lines asked for are decoded. In a log, line ``n`` holds seq ``n`` (every reader
refuses a log where it does not), so the cursor finds an event's line by counting
newlines (C speed) and verifies and decodes that one line: its seal is checked and its
seq must be the one asked for, else :class:`~store.errors.LogError` (the log changed or
is damaged there). The lines passed over are not checked: a caller that must know the
whole log is sound reads it through :meth:`~store.log.EventLog.read` (a replay does,
before it asks for anything).

A reader that reads the whole log first anyway (a replay, indexing what it will ask for)
reads it through :meth:`EventCursor.read`, which keeps the events of the types it is told
to keep, with their lines, up to a budget of line bytes (:data:`KEEP_BUDGET`): those are
served (:meth:`EventCursor.at`) or shown (:meth:`EventCursor.seen`) without reading or
decoding them again, and let go then. The budget keeps memory flat however long the log
is; what did not fit is fetched as above.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Generator
from types import TracebackType
from typing import BinaryIO

from events import CorruptLine, Event, UnknownEvent
from store._scan import LineScanner, decode_sealed
from store.errors import LogCorrupt, LogError
from store.log import EventLog
from store.seek import seek_line

__all__ = ["KEEP_BUDGET", "EventCursor"]

AnyEvent = Event | UnknownEvent
#: How much one read asks for.
_BLOCK = 1 << 18
#: Lines skipped one newline search at a time; a longer skip counts the block's first.
_NEAR = 32
#: How many bytes of lines :meth:`EventCursor.read` keeps at most (their decoded events
#: take two to three times as much again: ~30 MiB in all at most, for the events a replay
#: benchmark keeps, whether answers only or an attempt's every event).
KEEP_BUDGET = 8 << 20


class EventCursor:
    """Fetch events of ``log`` by seq; thread-safe. Close it (or use ``with``) when done."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self._file: BinaryIO | None = None
        self._fd = -1
        self._buf = b""  # bytes read, from file offset ``_base``
        self._base = 0
        self._pos = 0  # where line ``_line`` starts in ``_buf``
        self._line = 1
        #: The event fetched last and its line, swapped whole (read without the lock).
        self._last: tuple[AnyEvent, bytes] | None = None
        #: Events kept by :meth:`read`, with their lines, by seq, until fetched.
        self._kept: dict[int, tuple[AnyEvent, bytes]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        at = self._last[0].seq if self._last is not None else None
        return f"EventCursor({self.log!r}, at={at})"

    def at(self, seq: int) -> AnyEvent:
        """The event with ``seq``; :class:`LogError` if the log has none."""
        with self._lock:
            last = self._last
            if last is not None and last[0].seq == seq:
                return last[0]
            kept = self._kept.pop(seq, None)
            if kept is not None:
                self._last = kept
                return kept[0]
            if self._fd < 0 or seq < self._line:
                self._reopen(seq)
            line = self._line_of(seq) if seq >= 1 else None
            if line is None:
                self._close()
                raise LogError(f"{self.log.path}: no event with seq {seq}")
            try:
                event = decode_sealed(line)
            except CorruptLine as exc:
                self._close()
                raise LogCorrupt(self.log.path, seq, str(exc)) from None
            if event.seq != seq:
                self._close()
                raise LogCorrupt(
                    self.log.path, seq, f"line {seq} holds seq {event.seq} (the log changed)"
                )
            self._last = (event, line)
            return event

    def read(
        self,
        keep: type[Event] | Collection[type[Event]],
        *,
        reset: type[Event] | None = None,
        budget: int = KEEP_BUDGET,
    ) -> Generator[AnyEvent, None, None]:
        """:meth:`EventLog.read() <store.log.EventLog.read>` of the whole log (the same
        events, the same errors), keeping the events of type ``keep`` (or of the types it
        holds) with their lines, in log order, while their lines fit in ``budget`` bytes:
        :meth:`at` serves a kept event, and :meth:`seen` shows it, without reading it
        again (once; it is let go then). An event of type ``reset`` lets go of every
        event kept before it (their room takes later ones), as does a new :meth:`read`."""
        kinds = frozenset((keep,) if isinstance(keep, type) else keep)
        kept: dict[int, tuple[AnyEvent, bytes]] = {}
        with self._lock:
            self._kept = kept
        room = budget

        def keep_some(lines: list[bytes], events: list[AnyEvent]) -> None:
            nonlocal room
            for event, line in zip(events, lines, strict=True):
                kind = type(event)
                if kind in kinds and len(line) <= room:
                    room -= len(line)
                    kept[event.seq] = (event, line)
                elif kind is reset:
                    kept.clear()
                    room = budget

        log = self.log
        with log._open() as f:
            yield from log._drain(f, LineScanner(on_block=keep_some), 1)

    def seen(self, seq: int) -> tuple[AnyEvent, bytes] | None:
        """The event with ``seq`` and its line (verified, without its newline) when it is
        the one :meth:`at` fetched last, or one :meth:`read` kept (let go then: a later
        :meth:`at` reads it again); None otherwise (nothing is read)."""
        last = self._last
        if last is not None and last[0].seq == seq:
            return last
        return self._kept.pop(seq, None)

    def _line_of(self, seq: int) -> bytes | None:
        """Line ``seq`` (without its newline), the cursor then past it; None past the end
        (a torn last line is not a line)."""
        buf, pos, skip = self._buf, self._pos, seq - self._line
        while True:
            if skip > _NEAR and (ahead := buf.count(b"\n", pos)) < skip:
                skip -= ahead  # far: not in this block, dropped whole
                pos = len(buf)
            while skip and (end := buf.find(b"\n", pos)) != -1:
                pos = end + 1
                skip -= 1
            if not skip:
                end = buf.find(b"\n", pos)
                if end != -1:
                    self._buf, self._pos, self._line = buf, end + 1, seq + 1
                    return buf[pos:end]
            more = os.pread(self._fd, _BLOCK, self._base + len(buf))
            if not more:
                return None
            self._base += pos
            buf, pos = buf[pos:] + more, 0

    def _reopen(self, seq: int) -> None:
        self._close()
        self._file = self.log._open()  # the log's own checks: a regular file, no FIFO
        self._fd = self._file.fileno()
        self._base, self._line = seek_line(self._fd, max(seq, 1))
        self._buf, self._pos = b"", 0

    def _close(self) -> None:
        file, self._file, self._fd, self._last = self._file, None, -1, None
        self._buf, self._pos, self._line = b"", 0, 1
        if file is not None:
            file.close()

    def close(self) -> None:
        """Release the open log file and what :meth:`read` kept."""
        with self._lock:
            self._close()
            self._kept = {}

    def __enter__(self) -> EventCursor:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
