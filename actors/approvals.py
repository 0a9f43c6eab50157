"""A person's decisions, appended to a run's log: approve, reject, request changes.

A run parks at a gate (``ApprovalRequested``) holding nothing: no process, no lock. A
decision is appended through the log's single-writer lock, after checking that the run
still waits at that gate and that the person decided about the artifact that waits
there (its digest); an edited artifact is validated first, so a refused decision writes
nothing. Continuing the run afterwards is the caller's choice (``Supervisor.approve``).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import msgspec

from events import (
    EXIT_USAGE,
    AgentlogError,
    ApprovalDecided,
    ChangesRequested,
    CodeChange,
    CodeProduced,
    Plan,
    PlanProduced,
)
from store import (
    EventLog,
    GateState,
    LogLocked,
    LogWriter,
    WorkflowState,
    resolve_log_path,
    workflow_state,
)
from store.paths import change_set_problem
from store.unsynced import move_before_continuing

__all__ = [
    "DecisionRefused",
    "current_user",
    "decide",
    "load_edit",
    "request_changes",
    "waiting_artifact",
    "waiting_hint",
]


class DecisionRefused(AgentlogError):
    """A decision that cannot be recorded as asked: nothing was written (exit 2)."""

    exit_code = EXIT_USAGE


def current_user() -> str:
    """Who decides when nobody says: the OS user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def waiting_artifact(run_dir: Path, gate: GateState) -> PlanProduced | CodeProduced | None:
    """The event holding what waits at ``gate``: the last plan or code produced before its
    ``ApprovalRequested`` (which itself holds only the digest)."""
    kind = PlanProduced if gate.step == "plan" else CodeProduced
    found: PlanProduced | CodeProduced | None = None
    for event in EventLog(run_dir).read():
        if event.seq >= gate.requested_seq:
            break
        if isinstance(event, kind):
            found = event
    return found


def _look_at(run_dir: Path, gate: GateState) -> str:
    """The command that shows what waits: ``diff`` for a workspace run's change, else
    ``show`` of the event holding the plan or code."""
    artifact = waiting_artifact(run_dir, gate)
    if isinstance(artifact, CodeProduced) and artifact.change is not None:
        return f"agentlog diff {run_dir}"
    seq = artifact.seq if artifact is not None else gate.requested_seq
    return f"agentlog show {run_dir} {seq}"


def waiting_hint(run_dir: Path, gate: GateState) -> str:
    """The lines that tell a person how to continue a run parked at ``gate``."""
    what = "the plan" if gate.step == "plan" else "the code"
    if gate.round:
        what += f" of revision round {gate.round}"
    lines = [
        f"waiting for a person: approve or reject {what} ({gate.digest[:19]})",
        f"  {_look_at(run_dir, gate)}      # {what} that waits",
        f"  agentlog approve {run_dir} [--edit FILE] [--comment TEXT]",
        f"  agentlog reject {run_dir} --comment TEXT",
    ]
    if gate.step == "code":
        lines.append(f"  agentlog review {run_dir} --request-changes TEXT")
    return "\n".join(lines)


