"""Durable execution on top of the log: deterministic replay and forking a run.

``replay`` re-runs the agents in a scratch directory against the recorded model answers
(no network) and compares the events that come out with the recorded ones, ignoring
``id`` and ``ts``. ``fork`` starts a new run whose log shares a source's first events and
continues live. Resuming is :meth:`actors.Supervisor.resume`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from actors.models import Model, NonDeterminism, ReplayModel
from actors.supervisor import DRIVE, EventListener, SupervisorActor, new_workflow_id
from actors.workflow import Supervisor, WorkflowResult
from events import (
    AgentlogError,
    Event,
    Forked,
    Step,
    TestsRan,
    UnknownEvent,
    WorkflowConfig,
    to_dict,
)
from store import LOG_NAME, EventLog, workflow_state
from store.materialize import materialize
from store.objects import share_objects

__all__ = ["ReplayReport", "check_fork_point", "first_difference", "fork", "replay"]

AnyEvent = Event | UnknownEvent
_IGNORED = ("id", "ts")


class ReplayReport(msgspec.Struct, frozen=True, kw_only=True):
    """The verdict of a replay: ``ok``, or the first event that came out differently."""

    ok: bool
    recorded: int
    replayed: int
    seq: int | None = None
    step: str | None = None
    detail: str = ""
    finished: bool = True

    @property
    def verdict(self) -> str:
        """One line for a terminal."""
        if self.ok:
            tail = "" if self.finished else " (the recorded run had not finished)"
            return f"replay ok: {self.replayed} events identical, no network{tail}"
        where = f"seq {self.seq}" if self.seq is not None else "the end"
        return f"NonDeterminism at {where} (step {self.step or '-'}): {self.detail}"


def _comparable(event: AnyEvent) -> dict[str, Any]:
    data = to_dict(event)
    for key in _IGNORED:
        data.pop(key, None)
    return data


def first_difference(
    recorded: Sequence[AnyEvent], replayed: Sequence[AnyEvent]
) -> tuple[int, str] | None:
    """The seq and a description of the first difference (ignoring ids and times), or None."""
    for old, new in zip(recorded, replayed, strict=False):
        a, b = _comparable(old), _comparable(new)
        if a != b:
            if a.get("type") != b.get("type"):
                return old.seq, f"recorded {a.get('type')}, replay produced {b.get('type')}"
            fields = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
            return old.seq, f"{a.get('type')} differs in {', '.join(fields)}"
    if len(recorded) != len(replayed):
        seq = min(len(recorded), len(replayed)) + 1
        return seq, f"recorded {len(recorded)} events, replay produced {len(replayed)}"
    return None


def _prefix_end(events: Sequence[AnyEvent]) -> int:
    """How many leading events a replay copies: through a ``Forked`` event, else one."""
    for i, ev in enumerate(events):
        if isinstance(ev, Forked):
            return i + 1
    return 1


def _evidence(events: Sequence[AnyEvent]) -> Callable[[Step, int, int], tuple[Event, ...]]:
    """The recorded test runs, served to the replayed Reviewer instead of running tests."""
    runs: dict[tuple[int, int], TestsRan] = {}
    attempt = 0
    for ev in events:
        if getattr(ev, "step", None) == "review" and hasattr(ev, "attempt"):
            attempt = ev.attempt
        if isinstance(ev, TestsRan):
            runs[(ev.round, attempt)] = ev

    def serve(step: Step, round_: int, attempt_: int) -> tuple[Event, ...]:
        found = runs.get((round_, attempt_)) if step == "review" else None
        return (_bare(found),) if found is not None else ()

    return serve


def _bare(event: Event) -> Event:
    return msgspec.structs.replace(event, seq=0, id="", ts="")


def _seed(path: Path, events: Iterable[AnyEvent]) -> None:
    """Write ``events`` to a new log at ``path`` as they are (ids and times kept)."""
    with EventLog(path).writer() as writer:
        writer.append_many([ev for ev in events if not isinstance(ev, UnknownEvent)])


def _copy_lines(source: Path, dest: Path, count: int) -> None:
    """Copy the first ``count`` lines of ``source`` to a new ``dest``, byte for byte."""
    with open(source, "rb") as src, open(dest, "xb") as dst:
        for _ in range(count):
            dst.write(src.readline())
        dst.flush()
        os.fsync(dst.fileno())


def replay(run_dir: str | Path) -> ReplayReport:
    """Re-run a recorded workflow against its own answers and compare the events."""
    recorded = list(EventLog(run_dir).read())
    if not recorded:
        raise AgentlogError(f"{run_dir}: the log is empty; nothing to replay")
    end = _prefix_end(recorded)
    # Only answers recorded after the copied prefix are replayed: a fork's copied calls
    # were made by its source and must not be served to the fork's own later requests.
    model = ReplayModel(recorded[end:])
    scratch = Path(tempfile.mkdtemp(prefix="agentlog-replay-"))
    try:
        _seed(scratch, recorded[:end])
        share_objects(EventLog(run_dir).path.parent, scratch, link_dir=True)  # the base
        ref = SupervisorActor.start(
            scratch,
            model,
            sleep=lambda _s: None,
            failures=model.recorded_failure,
            evidence=_evidence(recorded[end:]),
            mirror_convex=False,
            project=False,
            durable=False,
        )
        error: NonDeterminism | None = None
        try:
            ref.ask(DRIVE)
        except NonDeterminism as exc:
            error = exc
        finally:
            ref.stop()
        replayed = list(EventLog(scratch).read())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    finished = workflow_state(recorded).status in ("completed", "failed")
    # An unfinished recording (a killed run) is checked as a prefix of the replay: the
    # replay stops where the answers run out, or goes on past the recording's last event
    # when that was a ModelCalled whose artifact was never written.
    prefix = (
        not finished
        and len(replayed) > len(recorded)
        and first_difference(recorded, replayed[: len(recorded)]) is None
    )
    if prefix and (error is None or error.seq is None):
        return ReplayReport(ok=True, recorded=len(recorded), replayed=len(recorded), finished=False)
    if error is not None:
        return ReplayReport(
            ok=False,
            recorded=len(recorded),
            replayed=len(replayed),
            seq=error.seq,
            step=error.step,
            detail=error.reason,
        )
    diff = first_difference(recorded, replayed)
    if diff is None:
        return ReplayReport(ok=True, recorded=len(recorded), replayed=len(replayed))
    seq, detail = diff
    step = _step_of(recorded[seq - 1]) if seq <= len(recorded) else None
    return ReplayReport(
        ok=False, recorded=len(recorded), replayed=len(replayed), seq=seq, step=step, detail=detail
    )


def _step_of(event: AnyEvent) -> str | None:
    step: str | None = getattr(event, "step", None)
    return step


def check_fork_point(path: Path, events: int, at: int) -> None:
    """Refuse a fork point outside the log's ``events`` events."""
    if not 1 <= at <= events:
        raise AgentlogError(f"{path}: --at must be between 1 and {events}, got {at}")


