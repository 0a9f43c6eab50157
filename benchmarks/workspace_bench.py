"""Workspaces: recording a repository's base, and handing a change back.

On a generated git repository (default 2,000 files, 20 MB of Python text) it measures,
in the same run and with a warm page cache:

1. baselines — ``git ls-files -z | xargs -0 cat > /dev/null`` (reading the files once)
   and ``cp -r`` of the work tree (reading and writing them once, no fsync);
2. recording — ``record_base`` into a fresh run directory (hash, one pack, fsynced):
   time and bytes written, against both baselines;
3. a second recording into the same run directory: objects written (0 expected);
4. a whole workflow on the repository (zero-latency scripted model editing 20 files);
5. ``run_change`` + ``render_diff`` (``agentlog diff``) and ``apply_run`` onto a copy of
   the repository (``agentlog apply``).

    python benchmarks/workspace_bench.py --files 2000 --size 10000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from actors import Supervisor, WorkflowConfig
from actors.models import ScriptedModel
from actors.workspace import apply_run, run_change
from store import record_base, render_diff

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}


def make_repo(root: Path, files: int, size: int) -> int:
    """A git repository of ``files`` Python modules of about ``size`` bytes; total bytes."""
    total = 0
    for i in range(files):
        head = f"def func_{i}(x):\n    return x + {i}\n\n\nclass Thing{i}:\n    pass\n\n"
        filler = "".join(f"VALUE_{i}_{j} = {j}\n" for j in range(size // 16))
        body = (head + filler)[:size]
        body = body[: body.rfind("\n") + 1]
        path = root / f"pkg{i % 50}" / f"mod_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        total += len(body)
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "big"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env)
    return total


def best(fn: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=10000, help="bytes per file")
    parser.add_argument("--edits", type=int, default=20, help="files the scripted Coder edits")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="agentlog-wsbench-"))
    try:
        repo = work / "repo"
        repo.mkdir()
        total = make_repo(repo, args.files, args.size)
        print(f"repository: {args.files} files, {total / 1e6:.1f} MB (git, committed)")

        def read_once() -> None:
            subprocess.run(
                f"git -C {repo} ls-files -z | (cd {repo} && xargs -0 cat) > /dev/null",
                shell=True,
                check=True,
            )

        read_once()  # warm the page cache for every measurement below
        t_read = best(read_once, args.repeat)
        copies = iter(range(1_000_000))
        t_cp = best(
            lambda: subprocess.run(
                ["cp", "-r", str(repo), str(work / f"cp{next(copies)}")], check=True
            ),
            args.repeat,
        )
        runs = iter(range(1_000_000))
        t_rec = best(lambda: record_base(repo, work / f"rec{next(runs)}"), args.repeat)
        stored = tree_bytes(work / "rec0" / "objects")
        objects_before = sorted((work / "rec0" / "objects").rglob("*"))
        t_again = best(lambda: record_base(repo, work / "rec0"), 1)
        new_objects = len(sorted((work / "rec0" / "objects").rglob("*"))) - len(objects_before)

        print(f"read once (git ls-files | xargs cat): {t_read * 1000:8.1f} ms")
        copied = tree_bytes(work / "cp0") / 1e6
        print(f"cp -r                                : {t_cp * 1000:8.1f} ms  ({copied:.1f} MB)")
        print(
            f"record_base (hash, pack, fsync)      : {t_rec * 1000:8.1f} ms  "
            f"({stored / 1e6:.1f} MB written)  {t_rec / t_read:.2f}x read once, "
            f"{t_rec / t_cp:.2f}x cp -r"
        )
        print(
            f"second recording, same run dir       : {t_again * 1000:8.1f} ms  "
            f"({new_objects} new objects)"
        )

        plan = {
            "summary": "bump constants",
            "steps": [
                {
                    "title": "edit",
                    "description": "d",
                    "files": [f"pkg{i % 50}/mod_{i}.py" for i in range(args.edits)],
                }
            ],
        }
        change = {
            "changes": [
                {
                    "op": "edit",
                    "path": f"pkg{i % 50}/mod_{i}.py",
                    "search": f"return x + {i}\n",
                    "replace": f"return x + {i + 1}\n",
                }
                for i in range(args.edits)
            ]
        }
        model = ScriptedModel(
            {
                "plan": [{"tool_input": plan}],
                "code": [{"tool_input": change}],
                "review": [{"tool_input": {"verdict": "approve", "summary": "ok"}}],
            }
        )
        run = work / "run"
        t = time.perf_counter()
        result = Supervisor(WorkflowConfig(backoff_base=0, step_timeout=300), model=model).run(
            "bump", run, workspace=repo
        )
        t_flow = time.perf_counter() - t
        assert result.ok, result.error
        print(f"workflow on the repository (scripted): {t_flow * 1000:8.1f} ms")

        t_diff = best(lambda: render_diff(run_change(run)[2]), args.repeat)
        print(
            f"diff (run_change + render_diff)      : {t_diff * 1000:8.1f} ms  ({args.edits} files)"
        )
        targets = iter(range(1_000_000))

        def apply_copy() -> None:
            target = work / f"target{next(targets)}"
            shutil.copytree(repo, target, symlinks=True)
            t0 = time.perf_counter()
            apply_run(run, target)
            apply_times.append(time.perf_counter() - t0)

        apply_times: list[float] = []
        for _ in range(args.repeat):
            apply_copy()
        print(
            f"apply onto a copy of the repository  : {min(apply_times) * 1000:8.1f} ms  "
            f"(median {statistics.median(apply_times) * 1000:.1f} ms)"
        )
        print(f"target: recording within 2x of reading once -> {t_rec / t_read:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