def load_edit(path: str | Path, step: Literal["plan", "code"]) -> Plan | CodeChange:
    """An edited artifact from a JSON file, validated as the model's output would be."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise DecisionRefused(f"{file}: cannot read the edited {step}: {exc.strerror}") from None
    kind: type[Plan | CodeChange] = Plan if step == "plan" else CodeChange
    try:
        artifact = msgspec.json.decode(data, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise DecisionRefused(f"{file}: not a valid {step}: {exc}") from None
    _check(artifact, str(file))
    return artifact


def _check(artifact: Plan | CodeChange, where: str) -> None:
    """The checks every artifact passes before it is written: the schema (the msgspec
    type, on decoding) and, for code, the one path validator the writer also trusts."""
    if isinstance(artifact, CodeChange):
        found = change_set_problem([file.path for file in artifact.files])
        if found is not None:
            index, err = found
            raise DecisionRefused(f"{where}: files[{index}].path: {err}; nothing was written")


def _locked(run_dir: Path, exc: LogLocked) -> DecisionRefused:
    holder = f"process {exc.pid}" if exc.pid is not None else "another process"
    return DecisionRefused(
        f"{run_dir}: {holder} is writing this run right now (another decision, or the run "
        f"continuing after one); nothing was written. See `agentlog log {run_dir}`."
    )


@contextmanager
def _locked_state(path: Path) -> Iterator[tuple[LogWriter, WorkflowState]]:
    """The run's writer and its state, read under the lock: two people deciding at once
    cannot both find the run waiting."""
    log = EventLog(path)
    try:
        writer = log.writer()
    except LogLocked as exc:
        raise _locked(path, exc) from None
    with writer:
        move_before_continuing(log, writer)  # nothing is decided after lines no sync covered
        yield writer, workflow_state(log.read())


def _not_waiting(run_dir: Path, state: WorkflowState) -> DecisionRefused:
    decided = [g for g in state.gates.values() if g.decision is not None]
    if decided:
        last = max(decided, key=lambda g: g.decided_ts or "")
        said = f"; the {last.step} was {str(last.decision).replace('_', ' ')} by {last.by}"
    else:
        said = ""
    return DecisionRefused(
        f"{run_dir}: the run is not waiting for a person (it is {state.status}{said})"
    )


def decide(
    run_dir: str | Path,
    decision: Literal["approved", "rejected"],
    *,
    by: str | None = None,
    comment: str = "",
    edit: Plan | CodeChange | None = None,
    digest: str | None = None,
) -> ApprovalDecided:
    """Append a decision at the gate the run waits at; see the module docstring.

    ``digest`` (a prefix of at least 8 characters is enough) is the artifact the person
    looked at: a decision about anything but what waits now is refused.
    """
    path = _run_path(run_dir)
    with _locked_state(path) as (writer, state):
        gate = state.waiting_at
        if gate is None:
            raise _not_waiting(path, state)
        _check_digest(path, gate, digest)
        if edit is not None:
            if decision != "approved":
                raise DecisionRefused("only an approval can carry an edited artifact")
            expected = Plan if gate.step == "plan" else CodeChange
            if not isinstance(edit, expected):
                raise DecisionRefused(
                    f"the run waits at the {gate.step} gate: edit the {gate.step}"
                )
            _check(edit, "the edit")
        event = ApprovalDecided(
            workflow_id=state.workflow_id,
            actor="person",
            step=gate.step,
            round=gate.round,
            digest=gate.digest,
            decision=decision,
            by=by or current_user(),
            comment=comment,
            plan=edit if isinstance(edit, Plan) else None,
            code=edit if isinstance(edit, CodeChange) else None,
        )
        written: ApprovalDecided = writer.append(event)
    return written


def request_changes(
    run_dir: str | Path, comment: str, *, by: str | None = None
) -> ChangesRequested:
    """Append a person's review sending the work back to the Coder (a revision round).

    Allowed while the run waits at the code gate, or once it completed.
    """
    if not comment.strip():
        raise DecisionRefused("a review that requests changes needs a comment saying which")
    path = _run_path(run_dir)
    with _locked_state(path) as (writer, state):
        gate = state.waiting_at
        at_code_gate = gate is not None and gate.step == "code"
        if not (at_code_gate or state.status == "completed"):
            where = f"waits at the {gate.step} gate" if gate is not None else f"is {state.status}"
            raise DecisionRefused(
                f"{path}: changes can be requested while the run waits at the code gate or "
                f"once it completed; it {where}"
            )
        event = ChangesRequested(
            workflow_id=state.workflow_id,
            actor="person",
            round=state.round,
            by=by or current_user(),
            comment=comment,
        )
        written: ChangesRequested = writer.append(event)
    return written


def _check_digest(run_dir: Path, gate: GateState, digest: str | None) -> None:
    if digest is None:
        return
    given = digest if digest.startswith("sha256:") else f"sha256:{digest}"
    if len(given) < len("sha256:") + 8 or not gate.digest.startswith(given):
        raise DecisionRefused(
            f"{run_dir}: stale decision: you decided about {digest}, but what waits at the "
            f"{gate.step} gate now is {gate.digest[:19]}; look at it again "
            f"(`{_look_at(run_dir, gate)}`)"
        )


def _run_path(run_dir: str | Path) -> Path:
    return resolve_log_path(run_dir).parent
