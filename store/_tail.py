"""What follows a log's last good event: nothing, a torn line, crash debris, or damage.

A crash while appending leaves a torn last line (no newline). A power cut can leave more:
the file's new size on disk before its data, read back as zero bytes, or stale blocks of
another file. Such debris, confined to the tail, is safe to move aside (no event that was
synced can be in it); a line that is an event with changed bytes, or damage followed by a
good event, is not debris, and the log reports it instead of repairing it.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from store._scan import EVENT_START, SEAL_SHAPE

__all__ = ["CHUNK", "debris", "is_debris", "line_offset", "may_start_event", "torn_size"]

#: Read size: blocks this small stay in the CPU cache and below malloc's mmap threshold;
#: 64 KiB measured ~1.5x faster than 1 MiB (benchmarks/log_bench.py).
CHUNK = 1 << 16


def may_start_event(tail: bytes) -> bool:
    """Whether torn bytes begin the way every line agentlog writes begins."""
    head = tail[: len(EVENT_START)]
    return EVENT_START.startswith(head)


def line_offset(f: BinaryIO, line_no: int) -> int:
    """The byte offset where line ``line_no`` (1-based) of ``f`` starts."""
    f.seek(0)
    base, left = 0, line_no - 1
    while left and (data := f.read(CHUNK)):
        at = data.find(b"\n")
        while at != -1:
            left -= 1
            if not left:
                return base + at + 1
            at = data.find(b"\n", at + 1)
        base += len(data)
    return base


def debris(f: BinaryIO, good_events: int) -> tuple[int, int]:
    """(bytes, lines) from ``f``'s position to its end if all of it is crash debris,
    else (0, 0): a good event or an event with changed bytes in there is real damage."""
    total = lines = 0
    line = bytearray()
    while data := f.read(CHUNK):
        total += len(data)
        parts = data.split(b"\n")
        for i, part in enumerate(parts):
            line += part
            if i < len(parts) - 1:
                lines += 1
                if not is_debris(bytes(line), good_events):
                    return 0, 0
                line.clear()
    if line:
        lines += 1
        if not (may_start_event(bytes(line)) or is_debris(bytes(line), good_events)):
            return 0, 0
    return total, lines


#: A run of zero bytes: what a power cut leaves where a file's size reached the disk
#: before its data. One NUL alone could be a changed byte of a real event.
_ZEROS = b"\0\0"


def is_debris(line: bytes, good_events: int) -> bool:
    """Whether a damaged line is crash debris rather than an event whose bytes changed.

    Debris holds a run of zero bytes, or looks like no event at all: it neither starts
    like one nor ends with a seal (one changed byte cannot take away both). With no good
    event before it, only zero bytes count: anything else means the file is no log.
    """
    if good_events == 0:
        return not line.strip(b"\0")
    if _ZEROS in line:
        return True
    return not line.startswith(EVENT_START) and not SEAL_SHAPE.search(line)


def torn_size(fd: int) -> int:
    """How many bytes follow the file's last newline (scanning back from the end)."""
    size = os.fstat(fd).st_size
    pos = size
    while pos:
        start = max(0, pos - CHUNK)
        cut = os.pread(fd, pos - start, start).rfind(b"\n")
        if cut != -1:
            return size - (start + cut + 1)
        pos = start
    return size
