"""The viewer's HTTP API, spoken to over a real socket: pages, events, exchanges, streams."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the viewer needs its extra: pip install -e '.[ui]'")

from _events import completed_run
from _runs import append_lines, raw_line, write_run
from _viewer import RECORDED_SEQ, REQUEST, make_runs

from actors.viewer.serve import RunningViewer, ViewerError, listen, start
from events import ModelCalled, encode_line
from store import EventLog, ObjectStore


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runs(tmp_path_factory.mktemp("viewer") / "runs")


def get(viewer: RunningViewer, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(viewer.url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get_json(viewer: RunningViewer, path: str) -> Any:
    status, _, body = get(viewer, path)
    assert status == 200, body
    return json.loads(body)


def test_the_runs_list_holds_every_run(viewer: RunningViewer) -> None:
    runs = {r["id"]: r for r in get_json(viewer, "/api/runs")["runs"]}
    assert runs["demo"]["status"] == "completed"
    assert runs["demo-fork"]["forked_from"]["at_seq"] == 12


def test_the_first_page_starts_at_seq_one(viewer: RunningViewer) -> None:
    page = get_json(viewer, "/api/runs/demo/events?limit=5")
    assert [row["seq"] for row in page["events"]] == [1, 2, 3, 4, 5]
    assert page["last_seq"] == 21


def test_pages_continue_after_and_before_a_seq(viewer: RunningViewer) -> None:
    after = get_json(viewer, "/api/runs/demo/events?after=18&limit=5")["events"]
    before = get_json(viewer, "/api/runs/demo/events?before=4&limit=5")["events"]
    assert [r["seq"] for r in after] == [19, 20, 21]
    assert [r["seq"] for r in before] == [1, 2, 3]


def test_a_page_around_a_seq_holds_it(viewer: RunningViewer) -> None:
    rows = get_json(viewer, "/api/runs/demo/events?around=12&limit=4")["events"]
    assert [r["seq"] for r in rows] == [10, 11, 12, 13]


def test_filters_by_step_and_type(viewer: RunningViewer) -> None:
    rows = get_json(viewer, "/api/runs/demo/events?step=code&type=ModelCalled")["events"]
    assert [(r["seq"], r["type"], r["step"]) for r in rows] == [
        (8, "ModelCalled", "code"),
        (15, "ModelCalled", "code"),
    ]


def test_an_unknown_type_filter_is_a_bad_request(viewer: RunningViewer) -> None:
    status, _, body = get(viewer, "/api/runs/demo/events?type=Nope")
    assert status == 400 and b"Nope" in body


def test_a_recorded_request_is_part_of_the_exchange(viewer: RunningViewer) -> None:
    exchange = get_json(viewer, f"/api/runs/demo/events/{RECORDED_SEQ}")["exchange"]
    assert exchange["request"]["recorded"] is True
    assert exchange["request"]["body"] == REQUEST
    assert exchange["response"][0]["artifact"] == "codechange"
    assert exchange["produced_seq"] == RECORDED_SEQ + 1


def test_a_call_whose_request_was_not_kept_says_so(viewer: RunningViewer) -> None:
    exchange = get_json(viewer, "/api/runs/demo/events/5")["exchange"]
    assert exchange["request"]["recorded"] is False
    assert exchange["response"][0]["artifact"] == "plan"
    assert exchange["produced_seq"] == 6


def test_the_overview_diffs_each_round_against_the_previous(viewer: RunningViewer) -> None:
    rounds = get_json(viewer, "/api/runs/demo/overview")["rounds"]["items"]
    assert [r["round"] for r in rounds] == [0, 1]
    assert {f["status"] for f in rounds[0]["files"]} == {"added"}
    changed = {f["path"]: f for f in rounds[1]["files"]}
    assert changed["wordfreq.py"]["status"] == "modified"
    assert "+    counts = Counter(_WORD.findall(text.lower()))" in changed["wordfreq.py"]["diff"]
    unchanged = changed["test_wordfreq.py"]
    assert (unchanged["status"], unchanged["diff"], unchanged["added"]) == ("unchanged", "", 0)


def test_the_overview_lists_failures_tests_and_stats(viewer: RunningViewer) -> None:
    overview = get_json(viewer, "/api/runs/demo/overview")
    failure = overview["failures"]["items"][0]
    assert (failure["step"], failure["attempt"], failure["kind"]) == ("plan", 1, "overloaded")
    assert [t["exit_code"] for t in overview["tests"]["items"]] == [1, 0]
    assert [s["step"] for s in overview["stats"]] == ["plan", "code", "review", "total"]


def test_the_fork_tree_links_parent_and_child(viewer: RunningViewer) -> None:
    parent = get_json(viewer, "/api/runs/demo/overview")["forks"]
    child = get_json(viewer, "/api/runs/demo-fork/overview")["forks"]
    assert [(c["id"], c["at_seq"]) for c in parent["children"]] == [("demo-fork", 12)]
    assert (child["parent"]["id"], child["parent"]["at_seq"]) == ("demo", 12)


def test_an_unknown_run_is_not_found(viewer: RunningViewer) -> None:
    assert get(viewer, "/api/runs/nope/overview")[0] == 404
    assert get(viewer, "/runs/nope")[0] == 404
    assert get(viewer, "/api/runs/..%2F..%2Fetc/overview")[0] == 404


def test_pages_forbid_inline_script_and_other_origins(viewer: RunningViewer) -> None:
    status, headers, body = get(viewer, "/runs/demo")
    assert status == 200 and b"run.js" in body
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_a_foreign_host_header_is_refused(viewer: RunningViewer) -> None:
    assert get(viewer, "/api/runs", Host="evil.example")[0] == 400


def test_a_viewer_started_without_a_token_refuses_every_write(viewer: RunningViewer) -> None:
    request = urllib.request.Request(viewer.url + "/api/runs", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    assert err.value.code == 403


def test_a_taken_port_is_a_clear_error(viewer: RunningViewer) -> None:
    port = int(viewer.url.rsplit(":", 1)[1])
    with pytest.raises(ViewerError, match="choose another --port"):
        listen("127.0.0.1", port)


def sse_messages(response: http.client.HTTPResponse) -> Iterator[tuple[str, str]]:
    kind = data = ""
    while line := response.readline():
        text = line.decode().rstrip("\n")
        if text.startswith("event: "):
            kind = text[7:]
        elif text.startswith("data: "):
            data = text[6:]
        elif text == "" and kind:
            yield kind, data
            kind = data = ""


def test_the_stream_follows_appends_until_the_final_event(tmp_path: Path) -> None:
    events = completed_run()
    run = write_run(tmp_path / "live", events[:3])
    with start(tmp_path) as running:
        host, port = running.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/api/runs/live/stream?from_seq=2")
        messages = sse_messages(conn.getresponse())
        assert [json.loads(next(messages)[1])["seq"] for _ in range(2)] == [2, 3]
        append_lines(run, [encode_line(ev) for ev in events[3:]])
        rest = list(messages)
        conn.close()
    assert [json.loads(d)["seq"] for k, d in rest if k == "append"] == list(
        range(4, len(events) + 1)
    )
    assert rest[-1][0] == "end"


def test_the_stream_of_a_finished_run_ends_at_once(viewer: RunningViewer) -> None:
    status, _, body = get(viewer, "/api/runs/demo/stream?from_seq=22")
    assert status == 200 and body.startswith(b"event: end")


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningViewer]:
    """Runs a viewer must survive: damaged, empty, and one waiting for a person."""
    root = tmp_path_factory.mktemp("odd")
    events = completed_run()
    damaged = write_run(root / "damaged", events)
    lines = (damaged / "events.jsonl").read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b'"attempt":1', b'"attempt":2', 1)
    (damaged / "events.jsonl").write_bytes(b"".join(lines))
    write_run(root / "empty", [])
    ask = {"type": "ApprovalRequested", "seq": 5, "id": "a", "ts": "2026-01-01T00:00:00Z"}
    ask.update(step="plan", digest="sha256:" + "0" * 64)
    write_run(root / "waiting", events[:4], extra=[raw_line(ask)])
    later = {"type": "FromTheFuture", "seq": 5, "id": "b", "ts": "2026-01-01T00:00:00Z"}
    write_run(root / "newer", events[:4], extra=[raw_line(later)])
    with start(root) as running:
        yield running


def test_a_damaged_log_shows_what_came_before_and_where_it_broke(odd: RunningViewer) -> None:
    overview = get_json(odd, "/api/runs/damaged/overview")
    assert overview["state"]["last_seq"] == 4 and "events.jsonl:5:" in overview["damage"]
    rows = get_json(odd, "/api/runs/damaged/events")["events"]
    assert [r["type"] for r in rows][-1] == "damaged"
    assert overview["summary"]["status"] == "damaged"


def test_an_empty_log_is_an_empty_run(odd: RunningViewer) -> None:
    assert get_json(odd, "/api/runs/empty/events") == {"events": [], "last_seq": 0}
    assert get_json(odd, "/api/runs/empty/overview")["summary"]["status"] == "empty"


def test_a_run_waiting_for_a_person_is_shown_waiting(odd: RunningViewer) -> None:
    rows = get_json(odd, "/api/runs/waiting/events")["events"]
    assert rows[-1]["type"] == "ApprovalRequested"
    assert get_json(odd, "/api/runs/waiting/overview")["summary"]["status"] == "waiting"
    assert get_json(odd, "/api/runs/waiting/events/5")["event"]["type"] == "ApprovalRequested"


def test_an_event_type_from_a_newer_version_is_shown(odd: RunningViewer) -> None:
    rows = get_json(odd, "/api/runs/newer/events")["events"]
    assert rows[-1]["type"] == "FromTheFuture"
    assert get_json(odd, "/api/runs/newer/events/5")["event"]["type"] == "FromTheFuture"


def test_static_files_are_revalidated_and_data_never_cached(viewer: RunningViewer) -> None:
    status, headers, _ = get(viewer, "/static/run.js")
    assert status == 200 and headers["cache-control"] == "no-cache" and headers["etag"]
    again = get(viewer, "/static/run.js", **{"If-None-Match": headers["etag"]})
    assert again[0] == 304
    assert get(viewer, "/api/runs")[1]["cache-control"] == "no-store"


def test_a_stream_from_beyond_the_end_of_a_finished_run_ends(viewer: RunningViewer) -> None:
    status, _, body = get(viewer, "/api/runs/demo/stream?from_seq=1000000")
    assert status == 200 and body.startswith(b"event: end")


def test_open_streams_hold_no_thread_each(tmp_path: Path) -> None:
    write_run(tmp_path / "live", completed_run()[:3])  # running: its streams wait
    with start(tmp_path) as running:
        host, port = running.url.removeprefix("http://").split(":")
        before = threading.active_count()
        conns = []
        for _ in range(40):
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request("GET", "/api/runs/live/stream?from_seq=4")
            response = conn.getresponse()
            assert response.readline() == b"retry: 1000\n"  # the stream is open and waiting
            conns.append(conn)
        during = threading.active_count()
        for conn in conns:
            conn.close()
    assert during - before < 10  # the server's few workers, not one thread a stream


def test_a_viewer_bound_to_ipv6_loopback_accepts_its_own_url(tmp_path: Path) -> None:
    with start(make_runs(tmp_path / "runs"), host="::1") as running:
        assert running.url.startswith("http://[::1]:")
        status, _, body = get(running, "/api/runs")  # Host: [::1]:PORT
        assert status == 200, body
        assert get(running, "/api/runs", Host="evil.example")[0] == 400


def test_a_viewer_other_machines_reach_needs_the_token_to_read(tmp_path: Path) -> None:
    with start(make_runs(tmp_path / "runs"), host="0.0.0.0", token="t0ken") as running:
        refused, _, body = get(running, "/api/runs")
        with_token, _, _ = get(running, "/api/runs", Cookie="agentlog_token=t0ken")
    assert (refused, with_token) == (403, 200), body
    assert b"token" in body


def test_a_request_object_over_the_cap_is_named_by_its_size_unread(tmp_path: Path) -> None:
    root = make_runs(tmp_path / "runs")
    call = list(EventLog(root / "demo").read())[RECORDED_SEQ - 1]
    assert isinstance(call, ModelCalled)
    loose = ObjectStore(root / "demo").path(call.request_digest)
    loose.parent.mkdir(parents=True, exist_ok=True)
    with open(loose, "wb") as f:
        f.truncate(300 << 20)  # a sparse 300 MB file: reading it whole is the failure
    with start(root) as running:
        request = get_json(running, f"/api/runs/demo/events/{RECORDED_SEQ}")["exchange"]["request"]
    assert (request["too_large"], request["size"]) == (True, 300 << 20)
