"""Benchmark of whole workflows: orchestration overhead, concurrency, CLI start-up.

Run ``python benchmarks/workflow_bench.py [--runs N] [--concurrent N]``. Prints figures and
ratios, asserts nothing. Runs go to a temporary directory next to this repository (same
filesystem), removed at the end.

(a) Overhead: N sequential plan/code/review workflows on a zero-latency ScriptedModel,
    beside the floor measured in the same run: three plain function calls writing the
    same three artifact JSON files with fsync. Targets: <= 2.5 ms a workflow, <= 3x floor.
(b) Concurrency: a model that sleeps 200 ms a call; M workflows started together
    (``Supervisor.start``) against one alone. Target: <= 1.5x the wall time of one.
(c) CLI: ``agentlog --help`` and ``agentlog log RUN`` against ``python -c pass``,
    median of 10. Target: ``--help`` within 150 ms of ``python -c pass``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actors import Supervisor, WorkflowConfig  # noqa: E402
from actors.models import ScriptedModel  # noqa: E402
from events import CodeChange, Plan, Review  # noqa: E402
from store import encode_artifact  # noqa: E402

PLAN: dict[str, Any] = {
    "summary": "A greeting module",
    "steps": [{"title": "hello.py", "description": "hello(name)", "files": ["hello.py"]}],
}
CODE: dict[str, Any] = {
    "files": [{"path": "hello.py", "content": "def hello(name):\n    return f'hi {name}'\n"}],
    "notes": "",
}
REVIEW: dict[str, Any] = {"verdict": "approve", "summary": "Fine."}
SCRIPT = {
    "plan": [{"tool_input": PLAN}],
    "code": [{"tool_input": CODE}],
    "review": [{"tool_input": REVIEW}],
}
CONFIG = WorkflowConfig(model="bench", backoff_base=0)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def fsync_write(path: Path, data: bytes, *, mode: int = 0o644, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` and fsync it (``exclusive``: a new file only)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def floor_once(run_dir: Path) -> None:
    """The floor: the same three artifact files written by three plain calls, with fsync."""
    import msgspec

    run_dir.mkdir()
    fsync_write(run_dir / "plan.json", encode_artifact(msgspec.convert(PLAN, Plan)))
    fsync_write(run_dir / "code.json", encode_artifact(msgspec.convert(CODE, CodeChange)))
    fsync_write(run_dir / "review.json", encode_artifact(msgspec.convert(REVIEW, Review)))


def workflow_once(run_dir: Path) -> None:
    """One workflow from a fresh Supervisor (its agent actors started for it)."""
    result = Supervisor(CONFIG, model=ScriptedModel(SCRIPT)).run("bench", run_dir)
    assert result.status == "completed", result.error


_SHARED: list[Supervisor] = []


def workflow_reused(run_dir: Path) -> None:
    """One workflow from a Supervisor that already ran some (idle agents reused)."""
    if not _SHARED:
        _SHARED.append(Supervisor(CONFIG, model=ScriptedModel(SCRIPT)))
    result = _SHARED[0].run("bench", run_dir)
    assert result.status == "completed", result.error


def timed(fn: Callable[[Path], None], root: Path, n: int, tag: str) -> list[float]:
    times: list[float] = []
    for i in range(n):
        target = root / f"{tag}-{i}"
        start = time.perf_counter()
        fn(target)
        times.append(ms(time.perf_counter() - start))
    return times


def bench_overhead(root: Path, n: int) -> None:
    timed(workflow_once, root, 5, "warm")  # imports, actor system, caches
    timed(floor_once, root, 5, "warmfloor")
    timed(workflow_reused, root, 5, "warmshared")
    flows = timed(workflow_once, root, n, "wf")
    shared = timed(workflow_reused, root, n, "shared")
    floor = timed(floor_once, root, n, "floor")
    wf_med, wf_mean = statistics.median(flows), statistics.mean(flows)
    fl_med, fl_mean = statistics.median(floor), statistics.mean(floor)
    print(f"(a) orchestration overhead, {n} sequential workflows, zero-latency model")
    print(f"    workflow  median {wf_med:7.2f} ms   mean {wf_mean:7.2f} ms")
    sh_med, sh_mean = statistics.median(shared), statistics.fmean(shared)
    print(f"    reused    median {sh_med:7.2f} ms   mean {sh_mean:7.2f} ms  (one Supervisor)")
    print(f"    floor     median {fl_med:7.2f} ms   mean {fl_mean:7.2f} ms  (3 JSON files, fsync)")
    print(f"    ratio     median {wf_med / fl_med:5.1f}x     mean {wf_mean / fl_mean:5.1f}x")
    print(f"    reused    median {sh_med / fl_med:5.1f}x     mean {sh_mean / fl_mean:5.1f}x")
    print("    target    <= 2.5 ms a workflow, within 3x of the floor")


def bench_concurrency(root: Path, m: int, delay: float) -> None:
    def batch(count: int, tag: str) -> float:
        model = ScriptedModel(SCRIPT, delay=delay)
        supervisor = Supervisor(CONFIG, model=model)
        start = time.perf_counter()
        handles = [supervisor.start("bench", root / f"{tag}-{i}") for i in range(count)]
        for handle in handles:
            assert handle.result().status == "completed"
        return time.perf_counter() - start

    batch(1, "cwarm")
    one = batch(1, "one")
    many = batch(m, "many")
    print(f"(b) concurrency, model sleeping {ms(delay):.0f} ms a call (3 calls a workflow)")
    print(f"    1 workflow       {ms(one):8.1f} ms")
    print(f"    {m} together   {ms(many):8.1f} ms")
    print(f"    ratio            {many / one:8.2f}x   (target <= 1.5x)")


def median_wall_cpu(argv: list[str], repeat: int) -> tuple[float, float]:
    """Median wall and CPU (user + system, the child's rusage) milliseconds of ``argv``."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        walls.append(ms(time.perf_counter() - start))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(ms(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def bench_cli(root: Path, repeat: int) -> None:
    run = root / "small-run"
    workflow_once(run)
    agentlog = shutil.which("agentlog") or "agentlog"
    base, base_cpu = median_wall_cpu([sys.executable, "-c", "pass"], repeat)
    help_, help_cpu = median_wall_cpu([agentlog, "--help"], repeat)
    log, log_cpu = median_wall_cpu([agentlog, "log", str(run)], repeat)
    print(f"(c) CLI wall time (and CPU), median of {repeat}")
    print(f"    python -c pass     {base:7.1f} ms   (CPU {base_cpu:.1f} ms)")
    print(
        f"    agentlog --help    {help_:7.1f} ms   (+{help_ - base:.1f} ms, {help_ / base:.1f}x;"
        f" CPU {help_cpu:.1f} ms, +{help_cpu - base_cpu:.1f})"
    )
    print(
        f"    agentlog log RUN   {log:7.1f} ms   (+{log - base:.1f} ms, {log / base:.1f}x;"
        f" CPU {log_cpu:.1f} ms, +{log_cpu - base_cpu:.1f})"
    )
    print("    target             --help within 150 ms of python -c pass")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="sequential workflows for (a)")
    parser.add_argument("--concurrent", type=int, default=100, help="workflows started for (b)")
    parser.add_argument("--delay", type=float, default=0.2, help="model latency for (b), s")
    parser.add_argument("--repeat", type=int, default=10, help="CLI runs for (c)")
    parser.add_argument("--parts", default="abc", help="which parts to run, e.g. c")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix=".workflow-bench-", dir=ROOT))
    try:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, runs in {root}")
        if "a" in args.parts:
            bench_overhead(root, args.runs)
        if "b" in args.parts:
            bench_concurrency(root, args.concurrent, args.delay)
        if "c" in args.parts:
            bench_cli(root, args.repeat)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
