"""What each step cost: attempts, failures, wall time, model calls, tool calls, tokens per
model."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from events import (
    STEPS,
    CodeProduced,
    Event,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    Step,
    StepFailed,
    StepSkipped,
    StepStarted,
    ToolCalled,
    UnknownEvent,
    Usage,
)

__all__ = ["StepStats", "step_stats", "total_stats"]


class StepStats(msgspec.Struct, frozen=True, kw_only=True):
    """What one step cost over every round and attempt (``step == "total"``: all steps).

    ``wall_ms`` sums, over the rounds the step ran in, the time from the round's first
    ``StepStarted`` to the event that finished its last attempt; a round still running
    adds nothing, and ``wall_ms`` is None when no round finished. ``usage_by_model`` lets
    cost be priced per model; ``models`` lists them in the order first seen.
    ``tool_calls`` counts an agent loop's tool calls (``ToolCalled``) in the step.
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
    tool_calls: int = 0


class _StatsAcc:
    """Mutable per-step accumulator of ``step_stats``.

    Rounds follow one another, so only the current round's span is open; a finished one
    is added to the totals when the next round starts (flat memory over any number).
    """

    __slots__ = (
        "attempts",
        "calls",
        "failures",
        "finished",
        "kinds",
        "latency",
        "round",
        "span",
        "started",
        "tools",
        "usage",
        "wall",
    )

    def __init__(self) -> None:
        self.attempts = self.failures = self.calls = self.tools = 0
        self.latency = 0.0
        self.kinds: dict[str, int] = {}
        self.usage: dict[str, Usage] = {}
        # The current round: its first StepStarted ts, and the ts of the event that
        # finished its latest attempt (None while one runs).
        self.round: int | None = None
        self.span: list[str | None] = [None, None]
        self.wall: float | None = None
        self.started: str | None = None
        self.finished: str | None = None

    def start(self, round_: int, ts: str) -> None:
        if round_ != self.round:
            self.close()
            self.round, self.span = round_, [ts, None]
            if self.started is None:
                self.started = ts
        else:
            self.span[1] = None  # a new attempt: the round is unfinished again

    def finish(self, round_: int, ts: str) -> None:
        if round_ == self.round:
            self.span[1] = ts

    def close(self) -> None:
        """Add the current round to the totals, if it finished."""
        first, last = self.span
        self.span = [None, None]
        if first is None or last is None:
            return
        self.finished = last
        ms = _ms_between(first, last)
        if ms is not None:
            self.wall = ms if self.wall is None else self.wall + ms


def step_stats(events: Iterable[Event | UnknownEvent]) -> list[StepStats]:
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
            acc.usage[ev.model] = acc.usage.get(ev.model, Usage()) + ev.usage
        elif type(ev) is ToolCalled:
            acc_for(ev.step).tools += 1
        elif type(ev) is StepStarted:
            acc = acc_for(ev.step)
            acc.attempts += 1
            acc.start(ev.round, ev.ts)
        elif type(ev) is StepFailed:
            acc = acc_for(ev.step)
            acc.failures += 1
            acc.kinds[ev.error_kind] = acc.kinds.get(ev.error_kind, 0) + 1
            acc.finish(ev.round, ev.ts)
        elif type(ev) is PlanProduced:
            acc_for("plan").finish(0, ev.ts)
        elif type(ev) is CodeProduced:
            acc_for("code").finish(ev.round, ev.ts)
        elif type(ev) is ReviewProduced:
            acc_for("review").finish(ev.round, ev.ts)
        elif type(ev) is StepSkipped:
            acc_for(ev.step)
    return [_freeze(s, accs[s]) for s in STEPS if s in accs]


def _freeze(step: Step, acc: _StatsAcc) -> StepStats:
    acc.close()
    wall, started, finished = acc.wall, acc.started, acc.finished
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
        usage=Usage.sum(acc.usage.values()),
        models=tuple(acc.usage),
        usage_by_model=dict(acc.usage),
        tool_calls=acc.tools,
    )


def total_stats(stats: Sequence[StepStats]) -> StepStats:
    """Sum per-step statistics into one row with ``step == "total"``.

    ``wall_ms`` is the sum of the steps' wall times (None if none finished);
    ``started_ts``/``finished_ts`` span the earliest start to the latest finish.
    """
    kinds: dict[str, int] = {}
    by_model: dict[str, Usage] = {}
    walls = [s.wall_ms for s in stats if s.wall_ms is not None]
    for s in stats:
        for kind, n in s.failures_by_kind.items():
            kinds[kind] = kinds.get(kind, 0) + n
        for model, usage in s.usage_by_model.items():
            by_model[model] = by_model.get(model, Usage()) + usage
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
        usage=Usage.sum(by_model.values()),
        models=tuple(by_model),
        usage_by_model=by_model,
        tool_calls=sum(s.tool_calls for s in stats),
    )


def _ms_between(start: str, end: str) -> float | None:
    """Milliseconds from one RFC 3339 timestamp to another (None if either is unparsable)."""
    try:
        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except (ValueError, TypeError):
        return None
    return delta.total_seconds() * 1000.0
