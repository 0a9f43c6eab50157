"""The run's content-addressed object store: immutable bytes the log points at by hash.

``objects/`` holds contents (a workspace's base, requests) named by their SHA-256, as git
holds blobs; every object is durable before the event that names it, and bytes already
stored are not written again. A live run's own objects are in its run pack
(:mod:`store.run_pack`); this store reads them there too.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from store import _pack_files
from store._lock import LogLock
from store._safe_open import exists, open_dir, open_regular, read_all, read_at
from store.errors import ObjectProblem
from store.run_pack import PACK_NAME, cut_pack_debris, pack_damage, run_pack, scan_pack

__all__ = [
    "OBJECTS_DIR",
    "PACKS_DIR",
    "ObjectProblem",
    "ObjectStore",
    "PackWriter",
    "clear_debris",
    "object_hash",
    "share_objects",
]

#: The directory of a run that holds its objects.
OBJECTS_DIR = "objects"
#: The directory under ``objects/`` that holds packs.
PACKS_DIR = "packs"
_HEX = frozenset("0123456789abcdef")
_FAN = re.compile(r"[0-9a-f]{2}")
_REST = re.compile(r"[0-9a-f]{62}")
#: A temp file of an object or pack being written (``.<name>.<random>.tmp``).
_TEMP = re.compile(r"\..*\.tmp")
#: How many bytes :func:`share_objects` gathers into one pack of the copy.
_SHARE_BATCH = 8 << 20
T = TypeVar("T")


def object_hash(data: bytes) -> str:
    """The name of ``data`` in the store: its SHA-256, 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


