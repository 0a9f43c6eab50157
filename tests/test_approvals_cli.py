"""A person in the loop from the command line: gates exit 3, decisions from other processes.

Every run here answers from a model script (``--script``), so nothing needs a key or a
network; runs park, are decided and continued by separate ``agentlog`` processes, as a
person at a terminal (or a CI job) would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _cli import CLI, cli, write_script
from _workflow import CODE, answer, kinds

from events import ApprovalDecided, ChangesRequested, WorkflowStarted
from store import EventLog, workflow_state

KILLER = [sys.executable, str(Path(__file__).with_name("_killer.py"))]
PAUSED = [sys.executable, str(Path(__file__).with_name("_paused.py"))]
TASK = "add a greeting module"
WAIT = ("--approve", "plan", "--wait")


@pytest.fixture
def script(tmp_path: Path) -> Path:
    return write_script(tmp_path / "script.json")


def parked(run_dir: Path, script: Path, *gates: str) -> subprocess.CompletedProcess[str]:
    done = cli("run", TASK, "--run-dir", run_dir, "--script", script, *gates)
    assert done.returncode == 3, done.stderr
    return done


def started(run_dir: Path) -> WorkflowStarted:
    first = next(iter(EventLog(run_dir).read()))
    assert isinstance(first, WorkflowStarted)
    return first


def decisions(run_dir: Path) -> list[ApprovalDecided]:
    return [e for e in EventLog(run_dir).read() if isinstance(e, ApprovalDecided)]


def wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def logged(run_dir: Path, kind: str) -> bool:
    log = run_dir / "events.jsonl"
    return log.is_file() and kind in kinds(run_dir)


def test_a_gate_exits_3_and_prints_the_commands_to_continue(run_dir: Path, script: Path) -> None:
    done = parked(run_dir, script, "--approve", "plan")
    assert f"agentlog approve {run_dir}" in done.stdout
    assert f"agentlog reject {run_dir} --comment TEXT" in done.stdout
    assert kinds(run_dir)[-1] == "ApprovalRequested"


def test_approve_gates_are_recorded_in_the_config(run_dir: Path, script: Path) -> None:
    parked(run_dir, script, "--approve", "code", "--approve", "plan,code")
    assert started(run_dir).config.approve == ("code", "plan")


def test_an_unknown_gate_is_bad_usage(run_dir: Path, script: Path) -> None:
    done = cli("run", TASK, "--run-dir", run_dir, "--script", script, "--approve", "tests")
    assert done.returncode == 2
    assert "a gate is plan or code" in done.stderr
    assert not run_dir.exists()


def test_json_output_names_the_gate_the_run_waits_at(run_dir: Path, script: Path) -> None:
    done = cli("run", TASK, "--run-dir", run_dir, "--script", script, "--approve=plan", "--json")
    assert done.returncode == 3
    out = json.loads(done.stdout)
    assert out["status"] == "waiting"
    assert out["waiting_at"]["step"] == "plan"
    assert out["waiting_at"]["digest"].startswith("sha256:")


def test_resume_of_a_waiting_run_says_what_to_run_and_exits_3(run_dir: Path, script: Path) -> None:
    parked(run_dir, script, "--approve", "plan")
    before = (run_dir / "events.jsonl").read_bytes()
    done = cli("resume", run_dir, "--script", script)
    assert done.returncode == 3
    assert "parked at the plan gate" in done.stdout
    assert f"agentlog approve {run_dir}" in done.stdout
    assert (run_dir / "events.jsonl").read_bytes() == before


def test_a_fork_before_the_gate_asks_again_and_exits_3(
    tmp_path: Path, run_dir: Path, script: Path
) -> None:
    parked(run_dir, script, "--approve", "plan")
    cli("approve", run_dir, "--script", script).check_returncode()
    fork = tmp_path / "fork"
    done = cli("fork", run_dir, "--at", "2", "--run-dir", fork, "--script", script)
    assert done.returncode == 3, done.stderr
    assert workflow_state(EventLog(fork).read()).status == "waiting"


def test_approve_continues_the_run_to_its_end(run_dir: Path, script: Path) -> None:
    parked(run_dir, script, "--approve", "plan")
    done = cli("approve", run_dir, "--script", script, "--by", "alice", "--comment", "go")
    assert done.returncode == 0, done.stderr
    assert "alice approved the plan" in done.stdout
    assert "completed" in done.stdout
    assert [(d.by, d.comment) for d in decisions(run_dir)] == [("alice", "go")]


def test_approve_with_an_edited_plan_that_does_not_validate_writes_nothing(
    tmp_path: Path, run_dir: Path, script: Path
) -> None:
    parked(run_dir, script, "--approve", "plan")
    before = (run_dir / "events.jsonl").read_bytes()
    bad = tmp_path / "plan.json"
    bad.write_text(json.dumps({"summary": "no steps"}))
    done = cli("approve", run_dir, "--edit", bad, "--script", script)
    assert done.returncode == 2
    assert "not a valid plan" in done.stderr and "steps" in done.stderr
    assert (run_dir / "events.jsonl").read_bytes() == before


def test_a_stale_digest_is_refused(run_dir: Path, script: Path) -> None:
    parked(run_dir, script, "--approve", "plan")
    done = cli("approve", run_dir, "--digest", "sha256:00000000", "--no-continue")
    assert done.returncode == 2
    assert "stale decision" in done.stderr
    assert decisions(run_dir) == []


def test_reject_ends_the_run_as_failed(run_dir: Path, script: Path) -> None:
    parked(run_dir, script, "--approve", "plan")
    done = cli("reject", run_dir, "--comment", "wrong approach", "--script", script)
    assert done.returncode == 1, done.stderr
    assert workflow_state(EventLog(run_dir).read()).status == "failed"
    assert [d.decision for d in decisions(run_dir)] == ["rejected"]


def test_reject_needs_a_comment(run_dir: Path, script: Path) -> None:
    parked(run_dir, script, "--approve", "plan")
    assert cli("reject", run_dir).returncode == 2


def test_a_persons_review_sends_the_code_back_to_the_coder(tmp_path: Path, run_dir: Path) -> None:
    second = {**CODE, "notes": "second round"}
    script = write_script(tmp_path / "s.json", code=[answer(CODE), answer(second)])
    parked(run_dir, script, "--approve", "code")
    done = cli("review", run_dir, "--request-changes", "add a docstring", "--script", script)
    assert done.returncode == 3, done.stderr  # the second round's code waits again
    state = workflow_state(EventLog(run_dir).read())
    assert state.round == 1
    assert state.waiting_at is not None and state.waiting_at.round == 1
    asked = [e for e in EventLog(run_dir).read() if isinstance(e, ChangesRequested)]
    assert [c.comment for c in asked] == ["add a docstring"]


def test_deciding_a_run_that_waits_for_nothing_says_so(run_dir: Path, script: Path) -> None:
    cli("run", TASK, "--run-dir", run_dir, "--script", script).check_returncode()
    done = cli("approve", run_dir)
    assert done.returncode == 2
    assert "not waiting for a person (it is completed)" in done.stderr


def test_two_people_approving_at_once_one_wins(run_dir: Path, script: Path) -> None:
    parked(run_dir, script, "--approve", "plan")
    people = [
        subprocess.Popen(
            [*CLI, "approve", str(run_dir), "--no-continue", "--by", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("alice", "bob")
    ]
    outcomes = [(p.wait(timeout=60), p.stderr.read()) for p in people]  # type: ignore[union-attr]
    assert sorted(code for code, _ in outcomes) == [0, 2]
    loser = next(err for code, err in outcomes if code == 2)
    assert "is writing this run right now" in loser or "was approved by" in loser
    assert len(decisions(run_dir)) == 1


def test_park_and_approve_across_processes_survives_a_kill(run_dir: Path, script: Path) -> None:
    parked(run_dir, script, "--approve", "plan")  # process 1 exits 3
    approved = cli("approve", run_dir, "--no-continue", "--by", "alice")  # process 2
    assert approved.returncode == 0, approved.stderr
    assert "agentlog resume" in approved.stdout
    # Process 3 continues the run and is SIGKILLed right after its 3rd append.
    killed = subprocess.run(
        [*KILLER, "append:3+", "resume", str(run_dir), "--script", str(script)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    assert workflow_state(EventLog(run_dir).read()).status == "running"
    done = cli("resume", run_dir, "--script", script)
    assert done.returncode == 0, done.stderr
    events = list(EventLog(run_dir).read())
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert workflow_state(events).status == "completed"
    assert len(decisions(run_dir)) == 1
    assert kinds(run_dir).count("StepStarted") == 3  # plan, code, review: none redone


def _waiter(run_dir: Path, script: Path, delay: str = "0.05") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "run", TASK, "--run-dir", str(run_dir), "--script", str(script), *WAIT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AGENTLOG_SCRIPT_DELAY": delay},
    )


def test_run_wait_continues_once_a_decision_is_made_elsewhere(run_dir: Path, script: Path) -> None:
    waiter = _waiter(run_dir, script)
    try:
        wait_for(lambda: logged(run_dir, "ApprovalRequested"))
        assert waiter.poll() is None  # still waiting, not exited 3
        cli("approve", run_dir, "--no-continue", "--by", "bob").check_returncode()
        out, err = waiter.communicate(timeout=60)
    finally:
        waiter.kill()
    assert waiter.returncode == 0, err
    assert "waiting for a person at the plan gate" in out
    assert "bob approved the plan" in out
    assert workflow_state(EventLog(run_dir).read()).status == "completed"


def test_run_wait_follows_a_run_another_process_continues(run_dir: Path, script: Path) -> None:
    waiter = _waiter(run_dir, script)
    try:
        wait_for(lambda: logged(run_dir, "ApprovalRequested"))
        approved = cli("approve", run_dir, "--by", "bob", "--script", script)
        out, err = waiter.communicate(timeout=60)
    finally:
        waiter.kill()
    assert approved.returncode == 0, approved.stderr
    assert waiter.returncode == 0, err
    assert "ReviewProduced" in out  # the waiter showed the run to its end
    events = list(EventLog(run_dir).read())
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert workflow_state(events).status == "completed"


def test_approve_that_loses_the_lock_to_run_wait_leaves_the_run_to_it(
    tmp_path: Path, run_dir: Path, script: Path
) -> None:
    waiter = _waiter(run_dir, script, delay="0.5")  # holds the lock through slow calls
    try:
        wait_for(lambda: logged(run_dir, "ApprovalRequested"))
        barrier = tmp_path / "barrier"
        barrier.mkdir()
        # approve records its decision, then pauses just before continuing the run ...
        approver = subprocess.Popen(
            [
                *PAUSED,
                str(barrier),
                "approve",
                str(run_dir),
                "--by",
                "bob",
                "--script",
                str(script),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: (barrier / "paused").exists())
        # ... while the waiter sees the decision and takes the run on first.
        wait_for(lambda: kinds(run_dir).count("StepStarted") >= 2)
        (barrier / "go").touch()
        out, err = approver.communicate(timeout=60)
        assert approver.returncode == 0, err
        assert f"process {waiter.pid} continues the run" in out
        _, err = waiter.communicate(timeout=60)
    finally:
        waiter.kill()
    assert waiter.returncode == 0, err
    events = list(EventLog(run_dir).read())
    assert workflow_state(events).status == "completed"
    assert len(decisions(run_dir)) == 1
    assert kinds(run_dir).count("StepStarted") == 3  # plan, code, review: once each


def test_log_shows_who_decided_what(run_dir: Path, script: Path) -> None:
    parked(run_dir, script, "--approve", "plan")
    cli(
        "approve", run_dir, "--no-continue", "--by", "eve\x1b[2J", "--comment", "ok"
    ).check_returncode()
    out = cli("log", run_dir).stdout
    assert "waiting for a person to approve the plan sha256:" in out
    assert "approved the plan: ok" in out
    assert "\x1b[2J" not in out  # a name from the log is inert on a terminal


def test_stats_and_ls_show_a_waiting_run(run_dir: Path, script: Path) -> None:
    parked(run_dir, script, "--approve", "plan")
    assert "waiting for a person at the plan gate" in cli("stats", run_dir).stdout
    runs = json.loads(cli("ls", run_dir.parent, "--json").stdout)
    assert [r["status"] for r in runs] == ["waiting"]


def test_every_decision_command_has_help_with_an_example() -> None:
    for command in ("approve", "reject", "review"):
        done = cli(command, "--help")
        assert done.returncode == 0
        assert f"example:\n  agentlog {command} " in done.stdout
        assert "--json" in done.stdout and "--no-continue" in done.stdout
