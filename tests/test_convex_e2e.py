"""End to end: the real ``convex`` Python client, over HTTP on 127.0.0.1, against the
repository's own Convex functions run by ``tracking/server/serve.ts`` on convex-test.

Needs the pinned Node packages in ``tracking/node_modules``; when they are missing the
first test installs them with ``npm ci --prefix tracking`` (the npm registry is the only
network it uses), so ``pip install -e '.[dev]' && pytest`` works from a fresh clone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import requests
import structlog
from _events import code_events_with_retry, plan_events, review_events, started
from convex.http_client import ConvexHttpClient

from actors import Supervisor, fork, what_if
from actors.convex import ConvexMirror, sync_runs
from actors.demo import DEMO_CONFIG, demo_model, demo_task
from actors.integrations import integrations_from_env
from events import Diverged, Event, WorkflowCompleted
from store import EventLog, workflow_state

ROOT = Path(__file__).resolve().parent.parent
TRACKING = ROOT / "tracking"
TSX = TRACKING / "node_modules" / ".bin" / "tsx"
FAST = {"backoff_base": 0.05, "backoff_max": 0.3, "poll_interval": 0.05}


def _npm_ci() -> None:
    """Install the pinned tracking packages (once per session) when they are missing."""
    npm = shutil.which("npm")
    if npm is None:
        return
    subprocess.run(
        [npm, "ci", "--prefix", str(TRACKING), "--no-audit", "--no-fund", "--loglevel=error"],
        check=False,
        timeout=600,
    )


class ConvexServer:
    """One ``serve.ts`` process; ``kill`` and ``start`` again keep its port and data file."""

    def __init__(self, data: Path, admin_key: str | None = None) -> None:
        self.data = data
        self.admin_key = admin_key
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        self._http = requests.Session()  # talks only to this server on 127.0.0.1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not TSX.exists():
            _npm_ci()
        if not TSX.exists():
            pytest.fail(
                f"{TSX} is missing: run `npm ci --prefix tracking` first "
                "(Node.js >= 20; .ci/run does it)",
                pytrace=False,
            )
        cmd = [str(TSX), "server/serve.ts", "--port", str(self.port), "--data", str(self.data)]
        if self.admin_key:
            cmd += ["--admin-key", self.admin_key]
        self.proc = subprocess.Popen(
            cmd,
            cwd=TRACKING,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # tsx runs node as a child: kill the group
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(60)
        if not line or not line[0]:
            self.kill()
            pytest.fail(f"the Convex test server did not start: {self.proc.stderr.read()}")  # type: ignore[union-attr]
        self.port = int(json.loads(line[0])["listening"].rsplit(":", 1)[1])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        return self._http.get(f"{self.url}/_test/dump", timeout=10).json()  # type: ignore[no-any-return]

    def fault(self, path: str, count: int, kind: str, message: str) -> None:
        body = {"path": path, "count": count, "kind": kind, "message": message}
        self._http.post(f"{self.url}/_test/fault", json=body, timeout=10).raise_for_status()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ConvexServer]:
    srv = ConvexServer(tmp_path / "convex-data.json")
    srv.start()
    yield srv
    srv.kill()


def unstamped(workflow_id: str) -> list[Event]:
    """A complete run's events (plan, a failed then a good code attempt, review, end)."""
    events = [
        started(),
        *plan_events(),
        *code_events_with_retry(),
        *review_events("approve"),
        WorkflowCompleted(verdict="approve"),
    ]
    return [msgspec.structs.replace(ev, workflow_id=workflow_id) for ev in events]


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for Convex"
        time.sleep(0.02)


def expected_sessions(run: Path) -> list[tuple[str, float, float]]:
    from events import StepStarted

    return sorted(
        (ev.step, float(ev.round), float(ev.attempt))
        for ev in EventLog(run).read()
        if isinstance(ev, StepStarted)
    )


def mirrored(client: ConvexHttpClient, workflow_id: str) -> dict[str, Any]:
    wf = client.query("workflows:get", {"workflowId": workflow_id})
    assert wf is not None
    return wf  # type: ignore[no-any-return]


def assert_fully_mirrored(client: ConvexHttpClient, run: Path) -> dict[str, Any]:
    events = list(EventLog(run).read())
    wf = mirrored(client, workflow_state(events).workflow_id)
    assert wf["lastSeq"] == float(events[-1].seq)
    sessions = sorted((s["step"], s["round"], s["attempt"]) for s in wf["sessions"])
    assert sessions == expected_sessions(run)  # none missing, none twice
    state = workflow_state(events)
    assert wf["status"] == state.status
    return wf


