"""Every reader of a long run in flat memory: peak RSS and time of each command at 1M events.

Run ``python benchmarks/readers_bench.py [--events N] [--skip-export]``. Prints figures,
asserts nothing. Builds an N-event run (default 1,000,000; the revision loop of
``scale_bench.py``), then runs each read command in a fresh child process and reports
its peak RSS (``ru_maxrss`` of the child) and wall time, beside the floor measured the
same way: ``agentlog --help``, which imports the CLI and reads nothing. A reader that
streams stays near the floor whatever the run's length. ``export --file`` projects and
writes every span, ~30 s of CPU at 1M events (``--skip-export``; ``export_bench.py``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from scale_bench import build  # noqa: E402

# The child runs the CLI and prints its own peak RSS (KiB) on stderr's last line.
CHILD = (
    "import resource, sys\n"
    "from actors.cli import main\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "finally:\n"
    "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def measure(args: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of ``agentlog ARGS`` in a fresh process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"agentlog {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return int(done.stderr.strip().splitlines()[-1]) / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skip-export", action="store_true")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix=".readers_bench-", dir=ROOT))
    try:
        run = scratch / "run"
        build(run, args.events)
        size = (run / "events.jsonl").stat().st_size
        commands = [
            ["--help"],
            ["log", str(run)],
            ["show", str(run), str(args.events)],
            ["stats", str(run)],
            ["verify", str(run)],
            ["project", str(run)],
            ["ls", str(scratch)],
        ]
        if not args.skip_export:
            commands.append(["export", str(run), "--file", str(scratch / "trace.json")])
        print(f"run: {args.events:,} events, {size / 2**20:.0f} MiB; peak RSS and wall time")
        for command in commands:
            rss, seconds = measure(command)
            names = {str(run): "RUN", str(scratch): "DIR"}
            shown = " ".join(names.get(a, a) for a in command[:2])
            print(f"    agentlog {shown:<16} {rss:7.1f} MiB  {seconds:7.2f} s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
