"""Resume after a power cut that kept log lines without the run-pack records they name.

The log syncs the run pack, then itself, at each commit point, so lines written since the
last one can reach the disk before the records they name. Such a line and every line
after it are the unsynced tail (:mod:`store.unsynced`): no sync covered them. ``resume``
moves them aside itself, to ``events.jsonl.torn-N`` (the move ``verify --repair`` makes),
says so once, and redoes them; a log a live writer holds is never touched.

The cut is made by hand: a completed run whose pack loses the code step's request and
every record after it, the log keeping every line (written back ahead of the pack).
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest
import structlog
from _cli import cli, write_script
from _workflow import FAST, error, scripted

from actors import Supervisor
from actors.approvals import DecisionRefused
from events import AgentlogError, ApprovalDecided, ModelCalled, RetryRequested
from store import EventLog, LogLocked
from store.run_pack import PACK_NAME, scan_pack

TASK = "add a greeting module"
PLAN_GATE = msgspec.structs.replace(FAST, approve=("plan",))


def _cut_before_request(run_dir: Path, step: str) -> tuple[int, bytes]:
    """Cut the run so: its pack ends before the record of ``step``'s first request, its
    log keeps all its lines. The seq of the line naming that request, and the log's bytes
    from that line on (the unsynced tail)."""
    call = next(
        ev for ev in EventLog(run_dir).read() if isinstance(ev, ModelCalled) and ev.step == step
    )
    pack = run_dir / "objects" / PACK_NAME
    with pack.open("rb") as f:
        start, size = scan_pack(f.fileno()).records[call.request_digest]
    os.truncate(pack, start - len(f"{call.request_digest} {size}\n"))
    lines = (run_dir / "events.jsonl").read_bytes().splitlines(keepends=True)
    return call.seq, b"".join(lines[call.seq - 1 :])


def _cut_before_the_code_request(run_dir: Path) -> tuple[int, bytes]:
    """A completed run, cut before the code step's request (:func:`_cut_before_request`)."""
    Supervisor(FAST, model=scripted()).run(TASK, run_dir)
    return _cut_before_request(run_dir, "code")


def test_resume_moves_the_unsynced_tail_aside_and_completes(run_dir: Path) -> None:
    _, tail = _cut_before_the_code_request(run_dir)
    result = Supervisor.resume(run_dir, model=scripted())
    assert result.status == "completed"
    assert (run_dir / "events.jsonl.torn-1").read_bytes() == tail
    redone = [ev.step for ev in EventLog(run_dir).read() if isinstance(ev, ModelCalled)]
    assert redone == ["plan", "code", "review"]  # the code call redone, logged once


def test_resume_keeps_every_line_before_the_unsynced_tail(run_dir: Path) -> None:
    seq, _ = _cut_before_the_code_request(run_dir)
    lines = (run_dir / "events.jsonl").read_bytes().splitlines(keepends=True)
    Supervisor.resume(run_dir, model=scripted())
    assert (run_dir / "events.jsonl").read_bytes().startswith(b"".join(lines[: seq - 1]))


def test_resume_notes_the_move_once_naming_the_side_file_and_the_first_line(
    run_dir: Path,
) -> None:
    seq, _ = _cut_before_the_code_request(run_dir)
    with structlog.testing.capture_logs() as logs:
        Supervisor.resume(run_dir, model=scripted())
    notes = [entry for entry in logs if "events.jsonl.torn-1" in entry["event"]]
    assert len(notes) == 1, logs
    assert notes[0]["log_level"] == "warning"
    assert f"line {seq} names request of code call" in notes[0]["event"]
    assert notes[0]["from_line"] == seq


def test_resume_leaves_a_log_a_writer_holds_untouched(run_dir: Path) -> None:
    _cut_before_the_code_request(run_dir)
    before = (run_dir / "events.jsonl").read_bytes()
    with EventLog(run_dir).writer(), pytest.raises(LogLocked):
        Supervisor.resume(run_dir, model=scripted())
    assert (run_dir / "events.jsonl").read_bytes() == before
    assert not (run_dir / "events.jsonl.torn-1").exists()


