"""Continuing a run from the viewer: after a person decides in the browser, the viewer
starts ``agentlog resume`` for the run (no terminal needed), confined as ``resume`` is."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

pytest.importorskip("starlette", reason="the viewer needs its extra: pip install -e '.[ui]'")

from _cli import write_script
from _runs import write_run
from _workflow import FAST, scripted

from actors import Supervisor
from actors.viewer.serve import RunningViewer, start
from events import WorkflowCompleted, WorkflowStarted
from store import EventLog, workflow_state

TOKEN = "t0ken-for-the-continue-tests-0123"
PLAN_GATE = msgspec.structs.replace(FAST, approve=("plan",))


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run waiting at its plan gate; the viewer's children answer from a script."""
    monkeypatch.setenv("AGENTLOG_SCRIPT", str(write_script(tmp_path / "script.json")))
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "CONVEX_URL"):
        monkeypatch.delenv(name, raising=False)
    runs = tmp_path / "runs"
    assert Supervisor(PLAN_GATE, model=scripted()).run("a task", runs / "waits").waiting
    return runs


@pytest.fixture
def viewer(runs: Path) -> Iterator[RunningViewer]:
    with start(runs, token=TOKEN) as running:
        yield running


def post(viewer: RunningViewer, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    host = viewer.url.removeprefix("http://")
    conn = http.client.HTTPConnection(host, timeout=30)
    headers = {"Origin": viewer.url, "Cookie": f"agentlog_token={TOKEN}", "Host": host}
    try:
        conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def overview(viewer: RunningViewer, run_id: str) -> Any:
    host = viewer.url.removeprefix("http://")
    conn = http.client.HTTPConnection(host, timeout=30)
    try:
        conn.request("GET", f"/api/runs/{run_id}/overview", headers={"Host": host})
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def until_ended(viewer: RunningViewer, run_id: str) -> Any:
    """The overview once the continuation this viewer started has exited."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        seen = overview(viewer, run_id)
        if seen["continuation"] and not seen["continuation"]["running"]:
            return seen
        time.sleep(0.05)
    raise AssertionError("the continuation did not end")


def test_approving_from_the_viewer_continues_the_run_to_its_end(
    runs: Path, viewer: RunningViewer
) -> None:
    status, answer = post(
        viewer, "/api/runs/waits/decision", {"action": "approve", "continue": True}
    )
    assert status == 200, answer
    assert answer["continued"]["pid"] > 0
    ended = until_ended(viewer, "waits")
    assert ended["continuation"]["exit_code"] == 0, ended["continuation"]
    events = list(EventLog(runs / "waits").read())
    assert isinstance(events[-1], WorkflowCompleted)
    assert workflow_state(events).gates["plan"].decision == "approved"


def test_a_decision_without_continue_only_records_it(runs: Path, viewer: RunningViewer) -> None:
    status, answer = post(viewer, "/api/runs/waits/decision", {"action": "approve"})
    assert status == 200 and answer["continued"] is None
    assert overview(viewer, "waits")["continuation"] is None


def test_a_foreign_run_asking_for_no_sandbox_is_not_continued_and_says_why(
    runs: Path, viewer: RunningViewer
) -> None:
    events = list(EventLog(runs / "waits").read())
    first = events[0]
    assert isinstance(first, WorkflowStarted)
    unconfined = msgspec.structs.replace(first.config, sandbox="none")
    write_run(runs / "foreign", [msgspec.structs.replace(first, config=unconfined), *events[1:]])
    status, _ = post(viewer, "/api/runs/foreign/decision", {"action": "approve", "continue": True})
    assert status == 200
    ended = until_ended(viewer, "foreign")
    assert ended["continuation"]["exit_code"] == 2
    assert "--sandbox none" in ended["continuation"]["message"]
    assert not isinstance(list(EventLog(runs / "foreign").read())[-1], WorkflowCompleted)
