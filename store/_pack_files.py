"""The files of an object pack: its index lines, and a file written whole then renamed in."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from store._atomic import replace_at
from store._safe_open import open_regular, read_all
from store.errors import ObjectProblem

__all__ = ["index_lines", "write_new"]

_HEX = frozenset("0123456789abcdef")


def index_lines(packs: int, name: str, path: Path) -> Iterator[tuple[str, tuple[int, int]]]:
    """The ``hash offset size`` lines of the pack index ``name`` (a regular file)."""
    fd = open_regular(name, packs, path)
    if fd is None:
        return
    try:
        text = read_all(fd, path).decode("ascii", "replace")
    finally:
        os.close(fd)
    for line_no, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if (
            len(parts) != 3
            or len(parts[0]) != 64
            or not _HEX.issuperset(parts[0])
            or not (parts[1].isdigit() and parts[2].isdigit())
        ):
            raise ObjectProblem(path, f"line {line_no} is not 'hash offset size'")
        yield parts[0], (int(parts[1]), int(parts[2]))


def write_new(dir_fd: int, name: str, data: bytes, *, sync: bool = False) -> None:
    """Write ``data`` to a temp file in ``dir_fd`` (fsynced with ``sync``) and rename it
    to ``name``, read-only; no link is followed."""
    tmp = f".{name[:16]}.{secrets.token_hex(4)}.tmp"
    replace_at(dir_fd, name, data, tmp=tmp, mode=0o444, sync=os.fsync if sync else None)
