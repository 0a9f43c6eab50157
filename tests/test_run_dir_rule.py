"""One rule for where a run may start, and ``run --wait``'s policy on the run handle."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from _workflow import FAST, kinds, scripted

from actors import Supervisor, fork
from actors.approvals import decide
from actors.run_dir import check_new_run_dir, check_no_run
from events import AgentlogError, Event, UsageError
from store import EventLog, GateState

PLAN_GATE = msgspec.structs.replace(FAST, approve=("plan",))


def test_a_run_waiting_for_a_decision_made_elsewhere_goes_on_once_it_is_made(
    run_dir: Path,
) -> None:
    gates: list[GateState] = []
    followed: list[Event] = []

    def person_decides(gate: GateState) -> None:  # as `agentlog approve --no-continue` does
        gates.append(gate)
        decide(run_dir, "approved", by="alice")

    handle = Supervisor(PLAN_GATE, model=scripted()).start("a task", run_dir)
    result = handle.result_when_decided(on_event=followed.append, on_gate=person_decides)
    assert result.status == "completed"
    assert [g.step for g in gates] == ["plan"]
    assert [type(e).__name__ for e in followed] == ["ApprovalDecided"]  # not this process's
    assert kinds(run_dir).count("WorkflowCompleted") == 1


def test_a_run_without_a_gate_is_simply_waited_for(run_dir: Path) -> None:
    handle = Supervisor(FAST, model=scripted()).start("a task", run_dir)
    assert handle.result_when_decided().status == "completed"


def test_a_fork_may_go_where_a_run_never_started(tmp_path: Path) -> None:
    source = tmp_path / "source"
    Supervisor(FAST, model=scripted()).run("a task", source)
    cut = tmp_path / "cut"  # killed before its first event: an empty log, nothing more
    cut.mkdir()
    (cut / "events.jsonl").write_bytes(b"")
    result = fork(source, at=3, new_run_dir=cut, model=scripted())
    assert result.status == "completed"
    assert kinds(cut)[3] == "Forked"


def test_a_directory_whose_empty_log_a_writer_holds_is_a_run_starting_now(tmp_path: Path) -> None:
    starting = tmp_path / "starting"
    starting.mkdir()
    with EventLog(starting).writer():  # opened, nothing written yet
        with pytest.raises(UsageError, match="a run is starting there now"):
            check_no_run(starting)
        with pytest.raises(UsageError, match="a run is starting there now"):
            check_new_run_dir(starting)
        with pytest.raises(AgentlogError, match="a run is starting there now"):
            Supervisor(FAST, model=scripted()).start("a task", starting)
