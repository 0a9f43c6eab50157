"""Issue 27: each performance target against its floor, measured in the same run.

Three rounds, interleaved (floor, then agentlog, round after round), each step in a fresh
child process so its peak RSS is its own; the load average is printed with each figure.

- ``workspace`` (target 3): a synthetic git repository (default 1,000 files, 70 MB of
  Python text, no download). Floor: a child that lists the files (``git ls-files``),
  reads, hashes (SHA-256) and appends each to one pack, writes its index and fsyncs both.
  Measured: ``record_base`` into a fresh run (time, peak RSS) and a whole scripted
  workflow on the repository (peak RSS, fsync and syncfs calls).
- ``viewer`` (target 4): a run of 100k events and 1,000 small runs; floor: reading the
  log (``cat``-like, one read of its bytes) in a cold child. Measured in cold children:
  the overview of the large run, the runs list of 1,000 runs, ``agentlog ls``.
- ``startup`` (target 5): ``agentlog log`` and ``agentlog show`` of a small run against
  ``python -c pass`` (CPU time of the child, user + system).

    python benchmarks/issue27_bench.py workspace viewer startup
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
#: Children run as an installed agentlog does: with bytecode caches (a session that sets
#: PYTHONDONTWRITEBYTECODE would compile every module of ours on every start).
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPATH": str(ROOT),
}
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}
MIB = 1 << 20
#: Where children run: ``python -c`` imports from its working directory first.
CWD = {"dir": ROOT}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def child(code: str, *args: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; its last line of output, split."""
    out = subprocess.run(
        [PY, "-c", code, *args], env=ENV, check=True, capture_output=True, text=True, cwd=CWD["dir"]
    )
    return out.stdout.strip().splitlines()[-1].split()


def rounds(steps: dict[str, Callable[[], list[float]]], n: int) -> dict[str, list[list[float]]]:
    """Each step ``n`` times, interleaved; its figures per round."""
    got: dict[str, list[list[float]]] = {name: [] for name in steps}
    for r in range(n):
        for name, step in steps.items():
            got[name].append(step())
        print(f"  round {r + 1} done ({load()})", flush=True)
    return got


def med(values: list[list[float]], i: int) -> float:
    return statistics.median(v[i] for v in values)


# --- target 3: the workspace ---------------------------------------------------------


def make_repo(root: Path, files: int, total: int) -> int:
    """A git repository of ``files`` varied Python modules, ``total`` bytes in all."""
    size = total // files
    written = 0
    for i in range(files):
        lines = [f'"""Module {i}: generated for the benchmark."""\n', "import os\n\n"]
        j = 0
        while sum(map(len, lines)) < size:
            lines.append(
                f"def func_{i}_{j}(value: int, name: str = 'n{j}') -> int:\n"
                f"    # step {j} of module {i}\n"
                f"    return value * {j} + len(name) + {i}\n\n\n"
            )
            j += 1
        body = "".join(lines)[:size]
        body = body[: body.rfind("\n") + 1]
        path = root / f"pkg{i % 40}" / f"sub{i % 7}" / f"mod_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        written += len(body)
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "big"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env)
    return written


FLOOR_RECORD = """
import hashlib, os, resource, subprocess, sys, time
repo, out = sys.argv[1], sys.argv[2]
t = time.perf_counter()
names = subprocess.run(["git", "-C", repo, "ls-files", "-z"], capture_output=True,
                       check=True).stdout.split(b"\\0")
os.makedirs(out)
pack = os.open(os.path.join(out, "p.pack"), os.O_WRONLY | os.O_CREAT, 0o444)
index, offset = [], 0
for name in names:
    if not name:
        continue
    with open(os.path.join(repo.encode(), name), "rb") as f:
        data = f.read()
    index.append(f"{hashlib.sha256(data).hexdigest()} {offset} {len(data)}\\n")
    os.write(pack, data)
    offset += len(data)
os.fsync(pack); os.close(pack)
idx = os.open(os.path.join(out, "p.idx"), os.O_WRONLY | os.O_CREAT, 0o444)
os.write(idx, "".join(index).encode()); os.fsync(idx); os.close(idx)
dfd = os.open(out, os.O_RDONLY); os.fsync(dfd); os.close(dfd)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""

SCAN = """
import os, subprocess, sys, time
from store.credentials import environment_secrets, secret_in_file
repo = sys.argv[1]
names = subprocess.run(["git", "-C", repo, "ls-files", "-z"], capture_output=True,
                       check=True).stdout.split(b"\\0")
