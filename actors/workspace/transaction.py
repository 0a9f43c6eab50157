"""``agentlog apply``'s writes as one crash-safe transaction, journaled in the run directory.

Before the first change to the target, the intent is written to ``RUN/apply.journal``
(synced, and the run directory synced): the target (path, device and inode), a random
tag, every file to write or delete and every directory to create. Then, in order:

1. the new directories are made and each new file is staged beside its target as
   ``.NAME.agentlog-TAG-I.new`` (every byte written, then synced);
2. each original that will be replaced or deleted is kept as a hard link
   ``.NAME.agentlog-TAG-I.orig``; every directory touched is synced;
3. the staged files are renamed over their targets and the deletions done; every
   directory touched is synced;
4. the journal is marked committed (synced): this is the commit point;
5. the backups are removed, the directories synced, the journal removed.

Any failure before the commit point (no space left, an I/O error, Ctrl-C) rolls back in
process. A process killed at any step (SIGKILL, a power cut) leaves the journal, and
:func:`recover` (run by the next ``agentlog apply`` or ``agentlog verify`` on that run)
finishes it: rolled back when the journal is not committed, finished when it is. Either
way the target is as it was before or fully applied, with no ``.agentlog-`` files left.

The journal is read from a run directory someone else may have made, so it is data, not
permission: it is honoured only for the directory it was made for (same device and
inode), every name it leads to is derived from the tag (never read from the journal),
directories are opened one component at a time without following links, and a file the
roll-back would remove is removed only if it holds exactly the bytes the apply wrote.

:func:`confine` is the rule for every path apply touches: inside the target, never
inside ``.git``, and never through a symbolic link.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

import msgspec

from events import AgentlogError
from store._lock import unlock_and_close
from store.paths import UnsafePath, normalize_rel

__all__ = [
    "JOURNAL",
    "ApplyBusy",
    "Recovered",
    "RecoveryFailed",
    "Write",
    "confine",
    "recover",
    "transact",
]

#: The journal's name in the run directory.
JOURNAL = "apply.journal"
_PENDING = JOURNAL + ".tmp"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class ApplyBusy(AgentlogError):
    """Another ``agentlog apply`` holds this run's apply lock (exit 1)."""


class RecoveryFailed(AgentlogError):
    """An interrupted apply could not be rolled back or finished (exit 1); retry later."""


class Write(msgspec.Struct, frozen=True):
    """One file to write: its path in the target, its bytes and the result tree's mode."""

    path: str
    data: bytes
    mode: int = 0o644


class Recovered(msgspec.Struct, frozen=True, kw_only=True):
    """What recovering an interrupted apply did: ``rolled back`` or ``finished``."""

    target: str
    outcome: str
    files: int

    def describe(self) -> str:
        """One line for a person."""
        count = f"{self.files} file{'' if self.files == 1 else 's'}"
        if self.outcome == "finished":
            return f"a previous apply to {self.target} was interrupted: finished ({count})"
        if self.outcome == "discarded":
            return (
                f"a previous apply to {self.target} was interrupted, but that directory "
                "is gone or was replaced: its journal was discarded"
            )
        return f"a previous apply to {self.target} was interrupted: rolled back {count}"


