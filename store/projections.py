"""Projections: pure functions folding an event iterable into what callers want to know.

Each function reads the events once, in order, and keeps no state between calls, so a
projection rebuilt from the same log is always the same. ``UnknownEvent`` (a type from a
newer agentlog) never changes a projection; ``workflow_state`` only counts it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal

import msgspec

from events import (
    STEPS,
    CodeChange,
    CodeProduced,
    Event,
    Forked,
    ModelCalled,
    Plan,
    PlanProduced,
    Review,
    ReviewProduced,
    Step,
    StepFailed,
    StepSkipped,
    StepStarted,
    UnknownEvent,
    Usage,
    Verdict,
    WorkflowCompleted,
    WorkflowConfig,
    WorkflowFailed,
    WorkflowStarted,
)

__all__ = [
    "Artifacts",
    "ErrorInfo",
    "ForkOrigin",
    "StepState",
    "StepStats",
    "StepStatus",
    "WorkflowState",
    "WorkflowStatus",
    "artifacts",
    "step_stats",
    "total_stats",
    "workflow_state",
]

WorkflowStatus = Literal["pending", "running", "completed", "failed"]
StepStatus = Literal["pending", "running", "done", "failed", "skipped"]
Events = Iterable[Event | UnknownEvent]


class StepState(msgspec.Struct, frozen=True, kw_only=True):
    """One step as of the current revision round, plus its totals over every round.

    ``attempts``, ``failures``, ``failures_by_kind``, ``model_calls``, ``usage``,
    ``latency_ms``, ``first_ts`` and ``last_ts`` count the current round only; the
    ``total_*`` fields count all rounds (what ``stats`` reports).
    """

    step: Step
    status: StepStatus = "pending"
    attempts: int = 0
    failures: int = 0
    failures_by_kind: dict[str, int] = {}
    model_calls: int = 0
    usage: Usage = Usage()
    latency_ms: float = 0.0
    first_ts: str | None = None
    last_ts: str | None = None
    total_attempts: int = 0
    total_failures: int = 0
    total_model_calls: int = 0
    total_usage: Usage = Usage()
    total_latency_ms: float = 0.0


class ErrorInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The latest failure: of a step attempt (``StepFailed``) or of the workflow."""

    step: Step | None
    kind: str
    message: str
    seq: int


class ForkOrigin(msgspec.Struct, frozen=True, kw_only=True):
    """Where a forked run came from: the source log and how many events it shares."""

    source: str
    source_workflow_id: str
    at_seq: int


