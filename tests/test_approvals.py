"""A person in the loop: gates park a run as an event, decisions are events, both replay."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import msgspec
import pytest
from _workflow import APPROVE, CODE, FAST, answer, kinds, of_type, scripted

from actors import Supervisor, fork, replay
from actors.approvals import DecisionRefused, decide, request_changes
from events import (
    ApprovalDecided,
    ApprovalRequested,
    ChangesRequested,
    CodeChange,
    FileChange,
    Plan,
    PlanStep,
    WorkflowFailed,
    artifact_digest,
)
from store import EventLog, WorkflowFold, workflow_state

TASK = "add a greeting module"
PLAN_GATE = msgspec.structs.replace(FAST, approve=("plan",))
CODE_GATE = msgspec.structs.replace(FAST, approve=("code",))
BOTH = msgspec.structs.replace(FAST, approve=("plan", "code"))
EDITED = Plan(summary="The edited plan", steps=(PlanStep(title="t", description="d"),))


def parked(run_dir: Path, config=PLAN_GATE) -> Path:  # type: ignore[no-untyped-def]
    result = Supervisor(config, model=scripted()).run(TASK, run_dir)
    assert result.waiting
    return run_dir


def test_a_plan_gate_parks_the_run_before_any_code(run_dir: Path) -> None:
    result = Supervisor(PLAN_GATE, model=scripted()).run(TASK, run_dir)
    assert result.status == "waiting"
    assert result.waiting_at is not None and result.waiting_at.step == "plan"
    assert kinds(run_dir)[-2:] == ["PlanProduced", "ApprovalRequested"]
    assert result.waiting_at.digest == artifact_digest(result.plan)  # type: ignore[arg-type]


def test_a_parked_run_holds_no_lock(run_dir: Path) -> None:
    parked(run_dir)
    EventLog(run_dir).writer().close()  # nothing holds the single-writer lock


def test_approving_the_plan_lets_the_run_finish(run_dir: Path) -> None:
    parked(run_dir)
    result = Supervisor.approve(run_dir, by="alice", comment="go", model=scripted())
    assert result.status == "completed"
    decided = of_type(run_dir, ApprovalDecided)
    assert [(d.decision, d.by, d.comment) for d in decided] == [("approved", "alice", "go")]


def test_an_approved_edit_becomes_the_plan_the_coder_sees(run_dir: Path) -> None:
    parked(run_dir)
    model = scripted()
    Supervisor.approve(run_dir, edit=EDITED, model=model)
    assert json.loads((run_dir / "plan.json").read_bytes())["summary"] == "The edited plan"
    coder = next(call for call in model.calls if call.step == "code")
    assert "The edited plan" in json.dumps(coder.messages)


def test_an_edit_with_a_hostile_path_is_refused_and_nothing_is_written(run_dir: Path) -> None:
    parked(run_dir, CODE_GATE)
    before = (run_dir / "events.jsonl").read_bytes()
    hostile = CodeChange(files=(FileChange(path="../../etc/passwd", content="x"),))
    with pytest.raises(
        DecisionRefused, match=r"files\[0\]\.path: unsafe path '\.\./\.\./etc/passwd'"
    ):
        decide(run_dir, "approved", edit=hostile)
    assert (run_dir / "events.jsonl").read_bytes() == before


def test_an_edit_of_the_wrong_artifact_is_refused(run_dir: Path) -> None:
    parked(run_dir)
    with pytest.raises(DecisionRefused, match="plan gate"):
        decide(run_dir, "approved", edit=CodeChange(files=()))


def test_a_stale_approval_is_refused_and_nothing_is_written(run_dir: Path) -> None:
    parked(run_dir)
    before = (run_dir / "events.jsonl").read_bytes()
    with pytest.raises(DecisionRefused, match="stale decision"):
        decide(run_dir, "approved", digest="sha256:" + "0" * 64)
    assert (run_dir / "events.jsonl").read_bytes() == before


def test_an_approval_naming_what_waits_is_taken(run_dir: Path) -> None:
    parked(run_dir)
    digest = workflow_state(EventLog(run_dir).read()).gates["plan"].digest
    assert decide(run_dir, "approved", digest=digest[:15]).decision == "approved"


def test_a_rejection_ends_the_run_as_failed(run_dir: Path) -> None:
    parked(run_dir)
    result = Supervisor.reject(run_dir, "wrong approach", by="bob", model=scripted())
    assert result.status == "failed"
    failed = of_type(run_dir, WorkflowFailed)[0]
    assert failed.error_kind == "rejected"
    assert failed.message == "the plan was rejected by bob: wrong approach"


def test_a_decision_for_a_run_that_does_not_wait_is_refused(run_dir: Path) -> None:
    Supervisor(FAST, model=scripted()).run(TASK, run_dir)
    with pytest.raises(DecisionRefused, match="not waiting for a person"):
        decide(run_dir, "approved")


def test_the_code_gate_waits_for_each_round(run_dir: Path) -> None:
    parked(run_dir, CODE_GATE)
    assert of_type(run_dir, ApprovalRequested)[0].step == "code"
    model = scripted(code=[answer(CODE), answer(CODE)])
    result = Supervisor.request_changes(run_dir, "add a docstring", by="carol", model=model)
    assert result.waiting  # round 1's code waits at the gate again
    assert [g.round for g in of_type(run_dir, ApprovalRequested)] == [0, 1]
    coder = [call for call in model.calls if call.step == "code"][-1]
    assert "add a docstring" in json.dumps(coder.messages)
    final = Supervisor.approve(run_dir, model=model)
    assert final.status == "completed"
    assert final.verdict == "approve"


def test_a_person_may_send_a_completed_run_back_to_the_coder(run_dir: Path) -> None:
    Supervisor(FAST, model=scripted()).run(TASK, run_dir)
    result = Supervisor.request_changes(run_dir, "handle an empty name", model=scripted())
    assert result.status == "completed"
    assert result.steps["code"].attempts == 1
    assert of_type(run_dir, ChangesRequested)[0].comment == "handle an empty name"
    assert kinds(run_dir).count("WorkflowCompleted") == 2


def test_changes_cannot_be_requested_at_the_plan_gate(run_dir: Path) -> None:
    parked(run_dir)
    with pytest.raises(DecisionRefused, match="waits at the plan gate"):
        request_changes(run_dir, "nope")


def test_resuming_a_waiting_run_leaves_it_waiting(run_dir: Path) -> None:
    parked(run_dir)
    before = (run_dir / "events.jsonl").read_bytes()
    assert Supervisor.resume(run_dir, model=scripted()).waiting
    assert (run_dir / "events.jsonl").read_bytes() == before


def test_two_people_deciding_at_once_one_wins(run_dir: Path) -> None:
    parked(run_dir)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def decide_as(who: str) -> None:
        start.wait()
        try:
            decide(run_dir, "approved", by=who)
            outcomes.append("won")
        except DecisionRefused as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=decide_as, args=(w,)) for w in ("ann", "ben")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("won") == 1
    lost = next(o for o in outcomes if o != "won")
    assert "writing this run right now" in lost or "not waiting for a person" in lost
    assert len(of_type(run_dir, ApprovalDecided)) == 1


def test_replay_reproduces_the_recorded_decisions(run_dir: Path) -> None:
    parked(run_dir, BOTH)
    model = scripted(code=[answer(CODE), answer(CODE)], review=[answer(APPROVE)])
    Supervisor.approve(run_dir, edit=EDITED, model=model)
    Supervisor.request_changes(run_dir, "rename it", model=model)
    Supervisor.approve(run_dir, by="dan", model=model)
    report = replay(run_dir)
    assert report.ok, report.verdict


def test_replay_of_a_waiting_run_stops_at_the_gate(run_dir: Path) -> None:
    parked(run_dir, BOTH)
    assert replay(run_dir).ok


def test_a_fork_taken_before_the_decision_asks_again(run_dir: Path, tmp_path: Path) -> None:
    parked(run_dir)
    Supervisor.approve(run_dir, model=scripted())
    asked = of_type(run_dir, ApprovalRequested)[0].seq
    result = fork(run_dir, at=asked, new_run_dir=tmp_path / "f", model=scripted())
    assert result.waiting
    assert not of_type(tmp_path / "f", ApprovalDecided)


def test_a_fork_taken_after_the_decision_keeps_it(run_dir: Path, tmp_path: Path) -> None:
    parked(run_dir)
    Supervisor.approve(run_dir, by="eve", model=scripted())
    decided = of_type(run_dir, ApprovalDecided)[0].seq
    result = fork(run_dir, at=decided, new_run_dir=tmp_path / "f", model=scripted())
    assert result.status == "completed"
    assert len(of_type(tmp_path / "f", ApprovalRequested)) == 1


def test_the_gates_are_in_the_recorded_config(run_dir: Path) -> None:
    parked(run_dir, BOTH)
    assert workflow_state(EventLog(run_dir).read()).config.approve == ("plan", "code")


def test_the_fold_of_a_run_with_gates_survives_a_dump_anywhere(run_dir: Path) -> None:
    parked(run_dir, BOTH)  # waits at the plan gate
    Supervisor.approve(run_dir, by="alice", edit=EDITED, model=scripted())  # then at code
    events = list(EventLog(run_dir).read())
    assert any(isinstance(ev, ApprovalDecided) for ev in events)
    whole = workflow_state(events)
    for cut in range(len(events) + 1):
        resumed = WorkflowFold.load(WorkflowFold().extend(events[:cut]).dump())
        assert resumed.extend(events[cut:]).snapshot() == whole, cut
