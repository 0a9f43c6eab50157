"""Durable execution: replay and resume against running the same workflows from scratch.

Three phases over one set of workflows, each with a zero-latency scripted model (no
sleeps, no tests run, no network), so the figures are agentlog's own overhead:

1. scratch — run N workflows from nothing (``Supervisor.run``), writing N logs;
2. replay  — ``replay()`` each log (re-run the agents on the recorded answers, compare);
3. resume  — cut each log after its CodeProduced (a run killed mid-way) and
   ``Supervisor.resume`` it to the end.

Each phase stops at ``--budget`` seconds; when fewer than ``--workflows`` fit, the time for
all of them is extrapolated linearly from the measured rate and marked as such.

    python benchmarks/durable_bench.py --workflows 10000 --budget 40
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from actors import Supervisor, WorkflowConfig, replay
from actors.models import ScriptedModel
from events import CodeProduced

PLAN = {"summary": "A greeting module", "steps": [{"title": "hello.py", "description": "hi"}]}
CODE = {"files": [{"path": "hello.py", "content": "def hello():\n    return 'hi'\n"}], "notes": ""}
REVIEW = {"verdict": "approve", "summary": "fine", "comments": []}
SCRIPT = {
    "plan": [{"tool_input": PLAN}],
    "code": [{"tool_input": CODE}],
    "review": [{"tool_input": REVIEW}],
}
CONFIG = WorkflowConfig(backoff_base=0.0, step_timeout=30.0)


def model() -> ScriptedModel:
    return ScriptedModel(SCRIPT, name="scripted-bench")


def timed(items: list[Path], work: Callable[[Path], object], budget: float) -> list[float]:
    """Per-item seconds of ``work`` over ``items`` until ``budget`` seconds have passed."""
    times: list[float] = []
    start = time.perf_counter()
    for item in items:
        t = time.perf_counter()
        work(item)
        times.append(time.perf_counter() - t)
        if time.perf_counter() - start > budget:
            break
    return times


def cut_after_code(run_dir: Path) -> None:
    """Keep the log up to the CodeProduced event: a run killed before its review."""
    from store import EventLog

    seq = next(ev.seq for ev in EventLog(run_dir).read() if isinstance(ev, CodeProduced))
    path = run_dir / "events.jsonl"
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:seq]))


def check_replay(run_dir: Path) -> None:
    report = replay(run_dir)
    if not report.ok:
        raise SystemExit(f"{run_dir}: {report.verdict}")


def check_resume(run_dir: Path) -> None:
    result = Supervisor.resume(run_dir, model=model())
    if result.status != "completed":
        raise SystemExit(f"{run_dir}: resume ended {result.status}")


def report(name: str, times: list[float], n: int) -> float:
    """Print one phase's line; return its (measured or extrapolated) time for ``n``."""
    done = len(times)
    total = sum(times)
    full = total if done >= n else total / done * n
    how = "measured" if done >= n else f"extrapolated from {done:,}"
    print(
        f"{name:<8} {done:>6,} workflows in {total:7.2f} s  "
        f"{done / total:8.1f}/s  p50 {statistics.median(times) * 1000:6.2f} ms  "
        f"-> {n:,} workflows: {full:8.1f} s ({how})"
    )
    return full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--budget", type=float, default=40.0, help="seconds per phase")
    args = parser.parse_args()
    n: int = args.workflows
    root = Path(tempfile.mkdtemp(prefix="agentlog-durable-bench-"))
    try:
        dirs = [root / f"wf-{i:05d}" for i in range(n)]
        scratch = timed(
            dirs, lambda d: Supervisor(CONFIG, model=model()).run("greet", d), args.budget
        )
        made = dirs[: len(scratch)]
        replayed = timed(made, check_replay, args.budget)
        for d in made:
            cut_after_code(d)
        resumed = timed(made, check_resume, args.budget)
        print(
            f"durable_bench: {n:,} workflows, zero-latency scripted model, "
            f"budget {args.budget:g} s/phase"
        )
        base = report("scratch", scratch, n)
        rep = report("replay", replayed, n)
        res = report("resume", resumed, n)
        print(
            f"replay / scratch = {rep / base:.2f}x   "
            f"resume (from mid-way) / scratch = {res / base:.2f}x"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
