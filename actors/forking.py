"""Forking a run: a new run whose log shares a source's first events and continues live.

The new log is the source's first ``at`` lines, copied byte for byte, then a ``Forked``
marker naming the source (absolute path, so it is found from anywhere), the new
workflow id, and the task and config changed from there on. Forks chain: the fold of
the new log keeps every earlier fork's task and config in force unless this one
changes them. The source is only read, and only up to the fork point.

The source's log is data, not permission (:mod:`actors.consent`): the fork's sandbox
and test command are the caller's (``sandbox``, ``test_cmd``) or, when it keeps the
log's, need its consent; a change is recorded in the ``Forked`` marker's config.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import msgspec

from actors.consent import Consent, check_continue
from actors.models import Model
from actors.replaying import copy_lines
from actors.run_dir import check_no_run
from actors.supervisor import Supervisor, WorkflowResult
from actors.supervisor_actor import Listener, new_workflow_id
from actors.testrun import require_sandbox
from events import Forked, SandboxPolicy, UsageError, WorkflowConfig
from store import LOG_NAME, EventLog, WorkflowFold
from store.materialize import materialize
from store.objects import OBJECTS_DIR, ObjectProblem, share_objects

__all__ = ["check_fork_point", "fork"]


def check_fork_point(path: Path, events: int, at: int) -> None:
    """Refuse a fork point outside the log's ``events`` events."""
    if not 1 <= at <= events:
        raise UsageError(f"{path}: --at must be between 1 and {events}, got {at}")


def fork(
    run_dir: str | Path,
    *,
    at: int,
    new_run_dir: str | Path | None = None,
    task: str | None = None,
    config: WorkflowConfig | None = None,
    overrides: Callable[[WorkflowConfig], WorkflowConfig] | None = None,
    model: Model | None = None,
    listeners: Iterable[Listener] = (),
    sandbox: SandboxPolicy | None = None,
    test_cmd: str | None = None,
    trust_log: bool = False,
) -> WorkflowResult:
    """Start a run sharing ``run_dir``'s first ``at`` events, continued live from there.

    ``task`` and ``config`` (or ``overrides``, a function of the configuration in force
    at the fork point) change the run from the fork point on; the source is only read.
    A ``model`` given is what the fork records as its model (``--script``'s
    ``scripted``, priced as nothing), unless ``config`` or ``overrides`` name another.
    ``sandbox`` and ``test_cmd`` set the fork's (and allow them); a ``sandbox: none`` or
    a test command that the resulting configuration takes from anywhere else (the log,
    ``config``) is refused unless they match it or ``trust_log`` is set, before anything
    is written.
    """
    source = EventLog(run_dir)
    fold = WorkflowFold()
    for ev in source.read():
        if ev.seq > at:
            break
        fold.apply(ev)
    if not 1 <= at <= fold.last_seq:
        events = fold.last_seq if at > 0 else source.verify().last_seq
        check_fork_point(source.path, events, at)
    state = fold.snapshot()
    new_config = config or (overrides(state.config) if overrides else None)
    chosen = new_config or state.config
    if model is not None and model.name != chosen.model == state.config.model:
        # The fork is answered by ``model``: it records (and is priced as) that model
        # unless a model was named for it, as a new run records its model's name.
        new_config = msgspec.structs.replace(chosen, model=model.name)
    if sandbox is not None or test_cmd is not None:
        new_config = msgspec.structs.replace(
            new_config or state.config,
            sandbox=sandbox or (new_config or state.config).sandbox,
            test_cmd=(new_config or state.config).test_cmd if test_cmd is None else test_cmd,
        )
    consent = Consent(sandbox=sandbox, test_cmd=test_cmd, trust_log=trust_log)
    where = str(source.path.parent)
    check_continue(where, new_config or state.config, state.workspace, consent)
    require_sandbox(new_config or state.config)  # refuse before writing the fork
    workflow_id = new_workflow_id()
    out = Path(new_run_dir or Path("runs") / workflow_id)
    check_no_run(out)
    if (out / LOG_NAME).is_file():  # a run that never started: the fork starts it over
        (out / LOG_NAME).unlink()
    made = [d for d in (out, out / OBJECTS_DIR) if not d.exists()]
    out.mkdir(parents=True, exist_ok=True)
    marker = Forked(
        workflow_id=workflow_id,
        source=str(source.path.parent.resolve()),
        source_workflow_id=state.workflow_id,
        at_seq=at,
        task=task,
        config=new_config if new_config is not None and new_config != state.config else None,
        records_requests=True,
    )
    try:  # a workspace's base, before the log names it; only bytes that match their names
        share_objects(source.path.parent, out)
    except ObjectProblem as exc:
        if made:  # leave nothing of a fork that was not made
            shutil.rmtree(made[0], ignore_errors=True)
        raise ObjectProblem(
            exc.path,
            f"{exc.reason}; no fork was made (`agentlog verify` names every damaged object)",
        ) from None
    copy_lines(source.path, out / LOG_NAME, at)
    with EventLog(out).writer() as writer:
        writer.append(marker)
    materialize(out, fold.artifact_events())
    return Supervisor.resume(
        out,
        model=model,
        listeners=listeners,
        sandbox=sandbox,
        test_cmd=test_cmd,
        trust_log=trust_log,
    )
