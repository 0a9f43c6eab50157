"""Opening what ``objects/`` holds: real directories and regular files only.

A run directory may come from someone else (a copied or unpacked run), so the store
must not be tricked into reading past it: every directory is opened relative to its
parent's descriptor with ``O_NOFOLLOW | O_DIRECTORY``, and every file with
``O_NOFOLLOW | O_NONBLOCK`` after an ``lstat`` says it is a regular file, then checked
again with ``fstat`` on what was opened. A symbolic link, a FIFO (which would block a
reader forever), a socket or a device is never read: it is damage, reported as
:class:`~store.errors.ObjectProblem` naming the path and what is there instead.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from store.errors import ObjectProblem

__all__ = ["exists", "kind_of", "open_dir", "open_regular", "read_all", "read_at"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISREG, "a regular file"),
)


def kind_of(mode: int) -> str:
    """What a file of ``mode`` is, for a message: ``a FIFO``, ``a symbolic link`` ..."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "an unknown kind of file"


def _lstat(name: str, dir_fd: int, path: Path) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ObjectProblem(path, f"cannot be read ({exc.strerror})") from None


def exists(name: str, dir_fd: int, path: Path) -> bool:
    """Whether ``name`` is in the directory ``dir_fd``, whatever it is (no link followed)."""
    return _lstat(name, dir_fd, path) is not None


def open_dir(name: str, dir_fd: int, path: Path) -> int | None:
    """A descriptor of the real directory ``name`` in ``dir_fd``; None when nothing is
    there. ``path`` names it in messages."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise ObjectProblem(path, f"cannot be read ({exc.strerror})") from None
    st = _lstat(name, dir_fd, path)
    if st is None:
        return None
    raise ObjectProblem(path, f"{kind_of(st.st_mode)}, not a directory")


def open_regular(name: str, dir_fd: int, path: Path) -> int | None:
    """A read-only descriptor of the regular file ``name`` in ``dir_fd``; None when
    nothing is there. Anything else (a link, a FIFO ...) is never opened for reading."""
    st = _lstat(name, dir_fd, path)
    if st is None:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise ObjectProblem(path, f"{kind_of(st.st_mode)}, not a regular file")
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ObjectProblem(path, "a symbolic link, not a regular file") from None
        raise ObjectProblem(path, f"cannot be read ({exc.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # replaced between the lstat and the open
        os.close(fd)
        raise ObjectProblem(path, f"{kind_of(mode)}, not a regular file")
    return fd


def read_all(fd: int, path: Path) -> bytes:
    """Every byte of the open file ``fd``."""
    chunks: list[bytes] = []
    try:
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    except OSError as exc:
        raise ObjectProblem(path, f"cannot be read ({exc.strerror})") from None
    return b"".join(chunks)


def read_at(fd: int, offset: int, size: int, path: Path) -> bytes:
    """Up to ``size`` bytes of ``fd`` from ``offset`` (fewer only at the end of the file)."""
    chunks: list[bytes] = []
    try:
        while size > 0 and (chunk := os.pread(fd, min(size, 1 << 24), offset)):
            chunks.append(chunk)
            offset += len(chunk)
            size -= len(chunk)
    except OSError as exc:
        raise ObjectProblem(path, f"cannot be read ({exc.strerror})") from None
    return b"".join(chunks)
