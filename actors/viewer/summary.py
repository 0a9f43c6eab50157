"""One line per run: the summary ``agentlog ls`` prints and the viewer's runs list shows.

A summary is a fold of the log, kept resumable: the fold's state records how many bytes
of ``events.jsonl`` it has read and the seal of the last line it read. Listing saves that
state beside the log (``.ls-cache.json``, a pure, rebuildable projection of the log's
bytes) so the next listing reads only what was appended since: a finished run costs a
``stat`` and one small file, never its whole log. A cache that does not match the log (the
log was repaired, replaced or truncated) is rebuilt from the start; one that cannot be
written (a read-only run) is simply not kept.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path

import msgspec

from actors.pricing import cost_usd
from actors.viewer.liveness import WriterTable
from events import (
    CodeProduced,
    CorruptLine,
    Forked,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    StepFailed,
    UnknownEvent,
    Usage,
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowStarted,
    decode_line,
)
from store import LOG_NAME
from store.lines import complete_lines

__all__ = ["CACHE_NAME", "ForkRef", "RunSummary", "find_runs", "list_runs", "summarize_run"]

#: The summary cache's file name inside a run directory.
CACHE_NAME = ".ls-cache.json"
_CACHE_VERSION = 1
_SEAL_TAIL = 19  # ',"crc":"xxxxxxxx"}\n': the end of every complete line


class ForkRef(msgspec.Struct, frozen=True, kw_only=True):
    """Where a forked run came from (its ``Forked`` event)."""

    source: str
    source_workflow_id: str
    at_seq: int


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


class _Fold(msgspec.Struct, kw_only=True):
    """The resumable fold state (what the cache file holds)."""

    version: int = _CACHE_VERSION
    offset: int = 0
    tail: str = ""
    events: int = 0
    workflow_id: str = ""
    task: str = ""
    started: str | None = None
    last_ts: str | None = None
    last_type: str = ""
    final: str | None = None
    verdict: str | None = None
    usage: dict[str, list[int]] = {}
    fork: ForkRef | None = None
    error: str | None = None
    damaged_line: int | None = None


_decode_fold = msgspec.json.Decoder(_Fold)
_encode = msgspec.json.Encoder()


def _feed(fold: _Fold, ev: object) -> None:
    """Fold one event into the summary state."""
    fold.events += 1
    if isinstance(ev, UnknownEvent):
        fold.last_type = ev.type
        fold.last_ts = ev.ts or fold.last_ts
        return
    if not isinstance(ev, msgspec.Struct):  # pragma: no cover - decode_line returns Structs
        return
    kind = type(ev).__name__
    fold.last_type = kind
    fold.last_ts = getattr(ev, "ts", "") or fold.last_ts
    if isinstance(ev, ModelCalled):
        _add_usage(fold, ev.model, ev.usage)
    elif isinstance(ev, WorkflowStarted):
        fold.workflow_id = fold.workflow_id if fold.fork else ev.workflow_id
        fold.task = fold.task if fold.fork and fold.task else ev.task
        fold.started = fold.started or ev.ts
    elif isinstance(ev, Forked):
        fold.fork = ForkRef(
            source=ev.source, source_workflow_id=ev.source_workflow_id, at_seq=ev.at_seq
        )
        fold.workflow_id = ev.workflow_id or fold.workflow_id
        fold.task = ev.task if ev.task is not None else fold.task
        fold.started = ev.ts or fold.started  # a fork starts when it is forked
        fold.final = None
    elif isinstance(ev, PlanProduced | CodeProduced):
        fold.error = None  # the step recovered from its failures
    elif isinstance(ev, ReviewProduced):
        fold.verdict = ev.review.verdict
        fold.error = None
    elif isinstance(ev, StepFailed):
        fold.error = f"{ev.step}: {ev.error_kind}: {ev.message}"
    elif isinstance(ev, WorkflowCompleted):
        fold.final = "completed"
        fold.verdict = ev.verdict or fold.verdict
    elif isinstance(ev, WorkflowFailed):
        fold.final = "failed"
        fold.error = f"{ev.step or 'workflow'}: {ev.error_kind}: {ev.message}"


def _add_usage(fold: _Fold, model: str, u: Usage) -> None:
    tokens = fold.usage.get(model)
    if tokens is None:
        tokens = fold.usage[model] = [0, 0, 0, 0]
    tokens[0] += u.input_tokens
    tokens[1] += u.output_tokens
    tokens[2] += u.cache_creation_input_tokens
    tokens[3] += u.cache_read_input_tokens


def _advance(fold: _Fold, fd: int) -> tuple[_Fold, bool]:
    """Fold what was appended since ``fold.offset``; returns (state, whether it changed)."""
    size = os.fstat(fd).st_size
    if fold.offset and (
        fold.offset > size
        or fold.offset < _SEAL_TAIL
        or os.pread(fd, _SEAL_TAIL, fold.offset - _SEAL_TAIL).decode("ascii", "replace")
        != fold.tail
    ):
        fold = _Fold()  # the log is not the one this state was folded from: start over
    if fold.offset == size:
        return fold, False
    changed = fold.damaged_line is not None
    fold.damaged_line = None  # read the damaged line again: it may have been mended
    for end, line in complete_lines(fd, fold.offset, size):
        try:
            ev = decode_line(line)
        except CorruptLine:
            fold.damaged_line = fold.events + 1
            return fold, True
        _feed(fold, ev)
        fold.offset = end
        fold.tail = (line[-(_SEAL_TAIL - 1) :] + b"\n").decode("ascii", "replace")
        changed = True
    return fold, changed


def _load(cache: Path) -> _Fold:
    try:
        fold = _decode_fold.decode(cache.read_bytes())
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return _Fold()
    return fold if fold.version == _CACHE_VERSION else _Fold()


def _save(cache: Path, fold: _Fold) -> None:
    """Replace the cache atomically; a run we may not write to keeps no cache."""
    tmp = cache.with_name(f"{CACHE_NAME}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(_encode.encode(fold))
        os.replace(tmp, cache)
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


def _status(fold: _Fold, log_path: Path, writers: WriterTable) -> str:
    if fold.damaged_line is not None:
        return "damaged"
    if fold.final is not None:
        return fold.final
    if fold.last_type == "ApprovalRequested":
        return "waiting"
    if writers.has_writer(log_path):
        return "running"
    return "interrupted" if fold.events else "empty"


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
    log_path = run_dir / LOG_NAME
    cache_path = run_dir / CACHE_NAME
    fold = _load(cache_path) if cache else _Fold()
    fd = os.open(log_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fold, changed = _advance(fold, fd)
    finally:
        os.close(fd)
    if cache and changed:
        _save(cache_path, fold)
    usage = {
        model: Usage(
            input_tokens=t[0],
            output_tokens=t[1],
            cache_creation_input_tokens=t[2],
            cache_read_input_tokens=t[3],
        )
        for model, t in fold.usage.items()
    }
    return RunSummary(
        id=run_id,
        path=str(run_dir),
        workflow_id=fold.workflow_id,
        status=_status(fold, log_path, writers or WriterTable()),
        verdict=fold.verdict,
        task=fold.task,
        started=fold.started,
        ended=fold.last_ts,
        duration_s=_seconds(fold.started, fold.last_ts),
        events=fold.events,
        tokens=sum(u.total for u in usage.values()),
        cost_usd=cost_usd(usage),
        forked_from=fold.fork,
        error=fold.error if fold.final != "completed" else None,
        damaged_line=fold.damaged_line,
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