files = []
for name in names:
    if name:
        with open(os.path.join(repo.encode(), name), "rb") as f:
            files.append((name.decode(), f.read()))
env = environment_secrets()
secret_in_file("warm-up", b"", env)  # the expressions compiled: the scan alone is timed
t = time.perf_counter()
for name, data in files:
    secret_in_file(name, data, env)
print(time.perf_counter() - t, sum(len(data) for _, data in files))
"""

RECORD = """
import resource, sys, time
from store import record_base
t = time.perf_counter()
base = record_base(sys.argv[1], sys.argv[2])
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""

WORKFLOW = """
import os, resource, sys, time
import store.projection_sync as ps
calls = [0, 0]
real_fsync, real_syncfs = os.fsync, getattr(ps, "_syncfs", None)  # None: an older tree
def fsync(fd):
    calls[0] += 1
    real_fsync(fd)
def syncfs(d):
    calls[1] += 1
    return real_syncfs(d)
os.fsync = fsync
if real_syncfs is not None:
    ps._syncfs = syncfs
from actors import Supervisor, WorkflowConfig
from actors.models import ScriptedModel
repo, run = sys.argv[1], sys.argv[2]
edit = "pkg0/sub0/mod_0.py"
plan = {"summary": "s", "steps": [{"title": "e", "description": "d", "files": [edit]}]}
change = {"changes": [{"op": "edit", "path": edit, "search": "# step 0 of module 0\\n",
                       "replace": "# step zero of module 0\\n"}]}
model = ScriptedModel({"plan": [{"tool_input": plan}], "code": [{"tool_input": change}],
                       "review": [{"tool_input": {"verdict": "approve", "summary": "ok"}}]})
t = time.perf_counter()
result = Supervisor(WorkflowConfig(backoff_base=0, step_timeout=600), model=model).run(
    "edit", run, workspace=repo)
assert result.ok, result.error
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
      calls[0], calls[1])
"""


def bench_workspace(work: Path, files: int, megabytes: int, n: int) -> list[str]:
    repo = work / "repo"
    repo.mkdir(parents=True)
    total = make_repo(repo, files, megabytes * 1_000_000)
    print(f"workspace: {files} files, {total / 1e6:.1f} MB (git, committed) ({load()})")
    subprocess.run(
        f"git -C {repo} ls-files -z | (cd {repo} && xargs -0 cat) > /dev/null",
        shell=True,
        check=True,
    )
    seq = iter(range(1_000_000))

    def step(code: str) -> Callable[[], list[float]]:
        return lambda: [float(x) for x in child(code, str(repo), str(work / f"o{next(seq)}"))]

    scan = FLOOR_RECORD.replace(
        "    index.append(", "    secret_in_file(name.decode(), data, env)\n    index.append("
    )
    scan = "from store.credentials import environment_secrets, secret_in_file\n" + scan
    scan = scan.replace(
        "t = time.perf_counter()", "env = environment_secrets()\nt = time.perf_counter()"
    )
    got = rounds(
        {"floor": step(FLOOR_RECORD), "floor+scan": step(scan), "record": step(RECORD)}
        | {"scan": step(SCAN)}
        | {"workflow": step(WORKFLOW)},
        n,
    )
    f_t, f_rss = med(got["floor"], 0), med(got["floor"], 1)
    s_t = med(got["floor+scan"], 0)
    r_t, r_rss = med(got["record"], 0), med(got["record"], 1)
    w_t, w_rss = med(got["workflow"], 0), med(got["workflow"], 1)
    fsyncs, syncfs = med(got["workflow"], 2), med(got["workflow"], 3)
    print(f"floor: read + hash + pack + fsync : {f_t * 1000:8.1f} ms  peak {f_rss / MIB:6.1f} MiB")
    print(f"floor + the secret check per file : {s_t * 1000:8.1f} ms")
    scan_t, scan_bytes = med(got["scan"], 0), med(got["scan"], 1)
    print(f"secret check alone (in memory)    : {scan_bytes / scan_t / 1e6:8.1f} MB/s")
    print(
        f"record_base                       : {r_t * 1000:8.1f} ms  peak {r_rss / MIB:6.1f} MiB"
        f"  -> {r_t / f_t:.2f}x the floor's time ({r_t / s_t:.2f}x with the secret check),"
        f" {r_rss / f_rss:.2f}x its memory"
    )
    print(
        f"whole workflow (scripted)         : {w_t * 1000:8.1f} ms  peak {w_rss / MIB:6.1f} MiB"
        f"  ({fsyncs:.0f} fsyncs, {syncfs:.0f} syncfs)"
    )
    return [
        verdict(f"3a record_base peak {r_rss / MIB:.1f} MiB < 60 MiB", r_rss < 60 * MIB),
        verdict(f"3b record_base {r_t / f_t:.2f}x the floor <= 1.5x", r_t <= 1.5 * f_t),
        verdict(f"3c workflow peak {w_rss / MIB:.1f} MiB < 100 MiB", w_rss < 100 * MIB)
        + f" ({fsyncs:.0f} fsyncs + {syncfs:.0f} syncfs for {files} files)",
    ]


