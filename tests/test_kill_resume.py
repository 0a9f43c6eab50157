"""Kill ``agentlog run`` with SIGKILL at every file-system step, then ``verify`` and ``resume``.

Each kill point is exact (see ``_killer.py``): in the middle of the Nth append's write (a
torn last line), right after the Nth append's write returned (every move of the
supervisor, step boundaries and the final event included), and just before or after each
rename that replaces a projection (``plan.json`` ... ``files/``). A kill at a time offset
lands between two of these steps, where the files are as the step before left them, so
these points cover every state a kill can leave. The script has one answer per step (no
errors, no revisions): a resumed process starts the script from its first answer, so one
answer per step keeps the live and resumed answers the same.

All kills run once, in parallel, in a module fixture; verify and resume then run in this
process; each test checks one property of every outcome.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from _workflow import APPROVE, CODE, PLAN

from actors import replay
from actors.cli import main
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
SCRIPT = {
    "plan": [{"tool_input": PLAN}],
    "code": [{"tool_input": CODE}],
    "review": [{"tool_input": APPROVE}],
}
#: Events of an uninterrupted run: Started, 3 x (StepStarted, ModelCalled, Produced), Completed.
EVENTS = 11
#: Its appends (one write each): Started, then per step StepStarted and the agent's answer
#: (ModelCalled with the artifact, one batch), then Completed.
APPENDS = 8
#: Its projection renames: plan.json, code.json, files/hello.py, files/pkg/util.py, review.json.
RENAMES = 5
KILLER = [sys.executable, str(Path(__file__).with_name("_killer.py"))]

#: Every exact point: torn appends (the first one, which leaves no run, is tested apart),
#: every settled append, and just before and after every projection rename.
POINTS: list[str] = [
    *[f"append:{n}" for n in range(2, APPENDS + 1)],
    *[f"append:{n}+" for n in range(1, APPENDS + 1)],
    *[f"rename:{n}" for n in range(1, RENAMES + 1)],
    *[f"rename:{n}+" for n in range(1, RENAMES + 1)],
]


@dataclass
class Outcome:
    point: str
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
    leftovers: list[str]  # temp files still in the run directory after resume
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


def _cli(*args: str | Path) -> tuple[int, str, str]:
    """Run the CLI in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def kill(point: str, run_dir: Path, script: Path) -> None:
    """Run the workflow in a child process that SIGKILLs itself at ``point``."""
    args = ["run", TASK, "--script", str(script), "--run-dir", str(run_dir)]
    proc = subprocess.run([*KILLER, point, *args], capture_output=True, timeout=120, check=False)
    assert proc.returncode == -signal.SIGKILL, (point, proc.stderr)


def verify_and_resume(point: str, run_dir: Path, script: Path) -> Outcome:
    data = (run_dir / "events.jsonl").read_bytes()
    before = data[: data.rfind(b"\n") + 1]
    torn = len(before) < len(data)
    verify_rc, verify_out, _ = _cli("verify", run_dir)
    torn_resume_rc, torn_resume_err = None, ""
    if torn:
        torn_resume_rc, _, torn_resume_err = _cli("resume", run_dir, "--script", script)
        assert _cli("verify", run_dir, "--repair")[0] == 0
    resume_rc, out, err = _cli("resume", run_dir, "--script", script)
    return Outcome(
        point=point,
        before=before,
        torn=torn,
        verify_rc=verify_rc,
        verify_out=verify_out,
        torn_resume_rc=torn_resume_rc,
        torn_resume_err=torn_resume_err,
        resume_rc=resume_rc,
        resume_out=out + err,
        after=(run_dir / "events.jsonl").read_bytes(),
        artifacts=artifact_bytes(run_dir),
        leftovers=sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*.tmp")),
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
    code, _, err = _cli("run", TASK, "--script", script_file, "--run-dir", run_dir)
    assert code == 0, err
    return run_dir


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, script_file: Path) -> list[Outcome]:
    root = tmp_path_factory.mktemp("kills")
    dirs = [root / f"{i:02d}-{point.replace(':', '-')}" for i, point in enumerate(POINTS)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(kill, POINTS, dirs, [script_file] * len(POINTS)))
    return [verify_and_resume(p, d, script_file) for p, d in zip(POINTS, dirs, strict=True)]


def events_of(data: bytes) -> list[object]:
    return [decode_line(line) for line in data.splitlines(keepends=True)]


def test_the_kill_plan_covers_every_append_and_every_projection_rename(
    uninterrupted: Path,
) -> None:
    log = (uninterrupted / "events.jsonl").read_bytes()
    assert log.count(b"\n") == EVENTS
    assert len(set(POINTS)) == len(POINTS) == (APPENDS - 1) + APPENDS + 2 * RENAMES


def test_kills_land_before_model_calls_mid_append_between_steps_and_mid_projection(
    outcomes: list[Outcome],
) -> None:
    where: Counter[str] = Counter()
    for o in outcomes:
        last = events_of(o.before)[-1] if o.before else None
        if o.torn:
            where["append"] += 1
        elif o.point.startswith("rename"):
            where["projection"] += 1
        elif isinstance(last, StepStarted):
            where["model call"] += 1
        elif isinstance(last, PlanProduced | CodeProduced | ReviewProduced):
            where["between steps"] += 1
        elif isinstance(last, WorkflowCompleted):
            where["after the end"] += 1
    assert where == {
        "append": APPENDS - 1,
        "projection": 2 * RENAMES,
        "model call": 3,
        "between steps": 3,
        "after the end": 1,
    }, where


def test_a_run_torn_at_its_first_append_never_started(tmp_path: Path, script_file: Path) -> None:
    run_dir = tmp_path / "run"
    kill("append:1", run_dir, script_file)
    assert _cli("verify", run_dir, "--repair")[0] == 0
    code, _, err = _cli("resume", run_dir, "--script", script_file)
    assert code == 2
    assert "never started" in err and "run it again" in err


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
    """The log is intact; projections the kill cut short are reported, not a damaged log."""
    for o in outcomes:
        if not o.torn:
            events = len(o.before.splitlines())
            assert f": ok, {events} events" in o.verify_out, o.point
            stale = "projections differ from the log" in o.verify_out
            assert o.verify_rc == (1 if stale else 0), (o.point, o.verify_out)


def test_no_temp_file_is_left_after_resume(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        assert o.leftovers == [], o.point


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
    for o in outcomes[::3]:
        report = replay(o.run_dir)
        assert report.ok, (o.point, report.verdict)
