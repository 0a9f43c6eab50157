"""Finding a late event without decoding the lines before it: a binary search on ``seq``.

Lines hold contiguous seqs in order, and JSON escapes every newline inside a value, so a
byte offset can be mapped to the next line's seq by reading a few bytes. Probing halves
the window until it is one read block; the caller then decodes (and seal-checks) from
there. A probe that finds no seq (a damaged line) stops the search early, so the
caller's ordinary read reaches the damage and reports it.
"""

from __future__ import annotations

import os
import re

__all__ = ["LinePosition", "seek_line"]

_SEQ = re.compile(rb'"seq":(\d+)')
_PROBE = 4096
#: Below this window a linear read is cheaper than more probes.
_WINDOW = 64 * 1024

LinePosition = tuple[int, int]


def _seq_after(fd: int, offset: int, size: int) -> LinePosition | None:
    """The start and seq of the first complete line starting after ``offset``."""
    pos = offset
    while pos < size:
        chunk = os.pread(fd, _PROBE, pos)
        cut = chunk.find(b"\n")
        if cut == -1:
            pos += len(chunk)
            continue
        start = pos + cut + 1
        head = os.pread(fd, 256, start)
        match = _SEQ.search(head)
        if match is None or b"\n" in head[: match.start()]:
            return None
        return start, int(match.group(1))
    return None


def seek_line(fd: int, seq: int) -> LinePosition:
    """A line start at or before the line of ``seq``, within one read block of it.

    Returns ``(offset, seq_there)``; ``(0, 1)`` when the log is small or ``seq`` is early.
    """
    size = os.fstat(fd).st_size
    lo: LinePosition = (0, 1)
    hi = size
    while hi - lo[0] > _WINDOW:
        found = _seq_after(fd, (lo[0] + hi) // 2, size)
        if found is None:
            break
        if found[1] <= seq:
            lo = found
        else:
            hi = (lo[0] + hi) // 2
    return lo
