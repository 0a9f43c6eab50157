"""Benchmark of ``agentlog show`` on the last event of a large log.

Run ``python benchmarks/show_bench.py [--events N]``. Writes an N-event log (default
1,000,000) of the shared workload, then times ``agentlog show RUN N`` and, as the floor,
``python -c pass``, median of 5 each. Target (issue 14): the show under 100 ms.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _workload import workload  # noqa: E402

from events import WorkflowStarted  # noqa: E402
from store import EventLog  # noqa: E402


def _median(cmd: list[str], runs: int = 5) -> tuple[float, float]:
    """Median wall and CPU (user + system, from the child's rusage) seconds of ``cmd``."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix=".show_bench-", dir=ROOT))
    try:
        log = EventLog(scratch)
        cycle = workload(1000)
        with log.writer() as writer:
            writer.append(WorkflowStarted(workflow_id="wf-bench", task="bench"))
            left = args.events - 1
            while left > 0:
                batch = cycle[: min(left, len(cycle))]
                writer.append_many(batch, sync=False)
                left -= len(batch)
        size = log.path.stat().st_size
        main_ = "import sys; from actors.cli import main; sys.exit(main())"
        show = [sys.executable, "-c", main_, "show", str(scratch), str(args.events)]
        floor, floor_cpu = _median([sys.executable, "-c", "pass"])
        took, took_cpu = _median(show)
        print(f"log: {args.events:,} events, {size / 2**20:.0f} MiB (wall, and CPU in brackets)")
        print(f"python -c pass            {floor * 1000:7.1f} ms  ({floor_cpu * 1000:.1f} ms)")
        extra = (took - floor) * 1000
        print(
            f"agentlog show RUN {args.events}  {took * 1000:7.1f} ms  ({took_cpu * 1000:.1f} ms)"
            f"  (+{extra:.1f} ms wall)"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
