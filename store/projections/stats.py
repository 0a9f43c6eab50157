"""What each step cost: attempts, failures, wall time, model calls, tool calls, tokens per
model."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import islice
from typing import Any, cast

import msgspec
from msgspec.structs import astuple

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

__all__ = ["StepStats", "StepTally", "step_stats", "total_stats"]

_USAGE_FIELDS = Usage.__struct_fields__


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
        "block_usage",
        "calls",
        "failures",
        "finished",
        "first",
        "kinds",
        "last",
        "latency",
        "round",
        "seen",
        "started",
        "tools",
        "usage",
        "wall",
    )

    def __init__(self) -> None:
        self.seen = False  # whether any event named the step
        self.attempts = self.failures = self.calls = self.tools = 0
        self.latency = 0.0
        self.kinds: dict[str, int] = {}
        self.usage: dict[str, Usage] = {}
        # The usages of the block being folded, by model (summed into ``usage`` after it).
        self.block_usage: dict[str, list[Usage]] = {}
        # The current round: its first StepStarted ts, and the ts of the event that
        # finished its latest attempt (None while one runs).
        self.round: int | None = None
        self.first: str | None = None
        self.last: str | None = None
        self.wall: float | None = None
        self.started: str | None = None
        self.finished: str | None = None

    def start(self, round_: int, ts: str) -> None:
        """A round starts (``round_`` is not the current one): the current one closes."""
        self.wall, self.finished = self.ended()
        self.round, self.first, self.last = round_, ts, None
        if self.started is None:
            self.started = ts

    def sum_usage(self) -> None:
        """Add the block's usages to ``usage`` (one sum per field and model, in C)."""
        usage = self.usage
        for model, usages in self.block_usage.items():
            total = _usage_sum(usages)
            before = usage.get(model)
            usage[model] = total if before is None else before + total
        self.block_usage = {}

    def ended(self) -> tuple[float | None, str | None]:
        """The wall time and the last finish with the current round added, if it finished
        (nothing changes: the fold may go on)."""
        first, last = self.first, self.last
        if first is None or last is None:
            return self.wall, self.finished
        ms = _ms_between(first, last)
        if ms is None:
            return self.wall, last
        return (ms if self.wall is None else self.wall + ms), last


class StepTally:
    """:func:`step_stats` folded a block of events at a time (:meth:`extend`), for a reader
    that folds other projections in the same pass (the viewer's overview); :meth:`stats`
    gives what :func:`step_stats` returns for the events folded so far."""

    __slots__ = ("_accs", "_models")

    def __init__(self) -> None:
        self._accs: dict[Step, _StatsAcc] = {s: _StatsAcc() for s in STEPS}
        self._models: dict[str, None] = {}  # every model called, in the order first seen

    def extend(
        self, events: Sequence[Event | UnknownEvent], types: Iterable[type] | None = None
    ) -> None:
        """Fold ``events`` in log order (the dispatch inlined: a whole log passes);
        ``types``: the type of each, when the caller has them."""
        accs, models = self._accs, self._models
        plan, code, review = accs["plan"], accs["code"], accs["review"]
        if types is None:
            types = map(type, events)
        # Any: each branch below reads the fields of the one type it tests for.
        for ev, t in zip(cast("Iterable[Any]", events), types, strict=True):
            if t is StepStarted:
                acc = accs[ev.step]
                acc.seen = True
                acc.attempts += 1
                if ev.round == acc.round:
                    acc.last = None  # a new attempt: the round is unfinished again
                else:
                    acc.start(ev.round, ev.ts)
            elif t is ModelCalled:
                acc = accs[ev.step]
                acc.seen = True
                acc.calls += 1
                acc.latency += ev.latency_ms
                calls = acc.block_usage.get(ev.model)
                if calls is None:
                    acc.block_usage[ev.model] = [ev.usage]
                    models.setdefault(ev.model)
                else:
                    calls.append(ev.usage)
            elif t is StepFailed:
                acc = accs[ev.step]
                acc.seen = True
                acc.failures += 1
                kinds = acc.kinds
                kinds[ev.error_kind] = kinds.get(ev.error_kind, 0) + 1
                if ev.round == acc.round:  # the round's latest attempt ended
                    acc.last = ev.ts
            elif t is PlanProduced:
                plan.seen = True
                if plan.round == 0:
                    plan.last = ev.ts
            elif t is CodeProduced:
                code.seen = True
                if ev.round == code.round:
                    code.last = ev.ts
            elif t is ReviewProduced:
                review.seen = True
                if ev.round == review.round:
                    review.last = ev.ts
            elif t is ToolCalled:
                acc = accs[ev.step]
                acc.seen = True
                acc.tools += 1
            elif t is StepSkipped:
                accs[ev.step].seen = True
        for acc in accs.values():
            if acc.block_usage:
                acc.sum_usage()

    def usage_by_model(self) -> dict[str, Usage]:
        """Every model call's usage summed by model over all steps, the models in the
        order first called."""
        accs = self._accs.values()
        return {
            model: Usage.sum(acc.usage[model] for acc in accs if model in acc.usage)
            for model in self._models
        }

    def stats(self) -> list[StepStats]:
        """Per-step statistics of the events folded, as :func:`step_stats` gives them."""
        accs = self._accs
        return [_freeze(s, accs[s]) for s in STEPS if accs[s].seen]


def step_stats(events: Iterable[Event | UnknownEvent]) -> list[StepStats]:
    """Per-step statistics over all rounds, in workflow order, for steps that appeared.

    A step appears once any event names it (started, called the model, finished, failed
    or skipped). Use :func:`total_stats` for the sum over steps.
    """
    tally, stream = StepTally(), iter(events)
    while block := list(islice(stream, 4096)):  # a stream is folded in flat memory
        tally.extend(block)
    return tally.stats()


def _freeze(step: Step, acc: _StatsAcc) -> StepStats:
    wall, finished = acc.ended()
    started = acc.started
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


def _usage_sum(usages: list[Usage]) -> Usage:
    """The sum of ``usages``: each field's column summed (no Python step per usage)."""
    columns = map(sum, zip(*map(astuple, usages), strict=True))
    return Usage(**dict(zip(_USAGE_FIELDS, columns, strict=True)))


def _ms_between(start: str, end: str) -> float | None:
    """Milliseconds from one RFC 3339 timestamp to another (None if either is unparsable)."""
    try:
        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except (ValueError, TypeError):
        return None
    return delta.total_seconds() * 1000.0
