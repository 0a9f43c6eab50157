"""Long runs at scale (issue 14): memory of resume and fork, and a step's cost, at 1M events.

Run ``python benchmarks/scale_bench.py [--events N] [--replay-events M]``. Prints figures
and ratios, asserts nothing. Builds an N-event run (default 1,000,000; the revision loop
of ``fold_bench.py``: code, review asking for changes, again; ~290 bytes an event) in a
temporary directory inside this repository, then measures each operation in a fresh
child process, whose peak RSS (``ru_maxrss``) is reported beside the floor measured the
same way: a child that only imports agentlog. Targets: resume and fork of the N-event log
under 100 MiB; the step a resume makes on the N-event log within 2x of the same step on a
100-event log. Replay re-runs every recorded step (a real recording, not the synthetic
log), so it is measured on real runs of each size in ``--replay-events`` (default
20,000 and 200,000): flat memory means the same peak at both, and the growth per event
between them is reported.
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SCRIPT = {
    "plan": [{"tool_input": {"summary": "p", "steps": [{"title": "t", "description": "d"}]}}],
    "code": [{"tool_input": {"files": [{"path": "a.py", "content": "x = 1\n"}]}}],
    "review": [{"tool_input": {"verdict": "approve", "summary": "Fine."}}],
}

# Each child prints one JSON line: its figures and its own peak RSS.
CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
op, run, other = sys.argv[1], sys.argv[2], sys.argv[3]
from pathlib import Path
import actors, store
from actors.models import ScriptedModel
out = {{}}
if op != "floor":
    model = ScriptedModel(json.loads(Path({script!r}).read_text()))
    if op == "resume":
        from actors.supervisor_actor import SupervisorActor
        t0 = time.perf_counter()
        sup = SupervisorActor(Path(run), model)
        t1 = time.perf_counter()
        state = sup.run_here()
        t2 = time.perf_counter()
        out = {{"read_s": t1 - t0, "drive_s": t2 - t1, "status": state.status}}
    elif op == "fork":
        from actors import fork
        t0 = time.perf_counter()
        res = fork(run, at=int(other), new_run_dir=run + "-fork", model=model)
        out = {{"seconds": time.perf_counter() - t0, "status": res.status}}
    elif op == "replay":
        from actors import replay
        t0 = time.perf_counter()
        report = replay(run)
        out = {{"seconds": time.perf_counter() - t0, "same": report.ok}}
out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def build(run: Path, length: int) -> None:
    """Write an unfinished ``length``-event revision-loop run."""
    code = f"""
import sys
sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / "benchmarks")!r})
from pathlib import Path
from fold_bench import long_log
import msgspec
from events import Plan, PlanProduced
from store import EventLog
events = long_log({length})
plan = msgspec.convert({{"summary": "p", "steps": [{{"title": "t", "description": "d"}}]}}, Plan)
events[2] = PlanProduced(plan=plan)  # fold_bench's plan has no steps, which a read refuses
with EventLog(Path({str(run)!r})).writer() as w:
    for i in range(0, len(events), 10000):
        w.append_many(events[i:i + 10000], sync=False)
    w.sync()
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def record(run: Path, length: int, script: Path) -> None:
    """Record a real run of about ``length`` events: revision rounds until an approval."""
    rounds = max(1, length // 6)  # six events a revision round
    answers = json.loads(script.read_text())
    changes = {"tool_input": {"verdict": "request_changes", "summary": "Again."}}
    answers["review"] = [changes] * rounds + answers["review"]
    answers["code"] = answers["code"] * (rounds + 1)
    recorded = run.parent / "recorded.json"
    recorded.write_text(json.dumps(answers))
    code = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from actors import Supervisor, WorkflowConfig
from actors.models import ScriptedModel
config = WorkflowConfig(backoff_base=0, max_revisions=10**9)
model = ScriptedModel(json.loads(Path({str(recorded)!r}).read_text()))
Supervisor(config, model=model).run("t", {str(run)!r})
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def child(op: str, run: Path | str, other: str, script: Path) -> dict[str, object]:
    code = CHILD.format(root=str(ROOT), script=str(script))
    done = subprocess.run([sys.executable, "-c", code, op, str(run), other], capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"{op} failed:\n{done.stderr.decode()[-3000:]}")
    result: dict[str, object] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--replay-events",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[20_000, 200_000],
        help="comma-separated sizes of the recorded runs to replay",
    )
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix=".scale_bench-", dir=ROOT))
    script = scratch / "script.json"
    script.write_text(json.dumps(SCRIPT))
    try:
        big, small = scratch / "big", scratch / "small"
        build(big, args.events)
        build(small, 100)
        size = (big / "events.jsonl").stat().st_size
        floor = child("floor", "-", "-", script)
        print(f"log: {args.events:,} events, {size / 2**20:.0f} MiB")
        print(f"floor: a child importing agentlog      {floor['rss_mib']:8.1f} MiB")
        shutil.copytree(big, scratch / "big-fork")
        forked = child("fork", scratch / "big-fork", str(args.events - 10), script)
        print(
            f"fork at {args.events - 10:,}, run to the end  {forked['rss_mib']:8.1f} MiB"
            f"  {forked['seconds']:.1f} s  {forked['status']}"
        )
        resumed = child("resume", big, "-", script)
        print(
            f"resume, run to the end                 {resumed['rss_mib']:8.1f} MiB"
            f"  read {resumed['read_s']:.1f} s  {resumed['status']}"
        )
        few = child("resume", small, "-", script)
        drive_big, drive_small = float(resumed["drive_s"]), float(few["drive_s"])  # type: ignore[arg-type]
        print(
            f"the resumed steps, {args.events:,} vs 100 events: {drive_big * 1000:.1f} ms vs"
            f" {drive_small * 1000:.1f} ms = {drive_big / drive_small:.2f}x"
        )
        peaks: list[tuple[int, float]] = []
        for size_wanted in args.replay_events:
            rep = scratch / f"replay-{size_wanted}"
            record(rep, size_wanted, script)
            replayed = child("replay", rep, "-", script)
            events = sum(1 for _ in (rep / "events.jsonl").open("rb"))
            rss = float(replayed["rss_mib"])  # type: ignore[arg-type]
            peaks.append((events, rss))
            print(
                f"replay of {events:,} events{'':<{max(1, 13 - len(f'{events:,}'))}}"
                f"{rss:8.1f} MiB  {replayed['seconds']:.1f} s  same={replayed['same']}"
                f"  (+{rss - float(floor['rss_mib']):.1f} MiB over the floor)"  # type: ignore[arg-type]
            )
        if len(peaks) > 1:
            (n0, m0), (n1, m1) = peaks[0], peaks[-1]
            print(
                f"replay memory growth: {(m1 - m0) * 2**20 / (n1 - n0):.1f} bytes/event "
                f"between {n0:,} and {n1:,} events"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
