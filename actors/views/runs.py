"""One line per run: the summary ``agentlog ls`` prints and the viewer's runs list shows.

A summary is the run's one fold (:class:`store.WorkflowFold`, the fold ``resume`` and
the supervisor decide from), kept resumable (:class:`~actors.views.tally.RunTally`):
listing a directory saves each run's tally in one cache file in that directory
(:mod:`actors.views.runs_cache`, a pure, rebuildable projection of the logs' bytes), so
the next listing shows an unchanged run from its ``stat`` alone and reads only what a
changed one appended since (:meth:`store.EventLog.scan_blocks`). A cache that does not
match a log (repaired, replaced, truncated, garbled, another version's) is rebuilt from
the start; one that cannot be written (a read-only directory) is simply not kept.
"""

from __future__ import annotations

import contextlib
import os
import stat
from datetime import datetime
from pathlib import Path

import msgspec

from actors.pricing import cost_usd
from actors.views.liveness import WriterTable
from actors.views.runs_cache import CACHE_NAME, LogKey, RunsCache, log_key
from actors.views.tally import ForkRef, RunTally, Shown, TallyState
from events import tokens
from store import LOG_NAME, StaleMark

__all__ = [
    "CACHE_NAME",
    "ForkRef",
    "LogKey",
    "RunSummary",
    "find_runs",
    "keep_summary",
    "list_runs",
    "log_key",
    "summarize_run",
    "summary_of",
]


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


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except ValueError:
        return None
    return round(delta.total_seconds(), 3)


def _status(shown: Shown, state: TallyState, run_dir: str | Path, writers: WriterTable) -> str:
    """The fold's status, told apart by the log's lock where the fold says "running"."""
    if state.damaged_line is not None:
        return "damaged"
    if shown.status in ("completed", "failed", "waiting"):
        return shown.status
    if writers.has_writer(Path(run_dir, LOG_NAME)):
        return "running"
    return "interrupted" if state.events else "empty"


def summary_of(
    run_id: str, run_dir: str | Path, tally: RunTally, writers: WriterTable | None = None
) -> RunSummary:
    """The summary a settled ``tally`` of the run in ``run_dir`` shows."""
    state = tally.state
    shown = state.shown
    assert shown is not None  # a settled tally shows its fold
    return RunSummary(
        id=run_id,
        path=str(run_dir),
        workflow_id=shown.workflow_id,
        status=_status(shown, state, run_dir, writers or WriterTable()),
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


def _tally(run_dir: str, cache: RunsCache | None, run_id: str, key: LogKey) -> RunTally:
    """The run's tally brought up to its log: from the cache when its key is current,
    else resumed from the cached mark (or folded from the start), and kept in the cache.

    Raises ``OSError`` when the log cannot be opened.
    """
    tally, current = cache.tally(run_id, key) if cache is not None else (RunTally(), False)
    if current:
        return tally
    log = os.path.join(run_dir, LOG_NAME)
    try:
        tally.advance(log)
    except (StaleMark, ValueError):  # not this log's mark, or not a fold: start over
        tally = RunTally()
        tally.advance(log)
    if cache is not None:
        cache.put(run_id, key, tally)
    return tally


def summarize_run(
    run_id: str,
    run_dir: Path,
    *,
    writers: WriterTable | None = None,
    cache: bool = True,
    cache_dir: Path | None = None,
) -> RunSummary:
    """The summary of the run in ``run_dir``, reading only what the cache in
    ``cache_dir`` (the listed directory: by default the run's parent) has not seen.

    Raises ``OSError`` when the log cannot be opened.
    """
    key = log_key(os.stat(run_dir / LOG_NAME))
    where = cache_dir or run_dir.parent
    runs = RunsCache.load(where) if cache and _found(where)[1] else None
    tally = _tally(str(run_dir), runs, run_id, key)
    if runs is not None:
        runs.save()
    return summary_of(run_id, run_dir, tally, writers)


def keep_summary(
    run_id: str, run_dir: Path, tally: RunTally, key: LogKey, *, cache_dir: Path
) -> RunSummary:
    """The summary of a run whose whole log another reader just folded into ``tally``
    (settled; the viewer's overview, in the pass that draws the page), kept in the cache
    in ``cache_dir`` as of the log's ``key`` (its ``stat`` before that pass), as
    :func:`list_runs` would have: the run is not read again for its summary."""
    if _found(cache_dir)[1]:
        runs = RunsCache.load(cache_dir)
        runs.put(run_id, key, tally)
        runs.save()
    return summary_of(run_id, run_dir, tally)


def _found(root: Path) -> tuple[dict[str, tuple[str, os.stat_result]], bool]:
    """:func:`find_runs` with each log's ``stat`` (the run directory as a string), and
    whether ``root`` may keep the runs' cache: it is a run, or it holds runs and nothing
    else but hidden entries (never someone's directory of other things, such as a home
    directory that holds a run)."""
    with contextlib.suppress(OSError):
        st = os.stat(root / LOG_NAME)
        if stat.S_ISREG(st.st_mode):
            return {root.resolve().name or str(root): (str(root), st)}, True
    found: dict[str, tuple[str, os.stat_result]] = {}
    try:
        entries = list(os.scandir(root))
    except OSError:
        return found, False
    join, log_stat = os.path.join, os.stat
    foreign = False
    for entry in entries:
        log: os.stat_result | None = None
        with contextlib.suppress(OSError):
            log = log_stat(join(entry.path, LOG_NAME)) if entry.is_dir() else None
        if log is not None and stat.S_ISREG(log.st_mode):
            found[entry.name] = (entry.path, log)
        elif not entry.name.startswith("."):
            foreign = True
    return found, bool(found) and not foreign


def find_runs(root: Path) -> dict[str, Path]:
    """The runs under ``root`` by id: ``root`` itself when it is a run, else each child
    directory holding an ``events.jsonl`` (the id is the directory's name)."""
    return {run_id: Path(run_dir) for run_id, (run_dir, _) in _found(root)[0].items()}


def list_runs(root: Path, *, cache: bool = True) -> list[RunSummary]:
    """Every run under ``root``, oldest first (runs not started yet last).

    The cache of their summaries is the one file ``root/.ls-cache.json``, kept only where
    ``root`` is a run or holds runs and nothing but hidden entries besides. A run whose
    log vanished or cannot be read between finding and reading it is left out.
    """
    writers = WriterTable()
    found, cacheable = _found(root)
    runs = RunsCache.load(root) if cache and cacheable else None
    out: list[RunSummary] = []
    for run_id, (run_dir, st) in found.items():
        try:
            tally = _tally(run_dir, runs, run_id, log_key(st))
        except OSError:
            continue
        out.append(summary_of(run_id, run_dir, tally, writers))
    if runs is not None:
        runs.keep_only(found)
        runs.save()
    out.sort(key=lambda s: (s.started is None, s.started or "", s.id))
    return out
