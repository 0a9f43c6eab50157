"""Mirror existing runs to Convex: catch-up after an outage, or backfill of old runs.

For each run, Convex is asked for the last mirrored ``seq`` and the rest of the log is
sent in order, in batches, to the idempotent ``mirror:apply``; running it twice, or
beside a live mirror, sends nothing twice into the tables. A transient failure is
retried with backoff; a run that still fails is reported and the next one goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import msgspec

from actors.convex.cursor import checked_cursor, seq_of
from actors.convex.errors import ConvexCallError
from actors.convex.rows import APPLY, batch_payload
from actors.logs import get_logger
from store.errors import LogError
from store.log import EventLog
from store.projections import workflow_state

if TYPE_CHECKING:
    from actors.convex.client import ConvexCalls

__all__ = ["RunSync", "SyncProgress", "SyncReport", "sync_runs"]

T = TypeVar("T")
_log = get_logger("agentlog.convex")


class SyncProgress(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a sync, for a progress bar: ``done`` of ``total`` events of ``run``.

    ``index`` counts runs from 0 out of ``runs``. ``done`` starts at what Convex
    already had, and reaches ``total`` when the run is fully mirrored.
    """

    run: Path
    workflow_id: str
    done: int
    total: int
    index: int
    runs: int


class RunSync(msgspec.Struct, frozen=True, kw_only=True):
    """How one run went: ``sent`` events were newly folded in; ``error`` is None on success."""

    run: Path
    workflow_id: str
    last_seq: int
    mirrored_seq: int
    sent: int
    error: str | None = None


class SyncReport(msgspec.Struct, frozen=True, kw_only=True):
    """Every run's outcome; ``ok`` when all of them are fully mirrored."""

    runs: tuple[RunSync, ...]

    @property
    def ok(self) -> bool:
        return all(r.error is None and r.mirrored_seq >= r.last_seq for r in self.runs)


def sync_runs(
    paths: Iterable[str | Path],
    *,
    url: str,
    deploy_key: str | None = None,
    progress: Callable[[SyncProgress], None] | None = None,
    batch_size: int = 500,
    attempts: int = 5,
    read_timeout: float = 30.0,
) -> SyncReport:
    """Mirror each run (a run directory or its ``events.jsonl``) to the deployment at ``url``.

    ``progress`` is called once per run before sending and after every batch.
    """
    from actors.convex.client import ConvexCalls  # loads requests only when syncing

    calls = ConvexCalls(url, deploy_key=deploy_key, read_timeout=read_timeout)
    runs = [Path(p) for p in paths]
    results = []
    for index, run in enumerate(runs):

        def report(
            workflow_id: str, done: int, total: int, run: Path = run, i: int = index
        ) -> None:
            if progress is not None:
                progress(
                    SyncProgress(
                        run=run,
                        workflow_id=workflow_id,
                        done=done,
                        total=total,
                        index=i,
                        runs=len(runs),
                    )
                )

        results.append(_sync_one(calls, run, report, batch_size, attempts))
    return SyncReport(runs=tuple(results))


def _sync_one(
    calls: ConvexCalls,
    run: Path,
    report: Callable[[str, int, int], None],
    batch_size: int,
    attempts: int,
) -> RunSync:
    log = EventLog(run)
    workflow_id, last_seq, mirrored, sent = "", 0, 0, 0
    try:
        workflow_id, last_seq = _identify(log)
        mirrored = _retry(attempts, lambda: checked_cursor(calls, log, workflow_id))
        report(workflow_id, min(mirrored, last_seq), last_seq)
        while mirrored < last_seq:
            batch = list(islice(log.read(mirrored + 1), batch_size))
            if not batch:
                break
            payload = batch_payload(workflow_id, batch)
            try:
                result = _retry(attempts, partial(calls.mutation, APPLY, payload))
            except ConvexCallError as exc:
                if exc.code != "SeqGap" or not isinstance(exc.data, dict):
                    raise
                mirrored = seq_of(APPLY, exc.data)
                continue
            sent += seq_of(APPLY, result, "applied")
            mirrored = seq_of(APPLY, result)
            report(workflow_id, mirrored, last_seq)
    except (ConvexCallError, LogError) as exc:
        _log.warning("convex sync of a run failed", run=str(run), error=str(exc))
        return RunSync(
            run=run,
            workflow_id=workflow_id,
            last_seq=last_seq,
            mirrored_seq=mirrored,
            sent=sent,
            error=str(exc),
        )
    return RunSync(
        run=run, workflow_id=workflow_id, last_seq=last_seq, mirrored_seq=mirrored, sent=sent
    )


def _identify(log: EventLog) -> tuple[str, int]:
    """The workflow id in force (a fork's own) and the last seq, in one pass over the log."""
    state = workflow_state(log.read())
    if state.last_seq == 0:
        raise LogError(f"{log.path}: the log has no events")
    return state.workflow_id, state.last_seq


def _retry(attempts: int, call: Callable[[], T]) -> T:
    """``call()``, retried with backoff while no answer comes (transport errors)."""
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except ConvexCallError as exc:
            if not exc.transport or attempt == attempts:
                raise
            time.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")  # pragma: no cover
