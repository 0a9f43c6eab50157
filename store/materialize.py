"""Write a run's projections to disk: ``plan.json``, ``code.json``, ``review.json``, ``files/``.

Everything written here is rebuilt from the log and byte-identical each time. Every file is
replaced atomically (temp file in the same directory, fsync, rename, fsync the directory),
and nothing under ``files/`` is ever reached through a symlink. A file that already holds
exactly the bytes it should is left alone, so re-materializing after each step costs only
the writes (and fsyncs) of what that step changed.

With ``dry_run`` it only reports what it would change, which is how
:mod:`store.projection_sync` compares a run's projections with its log. Temp files a
crash left behind are removed by the next :func:`materialize`.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import takewhile
from pathlib import Path

import msgspec

from events import (
    EXIT_USAGE,
    AgentlogError,
    ChangeSet,
    CodeChange,
    Event,
    Plan,
    Review,
    ToolResulted,
    UnknownEvent,
)
from store._atomic import replace_at
from store.paths import MAX_NAME_BYTES, PathGuard, UnsafePath, change_set_problem, normalize_rel
from store.projections import WorkflowFold, artifacts

__all__ = [
    "ARTIFACT_FILES",
    "FILES_DIR",
    "MaterializeReport",
    "ProjectionError",
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
#: A file's bytes, or how to read them when it is written (a workspace's from objects/).
_Content = bytes | Callable[[], bytes]
_PEEK_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # a FIFO never blocks
_TMP_SUFFIX = ".tmp"
#: A temp file of :func:`_write_atomic_at`: ``.<name>.<12 hex>.tmp``.
_STALE_TMP = re.compile(r"\.(?:plan|code|review)\.json\.[0-9a-f]{12}\.tmp")
#: Bytes of the target's name kept in a temp name, so ``.`` + it + ``.<12 hex>.tmp`` fits.
_TMP_NAME_BYTES = MAX_NAME_BYTES - len("..") - 12 - len(_TMP_SUFFIX)


class ProjectionError(AgentlogError):
    """A projection cannot be written: the disk said no (exit 1), or see :class:`InTheWay`."""


class InTheWay(ProjectionError):
    """Something of the user's (a directory, a FIFO) sits where a projection goes (exit 2)."""

    exit_code = EXIT_USAGE


