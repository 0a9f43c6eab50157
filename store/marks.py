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
from itertools import accumulate
from operator import itemgetter

import msgspec

from events import CorruptLine, Event, UnknownEvent, decode_line
from store._scan import sealed_events
from store.lines import READ_BLOCK

__all__ = [
    "LogMark",
    "StaleMark",
    "blocks_from",
    "last_line_seq",
    "lines_from",
    "mark_at",
    "mark_holds",
    "scan_from",
]

AnyEvent = Event | UnknownEvent
#: How many of a line's last bytes a mark keeps: the whole ``"crc"`` member of a sealed line.
_TAIL = 16
_last_bytes = itemgetter(slice(-_TAIL, None))


class LogMark(msgspec.Struct, frozen=True, kw_only=True):
    """A line end of a log: ``offset`` past the line, ``tail`` its last bytes (hex).

    ``LogMark()`` is the start of any log.
    """

    offset: int = 0
    tail: str = ""


class StaleMark(Exception):
    """The mark is not a line end of this log (it was repaired, replaced or truncated)."""


def mark_at(fd: int, end: int) -> LogMark:
    """The mark of the line that ends (its newline included) at ``end`` of ``fd``."""
    return LogMark(offset=end, tail=os.pread(fd, _TAIL, end - _TAIL - 1).hex())


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
    yield from lines_from(fd, mark.offset)


def lines_from(fd: int, offset: int) -> Iterator[tuple[LogMark, AnyEvent]]:
    """Like :func:`scan_from` from ``offset``, a line start the caller found itself (an
    index of line offsets): not checked.

    A block of complete lines is decoded with one msgspec call when every line is sealed
    and known (:func:`store._scan.sealed_events`, as :meth:`EventLog.read` does), else one
    line at a time, so a damaged line raises after the events before it all the same.
    """
    for end, block in _complete_blocks(fd, offset, os.fstat(fd).st_size):
        lines = block.split(b"\n")
        events = sealed_events(block, lines)
        ends = accumulate(map(_plus_newline, lines), initial=end - len(block) - 1)
        next(ends)
        tails = map(bytes.hex, map(_last_bytes, lines))
        if events is not None:
            yield from zip(map(_mark, ends, tails), events, strict=True)
        else:
            for at, tail, line in zip(ends, tails, lines, strict=True):
                event = decode_line(line)  # the good lines before a bad one are yielded
                yield LogMark(offset=at, tail=tail), event


def blocks_from(fd: int, mark: LogMark) -> Iterator[tuple[LogMark, list[AnyEvent]]]:
    """:func:`scan_from` a block at a time: the events of each read block's complete lines,
    with the mark past the block's last line (a reader that folds whole blocks keeps one
    mark, not one per line). Raises as :func:`scan_from` does; a block that is not all
    sealed and known is yielded a line at a time, so a damaged line raises after the
    events before it, each with its own mark."""
    if not mark_holds(fd, mark):
        raise StaleMark(f"offset {mark.offset} is not a line end of this log")
    for end, block in _complete_blocks(fd, mark.offset, os.fstat(fd).st_size):
        lines = block.split(b"\n")
        events = sealed_events(block, lines)
        if events is not None:
            yield LogMark(offset=end, tail=_last_bytes(lines[-1]).hex()), events
            continue
        at = end - len(block) - 1
        for line in lines:
            at += len(line) + 1
            event = decode_line(line)
            yield LogMark(offset=at, tail=_last_bytes(line).hex()), [event]


def _mark(offset: int, tail: str) -> LogMark:
    return LogMark(offset=offset, tail=tail)


def _plus_newline(line: bytes) -> int:
    return len(line) + 1


def _complete_blocks(fd: int, start: int, size: int) -> Iterator[tuple[int, bytes]]:
    """``(offset past the block, complete lines without the last newline)`` for the
    complete lines of ``fd`` in ``[start, size)``, a read block at a time; an
    unterminated last line is not yielded."""
    pending: list[bytes] = []
    base = pos = start  # ``base``: the file offset of the first pending byte
    while pos < size:
        data = os.pread(fd, min(READ_BLOCK, size - pos), pos)
        if not data:
            return
        pos += len(data)
        cut = data.rfind(b"\n")
        if cut == -1:
            pending.append(data)
            continue
        block = b"".join([*pending, data[:cut]]) if pending else data[:cut]
        pending = [data[cut + 1 :]] if cut + 1 < len(data) else []
        base += len(block) + 1
        yield base, block


def last_line_seq(fd: int) -> int:
    """The seq of the last complete line, decoded from the end of the file (0: none).

    A torn last line is not counted. When the last complete line is damaged, the number
    of complete lines (``seq`` ``n`` is line ``n`` of a sound log), counted.
    """
    size = os.fstat(fd).st_size
    window = 1 << 16
    while True:
        start = max(0, size - window)
        buf = os.pread(fd, size - start, start)
        end = buf.rfind(b"\n")
        begin = buf.rfind(b"\n", 0, max(end, 0)) if end > 0 else -1
        if begin == -1 and start:
            window *= 4  # the last line is longer than the window
            continue
        if end == -1:
            return 0
        try:
            return decode_line(buf[begin + 1 : end]).seq
        except CorruptLine:
            return sum(
                os.pread(fd, READ_BLOCK, pos).count(b"\n") for pos in range(0, size, READ_BLOCK)
            )
