"""A file written whole under a temp name, then renamed over its name in one step.

The one way ``store`` replaces a file: the projections (``plan.json`` … and ``files/``) and
a pack's index. The temp file is created beside the target (``O_EXCL``, no link
followed), every byte written, synced when the caller says how, and renamed in; on any
error it is removed and the target is as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

__all__ = ["replace_at"]


def replace_at(
    dir_fd: int,
    name: str,
    data: bytes,
    *,
    tmp: str,
    mode: int,
    sync: Callable[[int], None] | None = None,
) -> None:
    """Write ``data`` to ``tmp`` in ``dir_fd`` (``mode``; ``sync(fd)`` before closing it,
    if given) and rename it over ``name``: a link at ``name`` is replaced, not written
    through. The caller syncs the directory."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, mode, dir_fd=dir_fd)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync is not None:
                sync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
