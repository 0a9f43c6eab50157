"""The viewer's web application: JSON endpoints, server-sent events, static pages.

Every route but one is a GET; the one POST records a person's decision and is guarded
by a token and an ``Origin`` check (:mod:`actors.viewer.decisions`). Pages are static
files (no build step, no network); the browser fetches JSON and renders model text
with ``textContent`` only. Responses forbid inline script and any other origin
(Content-Security-Policy), and the ``Host`` header must name this machine when bound to
loopback, so a web page elsewhere cannot read runs through DNS rebinding.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actors.secrets import redact_json
from actors.viewer.comparing import compared_runs
from actors.viewer.continuing import Continuations
from actors.viewer.decisions import WriteGuard, record_decision
from actors.viewer.exchange import model_exchange
from actors.viewer.forks import fork_command, fork_tree
from actors.viewer.guards import HostGuard
from actors.viewer.overview import run_overview
from actors.viewer.pages import AnyEvent, LogPager, event_row, event_type
from actors.viewer.reports import EvalDirError, evaluations, evaluations_report, nested_run_dir
from actors.views.runs import (
    RunSummary,
    find_runs,
    keep_summary,
    list_runs,
    log_key,
    summarize_run,
    summary_of,
)
from actors.views.tally import RunTally
from events import (
    EVENT_TYPES,
    AgentlogError,
    CorruptLine,
    ModelCalled,
    WorkflowCompleted,
    WorkflowFailed,
    to_dict,
)
from store import LOG_NAME, EventLog

__all__ = ["STATIC", "create_app"]

#: The front end, shipped as package data.
STATIC = Path(__file__).parent / "static"
_json = msgspec.json.Encoder()
_MAX_PAGE = 1000
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_FINAL = (WorkflowCompleted, WorkflowFailed)
_LISTING_TTL = 0.5


def _encode(content: Any) -> bytes:
    """``content`` as JSON with every secret masked (the one scrubber): a run written by
    an older agentlog, or a secret the log writer did not know, never leaves in a reply."""
    return redact_json(_json.encode(content))


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return _encode(content)


class _SecurityHeaders:
    """Adds :data:`_HEADERS` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Static files may be kept and revalidated (their ETag makes that a 304); the rest
        # is data that changes while a run is written.
        static = scope.get("path", "").startswith("/static/")
        extra = [
            (k.lower().encode(), ("no-cache" if static and k == "Cache-Control" else v).encode())
            for k, v in _HEADERS.items()
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _Viewer:
    """The routes' shared state: the runs directory, its listing, a pager per log.

    The listing (``list_runs``: a ``stat`` per run, one cache file) is shared by every
    request for :data:`_LISTING_TTL` seconds, so many open pages on a directory of
    thousands of runs do not each list it again.
    """

    def __init__(self, root: Path, poll: float) -> None:
        self.root = root
        self.poll = poll
        self._pagers: dict[Path, LogPager] = {}
        self._overviews: dict[Path, tuple[tuple[int, int], dict[str, Any], RunTally | None]] = {}
        self._dirs: dict[str, Path] = {}
        self._listing: tuple[float, list[RunSummary]] | None = None
        self._lock = threading.Lock()
        self._readers: anyio.CapacityLimiter | None = None

    def stream_readers(self) -> anyio.CapacityLimiter:
        """The threads live streams read their logs in: four at once (made in the loop)."""
        if self._readers is None:
            self._readers = anyio.CapacityLimiter(4)
        return self._readers

    def run_dir(self, run_id: str) -> Path | None:
        """The directory of ``run_id``, looking again when it is unknown or gone; a run
        of a child evaluation is ``CHILD/RUN`` (:mod:`actors.viewer.reports`)."""
        path = self._dirs.get(run_id)
        if path is not None and (path / LOG_NAME).is_file():
            return path
        if "/" in run_id:
            return nested_run_dir(self.root, run_id)
        self._dirs = find_runs(self.root)
        return self._dirs.get(run_id)

    def runs(self) -> list[RunSummary]:
        now = time.monotonic()
        with self._lock:
            if self._listing is not None and now - self._listing[0] < _LISTING_TTL:
                return self._listing[1]
        runs = list_runs(self.root)
        with self._lock:
            self._listing = (now, runs)
        return runs

    def pager(self, run_dir: Path) -> LogPager:
        with self._lock:
            pager = self._pagers.get(run_dir)
            if pager is None:
                pager = self._pagers[run_dir] = LogPager(run_dir / LOG_NAME)
            return pager

    def overview(self, run_id: str, run_dir: Path) -> dict[str, Any]:
        """The run page's data and the run's summary, both from one pass over its log
        (kept until the log changes; the summary's running/interrupted is asked anew)."""
        st = (run_dir / LOG_NAME).stat()
        key = (st.st_size, st.st_mtime_ns)
        with self._lock:
            cached = self._overviews.get(run_dir)
        if cached is not None and cached[0] == key:
            _, data, tally = cached
            summary = summary_of(run_id, run_dir, tally) if tally is not None else None
        else:
            tally = RunTally()  # the page's pass folds the run's summary too
            data = run_overview(run_dir, tally)
            summary = None
            if data["damage"] is None:
                summary = keep_summary(run_id, run_dir, tally, log_key(st), cache_dir=self.root)
            else:
                tally = None  # a damaged log's summary is the runs list's (scan) rule
            with self._lock:
                self._overviews[run_dir] = (key, data, tally)
        if summary is None:
            summary = summarize_run(run_id, run_dir, cache_dir=self.root)
        runs = [summary if s.id == run_id else s for s in self.runs()]
        return {
            "id": run_id,
            "summary": msgspec.to_builtins(summary),
            "forks": fork_tree(run_id, runs),
            **data,
        }


def _not_found(what: str) -> Response:
    return _Json({"error": f"{what} not found"}, status_code=404)


def _bad(message: str) -> Response:
    return _Json({"error": message}, status_code=400)


def _int(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = int(raw)  # ValueError -> 400 below
    if value < 0:
        raise ValueError(name)
    return value


def _filter(request: Request) -> Callable[[AnyEvent], bool]:
    steps = set(request.query_params.getlist("step"))
    types = set(request.query_params.getlist("type"))
    unknown = types - EVENT_TYPES.keys()
    if unknown:
        raise ValueError(f"unknown event type {sorted(unknown)[0]!r}")

    def wanted(ev: AnyEvent) -> bool:
        return (not types or event_type(ev) in types) and (
            not steps or getattr(ev, "step", None) in steps
        )

    return wanted


def create_app(
    root: Path,
    *,
    poll: float = 0.025,
    hosts: frozenset[str] | None = None,
    token: str | None = None,
    private: bool = False,
) -> Starlette:
    """The viewer of the runs under ``root``; ``poll`` is how often live views look for
    new events (seconds); ``hosts`` are the acceptable ``Host`` names (None: any);
    ``token`` lets a person decide from the run page (None: read-only); ``private``: every
    request, reads too, needs the token (a viewer other machines can reach)."""
    viewer = _Viewer(root, poll)
    continuations = Continuations()

    def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    def run_page(request: Request) -> Response:
        if viewer.run_dir(request.path_params["run_id"]) is None:
            return Response("no such run", status_code=404, media_type="text/plain")
        return FileResponse(STATIC / "run.html")

    def report_page(request: Request) -> Response:
        return FileResponse(STATIC / "report.html")

    def compare_page(request: Request) -> Response:
        raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
        if compared_runs(raw.decode("utf-8", "replace"), viewer.run_dir) is None:
            return Response("no such runs", status_code=404, media_type="text/plain")
        return FileResponse(STATIC / "compare.html")

    def api_evaluations(request: Request) -> Response:
        return _Json({"root": str(root), "evaluations": evaluations(root)})

    def api_report(request: Request) -> Response:
        first = request.query_params.get("dir", ".")
        second = request.query_params.get("dir2") or None
        try:
            return _Json(evaluations_report(root, first, second))
        except EvalDirError as exc:
            return _bad(str(exc))
        except AgentlogError as exc:  # no runs there, or a log that cannot be read
            return _Json({"error": str(exc)}, status_code=404)

    def api_runs(request: Request) -> Response:
        return _Json({"root": str(root), "runs": viewer.runs()})

    async def api_runs_stream(request: Request) -> Response:
        async def gen() -> AsyncIterator[bytes]:
            last = b""
            while True:
                runs = await anyio.to_thread.run_sync(viewer.runs)
                data = _encode({"root": str(root), "runs": runs})
                if data != last:
                    last = data
                    yield b"event: runs\ndata: " + data + b"\n\n"
                else:
                    yield b": idle\n\n"
                await asyncio.sleep(1.0)

        return _sse(gen())

    def api_overview(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        run_dir = viewer.run_dir(run_id)
        if run_dir is None:
            return _not_found("run")
        return _Json(
            {
                **viewer.overview(run_id, run_dir),
                "writable": token is not None,
                "continuation": continuations.status(run_dir),
            }
        )

    def api_events(request: Request) -> Response:
        run_dir = viewer.run_dir(request.path_params["run_id"])
        if run_dir is None:
            return _not_found("run")
        try:
            limit = min(_int(request, "limit", 200) or 200, _MAX_PAGE)
            after = _int(request, "after", None)
            before = _int(request, "before", None)
            around = _int(request, "around", None)
            wanted = _filter(request)
        except ValueError as exc:
            return _bad(f"bad query: {exc}")
        pager = viewer.pager(run_dir)
        if around is not None:
            earlier = pager.page_before(around, limit // 2, wanted)
            rows = earlier + pager.page_after(around - 1, limit - len(earlier), wanted)
        elif before is not None:
            rows = pager.page_before(before, limit, wanted)
        else:
            rows = pager.page_after(after or 0, limit, wanted)
        return _Json({"events": rows, "last_seq": pager.last_seq()})

    def api_event(request: Request) -> Response:
        run_dir = viewer.run_dir(request.path_params["run_id"])
        if run_dir is None:
            return _not_found("run")
        seq = request.path_params["seq"]
        pager = viewer.pager(run_dir)
        following: list[AnyEvent] = []
        event: AnyEvent | None = None
        for ev in pager.events(seq):
            if isinstance(ev, Exception):
                break
            if event is None:
                if ev.seq != seq:
                    break
                event = ev
                if not isinstance(ev, ModelCalled):
                    break
                continue
            following.append(ev)
            if len(following) >= 8:
                break
        if event is None:
            return _not_found(f"event {seq}")
        body: dict[str, Any] = {
            "row": event_row(event),
            "event": to_dict(event),
            "fork_command": fork_command(run_dir, seq),
        }
        if isinstance(event, ModelCalled):
            body["exchange"] = model_exchange(run_dir, event, following)
        return _Json(body)

    async def api_stream(request: Request) -> Response:
        run_dir = viewer.run_dir(request.path_params["run_id"])
        if run_dir is None:
            return _not_found("run")
        try:
            from_seq = _int(request, "from_seq", 1) or 1
        except ValueError as exc:
            return _bad(f"bad query: {exc}")
        return _sse(_follow(viewer.pager(run_dir), from_seq, viewer.poll, viewer.stream_readers()))

    def api_compare(request: Request) -> Response:
        """Two runs compared: what ``agentlog diff RUN_A RUN_B --json`` prints."""
        from actors.views.compare import compare, read_run

        one = viewer.run_dir(request.path_params["run_id"])
        other = viewer.run_dir(request.path_params["other_id"])
        if one is None or other is None:
            return _not_found("run")
        try:
            a, b = read_run(EventLog(one), "A"), read_run(EventLog(other), "B")
        except AgentlogError as exc:
            return _bad(str(exc))
        return _Json(compare(a, b))

    async def api_decision(request: Request) -> Response:
        run_dir = viewer.run_dir(request.path_params["run_id"])
        if run_dir is None:
            return _not_found("run")
        return await record_decision(request, run_dir, continuations)

    routes = [
        Route("/", index),
        Route("/report", report_page),
        Route("/api/report", api_report),
        Route("/api/evaluations", api_evaluations),
        Route("/api/runs/{run_id:path}/decision", api_decision, methods=["POST"]),
        Route("/runs/{run_id:path}", run_page),
        Route("/compare/{ids:path}", compare_page),
        Route("/api/runs", api_runs),
        Route("/api/runs-stream", api_runs_stream),
        Route("/api/runs/{run_id:path}/overview", api_overview),
        Route("/api/runs/{run_id:path}/events", api_events),
        Route("/api/runs/{run_id:path}/events/{seq:int}", api_event),
        Route("/api/runs/{run_id:path}/stream", api_stream),
        Route("/api/runs/{run_id:path}/compare/{other_id:path}", api_compare),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(_SecurityHeaders),
        Middleware(WriteGuard, token=token, private=private),
    ]
    if hosts is not None:
        middleware.insert(0, Middleware(HostGuard, allowed=hosts))
    return Starlette(routes=routes, middleware=middleware)


def _sse(gen: AsyncIterator[bytes]) -> Response:
    return StreamingResponse(
        gen,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


#: How many events one read of a followed log hands to the stream at most.
_FOLLOW_BATCH = 256
#: Seconds of quiet after which a stream sends a keep-alive comment.
_KEEP_ALIVE = 15.0


def _read_on(pager: LogPager, from_seq: int) -> tuple[list[AnyEvent | CorruptLine], bool]:
    """Up to :data:`_FOLLOW_BATCH` events from ``from_seq``, and whether nothing more can
    come (none are there and the log's last event is a final one)."""
    batch = list(itertools.islice(pager.events(from_seq), _FOLLOW_BATCH))
    if batch:
        return batch, False
    last = pager.last_seq()
    return batch, last > 0 and isinstance(pager.event(last), _FINAL)


async def _follow(
    pager: LogPager, from_seq: int, poll: float, readers: anyio.CapacityLimiter
) -> AsyncIterator[bytes]:
    """Server-sent events of the log from ``from_seq``, as another process appends them.

    No thread is held while a stream waits: each poll reads what was appended in a worker
    thread borrowed for that read (``readers``: four at once), then sleeps on the event
    loop, so a thousand open streams cost a thousand small coroutines. It stops after a
    final event, when the run has ended before ``from_seq``, at a damaged line, or when
    the browser goes away.
    """
    next_seq = max(1, from_seq)
    quiet = 0.0
    told_retry = False
    while True:
        try:
            batch, ended = await anyio.to_thread.run_sync(
                _read_on, pager, next_seq, limiter=readers
            )
        except OSError as exc:
            yield b"event: failure\ndata: " + _encode({"error": str(exc)}) + b"\n\n"
            return
        if ended:
            yield b"event: end\ndata: {}\n\n"
            return
        if not told_retry:  # the browser's reconnection delay, once it will follow
            told_retry = True
            yield b"retry: 1000\n\n"
        for item in batch:
            if isinstance(item, CorruptLine):
                yield b"event: failure\ndata: " + _encode({"error": str(item)}) + b"\n\n"
                return
            yield b"id: %d\nevent: append\ndata: %b\n\n" % (
                item.seq,
                _encode(event_row(item)),
            )
            if isinstance(item, _FINAL):
                yield b"event: end\ndata: {}\n\n"
                return
            next_seq = item.seq + 1
        if batch:
            quiet = 0.0
            continue
        await asyncio.sleep(poll)
        quiet += poll
        if quiet >= _KEEP_ALIVE:
            quiet = 0.0
            yield b": keep-alive\n\n"
