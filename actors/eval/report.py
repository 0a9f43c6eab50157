"""``agentlog report``: what an evaluation directory measured, and how two compare.

Every run directory under the evaluation directory is read once: its hidden check
(the last :class:`~events.CheckRan`), its status, its tokens in the four input classes
and output, its cost (:func:`actors.pricing.cost_usd`), its model turns and its wall
time. The pass rate is over the checked runs, with a Wilson 95% interval. Two
directories are compared per task: a task passes when at least half of its checked
samples passed, and the tasks that flipped get McNemar's exact test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec

from actors.eval.stats import mcnemar_exact, wilson_interval
from actors.eval.tasks import split_sample_id
from events import CheckRan, Event, UnknownEvent, UsageError, tokens
from store import EventLog, WorkflowFold, step_stats, total_stats

__all__ = ["Comparison", "EvalReport", "RunRow", "TaskRow", "compare", "report"]


class RunRow(msgspec.Struct, frozen=True, kw_only=True):
    """One run (one sample of a task) of an evaluation."""

    id: str
    task_id: str
    sample: int
    status: str
    checked: bool
    passed: bool
    input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0
    tokens: int = 0
    cost_usd: float | None = None
    turns: int = 0
    seconds: float = 0.0


class TaskRow(msgspec.Struct, frozen=True, kw_only=True):
    """A task over its samples: how many were checked and passed, and their means."""

    task_id: str
    samples: int
    checked: int
    passed: int
    pass_rate: float | None
    tokens: float
    cost_usd: float | None
    turns: float
    seconds: float


class EvalReport(msgspec.Struct, frozen=True, kw_only=True):
    """An evaluation directory's table and totals (means are per run)."""

    dir: str
    runs: int
    checked: int
    passed: int
    pass_rate: float | None
    ci95: tuple[float, float]
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    output_tokens: int
    tokens: int
    cost_usd: float | None
    mean_tokens: float
    mean_cost_usd: float | None
    mean_turns: float
    mean_seconds: float
    tasks: tuple[TaskRow, ...]
    run_rows: tuple[RunRow, ...]


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    """Two evaluations over their common tasks: the flips and McNemar's exact p-value."""

    common_tasks: int
    fixed: tuple[str, ...]  # failed in the first, passed in the second
    regressed: tuple[str, ...]  # passed in the first, failed in the second
    p_value: float
    only_in_first: tuple[str, ...] = ()
    only_in_second: tuple[str, ...] = ()


def _run_dirs(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        raise UsageError(f"{root}: no such evaluation directory")
    for child in sorted(root.iterdir()):
        if not child.name.startswith(".") and (child / "events.jsonl").is_file():
            yield child


def _row(run: Path) -> RunRow:
    from actors.pricing import cost_usd

    fold = WorkflowFold()
    check: CheckRan | None = None

    def folded() -> Iterator[Event | UnknownEvent]:
        nonlocal check
        for ev in EventLog(run).read():
            fold.apply(ev)
            if type(ev) is CheckRan:
                check = ev
            yield ev

    total = total_stats(step_stats(folded()))
    task_id, sample = split_sample_id(run.name)
    usage = total.usage
    return RunRow(
        id=run.name,
        task_id=task_id,
        sample=sample,
        status=fold.snapshot().status,
        checked=check is not None,
        passed=check is not None and check.passed,
        input_tokens=usage.input_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens,
        cache_read_input_tokens=usage.cache_read_input_tokens,
        output_tokens=usage.output_tokens,
        tokens=tokens(usage),
        cost_usd=cost_usd(total.usage_by_model),
        turns=total.model_calls,
        seconds=round((total.wall_ms or 0.0) / 1000.0, 3),
    )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _cost(rows: list[RunRow]) -> float | None:
    costs = [r.cost_usd for r in rows]
    return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)


def _task(task_id: str, rows: list[RunRow]) -> TaskRow:
    checked = [r for r in rows if r.checked]
    passed = sum(r.passed for r in checked)
    cost = _cost(rows)
    return TaskRow(
        task_id=task_id,
        samples=len(rows),
        checked=len(checked),
        passed=passed,
        pass_rate=passed / len(checked) if checked else None,
        tokens=_mean([r.tokens for r in rows]),
        cost_usd=None if cost is None else cost / len(rows),
        turns=_mean([r.turns for r in rows]),
        seconds=_mean([r.seconds for r in rows]),
    )


def report(root: str | Path) -> EvalReport:
    """The report of the evaluation directory ``root`` (see the module docstring)."""
    path = Path(root)
    rows = [_row(run) for run in _run_dirs(path)]
    if not rows:
        raise UsageError(f"{path}: no runs in this directory (agentlog eval TASKS --runs-dir)")
    by_task: dict[str, list[RunRow]] = {}
    for row in rows:
        by_task.setdefault(row.task_id, []).append(row)
    checked = sum(r.checked for r in rows)
    passed = sum(r.passed for r in rows)
    cost = _cost(rows)
    return EvalReport(
        dir=str(path),
        runs=len(rows),
        checked=checked,
        passed=passed,
        pass_rate=passed / checked if checked else None,
        ci95=wilson_interval(passed, checked),
        input_tokens=sum(r.input_tokens for r in rows),
        cache_creation_input_tokens=sum(r.cache_creation_input_tokens for r in rows),
        cache_read_input_tokens=sum(r.cache_read_input_tokens for r in rows),
        output_tokens=sum(r.output_tokens for r in rows),
        tokens=sum(r.tokens for r in rows),
        cost_usd=None if cost is None else round(cost, 6),
        mean_tokens=_mean([r.tokens for r in rows]),
        mean_cost_usd=None if cost is None else cost / len(rows),
        mean_turns=_mean([r.turns for r in rows]),
        mean_seconds=_mean([r.seconds for r in rows]),
        tasks=tuple(_task(t, by_task[t]) for t in sorted(by_task)),
        run_rows=tuple(rows),
    )


def _task_passes(rep: EvalReport) -> dict[str, bool]:
    """Each checked task's outcome: passed when at least half its checked samples did."""
    return {t.task_id: 2 * t.passed >= t.checked for t in rep.tasks if t.checked}


def compare(first: EvalReport, second: EvalReport) -> Comparison:
    """The paired comparison of two evaluations over the tasks both checked."""
    a, b = _task_passes(first), _task_passes(second)
    common = sorted(a.keys() & b.keys())
    fixed = tuple(t for t in common if not a[t] and b[t])
    regressed = tuple(t for t in common if a[t] and not b[t])
    return Comparison(
        common_tasks=len(common),
        fixed=fixed,
        regressed=regressed,
        p_value=mcnemar_exact(len(regressed), len(fixed)),
        only_in_first=tuple(sorted(a.keys() - b.keys())),
        only_in_second=tuple(sorted(b.keys() - a.keys())),
    )
