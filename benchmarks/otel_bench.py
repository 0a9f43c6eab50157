"""Does live OpenTelemetry export slow a workflow down, with a collector healthy, down or hung?

Runs the offline demo workflow (scripted model) end to end through ``Supervisor``, handed
``integrations_from_env()`` as ``agentlog run`` does (live export from
``OTEL_EXPORTER_OTLP_ENDPOINT``), with:

- ``off``:         no endpoint;
- ``healthy``:     a collector stand-in in another process answering 200 to every POST;
- ``unreachable``: the endpoint at a closed port on 127.0.0.1 (connection refused);
- ``hung``:        the endpoint at a socket that accepts connections and never answers.

Prints the median and spread of each case's wall time and the difference to ``off``
(measured in the same run, cases interleaved); then the same for a whole short
``agentlog run --script`` process, whose exit may wait (boundedly) for spans in flight.
Usage:

    python benchmarks/otel_bench.py [--runs N] [--delay SECONDS] [--processes N]

``--delay`` adds a per-model-call delay so the workflow lasts a realistic while.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _peers import closed_port, silent_server

from actors import Supervisor
from actors.demo import demo_model, demo_task
from actors.integrations import integrations_from_env

ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"

COLLECTOR = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def collector() -> tuple[subprocess.Popen[str], int]:
    """A collector stand-in in its own process (a real one would not share our CPU time)."""
    proc = subprocess.Popen([sys.executable, "-c", COLLECTOR], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def one_run(endpoint: str | None, delay: float) -> tuple[float, str]:
    if endpoint is None:
        os.environ.pop(ENDPOINT, None)
    else:
        os.environ[ENDPOINT] = endpoint
    with tempfile.TemporaryDirectory() as tmp:
        supervisor = Supervisor(
            model=demo_model(delay=delay),
            listeners=integrations_from_env(),  # as the CLI does
            sleep=lambda _: None,  # no retry backoff: its jitter would drown the signal
        )
        t0 = time.perf_counter()
        result = supervisor.run(demo_task(), Path(tmp) / "run")
        return time.perf_counter() - t0, result.status


SCRIPT = {
    "plan": [{"tool_input": {"summary": "s", "steps": [{"title": "t", "description": "d"}]}}],
    "code": [{"tool_input": {"files": [{"path": "a.py", "content": "A = 1\n"}], "notes": ""}}],
    "review": [{"tool_input": {"verdict": "approve", "summary": "ok", "comments": []}}],
}
CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]


def one_process(endpoint: str | None, gate: bool = False) -> float:
    """Wall time of a whole ``agentlog run --script`` process, interpreter exit included;
    ``gate``: the run parks at the plan gate (``--approve plan``, exit 3)."""
    env = {k: v for k, v in os.environ.items() if k != ENDPOINT}
    if endpoint is not None:
        env[ENDPOINT] = endpoint
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "script.json"
        script.write_text(json.dumps(SCRIPT))
        t0 = time.perf_counter()
        gated = ["--approve", "plan"] if gate else []
        done = subprocess.run(
            [*CLI, "run", "a task", "--run-dir", f"{tmp}/run", "--script", str(script), *gated],
            env=env,
            capture_output=True,
            check=False,
        )
        elapsed = time.perf_counter() - t0
        assert done.returncode == (3 if gate else 0), done.stderr
        return elapsed


def report(title: str, times: dict[str, list[float]]) -> None:
    print(title)
    base = statistics.median(times["off"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(
            f"  {name:12} median {med * 1000:8.1f} ms  min {min(ts) * 1000:8.1f}  "
            f"max {max(ts) * 1000:8.1f}  vs off {(med - base) * 1000:+7.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument(
        "--gate", action="store_true", help="processes park at the plan gate (--approve plan)"
    )
    args = parser.parse_args()
    hung, hung_port = silent_server()
    proc, port = collector()
    cases: dict[str, str | None] = {
        "off": None,
        "healthy": f"http://127.0.0.1:{port}",
        "unreachable": f"http://127.0.0.1:{closed_port()}",
        "hung": f"http://127.0.0.1:{hung_port}",
    }
    try:
        for endpoint in cases.values():  # warm-up: imports (the SDK's too), first-run caches
            one_run(endpoint, args.delay)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):  # interleaved, so drift hits every case alike
            for name, endpoint in cases.items():
                elapsed, status = one_run(endpoint, args.delay)
                assert status == "completed", (name, status)
                times[name].append(elapsed)
        processes: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.processes):
            for name, endpoint in cases.items():
                processes[name].append(one_process(endpoint, args.gate))
    finally:
        hung.close()
        proc.terminate()
    report(f"demo workflow, model delay {args.delay}s per call, {args.runs} runs each", times)
    parked = " --approve plan (parks)" if args.gate else ""
    report(
        f"`agentlog run --script{parked}` process, exit included, {args.processes} runs each",
        processes,
    )


if __name__ == "__main__":
    main()
