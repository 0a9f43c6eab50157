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
    "PACKS_DIR",
    "ObjectProblem",
    "ObjectStore",
    "object_hash",
    "share_objects",
]

#: The directory of a run that holds its objects.
OBJECTS_DIR = "objects"
#: The directory under ``objects/`` that holds packs.
PACKS_DIR = "packs"
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

    An object is either loose (``objects/ab/cdef…``, one file) or in a pack
    (``objects/packs/<id>.pack``, blobs end to end, with ``<id>.idx`` listing
    ``hash offset size`` per line): :meth:`put_many` packs a batch, so recording a
    repository creates two files, not one per file, and makes them durable with three
    fsyncs. The index is renamed into place last, after the pack is synced, so an
    object is never listed before its bytes are durable. :meth:`get` checks the bytes
    against the name wherever they live, so a changed object is never served.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.root = Path(run_dir) / OBJECTS_DIR
        self._packed: dict[str, tuple[Path, int, int]] | None = None

    def path(self, digest: str) -> Path:
        """Where the loose object ``digest`` lives (whether or not it exists)."""
        if len(digest) != 64 or not _HEX.issuperset(digest):
            raise ObjectProblem(self.root / digest, "not an object name (64 hex digits)")
        return self.root / digest[:2] / digest[2:]

    def location(self, digest: str) -> str:
        """Where object ``digest`` is, for messages: its file, or its pack and offset."""
        loose = self.path(digest)
        found = self._index().get(digest)
        if found is None or loose.exists():
            return str(loose)
        pack, offset, _ = found
        return f"{pack} (object {digest[:12]} at offset {offset})"

    def __contains__(self, digest: str) -> bool:
        if len(digest) != 64 or not _HEX.issuperset(digest):
            return False  # not an object name (and never a path to look at)
        if digest in self._index():
            return True
        return os.path.exists(f"{self.root}/{digest[:2]}/{digest[2:]}")

    def put(self, data: bytes) -> str:
        """Store ``data`` durably (as a loose object); return its hash."""
        digest, _ = self.put_many([data])[0]
        return digest

    def put_many(self, blobs: Iterable[bytes]) -> list[tuple[str, bool]]:
        """Store every blob durably; for each, its hash and whether it was new.

        Blobs already stored (loose or packed), or repeated in the batch, are not
        written again. More than one new blob go into one new pack.
        """
        out: list[tuple[str, bool]] = []
        fresh: dict[str, bytes] = {}
        for data in blobs:
            digest = object_hash(data)
            new = digest not in fresh and digest not in self
            if new:
                fresh[digest] = data
            out.append((digest, new))
        if len(fresh) == 1:
            ((digest, data),) = fresh.items()
            self._write_loose(digest, data)
        elif fresh:
            self._write_pack(fresh)
        return out

    def _write_loose(self, digest: str, data: bytes) -> None:
        """One loose object, synced, then its directory entry and any directory it needed
        (a request per model call: a few targeted fsyncs, no ``syncfs`` of the disk)."""
        target = self.path(digest)
        created = [d for d in (self.root, target.parent) if not d.exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_new(target, data, sync=True)
        _fsync_dirs([target.parent, *(d.parent for d in reversed(created))])

    def get(self, digest: str) -> bytes:
        """The bytes of object ``digest``; :class:`ObjectProblem` if missing or changed."""
        path = self.path(digest)
        where: str | Path = path
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            found = self._index().get(digest)
            if found is None:
                raise ObjectProblem(path, "missing") from None
            data = self._read_packed(digest, *found)
            where = self.location(digest)
        except OSError as exc:
            raise ObjectProblem(path, f"cannot be read ({exc.strerror})") from None
        if object_hash(data) != digest:
            raise ObjectProblem(Path(where), "changed: its bytes no longer match its name")
        return data

    def problem(self, digest: str) -> str | None:
        """Why object ``digest`` cannot be served (missing, changed), or None when it is fine."""
        try:
            self.get(digest)
        except ObjectProblem as exc:
            return exc.reason
        return None

    def _read_packed(self, digest: str, pack: Path, offset: int, size: int) -> bytes:
        try:
            with open(pack, "rb") as f:
                f.seek(offset)
                data = f.read(size)
        except FileNotFoundError:
            raise ObjectProblem(pack, f"missing (it holds object {digest[:12]})") from None
        except OSError as exc:
            raise ObjectProblem(pack, f"cannot be read ({exc.strerror})") from None
        if len(data) != size:
            raise ObjectProblem(Path(self.location(digest)), "changed: the pack was cut short")
        return data

    def _index(self) -> dict[str, tuple[Path, int, int]]:
        """Every packed object: hash -> (pack, offset, size), read once per store."""
        if self._packed is None:
            packed: dict[str, tuple[Path, int, int]] = {}
            for idx in sorted((self.root / PACKS_DIR).glob("*.idx")):
                pack = idx.with_suffix(".pack")
                for line in idx.read_text("ascii", "replace").splitlines():
                    digest, offset, size = line.split()
                    packed.setdefault(digest, (pack, int(offset), int(size)))
            self._packed = packed
        return self._packed

    def _write_pack(self, blobs: dict[str, bytes]) -> None:
        """One pack for ``blobs``: data synced, then the index renamed in and synced."""
        packs = self.root / PACKS_DIR
        packs.mkdir(parents=True, exist_ok=True)
        lines: list[str] = []
        offset = 0
        for digest, data in blobs.items():
            lines.append(f"{digest} {offset} {len(data)}\n")
            offset += len(data)
        index = "".join(lines).encode("ascii")
        name = object_hash(index)[:40]
        _write_new(packs / f"{name}.pack", b"".join(blobs.values()), sync=True)
        _write_new(packs / f"{name}.idx", index, sync=True)
        _fsync_dirs([packs, self.root, self.root.parent])
        self._packed = None


def _write_new(target: Path, data: bytes, *, sync: bool = False) -> None:
    """Write ``data`` to a temp file beside ``target`` (fsynced with ``sync``) and rename
    it into place, read-only."""
    tmp = target.with_name(f".{target.name[:16]}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o444)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
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
    _fsync_dirs([*sorted(dirs), root, root.parent])


def _fsync_dirs(directories: Iterable[Path]) -> None:
    for directory in directories:
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
    # Pack indexes go last: an index is what makes a pack's objects visible.
    for obj in sorted(src.glob("*/*"), key=lambda p: (p.suffix == ".idx", str(p))):
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