# --- target 4: the viewer's overview and the runs list, cold ----------------------

FLOOR_READ = """
import sys, time
from store import EventLog
t, c = time.perf_counter(), time.process_time()
n = sum(1 for _ in EventLog(sys.argv[1]).read())
print(time.perf_counter() - t, n, time.process_time() - c)
"""

OVERVIEW = """
import sys, time
from pathlib import Path
from actors.viewer.app import _Viewer
root = Path(sys.argv[1])
t, c = time.perf_counter(), time.process_time()
data = _Viewer(root, 0.5).overview("long", root / "long")
print(time.perf_counter() - t, data["summary"]["events"], time.process_time() - c)
"""

LIST = """
import sys, time
from pathlib import Path
from actors.viewer import list_runs
t, c = time.perf_counter(), time.process_time()
n = len(list_runs(Path(sys.argv[1])))
print(time.perf_counter() - t, n, time.process_time() - c)
"""


def _uncache(root: Path) -> None:
    """Remove the ``ls`` cache, the directory's one file (or, in a source tree from before
    it, every run's own): the next read is cold."""
    for cache in [*root.glob(".ls-cache.json"), *root.glob("*/.ls-cache.json")]:
        cache.unlink()


def _wall(cmd: list[str]) -> list[float]:
    """The wall time of the whole process, and its CPU time (user + system): on a loaded
    machine the CPU time is the figure that says what the process itself costs."""
    import resource
    import time

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=ENV, check=True, stdout=subprocess.DEVNULL, cwd=CWD["dir"])
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return [wall, cpu]


def bench_viewer(work: Path, events: int, runs: int, n: int) -> list[str]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from viewer_bench import SAMPLE, big_run

    big = work / "big"
    big.mkdir(parents=True)
    size = big_run(big / "long", events)
    many = work / "many"
    many.mkdir()
    sample = SAMPLE.read_bytes()
    for i in range(runs):
        (many / f"run-{i:04d}").mkdir()
        (many / f"run-{i:04d}" / "events.jsonl").write_bytes(sample)
    print(f"viewer: a run of {events:,} events ({size / MIB:.0f} MiB); {runs:,} runs ({load()})")
    log = str(big / "long")

    def cold(code: str, root: Path, arg: str) -> Callable[[], list[float]]:
        def step() -> list[float]:
            _uncache(root)
            return [float(x) for x in child(code, arg)]

        return step

    def ls_cold() -> list[float]:
        _uncache(many)
        return _wall([PY, "-c", MAIN, "ls", str(many)])

    got = rounds(
        {
            "floor": cold(FLOOR_READ, big, log),
            "overview": cold(OVERVIEW, big, str(big)),
            "list": cold(LIST, many, str(many)),
            "ls": ls_cold,
            "ls warm": lambda: _wall([PY, "-c", MAIN, "ls", str(many)]),
        },
        n,
    )
    floor, over = med(got["floor"], 0), med(got["overview"], 0)
    listed, ls, warm = med(got["list"], 0), med(got["ls"], 0), med(got["ls warm"], 0)
    ls_cpu, warm_cpu = med(got["ls"], 1), med(got["ls warm"], 1)
    print(f"floor: read the log (EventLog.read) : {floor * 1000:8.1f} ms")
    print(f"overview tab, cold                  : {over * 1000:8.1f} ms  ({over / floor:.2f}x)")
    floor_cpu, over_cpu = med(got["floor"], 2), med(got["overview"], 2)
    ratio = f"{over_cpu / floor_cpu:.2f}x: {over_cpu * 1000:.1f} / {floor_cpu * 1000:.1f} ms"
    print(f"  the same in CPU time (overview/floor): {ratio}")
    listed_cpu = med(got["list"], 2)
    listed_ms = f"{listed * 1000:8.1f} ms  (CPU {listed_cpu * 1000:.1f} ms)"
    print(f"runs list of {runs} runs, cold      : {listed_ms}")
    print(f"agentlog ls, cold (whole process)   : {ls * 1000:8.1f} ms  (warm {warm * 1000:.1f} ms)")
    cpu = f"{ls_cpu * 1000:8.1f} ms  (warm {warm_cpu * 1000:.1f} ms)"
    print(f"  the same, CPU (user + system)     : {cpu}")
    return [
        verdict(f"4a overview {over / floor:.2f}x reading the log <= 2x", over <= 2 * floor),
        verdict(f"4b runs list of {runs} runs {listed * 1000:.0f} ms < 300 ms", listed < 0.3),
        verdict(f"4c agentlog ls cold {ls * 1000:.0f} ms < 300 ms", ls < 0.3),
    ]


