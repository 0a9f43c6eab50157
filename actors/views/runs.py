"""One line per run: the summary ``agentlog ls`` prints and the viewer's runs list shows.

A summary is the run's one fold (:class:`store.WorkflowFold`, the fold ``resume`` and
the supervisor decide from), kept resumable: listing saves the fold's state and the
:class:`store.LogMark` where it stopped beside the log (``.ls-cache.json``, a pure,
rebuildable projection of the log's bytes), so the next listing reads only what was
appended since (:meth:`store.EventLog.scan`): a finished run costs a ``stat`` and one
file, never its whole log. A cache that does not match the log (the log was repaired,
replaced or truncated, or the cache was written by another version) is rebuilt from the
start; one that cannot be written (a read-only run) is simply not kept.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path

import msgspec

from actors.pricing import cost_usd
from actors.views.liveness import WriterTable
from events import CorruptLine, Forked, ModelCalled, Usage, WorkflowStarted, tokens
from store import LOG_NAME, EventLog, LogMark, StaleMark, WorkflowFold, WorkflowState

__all__ = ["CACHE_NAME", "ForkRef", "RunSummary", "find_runs", "list_runs", "summarize_run"]

#: The summary cache's file name inside a run directory.
CACHE_NAME = ".ls-cache.json"
_CACHE_VERSION = 2


class ForkRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Where a forked run came from (its ``Forked`` event)."""

    source: str
    source_workflow_id: str
    at_seq: int
    #: A what-if of its source (``agentlog replay RUN --as NEW``), not a plain fork.
    what_if: bool = False


class RunSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What a runs list shows about one run.

    ``status``: ``completed`` and ``failed`` come from the final event; ``waiting`` (the
    last event asks a person to decide), ``running`` (a writer holds the log) and
    ``interrupted`` (no writer: ``agentlog resume`` continues it) from the log's tail and
    its lock; ``empty`` when no event is written yet; ``damaged`` when a line fails its
    integrity check (``damaged_line`` names it; the rest is what came before). ``error``
    is the last failure the run has not recovered from.
    """

    id: str
    path: str
    workflow_id: str
    status: str
    verdict: str | None
    task: str
    started: str | None
    ended: str | None
    duration_s: float | None
    events: int
    tokens: int
    cost_usd: float | None
    forked_from: ForkRef | None
    error: str | None
    damaged_line: int | None = None


class _Shown(msgspec.Struct, kw_only=True):
    """What a summary shows from the fold's snapshot (kept so an unchanged run's listing
    does not load the fold)."""

    workflow_id: str
    status: str
    verdict: str | None
    task: str
    forked_from: ForkRef | None
    error: str | None


class _Cache(msgspec.Struct, kw_only=True):
    """The resumable state (what the cache file holds): the fold, and what a summary shows
    that the fold does not keep (event count, start and last timestamps, usage by model)."""

    version: int = _CACHE_VERSION
    mark: LogMark = LogMark()
    shown: _Shown | None = None
    events: int = 0
    started: str | None = None
    last_ts: str | None = None
    usage: dict[str, Usage] = {}
    damaged_line: int | None = None


_decode_cache = msgspec.json.Decoder(_Cache)
_encode = msgspec.json.Encoder()


class _Saved:
    """The cache file's two lines: the summary state, and the dumped fold (JSON holds no
    raw newline), decoded only when there are events to fold into it."""

    __slots__ = ("cache", "fold")

    def __init__(self, cache: _Cache | None = None, fold: bytes = b"") -> None:
        self.cache = cache or _Cache()
        self.fold = fold


def _fold_of(saved: _Saved) -> WorkflowFold:
    return WorkflowFold() if saved.cache.mark.offset == 0 else WorkflowFold.load(saved.fold)


def _advance(saved: _Saved, log: EventLog) -> bool:
    """Fold what was appended since the saved mark into ``saved``; whether it changed.

    The fold is loaded only when there is something to fold into it.
    """
    cache = saved.cache
    fold: WorkflowFold | None = None
    changed = cache.damaged_line is not None
    cache.damaged_line = None  # read the damaged line again: it may have been mended
    try:
        for mark, ev in log.scan(cache.mark):
            if fold is None:
                fold = _fold_of(saved)
            fold.apply(ev)
            cache.events += 1
            cache.last_ts = ev.ts or cache.last_ts
            if isinstance(ev, ModelCalled):
                cache.usage[ev.model] = cache.usage.get(ev.model, Usage()) + ev.usage
            elif isinstance(ev, WorkflowStarted):
                cache.started = cache.started or ev.ts
            elif isinstance(ev, Forked):
                cache.started = ev.ts or cache.started  # a fork starts when it is forked
            cache.mark = mark
    except CorruptLine:
        cache.damaged_line = cache.events + 1
        changed = True
    if fold is not None:
        saved.fold = fold.dump()
        changed = True
    if fold is not None or cache.shown is None:
        cache.shown = _shown((fold or _fold_of(saved)).snapshot())
        changed = True
    return changed


def _load(path: Path) -> _Saved:
    """The cache file; an unchanged run's listing decodes only its first line."""
    try:
        head, _, fold = path.read_bytes().partition(b"\n")
        cache = _decode_cache.decode(head)
    except (OSError, msgspec.DecodeError):
        return _Saved()
    return _Saved(cache, fold) if cache.version == _CACHE_VERSION else _Saved()


