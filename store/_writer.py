"""The log's only writer: stamps events, appends whole lines and returns once they are durable.

An append is one ``os.write`` of complete lines to a file opened ``O_APPEND`` followed by
one ``fdatasync``; only then is the stamped event returned and are listeners told, so an
acknowledged event survives a crash. With group commit (``sync=False``) listeners hear of
the events at the ``sync`` that makes them durable, never before: what a listener saw
(the progress display, the Convex mirror) is never rewritten by a later ``resume``. A
failed write is rolled back and closes the writer, because after an I/O error nothing
more can be promised about what reached the disk.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import NoReturn, TypeVar, cast

import msgspec

from events import EVENT_TYPES, Event, EventBase, UnknownEvent, encode_line
from store._lock import LogLock
from store._logging import get_logger
from store._stamps import StampSource, stamps_of
from store.errors import LogError

__all__ = ["AppendListener", "LogWriter", "Scrub", "SeenEvent", "new_id", "utc_now"]

E = TypeVar("E", bound=EventBase)
#: Called with the stamped events of one append once they are durable.
AppendListener = Callable[[Sequence[Event]], None]
#: An event of the log a held writer is ``like``, already decoded, with its line (no
#: newline), by seq; None when it is not at hand.
SeenEvent = Callable[[int], "tuple[Event | UnknownEvent, bytes] | None"]
#: Given an event and its encoded line: the event to write instead (secrets masked), or
#: None when the line is clean (the common case, which costs no second encode).
Scrub = Callable[[E, bytes], E | None]

_log = get_logger("agentlog.store")
_EVENT_CLASSES = frozenset(EVENT_TYPES.values())
_sync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)
_second: list[tuple[int, str]] = [(-1, "")]
#: The most bytes :meth:`LogWriter.hold` keeps before writing them.
_HELD_MAX = 1 << 18


def utc_now() -> str:
    """The current time as RFC 3339 UTC with microseconds, e.g. ``2025-01-31T12:00:00.000001Z``."""
    sec, micro = divmod(time.time_ns() // 1000, 1_000_000)
    cached_sec, prefix = _second[0]
    if sec != cached_sec:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _second[0] = (sec, prefix)
    return f"{prefix}.{micro:06d}Z"


def _check_types(batch: Sequence[EventBase]) -> None:
    for ev in batch:
        if type(ev) not in _EVENT_CLASSES:
            raise TypeError(f"cannot append {type(ev).__name__}: not an agentlog event type")


def new_id() -> str:
    """A fresh event id: 128 random bits as 32 hex digits."""
    return os.urandom(16).hex()


class LogWriter:
    """Appends events to one log, holding its exclusive lock until :meth:`close`.

    Obtain one from :meth:`store.EventLog.writer`; use it as a context manager.
    """

    def __init__(self, path: Path, lock: LogLock, last_seq: int) -> None:
        self.path = path
        self._fd = lock.fd  # the locked append descriptor; the lock owns and closes it
        self._lock = lock
        self._last_seq = last_seq
        self._size = os.fstat(self._fd).st_size
        self._mutex = threading.RLock()
        self._listeners: list[AppendListener] = []
        self._closed = False
        self._dirty = False  # written but not yet fsynced (group commit)
        self._unheard: list[Event] = []  # written, not yet durable: listeners wait for them
        self._held: list[bytes] | None = None  # see hold()
        self._ids: random.Random | None = None  # a held log's ids (see hold())
        self._like: StampSource | None = None  # a held log's recorded lines (see hold())
        self._like_through = 0  # see like_through
        self._seen: SeenEvent | None = None  # see hold()
        self._held_bytes = 0
        self._first: list[Callable[[], None]] = []  # made durable before any line is written

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the last event in the log (0 for an empty log)."""
        return self._last_seq

    @property
    def like_through(self) -> int:
        """The seq through which every line this writer wrote since :meth:`hold` with
        ``like`` is that log's line with the same seq, byte for byte (the seq before its
        first line when none is); 0 without ``like``."""
        return self._like_through

    @property
    def closed(self) -> bool:
        """Whether the writer was closed (explicitly or after a failed write)."""
        return self._closed

    def on_append(self, callback: AppendListener) -> Callable[[], None]:
        """Call ``callback`` with stamped events once they are durable, in log order.

        A synced append is heard at once; a group-commit append (``sync=False``) when the
        next synced append or :meth:`sync` covers it (one call for the whole group).

        Events appended before the listener was added are not heard by it. A listener that
        raises is logged and skipped; the append still succeeds.
        Returns a function that removes the listener.
        """
        with self._mutex:
            self._listeners.append(callback)

        def remove() -> None:
            with self._mutex, contextlib.suppress(ValueError):
                self._listeners.remove(callback)

        return remove

    def sync_first(self, make_durable: Callable[[], None]) -> None:
        """Call ``make_durable`` before every sync of the log: what the events name (the
        run pack's records) is made durable first, at the same commit point, so a
        completed sync never covers a line without what it names. A line written since
        may reach the disk before what it names (writeback); it is then the unsynced tail
        a power cut can lose, and recovery cuts it (:func:`store.check_objects`). An
        ``OSError`` it raises fails the sync."""
        with self._mutex:
            self._first.append(make_durable)

    def append(self, event: E) -> E:
        """Stamp ``seq`` (and ``id``/``ts`` when empty), append durably, return the result."""
        return self.append_many((event,))[0]

    def append_many(
        self,
        events: Iterable[E],
        *,
        sync: bool = True,
        stamp: Mapping[str, object] | None = None,
        scrub: Scrub[E] | None = None,
    ) -> list[E]:
        """Stamp and append a group with one write and one fsync; all or nothing.

        ``sync=False`` writes without the fsync (group commit): the events are in the file,
        visible to readers and safe from a killed process, and become durable against a
        power cut at the next synced append or :meth:`sync`. ``stamp`` adds fields to
        every event (the supervisor's ``workflow_id``) in the same copy as ``seq``;
        ``scrub`` sees each encoded line and returns a replacement event only when the
        line holds a secret, so a clean event is encoded once.
        """
        with self._mutex:
            if self._closed:
                self._check_open()
            batch = events if type(events) is list else list(events)
            if not batch:
                return []
            if self._like is not None and scrub is None:
                stamped, lines, like_through = self._like_lines(batch, stamp)
            else:
                stamped, like_through = self._stamp(batch, stamp), self._like_through
                lines = []
                for i, ev in enumerate(stamped):
                    line = encode_line(cast(Event, ev))
                    if scrub is not None:
                        fixed = scrub(ev, line)
                        if fixed is not None:
                            stamped[i] = fixed
                            line = encode_line(cast(Event, fixed))
                    lines.append(line)
            data = b"".join(lines)
            if self._held is not None and not sync:
                self._held.append(data)
                self._held_bytes += len(data)
                if self._held_bytes >= _HELD_MAX:
                    self._flush()
            else:
                self._flush()
                self._write(data, sync)
            self._last_seq += len(stamped)
            self._like_through = like_through
            if self._listeners:  # nobody listening: nothing to hold until it is durable
                self._unheard.extend(cast(list[Event], stamped))
            if sync:
                self._notify()
            return stamped

    def hold(self, like: Path | None = None, seen: SeenEvent | None = None) -> None:
        """From now on keep group-commit appends in memory, written in large blocks at
        :meth:`sync`, :meth:`close` or every :data:`_HELD_MAX` bytes, and never fsynced:
        for a throwaway log nobody reads until it is closed (a replay's scratch run),
        where a write per append costs more than the append and durability buys nothing.
        A killed process loses what was held. Its events' ids come from a generator seeded
        once from ``os.urandom`` (random, unique in the log, without a system call per
        append). With ``like`` (a recorded log a replay compares this one with), an event
        takes the ``id`` and ``ts`` of that log's line with the same seq, where it has
        one, and :attr:`like_through` says how far the lines written are that log's (see
        :mod:`store._stamps`). ``seen`` gives an event of that log already decoded, with
        its line, by seq (a replay's answer just served): an event made equal to it (as
        structs, field by field) is written as that line, with no encoding."""
        with self._mutex:
            if self._held is None:
                self._held = []
                self._ids = random.Random(os.urandom(32))
                self._like = StampSource(like) if like is not None else None
                self._like_through = self._last_seq
                self._seen = seen if like is not None else None

    def sync(self) -> None:
        """Make every event written so far durable (one fsync, none if nothing is pending)."""
        with self._mutex:
            self._check_open()
            self._flush()
            if self._dirty and self._held is None:
                try:
                    self._sync_all()
                except OSError as exc:
                    self._fail(exc)
                self._dirty = False
            self._notify()

    def cut_back(self, last_seq: int) -> None:
        """The log was cut back under this writer's lock, before it wrote anything, to end
        with event ``last_seq`` (:func:`store.unsynced.move_unsynced_tail`): the next
        append follows that event."""
        with self._mutex:
            if self._closed or self._dirty or self._held or self._unheard:
                raise LogError(f"{self.path}: cut back after this writer wrote to it")
            self._last_seq = last_seq
            self._size = os.fstat(self._fd).st_size

    def close(self) -> None:
        """Close the file and release the lock; calling it again does nothing."""
        with self._mutex:
            if self._closed:
                return
            try:
                self._flush()
            finally:
                self._closed = True
                if self._like is not None:
                    self._like.close()
            try:
                if self._dirty and self._held is None:
                    self._sync_all()
                    self._dirty = False
                self._notify()
            except OSError:
                self._unheard.clear()  # not durable: no listener may hear of them
            finally:
                self._lock.release()

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise LogError(f"{self.path}: this writer is closed; open a new one to append")

    def _stamp(self, batch: list[E], extra: Mapping[str, object] | None = None) -> list[E]:
        _check_types(batch)
        n = len(batch)
        ids = (
            f"{self._ids.getrandbits(128 * n):0{32 * n}x}"
            if self._ids
            else os.urandom(16 * n).hex()
        )
        now = utc_now()
        seq = self._last_seq
        like = self._like
        out: list[E] = []
        for i, ev in enumerate(batch, 1):
            changes: dict[str, object] = {**extra, "seq": seq + i} if extra else {"seq": seq + i}
            taken = like.take(seq + i) if like is not None else None
            if not ev.id:
                changes["id"] = taken[0] if taken else ids[32 * (i - 1) : 32 * i]
            if not ev.ts:
                changes["ts"] = taken[1] if taken else now
            out.append(msgspec.structs.replace(ev, **changes))
        return out

    def _like_lines(
        self, batch: list[E], extra: Mapping[str, object] | None
    ) -> tuple[list[E], list[bytes], int]:
        """:meth:`_stamp` and encode ``batch`` for a log held ``like`` another: each event
        takes the stamps of that log's line with its seq, and the lines are compared with
        that log's as they are made. Returns the events, their lines and the new
        :attr:`like_through`."""
        _check_types(batch)
        like = self._like
        assert like is not None and self._ids is not None
        seq, through = self._last_seq, self._like_through
        same = through == seq  # every line so far is the other log's
        out: list[E] = []
        lines: list[bytes] = []
        now = ""
        seen = self._seen
        # Stamped with keywords, not a dict of them: msgspec's replace takes a keyword
        # call several times faster. Only another ``extra`` than the supervisor's one
        # field goes the general way (an empty one stamps the event's own workflow_id).
        wid = extra.get("workflow_id") if extra else None
        keyed = not extra or (len(extra) == 1 and type(wid) is str)
        extra = extra or {}
        replace = msgspec.structs.replace
        for ev in batch:
            seq += 1
            bare = not ev.id and not ev.ts
            if bare and seen is not None and (known := seen(seq)) is not None:
                was, was_line = known
                if keyed:
                    made = replace(
                        ev,
                        workflow_id=ev.workflow_id if wid is None else wid,
                        seq=seq,
                        id=was.id,
                        ts=was.ts,
                    )
                else:
                    made = replace(ev, **extra, seq=seq, id=was.id, ts=was.ts)
                if made == was:  # the recorded event itself: its line, not encoded again
                    out.append(made)
                    lines += (was_line, b"\n")
                    if same:
                        through = seq
                    continue
            line = like.line(seq)  # past a seen line: no stamps taken, none read
            taken = stamps_of(line) if line is not None else None
            if bare and taken is not None:
                if keyed:
                    made = replace(
                        ev,
                        workflow_id=ev.workflow_id if wid is None else wid,
                        seq=seq,
                        id=taken[0],
                        ts=taken[1],
                    )
                else:
                    made = replace(ev, **extra, seq=seq, id=taken[0], ts=taken[1])
            else:
                changes: dict[str, object] = {**extra, "seq": seq}
                if not ev.id:
                    changes["id"] = taken[0] if taken else f"{self._ids.getrandbits(128):032x}"
                if not ev.ts:
                    changes["ts"] = taken[1] if taken else (now or (now := utc_now()))
                made = replace(ev, **changes)
            out.append(made)
            encoded = encode_line(made)  # type: ignore[arg-type]  # (no cast: a call an event)
            if same:  # still the other log's: is this line too? (compared without a copy)
                if line is not None and len(encoded) == len(line) + 1 and encoded.startswith(line):
                    through = seq
                else:
                    same = False
            lines.append(encoded)
        return out, lines, through

    def _flush(self) -> None:
        """Write what :meth:`hold` kept, if anything."""
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            self._held_bytes = 0
            self._write(data, False)

    def _write(self, data: bytes, sync: bool = True) -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            if sync:
                self._sync_all()
        except OSError as exc:
            self._fail(exc)
        self._size += len(data)
        self._dirty = not sync

    def _sync_all(self) -> None:
        """One commit point: what the lines name (:meth:`sync_first`), then the log."""
        for make_durable in self._first:
            make_durable()
        _sync(self._fd)

    def _fail(self, exc: OSError) -> NoReturn:
        """Roll the file back to its last durable size, close, and report the failure."""
        self._unheard.clear()  # what was not synced is not promised: no listener hears it
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, self._size)  # drops only this call's partial write
            _sync(self._fd)
        self.close()
        raise LogError(
            f"{self.path}: could not append ({exc.strerror or exc}); the events of this call "
            "were not recorded and this writer is closed. Fix the cause (disk full? "
            "permissions?), run `agentlog verify`, then open a new writer."
        ) from exc

    def _notify(self) -> None:
        """Tell every listener of the events made durable since the last notification."""
        if not self._unheard:
            return
        stamped, self._unheard = self._unheard, []
        for listener in list(self._listeners):
            try:
                listener(stamped)
            except Exception:
                _log.exception(
                    "append listener failed", path=str(self.path), listener=repr(listener)
                )
