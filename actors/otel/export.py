"""Export finished (or unfinished) runs as traces: to an OTLP/HTTP collector, or to a file.

Each run's log is streamed twice: once for its identity and configuration, once through
a :class:`~actors.otel.spans.SpanStream` whose spans leave in requests of at most
:data:`BATCH_SPANS`, so a run of any length exports in flat memory. The ids are
deterministic, so exporting again (or after a live export that a collector outage cut
short) sends the same spans, which a backend de-duplicates. The file form is OTLP/JSON,
one ``ExportTraceServiceRequest`` per line (what the Collector's ``otlpjsonfile``
receiver reads): one line a run, or a line per batch for a long one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from actors.otel.content import capture_content
from actors.otel.otlp_json import otlp_json_line
from actors.otel.problems import collector_problem
from actors.otel.sdk import (
    export_spans,
    exporter,
    last_sdk_message,
    quiet_sdk_logs,
    require_sdk,
)
from actors.otel.spans import (
    SpanData,
    SpanStream,
    Trace,
    clean_spans,
    identity_of,
    run_trace,
)
from events import UsageError
from store import EventLog, resolve_log_path

if TYPE_CHECKING:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

__all__ = [
    "BATCH_SPANS",
    "ExportProgress",
    "ExportReport",
    "RunExport",
    "export_runs",
    "trace_of_run",
]

#: The most spans one OTLP request (or one line of a file export) carries.
BATCH_SPANS = 1000


class ExportProgress(msgspec.Struct, frozen=True, kw_only=True):
    """A run is done: ``index`` (from 0) of ``runs``, for a progress bar."""

    run: str
    index: int
    runs: int


class RunExport(msgspec.Struct, frozen=True, kw_only=True):
    """One run's export: its trace id, how many spans, and the error if it was not sent."""

    run: str
    workflow_id: str
    trace_id: str
    spans: int
    open_spans: int
    error: str | None = None


class ExportReport(msgspec.Struct, frozen=True, kw_only=True):
    """Every run's outcome; ``ok`` when all were exported."""

    runs: tuple[RunExport, ...]
    otlp: str | None = None
    file: str | None = None

    @property
    def ok(self) -> bool:
        return all(run.error is None for run in self.runs)


def _log_of(run: str | Path) -> Path:
    path = resolve_log_path(run)
    if not path.is_file():
        raise UsageError(f"{run}: no events.jsonl here; RUN is a run directory or its log")
    return path


def trace_of_run(run: str | Path, *, content: bool = False) -> Trace:
    """The trace of the run at ``run`` (a run directory or its ``events.jsonl``)."""
    return run_trace(EventLog(_log_of(run)).read(), content=content)


def _batches(run: str | Path, content: bool) -> tuple[str, int, Iterator[list[SpanData]]]:
    """A run's workflow id, trace id and spans in batches, streamed from its log."""
    log = EventLog(_log_of(run))
    head = identity_of(log.read())
    if head is None:
        return "", 0, iter([[]])
    stream = SpanStream(*head, content=content, clean=False)  # cleaned a batch at a time

    def spans() -> Iterator[SpanData]:
        for ev in log.read():
            yield from stream.feed(ev)
        yield from stream.finish()

    def batches() -> Iterator[list[SpanData]]:
        streamed = spans()
        while batch := list(islice(streamed, BATCH_SPANS)):
            yield clean_spans(batch)

    return stream.workflow_id, stream.trace_id, batches()


def _write_atomic(path: Path, lines: Iterable[str]) -> None:
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write here: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for line in lines:
                out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write here: {exc.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_runs(
    runs: Iterable[str | Path],
    *,
    otlp: str | None = None,
    file: str | Path | None = None,
    content: bool | None = None,
    timeout: float = 10.0,
    progress: Callable[[ExportProgress], None] | None = None,
) -> ExportReport:
    """Project each run and send it to ``otlp`` (a collector URL; None: the OTLP env vars).

    With ``file`` the traces are written there as OTLP/JSON lines instead (streamed to a
    temporary file that replaces ``file`` once every run is in). ``content`` defaults to
    the conventions' opt-in variable. A collector that refuses a run is reported and the
    next run goes on. At most one batch of spans is in memory at a time.
    """
    require_sdk()
    paths = list(runs)
    capture = capture_content() if content is None else content
    for run in paths:  # a wrong path fails before anything is sent
        _log_of(run)
    results: list[RunExport] = []

    def each(client: OTLPSpanExporter | None) -> Iterator[str]:
        """Export run after run; yields the OTLP/JSON line of each when there is no client."""
        for index, run in enumerate(paths):
            workflow_id, trace_id, batches = _batches(run, capture)
            error: str | None = None
            spans = open_spans = 0
            for batch in batches:
                spans += len(batch)
                open_spans += sum(not span.closed for span in batch)
                if client is None:
                    yield otlp_json_line(batch)
                elif not export_spans(client, batch):
                    error = collector_problem(_where(otlp), last_sdk_message())
                    break  # the rest of this run is for the next export
            results.append(
                RunExport(
                    run=str(run),
                    workflow_id=workflow_id,
                    trace_id=f"{trace_id:032x}",
                    spans=spans,
                    open_spans=open_spans,
                    error=error,
                )
            )
            if progress is not None:
                progress(ExportProgress(run=str(run), index=index, runs=len(paths)))

    if file is not None:
        _write_atomic(Path(file), each(None))
    else:
        client = exporter(otlp, timeout)
        try:
            with quiet_sdk_logs():  # failures are reported per run, not as retry chatter
                for _ in each(client):
                    pass
        finally:
            client.shutdown()  # type: ignore[no-untyped-call]
    return ExportReport(
        runs=tuple(results),
        otlp=None if file is not None else _where(otlp),
        file=str(file) if file is not None else None,
    )


def _where(otlp: str | None) -> str:
    if otlp:
        return otlp
    return os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    )
