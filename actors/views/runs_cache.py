"""The runs list's cache: one file per listed directory (``.ls-cache.json``) holding each
run's resumable summary (:class:`~actors.views.tally.RunTally`), keyed by its log's
identity ``(device, inode, size, mtime_ns)``.

One file for the whole directory, not one per run: a cold listing of a thousand runs
creates one file, and a warm one reads one. A run whose log's key is unchanged is shown
from the cache without opening the log; a log that grew (same device and inode, longer: a
run being written) resumes the run's fold from its mark, which is checked against the log
(:func:`store.marks.blocks_from`); any other change (replaced, truncated, rewritten in
place) folds it again from the start.

The file is data, never permission, whoever wrote it: it is opened without following a
link and only if it is a regular file, decoded into fixed types (anything else is ignored
and rebuilt), and used only for what a summary shows; no path in it is ever opened. It is
replaced atomically (a new file, then a rename), so a reader sees a whole file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Container
from pathlib import Path

import msgspec

from actors.views.tally import RunTally, TallyState

__all__ = ["CACHE_NAME", "LogKey", "RunsCache", "log_key"]

#: The cache's file name inside the listed directory.
CACHE_NAME = ".ls-cache.json"
_VERSION = 3

#: A log's identity: device, inode, size, modification time (ns).
LogKey = tuple[int, int, int, int]


def log_key(st: os.stat_result) -> LogKey:
    """The key of a log from its ``stat``."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


#: What an entry keeps instead of the fold of a run that ended (completed or failed): a
#: few kilobytes less a run (it holds the latest artifacts); should the log grow again
#: (a retry, a person's review), the run is folded again from the start, once.
_NO_FOLD = msgspec.Raw(b"null")
_ENDED = ("completed", "failed")


class _Entry(msgspec.Struct, kw_only=True):
    """One run: its log's key when folded, the tally's state, its dumped fold."""

    key: LogKey
    state: TallyState
    fold: msgspec.Raw = _NO_FOLD


class _File(msgspec.Struct, kw_only=True):
    """The whole file: its format's version, and each run by id (its directory's name)."""

    version: int
    runs: dict[str, _Entry]


_decode = msgspec.json.Decoder(_File).decode
_encode = msgspec.json.Encoder().encode


class RunsCache:
    """The cache of one directory's runs, loaded once, saved once if anything changed."""

    def __init__(self, directory: Path, runs: dict[str, _Entry] | None = None) -> None:
        self.path = directory / CACHE_NAME
        self._runs = runs or {}
        self._changed = False

    @classmethod
    def load(cls, directory: Path) -> RunsCache:
        """The cache in ``directory``; an empty one when there is none or it is not ours
        (not a regular file, garbled, another version)."""
        data = _read(directory / CACHE_NAME)
        try:
            found = _decode(data) if data else None
        except (msgspec.DecodeError, RecursionError):
            found = None
        if found is None or found.version != _VERSION:
            return cls(directory)
        return cls(directory, found.runs)

    def tally(self, run_id: str, key: LogKey) -> tuple[RunTally, bool]:
        """The cached tally of ``run_id`` and whether it is current (the log's key is the
        one it was folded at); a blank tally when there is none, or when the log did not
        just grow (:func:`_appended`)."""
        entry = self._runs.get(run_id)
        if entry is None or entry.state.shown is None:
            return RunTally(), False
        if entry.key == key:
            return RunTally(entry.state, b""), True
        if not _appended(entry.key, key) or entry.fold == _NO_FOLD:
            return RunTally(), False  # replaced or rewritten, or an ended run: fold it again
        return RunTally(entry.state, bytes(entry.fold)), False

    def put(self, run_id: str, key: LogKey, tally: RunTally) -> None:
        """Keep ``tally`` (settled) for ``run_id``, folded up to the log with ``key``."""
        try:
            run_id.encode("utf-8")
        except UnicodeEncodeError:  # a directory name that is not UTF-8: not cached
            return
        state = tally.state
        ended = state.shown is not None and state.shown.status in _ENDED
        fold = _NO_FOLD if ended else msgspec.Raw(tally.dump() or b"null")
        self._runs[run_id] = _Entry(key=key, state=state, fold=fold)
        self._changed = True

    def keep_only(self, run_ids: Container[str]) -> None:
        """Forget the runs not in ``run_ids`` (gone since the last listing)."""
        gone = [r for r in self._runs if r not in run_ids]
        for run_id in gone:
            del self._runs[run_id]
        self._changed = self._changed or bool(gone)

    def save(self) -> None:
        """Replace the file atomically if anything changed; a directory we may not write
        to keeps no cache."""
        if not self._changed:
            return
        data = _encode(_File(version=_VERSION, runs=self._runs))
        tmp = self.path.with_name(f"{CACHE_NAME}.{os.getpid()}.{threading.get_ident()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(tmp, flags, 0o644)
            with open(fd, "wb") as f:  # closes fd
                f.write(data)
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
        else:
            self._changed = False


def _appended(old: LogKey, new: LogKey) -> bool:
    """Whether the log may only have grown since ``old``: the same file (device and
    inode), longer. Anything else (replaced, truncated, rewritten in place at the same
    size) is folded again from the start; the fold's mark is checked as well."""
    return old[:2] == new[:2] and new[2] > old[2]


def _read(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file (a link is not followed), else b""."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        with open(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError:
        return b""
    finally:
        os.close(fd)