def test_a_run_is_mirrored_while_it_runs(server: ConvexServer, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    client = ConvexHttpClient(server.url)
    events = unstamped("wf-live")
    mirror = ConvexMirror(run, url=server.url, **FAST)
    with EventLog(run).writer() as writer:
        mirror.attach(writer)
        for ev in events[:5]:
            writer.append(ev)
        wait_for(lambda: mirror.mirrored_seq == 5)
        live = mirrored(client, "wf-live")
        assert live["status"] == "running"
        assert live["currentStep"] == "code"
        for ev in events[5:]:
            writer.append(ev)
        report = mirror.close(flush_timeout=10)
    assert report.caught_up and report.mirrored_seq == len(events)
    wf = assert_fully_mirrored(client, run)
    assert wf["verdict"] == "approve"
    assert wf["totalTokens"] > 0
    listed = client.query("workflows:list", {"status": "completed"})
    assert [w["workflowId"] for w in listed] == ["wf-live"]


def test_server_killed_mid_run_then_everything_catches_up(
    server: ConvexServer, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    events = unstamped("wf-outage")
    mirror = ConvexMirror(run, url=server.url, **FAST)
    with structlog.testing.capture_logs() as logs, EventLog(run).writer() as writer:
        mirror.attach(writer)
        for ev in events[:4]:
            writer.append(ev)
        wait_for(lambda: mirror.mirrored_seq == 4)
        server.kill()
        for ev in events[4:9]:
            writer.append(ev)  # appends go on while Convex is down
        wait_for(lambda: not mirror.healthy)
        server.start()  # same port, same data file: what was acknowledged is kept
        for ev in events[9:]:
            writer.append(ev)
        wait_for(lambda: mirror.mirrored_seq == len(events))
        report = mirror.close(flush_timeout=5)
    assert report.caught_up
    assert any(e["event"].startswith("convex call failed") for e in logs)
    assert any(e["event"] == "convex mirror recovered" for e in logs)
    assert_fully_mirrored(ConvexHttpClient(server.url), run)
    rows = server.dump()
    keys = [(s["step"], s["round"], s["attempt"]) for s in rows["agentSessions"]]
    assert len(keys) == len(set(keys))
    assert len(rows["workflows"]) == 1


def test_backfill_of_a_finished_run(server: ConvexServer, tmp_path: Path) -> None:
    run = tmp_path / "old-run"
    run.mkdir()
    with EventLog(run).writer() as writer:
        writer.append_many(unstamped("wf-old"))
    seen: list[tuple[int, int]] = []
    report = sync_runs([run], url=server.url, progress=lambda p: seen.append((p.done, p.total)))
    assert report.ok
    (one,) = report.runs
    assert one.workflow_id == "wf-old" and one.sent > 0
    assert seen[0] == (0, one.last_seq) and seen[-1] == (one.last_seq, one.last_seq)
    assert_fully_mirrored(ConvexHttpClient(server.url), run)
    again = sync_runs([run], url=server.url, batch_size=3)
    assert again.ok and again.runs[0].sent == 0


def test_a_convex_error_answer_is_logged_and_the_workflow_goes_on(
    server: ConvexServer, tmp_path: Path
) -> None:
    server.fault("mirror:apply", 2, "convexError", "injected refusal")
    run = tmp_path / "run"
    mirror = ConvexMirror(run, url=server.url, **FAST).start()
    supervisor = Supervisor(model=demo_model(), listeners=[lambda ev: mirror.notify((ev,))])
    with structlog.testing.capture_logs() as logs:
        result = supervisor.run(demo_task(), run)
        wait_for(lambda: mirror.mirrored_seq == EventLog(run).verify().last_seq)
        report = mirror.close(flush_timeout=5)
    assert result.status == "completed"
    assert report.caught_up
    warnings = [e for e in logs if e["log_level"] == "warning" and e.get("url") == server.url]
    assert warnings and warnings[0]["function"] == "mirror:apply"
    assert warnings[0]["error"] == "injected refusal"
    assert_fully_mirrored(ConvexHttpClient(server.url), run)


def test_the_deploy_key_authenticates_and_is_never_logged(tmp_path: Path) -> None:
    key = "prod:secret-deploy-key-123"
    srv = ConvexServer(tmp_path / "data.json", admin_key=key)
    srv.start()
    try:
        run = tmp_path / "run"
        run.mkdir()
        with EventLog(run).writer() as writer:
            writer.append_many(unstamped("wf-auth"))
        with structlog.testing.capture_logs() as logs:
            refused = sync_runs([run], url=srv.url, deploy_key="wrong-key")
            bad = ConvexMirror(run, url=srv.url, deploy_key="wrong-key", **FAST).start()
            wait_for(lambda: bad._last_error is not None)
            bad.close()
        assert not refused.ok and "BadAdminKey" in (refused.runs[0].error or "")
        assert any("BadAdminKey" in str(e.get("error")) for e in logs)
        assert "wrong-key" not in repr(logs)
        with structlog.testing.capture_logs() as logs:
            assert sync_runs([run], url=srv.url, deploy_key=key).ok
            good = ConvexMirror(run, url=srv.url, deploy_key=key, **FAST).start()
            wait_for(lambda: good.mirrored_seq > 0)
            good.close()
        assert key not in repr(logs)
        admin = ConvexHttpClient(srv.url)
        admin.set_admin_auth(key)
        assert_fully_mirrored(admin, run)
    finally:
        srv.kill()


def demo_with_forks(
    root: Path, monkeypatch: pytest.MonkeyPatch, mirror_url: str = ""
) -> tuple[Path, Path, Path]:
    """The demo (tests off: fast), A = fork at 3 with a new task, B = fork of A at 6.

    With ``mirror_url`` the forks (not the demo) run with ``CONVEX_URL`` set: they mirror
    live (their model answers after 50 ms, so the mirror has connected before they end;
    a mirror still unconnected when its workflow ends is left to ``agentlog sync``).
    """
    demo, a, b = root / "demo", root / "A", root / "B"
    monkeypatch.delenv("CONVEX_URL", raising=False)
    quick = msgspec.structs.replace(DEMO_CONFIG, run_tests=False)
    Supervisor(quick, model=demo_model()).run(demo_task(), demo)
    delay = 0.0
    if mirror_url:
        monkeypatch.setenv("CONVEX_URL", mirror_url)
        delay = 0.05
    mirroring = integrations_from_env()  # what the CLI hands the supervisor
    fork(
        demo,
        at=3,
        new_run_dir=a,
        task="T2: a haiku module",
        model=demo_model(delay),
        listeners=mirroring,
    )
    fork(a, at=6, new_run_dir=b, model=demo_model(delay), listeners=mirroring)
    return demo, a, b


def test_a_fork_of_a_fork_is_mirrored_live_under_its_own_id(
    server: ConvexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, a, b = demo_with_forks(tmp_path, monkeypatch, mirror_url=server.url)
    ids = [workflow_state(EventLog(run).read()).workflow_id for run in (a, b)]
    live = {w["workflowId"] for w in server.dump()["workflows"]}
    assert live and live <= set(ids)  # no row under the source's id, not even in passing
    assert sync_runs([a, b], url=server.url).ok  # whatever a closing mirror left behind
    client = ConvexHttpClient(server.url)
    assert sorted(w["workflowId"] for w in server.dump()["workflows"]) == sorted(ids)
    wf_b = assert_fully_mirrored(client, b)
    assert wf_b["forkedFrom"] == ids[0]
    assert wf_b["task"] == "T2: a haiku module"
    assert wf_b["status"] == "completed"


def test_a_what_if_is_mirrored_as_one_of_its_source_with_where_it_diverged(
    server: ConvexServer, tmp_path: Path
) -> None:
    source, new = tmp_path / "source", tmp_path / "what-if"
    Supervisor(msgspec.structs.replace(DEMO_CONFIG, run_tests=False), model=demo_model()).run(
        demo_task(), source
    )
    what_if(source, new, prompts={"reviewer": "Review strictly.\n"}, live=demo_model())
    assert sync_runs([source, new], url=server.url).ok
    wf = assert_fully_mirrored(ConvexHttpClient(server.url), new)
    events = list(EventLog(new).read())
    (diverged,) = [ev for ev in events if isinstance(ev, Diverged)]
    assert wf["forkedFrom"] == workflow_state(EventLog(source).read()).workflow_id
    assert (wf["whatIf"], wf["divergedAtSeq"]) == (True, float(diverged.seq))


def test_sync_mirrors_each_fork_under_the_id_in_force(
    server: ConvexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo, a, b = demo_with_forks(tmp_path, monkeypatch)
    report = sync_runs([demo, a, b], url=server.url)
    assert report.ok
    ids = [workflow_state(EventLog(run).read()).workflow_id for run in (demo, a, b)]
    assert [r.workflow_id for r in report.runs] == ids
    assert sorted(w["workflowId"] for w in server.dump()["workflows"]) == sorted(ids)
    client = ConvexHttpClient(server.url)
    for run in (demo, a, b):
        assert_fully_mirrored(client, run)


def test_a_log_rewritten_after_a_cut_replaces_what_convex_held(
    server: ConvexServer, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    events = unstamped("wf-cut")
    with EventLog(run).writer() as writer:
        writer.append_many(events)
    assert sync_runs([run], url=server.url).ok
    # A power cut loses the unsynced tail; resume gives seqs 6.. to different events.
    path = run / "events.jsonl"
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:5]))
    with EventLog(run).writer() as writer:
        writer.append_many(events[5:8])  # new ids at seqs 6..8; Convex holds 6..N
    with structlog.testing.capture_logs() as logs:
        report = sync_runs([run], url=server.url)
    assert report.ok and report.runs[0].mirrored_seq == 8
    assert any(e["event"].startswith("convex holds events the log no longer has") for e in logs)
    wf = assert_fully_mirrored(ConvexHttpClient(server.url), run)
    assert wf["status"] == "running"


def test_a_live_mirror_replaces_a_diverged_row_before_sending(
    server: ConvexServer, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    events = unstamped("wf-live-cut")
    with EventLog(run).writer() as writer:
        writer.append_many(events)
    assert sync_runs([run], url=server.url).ok
    path = run / "events.jsonl"
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:4]))
    mirror = ConvexMirror(run, url=server.url, workflow_id="wf-live-cut", **FAST)
    with EventLog(run).writer() as writer:
        mirror.attach(writer)
        writer.append_many(events[4:6])
        wait_for(lambda: mirror.mirrored_seq == 6)
        mirror.close(flush_timeout=5)
    assert_fully_mirrored(ConvexHttpClient(server.url), run)