class MaterializeReport(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`materialize` wrote and removed (paths relative to the run directory)."""

    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __str__(self) -> str:
        wrote, removed = len(self.written), len(self.removed)
        return (
            f"wrote {wrote} file{'' if wrote == 1 else 's'}, "
            f"removed {removed} stale entr{'y' if removed == 1 else 'ies'}"
        )


def encode_artifact(obj: Plan | CodeChange | ChangeSet | Review) -> bytes:
    """Deterministic bytes of an artifact: msgspec JSON, 2-space indent, trailing newline."""
    return msgspec.json.format(_encoder.encode(obj), indent=2) + b"\n"


def _no_sync(_fd: int) -> None:
    """Stand-in for ``os.fsync`` when the caller's log already makes the run durable."""


def materialize(
    run_dir: Path,
    events: Iterable[Event | UnknownEvent],
    *,
    durable: bool = True,
    dry_run: bool = False,
    at: int | None = None,
) -> MaterializeReport:
    """Rebuild a run's artifacts and ``files/`` from its events.

    With ``at`` the projections are those of the log's first events through seq ``at``:
    the artifacts produced by then, and ``files/`` the working copy after that event
    (:func:`~store.worktree.working_copy_at`: the base, change sets and tool-call edits).

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
      workspace, ``files/`` is the recorded base with every change applied (modes kept)
      and ``code.json`` the latest change set (:func:`~store.tree.workspace_result`).
      A log whose tool calls changed files projects ``files/`` as the working copy after
      its last event (as with ``at``).
    - Every path of the set is validated first (:func:`~store.paths.safe_path`, no
      symlinked component under ``files/``, no file that is also another's directory);
      one bad path raises :class:`~store.paths.UnsafePath` before anything is written.

    Within one set a later entry for the same path wins. Temp files of an earlier write
    cut short are removed. With ``dry_run`` nothing is changed: the report says what
    would be written and removed (see :mod:`store.projection_sync`). Anything else in
    the way (``plan.json`` as a directory) or an OS error raises :class:`ProjectionError`.
    """
    from store.tree import workspace_result  # workspaces only: not on read paths

    sync: Callable[[int], None] = os.fsync if durable else _no_sync
    if at is not None:
        return _materialize_at(run_dir, events, at, sync, dry_run)
    # Streamed once through the fold: only the events carrying the latest artifacts (and
    # a workspace's base and change sets) are kept, so a long log projects in flat memory.
    edits: list[Event] = []  # tool calls' edits: files/ is then the working copy
    events = list(WorkflowFold().extend(_noting_edits(events, edits)).artifact_events())
    if edits:
        merged = sorted([*events, *edits], key=lambda ev: ev.seq)
        return _materialize_at(run_dir, merged, merged[-1].seq, sync, dry_run)
    arts = artifacts(events)
    files_root = run_dir / FILES_DIR
    code: CodeChange | ChangeSet | None = arts.code
    workspace = workspace_result(run_dir, events)  # base + changes, for a workspace run
    if workspace is None:
        plan_files = _validate_files(files_root, arts.code)
    else:  # each file read from objects/ as it is written: a repository is never held whole
        _check_files_root(files_root)
        tree = workspace.files
        plan_files = _validated(files_root, [(p, partial(tree.read, p)) for p in tree.paths()])
        code = workspace.change
    wanted = {
        name: None if artifact is None else encode_artifact(artifact)
        for name, artifact in zip(ARTIFACT_FILES, (arts.plan, code, arts.review), strict=True)
    }
    for name in wanted:
        _refuse_non_file(run_dir / name)
    try:
        modes = workspace.modes if workspace is not None else {}
        return _apply(run_dir, wanted, plan_files, sync, dry_run, modes)
    except OSError as exc:
        where = run_dir / Path(exc.filename).name if exc.filename else run_dir
        raise _cannot_write(where, exc) from exc


def _noting_edits(
    events: Iterable[Event | UnknownEvent], edits: list[Event]
) -> Iterator[Event | UnknownEvent]:
    """``events``, passed through; each ``ToolResulted`` that changed files kept in ``edits``."""
    for ev in events:
        if type(ev) is ToolResulted and ev.edits:
            edits.append(ev)
        yield ev


def _materialize_at(
    run_dir: Path,
    events: Iterable[Event | UnknownEvent],
    at: int,
    sync: Callable[[int], None],
    dry: bool,
) -> MaterializeReport:
    """:func:`materialize` of the events through seq ``at``, ``files/`` the working copy."""
    from store.objects import ObjectStore
    from store.tree import change_sets, workspace_base
    from store.worktree import working_copy_at

    upto = list(takewhile(lambda ev: ev.seq <= at, events))
    arts = artifacts(upto)
    tree = working_copy_at(upto, ObjectStore(run_dir))
    code: CodeChange | ChangeSet | None = arts.code
    if workspace_base(upto) is not None:
        sets = change_sets(upto)
        code = sets[-1][1] if sets else None
    files_root = run_dir / FILES_DIR
    _check_files_root(files_root)
    plan_files = _validated(files_root, [(path, partial(tree.read, path)) for path in tree.paths()])
    wanted = {
        name: None if artifact is None else encode_artifact(artifact)
        for name, artifact in zip(ARTIFACT_FILES, (arts.plan, code, arts.review), strict=True)
    }
    for name in wanted:
        _refuse_non_file(run_dir / name)
    modes = {path: e.mode for path, e in tree.entries.items() if e.mode != _FILE_MODE}
    try:
        return _apply(run_dir, wanted, plan_files, sync, dry, modes)
    except OSError as exc:
        where = run_dir / Path(exc.filename).name if exc.filename else run_dir
        raise _cannot_write(where, exc) from exc


def _cannot_write(path: Path, exc: OSError) -> ProjectionError:
    return ProjectionError(
        f"{path}: cannot write it ({exc.strerror or exc}); the log holds everything: fix "
        "the cause and run `agentlog project` on the run"
    )


def _apply(
    run_dir: Path,
    wanted: dict[str, bytes | None],
    plan_files: dict[tuple[str, ...], _Content],
    sync: Callable[[int], None],
    dry: bool,
    modes: dict[str, int],
) -> MaterializeReport:
    files_root = run_dir / FILES_DIR
    if not dry:
        run_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    removed = _remove_stale_temps(run_dir, dry)
    for name, data in wanted.items():
        if data is not None:
            if not _holds(run_dir / name, data):
                written.append(name)
                if not dry:
                    _write_atomic(run_dir, name, data, sync)
        elif os.path.lexists(run_dir / name):
            removed.append(name)
            if not dry:
                (run_dir / name).unlink()
    if (written or removed) and not dry:
        _fsync_dir(run_dir, sync)

    if plan_files or os.path.lexists(files_root):
        if not os.path.lexists(files_root):
            if dry:
                written.extend(f"{FILES_DIR}/{'/'.join(p)}" for p in plan_files)
                return MaterializeReport(written=tuple(written), removed=tuple(removed))
            with contextlib.suppress(FileExistsError):
                files_root.mkdir()
        root_fd = os.open(files_root, _DIR_FLAGS)
        try:
            stale = _remove_stale(root_fd, plan_files, sync, dry)
            removed.extend(f"{FILES_DIR}/{p}" for p in stale)
            fresh = _write_files(root_fd, plan_files, sync, dry)
            written.extend(f"{FILES_DIR}/{p}" for p in fresh)
            if modes and not dry:
                from store.tree import set_modes

                set_modes(root_fd, modes)  # a workspace's executable files stay executable
        finally:
            os.close(root_fd)
    return MaterializeReport(written=tuple(written), removed=tuple(removed))


def _refuse_non_file(path: Path) -> None:
    """Refuse a directory (or FIFO, socket ...) where an artifact file goes: it may hold
    someone's data, so it is neither replaced nor removed."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        return
    kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
    raise InTheWay(
        f"{path} is {kind}, where agentlog writes its {path.name}; move it away and run "
        "`agentlog project` again"
    )


def _remove_stale_temps(run_dir: Path, dry: bool) -> list[str]:
    """Temp files of an artifact write that a crash cut between create and rename."""
    try:
        names = os.listdir(run_dir)
    except FileNotFoundError:
        return []
    stale = sorted(n for n in names if _STALE_TMP.fullmatch(n))
    if not dry:
        for name in stale:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(run_dir / name)
    return stale


def write_artifact(
    run_dir: Path, artifact: Plan | CodeChange | Review, *, durable: bool = True
) -> bool:
    """Write one artifact's file (``plan.json``, ``code.json`` or ``review.json``) alone.

    For a step that produced a plan or a review, whose projection is just that file;
    returns whether the file changed. ``durable`` as in :func:`materialize`.
    """
    name = ARTIFACT_FILES[(Plan, CodeChange, Review).index(type(artifact))]
    sync: Callable[[int], None] = os.fsync if durable else _no_sync
    _refuse_non_file(run_dir / name)
    data = encode_artifact(artifact)
    if _holds(run_dir / name, data):
        return False
    try:
        try:
            _write_atomic(run_dir, name, data, sync)
        except FileNotFoundError:  # the run directory itself is not there yet
            run_dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(run_dir, name, data, sync)
        _fsync_dir(run_dir, sync)
    except OSError as exc:
        raise _cannot_write(run_dir / name, exc) from exc
    return True


def _validate_files(root: Path, code: CodeChange | None) -> dict[tuple[str, ...], _Content]:
    """Check every path of the set and encode every file; write nothing.

    Returns normalized path components -> file bytes, in the set's order.
    """
    _check_files_root(root)
    if code is None:
        return {}
    return _validated(root, [(change.path, change.content) for change in code.files])


def _check_files_root(root: Path) -> None:
    if os.path.lexists(root):
        mode = root.lstat().st_mode
        if not stat.S_ISDIR(mode):
            kind = "a symlink" if stat.S_ISLNK(mode) else "not a directory"
            raise UnsafePath(str(root), f"the files directory is {kind}")


def _validated(
    root: Path, items: list[tuple[str, str | _Content]]
) -> dict[tuple[str, ...], _Content]:
    """Check every path (``store.paths``' rules, no symlinked directory below ``root``,
    no file that is another's directory) and encode each text; write nothing. Bytes to
    be read when written (a callable) stay unread."""
    found = change_set_problem([path for path, _ in items], repeats=True)
    if found is not None:
        raise found[1]
    guard = PathGuard(root)
    out: dict[tuple[str, ...], _Content] = {}
    for path, content in items:
        parts = normalize_rel(path)
        guard.check(path, parts)
        _refuse_symlinked_components(root, parts, path)
        if not isinstance(content, str):
            out[parts] = content
            continue
        try:
            out[parts] = content.encode("utf-8")
        except UnicodeEncodeError:
            raise UnsafePath(path, "its content holds a lone surrogate") from None
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
    root_fd: int,
    keep: dict[tuple[str, ...], _Content],
    sync: Callable[[int], None],
    dry: bool = False,
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
                    if not dry:
                        os.rmdir(name, dir_fd=dir_fd)
                    removed.append("/".join(parts))
            elif parts not in keep or not stat.S_ISREG(st.st_mode):
                if not dry:
                    os.unlink(name, dir_fd=dir_fd)
                removed.append("/".join(parts))
        if len(removed) > before and not dry:
            sync(dir_fd)

    sweep(root_fd, ())
    return removed


def _write_files(
    root_fd: int,
    files: dict[tuple[str, ...], _Content],
    sync: Callable[[int], None],
    dry: bool = False,
) -> list[str]:
    """Write each file atomically below ``root_fd``, creating directories without following
    links; each touched directory is fsynced once at the end. ``dry``: only list them."""
    written: list[str] = []
    with _DirCache(root_fd, sync, create=not dry) as dirs:
        for parts, content in files.items():
            data = content if isinstance(content, bytes) else content()  # one file at a time
            dir_fd = dirs.open(parts[:-1])
            if dir_fd is not None and _holds(parts[-1], data, dir_fd=dir_fd):
                continue
            if dry or dir_fd is None:
                written.append("/".join(parts))
                continue
            _write_atomic_at(dir_fd, parts[-1], data, sync)
            dirs.touched.add(parts[:-1])
            written.append("/".join(parts))
    return written


class _DirCache:
    """Directory descriptors below a root, opened (and created) one component at a time
    with ``O_NOFOLLOW`` so no symlink is traversed; fsyncs touched ones on exit."""

    def __init__(self, root_fd: int, sync: Callable[[int], None], *, create: bool = True) -> None:
        self._sync = sync
        self._create = create
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

    def open(self, parts: tuple[str, ...]) -> int | None:
        """The directory's descriptor; None if it is missing and may not be created."""
        if parts in self._fds:
            return self._fds[parts]
        parent = self.open(parts[:-1])
        if parent is None:
            return None
        name = parts[-1]
        if self._create:
            try:
                os.mkdir(name, 0o755, dir_fd=parent)
                self.touched.add(parts[:-1])
            except FileExistsError:
                pass
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            if not self._create:
                return None  # a dry run: missing, or not a directory it could enter
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
    tmp = f".{_prefix(name)}.{os.urandom(6).hex()}{_TMP_SUFFIX}"  # os: no `secrets` import
    replace_at(dir_fd, name, data, tmp=tmp, mode=_FILE_MODE, sync=sync)


def _prefix(name: str) -> str:
    """As much of ``name`` as a temp name can hold within :data:`MAX_NAME_BYTES`."""
    return name.encode("utf-8")[:_TMP_NAME_BYTES].decode("utf-8", "ignore")


def _fsync_dir(directory: Path, sync: Callable[[int], None]) -> None:
    if sync is _no_sync:  # nothing to open the directory for
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        sync(fd)
    finally:
        os.close(fd)
