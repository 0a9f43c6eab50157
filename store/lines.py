"""Complete lines of a file region, each with the offset just past it, in linear time.

Readers that resume at a byte offset (the runs list's cached fold, the viewer's pager)
walk a log with this one loop. It searches each block for a newline only from where the
previous search stopped and grows an unfinished line in place, so a line of any length
(a 200 MB torn tail) is read once, never copied once per block.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

__all__ = ["READ_BLOCK", "complete_lines"]

#: How much one ``pread`` asks for.
READ_BLOCK = 1 << 20


def complete_lines(
    fd: int, start: int, size: int, block: int = READ_BLOCK
) -> Iterator[tuple[int, bytes]]:
    """``(offset past the line, line without its newline)`` for each complete line of
    ``fd`` in ``[start, size)``; an unterminated last line is not yielded."""
    buf = bytearray()
    base = pos = start  # ``base``: the file offset of ``buf[0]``
    while pos < size:
        data = os.pread(fd, min(block, size - pos), pos)
        if not data:
            return
        searched = len(buf)
        buf += data
        pos += len(data)
        begin = 0
        while (end := buf.find(b"\n", searched)) != -1:
            yield base + end + 1, bytes(buf[begin:end])
            begin = searched = end + 1
        if begin:
            del buf[:begin]
            base += begin
