"""Write a run's projections to disk: ``plan.json``, ``code.json``, ``review.json``, ``files/``.

Everything written here is rebuilt from the log and byte-identical each time. Every file is
replaced atomically (temp file in the same directory, fsync, rename, fsync the directory),
and nothing under ``files/`` is ever reached through a symlink. A file that already holds
exactly the bytes it should is left alone, so re-materializing after each step costs only
the writes (and fsyncs) of what that step changed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

import msgspec

from events import ChangeSet, CodeChange, Event, Plan, Review, UnknownEvent
from store.paths import UnsafePath, normalize_rel, safe_path
from store.projections import artifacts
from store.tree import set_modes, workspace_result

__all__ = [
    "ARTIFACT_FILES",
    "FILES_DIR",
    "MaterializeReport",
    "encode_artifact",
    "materialize",
    "write_artifact",
]

#: Artifact file names in the run directory, in workflow order.
ARTIFACT_FILES: tuple[str, ...] = ("plan.json", "code.json", "review.json")
#: The directory of the run that holds the Coder's files.
FILES_DIR = "files"

_encoder = msgspec.json.Encoder()
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_FILE_MODE = 0o644
_PEEK_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # a FIFO never blocks


class MaterializeReport(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`materialize` wrote and removed (paths relative to the run directory)."""

    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"wrote {len(self.written)} files, removed {len(self.removed)} stale entries"


def encode_artifact(obj: Plan | CodeChange | ChangeSet | Review) -> bytes:
    """Deterministic bytes of an artifact: msgspec JSON, 2-space indent, trailing newline."""
    return msgspec.json.format(_encoder.encode(obj), indent=2) + b"\n"


def _no_sync(_fd: int) -> None:
    """Stand-in for ``os.fsync`` when the caller's log already makes the run durable."""


def materialize(
    run_dir: Path, events: Iterable[Event | UnknownEvent], *, durable: bool = True
) -> MaterializeReport:
    """Rebuild a run's artifacts and ``files/`` from its events.

    With ``durable=False`` files are still replaced atomically (temp file + rename) but not
    fsynced: the supervisor uses it while a run goes on, because the fsynced log is the
    source of truth and any projection lost to a power cut is rebuilt from it
    (``agentlog project``, ``agentlog resume``).

    - ``plan.json``, ``code.json``, ``review.json`` hold the latest artifact of each kind;
      one the log does not (or no longer) produce is removed, so the directory always
      equals the log's projection.
    - ``files/`` becomes exactly the file set of the latest ``CodeProduced`` (empty if
      there is none): files and directories not in that set are removed (symlinks are
      unlinked, never followed), then every file is written atomically. For a run with a
      workspace, ``files/`` is the recorded base with every change applied and
      ``code.json`` the latest change set (:func:`~store.tree.workspace_result`).
    - Every path of the set is validated first (:func:`~store.paths.safe_path`, no
      symlinked component under ``files/``, no file that is also another's directory);
      one bad path raises :class:`~store.paths.UnsafePath` before anything is written.

    Within one set a later entry for the same path wins.
    """
    sync: Callable[[int], None] = os.fsync if durable else _no_sync
    events = list(events)
    arts = artifacts(events)
    files_root = run_dir / FILES_DIR
    code: CodeChange | ChangeSet | None = arts.code
    workspace = workspace_result(run_dir, events)  # base + changes, for a workspace run
    plan_files = _validate_files(files_root, arts.code if workspace is None else workspace.files)
    if workspace is not None:
        code = workspace.change

    run_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    removed: list[str] = []
    for name, artifact in zip(ARTIFACT_FILES, (arts.plan, code, arts.review), strict=True):
        if artifact is not None:
            if _put_artifact(run_dir, name, artifact, sync):
                written.append(name)
        elif (run_dir / name).is_symlink() or (run_dir / name).exists():
            (run_dir / name).unlink()
            removed.append(name)
    if written or removed:
        _fsync_dir(run_dir, sync)

    if plan_files or os.path.lexists(files_root):
        with contextlib.suppress(FileExistsError):
            files_root.mkdir()
        root_fd = os.open(files_root, _DIR_FLAGS)
        try:
            removed.extend(f"{FILES_DIR}/{p}" for p in _remove_stale(root_fd, plan_files, sync))
            written.extend(f"{FILES_DIR}/{p}" for p in _write_files(root_fd, plan_files, sync))
            if workspace is not None:
                set_modes(root_fd, workspace.modes)  # executable files stay executable
        finally:
            os.close(root_fd)
    return MaterializeReport(written=tuple(written), removed=tuple(removed))


