"""Another log's lines, by seq: what a replay's scratch log takes its stamps from and is
compared with as it is written.

A replay compares the log its re-run writes with the recorded one, ignoring each event's
``id`` and ``ts`` (new in every run). When the scratch log takes the recorded line's
``id`` and ``ts`` at the same seq, an event made again the same is the same line, byte
for byte. The writer compares each line it makes with the recorded line at its seq and
counts how far the two logs run the same (:attr:`store.LogWriter.like_through`), so the
check need not read those lines again; lines that differ are looked at more closely, as
before. The recorded log is read forward once, a block at a time, as the scratch log
grows.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

__all__ = ["StampSource", "stamps_of"]

_ID = b',"id":"'
_TS = b'","ts":"'
#: How much one read asks for.
_BLOCK = 1 << 16


def stamps_of(line: bytes) -> tuple[str, str] | None:
    """The ``id`` and ``ts`` of a line this version wrote; None for a line of another shape.

    The first ``"id"`` member, 32 characters, then ``"ts"``: in a line this version
    wrote, the envelope's (the tag and seq before it hold no such bytes). Found by plain
    searches, not a regular expression (several times slower a line). Should a line have
    another shape, the stamps may be other bytes: no verdict changes (the check ignores
    ``id`` and ``ts``), only the line's byte-for-byte match is lost.
    """
    at = line.find(_ID)
    if at == -1 or not line.startswith(_TS, at + 39):
        return None
    end = line.find(b'"', at + 47)
    try:
        return line[at + 7 : at + 39].decode("ascii"), line[at + 47 : end].decode("ascii")
    except UnicodeDecodeError:
        return None


class StampSource:
    """The lines of the log at ``path``, asked for in seq order (line ``n`` is seq ``n``)."""

    def __init__(self, path: Path) -> None:
        self._file: BinaryIO | None = open(path, "rb")  # noqa: SIM115 (closed by close())
        self._lines: list[bytes] = []  # the complete lines of the current block
        self._first = 1  # the seq of ``_lines[0]``
        self._tail = b""  # the bytes after the block's last newline
        self._asked = 0  # the last seq asked for

    def line(self, seq: int) -> bytes | None:
        """The line with ``seq``, without its newline; None when there is none (past the
        end, a torn last line, or a seq not after the last one asked for)."""
        if seq <= self._asked:
            return None
        self._asked = seq
        while seq - self._first >= len(self._lines):
            if not self._more():
                return None
        return self._lines[seq - self._first]

    def take(self, seq: int) -> tuple[str, str] | None:
        """The ``id`` and ``ts`` of the line with ``seq``; None when there is none (see
        :meth:`line`) or the line has another shape."""
        line = self.line(seq)
        return stamps_of(line) if line is not None else None

    def _more(self) -> bool:
        """Read the next block's lines; False at the end of the file."""
        f = self._file
        data = f.read(_BLOCK) if f is not None else b""
        if not data:
            self.close()
            return False
        data = self._tail + data
        cut = data.rfind(b"\n")
        self._first += len(self._lines)
        self._lines = data[:cut].split(b"\n") if cut != -1 else []
        self._tail = data[cut + 1 :]
        return True

    def close(self) -> None:
        """Release the file; nothing more is taken."""
        f, self._file = self._file, None
        self._lines, self._tail = [], b""
        if f is not None:
            f.close()