def fork(
    run_dir: str | Path,
    *,
    at: int,
    new_run_dir: str | Path | None = None,
    task: str | None = None,
    config: WorkflowConfig | None = None,
    overrides: Callable[[WorkflowConfig], WorkflowConfig] | None = None,
    model: Model | None = None,
    listeners: Iterable[EventListener] = (),
) -> WorkflowResult:
    """Start a run sharing ``run_dir``'s first ``at`` events, continued live from there.

    ``task`` and ``config`` (or ``overrides``, a function of the source's configuration)
    change the run from the fork point on; the source is only read.
    """
    source = EventLog(run_dir)
    events = list(source.read(from_seq=1))
    check_fork_point(source.path, len(events), at)
    kept = events[:at]
    state = workflow_state(kept)
    new_config = config or (overrides(state.config) if overrides else None)
    workflow_id = new_workflow_id()
    out = Path(new_run_dir or Path("runs") / workflow_id)
    if (out / "events.jsonl").exists():
        raise AgentlogError(f"{out}: already holds a run; choose another --run-dir")
    out.mkdir(parents=True, exist_ok=True)
    marker = Forked(
        workflow_id=workflow_id,
        source=str(source.path.parent),
        source_workflow_id=state.workflow_id,
        at_seq=at,
        task=task,
        config=new_config if new_config != state.config else None,
    )
    share_objects(source.path.parent, out)  # a workspace's base, before the log names it
    _copy_lines(source.path, out / LOG_NAME, at)
    with EventLog(out).writer() as writer:
        writer.append(marker)
    materialize(out, EventLog(out).read())
    return Supervisor.resume(out, model=model, listeners=listeners)