def test_a_live_mirror_sends_nothing_the_writer_has_not_synced(
    server: ConvexServer, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    events = unstamped("wf-unsynced")
    mirror = ConvexMirror(run, url=server.url, **FAST)
    with EventLog(run).writer() as writer:
        writer.append_many(events[:2])
        mirror.attach(writer)
        writer.append_many(events[2:5], sync=False)  # in the file, not yet durable
        assert mirror.wait_caught_up(2, timeout=10)
        assert not mirror.wait_caught_up(3, timeout=0.5)
        writer.sync()
        assert mirror.wait_caught_up(5, timeout=10)
        mirror.close(flush_timeout=5)


def test_a_waiting_run_is_mirrored_as_waiting_until_a_person_decides(
    server: ConvexServer, tmp_path: Path
) -> None:
    from _workflow import FAST as FAST_RUN
    from _workflow import scripted

    from actors.approvals import decide

    run = tmp_path / "gated"
    gate = msgspec.structs.replace(FAST_RUN, approve=("plan",))
    assert Supervisor(gate, model=scripted()).run("a task", run).waiting
    client = ConvexHttpClient(server.url)
    assert sync_runs([run], url=server.url).ok
    assert assert_fully_mirrored(client, run)["status"] == "waiting"
    decide(run, "approved", by="alice")
    assert sync_runs([run], url=server.url).ok
    assert assert_fully_mirrored(client, run)["status"] == "running"
    Supervisor.resume(run, model=scripted())
    assert sync_runs([run], url=server.url).ok
    assert assert_fully_mirrored(client, run)["status"] == "completed"


def test_agentlog_run_mirrors_a_run_when_convex_url_is_set(
    server: ConvexServer, tmp_path: Path
) -> None:
    from _cli import cli, write_script
    from _workflow import PLAN, answer

    run = tmp_path / "run"
    # The plan answers after 0.3 s: the mirror has connected before the run ends (a
    # mirror still unconnected when its run stops is left to `agentlog sync`).
    script = write_script(tmp_path / "script.json", plan=[{**answer(PLAN), "delay": 0.3}])
    env = {**os.environ, "CONVEX_URL": server.url}
    done = cli("run", "a task", "--run-dir", run, "--script", script, env=env)
    assert done.returncode == 0, done.stderr
    wf = assert_fully_mirrored(ConvexHttpClient(server.url), run)
    assert wf["status"] == "completed"


def test_a_supervisor_in_python_reads_no_convex_url(
    server: ConvexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The core reads no integration's variable: Python callers hand it the integrations
    # (`listeners=integrations_from_env()`), as the CLI does.
    monkeypatch.setenv("CONVEX_URL", server.url)
    quick = msgspec.structs.replace(DEMO_CONFIG, run_tests=False)
    result = Supervisor(quick, model=demo_model(0.05)).run(demo_task(), tmp_path / "run")
    assert result.status == "completed"
    assert server.dump()["workflows"] == []
    mirrored = Supervisor(quick, model=demo_model(0.05), listeners=integrations_from_env())
    assert mirrored.run(demo_task(), tmp_path / "mirrored").status == "completed"
    assert [w["workflowId"] for w in server.dump()["workflows"]] == [
        workflow_state(EventLog(tmp_path / "mirrored").read()).workflow_id
    ]
