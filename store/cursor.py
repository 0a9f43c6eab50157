"""Events of a log fetched by seq, read forward once, in flat memory.

A replay asks for its recorded answers in the order they were recorded. Keeping every
answer from the first pass would make its memory grow with the log; instead it keeps
their seqs and fetches each answer through an :class:`EventCursor`, which reads the log
forward from the first seq asked for, holding only the current read block. Asking for a
seq behind the cursor reads the log again from there (a binary search finds it).
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from types import TracebackType

from events import Event, UnknownEvent
from store.errors import LogError
from store.log import EventLog

__all__ = ["EventCursor"]

AnyEvent = Event | UnknownEvent


class EventCursor:
    """Fetch events of ``log`` by seq; thread-safe. Close it (or use ``with``) when done."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self._events: Generator[AnyEvent, None, None] | None = None
        self._last: AnyEvent | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        at = self._last.seq if self._last is not None else None
        return f"EventCursor({self.log!r}, at={at})"

    def at(self, seq: int) -> AnyEvent:
        """The event with ``seq``; :class:`LogError` if the log has none."""
        with self._lock:
            last = self._last
            if last is None or last.seq > seq or self._events is None:
                self._reopen(seq)
            elif last.seq == seq:
                return last
            assert self._events is not None
            for event in self._events:
                self._last = event
                if event.seq >= seq:
                    if event.seq == seq:
                        return event
                    break
            self._close()
            raise LogError(f"{self.log.path}: no event with seq {seq}")

    def _reopen(self, seq: int) -> None:
        self._close()
        self._events = self.log.read(seq)

    def _close(self) -> None:
        events, self._events, self._last = self._events, None, None
        if events is not None:
            events.close()

    def close(self) -> None:
        """Release the open log file."""
        with self._lock:
            self._close()

    def __enter__(self) -> EventCursor:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
