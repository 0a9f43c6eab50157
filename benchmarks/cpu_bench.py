"""CPU per workflow against the plain-file floor (issue 14: within 2x).

Run ``python benchmarks/cpu_bench.py [--runs N]``. Prints figures and ratios, asserts
nothing. Times the process's CPU (``time.process_time``: every thread, user + system)
over N sequential plan/code/review workflows on a zero-latency ScriptedModel, and over
N times the floor of ``workflow_bench.py`` measured in the same run: the same three
artifact files written by three plain calls with fsync. CPU rather than wall time, so
the disk's own waits (the same fsyncs for both, plus the log's) do not decide it. Runs
go to a temporary directory inside this repository, removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from workflow_bench import floor_once, workflow_reused  # noqa: E402


def cpu_ms(fn: Callable[[Path], None], root: Path, n: int, tag: str) -> float:
    """Mean process CPU milliseconds of ``fn`` over ``n`` fresh directories."""
    started = time.process_time()
    for i in range(n):
        fn(root / f"{tag}-{i}")
    return (time.process_time() - started) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix=".cpu_bench-", dir=ROOT))
    try:
        for i in range(10):  # imports, the shared agents, the driver thread
            workflow_reused(root / f"warm-{i}")
            floor_once(root / f"warm-floor-{i}")
        floor = cpu_ms(floor_once, root, args.runs, "floor")
        flow = cpu_ms(workflow_reused, root, args.runs, "flow")
        floor2 = cpu_ms(floor_once, root, args.runs, "floor2")  # drift check
        print(f"{args.runs} sequential workflows, process CPU per workflow")
        print(f"    floor (3 files, fsync)        {floor:7.3f} ms  (again after: {floor2:.3f} ms)")
        print(f"    workflow                      {flow:7.3f} ms  = {flow / floor:.2f}x floor")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
