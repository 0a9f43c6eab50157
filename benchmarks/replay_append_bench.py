"""What a replay's scratch writer costs an append: a step's start, and an attempt's answer.

    python benchmarks/replay_append_bench.py                 # --events 20000 --rounds 10
    python benchmarks/replay_append_bench.py --tree DIR      # DIR: an older tree, timed alike

Records a real run (``scale_bench.record``), then appends its events again, without their
seq, id, ts and run id, to a fresh log held ``like`` the recording, as a replay's
supervisor does: each ``StepStarted`` alone, each answer (the ``ModelCalled`` and what
follows it) in one call with the run's id as the stamp, the ``ModelCalled`` known decoded
(``seen``, as the replay's cursor gives it). Prints the best mean of ``--rounds`` per
call, in microseconds, and checks that every line came out the recording's. Only the
writer is timed: no agent, no fold. Asserts nothing else.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import scale_bench  # noqa: E402

CHILD = r"""
import sys, tempfile, time
from pathlib import Path
tree, src, rounds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, tree)
import msgspec
from events import ModelCalled, StepStarted, decode_line
from store import EventLog
lines = src.read_bytes().split(b"\n")[:-1]
events = [decode_line(line) for line in lines]
wid = {"workflow_id": events[0].workflow_id}
bare = [msgspec.structs.replace(e, seq=0, id="", ts="", workflow_id="") for e in events]
groups, i = [], 1
while i < len(bare):
    j = i + 1
    if type(bare[i]) is not StepStarted:
        while j < len(bare) and type(bare[j]) is not StepStarted:
            j += 1
    groups.append(bare[i:j])
    i = j
known = {e.seq: (e, line) for e, line in zip(events, lines) if type(e) is ModelCalled}
best = {"start": 1e9, "answer": 1e9}
for _ in range(rounds):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "events.jsonl").write_bytes(lines[0] + b"\n")
        writer = EventLog(Path(d) / "events.jsonl").writer()
        writer.hold(like=src, seen=known.get)
        spent = {"start": 0.0, "answer": 0.0}
        for group in groups:
            t0 = time.perf_counter()
            writer.append_many(group, sync=False, stamp=wid)
            kind = "start" if type(group[0]) is StepStarted else "answer"
            spent[kind] += time.perf_counter() - t0
        same = writer.like_through
        writer.close()
    n = {k: sum(1 for g in groups if (type(g[0]) is StepStarted) == (k == "start")) for k in spent}
    for k in spent:
        best[k] = min(best[k], spent[k] / n[k] * 1e6)
print(f"  start {best['start']:.2f} us, answer {best['answer']:.2f} us a call "
      f"({n['start']:,} / {n['answer']:,} calls; "
      f"lines the recording's: {same:,} of {len(lines):,})")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--tree", type=Path, action="append", help="another agentlog tree")
    args = parser.parse_args()
    trees = [*(t.resolve() for t in args.tree or []), ROOT]
    scratch = Path(tempfile.mkdtemp(prefix="replay_append-"))
    try:
        script = scratch / "script.json"
        script.write_text(json.dumps(scale_bench.SCRIPT))
        run = scratch / "run"
        scale_bench.record(run, args.events, script)
        for tree in trees:
            print(tree, flush=True)
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    str(tree),
                    str(run / "events.jsonl"),
                    str(args.rounds),
                ],
                check=True,
                cwd=tree,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
