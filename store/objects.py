"""The run's content-addressed object store: immutable bytes the log points at by hash.

``objects/`` holds file contents (a workspace's base) named by their SHA-256, as git
holds blobs: ``objects/ab/cdef…``. The log stays the one record of what happened; an event
names objects by hash, and every object is written and synced before the event that names
it. Writing an object that is already there writes nothing, so a run directory never
stores the same bytes twice.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from store.errors import LogError

__all__ = [
    "OBJECTS_DIR",
    "ObjectProblem",
    "ObjectStore",
    "object_hash",
    "share_objects",
]

#: The directory of a run that holds its objects.
OBJECTS_DIR = "objects"
_HEX = frozenset("0123456789abcdef")


def object_hash(data: bytes) -> str:
    """The name of ``data`` in the store: its SHA-256, 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


class ObjectProblem(LogError):
    """An object a log names is missing or does not hold the bytes its name promises."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class ObjectStore:
    """The objects of one run directory (created on first write).

    :meth:`put_many` is the write path: every new object goes to a temp file and is
    renamed into place, then one filesystem sync makes all of them (and their
    directories) durable before it returns. :meth:`get` checks the bytes against the
    name, so a changed object is never served.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.root = Path(run_dir) / OBJECTS_DIR

    def path(self, digest: str) -> Path:
        """Where the object ``digest`` lives (whether or not it exists)."""
        if len(digest) != 64 or not _HEX.issuperset(digest):
            raise ObjectProblem(self.root / digest, "not an object name (64 hex digits)")
        return self.root / digest[:2] / digest[2:]

    def put(self, data: bytes) -> str:
        """Store ``data`` durably; return its hash."""
        digest, _ = self.put_many([data])[0]
        return digest

    def put_many(self, blobs: Iterable[bytes]) -> list[tuple[str, bool]]:
        """Store every blob durably; for each, its hash and whether it was new.

        New objects are written without a per-file fsync and made durable by one sync
        of the filesystem at the end (``syncfs``; a per-file fsync where that is missing).
        """
        out: list[tuple[str, bool]] = []
        written: list[Path] = []
        dirs: set[Path] = set()
        for data in blobs:
            digest = object_hash(data)
            target = self.path(digest)
            if target.exists():
                out.append((digest, False))
                continue
            if target.parent not in dirs and not target.parent.is_dir():
                target.parent.mkdir(parents=True, exist_ok=True)
            dirs.add(target.parent)
            _write_new(target, data)
            written.append(target)
            out.append((digest, True))
        if written:
            _make_durable(self.root, written, dirs)
        return out

    def get(self, digest: str) -> bytes:
        """The bytes of object ``digest``; :class:`ObjectProblem` if missing or changed."""
        path = self.path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ObjectProblem(path, "missing") from None
        except OSError as exc:
            raise ObjectProblem(path, f"cannot be read ({exc.strerror})") from None
        if object_hash(data) != digest:
            raise ObjectProblem(path, "changed: its bytes no longer match its name")
        return data

    def problem(self, digest: str) -> str | None:
        """Why object ``digest`` cannot be served (missing, changed), or None when it is fine."""
        try:
            self.get(digest)
        except ObjectProblem as exc:
            return exc.reason
        return None


def _write_new(target: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``target`` and rename it into place (read-only)."""
    tmp = target.with_name(f".{target.name[:16]}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o444)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_libc: ctypes.CDLL | None = None
_SYNCFS_TRIED = False


def _syncfs(fd: int) -> bool:
    """``syncfs(fd)`` where the C library has it (Linux); False when it could not run."""
    global _libc, _SYNCFS_TRIED
    if not _SYNCFS_TRIED:
        _SYNCFS_TRIED = True
        name = ctypes.util.find_library("c")
        with contextlib.suppress(OSError):
            _libc = ctypes.CDLL(name, use_errno=True) if name else None
    if _libc is None or not hasattr(_libc, "syncfs"):
        return False
    return bool(_libc.syncfs(fd) == 0)


def _make_durable(root: Path, files: list[Path], dirs: set[Path]) -> None:
    """Make new objects and the directory entries naming them durable."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _syncfs(fd):
            return
    finally:
        os.close(fd)
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    for directory in (*sorted(dirs), root, root.parent):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def share_objects(source_run: str | Path, dest_run: str | Path, *, link_dir: bool = False) -> int:
    """Give ``dest_run`` the objects of ``source_run``; return how many were shared.

    ``link_dir`` symlinks the whole directory (a replay's throwaway run reads it only);
    otherwise each object is hard-linked (copied across filesystems), so the new run
    keeps its base when the source is deleted. Objects are immutable, so sharing is safe.
    """
    src = Path(source_run) / OBJECTS_DIR
    dst = Path(dest_run) / OBJECTS_DIR
    if not src.is_dir():
        return 0
    if link_dir:
        dst.symlink_to(src.resolve(), target_is_directory=True)
        return sum(1 for _ in src.glob("*/*"))
    shared = 0
    for obj in sorted(src.glob("*/*")):
        if obj.name.startswith("."):
            continue
        target = dst / obj.parent.name / obj.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            try:
                os.link(obj, target)
            except OSError:
                _write_new(target, obj.read_bytes())
        shared += 1
    if shared:
        _make_durable(dst, [], set())
    return shared