def write_artifact(
    run_dir: Path, artifact: Plan | CodeChange | Review, *, durable: bool = True
) -> bool:
    """Write one artifact's file (``plan.json``, ``code.json`` or ``review.json``) alone.

    For a step that produced a plan or a review, whose projection is just that file;
    returns whether the file changed. ``durable`` as in :func:`materialize`.
    """
    name = ARTIFACT_FILES[(Plan, CodeChange, Review).index(type(artifact))]
    sync: Callable[[int], None] = os.fsync if durable else _no_sync
    run_dir.mkdir(parents=True, exist_ok=True)
    changed = _put_artifact(run_dir, name, artifact, sync)
    if changed:
        _fsync_dir(run_dir, sync)
    return changed


def _put_artifact(
    run_dir: Path,
    name: str,
    artifact: Plan | CodeChange | ChangeSet | Review,
    sync: Callable[[int], None],
) -> bool:
    data = encode_artifact(artifact)
    if _holds(run_dir / name, data):
        return False
    _write_atomic(run_dir, name, data, sync)
    return True


def _validate_files(root: Path, code: CodeChange | None) -> dict[tuple[str, ...], bytes]:
    """Check every path of the set and encode every file; write nothing.

    Returns normalized path components -> file bytes, in the set's order.
    """
    if os.path.lexists(root):
        mode = root.lstat().st_mode
        if not stat.S_ISDIR(mode):
            kind = "a symlink" if stat.S_ISLNK(mode) else "not a directory"
            raise UnsafePath(str(root), f"the files directory is {kind}")
    if code is None:
        return {}
    out: dict[tuple[str, ...], bytes] = {}
    for change in code.files:
        safe_path(root, change.path)
        parts = normalize_rel(change.path)
        _refuse_symlinked_components(root, parts, change.path)
        out[parts] = change.content.encode("utf-8")
    dirs = {parts[:i] for parts in out for i in range(1, len(parts))}
    for parts in out:
        if parts in dirs:
            rel = "/".join(parts)
            raise UnsafePath(rel, "it is a file and also the directory of another file")
    return out


def _refuse_symlinked_components(root: Path, parts: tuple[str, ...], rel: str) -> None:
    """Refuse a path whose existing directory components under ``root`` are symlinks.

    A symlink at the last component is fine here: the atomic rename replaces the link
    itself, never its target.
    """
    current = root
    for part in parts[:-1]:
        current = current / part
        try:
            mode = current.lstat().st_mode
        except FileNotFoundError:
            return
        if stat.S_ISLNK(mode):
            raise UnsafePath(rel, f"its directory {current} is a symlink")
        if not stat.S_ISDIR(mode):
            return  # a stale file; it will be removed and replaced by a directory


