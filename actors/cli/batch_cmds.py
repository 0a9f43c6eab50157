"""``agentlog batch``: many runs from a JSONL tasks file, with progress and a summary."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import msgspec

from actors.batch import Batch, BatchTask, ModelSpec, RunOutcome
from actors.cli.args import engine_args
from actors.cli.progress import counter_bar, counter_lines
from actors.cli.run_cmds import config_from_args
from actors.cli.streams import say
from actors.cli.terminal import inert, plural
from events import UsageError, WorkflowConfig

__all__ = ["args_batch", "cmd_batch"]


class _Tally:
    """Running totals for the progress display; updated from worker threads.

    ``show`` gets each change (what happened, then the totals) under the tally's lock, so
    the lines it prints count in order.
    """

    def __init__(self, total: int, show: Callable[[str, str], None]) -> None:
        self.total = total
        self.done = self.failed = self.running = self.tokens = 0
        self.cost = 0.0
        self._lock = threading.Lock()
        self._show = show

    def started(self, task: BatchTask) -> None:
        with self._lock:
            self.running += 1
            self._show(f"{inert(task.id)} started", self.line())

    def ended(self, outcome: RunOutcome) -> None:
        with self._lock:
            self.running -= 1
            self.done += 1
            self.failed += not outcome.ok
            self.tokens += outcome.tokens
            self.cost += outcome.cost_usd or 0.0
            how = f" ({outcome.action})" if outcome.action != "started" else ""
            self._show(f"{inert(outcome.id)} {outcome.status}{how}", self.line())

    def line(self) -> str:
        return (
            f"{self.done}/{self.total} done · {self.failed} failed · {self.running} running · "
            f"{self.tokens:,} tokens · ${self.cost:.4f}"
        )


def _model(args: argparse.Namespace) -> ModelSpec:
    script = args.script or os.environ.get("AGENTLOG_SCRIPT")
    if script:
        return ModelSpec(
            script=str(Path(script).resolve()),
            delay=float(os.environ.get("AGENTLOG_SCRIPT_DELAY", 0)),
        )
    return ModelSpec()


def _require_key(batch: Batch) -> None:
    """Ask for a key only when some run of the batch is still to start or resume.

    The tasks file and the options were checked when the batch was built; a batch whose
    runs all ended (or wait for a person) makes no model call, so it needs no key.
    """
    if batch.model.script is not None:
        return
    if os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN"):
        return
    if any(_unfinished(batch.runs_dir / task.id) for task in batch.tasks):
        raise UsageError("no API key: set ANTHROPIC_API_KEY (or pass --script FILE)")


def _unfinished(run_dir: Path) -> bool:
    """True when the batch would start or resume this run (see ``run_one``)."""
    from store import EventLog, workflow_state

    log = EventLog(run_dir)
    if not log.path.is_file() or log.path.stat().st_size == 0:
        return True
    return workflow_state(log.read()).status not in ("completed", "failed", "waiting")


def _summary(outcomes: list[RunOutcome]) -> None:
    width = max((len(o.id) for o in outcomes), default=2)
    say(f"{'id':<{width}}  {'status':<9} {'verdict':<15} {'action':<8} {'tokens':>9} {'cost':>9}")
    for o in sorted(outcomes, key=lambda o: o.id):
        cost = f"${o.cost_usd:.4f}" if o.cost_usd is not None else "-"
        say(
            f"{o.id:<{width}}  {o.status:<9} {o.verdict or '-':<15} {o.action:<8} "
            f"{o.tokens:>9,} {cost:>9}"
        )
        if o.error:
            say(f"{'':<{width}}  {inert(o.error)}")
    waiting = sum(o.status == "waiting" for o in outcomes)
    failed = sum(not o.ok for o in outcomes) - waiting
    tail = f", {waiting} waiting for a person (agentlog approve RUN)" if waiting else ""
    ok = len(outcomes) - failed - waiting
    say(f"\n{plural(len(outcomes), 'run')}: {ok} ok, {failed} failed{tail}")


def cmd_batch(args: argparse.Namespace) -> int:
    config = config_from_args(args, WorkflowConfig())
    batch = Batch(
        args.tasks,
        args.runs_dir,
        engine=args.engine,
        concurrency=args.concurrency,
        config=config,
        model=_model(args),
        ray_address=args.ray_address,
    )
    _require_key(batch)
    bar = counter_bar("batch", enabled=not args.json)
    lines = counter_lines("batch", enabled=not args.json)  # when stderr is no terminal

    def show(news: str, totals: str) -> None:
        bar.update(row, completed=tally.done, description=totals)
        lines(news, totals)

    tally = _Tally(len(batch.tasks), show)
    batch.on_start = tally.started
    outcomes: list[RunOutcome] = []
    try:
        with bar:
            row = bar.add_task(tally.line(), total=tally.total)
            for outcome in batch:
                tally.ended(outcome)
                outcomes.append(outcome)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted after {tally.done}/{tally.total} runs: run the same command "
            "again to continue (finished runs are skipped, the others resume)",
            file=sys.stderr,
        )
        raise
    if args.json:
        say(json.dumps([msgspec.to_builtins(o) for o in outcomes], indent=2))
    else:
        _summary(outcomes)
    if any(not o.ok and o.status != "waiting" for o in outcomes):
        return 1
    return 3 if any(o.status == "waiting" for o in outcomes) else 0  # 3: waiting for a person


def args_batch(p: argparse.ArgumentParser) -> str:
    """``agentlog batch``'s arguments; returns its example."""
    p.add_argument("tasks", metavar="TASKS", help='JSONL, one run a line: {"id": …, "task": …}')
    p.add_argument("--runs-dir", metavar="DIR", required=True, help="one run directory per id")
    engine_args(p)
    return "agentlog batch tasks.jsonl --runs-dir runs/eval --concurrency 16"
