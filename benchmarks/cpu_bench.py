"""CPU per workflow against the plain-file floor (issue 14: within 2x).

Run ``python benchmarks/cpu_bench.py [--runs N]``. Prints figures and ratios, asserts
nothing. Times the process's CPU (``time.process_time``: every thread, user + system)
over N sequential plan/code/review workflows on a zero-latency ScriptedModel, and over
N times the floor of ``workflow_bench.py`` measured in the same run: the same three
artifact files written by three plain calls with fsync. CPU rather than wall time, so
the disk's own waits (the same fsyncs for both, plus the log's) do not decide it. Runs
go to a temporary directory inside this repository, removed at the end.

A second floor, ``same_calls``, makes in plain Python the file-system calls a workflow
makes for what the README promises (``strace -f`` of one workflow): the log created
with its directory entry synced, eleven appended lines with four ``fdatasync``s (group
commit: before each model call and with the final event), each model request kept as
a content-addressed object (created, synced, renamed, its directories synced), each
artifact replaced atomically, and the finished run's projections synced once. The
workflow over that floor is agentlog's own cost: actors, the fold, encoding, checks.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from workflow_bench import floor_once, fsync_write, workflow_reused  # noqa: E402

_DIR = os.O_RDONLY | os.O_DIRECTORY
_LINE = b'{"type":"StepStarted","seq":1,"id":"0123456789abcdef0123456789abcdef"}' + b" " * 200


def _sync_path(path: Path) -> None:
    fd = os.open(path, _DIR if path.is_dir() else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace(directory: Path, name: str, data: bytes) -> None:
    tmp = directory / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.rename(tmp, directory / name)


def _keep_object(run: Path, data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    objects = run / "objects"
    new_objects = not objects.exists()
    bucket = objects / digest[:2]
    bucket.mkdir(parents=True)
    tmp = bucket / f".{digest[2:18]}.tmp"
    fsync_write(tmp, data, mode=0o444, exclusive=True)
    os.rename(tmp, bucket / digest[2:])
    for directory in (bucket, objects, run) if new_objects else (bucket, objects):
        _sync_path(directory)


def same_calls(run: Path) -> None:
    """The file-system calls of one workflow's guarantees, made by plain Python."""
    run.mkdir()
    log = os.open(run / "events.jsonl", os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND)
    try:
        _sync_path(run)
        _sync_path(run.parent)
        artifacts = {"plan.json": b"{}\n" * 40, "code.json": b"{}\n" * 30, "review.json": b"{}\n"}
        os.write(log, _LINE * 2)
        for n, (name, data) in enumerate(artifacts.items()):
            os.fdatasync(log)  # before the model call
            _keep_object(run, b"request %d" % n + b"x" * 2000)
            os.write(log, _LINE * 2)
            if name == "code.json":
                (run / "files").mkdir()
                _replace(run / "files", "hello.py", b"def hello(name): ...\n")
            _replace(run, name, data)
        os.write(log, _LINE)
        os.fdatasync(log)
        for path in (*(run / n for n in artifacts), run / "files" / "hello.py"):
            _sync_path(path)
        _sync_path(run / "files")
        _sync_path(run)
    finally:
        os.close(log)


def cpu_ms(fn: Callable[[Path], None], root: Path, n: int, tag: str) -> float:
    """Process CPU milliseconds of ``fn`` over ``n`` fresh directories (the sum)."""
    started = time.process_time()
    for i in range(n):
        fn(root / f"{tag}-{i}")
    return (time.process_time() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument(
        "--rounds", type=int, default=10, help="the three alternate in this many rounds"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix=".cpu_bench-", dir=ROOT))
    kinds = {"floor": floor_once, "same": same_calls, "flow": workflow_reused}
    total = dict.fromkeys(kinds, 0.0)
    each = max(1, args.runs // args.rounds)
    try:
        for i in range(10):  # imports, the shared agents, the driver thread
            for name, fn in kinds.items():
                fn(root / f"warm-{name}-{i}")
        # Alternating in rounds, so a drift of the disk's cost (it drifts here) weighs
        # on the three alike.
        for r in range(args.rounds):
            for name, fn in kinds.items():
                total[name] += cpu_ms(fn, root, each, f"{name}-{r}")
        n = each * args.rounds
        floor, same, flow = (total[k] / n for k in kinds)
        print(f"{n} sequential workflows in {args.rounds} rounds, process CPU per workflow")
        print(f"    floor (3 files, fsync)        {floor:7.3f} ms")
        print(f"    the same file-system calls    {same:7.3f} ms  = {same / floor:.2f}x floor")
        print(
            f"    workflow                      {flow:7.3f} ms  = {flow / floor:.2f}x floor,"
            f" {flow / same:.2f}x the same calls (+{flow - same:.3f} ms agentlog's own)"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
