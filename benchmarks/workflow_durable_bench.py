"""Issue 27 target 1: a three-step workflow on disk against its durable floor and LangGraph.

    python benchmarks/workflow_durable_bench.py [--runs 200] [--rounds 3] [--before TREE]
                                                [--strace 20]

Each implementation runs in a fresh child process (imports and 5 warm-up runs untimed,
then ``--runs`` workflows, each timed), round after round, interleaved, with the load
average printed each round; the table gives the median ms per run over every round and
the ratio to the durable floor of the same rounds.

- ``agentlog``: this tree's ``Supervisor`` with a zero-latency ``ScriptedModel``
  (``--before TREE``: also another tree, e.g. ``git worktree add /tmp/before HEAD~3``).
- ``durable floor``: the same durable writes in plain Python (``_durable_floor.py``), one
  sync after the other; ``durable-floor-together``: the same, with the syncs agentlog
  issues at once issued at once (the floor of agentlog's own way of syncing).
- ``3-file floor``: ``compare.py``'s floor, three artifact files fsynced (no log).
- ``langgraph``: ``compare.py``'s three-node graph on ``SqliteSaver``, ``durability="sync"``.

``--strace N``: each child again under ``strace -f`` for N runs, and the file-system
calls per run (fsync, fdatasync, syncfs, openat, mkdir, rename).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
IMPLS = ("agentlog", "durable-floor", "durable-floor-together", "3-file-floor", "langgraph")
CALLS = ("fsync", "fdatasync", "syncfs", "openat", "mkdir", "rename")
_CALL_OF = {"mkdirat": "mkdir", "renameat": "rename", "renameat2": "rename"}
_MARKS = ("/agentlog-bench-start", "/agentlog-bench-end")


def _mark(which: int) -> None:
    with contextlib.suppress(OSError):  # a failing open strace shows: where runs start, end
        os.close(os.open(_MARKS[which], os.O_RDONLY))


def child(impl: str, runs: int, where: Path) -> None:
    """In a fresh process: warm up, then time ``runs`` workflows; print ms per run."""
    tree = os.environ.get("AGENTLOG_TREE", str(ROOT))
    sys.path[:0] = [tree, str(HERE)]
    if impl == "agentlog":
        from _answers import ANSWERS, TASK

        from actors import Supervisor, WorkflowConfig
        from actors.models import ScriptedModel

        script = {step: [{"tool_input": answer}] for step, answer in ANSWERS.items()}
        sup = Supervisor(WorkflowConfig(), model=ScriptedModel(script))

        def once(run: Path) -> None:
            assert sup.run(TASK, run).verdict == "approve"
    elif impl.startswith("durable-floor"):
        from _answers import TASK, fake_model
        from _durable_floor import durable_floor_run

        together = impl.endswith("together")

        def once(run: Path) -> None:
            review = durable_floor_run(run, TASK, fake_model, together=together)
            assert review["verdict"] == "approve"
    elif impl == "3-file-floor":
        from compare import plain_workflow

        def once(run: Path) -> None:
            plain_workflow(run, 1)
    else:
        from compare import TASK as LG_TASK
        from compare import _lg_graph, _lg_saver

        where.mkdir(parents=True, exist_ok=True)
        app = _lg_graph(_lg_saver(where / "checkpoints.sqlite"))
        count = [0]

        def once(run: Path) -> None:
            run.mkdir()
            count[0] += 1
            config = {"configurable": {"thread_id": f"t-{count[0]}"}}
            out = app.invoke({"run_dir": str(run), "task": LG_TASK}, config, durability="sync")
            assert out["review"]["verdict"] == "approve"

    for i in range(5):
        once(where / f"warm-{i}")
    times = []
    _mark(0)
    for i in range(runs):
        start = time.perf_counter()
        once(where / f"run-{i}")
        times.append((time.perf_counter() - start) * 1000)
    _mark(1)
    print(json.dumps(times))


def _spawn(impl: str, runs: int, base: Path, tree: str, strace: Path | None = None) -> list[float]:
    where = Path(tempfile.mkdtemp(dir=base, prefix=f"{impl}-"))
    argv = [sys.executable, __file__, "--child", impl, str(runs), str(where)]
    if strace is not None:
        calls = "fsync,fdatasync,syncfs,openat,mkdir,mkdirat,rename,renameat,renameat2"
        argv = ["strace", "-f", "-qq", "-o", str(strace), "-e", f"trace={calls}", *argv]
    env = {**os.environ, "AGENTLOG_TREE": tree, "PYTHONPATH": tree}
    try:
        out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
    finally:
        shutil.rmtree(where, ignore_errors=True)
    times: list[float] = json.loads(out.stdout.strip().splitlines()[-1])
    return times


def count_calls(trace: Path, runs: int) -> dict[str, float]:
    """File-system calls per run between the marks of a child's ``strace -f`` output."""
    counted: collections.Counter[str] = collections.Counter()
    on = False
    for line in trace.read_text().splitlines():
        if _MARKS[0] in line:
            on = True
        elif _MARKS[1] in line:
            break
        elif on and (found := re.match(r"\s*(?:\d+\s+)?(\w+)\(", line)):
            name = found.group(1)
            counted[_CALL_OF.get(name, name)] += 1
    return {name: counted[name] / runs for name in CALLS}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before", help="another agentlog tree to time beside this one")
    ap.add_argument("--strace", type=int, default=0, help="runs traced per implementation")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), Path(args.child[2]))
        return
    impls: list[tuple[str, str, str]] = [(name, name, str(ROOT)) for name in IMPLS]
    if args.before:
        impls.insert(1, ("agentlog before", "agentlog", str(Path(args.before).resolve())))
    times: dict[str, list[float]] = {label: [] for label, _, _ in impls}
    rounds: dict[str, list[float]] = {label: [] for label, _, _ in impls}
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".durable-bench-") as tmp:
        base = Path(tmp)
        print(f"{args.runs} runs a child, {args.rounds} rounds, runs in {base}")
        for r in range(args.rounds):
            for label, impl, tree in impls:
                got = _spawn(impl, args.runs, base, tree)
                times[label] += got
                rounds[label].append(statistics.median(got))
            shown = ", ".join(f"{label} {rounds[label][-1]:.2f}" for label, _, _ in impls)
            print(f"  round {r + 1} ({load()}): median ms/run {shown}", flush=True)
        floor = statistics.median(times["durable-floor"])
        print(
            "\n| implementation | median ms/run | rounds | / durable floor |\n|---|---:|---|---:|"
        )
        for label, _, _ in impls:
            med = statistics.median(times[label])
            each = " / ".join(f"{v:.2f}" for v in rounds[label])
            print(f"| {label} | {med:.2f} | {each} | {med / floor:.2f}x |")
        if args.strace:
            print(f"\nfile-system calls per run (strace -f, {args.strace} runs after 5 warm-up)")
            print("| implementation | " + " | ".join(CALLS) + " |")
            print("|---|" + "---:|" * len(CALLS))
            for label, impl, tree in impls:
                trace = base / f"{impl}.strace"
                _spawn(impl, args.strace, base, tree, strace=trace)
                per: dict[str, Any] = count_calls(trace, args.strace)
                print(f"| {label} | " + " | ".join(f"{per[c]:g}" for c in CALLS) + " |")


if __name__ == "__main__":
    main()
