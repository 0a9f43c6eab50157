"""Replay's time against reading and verifying the same log (issue 27, target 2).

    python benchmarks/replay_ratio_bench.py   # --events 20000 --repeat 3

Records a real run of about ``--events`` events (``scale_bench.record``: revision rounds
on a scripted model), then times, best of ``--repeat``, reading the log through
``verify`` and a fold, and ``replay`` of it. Prints both and their ratio; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import scale_bench  # noqa: E402

from actors import replay  # noqa: E402
from store import EventLog, workflow_state  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="replay_ratio-"))
    try:
        script = scratch / "script.json"
        script.write_text(json.dumps(scale_bench.SCRIPT))
        run = scratch / "run"
        scale_bench.record(run, args.events, script)
        reads, replays, same = [], [], True
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            log = EventLog(run)
            events = log.verify().last_seq
            workflow_state(log.read())
            t1 = time.perf_counter()
            same = replay(run).ok and same
            t2 = time.perf_counter()
            reads.append(t1 - t0)
            replays.append(t2 - t1)
        read, replayed = min(reads), min(replays)
        print(
            f"{events:,} events: read+verify {read:.2f} s, replay {replayed:.2f} s "
            f"(same={same}): replay = {replayed / read:.1f}x read+verify"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