def test_cli_resume_moves_the_tail_notes_it_on_stderr_once_and_exits_0(
    run_dir: Path, tmp_path: Path
) -> None:
    seq, tail = _cut_before_the_code_request(run_dir)
    done = cli("resume", run_dir, "--script", write_script(tmp_path / "script.json"))
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "events.jsonl.torn-1" in line]
    assert len(notes) == 1, done.stderr
    assert notes[0].startswith("agentlog: note: ")
    assert f"line {seq} names request of code call" in notes[0]
    assert (run_dir / "events.jsonl.torn-1").read_bytes() == tail
    assert cli("verify", run_dir).returncode == 0


def test_verify_without_repair_still_names_the_tail_and_exits_1(run_dir: Path) -> None:
    seq, _ = _cut_before_the_code_request(run_dir)
    done = cli("verify", run_dir)
    assert done.returncode == 1
    assert f"events.jsonl:{seq}: line {seq} names request of code call" in done.stdout
    assert not (run_dir / "events.jsonl.torn-1").exists()


def test_retry_moves_the_tail_first_and_finds_the_run_not_failed(run_dir: Path) -> None:
    failing = msgspec.structs.replace(FAST, max_retries=0)
    assert (
        Supervisor(failing, model=scripted(code=[error("bad_request")])).run(TASK, run_dir).status
        == "failed"
    )
    _, tail = _cut_before_request(run_dir, "plan")  # the failure is in the tail
    with pytest.raises(AgentlogError, match="has not ended; `agentlog resume"):
        Supervisor.retry(run_dir, model=scripted())
    assert (run_dir / "events.jsonl.torn-1").read_bytes() == tail
    assert not any(isinstance(ev, RetryRequested) for ev in EventLog(run_dir).read())


def test_a_decision_moves_the_tail_first_and_finds_nothing_waiting(run_dir: Path) -> None:
    assert Supervisor(PLAN_GATE, model=scripted()).run(TASK, run_dir).waiting
    _, tail = _cut_before_request(run_dir, "plan")  # the gate's request is in the tail
    with pytest.raises(DecisionRefused, match="not waiting"):
        Supervisor.approve(run_dir, by="alice", model=scripted())
    assert (run_dir / "events.jsonl.torn-1").read_bytes() == tail
    assert not any(isinstance(ev, ApprovalDecided) for ev in EventLog(run_dir).read())


def test_a_batch_resumes_a_run_whose_end_is_in_the_unsynced_tail(
    tmp_path: Path, run_dir: Path
) -> None:
    from actors.batch.runner import ModelSpec, run_one
    from actors.batch.tasks import BatchTask

    _, tail = _cut_before_the_code_request(run_dir)  # its WorkflowCompleted is in the tail
    script = write_script(tmp_path / "script.json")
    task = BatchTask(id=run_dir.name, task=TASK)
    done = run_one(task, run_dir.parent, FAST, ModelSpec(script=str(script)))
    assert (done.action, done.status) == ("resumed", "completed")
    assert (run_dir / "events.jsonl.torn-1").read_bytes() == tail


def test_cli_approve_notes_the_move_and_refuses_a_run_no_longer_waiting(run_dir: Path) -> None:
    assert Supervisor(PLAN_GATE, model=scripted()).run(TASK, run_dir).waiting
    seq, tail = _cut_before_request(run_dir, "plan")
    done = cli("approve", run_dir, "--by", "alice", "--no-continue")
    assert done.returncode == 2, done.stderr
    notes = [line for line in done.stderr.splitlines() if "events.jsonl.torn-1" in line]
    assert len(notes) == 1 and f"line {seq} names" in notes[0], done.stderr
    assert "not waiting" in done.stderr
    assert (run_dir / "events.jsonl.torn-1").read_bytes() == tail
