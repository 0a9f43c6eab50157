"""agentlog against its peers: durable appends, replay, workflow overhead, peak memory.

Run ``python benchmarks/compare.py`` after ``pip install -e '.[bench]'``. Within one
process run, every case times agentlog and each peer in turn, alternating, ``--reps``
times, and prints the medians and the ratios peer/agentlog (above 1 = agentlog ahead).
Peak memory (cases 2 and 3) is measured afterwards in one child process per
implementation (``VmHWM`` of ``/proc/self/status``), so no implementation inflates
another's figure. Data lives in a temporary directory beside the repository (the same
filesystem), removed at the end.

Peers (see ``benchmarks/README.md`` for the settings and why they are what they are):

- ``plain``: ``json.dumps`` + ``os.write`` + ``fdatasync`` per line, ``json.loads`` per
  line, three functions writing ``plan.json``/``code.json``/``review.json`` (the floor).
- ``eventsourcing``: its ``SQLiteApplicationRecorder`` (WAL, ``synchronous=FULL``).
- ``langgraph``: ``SqliteSaver`` (WAL, ``synchronous=FULL``); a three-node
  ``StateGraph`` run with ``durability="sync"``.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypedDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _answers import ANSWERS, TASK, fake_model  # noqa: E402
from _workload import workload  # noqa: E402

from actors import Supervisor, WorkflowConfig  # noqa: E402
from actors.models import ScriptedModel  # noqa: E402
from events import (  # noqa: E402
    Event,
    ModelCalled,
    to_dict,
)
from store import EventLog  # noqa: E402

IMPLS = ("agentlog", "plain", "eventsourcing", "langgraph")
PEERS = IMPLS[1:]
_SYNC = getattr(os, "fdatasync", os.fsync)
_STEPS = ("plan", "code", "review")


# -- the events and the projection ---------------------------------------------------------


def peer_dicts(events: list[Event]) -> list[dict[str, Any]]:
    """The same events as plain dicts, stamped as agentlog would (seq, id, ts)."""
    ts = "2025-01-31T12:00:00.000001Z"
    out = []
    for seq, ev in enumerate(events, 1):
        d = to_dict(ev)
        d.update(seq=seq, id=uuid.uuid4().hex, ts=ts)
        out.append(d)
    return out


class Projection:
    """What every replay folds the events into: counts per type, tokens, last seq."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.tokens = 0
        self.last_seq = 0

    def add_event(self, ev: Any) -> None:
        self.counts[type(ev).__name__] += 1
        if type(ev) is ModelCalled:
            self.tokens += ev.usage.input_tokens + ev.usage.output_tokens
        self.last_seq = max(self.last_seq, ev.seq)

    def add_dict(self, d: dict[str, Any]) -> None:
        self.counts[d["type"]] += 1
        if d["type"] == "ModelCalled":
            self.tokens += d["usage"]["input_tokens"] + d["usage"]["output_tokens"]
        self.last_seq = max(self.last_seq, d["seq"])

    def key(self) -> tuple[int, int, int]:
        return sum(self.counts.values()), self.tokens, self.last_seq


# -- agentlog -------------------------------------------------------------------------------


def agentlog_append(d: Path, events: list[Event], dicts: list[dict[str, Any]]) -> float:
    with EventLog(d).writer() as w:
        t = time.perf_counter()
        for ev in events:
            w.append(ev)
        return time.perf_counter() - t


def agentlog_fill(d: Path, events: list[Event], dicts: list[dict[str, Any]]) -> None:
    with EventLog(d).writer() as w:
        for i in range(0, len(events), 1000):
            w.append_many(events[i : i + 1000])


def agentlog_replay(d: Path) -> Projection:
    p = Projection()
    for ev in EventLog(d).read():
        p.add_event(ev)
    return p


def _agentlog_model() -> ScriptedModel:
    return ScriptedModel({step: [{"tool_input": ANSWERS[step]}] for step in _STEPS})


def agentlog_workflow(d: Path, runs: int) -> float:
    sup = Supervisor(WorkflowConfig(), model=_agentlog_model())
    t = time.perf_counter()
    for i in range(runs):
        result = sup.run(TASK, d / f"run-{i}")
        assert result.verdict == "approve", result
    return time.perf_counter() - t


