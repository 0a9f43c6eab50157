"""The event log of one run: stream, follow, verify and repair it, or open its one writer.

The log is ``events.jsonl``: one sealed event per ``\\n``-terminated line (see
:mod:`events.codec`), ``seq`` running 1, 2, 3 … Reads stream it in large chunks with
memory that does not grow with the log; every line is checked as it is read. A last line
without its newline is a crash's torn write: readers skip it, ``verify`` reports it, the
writer refuses to append after it and ``repair`` moves it aside.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec

from events import CorruptLine, Event, UnknownEvent
from store._lock import LogLock
from store._scan import EVENT_START, BadLine, LineScanner, decode_one
from store._writer import AppendListener, LogWriter
from store.errors import LogCorrupt, LogError, NotALog, TornTail
from store.seek import seek_line

__all__ = [
    "LOG_NAME",
    "AppendListener",
    "EventLog",
    "LogWriter",
    "RepairReport",
    "VerifyReport",
    "resolve_log_path",
]

#: The log's file name inside a run directory.
LOG_NAME = "events.jsonl"
# Read size: blocks this small stay in the CPU cache and below malloc's mmap threshold;
# 64 KiB measured ~1.5x faster than 1 MiB (benchmarks/log_bench.py).
_CHUNK = 1 << 16
_TAIL_WINDOW = 1 << 16

AnyEvent = Event | UnknownEvent


def resolve_log_path(run: str | Path) -> Path:
    """The events file of RUN: a run directory (existing or not) or the file itself."""
    path = Path(run)
    if path.is_dir():
        return path / LOG_NAME
    if path.exists() or path.suffix == ".jsonl":
        return path
    return path / LOG_NAME


class VerifyReport(msgspec.Struct, frozen=True, kw_only=True):
    """What :meth:`EventLog.verify` found.

    ``first_bad_line``/``reason`` name the first damaged complete line (None if there is
    none). A torn last line is reported apart from that, by ``torn_bytes`` (its size),
    ``torn_line`` (its number) and ``reason``, because only it can be repaired.
    """

    ok: bool
    events: int
    last_seq: int
    first_bad_line: int | None = None
    reason: str | None = None
    torn_bytes: int = 0
    torn_line: int | None = None


class RepairReport(msgspec.Struct, frozen=True, kw_only=True):
    """What :meth:`EventLog.repair` did: events kept, torn bytes moved, and where to."""

    kept_events: int
    moved_bytes: int
    side_file: Path | None


@dataclass
class _Scan:
    """A whole-file check: good events up to the first bad line, and the partial tail."""

    events: int = 0
    last_seq: int = 0
    bad: BadLine | None = None
    tail: bytes = b""
    tail_line: int = 1


class EventLog:
    """One run's event log, given as the run directory or its ``events.jsonl``."""

    def __init__(self, path: str | Path) -> None:
        self.path = resolve_log_path(path)

    def __repr__(self) -> str:
        return f"EventLog({str(self.path)!r})"

    def read(self, from_seq: int = 1) -> Iterator[AnyEvent]:
        """Stream the verified events with ``seq >= from_seq``.

        A damaged complete line raises :class:`LogCorrupt` (:class:`NotALog` when the file
        is no log at all) after the events before it. A torn last line is not yielded.
        """
        with self._open() as f:
            scanner = LineScanner()
            if from_seq > 1:  # jump near it instead of decoding every line before it
                offset, seq = seek_line(f.fileno(), from_seq)
                f.seek(offset)
                scanner.next_line = scanner.next_seq = seq
            yield from self._drain(f, scanner, from_seq)

    def follow(
        self,
        from_seq: int = 1,
        poll: float = 0.1,
        until: Callable[[], bool] | None = None,
    ) -> Iterator[AnyEvent]:
        """Like :meth:`read`, then keep yielding events as another process appends them.

        A partly written last line is held back until its newline arrives. The log may
        not exist yet. ``until()`` returning True ends the iteration once everything
        written by then has been yielded; without it, follow runs until closed.
        """
        scanner = LineScanner()
        f: BinaryIO | None = None
        try:
            while True:
                done = until is not None and until()
                if f is None:
                    with contextlib.suppress(FileNotFoundError):
                        f = open(self.path, "rb", buffering=0)  # noqa: SIM115 (closed below)
                if f is not None:
                    yield from self._drain(f, scanner, from_seq)
                    if f.tell() > os.fstat(f.fileno()).st_size:
                        raise LogError(
                            f"{self.path} was truncated while being followed "
                            "(repaired?); follow it again from the start"
                        )
                if done:
                    return
                time.sleep(poll)
        finally:
            if f is not None:
                f.close()

    def torn_bytes(self) -> int:
        """Bytes after the last newline: a torn last line (0 when the log ends cleanly).

        Reads only the end of the file, so it is cheap on any log size.
        """
        with self._open() as f:
            return _torn_size(f.fileno())

    def verify(self) -> VerifyReport:
        """Check every line: seal, ``seq`` from 1 without gaps or repeats, a torn tail."""
        scan = self._scan_all()
        if scan.bad is not None:
            with self._open() as f:
                torn = _torn_size(f.fileno())
            return VerifyReport(
                ok=False,
                events=scan.events,
                last_seq=scan.last_seq,
                first_bad_line=scan.bad.line_no,
                reason=scan.bad.reason,
                torn_bytes=torn,
            )
        if not scan.tail:
            return VerifyReport(ok=True, events=scan.events, last_seq=scan.last_seq)
        size = len(scan.tail)
        if not _may_start_event(scan.tail):
            return VerifyReport(
                ok=False,
                events=scan.events,
                last_seq=scan.last_seq,
                first_bad_line=scan.tail_line,
                reason=f"the last line ({size} bytes, no newline) is not an agentlog event",
                torn_bytes=size,
            )
        return VerifyReport(
            ok=False,
            events=scan.events,
            last_seq=scan.last_seq,
            reason=(
                f"line {scan.tail_line} is torn: {size} bytes without a newline, left by a "
                "crash while writing; `agentlog verify --repair` moves them to a side file"
            ),
            torn_bytes=size,
            torn_line=scan.tail_line,
        )

    def repair(self) -> RepairReport:
        """Move a torn last line to ``events.jsonl.torn-<n>`` and truncate the log to it.

        Every complete event is kept. Any other damage is refused with
        :class:`LogCorrupt` (or :class:`NotALog`) and nothing is changed. Takes the writer
        lock, so it raises :class:`LogLocked` while a run is writing.
        """
        if not self.path.is_file():
            raise LogError(f"{self.path}: no such event log")
        lock = LogLock.acquire(self.path, create=False)
        try:
            scan = self._scan_all()
            refusal = "; `agentlog verify --repair` only removes a torn last line, nothing changed"
            if scan.bad is not None:
                raise self._error(scan.bad, refusal)
            if scan.tail and not _may_start_event(scan.tail):
                raise NotALog(
                    self.path, scan.tail_line, f"its last line is no agentlog event{refusal}"
                )
            if not scan.tail:
                return RepairReport(kept_events=scan.events, moved_bytes=0, side_file=None)
            side = self._move_tail(len(scan.tail))
            return RepairReport(kept_events=scan.events, moved_bytes=len(scan.tail), side_file=side)
        finally:
            lock.release()

    def writer(self) -> LogWriter:
        """Open the log for appending, creating it (and its directory) if missing.

        Raises :class:`LogLocked` if another writer holds it, :class:`TornTail` if it ends
        in a torn line, and :class:`LogCorrupt` if its last line is damaged.
        """
        path = self.path
        try:
            if not path.parent.is_dir():
                path.parent.mkdir(parents=True)
                _fsync_dir(path.parent.parent)
        except OSError as exc:
            raise LogError(f"cannot create {path.parent}: {exc.strerror or exc}") from exc
        lock = LogLock.acquire(path)
        try:
            last_seq = self._last_seq(lock.fd)
            if lock.created:
                _fsync_dir(path.parent)
        except BaseException:
            lock.release()
            raise
        return LogWriter(path, lock, last_seq)

    # -- internals -------------------------------------------------------------------

    def _open(self) -> BinaryIO:
        try:
            return open(self.path, "rb", buffering=0)
        except FileNotFoundError:
            raise LogError(f"{self.path}: no such event log") from None
        except OSError as exc:
            raise LogError(f"cannot read {self.path}: {exc.strerror or exc}") from exc

    def _error(self, bad: BadLine, extra: str = "") -> LogError:
        if bad.foreign and bad.line_no == 1:
            return NotALog(self.path, 1, bad.reason + extra)
        return LogCorrupt(self.path, bad.line_no, bad.reason + extra)

    def _drain(self, f: BinaryIO, scanner: LineScanner, from_seq: int) -> Iterator[AnyEvent]:
        """Yield the events of everything readable from ``f`` now, from ``from_seq`` on."""
        read = f.read
        while data := read(_CHUNK):
            try:
                events = scanner.feed(data)
            except BadLine as bad:
                yield from _since(bad.good, from_seq)
                raise self._error(bad) from None
            if events and events[-1].seq >= from_seq:
                yield from _since(events, from_seq)

    def _scan_all(self) -> _Scan:
        scan = _Scan()
        scanner = LineScanner()
        with self._open() as f:
            try:
                while data := f.read(_CHUNK):
                    events = scanner.feed(data)
                    if events:
                        scan.events += len(events)
                        scan.last_seq = events[-1].seq
            except BadLine as bad:
                scan.events += len(bad.good)
                if bad.good:
                    scan.last_seq = bad.good[-1].seq
                scan.bad = bad
                return scan
        scan.tail = scanner.pending
        scan.tail_line = scanner.next_line
        return scan

    def _last_seq(self, fd: int) -> int:
        """The last event's seq, read from the end of the file; refuses a torn tail."""
        size = os.fstat(fd).st_size
        window = _TAIL_WINDOW
        while size:
            start = max(0, size - window)
            buf = os.pread(fd, size - start, start)
            end = buf.rfind(b"\n")
            if end == -1 and start:
                window *= 4
                continue
            if end != len(buf) - 1:
                raise TornTail(self.path, start + end + 1, len(buf) - end - 1)
            begin = buf.rfind(b"\n", 0, end)
            if begin == -1 and start:
                window *= 4
                continue
            try:
                return decode_one(buf[begin + 1 : end]).seq
            except CorruptLine:
                scan = self._scan_all()
                if scan.bad is None:  # pragma: no cover - the lock keeps the file still
                    raise LogError(f"{self.path} changed while being opened") from None
                raise self._error(scan.bad) from None
        return 0

    def _move_tail(self, torn: int) -> Path:
        fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        try:
            offset = os.fstat(fd).st_size - torn
            data = os.pread(fd, torn, offset)
            side, sfd = _create_side_file(self.path)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(sfd, view) :]
                os.fsync(sfd)
            finally:
                os.close(sfd)
            _fsync_dir(self.path.parent)
            os.ftruncate(fd, offset)
            os.fsync(fd)
        finally:
            os.close(fd)
        return side


def _since(events: list[AnyEvent], from_seq: int) -> list[AnyEvent]:
    """The tail of a contiguous run of events that starts at ``from_seq``."""
    if not events or events[0].seq >= from_seq:
        return events
    return events[from_seq - events[0].seq :]


def _may_start_event(tail: bytes) -> bool:
    """Whether torn bytes begin the way every line agentlog writes begins."""
    head = tail[: len(EVENT_START)]
    return EVENT_START.startswith(head)


def _torn_size(fd: int) -> int:
    """How many bytes follow the file's last newline (scanning back from the end)."""
    size = os.fstat(fd).st_size
    pos = size
    while pos:
        start = max(0, pos - _CHUNK)
        cut = os.pread(fd, pos - start, start).rfind(b"\n")
        if cut != -1:
            return size - (start + cut + 1)
        pos = start
    return size


def _create_side_file(path: Path) -> tuple[Path, int]:
    """Create the first free ``<log>.torn-<n>``."""
    n = 1
    while True:
        side = path.with_name(f"{path.name}.torn-{n}")
        try:
            return side, os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            n += 1


def _fsync_dir(directory: Path) -> None:
    """Make a directory entry (a created or renamed file) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