class ObjectStore:
    """The objects of one run directory (created on first write).

    An object is loose (``objects/ab/cdef…``), in a pack (``objects/packs/<id>.pack``,
    blobs end to end, ``<id>.idx`` listing ``hash offset size`` lines, renamed in after
    the pack is synced: :meth:`put_many` of a batch), or in the run pack
    (``objects/run.pack``). :meth:`get` checks the bytes against the name wherever they
    live, so a changed object is never served.

    The run directory is the caller's; below it, ``objects/``, its fan-out and pack
    directories must be real directories and every object, pack and index a regular
    file: they are opened relative to their parent with ``O_NOFOLLOW`` (see
    :mod:`store._safe_open`), so a symbolic link or a FIFO planted in a run directory
    is reported as damage (:class:`ObjectProblem`), never followed, read or waited on.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.root = self.run_dir / OBJECTS_DIR
        self._packed: dict[str, tuple[Path, int, int]] | None = None

    def path(self, digest: str) -> Path:
        """Where the loose object ``digest`` lives (whether or not it exists)."""
        if len(digest) != 64 or not _HEX.issuperset(digest):
            raise ObjectProblem(self.root / digest, "not an object name (64 hex digits)")
        return self.root / digest[:2] / digest[2:]

    def location(self, digest: str) -> str:
        """Where object ``digest`` is, for messages: its file, or its pack and offset."""
        loose = self.path(digest)
        found = self._find(digest)
        if found is None or self._loose_exists(digest):
            return str(loose)
        pack, offset, _ = found
        return f"{pack} (object {digest[:12]} at offset {offset})"

    def __contains__(self, digest: str) -> bool:
        """Whether ``digest`` is stored (loose, whatever its kind, or packed).

        Raises :class:`ObjectProblem` when ``objects/`` itself is damaged.
        """
        if len(digest) != 64 or not _HEX.issuperset(digest):
            return False  # not an object name (and never a path to look at)
        return self._find(digest) is not None or self._loose_exists(digest)

    def _loose_exists(self, digest: str) -> bool:
        with self._dir(digest[:2]) as fan:
            return fan is not None and exists(digest[2:], fan, self.path(digest))

    def names(self) -> list[str]:
        """Every object stored, loose or packed, sorted (each once)."""
        found = set(self._index())
        with self._dir() as root:
            fans = [] if root is None else [n for n in os.listdir(root) if _FAN.fullmatch(n)]
        for fan_name in fans:
            with self._dir(fan_name) as fan:
                if fan is not None:
                    found.update(fan_name + n for n in os.listdir(fan) if _REST.fullmatch(n))
        return sorted(found)

    @contextlib.contextmanager
    def _dir(self, *names: str, create: bool = False, sync: bool = False) -> Iterator[int | None]:
        """A descriptor of ``objects/<names…>``, each opened without following a link;
        None when one is missing (made with ``create``, its parent synced with ``sync``)."""
        fds: list[int] = []
        try:
            if create:
                self.run_dir.mkdir(parents=True, exist_ok=True)
            try:
                fds.append(os.open(self.run_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
            except FileNotFoundError:
                pass
            except OSError as exc:  # not a directory, or not ours to read
                raise ObjectProblem(self.run_dir, f"cannot be read ({exc.strerror})") from None
            path = self.run_dir
            for name in (OBJECTS_DIR, *names) if fds else ():
                path = path / name
                sub = open_dir(name, fds[-1], path)
                if sub is None and create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, dir_fd=fds[-1])
                    if sync:
                        os.fsync(fds[-1])
                    sub = open_dir(name, fds[-1], path)
                if sub is None:
                    break
                fds.append(sub)
            else:
                if fds:
                    yield fds[-1]
                    return
            yield None
        finally:
            for fd in fds:
                os.close(fd)

    def put(self, data: bytes) -> str:
        """Store ``data``; its hash. While the run goes on in this process, in its run pack
        (durable before the event naming it is written, see :mod:`store.run_pack`); else
        as a loose object, synced now."""
        live = run_pack(self.run_dir)
        if live is None:
            return self.put_many([data])[0][0]
        digest = object_hash(data)
        live.add(data, digest)
        return digest

    def put_many(self, blobs: Iterable[bytes]) -> list[tuple[str, bool]]:
        """Store every blob durably; for each, its hash and whether it was new.

        Blobs already stored (loose or packed), or repeated in the batch, are not
        written again. More than one new blob go into one new pack. ``blobs`` is
        consumed one at a time (see :meth:`writer`): a generator of file contents is
        stored in the memory of one blob, not of all of them.
        """
        with self.writer() as writer:
            return [writer.add(data) for data in blobs]

    def writer(self) -> PackWriter:
        """A :class:`PackWriter` storing blobs one at a time, durably when it closes."""
        return PackWriter(self)

    def _write_loose(self, digest: str, data: bytes) -> None:
        """One loose object, synced, then its directory entry and any directory it needed."""
        self.path(digest)
        with self._dir(digest[:2], create=True, sync=True) as fan:
            assert fan is not None
            _pack_files.write_new(fan, digest[2:], data, sync=True)
            os.fsync(fan)

    def get(self, digest: str) -> bytes:
        """The bytes of object ``digest``; :class:`ObjectProblem` if missing, changed, or
        anything but a regular file in real directories."""
        path = self.path(digest)
        with self._dir() as root:
            data = None if root is None else self._read_file(root, digest[:2], digest[2:])
            if data is not None:
                where = str(path)
            else:
                found = self._find(digest)
                if found is None or root is None:
                    raise ObjectProblem(path, "missing")
                pack, offset, size = found
                data = self._read_packed(root, digest, pack, offset, size)
                where = f"{pack} (object {digest[:12]} at offset {offset})"
        if object_hash(data) != digest:
            raise ObjectProblem(Path(where), "changed: its bytes no longer match its name")
        return data

    def size(self, digest: str) -> int:
        """How many bytes object ``digest`` holds, unread and unchecked (:meth:`get` checks);
        :class:`ObjectProblem` when it is missing or anything but a regular file."""
        path = self.path(digest)
        with self._dir() as root:
            fd = None if root is None else self._open_file(root, digest[:2], digest[2:])
            if fd is not None:
                try:
                    return os.fstat(fd).st_size
                finally:
                    os.close(fd)
        found = self._find(digest)
        if found is None:
            raise ObjectProblem(path, "missing")
        return found[2]

    def problem(self, digest: str) -> str | None:
        """Why object ``digest`` cannot be served, or None when it is fine."""
        try:
            self.get(digest)
        except ObjectProblem as exc:
            return exc.reason
        return None

    def _open_file(self, root: int, folder: str, name: str) -> int | None:
        """A descriptor of the regular file ``objects/<folder>/<name>``, or None."""
        fd = open_dir(folder, root, self.root / folder)
        if fd is None:
            return None
        try:
            return open_regular(name, fd, self.root / folder / name)
        finally:
            os.close(fd)

    def _read_file(self, root: int, folder: str, name: str) -> bytes | None:
        """Every byte of the regular file ``objects/<folder>/<name>``, or None."""
        fd = self._open_file(root, folder, name)
        if fd is None:
            return None
        try:
            return read_all(fd, self.root / folder / name)
        finally:
            os.close(fd)

    def pack_damage(self) -> list[tuple[str, str, str]]:
        """What is wrong in the run pack (see :func:`store.run_pack.pack_damage`)."""
        with self._dir() as root:
            found = None if root is None else self._run_pack(root, self._damage)
        return found or []

    def _damage(self, fd: int) -> list[tuple[str, str, str]]:
        return pack_damage(fd, self.root / PACK_NAME)

    def _run_pack(self, root: int, read: Callable[[int], T]) -> T | None:
        """``read`` of the run pack's descriptor (None: there is none)."""
        fd = open_regular(PACK_NAME, root, self.root / PACK_NAME)
        try:
            return None if fd is None else read(fd)
        finally:
            if fd is not None:
                os.close(fd)

    def _read_packed(self, root: int, digest: str, pack: Path, offset: int, size: int) -> bytes:
        if pack.name == PACK_NAME:
            data = self._run_pack(root, lambda fd: read_at(fd, offset, size, pack))
            if data is None:
                raise ObjectProblem(pack, f"missing (it holds object {digest[:12]})")
            return data
        fd = self._open_file(root, PACKS_DIR, pack.name)
        if fd is None:
            raise ObjectProblem(pack, f"missing (it holds object {digest[:12]})")
        try:
            data = read_at(fd, offset, size, pack)
        finally:
            os.close(fd)
        if len(data) != size:
            where = Path(f"{pack} (object {digest[:12]} at offset {offset})")
            raise ObjectProblem(where, "changed: the pack was cut short")
        return data

    def _find(self, digest: str) -> tuple[Path, int, int] | None:
        """Where ``digest`` is packed: in a pack, or in the run pack (also a record this
        process appended since the index was read, while its run goes on)."""
        found = self._index().get(digest)
        live = run_pack(self.run_dir) if found is None else None
        at = live.where(digest) if live is not None else None
        return found if at is None else (self.root / PACK_NAME, *at)

    def _index(self) -> dict[str, tuple[Path, int, int]]:
        """Every packed object: hash -> (pack, offset, size), read once per store."""
        if self._packed is None:
            packed: dict[str, tuple[Path, int, int]] = {}
            folder = self.root / PACKS_DIR
            with self._dir(PACKS_DIR) as packs:
                for name in sorted(os.listdir(packs)) if packs is not None else ():
                    if name.endswith(".idx") and not name.startswith("."):
                        assert packs is not None
                        pack = folder / f"{name[:-4]}.pack"
                        for digest, at in _pack_files.index_lines(packs, name, folder / name):
                            packed.setdefault(digest, (pack, *at))
            with self._dir() as root:
                scan = None if root is None else self._run_pack(root, scan_pack)
            for digest, at in scan.records.items() if scan else ():
                packed.setdefault(digest, (self.root / PACK_NAME, *at))
            self._packed = packed
        return self._packed

    def _write_pack(self, blobs: dict[str, bytes], *, sync: bool = True) -> None:
        """One pack for ``blobs``: data synced, then the index renamed in and synced."""
        offsets = itertools.accumulate((len(data) for data in blobs.values()), initial=0)
        lines = [f"{d} {at} {len(b)}\n" for (d, b), at in zip(blobs.items(), offsets, strict=False)]
        index = "".join(lines).encode("ascii")
        name = object_hash(index)[:40]
        with self._dir(PACKS_DIR, create=True, sync=sync) as packs:
            assert packs is not None
            _pack_files.write_new(packs, f"{name}.pack", b"".join(blobs.values()), sync=sync)
            _pack_files.write_new(packs, f"{name}.idx", index, sync=sync)
            if sync:
                os.fsync(packs)
        self._packed = None

    def debris(self) -> list[Path]:
        """Leftovers of writes a crash cut short: temp files, packs whose index never
        arrived, a run pack's torn end. Only the run's writer may remove them."""
        found = [self.root.joinpath(*parts) for parts in self._debris()]
        with contextlib.suppress(ObjectProblem), self._dir() as root:
            if root is not None and self._run_pack(root, lambda fd: scan_pack(fd).debris > 0):
                found.append(self.root / PACK_NAME)  # a record cut short at its end
        return found

    def remove_debris(self) -> list[Path]:
        """Remove :meth:`debris` (never following a link); what was removed."""
        removed: list[Path] = []
        for folder, name in self._debris():
            with self._dir(folder) as fd:
                if fd is not None:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=fd)
                        removed.append(self.root / folder / name)
        with contextlib.suppress(ObjectProblem), self._dir() as root:
            if root is not None and cut_pack_debris(root, self.root / PACK_NAME):
                removed.append(self.root / PACK_NAME)
        return removed

    def _debris(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        try:
            with self._dir() as root:
                folders = [] if root is None else sorted(os.listdir(root))
            for folder in folders:
                if folder != PACKS_DIR and not _FAN.fullmatch(folder):
                    continue
                with self._dir(folder) as fd:
                    entries = set() if fd is None else set(os.listdir(fd))
                for name in sorted(entries):
                    # a temp file, or a pack whose index never arrived (cut in between)
                    orphan = name.endswith(".pack") and f"{name[:-5]}.idx" not in entries
                    if _TEMP.fullmatch(name) or (folder == PACKS_DIR and orphan):
                        found.append((folder, name))
        except ObjectProblem:
            pass  # damage, not debris: verify reports it, and nothing is removed there
        return found


class PackWriter:
    """Blobs stored one at a time into one new pack, streamed to disk as they come.

    A context manager: :meth:`add` appends a blob new to the store and to this writer to
    the pack's temp file (a lone new blob becomes a loose object). A clean exit syncs the
    pack, renames it in, then its index, and syncs the directory; an exception removes
    the temp file. Only the index is held in memory; the pack is written back as it grows.
    """

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._seen: set[str] = set()
        with store._dir() as root:  # a blob is looked up loose only where there are any
            loose = root is not None and any(map(_FAN.fullmatch, os.listdir(root)))
        self._stored = store.__contains__ if loose else lambda d: store._find(d) is not None
        self._first: tuple[str, bytes] | None = None  # a lone new blob becomes loose
        self._lines: list[str] = []
        self._offset = 0
        self._stack = contextlib.ExitStack()
        self._packs, self._fd, self._tmp, self._flushed = -1, -1, "", 0

    def __enter__(self) -> PackWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                self._finish()
        finally:
            if self._fd >= 0:
                os.close(self._fd)
            if self._tmp:  # not renamed in: a failed write leaves no debris
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._tmp, dir_fd=self._packs)
            self._stack.close()

    def add(self, data: bytes) -> tuple[str, bool]:
        """Store ``data`` (when new); its hash and whether it was new."""
        digest = object_hash(data)
        new = digest not in self._seen and not self._stored(digest)
        if new:
            self._seen.add(digest)
            if self._first is None and self._fd < 0:
                self._first = (digest, data)
            else:
                if self._fd < 0:
                    self._open()
                if self._first is not None:
                    self._append(*self._first)
                    self._first = None
                self._append(digest, data)
        return digest, new

    def _open(self) -> None:
        packs = self._stack.enter_context(self._store._dir(PACKS_DIR, create=True, sync=True))
        assert packs is not None
        self._packs = packs
        self._tmp = f".pack.{secrets.token_hex(8)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        self._fd = os.open(self._tmp, flags, 0o444, dir_fd=packs)

    def _append(self, digest: str, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        self._lines.append(f"{digest} {self._offset} {len(data)}\n")
        self._offset += len(data)
        self._flushed = _pack_files.start_writeback(self._fd, self._flushed, self._offset)

    def _finish(self) -> None:
        if self._fd < 0:
            if self._first is not None:
                self._store._write_loose(*self._first)
            return
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1
        index = "".join(self._lines).encode("ascii")
        name = object_hash(index)[:40]
        os.replace(self._tmp, f"{name}.pack", src_dir_fd=self._packs, dst_dir_fd=self._packs)
        self._tmp = ""
        _pack_files.write_new(self._packs, f"{name}.idx", index, sync=True)
        os.fsync(self._packs)
        self._store._packed = None


def share_objects(
    source_run: str | Path,
    dest_run: str | Path,
    *,
    digests: Iterable[str] | None = None,
    durable: bool = True,
) -> int:
    """Give ``dest_run`` copies of the objects of ``source_run`` (all of them, or just
    ``digests``); return how many were shared.

    Each object is read through :meth:`ObjectStore.get`, so only bytes that match their
    name are copied: a link, a FIFO or a changed object in the source raises
    :class:`ObjectProblem` and is never copied (nor anything it points at). The copies
    are new files of the store's own making, gathered into packs of about 8 MiB;
    ``durable`` syncs them (a fork), a throwaway run (a replay's) skips that.
    """
    src, dst = ObjectStore(source_run), ObjectStore(dest_run)
    wanted = src.names() if digests is None else sorted(set(digests))
    batch: dict[str, bytes] = {}
    size = 0
    for digest in wanted:
        data = src.get(digest)
        if digest in dst:
            continue
        batch[digest] = data
        size += len(data)
        if size >= _SHARE_BATCH:
            dst._write_pack(batch, sync=durable)
            batch, size = {}, 0
    if batch:
        dst._write_pack(batch, sync=durable)
    return len(wanted)


def clear_debris(log_path: Path) -> list[Path]:
    """Remove the object debris of the run whose log is ``log_path``, holding that log's
    writer lock (so no write in flight is taken for debris); what was removed.

    Raises :class:`~store.errors.LogLocked` while a run is writing.
    """
    lock = LogLock.acquire(log_path, create=False)
    try:
        return ObjectStore(log_path.parent).remove_debris()
    finally:
        lock.release()
