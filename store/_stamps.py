"""The ids and times of another log's lines, by seq: what a replay's scratch log takes.

A replay compares the log its re-run writes with the recorded one, ignoring each event's
``id`` and ``ts`` (new in every run). When the scratch log takes the recorded line's
``id`` and ``ts`` at the same seq, an event made again the same is the same line, byte
for byte, and the check compares lines with no cutting and no decoding; only lines that
differ are looked at more closely, as before. The recorded log is read forward once,
line by line, as the scratch log grows.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

__all__ = ["StampSource"]

_ID = b',"id":"'
_TS = b'","ts":"'


class StampSource:
    """The ``id`` and ``ts`` of each line of the log at ``path``, asked for in seq order."""

    def __init__(self, path: Path) -> None:
        self._file: BinaryIO | None = open(path, "rb")  # noqa: SIM115 (closed by close())
        self._read = 0  # lines read so far

    def take(self, seq: int) -> tuple[str, str] | None:
        """The ``id`` and ``ts`` of the line with ``seq``; None when there is none (past
        the end, a torn line, a line of another shape, or a seq asked for before)."""
        f = self._file
        if f is None or seq <= self._read:
            return None
        line = b""
        while self._read < seq:
            line = f.readline()
            if not line.endswith(b"\n"):
                self.close()
                return None
            self._read += 1
        # The first ``"id"`` member, 32 characters, then ``"ts"``: in a line this version
        # wrote, the envelope's (the tag and seq before it hold no such bytes). Found by
        # plain searches, not a regular expression (several times slower a line). Should
        # the log have changed since it was read, or a line have another shape, the
        # stamps may be other bytes: no verdict changes (the check ignores ``id`` and
        # ``ts``), only a line's byte-for-byte match is lost.
        at = line.find(_ID)
        if at == -1 or line[at + 39 : at + 47] != _TS:
            return None
        end = line.find(b'"', at + 47)
        try:
            return line[at + 7 : at + 39].decode("ascii"), line[at + 47 : end].decode("ascii")
        except UnicodeDecodeError:
            return None

    def close(self) -> None:
        """Release the file; nothing more is taken."""
        f, self._file = self._file, None
        if f is not None:
            f.close()
