"""Resumable reads of a log: where a reader stopped, and the events appended since.

A reader that keeps its own projection between runs (the runs list's cache) remembers a
:class:`LogMark`: the byte offset just past the last line it folded and that line's last
bytes (its seal). :func:`scan_from` checks the mark still names a line end of *this* log
(a repaired, replaced or truncated log fails the check: fold it again from the start) and
yields each complete line after it, decoded, with the mark just past it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import msgspec

from events import Event, UnknownEvent, decode_line
from store.lines import complete_lines

__all__ = ["LogMark", "StaleMark", "mark_holds", "scan_from"]

AnyEvent = Event | UnknownEvent
#: How many of a line's last bytes a mark keeps: the whole ``"crc"`` member of a sealed line.
_TAIL = 16


class LogMark(msgspec.Struct, frozen=True, kw_only=True):
    """A line end of a log: ``offset`` past the line, ``tail`` its last bytes (hex).

    ``LogMark()`` is the start of any log.
    """

    offset: int = 0
    tail: str = ""


class StaleMark(Exception):
    """The mark is not a line end of this log (it was repaired, replaced or truncated)."""


def mark_holds(fd: int, mark: LogMark) -> bool:
    """Whether ``mark`` is a line end of the file open as ``fd`` (the start always is)."""
    if not mark.offset:
        return True
    tail = bytes.fromhex(mark.tail) if len(mark.tail) % 2 == 0 else b""
    start = mark.offset - len(tail) - 1
    if not tail or start < 0 or mark.offset > os.fstat(fd).st_size:
        return False
    return os.pread(fd, len(tail) + 1, start) == tail + b"\n"


def scan_from(fd: int, mark: LogMark) -> Iterator[tuple[LogMark, AnyEvent]]:
    """Each event of a complete line after ``mark`` (up to the size the file has now),
    with the mark just past its line.

    Raises :class:`StaleMark` before yielding anything when ``mark`` does not hold, and
    :class:`~events.CorruptLine` at the first line that fails its seal (after the events
    before it). A torn last line is not yielded.
    """
    if not mark_holds(fd, mark):
        raise StaleMark(f"offset {mark.offset} is not a line end of this log")
    for end, line in complete_lines(fd, mark.offset, os.fstat(fd).st_size):
        event = decode_line(line)
        yield LogMark(offset=end, tail=line[-_TAIL:].hex()), event