class _Entry(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    delete: bool = False
    #: An original exists and is kept as ``.orig`` until the commit point.
    backup: bool = False
    #: SHA-256 of the bytes written (None for a deletion).
    digest: str | None = None


class _Journal(msgspec.Struct, frozen=True, kw_only=True):
    version: int = 1
    target: str
    device: int
    inode: int
    tag: str
    committed: bool = False
    files: tuple[_Entry, ...] = ()
    dirs: tuple[str, ...] = ()


def confine(root: Path, rel: str) -> Path:
    """``root / rel`` after proving that writing it writes inside ``root`` and nowhere else.

    Raises :class:`UnsafePath` for a name ``git`` would refuse (``.git`` in any case, at
    any depth), for a parent directory that is a symbolic link (checked with ``lstat``,
    never followed: a link to ``.git`` or out of the tree is never written through) and
    for a target that itself lies inside a ``.git`` directory.
    """
    parts = normalize_rel(rel)
    if any(p.casefold() == ".git" for p in parts):
        raise UnsafePath(rel, "it is inside .git")
    real_root = os.path.realpath(root)
    if any(p.casefold() == ".git" for p in Path(real_root).parts):
        raise UnsafePath(rel, f"the target {root} is inside a .git directory")
    where = root
    for name in parts[:-1]:
        where = where / name
        try:
            st = where.lstat()
        except (FileNotFoundError, NotADirectoryError):
            break
        if stat.S_ISLNK(st.st_mode):
            shown = where.relative_to(root)
            raise UnsafePath(rel, f"its directory {shown} is a symbolic link (never followed)")
        if not stat.S_ISDIR(st.st_mode):
            break  # reported by the caller: "its directory ... is not a directory"
    return root.joinpath(*parts)


# -- names, directories, syncing ------------------------------------------------------------


def _side(name: str, tag: str, index: int, kind: str) -> str:
    """The staged (``new``) or kept (``orig``) name beside ``name``: at most 140 bytes."""
    short = name.encode("utf-8", "surrogateescape")[:100].decode("utf-8", "ignore")
    return f".{short}.agentlog-{tag}-{index}.{kind}"


class _Dirs:
    """Directory descriptors under the target's, opened one name at a time, no links."""

    def __init__(self, root_fd: int) -> None:
        self.fds: dict[tuple[str, ...], int] = {(): root_fd}

    def get(self, parts: tuple[str, ...]) -> int:
        """The directory ``parts`` (FileNotFoundError/NotADirectoryError/ELOOP if not one)."""
        if parts in self.fds:
            return self.fds[parts]
        parent = self.get(parts[:-1])
        try:
            fd = os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise NotADirectoryError(exc.errno, "a symbolic link", "/".join(parts)) from None
            raise
        self.fds[parts] = fd
        return fd

    def find(self, parts: tuple[str, ...]) -> int | None:
        """The directory ``parts``, or None when it does not exist (any more)."""
        try:
            return self.get(parts)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def sync(self) -> None:
        """fsync every directory opened (each one this transaction touched)."""
        for fd in self.fds.values():
            os.fsync(fd)

    def close(self) -> None:
        for parts, fd in self.fds.items():
            if parts:
                os.close(fd)
        self.fds = {}


def _exists(name: str, dir_fd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _write_all(fd: int, data: bytes, shown: str) -> None:
    """Write every byte (a short write is continued; no progress is ENOSPC), then fsync."""
    view = memoryview(data)
    try:
        while view:
            done = os.write(fd, view)
            if done <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[done:]
        os.fsync(fd)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, shown) from None


def _put_journal(run_fd: int, journal: _Journal) -> None:
    """Replace the journal atomically and durably (temp file synced, renamed, dir synced)."""
    fd = os.open(
        _PENDING, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644, dir_fd=run_fd
    )
    try:
        _write_all(fd, msgspec.json.encode(journal), _PENDING)
    finally:
        os.close(fd)
    os.replace(_PENDING, JOURNAL, src_dir_fd=run_fd, dst_dir_fd=run_fd)
    os.fsync(run_fd)


def _drop_journal(run_fd: int) -> None:
    for name in (_PENDING, JOURNAL):
        if _exists(name, run_fd) is not None:
            os.unlink(name, dir_fd=run_fd)
    os.fsync(run_fd)


@contextlib.contextmanager
def _locked(run_dir: Path, wait: bool = False) -> Iterator[int]:
    """The run directory, open and exclusively locked (``flock``) for apply's journal."""
    run_fd = os.open(run_dir, _DIR_FLAGS & ~os.O_NOFOLLOW)
    try:
        try:
            fcntl.flock(run_fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise ApplyBusy(f"{run_dir}: another agentlog apply is running on this run") from None
        yield run_fd
    finally:
        unlock_and_close(run_fd)  # a forked child's copy of run_fd keeps no lock


# -- recovery -------------------------------------------------------------------------------


def _read_journal(run_fd: int, run_dir: Path) -> _Journal | None:
    try:
        fd = os.open(JOURNAL, os.O_RDONLY | os.O_CLOEXEC, dir_fd=run_fd)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    try:
        journal = msgspec.json.decode(data, type=_Journal)
        if journal.version != 1 or not journal.tag.isalnum():
            raise ValueError("unknown version or tag")
        for entry in journal.files:
            normalize_rel(entry.path)
        for d in journal.dirs:
            normalize_rel(d)
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError, UnsafePath) as exc:
        # Written whole (temp file, fsync, rename) before anything changed: a journal that
        # does not decode was not written by apply, so nothing can be rolled back from it.
        raise RecoveryFailed(
            f"{run_dir / JOURNAL}: not an apply journal ({exc}); move it away to continue"
        ) from None
    return journal


def _open_target(journal: _Journal) -> int | None:
    """The journal's target directory, if it is still the very directory it was made for."""
    try:
        fd = os.open(journal.target, _DIR_FLAGS & ~os.O_NOFOLLOW)
    except OSError:
        return None
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != (journal.device, journal.inode):
        os.close(fd)
        return None
    return fd


def _digest_of(name: str, dir_fd: int) -> str | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        return hashlib.sha256(f.read()).hexdigest()


def _roll_back(journal: _Journal, dirs: _Dirs) -> None:
    """Put every file back as it was and remove what the apply made (idempotent)."""
    for index, entry in enumerate(journal.files):
        parts = normalize_rel(entry.path)
        pfd = dirs.find(parts[:-1])
        if pfd is None:
            continue  # its directory was never made: nothing of this file was touched
        name = parts[-1]
        staged, kept = (_side(name, journal.tag, index, k) for k in ("new", "orig"))
        if not entry.delete and _exists(staged, pfd) is not None:
            os.unlink(staged, dir_fd=pfd)
        if entry.backup:
            backup = _exists(kept, pfd)
            if backup is None:
                continue  # never linked: the original was never replaced
            now = _exists(name, pfd)
            if now is not None and (now.st_dev, now.st_ino) == (backup.st_dev, backup.st_ino):
                os.unlink(kept, dir_fd=pfd)  # the original is still in place
            else:
                os.replace(kept, name, src_dir_fd=pfd, dst_dir_fd=pfd)
        elif entry.digest is not None and _digest_of(name, pfd) == entry.digest:
            os.unlink(name, dir_fd=pfd)  # a new file, holding exactly what apply wrote
    for rel in reversed(journal.dirs):
        parts = normalize_rel(rel)
        pfd = dirs.find(parts[:-1])
        if pfd is not None:
            with contextlib.suppress(FileNotFoundError, OSError):
                os.rmdir(parts[-1], dir_fd=pfd)  # only if empty: nothing of anyone else's


def _finish(journal: _Journal, dirs: _Dirs) -> None:
    """After the commit point (every staged file already renamed): remove the backups."""
    for index, entry in enumerate(journal.files):
        parts = normalize_rel(entry.path)
        pfd = dirs.find(parts[:-1]) if entry.backup else None
        if pfd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(_side(parts[-1], journal.tag, index, "orig"), dir_fd=pfd)


def _settle(run_fd: int, run_dir: Path) -> Recovered | None:
    """With the lock held: roll back or finish what a journal describes, then remove it."""
    journal = _read_journal(run_fd, run_dir)
    if journal is None:
        if _exists(_PENDING, run_fd) is not None:
            os.unlink(_PENDING, dir_fd=run_fd)  # never became the journal: nothing changed
        return None
    root_fd = _open_target(journal)
    if root_fd is None:
        _drop_journal(run_fd)
        return Recovered(target=journal.target, outcome="discarded", files=0)
    dirs = _Dirs(root_fd)
    try:
        if journal.committed:
            _finish(journal, dirs)
        else:
            _roll_back(journal, dirs)
        dirs.sync()
    finally:
        dirs.close()
        os.close(root_fd)
    _drop_journal(run_fd)
    outcome = "finished" if journal.committed else "rolled back"
    return Recovered(target=journal.target, outcome=outcome, files=len(journal.files))


def recover(run_dir: str | Path, *, busy_ok: bool = False) -> Recovered | None:
    """Finish or roll back an apply to this run that was interrupted (None: there was none).

    With ``busy_ok``, an apply running right now is left alone (None); without it that
    raises :class:`ApplyBusy`. A failure raises :class:`RecoveryFailed`; the journal stays,
    so the next call tries again.
    """
    run = Path(run_dir)
    if not (run / JOURNAL).exists() and not (run / _PENDING).exists():
        return None  # the common case: no write, no lock, works on a read-only run
    try:
        with _locked(run) as run_fd:
            return _settle(run_fd, run)
    except ApplyBusy:
        if busy_ok:
            return None
        raise
    except OSError as exc:
        raise RecoveryFailed(
            f"{run}: could not finish an interrupted apply: {exc.strerror} "
            f"({exc.filename or run / JOURNAL}); run `agentlog apply {run}` again"
        ) from None


# -- the transaction ------------------------------------------------------------------------


def _plan(
    root: Path, dirs: _Dirs, writes: Sequence[Write], deletes: Sequence[str], tag: str
) -> _Journal:
    """The journal for these changes, from the target as it is now (nothing written)."""
    root_st = os.fstat(dirs.fds[()])
    entries: list[_Entry] = []
    made: list[str] = []
    for w in writes:
        parts = normalize_rel(w.path)
        for depth in range(1, len(parts)):
            sub = "/".join(parts[:depth])
            if sub not in made and dirs.find(parts[:depth]) is None:
                made.append(sub)
        pfd = dirs.find(parts[:-1])
        had = pfd is not None and _exists(parts[-1], pfd) is not None
        digest = hashlib.sha256(w.data).hexdigest()
        entries.append(_Entry(path=w.path, backup=had, digest=digest))
    written = {w.path for w in writes}
    for rel in deletes:
        if rel not in written:
            entries.append(_Entry(path=rel, delete=True, backup=True))
    return _Journal(
        target=os.path.abspath(root),
        device=root_st.st_dev,
        inode=root_st.st_ino,
        tag=tag,
        files=tuple(entries),
        dirs=tuple(made),
    )


def _new_mode(mode: int, current: os.stat_result | None) -> int | None:
    """The permission bits of a written file: the original's with the executable bits of
    the result tree's ``mode``; None for a new file (git's 0777 or 0666 less the umask)."""
    executable = bool(mode & 0o111)
    if current is None:
        return None
    bits = stat.S_IMODE(current.st_mode)
    if executable:
        return bits | ((bits & 0o444) >> 2)
    return bits & ~0o111


def _stage(root: Path, journal: _Journal, dirs: _Dirs, writes: Sequence[Write]) -> None:
    """Steps 1-2: make directories, stage every new file, keep every original as a link."""
    for rel in journal.dirs:
        parts = normalize_rel(rel)
        os.mkdir(parts[-1], 0o777, dir_fd=dirs.get(parts[:-1]))
    for index, (entry, w) in enumerate(zip(journal.files[: len(writes)], writes, strict=True)):
        parts = normalize_rel(entry.path)
        pfd = dirs.get(parts[:-1])
        staged = _side(parts[-1], journal.tag, index, "new")
        perm = _new_mode(w.mode, _exists(parts[-1], pfd))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        created = (0o777 if w.mode & 0o111 else 0o666) if perm is None else 0o600
        fd = os.open(staged, flags, created, dir_fd=pfd)
        try:
            if perm is not None:
                os.fchmod(fd, perm)
            _write_all(fd, w.data, str(root / entry.path))
        finally:
            os.close(fd)
    for index, entry in enumerate(journal.files):
        if entry.backup:
            parts = normalize_rel(entry.path)
            pfd = dirs.get(parts[:-1])
            kept = _side(parts[-1], journal.tag, index, "orig")
            os.link(parts[-1], kept, src_dir_fd=pfd, dst_dir_fd=pfd, follow_symlinks=False)
    dirs.sync()


def _swap(journal: _Journal, dirs: _Dirs) -> None:
    """Step 3: every staged file renamed over its target, every deletion done, synced."""
    for index, entry in enumerate(journal.files):
        parts = normalize_rel(entry.path)
        pfd = dirs.get(parts[:-1])
        if entry.delete:
            os.unlink(parts[-1], dir_fd=pfd)
        else:
            staged = _side(parts[-1], journal.tag, index, "new")
            os.replace(staged, parts[-1], src_dir_fd=pfd, dst_dir_fd=pfd)
    dirs.sync()


def _settle_failed(
    run: Path, run_fd: int, root: Path, journal: _Journal, dirs: _Dirs, exc: BaseException
) -> None:
    """After ``exc`` stopped a transaction: what the journal on disk says decides, as it
    would for the next command. Not committed: roll back and raise ``exc``. Committed
    (the change is in; a Ctrl-C or a failed sync came after): finish; raise ``exc`` only
    if it is not an ``OSError`` (the apply itself succeeded)."""
    committed = True
    try:
        on_disk = _read_journal(run_fd, run)
        if on_disk is not None:  # None: the journal is already gone, the apply complete
            committed = on_disk.committed
            (_finish if committed else _roll_back)(journal, dirs)
            dirs.sync()
            _drop_journal(run_fd)
    except OSError as again:
        if committed:
            raise RecoveryFailed(
                f"{root}: applied, but removing its backups failed ({again.strerror}); "
                f"`agentlog verify {run}` finishes it"
            ) from None
        raise RecoveryFailed(
            f"{root}: the apply failed ({exc}) and putting the files back failed "
            f"too ({again.strerror}); run `agentlog apply {run}` again to finish "
            "putting them back"
        ) from None
    if not (committed and isinstance(exc, OSError)):
        raise exc


def transact(
    run_dir: str | Path, root: Path, writes: Sequence[Write], deletes: Sequence[str]
) -> None:
    """Write and delete all or nothing, journaled in ``run_dir`` (see the module docstring).

    An ``OSError`` (or Ctrl-C) before the commit point is raised after everything was put
    back; after it, the backups are removed first. If that fails, :class:`RecoveryFailed`
    says so and the journal stays for the next ``agentlog apply``/``verify``. Every path
    must have passed :func:`confine`.
    """
    if not writes and not deletes:
        return
    run = Path(run_dir)
    with _locked(run) as run_fd:
        _settle(run_fd, run)  # an apply cut short before this one: settle it first
        root_fd = os.open(root, _DIR_FLAGS & ~os.O_NOFOLLOW)
        dirs = _Dirs(root_fd)
        try:
            journal = _plan(root, dirs, writes, deletes, secrets.token_hex(4))
            try:
                _put_journal(run_fd, journal)
            except BaseException:
                with contextlib.suppress(OSError):
                    _drop_journal(run_fd)
                raise
            try:
                _stage(root, journal, dirs, writes)
                _swap(journal, dirs)
                _put_journal(run_fd, msgspec.structs.replace(journal, committed=True))
                _finish(journal, dirs)
                dirs.sync()
                _drop_journal(run_fd)
            except BaseException as exc:
                _settle_failed(run, run_fd, root, journal, dirs, exc)
        finally:
            dirs.close()
            os.close(root_fd)