# -- plain JSON lines and files (the floor) -----------------------------------------------


def plain_append(d: Path, events: list[Event], dicts: list[dict[str, Any]]) -> float:
    d.mkdir(parents=True, exist_ok=True)
    fd = os.open(d / "events.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    dumps, write, sync = json.dumps, os.write, _SYNC
    try:
        t = time.perf_counter()
        for ev in dicts:
            write(fd, (dumps(ev) + "\n").encode())
            sync(fd)
        return time.perf_counter() - t
    finally:
        os.close(fd)


def plain_fill(d: Path, events: list[Event], dicts: list[dict[str, Any]]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "events.jsonl", "w") as f:
        f.writelines(json.dumps(ev) + "\n" for ev in dicts)


def plain_replay(d: Path) -> Projection:
    p = Projection()
    loads = json.loads
    with open(d / "events.jsonl", "rb") as f:
        for line in f:
            p.add_dict(loads(line))
    return p


def _write_durable(path: Path, data: dict[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, json.dumps(data, indent=2).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def plain_workflow(d: Path, runs: int) -> float:
    def planner(run: Path, task: str) -> dict[str, Any]:
        plan = fake_model("plan", task, {})
        _write_durable(run / "plan.json", plan)
        return plan

    def coder(run: Path, task: str, plan: dict[str, Any]) -> dict[str, Any]:
        code = fake_model("code", task, {"plan": plan})
        _write_durable(run / "code.json", code)
        return code

    def reviewer(run: Path, task: str, plan: dict[str, Any], code: dict[str, Any]) -> None:
        _write_durable(run / "review.json", fake_model("review", task, {"code": code}))
        _fsync_dir(run)

    t = time.perf_counter()
    for i in range(runs):
        run = d / f"run-{i}"
        run.mkdir(parents=True)
        plan = planner(run, TASK)
        reviewer(run, TASK, plan, coder(run, TASK, plan))
    return time.perf_counter() - t


# -- eventsourcing ------------------------------------------------------------------------


def _es_recorder(d: Path) -> Any:
    from eventsourcing.sqlite import (
        SQLiteApplicationRecorder,
        SQLiteConnection,
        SQLiteConnectionPool,
        SQLiteDatastore,
    )

    class FullSyncPool(SQLiteConnectionPool):
        """The library's pool (WAL) with ``synchronous=FULL`` set explicitly."""

        def _create_connection(self) -> SQLiteConnection:
            conn = super()._create_connection()
            conn._sqlite_conn.execute("PRAGMA synchronous=FULL")
            return conn

    d.mkdir(parents=True, exist_ok=True)
    store = SQLiteDatastore(str(d / "events.sqlite"))
    store.pool = FullSyncPool(db_name=str(d / "events.sqlite"))
    recorder = SQLiteApplicationRecorder(store)
    recorder.create_table()
    return recorder


_ES_ORIGINATOR = uuid.UUID("6f1c1b2e-0000-4000-8000-000000000001")


def _stored(d: dict[str, Any]) -> Any:
    from eventsourcing.persistence import StoredEvent

    return StoredEvent(
        originator_id=_ES_ORIGINATOR,
        originator_version=d["seq"],
        topic="agentlog.events:" + d["type"],
        state=json.dumps(d).encode(),
    )


def es_append(d: Path, events: list[Event], dicts: list[dict[str, Any]]) -> float:
    recorder = _es_recorder(d)
    insert = recorder.insert_events
    t = time.perf_counter()
    for ev in dicts:
        insert([_stored(ev)])
    elapsed = time.perf_counter() - t
    recorder.datastore.close()
    return elapsed


def es_fill(d: Path, events: list[Event], dicts: list[dict[str, Any]]) -> None:
    recorder = _es_recorder(d)
    for i in range(0, len(dicts), 1000):
        recorder.insert_events([_stored(ev) for ev in dicts[i : i + 1000]])
    recorder.datastore.close()


def es_replay(d: Path) -> Projection:
    recorder = _es_recorder(d)
    p = Projection()
    loads = json.loads
    for stored in recorder.select_events(_ES_ORIGINATOR):
        p.add_dict(loads(stored.state))
    recorder.datastore.close()
    return p


# -- LangGraph ----------------------------------------------------------------------------


def _lg_saver(path: Path) -> Any:
    from langgraph.checkpoint.sqlite import SqliteSaver

    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()  # WAL
    conn.execute("PRAGMA synchronous=FULL")
    return saver


_LG_CONFIG = {"configurable": {"thread_id": "bench", "checkpoint_ns": ""}}


def _lg_put_all(saver: Any, dicts: list[dict[str, Any]]) -> None:
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.base.id import uuid6

    config: Any = _LG_CONFIG
    put = saver.put
    for ev in dicts:
        seq = ev["seq"]
        checkpoint = empty_checkpoint()
        checkpoint["id"] = str(uuid6(clock_seq=seq))
        checkpoint["channel_values"] = {"event": ev}
        checkpoint["channel_versions"] = {"event": seq}
        checkpoint["updated_channels"] = ["event"]
        config = put(config, checkpoint, {"source": "loop", "step": seq}, {"event": seq})


def lg_append(d: Path, events: list[Event], dicts: list[dict[str, Any]]) -> float:
    saver = _lg_saver(d / "checkpoints.sqlite")
    t = time.perf_counter()
    _lg_put_all(saver, dicts)
    elapsed = time.perf_counter() - t
    saver.conn.close()
    return elapsed


def lg_fill(d: Path, events: list[Event], dicts: list[dict[str, Any]]) -> None:
    saver = _lg_saver(d / "checkpoints.sqlite")
    saver.conn.execute("PRAGMA synchronous=OFF")  # filling only; not timed
    _lg_put_all(saver, dicts)
    saver.conn.close()


def lg_replay(d: Path) -> Projection:
    saver = _lg_saver(d / "checkpoints.sqlite")
    p = Projection()
    for item in saver.list({"configurable": {"thread_id": "bench"}}):
        p.add_dict(item.checkpoint["channel_values"]["event"])
    saver.conn.close()
    return p


class _GraphState(TypedDict, total=False):
    run_dir: str
    task: str
    plan: dict[str, Any]
    code: dict[str, Any]
    review: dict[str, Any]


def _lg_graph(saver: Any) -> Any:
    from langgraph.graph import END, START, StateGraph

    def planner(state: _GraphState) -> _GraphState:
        plan = fake_model("plan", state["task"], {})
        _write_durable(Path(state["run_dir"]) / "plan.json", plan)
        return {"plan": plan}

    def coder(state: _GraphState) -> _GraphState:
        code = fake_model("code", state["task"], {"plan": state["plan"]})
        _write_durable(Path(state["run_dir"]) / "code.json", code)
        return {"code": code}

    def reviewer(state: _GraphState) -> _GraphState:
        review = fake_model("review", state["task"], {"code": state["code"]})
        _write_durable(Path(state["run_dir"]) / "review.json", review)
        _fsync_dir(Path(state["run_dir"]))
        return {"review": review}

    graph = StateGraph(_GraphState)
    graph.add_node("planner", planner)
    graph.add_node("coder", coder)
    graph.add_node("reviewer", reviewer)
    graph.add_edge(START, "planner")
    graph.add_edge("planner", "coder")
    graph.add_edge("coder", "reviewer")
    graph.add_edge("reviewer", END)
    return graph.compile(checkpointer=saver)


def lg_workflow(d: Path, runs: int) -> float:
    saver = _lg_saver(d / "checkpoints.sqlite")
    app = _lg_graph(saver)
    t = time.perf_counter()
    for i in range(runs):
        run = d / f"run-{i}"
        run.mkdir(parents=True)
        out = app.invoke(
            {"run_dir": str(run), "task": TASK},
            {"configurable": {"thread_id": f"run-{i}"}},
            durability="sync",
        )
        assert out["review"]["verdict"] == "approve", out
    elapsed = time.perf_counter() - t
    saver.conn.close()
    return elapsed


# -- the cases --------------------------------------------------------------------------

AppendFn = Callable[[Path, list[Event], list[dict[str, Any]]], float]
APPEND: dict[str, AppendFn] = {
    "agentlog": agentlog_append,
    "plain": plain_append,
    "eventsourcing": es_append,
    "langgraph": lg_append,
}
FILL = {
    "agentlog": agentlog_fill,
    "plain": plain_fill,
    "eventsourcing": es_fill,
    "langgraph": lg_fill,
}
REPLAY: dict[str, Callable[[Path], Projection]] = {
    "agentlog": agentlog_replay,
    "plain": plain_replay,
    "eventsourcing": es_replay,
    "langgraph": lg_replay,
}
WORKFLOW: dict[str, Callable[[Path, int], float]] = {
    "agentlog": agentlog_workflow,
    "plain": plain_workflow,
    "langgraph": lg_workflow,
}


def _fresh(base: Path, name: str) -> Path:
    d = base / name
    shutil.rmtree(d, ignore_errors=True)
    return d


def _alternate(
    reps: int, impls: Iterable[str], once: Callable[[str, int], float]
) -> dict[str, list[float]]:
    """Time each implementation in turn, ``reps`` rounds, the order rotating each round."""
    order = list(impls)
    times: dict[str, list[float]] = {name: [] for name in order}
    for rep in range(reps):
        for name in order[rep % len(order) :] + order[: rep % len(order)]:
            gc.collect()
            times[name].append(once(name, rep))
            print(f"  {name:<14} rep {rep + 1}: {times[name][-1]:.3f} s", file=sys.stderr)
    return times


def case_append(base: Path, n: int, reps: int) -> dict[str, list[float]]:
    events = workload(n)
    dicts = peer_dicts(events)
    return _alternate(
        reps, IMPLS, lambda name, rep: APPEND[name](_fresh(base, f"c1-{name}"), events, dicts)
    )


def prepare_replay(base: Path, n: int) -> None:
    events = workload(n)
    dicts = peer_dicts(events)
    for name in IMPLS:
        FILL[name](_fresh(base, f"c2-{name}"), events, dicts)


def case_replay(base: Path, reps: int) -> dict[str, list[float]]:
    keys: dict[str, tuple[int, int, int]] = {}

    def once(name: str, rep: int) -> float:
        t = time.perf_counter()
        keys[name] = REPLAY[name](base / f"c2-{name}").key()
        return time.perf_counter() - t

    times = _alternate(reps, IMPLS, once)
    assert len(set(keys.values())) == 1, f"the projections differ: {keys}"
    return times


def case_workflow(base: Path, runs: int, reps: int) -> dict[str, list[float]]:
    return _alternate(
        reps, WORKFLOW, lambda name, rep: WORKFLOW[name](_fresh(base, f"c3-{name}"), runs)
    )


def _vm_hwm_kib() -> int:
    with open("/proc/self/status") as f:
        for row in f:
            if row.startswith("VmHWM:"):
                return int(row.split()[1])
    return 0


def child_memory(case: str, name: str, base: Path, runs: int) -> None:
    """In a fresh process: import everything, then run one case once; print peak RSS."""
    for module in ("eventsourcing.sqlite", "langgraph.checkpoint.sqlite", "langgraph.graph"):
        importlib.import_module(module)

    before = _vm_hwm_kib()
    if case == "replay":
        REPLAY[name](base / f"c2-{name}")
    else:
        WORKFLOW[name](_fresh(base, f"m3-{name}"), runs)
    print(json.dumps({"before_kib": before, "peak_kib": _vm_hwm_kib()}))


def memory(base: Path, case: str, impls: Iterable[str], runs: int) -> dict[str, dict[str, int]]:
    out = {}
    for name in impls:
        argv = [sys.executable, __file__, "--child", case, name, str(base), "--runs", str(runs)]
        out[name] = json.loads(
            subprocess.run(argv, check=True, capture_output=True, text=True).stdout
        )
    return out


# -- reporting --------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(r.split(":", 1)[1].strip() for r in f if r.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {mem:.0f} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def table(results: dict[str, Any]) -> str:
    rows = [
        "| case | agentlog | plain (floor) | eventsourcing | LangGraph "
        "| plain / agentlog | eventsourcing / agentlog | LangGraph / agentlog |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in results["cases"]:
        cells = case["cells"]
        ours = cells["agentlog"]
        notes = case.get("notes", {})
        values = [
            f"{cells[n]:,.{case['digits']}f} {case['unit']}{notes.get(n, '')}"
            if n in cells
            else "n/a"
            for n in IMPLS
        ]
        ratios = [f"{cells[n] / ours:.2f}x" if n in cells else "n/a" for n in PEERS]
        rows.append(f"| {case['name']} | " + " | ".join(values + ratios) + " |")
    return "\n".join(rows)


def _cell_case(
    name: str, unit: str, digits: int, cells: dict[str, float], notes: dict[str, str] | None = None
) -> dict[str, Any]:
    return {"name": name, "unit": unit, "digits": digits, "cells": cells, "notes": notes or {}}


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    cases = results["cases"]
    fig, ax = plt.subplots(figsize=(10, 4.8))
    width = 0.26
    colors = {"plain": "#999999", "eventsourcing": "#4c72b0", "langgraph": "#dd8452"}
    for k, peer in enumerate(PEERS):
        xs, ys = [], []
        for i, case in enumerate(cases):
            if peer in case["cells"]:
                xs.append(i + (k - 1) * width)
                ys.append(case["cells"][peer] / case["cells"]["agentlog"])
        bars = ax.bar(xs, ys, width, label=peer, color=colors[peer])
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%.1f"))
    labels = [textwrap.fill(c["name"], 20) for c in cases]
    ax.set_xticks(range(len(cases)), labels, fontsize=8)
    ax.set_ylabel("peer / agentlog (log scale; > 1 = agentlog ahead)")
    ax.set_title("agentlog against its peers (medians)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=100_000, help="events of cases 1 and 2")
    ap.add_argument("--append-events", type=int, help="events of case 1 (default: --events)")
    ap.add_argument("--runs", type=int, default=1000, help="workflow runs of case 3")
    ap.add_argument("--reps", type=int, default=3, help="alternating repetitions per case")
    ap.add_argument("--cases", default="1,2,3,4", help="which cases to run, e.g. 2,3")
    ap.add_argument("--quick", action="store_true", help="a smoke run: few events, runs, reps")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    ap.add_argument("--plot", type=Path, help="write the ratio plot (PNG) here")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        case, name, base = args.child
        child_memory(case, name, Path(base), args.runs)
        return
    if args.quick:
        args.events, args.runs, args.reps = 2000, 20, 2
    appends = args.append_events or args.events
    wanted = {int(c) for c in args.cases.split(",")}
    cases: list[dict[str, Any]] = []
    raw: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".compare-") as tmp:
        base = Path(tmp)
        if 1 in wanted:
            print(f"case 1: {appends:,} durable appends", file=sys.stderr)
            raw["append"] = t = case_append(base, appends, args.reps)
            cells = {n: 1e6 * statistics.median(v) / appends for n, v in t.items()}
            cases.append(_cell_case(f"1. durable append ({appends:,})", "µs/event", 1, cells))
        if wanted & {2, 4}:
            prepare_replay(base, args.events)
        if 2 in wanted:
            print(f"case 2: replay of {args.events:,} events", file=sys.stderr)
            raw["replay"] = t = case_replay(base, args.reps)
            cells = {n: 1e3 * statistics.median(v) for n, v in t.items()}
            cases.append(_cell_case(f"2. replay ({args.events:,})", "ms", 1, cells))
        if 3 in wanted:
            print(f"case 3: {args.runs:,} workflow runs", file=sys.stderr)
            raw["workflow"] = t = case_workflow(base, args.runs, args.reps)
            cells = {n: 1e3 * statistics.median(v) / args.runs for n, v in t.items()}
            cases.append(_cell_case(f"3. workflow ({args.runs:,} runs)", "ms/run", 2, cells))
        if 4 in wanted:
            print("case 4: peak memory, one child process each", file=sys.stderr)
            for case, impls, label in (
                ("replay", IMPLS, f"4a. peak RSS, replay ({args.events:,})"),
                ("workflow", tuple(WORKFLOW), f"4b. peak RSS, workflow ({args.runs:,} runs)"),
            ):
                raw[f"memory-{case}"] = m = memory(base, case, impls, args.runs)
                cells = {n: v["peak_kib"] / 1024 for n, v in m.items()}
                grew = {
                    n: f" (+{(v['peak_kib'] - v['before_kib']) / 1024:.0f})" for n, v in m.items()
                }
                cases.append(_cell_case(label, "MiB", 0, cells, grew))
    results = {
        "machine": machine(),
        "command": " ".join(["python", *sys.argv]),
        "cases": cases,
        "raw": raw,
    }
    print(f"machine: {results['machine']}")
    print(f"command: {results['command']}")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
