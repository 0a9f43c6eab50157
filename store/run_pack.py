"""The run's own pack: the objects a run makes as it goes, appended to one file.

A model request (and an agent loop's edit or output) used to be a loose object, each a
new file in a new fan-out directory: an fsync of the file and of two directories per
object. A live run now appends them to ``objects/run.pack`` instead, created once per run
and held open while the run goes on. The format, version 1::

    agentlog pack 1\\n
    <sha256 hex> <size>\\n<size bytes>      one record per object, end to end

The file is its own index: a reader walks the headers with ``pread`` and skips the bytes.
Records are only appended, by the run's one writer (it holds the log's lock), before the
line naming them is written. At every commit point the log writer calls
:meth:`RunPack.sync` before it syncs the log (:meth:`store.LogWriter.sync_first`), which
``fdatasync``s the pack when it holds a record not yet synced (none when it holds nothing
new), and the first time also the directory entries it created: one sync covers every
record since the last commit (an agent loop's edits and the next request together). So
a completed sync never covers a line whose record is not durable. A line written since
may reach the disk before its record (writeback); after a power cut it names a record
the pack lacks and is the unsynced tail (:mod:`store.unsynced`). What a power cut leaves
after the last whole record (a torn record, zero bytes) is crash debris, which ``verify``
reports and ``verify --repair`` and ``resume`` cut off, as the log's torn tail. Records
whose bytes do not match their name are damage, never debris.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from store._safe_open import kind_of, open_dir
from store._together import together
from store.errors import ObjectProblem

__all__ = [
    "PACK_MAGIC",
    "PACK_NAME",
    "PackScan",
    "RunPack",
    "cut_pack_debris",
    "open_run_pack",
    "pack_damage",
    "run_pack",
    "scan_pack",
]

#: The run pack's name inside ``objects/``.
PACK_NAME = "run.pack"
#: The first line of a run pack: the format and its version.
PACK_MAGIC = b"agentlog pack 1\n"
_HEADER = re.compile(rb"([0-9a-f]{64}) (\d{1,19})")
#: A header cut short: part of a hash, maybe a space and part of a size.
_PARTIAL = re.compile(rb"[0-9a-f]{0,64}|[0-9a-f]{64} \d{0,19}")
_HEAD_MAX = 64 + 1 + 19 + 1
_ZERO_CHUNK = 1 << 20


def _datasync(fd: int) -> None:
    getattr(os, "fdatasync", os.fsync)(fd)  # looked up per call: tests wrap os


@dataclass
class PackScan:
    """What a walk of a run pack found: each whole record's ``hash -> (offset, size)``,
    where the whole records end, the file's size, and whether what follows (``size - end``
    bytes) is crash debris or ``damage`` (then named)."""

    records: dict[str, tuple[int, int]] = field(default_factory=dict)
    end: int = 0
    size: int = 0
    damage: str | None = None

    @property
    def debris(self) -> int:
        """Bytes after the last whole record that a cut append left (0: none)."""
        return 0 if self.damage is not None else self.size - self.end


def scan_pack(fd: int) -> PackScan:
    """Walk the records of the run pack open as ``fd`` (reading headers only)."""
    size = os.fstat(fd).st_size
    scan = PackScan(size=size)
    if size == 0:
        return scan
    head = os.pread(fd, len(PACK_MAGIC), 0)
    if head != PACK_MAGIC:
        if not (PACK_MAGIC.startswith(head) and size < len(PACK_MAGIC)) and not _zeros(fd, 0):
            scan.damage = "is not an agentlog pack (its first line is not 'agentlog pack 1')"
        return scan
    offset = scan.end = len(PACK_MAGIC)
    records = scan.records
    while offset < size:
        buf = os.pread(fd, _HEAD_MAX, offset)
        newline = buf.find(b"\n")
        found = _HEADER.fullmatch(buf, 0, newline) if newline > 0 else None
        if found is None:
            if not (newline < 0 and _PARTIAL.fullmatch(buf)) and not _zeros(fd, offset):
                scan.damage = f"holds no record at offset {offset}"
            return scan
        start = offset + newline + 1
        length = int(found.group(2))
        if start + length > size:
            return scan  # a record cut short: what a cut append leaves
        records.setdefault(found.group(1).decode("ascii"), (start, length))
        offset = scan.end = start + length
    return scan


def pack_damage(fd: int, path: Path) -> list[tuple[str, str, str]]:
    """What is wrong in the run pack open as ``fd``: ``(hash, where, why)`` for each record
    whose bytes no longer match its name, and ``("", path, why)`` for bytes that are no
    record (a torn end is debris, not damage). Reads every record."""
    scan = scan_pack(fd)
    found: list[tuple[str, str, str]] = []
    for digest, (offset, size) in scan.records.items():
        if hashlib.sha256(os.pread(fd, size, offset)).hexdigest() != digest:
            where = f"{path} (object {digest[:12]} at offset {offset})"
            found.append((digest, where, "changed: its bytes no longer match its name"))
    if scan.damage is not None:
        found.append(("", str(path), scan.damage))
    return found


def _zeros(fd: int, offset: int) -> bool:
    """Whether every byte from ``offset`` to the end is zero (a size that reached the disk
    before its data)."""
    while chunk := os.pread(fd, _ZERO_CHUNK, offset):
        if chunk.count(0) != len(chunk):
            return False
        offset += len(chunk)
    return True


def cut_pack_debris(objects_fd: int, path: Path) -> bool:
    """Cut the crash debris off the end of the run pack in the directory ``objects_fd``
    (holding the log's lock); whether there was any. Damage is left for ``verify``."""
    try:
        fd = _open_pack(objects_fd, path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        scan = scan_pack(fd)
        if not scan.debris:
            return False
        os.ftruncate(fd, scan.end)
        os.fsync(fd)
        return True
    finally:
        os.close(fd)


def _open_pack(objects_fd: int, path: Path, flags: int) -> int:
    """The run pack opened with ``flags`` relative to ``objects_fd``: a regular file, no
    link followed (``FileNotFoundError`` when there is none)."""
    flags |= os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(PACK_NAME, flags, 0o644, dir_fd=objects_fd)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError | FileExistsError):
            raise
        raise ObjectProblem(path, f"cannot be opened ({exc.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ObjectProblem(path, f"{kind_of(mode)}, not a regular file")
    return fd


class RunPack:
    """The run pack of one live run, appended to from any thread while the run goes on.

    Nothing is created until the first :meth:`add` of something new. :meth:`sync` makes
    what was added durable (with the entries of what it created); :meth:`close` closes it.
    """

    def __init__(self, run_dir: str | Path, stored: Callable[[str], bool] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / "objects" / PACK_NAME
        self._mutex = threading.Lock()
        self._fd = -1
        self._records: dict[str, tuple[int, int]] = {}  # hash -> (offset, size)
        self._end = 0  # the pack's size: where the next record goes
        self._dirty = False
        self._entries: list[int] = []  # directories whose new entries are not yet synced
        self._stored = stored  # whether the run stores a hash elsewhere (loose, older packs)
        self._ready = False  # what the run already stores was looked at
        self._run_fd = -1  # the run directory, held from the look to the pack's creation
        self._elsewhere: Callable[[str], bool] | None = None  # that, where there is any

    def add(self, data: bytes, digest: str) -> bool:
        """Append ``data`` (named ``digest``) unless the run already stores it; whether it
        was new. Not durable until :meth:`sync`."""
        with self._mutex:
            if not self._ready:
                self._look()
            if digest in self._records or (self._elsewhere and self._elsewhere(digest)):
                return False
            if self._fd < 0:
                self._create()
            head = f"{digest} {len(data)}\n".encode("ascii")
            if self._end == 0:
                head = PACK_MAGIC + head
            view = memoryview(head + data)
            try:
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError:
                with contextlib.suppress(OSError):  # no part of a record stays behind
                    os.ftruncate(self._fd, self._end)
                raise
            self._end += len(head) + len(data)
            self._records[digest] = (self._end - len(data), len(data))
            self._dirty = True
            return True

    def where(self, digest: str) -> tuple[int, int] | None:
        """The offset and size of the record ``digest`` appended to this pack, or None."""
        return self._records.get(digest)

    def sync(self) -> None:
        """Make every record added so far durable: the pack's data, then any directory
        entry it created (the pack in ``objects/``, ``objects/`` in the run directory), all at
        once."""
        with self._mutex:
            if not (self._dirty or self._entries):
                return
            entries = self._entries
            calls: list[Callable[[], None]] = [functools.partial(os.fsync, e) for e in entries]
            if self._dirty:
                calls.append(functools.partial(_datasync, self._fd))
            together(calls)  # at once: one journal commit
            self._dirty, self._entries = False, []
            for entry in entries:
                os.close(entry)

    def close(self) -> None:
        """Close the pack (what was not synced stays as written, for the page cache)."""
        with self._mutex:
            for fd in [self._fd, self._run_fd, *self._entries]:
                if fd >= 0:
                    os.close(fd)
            self._fd, self._run_fd, self._entries = -1, -1, []
        with _OPEN_MUTEX:
            if _OPEN.get(_key(self.run_dir)) is self:
                del _OPEN[_key(self.run_dir)]

    def _look(self) -> None:
        """Take up what the run already stores: the pack a stopped process left (its
        records), and whether anything else is in ``objects/``. Creates nothing."""
        folder = self.path.parent
        run = os.open(self.run_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            objects = open_dir(folder.name, run, folder)
        except BaseException:
            os.close(run)
            raise
        if objects is None:  # a new run: objects/ is made with the first record
            self._run_fd, self._ready = run, True
            return
        os.close(run)
        try:
            others = [name for name in os.listdir(objects) if name != PACK_NAME]
            with contextlib.suppress(FileNotFoundError):
                self._fd = self._existing(_open_pack(objects, self.path, os.O_RDWR | os.O_APPEND))
        finally:
            os.close(objects)
        if others:  # a resumed or workspace run: bytes it already stores are not added
            self._elsewhere = self._stored
        self._ready = True

    def _create(self) -> None:
        """Make the pack (and ``objects/`` when the run has none); their entries are synced
        with the first record."""
        folder = self.path.parent
        run, self._run_fd = self._run_fd, -1
        if run < 0:
            run = os.open(self.run_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            objects = open_dir(folder.name, run, folder)
            if objects is None:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(folder.name, dir_fd=run)
                objects = open_dir(folder.name, run, folder)
                if objects is None:
                    raise ObjectProblem(folder, "vanished as it was made")
                self._entries.append(os.dup(run))  # synced with the pack's own entry
        finally:
            os.close(run)
        try:
            flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL
            self._fd = _open_pack(objects, self.path, flags)
        except BaseException:
            os.close(objects)
            raise
        self._entries.insert(0, objects)

    def _existing(self, fd: int) -> int:
        """The pack a stopped process left, its debris cut off and its records known."""
        try:
            scan = scan_pack(fd)
            if scan.damage is not None:
                raise ObjectProblem(self.path, scan.damage)
            if scan.debris:
                os.ftruncate(fd, scan.end)
                os.fsync(fd)
            self._records.update(scan.records)
            self._end = scan.end
        except BaseException:
            os.close(fd)
            raise
        return fd


_OPEN: dict[str, RunPack] = {}
_OPEN_MUTEX = threading.Lock()


def _key(run_dir: str | Path) -> str:
    return os.path.abspath(run_dir)


def open_run_pack(run_dir: str | Path, stored: Callable[[str], bool]) -> RunPack:
    """The run pack of ``run_dir``, for the run going on in this process: what the run's
    agents keep goes there (:func:`run_pack` finds it) until :meth:`RunPack.close`.
    ``stored`` says whether the run already stores an object elsewhere (not added twice)."""
    pack = RunPack(run_dir, stored)
    with _OPEN_MUTEX:
        _OPEN[_key(run_dir)] = pack
    return pack


def run_pack(run_dir: str | Path) -> RunPack | None:
    """The open run pack of ``run_dir`` in this process, if its run is going on here."""
    with _OPEN_MUTEX:
        return _OPEN.get(_key(run_dir))
