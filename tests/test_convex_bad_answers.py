"""A Convex deployment that answers nonsense is a failed call, never a dead mirror thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
import pytest
from _events import completed_run

from actors.convex import ConvexMirror
from actors.convex.sync import sync_runs
from store import EventLog

FAST = {"backoff_base": 0.05, "backoff_max": 0.2, "poll_interval": 0.05, "read_timeout": 0.5}


class _Nonsense(BaseHTTPRequestHandler):
    """Answers every query and mutation with success and the value "soon"."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"status": "success", "value": "soon"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def nonsense_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Nonsense)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def run(tmp_path: Path) -> Path:
    events = [msgspec.structs.replace(ev, seq=0, id="", ts="") for ev in completed_run()]
    with EventLog(tmp_path / "run").writer() as writer:
        writer.append_many(events)
    return tmp_path / "run"


def test_a_non_numeric_last_seq_keeps_the_mirror_alive_and_reported(
    run: Path, nonsense_url: str
) -> None:
    crashed: list[threading.ExceptHookArgs] = []
    previous, threading.excepthook = threading.excepthook, crashed.append
    try:
        mirror = ConvexMirror(run, url=nonsense_url, **FAST).start()
        mirror.notify(list(EventLog(run).read()))
        threading.Event().wait(0.3)
        report = mirror.close(flush_timeout=5)
    finally:
        threading.excepthook = previous
    assert not crashed
    assert report.last_error is not None and "numeric lastSeq" in report.last_error
    assert report.mirrored_seq == 0


def test_sync_reports_a_non_numeric_last_seq_as_that_run_s_error(
    run: Path, nonsense_url: str
) -> None:
    report = sync_runs([run], url=nonsense_url, attempts=1, read_timeout=2)
    assert not report.ok
    assert report.runs[0].error is not None and "numeric lastSeq" in report.runs[0].error
