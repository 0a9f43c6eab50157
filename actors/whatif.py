"""Counterfactual replay: ``agentlog replay RUN --as NEW`` with a changed model, prompt or setting.

The what-if is a real run in its own directory: the source's first event (through its
last ``Forked``, for a fork) copied byte for byte, then a ``Forked`` marker with
``what_if: true`` and the changed config. It is driven by the :class:`~actors.replaying
.Replayer`'s recording of the source: each request whose digest is the recorded one is
answered from the recording (and so are the source's test runs, loop command results,
failed calls and a person's decisions), until the first request that differs. There a
``Diverged`` event is logged (after that attempt's answer) and every later call is live;
with ``offline`` the run stops instead, without a final event, and ``agentlog resume``
can take it on live later. See ``docs/what-if.md``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

import msgspec

from actors.consent import Consent, check_continue
from actors.drivers import drivers
from actors.models import Model, ModelRequest, ModelResponse, NonDeterminism, ReplayModel
from actors.recording import Recording
from actors.replaying import copy_lines, read_recording
from actors.run_dir import check_no_run
from actors.supervisor import WorkflowResult, result_of
from actors.supervisor_actor import Listener, SupervisorActor, SupervisorOptions, new_workflow_id
from actors.testrun import require_sandbox
from events import (
    Diverged,
    Event,
    Forked,
    SandboxPolicy,
    Step,
    StepFailed,
    ToolResulted,
    UsageError,
    WorkflowConfig,
)
from store import LOG_NAME, EventLog, WorkflowFold
from store.cursor import EventCursor
from store.materialize import materialize
from store.objects import ObjectStore, share_objects

__all__ = ["AGENTS_PROMPTED", "WhatIfModel", "WhatIfResult", "changed_config", "what_if"]

#: The agents whose system prompt ``--prompt AGENT=FILE`` replaces.
AGENTS_PROMPTED = ("planner", "coder", "reviewer")
#: Settings ``--set`` may not change: they are the run's identity or have their own flag.
_NOT_SETTABLE = {"model", "prompts"}


class WhatIfModel:
    """Serves the source's recorded answers while each request is the recorded one, then
    the ``live`` model (None: offline, the first changed request raises NonDeterminism).

    ``divergence`` is the first difference; ``served`` and ``live_calls`` count the calls
    answered from the recording and live.
    """

    def __init__(self, recorded: ReplayModel, live: Model | None) -> None:
        self._recorded = recorded
        self._live = live
        self.name = live.name if live is not None else recorded.name
        self.divergence: NonDeterminism | None = None
        self._logged = False
        self.live_calls = 0
        self.served = 0
        self._lock = threading.Lock()

    @property
    def diverged(self) -> bool:
        """Whether a request differed from the recording (every later call is live)."""
        return self.divergence is not None

    def prepare(self) -> None:
        """Let the live model get ready (see ``SupervisorActor``'s ``_prepare``)."""
        prepare = getattr(self._live, "prepare", None)
        if callable(prepare):
            prepare()

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        """The recorded answer while the request is the recorded one, else a live call."""
        if not self.diverged:
            try:
                response = self._recorded.call(request, timeout=timeout)
            except NonDeterminism as exc:
                with self._lock:
                    if self.divergence is None:
                        self.divergence = exc
                if self._live is None:
                    raise
            else:
                with self._lock:
                    self.served += 1
                return response
        if self._live is None:  # offline, past the divergence: nothing may answer
            assert self.divergence is not None
            raise self.divergence
        with self._lock:
            self.live_calls += 1
        return self._live.call(request, timeout=timeout)

    def take_divergence(self) -> Diverged | None:
        """The ``Diverged`` event to log, once, after the divergence happened."""
        with self._lock:
            exc = self.divergence
            if exc is None or self._logged:
                return None
            self._logged = True
        return Diverged(
            step=cast(Step, exc.step),
            source_seq=exc.seq,
            recorded_digest=exc.expected,
            request_digest=exc.actual,
            reason=exc.reason,
            difference=exc.difference,
        )


class WhatIfResult(msgspec.Struct, frozen=True, kw_only=True):
    """How a what-if went: the new run's result, where it diverged, its live calls."""

    result: WorkflowResult
    diverged: Diverged | None
    served: int
    live_calls: int
    #: True when ``offline`` stopped the run at its first changed request.
    stopped: bool = False


def changed_config(
    config: WorkflowConfig,
    *,
    model: str | None = None,
    prompts: Mapping[str, str] | None = None,
    settings: Mapping[str, str] | None = None,
) -> WorkflowConfig:
    """``config`` with a new model, agents' system prompts and settings (``KEY=VALUE``
    strings: a value is read as JSON when it is JSON, else as text), each checked."""
    data: dict[str, Any] = msgspec.to_builtins(config)
    fields = set(data)
    for key, raw in (settings or {}).items():
        if key not in fields or key in _NOT_SETTABLE:
            known = ", ".join(sorted(fields - _NOT_SETTABLE))
            raise UsageError(f"--set {key}: no such workflow setting (one of: {known})")
        try:
            data[key] = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            data[key] = raw
    for agent in prompts or {}:
        if agent not in AGENTS_PROMPTED:
            raise UsageError(f"--prompt {agent}: the agents are {', '.join(AGENTS_PROMPTED)}")
    data["prompts"] = {**config.prompts, **(prompts or {})}
    if model:
        data["model"] = model
    try:
        return msgspec.convert(data, WorkflowConfig)
    except msgspec.ValidationError as exc:
        raise UsageError(f"--set: {exc}") from None


def what_if(
    source: str | Path,
    new_run_dir: str | Path,
    *,
    model: str | None = None,
    prompts: Mapping[str, str] | None = None,
    settings: Mapping[str, str] | None = None,
    live: Model | None = None,
    offline: bool = False,
    listeners: Iterable[Listener] = (),
    sandbox: SandboxPolicy | None = None,
    test_cmd: str | None = None,
    trust_log: bool = False,
) -> WhatIfResult:
    """Re-run ``source`` in ``new_run_dir`` with the changes, live from its first changed
    request (``live`` answers; ``offline`` stops there instead). The source is only read.

    ``sandbox``, ``test_cmd`` and ``trust_log`` allow what the source's log records, as
    for ``Supervisor.resume``: the what-if may run tests once it is live.
    """
    if not offline and live is None:
        raise ValueError("a what-if that may go live needs a live model (or offline=True)")
    log = EventLog(source)
    with EventCursor(log) as cursor:
        recorded = ReplayModel(objects=ObjectStore(log.path.parent), cursor=cursor)
        run = read_recording(log, cursor, recorded, scratch=False)
        state = run.state
        config = changed_config(state.config, model=model, prompts=prompts, settings=settings)
        if sandbox is not None or test_cmd is not None:
            config = msgspec.structs.replace(
                config,
                sandbox=sandbox or config.sandbox,
                test_cmd=config.test_cmd if test_cmd is None else test_cmd,
            )
        where = str(log.path.parent)
        consent = Consent(sandbox=sandbox, test_cmd=test_cmd, trust_log=trust_log)
        check_continue(where, config, state.workspace, consent)
        require_sandbox(config)
        out = Path(new_run_dir)
        check_no_run(out)
        at = max(1, state.own_from_seq - 1)  # the source's first event, or through its fork
        _start(log, out, at, state.workflow_id, config if config != state.config else None)
        model_ = WhatIfModel(recorded, None if offline else live)
        options = SupervisorOptions(recording=_what_if_recording(run.recording, model_))
        supervisor = SupervisorActor(out, model_, listeners=listeners, options=options)
        stopped = False
        try:
            final = drivers().submit(supervisor.run_here).result()
        except NonDeterminism:
            if not offline:
                raise
            stopped = True
            final = None
        first = _diverged(out)
        return WhatIfResult(
            result=result_of(out, final),
            diverged=first,
            served=model_.served,
            live_calls=model_.live_calls,
            stopped=stopped,
        )


def _start(
    source: EventLog, out: Path, at: int, workflow_id: str, config: WorkflowConfig | None
) -> None:
    """Make the what-if's directory: the source's objects, its first ``at`` lines, the
    marker, and the projections of what those lines made."""
    out.mkdir(parents=True, exist_ok=True)
    if (out / LOG_NAME).is_file():  # a run that never started: started over
        (out / LOG_NAME).unlink()
    share_objects(source.path.parent, out)
    copy_lines(source.path, out / LOG_NAME, at)
    marker = Forked(
        workflow_id=new_workflow_id(),
        source=str(source.path.parent.resolve()),
        source_workflow_id=workflow_id,
        at_seq=at,
        config=config,
        records_requests=True,
        what_if=True,
    )
    with EventLog(out).writer() as writer:
        writer.append(marker)
    fold = WorkflowFold()
    fold.extend(EventLog(out).read())
    materialize(out, fold.artifact_events())


def _what_if_recording(source: Recording, model: WhatIfModel) -> Recording:
    """The source's recording, served only until the what-if diverges; its seqs are one
    more than the source's (the marker), and its ``Diverged`` is logged when it comes."""

    def failures(step: Step, round_: int, attempt: int) -> StepFailed | None:
        if model.diverged or source.failures is None:
            return None
        return source.failures(step, round_, attempt)

    def evidence(step: Step, round_: int, attempt: int) -> tuple[Event, ...]:
        if model.diverged or source.evidence is None:
            return ()
        return source.evidence(step, round_, attempt)

    def served(step: Step, round_: int, attempt: int) -> dict[str, ToolResulted]:
        if model.diverged or source.served is None:
            return {}
        return source.served(step, round_, attempt)

    def noted(seq: int) -> list[Event]:
        diverged = model.take_divergence()
        if diverged is not None:
            return [diverged]
        if model.diverged or source.person is None:
            return []
        return source.person(seq - 1)

    return Recording(
        failures=failures,
        evidence=evidence,
        served=served,
        person=noted,
        stop_at=None,
        scratch=False,
        inline=False,
    )


def _diverged(run: Path) -> Diverged | None:
    """The run's ``Diverged`` event, if it has one."""
    for ev in EventLog(run).read():
        if isinstance(ev, Diverged):
            return ev
    return None
