"""Deciding from the viewer: a POST only with the startup token, from the viewer's origin.

The viewer writes to logs only for a person's decision, so another web page must not be
able to drive it: without the token (set as a cookie by the URL ``agentlog ui`` prints)
or from another ``Origin`` a write is refused (403) and nothing is written.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

pytest.importorskip("starlette", reason="the viewer needs its extra: pip install -e '.[ui]'")

from _workflow import FAST, kinds, scripted

from actors import Supervisor
from actors.viewer.serve import RunningViewer, start
from store import EventLog, workflow_state

TOKEN = "t0ken-for-the-tests-0123456789"
PLAN_GATE = msgspec.structs.replace(FAST, approve=("plan",))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    assert Supervisor(PLAN_GATE, model=scripted()).run("a task", runs / "waits").waiting
    return runs


@pytest.fixture
def viewer(root: Path) -> Iterator[RunningViewer]:
    with start(root, token=TOKEN) as running:
        yield running


def request(
    viewer: RunningViewer, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    host = viewer.url.removeprefix("http://")
    conn = http.client.HTTPConnection(host, timeout=10)
    data = json.dumps(body).encode() if body is not None else None
    try:
        conn.request(method, path, body=data, headers={"Host": host, **headers})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def decide(viewer: RunningViewer, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
    own = {"Origin": viewer.url, "Cookie": f"agentlog_token={TOKEN}"}
    status, _, data = request(
        viewer, "POST", "/api/runs/waits/decision", body, **{**own, **headers}
    )
    return status, json.loads(data)


def test_the_token_url_sets_a_strict_cookie_and_drops_the_token(viewer: RunningViewer) -> None:
    status, headers, _ = request(viewer, "GET", f"/runs/waits?token={TOKEN}")
    assert status == 303
    assert headers["location"] == "/runs/waits"
    cookie = headers["set-cookie"]
    assert f"agentlog_token={TOKEN}" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_a_wrong_token_url_sets_nothing(viewer: RunningViewer) -> None:
    status, headers, _ = request(viewer, "GET", "/runs/waits?token=guess")
    assert status == 200
    assert "set-cookie" not in headers


def test_a_decision_with_the_token_from_the_viewer_is_recorded(
    root: Path, viewer: RunningViewer
) -> None:
    status, body = decide(viewer, {"action": "approve", "by": "carol", "comment": "fine"})
    assert status == 200, body
    assert body["recorded"]["by"] == "carol"
    assert "agentlog resume" in body["next"]
    state = workflow_state(EventLog(root / "waits").read())
    assert state.gates["plan"].decision == "approved"
    assert Supervisor.resume(root / "waits", model=scripted()).status == "completed"


def test_the_token_may_come_in_a_header(root: Path, viewer: RunningViewer) -> None:
    status, _ = decide(viewer, {"action": "approve"}, Cookie="", **{"X-Agentlog-Token": TOKEN})
    assert status == 200
    assert kinds(root / "waits")[-1] == "ApprovalDecided"


@pytest.mark.parametrize(
    "headers",
    [
        {"Cookie": ""},
        {"Cookie": "agentlog_token=guess"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
    ],
    ids=["no token", "wrong token", "another origin", "opaque origin"],
)
def test_a_write_without_the_token_or_from_elsewhere_is_refused(
    root: Path, viewer: RunningViewer, headers: dict[str, str]
) -> None:
    before = (root / "waits" / "events.jsonl").read_bytes()
    status, body = decide(viewer, {"action": "approve"}, **headers)
    assert status == 403, body
    assert (root / "waits" / "events.jsonl").read_bytes() == before


def test_a_write_with_no_origin_is_refused(root: Path, viewer: RunningViewer) -> None:
    status, _, _ = request(
        viewer,
        "POST",
        "/api/runs/waits/decision",
        {"action": "approve"},
        Cookie=f"agentlog_token={TOKEN}",
    )
    assert status == 403
    assert kinds(root / "waits")[-1] == "ApprovalRequested"


def test_a_refused_decision_says_why(viewer: RunningViewer) -> None:
    status, body = decide(viewer, {"action": "approve", "digest": "sha256:00000000"})
    assert status == 409
    assert "stale decision" in body["error"]
    status, body = decide(viewer, {"action": "reject"})
    assert status == 409 and "needs a comment" in body["error"]


def test_the_overview_names_the_gate_and_that_decisions_are_allowed(
    viewer: RunningViewer,
) -> None:
    status, _, data = request(viewer, "GET", "/api/runs/waits/overview")
    overview = json.loads(data)
    assert status == 200
    assert overview["writable"] is True
    assert overview["state"]["waiting_at"]["step"] == "plan"


def test_a_decision_body_over_64_kib_is_refused_unread(root: Path, viewer: RunningViewer) -> None:
    status, body = decide(viewer, {"action": "reject", "comment": "x" * (1 << 20)})
    assert status == 413, body
    assert workflow_state(EventLog(root / "waits").read()).gates["plan"].decision is None
