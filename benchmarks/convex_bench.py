"""Does Convex tracking slow a workflow down when Convex is unreachable or hung?

Runs the offline demo workflow (scripted model) end to end, mirror included exactly as
the supervisor wires it (``ConvexMirror.from_env`` + a listener + ``close()``), with:

- ``off``:         no ``CONVEX_URL``;
- ``unreachable``: ``CONVEX_URL`` at a closed port on 127.0.0.1 (connection refused);
- ``hung``:        ``CONVEX_URL`` at a socket that accepts connections and never answers.

Prints the median and spread of the wall time of each. Usage:

    python benchmarks/convex_bench.py [--runs N] [--delay SECONDS]

``--delay`` adds a per-model-call delay so the workflow lasts a realistic while.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _peers import closed_port, silent_server

from actors import Supervisor
from actors.convex import ConvexMirror
from actors.demo import demo_model, demo_task


def one_run(env: dict[str, str], delay: float) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        t0 = time.perf_counter()
        mirror = ConvexMirror.from_env(run, env)
        listeners = [] if mirror is None else [lambda ev: mirror.notify((ev,))]
        if mirror is not None:
            mirror.start()
        supervisor = Supervisor(
            model=demo_model(delay=delay),
            listeners=listeners,
            sleep=lambda _: None,  # no retry backoff: its jitter would drown the signal
        )
        result = supervisor.run(demo_task(), run)
        if mirror is not None:
            mirror.close(flush_timeout=2.0)
        return time.perf_counter() - t0, result.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    hung, hung_port = silent_server()
    cases = {
        "off": {},
        "unreachable": {"CONVEX_URL": f"http://127.0.0.1:{closed_port()}"},
        "hung": {"CONVEX_URL": f"http://127.0.0.1:{hung_port}"},
    }
    one_run({}, args.delay)  # warm-up: imports, first-run caches
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):  # interleaved, so drift hits every case alike
        for name, env in cases.items():
            elapsed, status = one_run(env, args.delay)
            assert status == "completed", (name, status)
            times[name].append(elapsed)
    hung.close()
    print(f"demo workflow, model delay {args.delay}s per call, {args.runs} runs each")
    base = statistics.median(times["off"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(
            f"  {name:12} median {med * 1000:8.1f} ms  min {min(ts) * 1000:8.1f}  "
            f"max {max(ts) * 1000:8.1f}  vs off {(med - base) * 1000:+7.1f} ms"
        )


if __name__ == "__main__":
    main()
