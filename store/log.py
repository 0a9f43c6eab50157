"""The event log of one run: stream, follow, verify and repair it, or open its one writer.

The log is ``events.jsonl``: one sealed event per ``\\n``-terminated line (see
:mod:`events.codec`), ``seq`` running 1, 2, 3 … Reads stream it in large chunks with
memory that does not grow with the log; every line is checked as it is read. A last line
without its newline is a crash's torn write: readers skip it, ``verify`` reports it, the
writer refuses to append after it and ``repair`` moves it aside.

A power cut can leave more than a torn line after the last synced event: a tail of zero
bytes (a file size that reached the disk before its data) or of stale blocks. Damage
confined to the tail like that -- no good event after it, and no line that is an event
with changed bytes -- is crash debris that ``repair`` moves aside as well; damage with a
good event after it stays an error naming its line.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec

from events import CorruptLine, Event, UnknownEvent
from store._lock import LogLock
from store._scan import BadLine, LineScanner, decode_one
from store._tail import CHUNK, debris, is_debris, line_offset, may_start_event, torn_size
from store._together import together
from store._writer import AppendListener, LogWriter
from store.errors import LogCorrupt, LogError, NotALog, TornTail
from store.marks import LogMark, last_line_seq, lines_from, mark_at, scan_from
from store.seek import seek_line

__all__ = [
    "LOG_NAME",
    "AppendListener",
    "EventLog",
    "LogWriter",
    "RepairReport",
    "VerifyReport",
    "log_file_problem",
    "resolve_log_path",
]

#: The log's file name inside a run directory.
LOG_NAME = "events.jsonl"
_TAIL_WINDOW = 1 << 16

AnyEvent = Event | UnknownEvent


def resolve_log_path(run: str | Path) -> Path:
    """The events file of RUN: a run directory (existing or not) or the file itself.

    A path named ``events.jsonl`` is the log's even when something else sits there, so
    the error can say what (see :func:`log_file_problem`).
    """
    path = Path(run)
    try:  # one look: a run directory created meanwhile must not pass for a log file
        mode: int | None = path.stat().st_mode
    except OSError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode) and path.name != LOG_NAME:
        return path / LOG_NAME
    if mode is not None or path.suffix == ".jsonl":
        return path
    return path / LOG_NAME


def log_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as an event log file (None if it is a regular file).

    Says what is there instead: nothing, a directory, a FIFO, a socket, a device.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such event log"
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    return f"is {_kind_of(mode)}, not an event log file"


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


class VerifyReport(msgspec.Struct, frozen=True, kw_only=True):
    """What :meth:`EventLog.verify` found.

    ``first_bad_line``/``reason`` name the first damaged complete line (None if there is
    none). A torn last line is reported apart from that, by ``torn_bytes`` (its size),
    ``torn_line`` (its number) and ``reason``. ``repairable`` says :meth:`EventLog.repair`
    can fix the log: the damage is a torn line or crash debris confined to the tail, whose
    ``torn_bytes`` it moves aside.
    """

    ok: bool
    events: int
    last_seq: int
    first_bad_line: int | None = None
    reason: str | None = None
    torn_bytes: int = 0
    torn_line: int | None = None
    repairable: bool = False


class RepairReport(msgspec.Struct, frozen=True, kw_only=True):
    """What :meth:`EventLog.repair` did: events kept, bytes moved (from line ``from_line``
    on, ``moved_lines`` lines counting a last one without newline), and where to."""

    kept_events: int
    moved_bytes: int
    side_file: Path | None
    from_line: int | None = None
    moved_lines: int = 0

    def __str__(self) -> str:
        if self.side_file is None:
            return f"nothing to repair: {self.kept_events} events"
        lines = "line" if self.moved_lines == 1 else "lines"
        return (
            f"kept {self.kept_events} events, moved {self.moved_bytes} bytes "
            f"({self.moved_lines} {lines} from line {self.from_line} on) to {self.side_file}"
        )


@dataclass
class _Scan:
    """A whole-file check: good events up to the first bad line, and the partial tail."""

    events: int = 0
    last_seq: int = 0
    bad: BadLine | None = None
    tail: bytes = b""
    tail_line: int = 1
    #: The damage runs to the end of the file and is crash debris: ``debris`` bytes (in
    #: ``debris_lines`` lines) from the first bad line on can be moved aside.
    debris: int = 0
    debris_lines: int = 0


class EventLog:
    """One run's event log, given as the run directory or its ``events.jsonl``."""

    def __init__(self, path: str | Path) -> None:
        self.path = resolve_log_path(path)

    def __repr__(self) -> str:
        return f"EventLog({str(self.path)!r})"

    def read(self, from_seq: int = 1) -> Generator[AnyEvent, None, None]:
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

    def scan(self, since: LogMark | None = None) -> Iterator[tuple[LogMark, AnyEvent]]:
        """Resume reading where a reader stopped: each event after ``since`` (a mark this
        method yielded before; None: the start), with the mark just past its line.

        Raises :class:`~store.marks.StaleMark` when ``since`` is not a line end of this
        log (repaired, replaced, truncated: read it from the start again),
        :class:`~events.CorruptLine` at a damaged line, ``OSError`` when the log cannot
        be opened. Nothing is verified beyond each line's seal, so a reader that keeps
        its own projection pays only for what was appended since.
        """
        with open(self.path, "rb", buffering=0) as f:
            yield from scan_from(f.fileno(), since or LogMark())

    def read_marked(self, marks: list[LogMark]) -> Iterator[list[AnyEvent]]:
        """:meth:`read` a block of events at a time, appending to ``marks`` the mark past
        each whole block (a reader that also keeps a resumable projection, the viewer's
        overview, needs no second pass for it). Raises as :meth:`read` does, after the
        good events before a damaged line (whose block gets no mark)."""
        with self._open() as f:
            fd, scanner, pos = f.fileno(), LineScanner(), 0
            while data := f.read(CHUNK):
                pos += len(data)
                try:
                    events = scanner.feed(data)
                except BadLine as bad:
                    yield bad.good
                    raise self._error(bad) from None
                if events:
                    marks.append(mark_at(fd, pos - len(scanner.pending)))
                    yield events

    def scan_at(self, offset: int) -> Iterator[tuple[LogMark, AnyEvent]]:
        """Like :meth:`scan` from ``offset``, a line start the caller found itself (the
        viewer's index of line offsets); the offset is not checked."""
        with open(self.path, "rb", buffering=0) as f:
            yield from lines_from(f.fileno(), offset)

    def last_seq(self) -> int:
        """For a reader: the seq of the last complete line (0: none), from the file's end.

        A torn tail is ignored; when the last complete line is damaged, the number of
        complete lines. (A writer's open refuses both instead.)
        """
        with open(self.path, "rb", buffering=0) as f:
            return last_line_seq(f.fileno())

    def being_written(self) -> bool:
        """Whether a writer (a run, a repair) holds the log right now."""
        return LogLock.is_held(self.path)

    def torn_bytes(self) -> int:
        """Bytes after the last newline: a torn last line (0 when the log ends cleanly).

        Reads only the end of the file, so it is cheap on any log size.
        """
        with self._open() as f:
            return torn_size(f.fileno())

    def verify(self) -> VerifyReport:
        """Check every line: seal, ``seq`` from 1 without gaps or repeats, a torn tail."""
        scan = self._scan_all()
        if scan.bad is not None:
            if scan.debris:
                return self._debris_report(scan, scan.bad.line_no, scan.bad.reason)
            with self._open() as f:
                torn = torn_size(f.fileno())
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
        if not may_start_event(scan.tail):
            reason = f"the last line ({size} bytes, no newline) is not an agentlog event"
            if scan.debris:
                return self._debris_report(scan, scan.tail_line, reason)
            return VerifyReport(
                ok=False,
                events=scan.events,
                last_seq=scan.last_seq,
                first_bad_line=scan.tail_line,
                reason=reason,
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
            repairable=True,
        )

    def _debris_report(self, scan: _Scan, line: int, reason: str) -> VerifyReport:
        return VerifyReport(
            ok=False,
            events=scan.events,
            last_seq=scan.last_seq,
            first_bad_line=line,
            reason=(
                f"{reason}; it and everything after it ({scan.debris} bytes) is crash debris "
                "after the last good event (a power cut can leave zero bytes or stale data "
                "there); `agentlog verify --repair` moves it to a side file"
            ),
            torn_bytes=scan.debris,
            torn_line=line,
            repairable=True,
        )

    def repair(self) -> RepairReport:
        """Move a torn last line, or crash debris after the last good event, to
        ``events.jsonl.torn-<n>`` and truncate the log to the last good event.

        Every good event is kept. Any other damage (a changed event, or damage with a good
        event after it) is refused with :class:`LogCorrupt` (or :class:`NotALog`) and
        nothing is changed. Takes the writer lock, so it raises :class:`LogLocked` while a
        run is writing.
        """
        problem = log_file_problem(self.path)
        if problem is not None:
            raise LogError(f"{self.path}: {problem}")
        lock = LogLock.acquire(self.path, create=False)
        try:
            scan = self._scan_all()
            refusal = (
                "; `agentlog verify --repair` only removes a torn last line or crash debris "
                "after the last good event, nothing changed"
            )
            if scan.debris:
                first = scan.bad.line_no if scan.bad is not None else scan.tail_line
                side = self._move_tail(scan.debris)
                return RepairReport(
                    kept_events=scan.events,
                    moved_bytes=scan.debris,
                    side_file=side,
                    from_line=first,
                    moved_lines=scan.debris_lines,
                )
            if scan.bad is not None:
                raise self._error(scan.bad, refusal)
            if scan.tail and not may_start_event(scan.tail):
                raise NotALog(
                    self.path, scan.tail_line, f"its last line is no agentlog event{refusal}"
                )
            if not scan.tail:
                return RepairReport(kept_events=scan.events, moved_bytes=0, side_file=None)
            side = self._move_tail(len(scan.tail))
            return RepairReport(
                kept_events=scan.events,
                moved_bytes=len(scan.tail),
                side_file=side,
                from_line=scan.tail_line,
                moved_lines=1,
            )
        finally:
            lock.release()

    def move_aside_from(self, line_no: int, *, locked: bool = False) -> RepairReport:
        """Move line ``line_no`` and every line after it to ``events.jsonl.torn-<n>``: the
        unsynced tail :func:`store.unsynced.unsynced_line` found. Takes the writer lock,
        unless ``locked`` says the caller holds it (:func:`store.unsynced.move_unsynced_tail`
        found the line while holding it)."""
        lock = None if locked else LogLock.acquire(self.path, create=False)
        try:
            with self._open() as f:
                offset = line_offset(f, line_no)
                size = os.fstat(f.fileno()).st_size
                lines = os.pread(f.fileno(), size - offset, offset).count(b"\n")
            if offset >= size:
                return RepairReport(kept_events=line_no - 1, moved_bytes=0, side_file=None)
            side = self._move_tail(size - offset)
            return RepairReport(
                kept_events=line_no - 1,
                moved_bytes=size - offset,
                side_file=side,
                from_line=line_no,
                moved_lines=lines,
            )
        finally:
            if lock is not None:
                lock.release()

    def writer(self) -> LogWriter:
        """Open the log for appending, creating it (and its directory) if missing.

        Raises :class:`LogLocked` if another writer holds it, :class:`TornTail` if it ends
        in a torn line, and :class:`LogCorrupt` if its last line is damaged.
        """
        path = self.path
        try:
            _make_dirs(path.parent)
        except OSError as exc:
            raise LogError(f"cannot create {path.parent}: {exc.strerror or exc}") from exc
        lock = LogLock.acquire(path)
        try:
            last_seq = self._last_seq(lock.fd)
            if lock.created:
                # The log's entry, and the run directory's own entry in its parent: whoever
                # made the directory (the supervisor does) did not sync its parent.
                # Both at once: one journal commit (see store._together).
                together([lambda: _fsync_dir(path.parent), lambda: _fsync_dir(path.parent.parent)])
        except BaseException:
            lock.release()
            raise
        return LogWriter(path, lock, last_seq)

    # -- internals -------------------------------------------------------------------

    def _open(self) -> BinaryIO:
        """The log opened for reading; a FIFO or directory in its place is named as such
        (opened without blocking, so a FIFO with no writer cannot hang a reader)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise LogError(f"{self.path}: no such event log") from None
        except OSError as exc:
            raise LogError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise LogError(f"{self.path}: is {_kind_of(mode)}, not an event log file")
        return open(fd, "rb", buffering=0)

    def _error(self, bad: BadLine, extra: str = "") -> LogError:
        if bad.foreign and bad.line_no == 1:
            return NotALog(self.path, 1, bad.reason + extra)
        return LogCorrupt(self.path, bad.line_no, bad.reason + extra)

    def _drain(self, f: BinaryIO, scanner: LineScanner, from_seq: int) -> Iterator[AnyEvent]:
        """Yield the events of everything readable from ``f`` now, from ``from_seq`` on."""
        read = f.read
        while data := read(CHUNK):
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
                while data := f.read(CHUNK):
                    events = scanner.feed(data)
                    if events:
                        scan.events += len(events)
                        scan.last_seq = events[-1].seq
            except BadLine as bad:
                scan.events += len(bad.good)
                if bad.good:
                    scan.last_seq = bad.good[-1].seq
                scan.bad = bad
                f.seek(line_offset(f, bad.line_no))
                scan.debris, scan.debris_lines = debris(f, scan.events)
                return scan
        scan.tail = scanner.pending
        scan.tail_line = scanner.next_line
        if scan.tail and not may_start_event(scan.tail) and is_debris(scan.tail, scan.events):
            scan.debris, scan.debris_lines = len(scan.tail), 1
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
                self._refuse_damaged_tail()
                raise TornTail(self.path, start + end + 1, len(buf) - end - 1)
            begin = buf.rfind(b"\n", 0, end)
            if begin == -1 and start:
                window *= 4
                continue
            try:
                return decode_one(buf[begin + 1 : end]).seq
            except CorruptLine:
                scan = self._scan_all()
                if scan.debris:
                    raise TornTail(self.path, size - scan.debris, scan.debris) from None
                if scan.bad is None:  # pragma: no cover - the lock keeps the file still
                    raise LogError(f"{self.path} changed while being opened") from None
                raise self._error(scan.bad) from None
        return 0

    def _refuse_damaged_tail(self) -> None:
        """Before calling a tail without newline torn: if nothing can repair the log (real
        damage, or a file that is no log), say that instead."""
        scan = self._scan_all()
        if scan.bad is not None and not scan.debris:
            raise self._error(scan.bad)
        if scan.tail and not scan.debris and not may_start_event(scan.tail):
            raise NotALog(self.path, scan.tail_line, "its last line is no agentlog event")

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


def _make_dirs(directory: Path) -> None:
    """Create ``directory`` and its missing parents, syncing each new entry's parent."""
    if directory.is_dir():
        return
    _make_dirs(directory.parent)
    with contextlib.suppress(FileExistsError):
        directory.mkdir()
        _fsync_dir(directory.parent)


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
