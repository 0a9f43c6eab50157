"""Record a run's file-system steps and build what a power cut at any step can leave.

The ALICE method, in process: every ``os`` call that changes files under a base directory
(write, fsync/fdatasync, create, rename, mkdir, unlink, rmdir, truncate) is wrapped; after
each one the recorder notes what the page cache holds (the "volatile" tree) and, at each
fsync, what the disk holds for that file or directory (the "durable" state). A cut at
step k then leaves, depending on the file system:

- ``lost``: exactly what was synced (LazyFS: every unsynced write dropped; a file or
  directory entry never synced in its parent is gone, renames not synced are reverted);
- ``zeros``: as ``lost``, but files that grew keep their new size filled with zero bytes
  (ext4 ``data=writeback``, XFS);
- ``torn``: as ``lost``, plus the first half of what was appended to each file unsynced;
- ``renames``: every directory entry as it was (created and renamed files survive, as
  with a journaled metadata update) but file data only as synced: a file whose data was
  never synced is there with zero length.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import store._writer as writer_module

MODES = ("lost", "zeros", "torn", "renames")

#: directory inode -> {name: (inode, is_dir)}
Listing = dict[str, tuple[int, bool]]


@dataclass(frozen=True)
class Snapshot:
    """The state after one file-system step."""

    step: int
    op: str
    volatile_dirs: dict[int, Listing]
    volatile_files: dict[int, bytes]
    durable_dirs: dict[int, Listing]
    durable_files: dict[int, bytes]
    delivered: int  # events listeners had been given by then


@dataclass
class Recorder:
    """Wraps ``os`` while a run writes under ``base``; see the module docstring."""

    base: Path
    snapshots: list[Snapshot] = field(default_factory=list)
    durable_dirs: dict[int, Listing] = field(default_factory=dict)
    durable_files: dict[int, bytes] = field(default_factory=dict)
    #: (seq, id) of every event given to a listener, in order.
    delivered: list[tuple[int, str]] = field(default_factory=list)
    #: For each delivery: the number of the snapshot it followed.
    delivered_at: list[int] = field(default_factory=list)
    base_ino: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._busy = threading.local()
        self.base_ino = os.stat(self.base).st_ino
        self.durable_dirs[self.base_ino] = self._listing(self.base)
        self._take("start")

    def settled(self) -> None:
        """Take everything already under ``base`` as durable (it was there before the
        recording, long synced), and start the recording from that state."""
        with self._lock:
            self._busy.on = True
            try:
                self._walk(self.base, self.base_ino, self.durable_dirs, self.durable_files)
            finally:
                self._busy.on = False
            self.snapshots.clear()
            self._take("start")

    # -- what listeners saw ---------------------------------------------------------------

    def listener(self, event: Any) -> None:
        with self._lock:
            self.delivered.append((event.seq, event.id))
            self.delivered_at.append(len(self.snapshots) - 1)

    # -- recording ------------------------------------------------------------------------

    @contextmanager
    def recording(self) -> Iterator[None]:
        real = {
            name: getattr(os, name)
            for name in (
                "write",
                "fsync",
                "fdatasync",
                "open",
                "replace",
                "rename",
                "mkdir",
                "unlink",
                "rmdir",
                "ftruncate",
            )
        }
        real_sync = writer_module._sync
        self._real = real

        def wrap(name: str) -> Callable[..., Any]:
            fn = real[name]

            def wrapped(*args: Any, **kwargs: Any) -> Any:
                if getattr(self._busy, "on", False):
                    return fn(*args, **kwargs)
                if name in ("fsync", "fdatasync"):
                    self._note_sync(args[0])
                result = fn(*args, **kwargs)
                if name == "open" and not (args[1] & os.O_CREAT if len(args) > 1 else 0):
                    return result  # opening an existing file changes nothing
                self._take(name)
                return result

            return wrapped

        for name in real:
            setattr(os, name, wrap(name))
        writer_module._sync = wrap("fdatasync")
        try:
            yield
        finally:
            for name, fn in real.items():
                setattr(os, name, fn)
            writer_module._sync = real_sync

    def _note_sync(self, fd: int) -> None:
        with self._lock:
            self._busy.on = True
            try:
                path = Path(os.readlink(f"/proc/self/fd/{fd}"))
                if not path.is_relative_to(self.base):
                    return
                st = os.fstat(fd)
                if stat.S_ISDIR(st.st_mode):
                    self.durable_dirs[st.st_ino] = self._listing(path)
                elif stat.S_ISREG(st.st_mode):
                    with open(f"/proc/self/fd/{fd}", "rb") as f:
                        self.durable_files[st.st_ino] = f.read()
            finally:
                self._busy.on = False

    def _take(self, op: str) -> None:
        with self._lock:
            self._busy.on = True
            try:
                dirs: dict[int, Listing] = {}
                files: dict[int, bytes] = {}
                self._walk(self.base, self.base_ino, dirs, files)
                snap = Snapshot(
                    step=len(self.snapshots),
                    op=op,
                    volatile_dirs=dirs,
                    volatile_files=files,
                    durable_dirs=dict(self.durable_dirs),
                    durable_files=dict(self.durable_files),
                    delivered=len(self.delivered),
                )
                last = self.snapshots[-1] if self.snapshots else None
                if last is None or _state(last) != _state(snap) or last.delivered != snap.delivered:
                    self.snapshots.append(snap)
            finally:
                self._busy.on = False

    def _listing(self, path: Path) -> Listing:
        out: Listing = {}
        with os.scandir(path) as entries:
            for entry in entries:
                out[entry.name] = (entry.inode(), entry.is_dir(follow_symlinks=False))
        return out

    def _walk(
        self, path: Path, ino: int, dirs: dict[int, Listing], files: dict[int, bytes]
    ) -> None:
        listing = self._listing(path)
        dirs[ino] = listing
        for name, (child, is_dir) in listing.items():
            if is_dir:
                self._walk(path / name, child, dirs, files)
            else:
                with open(path / name, "rb") as f:
                    files[child] = f.read()


def _state(snap: Snapshot) -> tuple[object, ...]:
    return (snap.volatile_dirs, snap.volatile_files, snap.durable_dirs, snap.durable_files)


def file_after_cut(snap: Snapshot, ino: int, mode: str) -> bytes:
    """A file's bytes after a cut at ``snap`` in ``mode``."""
    durable = snap.durable_files.get(ino, b"")
    volatile = snap.volatile_files.get(ino)
    grew = volatile is not None and len(volatile) > len(durable) and volatile.startswith(durable)
    if mode == "zeros" and grew and volatile is not None:
        return durable + b"\0" * (len(volatile) - len(durable))
    if mode == "torn" and grew and volatile is not None:
        return volatile[: len(durable) + (len(volatile) - len(durable)) // 2]
    return durable


def build_after_cut(snap: Snapshot, base_ino: int, mode: str, dest: Path) -> None:
    """Write into ``dest`` (standing for the base) what a cut at ``snap`` leaves."""
    dirs = snap.volatile_dirs if mode == "renames" else snap.durable_dirs

    def fill(ino: int, path: Path) -> None:
        for name, (child, is_dir) in sorted(dirs.get(ino, {}).items()):
            if is_dir:
                (path / name).mkdir()
                fill(child, path / name)
            else:
                (path / name).write_bytes(file_after_cut(snap, child, mode))

    dest.mkdir(parents=True)
    fill(base_ino, dest)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and directory (None) under ``root``, by relative path."""
    out: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = None if path.is_dir() else path.read_bytes()
    return out
