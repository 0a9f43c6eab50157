"""The files of an object pack: its index lines, and a file written whole then renamed in."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

from store._atomic import replace_at
from store._safe_open import open_regular, read_all
from store.errors import ObjectProblem

__all__ = ["WRITEBACK_EVERY", "index_lines", "start_writeback", "write_new"]

_HEX = frozenset("0123456789abcdef")
#: How many bytes a pack being written gathers before their writeback is started.
WRITEBACK_EVERY = 8 << 20
_SYNC_FILE_RANGE_WRITE = 2
_sync_file_range: list[Callable[[int, int, int, int], int] | None] = []


def start_writeback(fd: int, done: int, end: int) -> int:
    """Start writing the bytes ``done``..``end`` of the file ``fd`` to disk, without
    waiting, once they are :data:`WRITEBACK_EVERY` or more (Linux ``sync_file_range``):
    the disk works while the writer goes on, and the ``fsync`` that makes the file
    durable waits only for what is left. Where writeback is started up to, now.

    Durability is unchanged (the caller still syncs); where the call is not available
    nothing is started and the sync does it all."""
    if end - done < WRITEBACK_EVERY:
        return done
    if not _sync_file_range:
        _sync_file_range.append(_libc_sync_file_range())
    call = _sync_file_range[0]
    if call is not None:
        call(fd, done, end - done, _SYNC_FILE_RANGE_WRITE)  # an error only loses the head start
    return end


def _libc_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only when a pack grows past WRITEBACK_EVERY

    try:
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    call.restype = ctypes.c_int
    return cast("Callable[[int, int, int, int], int]", call)


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
