"""Benchmark of ``Batch``: many workflows at once, locally and on a local Ray cluster.

Run ``python benchmarks/batch_bench.py [--runs N] [--latency S] [--ray-runs N]``. Prints
figures and ratios, asserts nothing. Runs go to a temporary directory beside this
repository (same filesystem), removed at the end.

(a) Local engine: N workflows, the model answering after ``--latency`` seconds a call,
    all N at once (``--concurrency N``), against the floor measured in the same run: the
    same N workflows one after another on a zero-latency model, plus one workflow's
    latency (3 calls). Target (issues 14 and 18): within 1.2x of that floor.
(b) Ray engine on a two-worker-node cluster on 127.0.0.1 (needs ``agentlog[ray]``):
    ``--ray-runs`` zero-latency workflows against the local engine on the same tasks;
    Ray's per-run overhead is the difference divided by the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actors.batch import Batch, BatchTask, ModelSpec  # noqa: E402
from events import WorkflowConfig  # noqa: E402

SCRIPT = {
    "plan": [{"tool_input": {"summary": "hello", "steps": [{"title": "t", "description": "d"}]}}],
    "code": [{"tool_input": {"files": [{"path": "hello.py", "content": "X = 1\n"}]}}],
    "review": [{"tool_input": {"verdict": "approve", "summary": "Fine."}}],
}
CONFIG = WorkflowConfig(backoff_base=0, step_timeout=60)


def _tasks(n: int) -> list[BatchTask]:
    return [BatchTask(id=f"r{i:05d}", task=f"greeting {i}") for i in range(n)]


def _timed(batch: Batch) -> tuple[float, int]:
    """Wall seconds of a whole batch, and the most threads alive while it ran (sampled)."""
    peak = threading.active_count()
    running = True

    def sample() -> None:
        nonlocal peak
        while running:
            peak = max(peak, threading.active_count())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    batch.run()
    seconds = time.perf_counter() - started
    running = False
    sampler.join()
    return seconds, peak - 1


def _row(label: str, seconds: float, extra: str = "") -> None:
    print(f"    {label:<40}{seconds:8.2f} s  {extra}".rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--ray-runs", type=int, default=100)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="batch-bench-", dir=ROOT.parent))
    script = scratch / "script.json"
    script.write_text(json.dumps(SCRIPT))
    fast, slow = ModelSpec(script=str(script)), ModelSpec(script=str(script), delay=args.latency)
    try:
        tasks = _tasks(args.runs)
        Batch(tasks[:2], scratch / "warm", config=CONFIG, model=fast).run()  # imports, pools
        one, _ = _timed(Batch(tasks[:1], scratch / "one", config=CONFIG, model=slow))
        seq, _ = _timed(Batch(tasks, scratch / "seq", concurrency=1, config=CONFIG, model=fast))
        floor = seq + one
        wide, peak = _timed(
            Batch(tasks, scratch / "wide", concurrency=args.runs, config=CONFIG, model=slow)
        )
        print(f"(a) local engine, {args.runs} workflows, {args.latency * 1000:.0f} ms a call")
        _row("one workflow at that latency", one)
        _row(f"{args.runs} one after another, no latency", seq)
        _row("floor: the two added", floor)
        _row(f"{args.runs} at once", wide, f"= {wide / floor:.2f}x floor")
        print(f"    {'threads alive at most':<40}{peak:8d}")
        if args.ray_runs > 0:
            _ray(args.ray_runs, scratch, fast)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _ray(runs: int, scratch: Path, model: ModelSpec) -> None:
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # every Ray process on 127.0.0.1
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        print("(b) skipped: pip install -e '.[ray]' to measure the Ray engine")
        return
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        tasks = _tasks(runs)
        warm = Batch(tasks[:2], scratch / "ray-warm", engine="ray", config=CONFIG, model=model)
        warm.run()  # worker processes started and imports done before timing
        local, _ = _timed(
            Batch(tasks, scratch / "local", concurrency=2, config=CONFIG, model=model)
        )
        on_ray, _ = _timed(
            Batch(tasks, scratch / "ray", engine="ray", concurrency=2, config=CONFIG, model=model)
        )
        print(f"(b) {runs} zero-latency workflows, 2 at a time")
        _row("local engine", local)
        _row("Ray, two one-CPU worker nodes", on_ray, f"= {on_ray / local:.2f}x local")
        overhead = (on_ray - local) / runs * 1000
        print(f"    {'overhead of Ray per run':<40}{overhead:8.1f} ms")
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main()