def _save(path: Path, saved: _Saved) -> None:
    """Replace the cache atomically; a run we may not write to keeps no cache."""
    tmp = path.with_name(f"{CACHE_NAME}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(b"%s\n%s" % (_encode.encode(saved.cache), saved.fold))
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except ValueError:
        return None
    return round(delta.total_seconds(), 3)


def _status(shown: _Shown, cache: _Cache, log: EventLog, writers: WriterTable) -> str:
    """The fold's status, told apart by the log's lock where the fold says "running"."""
    if cache.damaged_line is not None:
        return "damaged"
    if shown.status in ("completed", "failed", "waiting"):
        return shown.status
    if writers.has_writer(log.path):
        return "running"
    return "interrupted" if cache.events else "empty"


def _shown(state: WorkflowState) -> _Shown:
    origin = state.forked_from
    return _Shown(
        workflow_id=state.workflow_id,
        status=state.status,
        verdict=state.verdict,
        task=state.task,
        forked_from=None
        if origin is None
        else ForkRef(
            source=origin.source,
            source_workflow_id=origin.source_workflow_id,
            at_seq=origin.at_seq,
            what_if=origin.what_if,
        ),
        error=_error(state),
    )


def _error(state: WorkflowState) -> str | None:
    """The last failure the run has not recovered from: the workflow's own when it failed,
    else that of a step still failed (or retrying) in the current round."""
    if state.status == "completed":
        return None
    if state.status == "failed":
        err = state.last_error
    else:
        failed = [
            st.error
            for st in state.steps.values()
            if st.error is not None and st.status in ("failed", "running")
        ]
        err = max(failed, key=lambda e: e.seq) if failed else None
    if err is None:
        return None
    return f"{err.step or 'workflow'}: {err.kind}: {err.message}"


def summarize_run(
    run_id: str,
    run_dir: Path,
    *,
    writers: WriterTable | None = None,
    cache: bool = True,
) -> RunSummary:
    """The summary of the run in ``run_dir``, reading only what its cache has not seen.

    Raises ``OSError`` when the log cannot be opened.
    """
    log = EventLog(run_dir / LOG_NAME)
    cache_path = run_dir / CACHE_NAME
    saved = _load(cache_path) if cache else _Saved()
    try:
        changed = _advance(saved, log)
    except (StaleMark, ValueError):  # not this log's cache, or not a fold: start over
        saved = _Saved()
        changed = _advance(saved, log)
    if cache and changed:
        _save(cache_path, saved)
    state = saved.cache
    shown = state.shown
    assert shown is not None  # _advance always leaves it set
    return RunSummary(
        id=run_id,
        path=str(run_dir),
        workflow_id=shown.workflow_id,
        status=_status(shown, state, log, writers or WriterTable()),
        verdict=shown.verdict,
        task=shown.task,
        started=state.started,
        ended=state.last_ts,
        duration_s=_seconds(state.started, state.last_ts),
        events=state.events,
        tokens=sum(tokens(u) for u in state.usage.values()),
        cost_usd=cost_usd(state.usage),
        forked_from=shown.forked_from,
        error=shown.error,
        damaged_line=state.damaged_line,
    )


def find_runs(root: Path) -> dict[str, Path]:
    """The runs under ``root`` by id: ``root`` itself when it is a run, else each child
    directory holding an ``events.jsonl`` (the id is the directory's name)."""
    if (root / LOG_NAME).is_file():
        return {root.resolve().name or str(root): root}
    found: dict[str, Path] = {}
    try:
        entries = list(os.scandir(root))
    except OSError:
        return found
    for entry in entries:
        if entry.is_dir() and os.path.isfile(os.path.join(entry.path, LOG_NAME)):
            found[entry.name] = Path(entry.path)
    return found


def list_runs(root: Path, *, cache: bool = True) -> list[RunSummary]:
    """Every run under ``root``, oldest first (runs not started yet last).

    A run whose log vanished or cannot be read between finding and reading it is left out.
    """
    writers = WriterTable()
    out: list[RunSummary] = []
    for run_id, run_dir in find_runs(root).items():
        try:
            out.append(summarize_run(run_id, run_dir, writers=writers, cache=cache))
        except OSError:
            continue
    out.sort(key=lambda s: (s.started is None, s.started or "", s.id))
    return out
