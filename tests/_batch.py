"""Helpers for the batch tests: tasks files, a Messages API answering any order, counts."""

from __future__ import annotations

import json
from pathlib import Path

from _workflow import APPROVE, CODE, KEY, PLAN
from fake_anthropic import FakeAnthropic

from events import PlanProduced
from store import EventLog

#: Every forced tool's happy answer, for runs whose requests interleave.
HAPPY_BY_TOOL = {"submit_plan": PLAN, "submit_code": CODE, "submit_review": APPROVE}


def write_tasks(path: Path, count: int, *, prefix: str = "t") -> Path:
    """A tasks file of ``count`` runs with no backoff sleeps."""
    lines = [
        json.dumps({"id": f"{prefix}{n:02d}", "task": f"greeting {n}", "config": FAST_CONFIG})
        for n in range(count)
    ]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


FAST_CONFIG = {"backoff_base": 0, "step_timeout": 20, "max_retries": 3}


def plans_per_run(runs_dir: Path) -> dict[str, int]:
    """How many ``PlanProduced`` each run's log holds (1 when no step was redone)."""
    return {
        run.name: sum(isinstance(ev, PlanProduced) for ev in EventLog(run).read())
        for run in sorted(runs_dir.iterdir())
        if (run / "events.jsonl").is_file()
    }


def api_env(server: FakeAnthropic) -> dict[str, str]:
    """The environment that points the SDK at the fake server, with a fake key."""
    return {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": KEY}
