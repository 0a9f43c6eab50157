"""The mirror beside a workflow when Convex is absent, unreachable or silent (no Node)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import structlog
from _events import completed_run

from actors.convex import ConvexMirror
from store import EventLog

FAST = {"backoff_base": 0.05, "backoff_max": 0.2, "poll_interval": 0.05, "read_timeout": 0.5}


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(srv.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    srv.close()
    for conn in held:
        conn.close()


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def write_run(run: Path) -> int:
    run.mkdir()
    events = [msgspec.structs.replace(ev, seq=0, id="", ts="") for ev in completed_run()]
    with EventLog(run).writer() as writer:
        writer.append_many(events)
    return len(events)


def test_no_url_means_no_mirror(tmp_path: Path) -> None:
    assert ConvexMirror.from_env(tmp_path, {}) is None
    assert ConvexMirror.from_env(tmp_path, {"CONVEX_URL": "  "}) is None
    mirror = ConvexMirror.from_env(tmp_path, {"CONVEX_URL": "http://127.0.0.1:9"})
    assert mirror is not None and mirror.url == "http://127.0.0.1:9"


def test_unreachable_convex_is_logged_and_close_leaves_at_once(tmp_path: Path) -> None:
    last = write_run(tmp_path / "run")
    url = closed_url()
    with structlog.testing.capture_logs() as logs:
        mirror = ConvexMirror(tmp_path / "run", url=url, **FAST).start()
        mirror.notify(list(EventLog(tmp_path / "run").read()))
        threading.Event().wait(0.3)
        report = mirror.close(flush_timeout=30)
    assert not report.caught_up and report.mirrored_seq == 0 and report.last_seq == last
    assert report.last_error is not None and "unreachable" in report.last_error
    failed = [e for e in logs if e["log_level"] == "warning" and e.get("url") == url]
    assert failed[0]["function"] == "mirror:head"
    assert len(failed) == 1  # retries of the same failure are not logged again
    assert any("agentlog sync" in e["event"] for e in logs)


def test_a_silent_server_never_holds_close(tmp_path: Path, silent_url: str) -> None:
    last = write_run(tmp_path / "run")
    mirror = ConvexMirror(tmp_path / "run", url=silent_url, **FAST).start()
    mirror.notify(list(EventLog(tmp_path / "run").read()))
    report = mirror.close(flush_timeout=30)  # never answered: no flush to wait for
    assert not report.caught_up and not mirror.healthy
    assert report.last_seq == last and report.mirrored_seq == 0


def test_the_queue_stays_bounded_while_convex_is_down(tmp_path: Path) -> None:
    write_run(tmp_path / "run")
    events = list(EventLog(tmp_path / "run").read())
    mirror = ConvexMirror(tmp_path / "run", url=closed_url(), max_queued=5, **FAST)
    for _ in range(1000):
        mirror.notify(events)
    assert len(mirror._queue) == 5
    assert mirror.close().last_seq == events[-1].seq