# --- target 5: start-up of `agentlog log` and `show` ----------------------------------

MAIN = "import sys; from actors.cli import main; sys.exit(main())"


def cpu_of(cmd: list[str]) -> float:
    """CPU seconds (user + system) of one run of ``cmd``, from the child's rusage."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=ENV, check=True, stdout=subprocess.DEVNULL, cwd=CWD["dir"])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def small_run(run: Path) -> None:
    """A finished three-step run (the tests' scripted workflow), in a child."""
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from _workflow import FAST, scripted\n"
        "from actors import Supervisor\n"
        "assert Supervisor(FAST, model=scripted()).run('task', sys.argv[1]).ok\n"
        "print('ok')\n"
    )
    subprocess.run(
        [PY, "-c", code, str(run)], env=ENV, check=True, cwd=CWD["dir"], capture_output=True
    )


def bench_startup(work: Path, n: int) -> list[str]:
    run = work / "small"
    small_run(run)
    steps = {
        "pass": [PY, "-c", "pass"],
        "log": [PY, "-c", MAIN, "log", str(run)],
        "show": [PY, "-c", MAIN, "show", str(run), "1"],
    }
    for cmd in steps.values():  # the bytecode caches written, the page cache warm
        cpu_of(cmd)
    got = rounds({k: (lambda cmd=cmd: [cpu_of(cmd)]) for k, cmd in steps.items()}, n * 3)
    floor = med(got["pass"], 0)
    out = []
    print(f"start-up (CPU, median of {n * 3}; {load()}):")
    print(f"python -c pass          : {floor * 1000:7.1f} ms")
    for name in ("log", "show"):
        extra = med(got[name], 0) - floor
        print(
            f"agentlog {name:4} (small) : {med(got[name], 0) * 1000:7.1f} ms  (+{extra * 1000:.1f})"
        )
        out.append(
            verdict(
                f"5 agentlog {name} +{extra * 1000:.0f} ms over python -c pass <= 60",
                extra <= 0.060,
            )
        )
    return out


def verdict(what: str, met: bool) -> str:
    return f"{what}: {'met' if met else 'NOT met'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["workspace", "viewer", "startup"])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--megabytes", type=int, default=70)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=100_000, help="events of the long run")
    parser.add_argument("--runs", type=int, default=1000, help="runs for the runs list")
    parser.add_argument("--tree", help="measure the agentlog source tree at this path instead")
    args = parser.parse_args()
    if args.tree:  # e.g. `git archive BASE | tar -x -C /tmp/old`: a before for the after
        ENV["PYTHONPATH"] = str(Path(args.tree).resolve())
        CWD["dir"] = Path(args.tree).resolve()
    verdicts: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="agentlog-issue27-"))
    try:
        if "workspace" in args.parts:
            verdicts += bench_workspace(work / "ws", args.files, args.megabytes, args.rounds)
        if "viewer" in args.parts:
            verdicts += bench_viewer(work / "viewer", args.events, args.runs, args.rounds)
        if "startup" in args.parts:
            verdicts += bench_startup(work, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(["targets:", *verdicts]))


if __name__ == "__main__":
    main()
