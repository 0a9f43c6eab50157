"""Benchmark of the agent loop (issue 25; issue 27 target 6).

Run ``python benchmarks/loop_bench.py [--parts 1,2,3,4]``. Prints figures and ratios,
asserts nothing. Runs go to a temporary directory next to this repository (same
filesystem), removed at the end.

1. Own time per turn: a workspace run whose Coder makes ``--turns`` turns (read_file and
   edit_file in turn, then submit; Planner and Reviewer submit at once) on a zero-latency
   ScriptedModel, so all of the time is agentlog's. Floor, in the same process and
   interleaved round by round: the same events (decoded from the run's own log) encoded
   with ``events.encode_line`` and appended with ``fdatasync`` at the same sync points the
   supervisor used (recorded from a run), and the same objects (every file of
   ``objects/``) each written as a new file with fsync of the file and of its directory,
   as the object store does. Target: within 2x.
2. Prompt cache: a 30-turn loop through the real ``anthropic`` client against
   ``tests/fake_anthropic.py`` with ``measure_usage=True``: the share of input tokens read
   from the cache from turn 3 on (goal >= 80%) and the cost at the model's price against
   the same loop sent without any ``cache_control`` (stripped on the way to the client).
3. Scale: a loop of 100, 250 and 500 turns, each run in a fresh process (peak RSS,
   ``VmHWM``; target < 100 MiB) and replayed in another (time per turn: linear?).
4. Syncs: ``fsync``/``fdatasync`` calls of a 50-turn run under ``strace -f -c`` (if strace
   is there) per turn, and part 1's own time x 50 against the same loop at 1 s a model
   turn (target: < 10%).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

MODEL = "claude-sonnet-5-5"
PLAN: dict[str, Any] = {
    "summary": "Mark the items done",
    "steps": [{"title": "notes", "description": "mark them", "files": ["notes.txt"]}],
}
REVIEW: dict[str, Any] = {"verdict": "approve", "summary": "Fine."}
TASK = "mark every item done"
#: The CPU seconds (all threads) of the last run or floor write.
LAST_CPU = [0.0]


def calls(turns: int) -> list[tuple[str, dict[str, Any]]]:
    """The Coder's ``turns`` calls: read_file and edit_file in turn, then submit."""
    out: list[tuple[str, dict[str, Any]]] = []
    for k in range(turns - 1):
        if k % 2 == 0:
            out.append(("read_file", {"path": "src/mod.py"}))
        else:
            edit = {"path": "notes.txt", "old_text": f"<{k}> todo", "new_text": f"<{k}> done"}
            out.append(("edit_file", edit))
    out.append(("submit", {"summary": "done"}))
    return out


def script(turns: int) -> dict[str, Any]:
    code = [{"tool_calls": [{"name": n, "input": i}]} for n, i in calls(turns)]
    return {
        "plan": [{"tool_calls": [{"name": "submit", "input": PLAN}]}],
        "code": code,
        "review": [{"tool_calls": [{"name": "submit", "input": REVIEW}]}],
    }


def make_repo(path: Path, turns: int) -> Path:
    """A small workspace: a ~2.6 KB module read, a notes file with a line per turn edited."""
    (path / "src").mkdir(parents=True)
    (path / "notes.txt").write_text("".join(f"item <{k}> todo\n" for k in range(turns)))
    body = "".join(f"def f{k}(x):\n    return x + {k}\n\n\n" for k in range(80))
    (path / "src" / "mod.py").write_text(body)
    return path


def config(turns: int) -> Any:
    from actors import WorkflowConfig

    return WorkflowConfig(
        agent_loop=True, backoff_base=0, max_retries=0, max_turns=turns + 5, model=MODEL
    )


def run_scripted(where: Path, turns: int) -> tuple[float, Path]:
    """One workspace run of a ``turns``-turn Coder loop; its wall seconds and run dir."""
    from actors import Supervisor
    from actors.models import ScriptedModel

    where.mkdir(parents=True)
    repo = make_repo(where / "repo", turns)
    model = ScriptedModel(script(turns), name=MODEL)
    started, cpu = time.perf_counter(), time.process_time()
    Supervisor(config(turns), model=model).run(TASK, where / "run", workspace=repo)
    LAST_CPU[0] = time.process_time() - cpu
    return time.perf_counter() - started, where / "run"


# -- part 1: own time against the plain-Python floor ---------------------------------------