class WorkflowState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything ``workflow_state`` knows about a run; see that function for the rules."""

    workflow_id: str = ""
    task: str = ""
    config: WorkflowConfig = WorkflowConfig()
    status: WorkflowStatus = "pending"
    current_step: Step | None = None
    round: int = 0
    steps: dict[Step, StepState] = {}
    usage: Usage = Usage()
    model_calls: int = 0
    last_error: ErrorInfo | None = None
    verdict: Verdict | None = None
    last_seq: int = 0
    forked_from: ForkOrigin | None = None
    unknown_events: int = 0

    @property
    def done_steps(self) -> tuple[Step, ...]:
        """The steps finished successfully in the current round, in workflow order."""
        return tuple(s for s in STEPS if self.steps[s].status == "done")


class _StepAcc:
    """Mutable per-step accumulator of the fold; counters are cumulative over all rounds.

    The ``b_*`` fields hold the cumulative values when the current round began, so the
    round's own figures are ``cumulative - baseline`` and each event updates one counter.
    """

    __slots__ = (
        "attempts",
        "b_attempts",
        "b_calls",
        "b_cc",
        "b_cr",
        "b_failures",
        "b_in",
        "b_kinds",
        "b_latency",
        "b_out",
        "calls",
        "cc",
        "cr",
        "failures",
        "first_ts",
        "inp",
        "kinds",
        "last_ts",
        "latency",
        "out",
        "status",
    )

    def __init__(self) -> None:
        self.status: StepStatus = "pending"
        self.attempts = self.failures = self.calls = 0
        self.inp = self.out = self.cc = self.cr = 0
        self.latency = 0.0
        self.kinds: dict[str, int] = {}
        self.first_ts: str | None = None
        self.last_ts: str | None = None
        self.b_attempts = self.b_failures = self.b_calls = 0
        self.b_in = self.b_out = self.b_cc = self.b_cr = 0
        self.b_latency = 0.0
        self.b_kinds: dict[str, int] = {}

    def new_round(self) -> None:
        """Start a revision round: the step is pending again and round figures restart."""
        self.status = "pending"
        self.first_ts = self.last_ts = None
        self.b_attempts, self.b_failures, self.b_calls = self.attempts, self.failures, self.calls
        self.b_in, self.b_out, self.b_cc, self.b_cr = self.inp, self.out, self.cc, self.cr
        self.b_latency = self.latency
        self.b_kinds = dict(self.kinds)

    def freeze(self, step: Step) -> StepState:
        base = self.b_kinds
        round_kinds = {k: n - base.get(k, 0) for k, n in self.kinds.items()}
        return StepState(
            step=step,
            status=self.status,
            attempts=self.attempts - self.b_attempts,
            failures=self.failures - self.b_failures,
            failures_by_kind={k: n for k, n in round_kinds.items() if n},
            model_calls=self.calls - self.b_calls,
            usage=Usage(
                input_tokens=self.inp - self.b_in,
                output_tokens=self.out - self.b_out,
                cache_creation_input_tokens=self.cc - self.b_cc,
                cache_read_input_tokens=self.cr - self.b_cr,
            ),
            latency_ms=self.latency - self.b_latency,
            first_ts=self.first_ts,
            last_ts=self.last_ts,
            total_attempts=self.attempts,
            total_failures=self.failures,
            total_model_calls=self.calls,
            total_usage=Usage(
                input_tokens=self.inp,
                output_tokens=self.out,
                cache_creation_input_tokens=self.cc,
                cache_read_input_tokens=self.cr,
            ),
            total_latency_ms=self.latency,
        )


def workflow_state(events: Events) -> WorkflowState:
    """Fold a run's events into its current state.

    Rules, applied in log order:

    - ``WorkflowStarted`` sets workflow id, task and config; status becomes ``running``.
    - ``Forked`` records ``forked_from``; its ``task``/``config`` (when set) and its
      ``workflow_id`` (when non-empty) replace the started ones whatever the order of the
      two events; status becomes ``running`` (a fork continues live).
    - ``StepStarted`` with ``round`` above the current round starts a revision round:
      ``round`` takes the new value and the ``code`` and ``review`` step states reset to
      ``pending`` with zeroed round figures (``total_*`` keep counting). Then the step is
      ``running``, its attempt is counted and it becomes ``current_step``.
    - ``ModelCalled`` adds usage and latency to its step and counts a model call.
    - ``PlanProduced``/``CodeProduced``/``ReviewProduced`` mark their step ``done``;
      ``StepFailed`` marks it ``failed`` (a retry's ``StepStarted`` makes it ``running``
      again), counts the failure by ``error_kind`` and sets ``last_error``; ``StepSkipped``
      marks it ``skipped``. Each of these clears ``current_step`` if it names that step.
    - ``ReviewProduced`` sets ``verdict``; ``WorkflowCompleted`` sets status
      ``completed`` (and ``verdict`` if it carries one); ``WorkflowFailed`` sets status
      ``failed`` and ``last_error``. Both clear ``current_step``.
    - ``TestsRan`` changes nothing but ``last_seq``; ``UnknownEvent`` is only counted.

    ``last_seq`` is the seq of the last event; ``usage`` and ``model_calls`` are totals over
    all rounds. Written as one loop on ``type(ev) is ...`` with mutable locals because it
    runs on whole logs in the hot path of ``read`` + ``verify``.
    """
    accs: dict[Step, _StepAcc] = {s: _StepAcc() for s in STEPS}
    code_acc, review_acc = accs["code"], accs["review"]
    workflow_id = task = ""
    config = WorkflowConfig()
    status: WorkflowStatus = "pending"
    current: Step | None = None
    round_ = 0
    last_error: ErrorInfo | None = None
    verdict: Verdict | None = None
    last_seq = 0
    fork: Forked | None = None
    unknown = 0

    for ev in events:
        last_seq = ev.seq
        if type(ev) is ModelCalled:
            acc = accs[ev.step]
            acc.calls += 1
            u = ev.usage
            acc.inp += u.input_tokens
            acc.out += u.output_tokens
            acc.cc += u.cache_creation_input_tokens
            acc.cr += u.cache_read_input_tokens
            acc.latency += ev.latency_ms
            acc.last_ts = ev.ts
        elif type(ev) is StepStarted:
            if ev.round > round_:
                round_ = ev.round
                code_acc.new_round()
                review_acc.new_round()
            acc = accs[ev.step]
            acc.status = "running"
            acc.attempts += 1
            if acc.first_ts is None:
                acc.first_ts = ev.ts
            acc.last_ts = ev.ts
            current = ev.step
        elif type(ev) is StepFailed:
            acc = accs[ev.step]
            acc.status = "failed"
            acc.failures += 1
            acc.kinds[ev.error_kind] = acc.kinds.get(ev.error_kind, 0) + 1
            acc.last_ts = ev.ts
            last_error = ErrorInfo(step=ev.step, kind=ev.error_kind, message=ev.message, seq=ev.seq)
            if current == ev.step:
                current = None
        elif type(ev) is PlanProduced:
            acc = accs["plan"]
            acc.status = "done"
            acc.last_ts = ev.ts
            if current == "plan":
                current = None
        elif type(ev) is CodeProduced:
            code_acc.status = "done"
            code_acc.last_ts = ev.ts
            if current == "code":
                current = None
        elif type(ev) is ReviewProduced:
            review_acc.status = "done"
            review_acc.last_ts = ev.ts
            verdict = ev.review.verdict
            if current == "review":
                current = None
        elif type(ev) is StepSkipped:
            acc = accs[ev.step]
            acc.status = "skipped"
            acc.last_ts = ev.ts
            if current == ev.step:
                current = None
        elif type(ev) is WorkflowStarted:
            workflow_id, task, config = ev.workflow_id, ev.task, ev.config
            status = "running"
        elif type(ev) is Forked:
            fork = ev
            status = "running"
        elif type(ev) is WorkflowCompleted:
            status = "completed"
            if ev.verdict is not None:
                verdict = ev.verdict
            current = None
        elif type(ev) is WorkflowFailed:
            status = "failed"
            last_error = ErrorInfo(step=ev.step, kind=ev.error_kind, message=ev.message, seq=ev.seq)
            current = None
        elif type(ev) is UnknownEvent:
            unknown += 1

    forked_from: ForkOrigin | None = None
    if fork is not None:
        forked_from = ForkOrigin(
            source=fork.source, source_workflow_id=fork.source_workflow_id, at_seq=fork.at_seq
        )
        task = fork.task if fork.task is not None else task
        config = fork.config if fork.config is not None else config
        workflow_id = fork.workflow_id or workflow_id
    steps = {s: accs[s].freeze(s) for s in STEPS}
    return WorkflowState(
        workflow_id=workflow_id,
        task=task,
        config=config,
        status=status,
        current_step=current,
        round=round_,
        steps=steps,
        usage=_sum_usage(st.total_usage for st in steps.values()),
        model_calls=sum(st.total_model_calls for st in steps.values()),
        last_error=last_error,
        verdict=verdict,
        last_seq=last_seq,
        forked_from=forked_from,
        unknown_events=unknown,
    )


class Artifacts(msgspec.Struct, frozen=True, kw_only=True):
    """The latest artifact of each kind in a log (None: never produced)."""

    plan: Plan | None = None
    code: CodeChange | None = None
    review: Review | None = None


def artifacts(events: Events) -> Artifacts:
    """The latest plan, code change and review, by log order."""
    plan: Plan | None = None
    code: CodeChange | None = None
    review: Review | None = None
    for ev in events:
        if type(ev) is PlanProduced:
            plan = ev.plan
        elif type(ev) is CodeProduced:
            code = ev.code
        elif type(ev) is ReviewProduced:
            review = ev.review
    return Artifacts(plan=plan, code=code, review=review)


class StepStats(msgspec.Struct, frozen=True, kw_only=True):
    """What one step cost over every round and attempt (``step == "total"``: all steps).

    ``wall_ms`` sums, over the rounds the step ran in, the time from the round's first
    ``StepStarted`` to the event that finished its last attempt; a round still running
    adds nothing, and ``wall_ms`` is None when no round finished. ``usage_by_model`` lets
    cost be priced per model; ``models`` lists them in the order first seen.
    """

    step: str
    attempts: int = 0
    failures: int = 0
    failures_by_kind: dict[str, int] = {}
    wall_ms: float | None = None
    started_ts: str | None = None
    finished_ts: str | None = None
    model_calls: int = 0
    latency_ms: float = 0.0
    usage: Usage = Usage()
    models: tuple[str, ...] = ()
    usage_by_model: dict[str, Usage] = {}


class _StatsAcc:
    """Mutable per-step accumulator of ``step_stats``."""

    __slots__ = (
        "attempts",
        "calls",
        "failures",
        "kinds",
        "latency",
        "spans",
        "started",
        "usage",
    )

    def __init__(self) -> None:
        self.attempts = self.failures = self.calls = 0
        self.latency = 0.0
        self.kinds: dict[str, int] = {}
        self.usage: dict[str, list[int]] = {}
        # round -> [first StepStarted ts, ts of the event that finished the latest attempt]
        self.spans: dict[int, list[str | None]] = {}
        self.started = False


def step_stats(events: Events) -> list[StepStats]:
    """Per-step statistics over all rounds, in workflow order, for steps that appeared.

    A step appears once any event names it (started, called the model, finished, failed
    or skipped). Use :func:`total_stats` for the sum over steps.
    """
    accs: dict[Step, _StatsAcc] = {}

    def acc_for(step: Step) -> _StatsAcc:
        acc = accs.get(step)
        if acc is None:
            acc = accs[step] = _StatsAcc()
        return acc

    for ev in events:
        if type(ev) is ModelCalled:
            acc = acc_for(ev.step)
            acc.calls += 1
            acc.latency += ev.latency_ms
            tokens = acc.usage.get(ev.model)
            if tokens is None:
                tokens = acc.usage[ev.model] = [0, 0, 0, 0]
            u = ev.usage
            tokens[0] += u.input_tokens
            tokens[1] += u.output_tokens
            tokens[2] += u.cache_creation_input_tokens
            tokens[3] += u.cache_read_input_tokens
        elif type(ev) is StepStarted:
            acc = acc_for(ev.step)
            acc.attempts += 1
            span = acc.spans.get(ev.round)
            if span is None:
                acc.spans[ev.round] = [ev.ts, None]
            else:
                span[1] = None  # a new attempt: the round is unfinished again
        elif type(ev) is StepFailed:
            acc = acc_for(ev.step)
            acc.failures += 1
            acc.kinds[ev.error_kind] = acc.kinds.get(ev.error_kind, 0) + 1
            _finish(acc, ev.round, ev.ts)
        elif type(ev) is PlanProduced:
            _finish(acc_for("plan"), 0, ev.ts)
        elif type(ev) is CodeProduced:
            _finish(acc_for("code"), ev.round, ev.ts)
        elif type(ev) is ReviewProduced:
            _finish(acc_for("review"), ev.round, ev.ts)
        elif type(ev) is StepSkipped:
            acc_for(ev.step)
    return [_freeze_stats(s, accs[s]) for s in STEPS if s in accs]


def _finish(acc: _StatsAcc, round_: int, ts: str) -> None:
    span = acc.spans.get(round_)
    if span is not None:
        span[1] = ts


def _freeze_stats(step: Step, acc: _StatsAcc) -> StepStats:
    by_model = {
        model: Usage(
            input_tokens=t[0],
            output_tokens=t[1],
            cache_creation_input_tokens=t[2],
            cache_read_input_tokens=t[3],
        )
        for model, t in acc.usage.items()
    }
    wall: float | None = None
    started: str | None = None
    finished: str | None = None
    for first, last in acc.spans.values():
        if started is None:
            started = first
        if first is None or last is None:
            continue
        finished = last
        ms = _ms_between(first, last)
        if ms is not None:
            wall = ms if wall is None else wall + ms
    return StepStats(
        step=step,
        attempts=acc.attempts,
        failures=acc.failures,
        failures_by_kind=dict(acc.kinds),
        wall_ms=wall,
        started_ts=started,
        finished_ts=finished,
        model_calls=acc.calls,
        latency_ms=acc.latency,
        usage=_sum_usage(by_model.values()),
        models=tuple(by_model),
        usage_by_model=by_model,
    )


def total_stats(stats: Sequence[StepStats]) -> StepStats:
    """Sum per-step statistics into one row with ``step == "total"``.

    ``wall_ms`` is the sum of the steps' wall times (None if none finished);
    ``started_ts``/``finished_ts`` span the earliest start to the latest finish.
    """
    kinds: dict[str, int] = {}
    by_model: dict[str, list[Usage]] = {}
    walls = [s.wall_ms for s in stats if s.wall_ms is not None]
    for s in stats:
        for kind, n in s.failures_by_kind.items():
            kinds[kind] = kinds.get(kind, 0) + n
        for model, usage in s.usage_by_model.items():
            by_model.setdefault(model, []).append(usage)
    usage_by_model = {model: _sum_usage(us) for model, us in by_model.items()}
    starts = [s.started_ts for s in stats if s.started_ts is not None]
    ends = [s.finished_ts for s in stats if s.finished_ts is not None]
    return StepStats(
        step="total",
        attempts=sum(s.attempts for s in stats),
        failures=sum(s.failures for s in stats),
        failures_by_kind=kinds,
        wall_ms=sum(walls) if walls else None,
        started_ts=min(starts) if starts else None,
        finished_ts=max(ends) if ends else None,
        model_calls=sum(s.model_calls for s in stats),
        latency_ms=sum(s.latency_ms for s in stats),
        usage=_sum_usage(usage_by_model.values()),
        models=tuple(usage_by_model),
        usage_by_model=usage_by_model,
    )


def _sum_usage(usages: Iterable[Usage]) -> Usage:
    inp = out = cc = cr = 0
    for u in usages:
        inp += u.input_tokens
        out += u.output_tokens
        cc += u.cache_creation_input_tokens
        cr += u.cache_read_input_tokens
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        cache_creation_input_tokens=cc,
        cache_read_input_tokens=cr,
    )


def _ms_between(start: str, end: str) -> float | None:
    """Milliseconds from one RFC 3339 timestamp to another (None if either is unparsable)."""
    try:
        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except (ValueError, TypeError):
        return None
    return delta.total_seconds() * 1000.0