def _remove_stale(
    root_fd: int, keep: dict[tuple[str, ...], bytes], sync: Callable[[int], None]
) -> list[str]:
    """Remove every entry under ``files/`` that is not a kept file or one of its directories.

    Works on directory descriptors opened with ``O_NOFOLLOW``, so a symlink is only ever
    unlinked, never entered; a directory that lost entries is fsynced. Returns the removed
    paths, each directory after its contents.
    """
    dirs = {parts[:i] for parts in keep for i in range(1, len(parts))}
    removed: list[str] = []

    def sweep(dir_fd: int, prefix: tuple[str, ...]) -> None:
        before = len(removed)
        for name in sorted(os.listdir(dir_fd)):
            parts = (*prefix, name)
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                sub = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
                try:
                    sweep(sub, parts)
                finally:
                    os.close(sub)
                if parts not in dirs:
                    os.rmdir(name, dir_fd=dir_fd)
                    removed.append("/".join(parts))
            elif parts not in keep or not stat.S_ISREG(st.st_mode):
                os.unlink(name, dir_fd=dir_fd)
                removed.append("/".join(parts))
        if len(removed) > before:
            sync(dir_fd)

    sweep(root_fd, ())
    return removed


def _write_files(
    root_fd: int, files: dict[tuple[str, ...], bytes], sync: Callable[[int], None]
) -> list[str]:
    """Write each file atomically below ``root_fd``, creating directories without following
    links; each touched directory is fsynced once at the end."""
    written: list[str] = []
    with _DirCache(root_fd, sync) as dirs:
        for parts, data in files.items():
            dir_fd = dirs.open(parts[:-1])
            if _holds(parts[-1], data, dir_fd=dir_fd):
                continue
            _write_atomic_at(dir_fd, parts[-1], data, sync)
            dirs.touched.add(parts[:-1])
            written.append("/".join(parts))
    return written


class _DirCache:
    """Directory descriptors below a root, opened (and created) one component at a time
    with ``O_NOFOLLOW`` so no symlink is traversed; fsyncs touched ones on exit."""

    def __init__(self, root_fd: int, sync: Callable[[int], None]) -> None:
        self._sync = sync
        self._fds: dict[tuple[str, ...], int] = {(): root_fd}
        self._owned: list[int] = []
        self.touched: set[tuple[str, ...]] = set()

    def __enter__(self) -> _DirCache:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                for key in sorted(self.touched, key=len, reverse=True):
                    self._sync(self._fds[key])
        finally:
            for fd in self._owned:
                os.close(fd)

    def open(self, parts: tuple[str, ...]) -> int:
        fd = self._fds.get(parts)
        if fd is not None:
            return fd
        parent = self.open(parts[:-1])
        name = parts[-1]
        try:
            os.mkdir(name, 0o755, dir_fd=parent)
            self.touched.add(parts[:-1])
        except FileExistsError:
            pass
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            rel = "/".join(parts)
            raise UnsafePath(rel, f"it is not a plain directory ({exc.strerror})") from None
        self._owned.append(fd)
        self._fds[parts] = fd
        return fd


def _holds(path: str | Path, data: bytes, *, dir_fd: int | None = None) -> bool:
    """Whether ``path`` is a regular file (not a symlink) whose bytes are exactly ``data``."""
    try:
        fd = os.open(path, _PEEK_FLAGS, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
            return False
        return os.read(fd, len(data) + 1) == data
    finally:
        os.close(fd)


def _write_atomic(directory: Path, name: str, data: bytes, sync: Callable[[int], None]) -> None:
    """Replace ``directory/name`` atomically with ``data`` (the caller syncs the directory)."""
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _write_atomic_at(dir_fd, name, data, sync)
    finally:
        os.close(dir_fd)


def _write_atomic_at(dir_fd: int, name: str, data: bytes, sync: Callable[[int], None]) -> None:
    """Write ``data`` to a fresh temp file beside ``name``, fsync it and rename it over
    ``name``; a symlink at ``name`` is replaced, not written through."""
    tmp = f".{name[:200]}.{secrets.token_hex(6)}.tmp"
    fd = os.open(
        tmp,
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
        _FILE_MODE,
        dir_fd=dir_fd,
    )
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            sync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def _fsync_dir(directory: Path, sync: Callable[[int], None]) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        sync(fd)
    finally:
        os.close(fd)
