"""Replay's time against reading and verifying the same log (issue 27, target 2).

    python benchmarks/replay_ratio_bench.py   # --events 20000 --rounds 3 --repeat 3
    python benchmarks/replay_ratio_bench.py --baseline /path/to/an/older/tree

Records a real run of about ``--events`` events (``scale_bench.record``: revision rounds
on a scripted model), then, in each of ``--rounds`` rounds, times in a fresh child
process, best of ``--repeat``: reading the log through ``verify`` and a fold (the
floor), then ``replay`` of it. With ``--baseline`` (another checkout of agentlog) each
round times the baseline's child and this tree's one after the other, so both ratios
come from the same conditions. CPU seconds (the process's, all threads) are the
figures to compare on a shared machine; wall seconds and the load average are printed
beside them. Each child also reports its peak RSS. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import scale_bench  # noqa: E402

CHILD = r"""
import json, resource, sys, time
tree, run, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, tree)
from actors import replay
from store import EventLog, workflow_state
best = {"read_cpu": 1e9, "read_wall": 1e9, "replay_cpu": 1e9, "replay_wall": 1e9}
same, events = True, 0
for _ in range(repeat):
    w0, c0 = time.perf_counter(), time.process_time()
    log = EventLog(run)
    events = log.verify().last_seq
    workflow_state(log.read())
    w1, c1 = time.perf_counter(), time.process_time()
    same = replay(run).ok and same
    w2, c2 = time.perf_counter(), time.process_time()
    for key, value in (("read_wall", w1 - w0), ("read_cpu", c1 - c0),
                       ("replay_wall", w2 - w1), ("replay_cpu", c2 - c1)):
        best[key] = min(best[key], value)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({**best, "same": same, "events": events, "rss_mib": rss}))
"""


def measure(tree: Path, run: Path, repeat: int) -> dict[str, float]:
    """One child's best figures for ``tree`` replaying ``run``."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), str(run), str(repeat)],
        capture_output=True,
        check=False,
        cwd=tree,
    )
    if done.returncode != 0:
        raise SystemExit(f"{tree}: failed:\n{done.stderr.decode()[-3000:]}")
    figures: dict[str, float] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return figures


def line(name: str, f: dict[str, float]) -> str:
    return (
        f"  {name:<9} read+verify {f['read_cpu']:.3f} s CPU ({f['read_wall']:.3f} wall), "
        f"replay {f['replay_cpu']:.3f} s CPU ({f['replay_wall']:.3f} wall), same={f['same']}: "
        f"{f['replay_cpu'] / f['read_cpu']:.1f}x CPU, "
        f"{f['replay_wall'] / f['read_wall']:.1f}x wall, peak RSS {f['rss_mib']:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another agentlog tree, timed alike")
    args = parser.parse_args()
    trees = {"this": ROOT}
    if args.baseline is not None:
        trees = {"baseline": args.baseline.resolve(), **trees}
    scratch = Path(tempfile.mkdtemp(prefix="replay_ratio-"))
    try:
        script = scratch / "script.json"
        script.write_text(json.dumps(scale_bench.SCRIPT))
        run = scratch / "run"
        scale_bench.record(run, args.events, script)
        ratios: dict[str, list[float]] = {name: [] for name in trees}
        for n in range(1, args.rounds + 1):
            print(f"round {n} (load average {os.getloadavg()[0]:.2f})", flush=True)
            for name, tree in trees.items():
                figures = measure(tree, run, args.repeat)
                ratios[name].append(figures["replay_cpu"] / figures["read_cpu"])
                print(line(name, figures), flush=True)
        events = int(figures["events"])
        for name, values in ratios.items():
            shown = ", ".join(f"{r:.1f}" for r in values)
            print(
                f"{events:,} events, {name}: replay = {statistics.median(values):.1f}x "
                f"read+verify in CPU (median of {len(values)} rounds: {shown})"
            )
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
