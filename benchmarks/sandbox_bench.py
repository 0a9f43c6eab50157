"""Start-up cost of a sandboxed test run against the same run unconfined, side by side.

Each round runs the same two commands on the same small tree once unconfined
(``--sandbox none``) and once under bubblewrap, alternating so drift hits both alike:

- ``python -c pass``: the bare cost of a test run (scratch copy, limits wrapper, process,
  output reading, clean-up) with nothing to test;
- ``pytest -q`` on a one-test project: what ``--run-tests`` does for a small workspace.

Figures are the median and the minimum of ``--rounds`` rounds (on a loaded machine the
minimum is the steadier estimate of the intrinsic cost); the target is bwrap within
100 ms of unconfined.

    python benchmarks/sandbox_bench.py --rounds 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from actors.sandbox import SandboxUnavailable, resolve
from actors.testrun import run_tests, tests_command
from events import SandboxPolicy

TARGET_MS = 100.0
COMMANDS = {
    "python -c pass": (sys.executable, "-c", "pass"),
    "pytest, one test": tests_command(),
}


def one(tree: Path, command: tuple[str, ...], policy: SandboxPolicy) -> float:
    start = time.perf_counter()
    ran = run_tests(tree, command, timeout=60, policy=policy)
    elapsed = time.perf_counter() - start
    if ran.outcome != "passed":
        raise SystemExit(f"{policy}: {' '.join(ran.command)} did not pass:\n{ran.output}")
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    try:
        sandbox = resolve("bwrap")
    except SandboxUnavailable as exc:
        raise SystemExit(f"sandbox_bench: {exc}") from None
    print(f"sandbox: {sandbox.label}; rounds: {args.rounds}; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp)
        (tree / "mod.py").write_text("def add(a, b):\n    return a + b\n")
        test = "from mod import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
        (tree / "test_mod.py").write_text(test)
        print(f"{'command':<24} {'unconfined':>11} {'bwrap':>9} {'cost':>9} {'ratio':>6}  target")
        for name, command in COMMANDS.items():
            one(tree, command, "bwrap")  # warm caches (bwrap's probe, page cache)
            times: dict[SandboxPolicy, list[float]] = {"none": [], "bwrap": []}
            for _ in range(args.rounds):
                for policy in ("none", "bwrap"):
                    times[policy].append(one(tree, command, policy))
            for stat, pick in (("median", statistics.median), ("min", min)):
                free, boxed = pick(times["none"]), pick(times["bwrap"])
                cost = boxed - free
                verdict = "met" if cost <= TARGET_MS else "missed"
                print(
                    f"{name + ', ' + stat:<24} {free:>8.1f} ms {boxed:>6.1f} ms "
                    f"{cost:>+6.1f} ms {boxed / free:>5.2f}x  <= +{TARGET_MS:.0f} ms: {verdict}"
                )


if __name__ == "__main__":
    main()
