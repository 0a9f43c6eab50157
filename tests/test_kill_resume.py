"""Kill ``agentlog run`` at many points with SIGKILL, then ``verify`` and ``resume`` it.

Each kill point is one of: a fixed delay after the run's first event reached the log
(spread over the whole run: model calls, appends, materializing, between steps), right
after the log reaches N complete events, in the middle of the Nth append's write (a torn
last line, see ``_killer.py``), or right after the Nth append's write returned (every
move of the supervisor, step boundaries included, hit exactly). The script has one answer per
step (no errors, no revisions): a resumed process starts the script from its first
answer, so one answer per step keeps the live and resumed answers the same.

All kills run once, in parallel, in a module fixture; each test checks one property of
every outcome.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from _workflow import APPROVE, CODE, PLAN

from actors import replay
from events import (
    CodeProduced,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    StepStarted,
    WorkflowCompleted,
    decode_line,
)
from store import EventLog

TASK = "add a greeting module"
STEP_DELAY = 0.2
SCRIPT = {
    "plan": [{"tool_input": PLAN, "delay": STEP_DELAY}],
    "code": [{"tool_input": CODE, "delay": STEP_DELAY}],
    "review": [{"tool_input": APPROVE, "delay": STEP_DELAY}],
}
#: Events of an uninterrupted run: Started, 3 x (StepStarted, ModelCalled, Produced), Completed.
EVENTS = 11
#: Its appends (one write each): Started, then per step StepStarted and the agent's answer
#: (ModelCalled with the artifact, one batch), then Completed.
APPENDS = 8
CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]
KILLER = [sys.executable, str(Path(__file__).with_name("_killer.py"))]

#: (kind, value): "offset" seconds after the first event, "after" N events, "append" N
#: (torn mid-write), "settled" N (just after the Nth write).
POINTS: list[tuple[str, float]] = [
    *[("offset", round(i * 0.025, 3)) for i in range(32)],
    *[("after", n) for n in range(1, EVENTS)],
    *[("append", n) for n in range(2, APPENDS + 1)],
    *[("settled", n) for n in range(1, APPENDS)],
]


@dataclass
class Outcome:
    point: tuple[str, float]
    before: bytes  # the log's complete lines when the process died
    torn: bool
    verify_rc: int
    verify_out: str
    torn_resume_rc: int | None
    torn_resume_err: str
    resume_rc: int
    resume_out: str
    after: bytes  # the log once resumed
    artifacts: dict[str, bytes]
    run_dir: Path


def artifact_bytes(run_dir: Path) -> dict[str, bytes]:
    """plan.json, code.json, review.json and every file under files/, by relative path."""
    found = {
        name: (run_dir / name).read_bytes()
        for name in ("plan.json", "code.json", "review.json")
        if (run_dir / name).exists()
    }
    files = run_dir / "files"
    for path in sorted(files.rglob("*")) if files.exists() else []:
        if path.is_file():
            found[str(path.relative_to(run_dir))] = path.read_bytes()
    return found


def complete_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _wait_lines(proc: subprocess.Popen[bytes], path: Path, n: int) -> None:
    deadline = time.monotonic() + 30
    while complete_lines(path) < n and proc.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never reached {n} lines")
        time.sleep(0.001)


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def kill_and_resume(point: tuple[str, float], run_dir: Path, script: Path) -> Outcome:
    kind, value = point
    log = run_dir / "events.jsonl"
    args = ["run", TASK, "--script", str(script), "--run-dir", str(run_dir)]
    if kind in ("append", "settled"):
        nth = f"{int(value)}{'+' if kind == 'settled' else ''}"
        proc = subprocess.Popen(
            [*KILLER, nth, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
    else:
        proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if kind == "offset":
            _wait_lines(proc, log, 1)
            time.sleep(value)
        else:
            _wait_lines(proc, log, int(value))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    data = log.read_bytes()
    before = data[: data.rfind(b"\n") + 1]
    torn = len(before) < len(data)
    verify = _cli("verify", run_dir)
    torn_resume_rc, torn_resume_err = None, ""
    if torn:
        refused = _cli("resume", run_dir, "--script", script)
        torn_resume_rc, torn_resume_err = refused.returncode, refused.stderr
        assert _cli("verify", run_dir, "--repair").returncode == 0
    resumed = _cli("resume", run_dir, "--script", script)
    return Outcome(
        point=point,
        before=before,
        torn=torn,
        verify_rc=verify.returncode,
        verify_out=verify.stdout,
        torn_resume_rc=torn_resume_rc,
        torn_resume_err=torn_resume_err,
        resume_rc=resumed.returncode,
        resume_out=resumed.stdout + resumed.stderr,
        after=log.read_bytes(),
        artifacts=artifact_bytes(run_dir),
        run_dir=run_dir,
    )


@pytest.fixture(scope="module")
def script_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("script") / "script.json"
    path.write_text(json.dumps(SCRIPT))
    return path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, script_file: Path) -> Path:
    run_dir = tmp_path_factory.mktemp("clean") / "run"
    done = _cli("run", TASK, "--script", script_file, "--run-dir", run_dir)
    assert done.returncode == 0, done.stderr
    return run_dir


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, script_file: Path) -> list[Outcome]:
    root = tmp_path_factory.mktemp("kills")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(kill_and_resume, point, root / f"{i:02d}-{point[0]}", script_file)
            for i, point in enumerate(POINTS)
        ]
        return [f.result() for f in futures]


def events_of(data: bytes) -> list[object]:
    return [decode_line(line) for line in data.splitlines(keepends=True)]


def test_the_kill_plan_has_at_least_30_distinct_points() -> None:
    assert len(set(POINTS)) >= 30
    assert len(set(POINTS)) == len(POINTS)


def test_kills_land_during_model_calls_appends_and_between_steps(
    outcomes: list[Outcome],
) -> None:
    where = Counter()
    for o in outcomes:
        last = events_of(o.before)[-1] if o.before else None
        if o.torn:
            where["append"] += 1
        elif isinstance(last, StepStarted):
            where["model call"] += 1
        elif isinstance(last, PlanProduced | CodeProduced | ReviewProduced):
            where["between steps"] += 1
    assert where["append"] >= 5
    assert where["model call"] >= 5
    assert where["between steps"] >= 3


def test_a_torn_tail_is_reported_by_verify_with_the_repair_hint(
    outcomes: list[Outcome],
) -> None:
    torn = [o for o in outcomes if o.torn]
    assert torn
    for o in torn:
        assert o.verify_rc == 1, o.point
        assert "agentlog verify --repair" in o.verify_out, o.point


def test_resume_refuses_a_torn_tail_naming_verify_repair(outcomes: list[Outcome]) -> None:
    torn = [o for o in outcomes if o.torn]
    assert torn
    for o in torn:
        assert o.torn_resume_rc == 1, o.point
        assert "agentlog verify --repair" in o.torn_resume_err, o.point


def test_a_log_killed_between_appends_verifies_clean(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        if not o.torn:
            assert o.verify_rc == 0, (o.point, o.verify_out)


def test_every_killed_run_completes_after_resume(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        assert o.resume_rc == 0, (o.point, o.resume_out)
        final = events_of(o.after)[-1]
        assert isinstance(final, WorkflowCompleted), o.point
        assert final.verdict == "approve"
        assert EventLog(o.run_dir).verify().ok


def test_no_acknowledged_event_is_lost(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        assert o.after.startswith(o.before), o.point


def test_no_artifact_is_produced_twice(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        produced = Counter(
            (type(ev).__name__, getattr(ev, "round", 0))
            for ev in events_of(o.after)
            if isinstance(ev, PlanProduced | CodeProduced | ReviewProduced)
        )
        assert produced == {
            ("PlanProduced", 0): 1,
            ("CodeProduced", 0): 1,
            ("ReviewProduced", 0): 1,
        }, o.point


def test_no_attempt_is_started_or_sent_to_the_model_twice(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        events = events_of(o.after)
        started = Counter(
            (ev.step, ev.round, ev.attempt) for ev in events if isinstance(ev, StepStarted)
        )
        called = Counter(
            (ev.step, ev.round, ev.attempt) for ev in events if isinstance(ev, ModelCalled)
        )
        assert set(started.values()) == {1}, o.point
        assert set(called.values()) == {1}, o.point


def test_final_artifacts_equal_those_of_an_uninterrupted_run(
    outcomes: list[Outcome], uninterrupted: Path
) -> None:
    expected = artifact_bytes(uninterrupted)
    assert {"plan.json", "code.json", "review.json", "files/hello.py"} <= expected.keys()
    for o in outcomes:
        assert o.artifacts == expected, o.point


def test_a_resumed_run_replays_identically(outcomes: list[Outcome]) -> None:
    for o in outcomes[::4]:
        report = replay(o.run_dir)
        assert report.ok, (o.point, report.verdict)