@contextmanager
def sync_points() -> Iterator[list[int]]:
    """Record the log's size at each sync the event log makes."""
    import store._writer as writer

    sizes: list[int] = []
    real = writer._sync

    def recording(fd: int) -> None:
        sizes.append(os.fstat(fd).st_size)
        real(fd)

    writer._sync = recording
    try:
        yield sizes
    finally:
        writer._sync = real


class Floor:
    """What a run writes, to be written again in plain Python."""

    def __init__(self, run: Path, syncs: list[int]) -> None:
        from store import EventLog

        self.events: list[Any] = list(EventLog(run).read())
        self.syncs = set(syncs)
        self.objects: list[tuple[str, bytes]] = []
        for path in sorted((run / "objects").rglob("*")):
            if path.is_file():
                self.objects.append((str(path.relative_to(run / "objects")), path.read_bytes()))

    def write(self, where: Path) -> float:
        from events import encode_line

        started, cpu = time.perf_counter(), time.process_time()
        where.mkdir()
        fd = os.open(where / "events.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        size = 0
        per = max(1, len(self.objects) // max(1, len(self.events)))
        todo = list(self.objects)
        try:
            for ev in self.events:
                line = encode_line(ev)
                os.write(fd, line)
                size += len(line)
                if size in self.syncs:
                    os.fdatasync(fd)
                for name, data in todo[:per]:  # objects spread over the run
                    _write_object(where / "objects", name, data)
                del todo[:per]
            os.fdatasync(fd)
        finally:
            os.close(fd)
        for name, data in todo:
            _write_object(where / "objects", name, data)
        LAST_CPU[0] = time.process_time() - cpu
        return time.perf_counter() - started


def _write_object(root: Path, name: str, data: bytes) -> None:
    path = root / name
    new_dir = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    for d in (path.parent, path.parent.parent) if new_dir else (path.parent,):
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def part1(tmp: Path, turns: int, rounds: int) -> float:
    print(f"\n## 1. own time per turn ({turns}-turn Coder loop, zero-latency model)")
    short = max(2, turns // 5)
    floors = {}
    for n in (turns, short):
        with sync_points() as syncs:
            _, first = run_scripted(tmp / f"p1-probe-{n}", n)
        floors[n] = Floor(first, syncs)
    from collections import Counter

    floor = floors[turns]
    kinds = Counter(type(ev).__name__ for ev in floor.events)
    print(
        f"a run: {len(floor.events)} events ({dict(kinds)}), {len(floor.syncs)} log syncs, "
        f"{len(floor.objects)} objects ({sum(len(d) for _, d in floor.objects):,} bytes)"
    )
    times: dict[tuple[str, int], list[float]] = {}
    for r in range(rounds):
        for n in (turns, short):
            times.setdefault(("own", n), []).append(run_scripted(tmp / f"p1-{r}-{n}", n)[0])
            times.setdefault(("own cpu", n), []).append(LAST_CPU[0])
            times.setdefault(("floor", n), []).append(floors[n].write(tmp / f"p1-f-{r}-{n}"))
            times.setdefault(("floor cpu", n), []).append(LAST_CPU[0])
            shutil.rmtree(tmp / f"p1-{r}-{n}")
            shutil.rmtree(tmp / f"p1-f-{r}-{n}")
    own, base = times[("own", turns)], times[("floor", turns)]
    o, f = statistics.median(own), statistics.median(base)
    print(f"agentlog run: median {o * 1e3:.1f} ms ({min(own) * 1e3:.1f}-{max(own) * 1e3:.1f})")
    print(f"floor:        median {f * 1e3:.1f} ms ({min(base) * 1e3:.1f}-{max(base) * 1e3:.1f})")
    ratios = sorted(a / b for a, b in zip(own, base, strict=True))
    print(
        f"per turn (whole run / turns): {o / turns * 1e3:.2f} ms vs {f / turns * 1e3:.2f} ms: "
        f"{o / f:.2f}x (round by round {ratios[0]:.2f}-{ratios[-1]:.2f}x; target <= 2x)"
    )
    # A turn alone: the run less a short one, round by round (no per-run costs).
    span = turns - short
    own_turn = [(a - b) / span for a, b in zip(own, times[("own", short)], strict=True)]
    floor_turn = [(a - b) / span for a, b in zip(base, times[("floor", short)], strict=True)]
    ot, ft = statistics.median(own_turn), statistics.median(floor_turn)
    print(
        f"a turn alone ({turns}-turn run less a {short}-turn one): {ot * 1e3:.2f} ms vs "
        f"{ft * 1e3:.2f} ms: {ot / ft:.2f}x"
    )
    oc, fc = (
        statistics.median(times[("own cpu", turns)]),
        statistics.median(times[("floor cpu", turns)]),
    )
    print(
        f"CPU (all threads) per turn: {oc / turns * 1e3:.2f} ms vs {fc / turns * 1e3:.2f} ms: "
        f"{oc / fc:.2f}x"
    )
    return o / turns


# -- part 2: prompt cache through the real client -------------------------------------------


def part2(tmp: Path, turns: int) -> None:
    print(f"\n## 2. prompt cache: a {turns}-turn loop via the anthropic client (stand-in)")
    from actors.pricing import price_for, usage_cost
    from events import ModelCalled
    from store import EventLog

    price = price_for(MODEL)
    assert price is not None
    results = {}
    for label, strip in (("breakpoints", False), ("no breakpoints", True)):
        run = _cached_run(tmp / f"p2-{label.replace(' ', '-')}", turns, strip)
        turns_ = [
            ev for ev in EventLog(run).read() if isinstance(ev, ModelCalled) and ev.step == "code"
        ]
        later = turns_[2:]
        read = sum(t.usage.cache_read_input_tokens for t in later)
        total = sum(
            t.usage.input_tokens
            + t.usage.cache_read_input_tokens
            + t.usage.cache_creation_input_tokens
            for t in later
        )
        cost = sum(usage_cost(t.usage, price) for t in turns_)
        results[label] = cost
        print(
            f"{label}: {len(turns_)} Coder turns; from turn 3: {read:,} of {total:,} input "
            f"tokens read from the cache ({read / max(total, 1):.1%}); Coder cost ${cost:.4f}"
        )
    ratio = results["breakpoints"] / results["no breakpoints"]
    print(f"cost with breakpoints / without: {ratio:.2f}x")


def _cached_run(where: Path, turns: int, strip: bool) -> Path:
    from fake_anthropic import FakeAnthropic

    from actors import Supervisor
    from actors.models import AnthropicModel

    where.mkdir(parents=True)
    repo = make_repo(where / "repo", turns)
    with FakeAnthropic(measure_usage=True) as server:
        server.reply_tool_use(PLAN, name="submit")
        for name, args in calls(turns):
            server.reply_tool_use(args, name=name)
        server.reply_tool_use(REVIEW, name="submit")
        model = AnthropicModel(MODEL, api_key="sk-ant-bench-key", base_url=server.url)
        if strip:
            client = model._get_client()
            send = client.messages.create

            def create(**kw: Any) -> Any:
                return send(**{k: _uncached(v) for k, v in kw.items()})

            client.messages.create = create  # type: ignore[method-assign]
        Supervisor(config(turns), model=model).run(TASK, where / "run", workspace=repo)
    return where / "run"


def _uncached(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _uncached(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_uncached(v) for v in value]
    return value


# -- part 3: scale, each figure in a fresh process -------------------------------------------


def _peak_mib() -> float:
    status = Path("/proc/self/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else float("nan")


def child(argv: list[str]) -> None:
    """``--child run TURNS DIR`` / ``--child replay DIR`` / ``--child floor``: one JSON line."""
    what = argv[0]
    if what == "floor":
        import actors.replaying
        import actors.supervisor  # noqa: F401

        print(json.dumps({"peak_mib": _peak_mib()}))
        return
    if what == "run":
        seconds, run = run_scripted(Path(argv[2]), int(argv[1]))
        kept = sum(f.stat().st_size for f in (run / "objects").rglob("*") if f.is_file())
        log = (run / "events.jsonl").stat().st_size
        print(
            json.dumps({"seconds": seconds, "peak_mib": _peak_mib(), "objects": kept, "log": log})
        )
        return
    else:
        from actors.replaying import replay

        started = time.perf_counter()
        report = replay(argv[1])
        seconds = time.perf_counter() - started
        if not report.ok:
            print(f"replay: {report.verdict}", file=sys.stderr)
    print(json.dumps({"seconds": seconds, "peak_mib": _peak_mib()}))


def _child(*args: str, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [*prefix, sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def part3(tmp: Path, sizes: list[int]) -> None:
    print(f"\n## 3. scale: loops of {', '.join(map(str, sizes))} turns, each in a fresh process")
    floor = _child("floor")["peak_mib"]
    print(f"floor: importing the supervisor and replay: {floor:.1f} MiB peak")
    print(
        "turns | run s | ms/turn | peak MiB | replay s | replay ms/turn | replay peak MiB"
        " | log, objects MB"
    )
    for n in sizes:
        where = tmp / f"p3-{n}"
        ran = _child("run", str(n), str(where))
        rep = _child("replay", str(where / "run"))
        r, p = ran["seconds"], rep["seconds"]
        print(
            f"{n} | {r:.2f} | {r / n * 1e3:.2f} | {ran['peak_mib']:.1f} | "
            f"{p:.2f} | {p / n * 1e3:.2f} | {rep['peak_mib']:.1f} | "
            f"{ran['log'] / 1e6:.1f}, {ran['objects'] / 1e6:.1f}"
        )
        shutil.rmtree(where)


# -- part 4: syncs per turn -----------------------------------------------------------------


def part4(tmp: Path, own_per_turn: float | None, turns: int) -> None:
    print(f"\n## 4. syncs: a {turns}-turn loop")
    if own_per_turn is not None:
        own = own_per_turn * turns
        print(
            f"own time {own:.3f} s vs the same loop at 1 s a model turn ({turns} s): "
            f"{own / turns:.2%} (target < 10%)"
        )
    if shutil.which("strace") is None:
        print("strace not found: no sync count")
        return
    report = tmp / "strace.txt"
    _child(
        "run",
        str(turns),
        str(tmp / "p4"),
        prefix=("strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", str(report)),
    )
    counts = {}
    for line in report.read_text().splitlines():
        cols = line.split()
        if cols and cols[-1] in ("fsync", "fdatasync"):
            counts[cols[-1]] = int(cols[3])
    total = sum(counts.values())
    tools = turns + 2  # the Coder's calls and the Planner's and Reviewer's submits
    print(
        f"fsync {counts.get('fsync', 0)}, fdatasync {counts.get('fdatasync', 0)}: {total} in "
        f"all for {turns + 2} model turns and {tools} tool calls: {total / tools:.2f} a tool call"
    )
    short = 10
    if turns <= short:
        return
    many, few = _syncs_by_file(tmp, turns), _syncs_by_file(tmp, short)
    print(f"by file, per turn ({turns}-turn run less a {short}-turn one):")
    for what in sorted(many, key=lambda k: -many[k]):
        print(f"  {what}: {(many[what] - few.get(what, 0)) / (turns - short):.2f}")


def _syncs_by_file(tmp: Path, turns: int) -> dict[str, int]:
    """The syncs of a ``turns``-turn run by the kind of file synced (``strace -y``)."""
    out = tmp / f"strace-{turns}.txt"
    prefix = ("strace", "-f", "-y", "-e", "trace=fsync,fdatasync", "-o", str(out))
    _child("run", str(turns), str(tmp / f"p4-{turns}"), prefix=prefix)
    kinds = [
        (r"events\.jsonl>", "log (fdatasync)"),
        (r"objects/[0-9a-f]{2}/\.", "object file"),
        (r"objects/[0-9a-f]{2}>", "object fan-out directory"),
        (r"objects>", "objects/ (a new fan-out directory)"),
    ]
    counts: dict[str, int] = {}
    for line in out.read_text().splitlines():
        if "sync(" not in line or "resumed>" in line:
            continue
        what = next((name for pattern, name in kinds if re.search(pattern, line)), "other")
        counts[what] = counts.get(what, 0) + 1
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="1,2,3,4")
    ap.add_argument("--turns", type=int, default=50, help="part 1 and 4 (default 50)")
    ap.add_argument("--rounds", type=int, default=5, help="part 1 rounds (default 5)")
    ap.add_argument("--cache-turns", type=int, default=30)
    ap.add_argument("--sizes", default="100,250,500", help="part 3 loop lengths")
    ap.add_argument("--child", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    parts = {int(p) for p in args.parts.split(",")}
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    tmp = Path(tempfile.mkdtemp(prefix="loop-bench-", dir=ROOT.parent))
    try:
        own: float | None = None
        steps: list[tuple[int, Callable[[], Any]]] = [
            (1, lambda: part1(tmp, args.turns, args.rounds)),
            (2, lambda: part2(tmp, args.cache_turns)),
            (3, lambda: part3(tmp, [int(s) for s in args.sizes.split(",")])),
        ]
        for number, fn in steps:
            if number in parts:
                result = fn()
                if number == 1:
                    own = result
        if 4 in parts:
            part4(tmp, own, args.turns)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
