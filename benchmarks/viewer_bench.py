"""Benchmark of the viewer: ``ls`` on 1,000 runs, the first page of a 100,000-event run,
and the time from an append to the browser's server-sent event.

Run ``python benchmarks/viewer_bench.py [--runs 1000] [--events 100000] [--live 50]``.
Everything happens in a temporary directory next to this repository (same filesystem),
removed at the end; the server is the real one (uvicorn on 127.0.0.1), spoken to over
real sockets. Each figure is printed beside a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _workload import workload  # noqa: E402

from actors.viewer import list_runs  # noqa: E402
from actors.viewer.serve import start  # noqa: E402
from events import StepStarted, WorkflowStarted, encode_line  # noqa: E402
from store import EventLog, step_stats, workflow_state  # noqa: E402

SAMPLE = ROOT / "examples" / "sample-run" / "events.jsonl"


def timed(fn: object, repeat: int = 5) -> float:
    """The median wall time of ``fn()`` in milliseconds."""
    assert callable(fn)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_ls(base: Path, runs: int) -> None:
    root = base / "runs"
    root.mkdir()
    data = SAMPLE.read_bytes()
    for i in range(runs):
        run = root / f"run-{i:04d}"
        run.mkdir()
        (run / "events.jsonl").write_bytes(data)
    size = len(data) * runs

    def naive() -> None:
        for run in root.iterdir():
            events = list(EventLog(run).read())
            workflow_state(events)
            step_stats(events)

    t0 = time.perf_counter()
    cold = list_runs(root)
    cold_ms = (time.perf_counter() - t0) * 1000
    warm_ms = timed(lambda: list_runs(root))
    naive_ms = timed(naive, repeat=3)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "actors.cli.__init__"]
    cli = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]

    def run_cli() -> None:
        subprocess.run([*cli, "ls", str(root)], env=env, check=True, stdout=subprocess.DEVNULL)

    cli_ms = timed(run_cli, repeat=3)
    pass_ms = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), repeat=3)
    assert len(cold) == runs
    print(f"ls on {runs} runs ({size / 1e6:.1f} MB of logs, {runs * 21:,} events):")
    print(f"  cold (no cache yet: reads every log once, writes the caches) {cold_ms:8.1f} ms")
    print(f"  warm (cache per run: stat + one small file)                 {warm_ms:8.1f} ms")
    print(
        f"  baseline: read + verify + fold every log whole              {naive_ms:8.1f} ms"
        f"  ({naive_ms / warm_ms:.1f}x the warm ls)"
    )
    print(
        f"  `agentlog ls DIR` as a command, warm                        {cli_ms:8.1f} ms"
        f"  (python -c pass: {pass_ms:.1f} ms)"
    )


def bench_ls_long_logs(base: Path, runs: int, events: int) -> None:
    """Where the cache matters: fewer runs with long logs."""
    root = base / "long-runs"
    root.mkdir()
    for i in range(runs):
        big_run(root / f"run-{i:03d}", events)

    def naive() -> None:
        for run in root.iterdir():
            log_events = list(EventLog(run).read())
            workflow_state(log_events)
            step_stats(log_events)

    t0 = time.perf_counter()
    list_runs(root)
    cold_ms = (time.perf_counter() - t0) * 1000
    warm_ms = timed(lambda: list_runs(root))
    naive_ms = timed(naive, repeat=1)
    print(f"ls on {runs} runs of {events:,} events each:")
    print(
        f"  cold {cold_ms:.0f} ms; warm {warm_ms:.1f} ms; baseline (read every log whole) "
        f"{naive_ms:.0f} ms ({naive_ms / warm_ms:.0f}x the warm ls)"
    )


def big_run(run: Path, events: int) -> int:
    run.mkdir()
    head = [WorkflowStarted(task="a long run", seq=1, id="e1", ts="2026-01-01T00:00:00Z")]
    body = workload(events - 1)
    lines = [encode_line(head[0])]
    for i, ev in enumerate(body, start=2):
        stamped = msgspec.structs.replace(ev, seq=i, id=f"e{i}", ts="2026-01-01T00:00:01Z")
        lines.append(encode_line(stamped))
    data = b"".join(lines)
    (run / "events.jsonl").write_bytes(data)
    return len(data)


def get(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, (path, response.status)
    return body


def bench_first_page(base: Path, events: int) -> None:
    root = base / "big"
    root.mkdir()
    size = big_run(root / "long", events)
    full_ms = timed(lambda: list(EventLog(root / "long").read()), repeat=3)
    with start(root) as viewer:
        host, port = viewer.url.removeprefix("http://").split(":")

        def first_page() -> None:
            conn = http.client.HTTPConnection(host, int(port))
            get(conn, "/runs/long")
            get(conn, "/static/run.js")
            get(conn, "/api/runs/long/events?after=0&limit=200")
            conn.close()

        def deep(seq: int) -> float:
            conn = http.client.HTTPConnection(host, int(port))
            t0 = time.perf_counter()
            get(conn, f"/api/runs/long/events?around={seq}&limit=200")
            conn.close()
            return (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        first_page()
        first_ms = (time.perf_counter() - t0) * 1000
        page_ms = timed(first_page)
        deep_cold = deep(events - 10_000)
        deep_warm = timed(lambda: deep(events - 10_000))
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        t0 = time.perf_counter()
        get(conn, "/api/runs/long/overview")
        overview_ms = (time.perf_counter() - t0) * 1000
        browser_ms = in_browser(viewer.url + "/runs/long")
    print(f"first page of a {events:,}-event run ({size / 1e6:.0f} MB), HTML + JS + 200 events:")
    print(f"  first request after start {first_ms:7.1f} ms; median of 5 {page_ms:7.1f} ms")
    print(
        f"  deep link near the end (seq {events - 10_000:,}): first {deep_cold:.1f} ms "
        f"(counts lines, builds the sparse index), then {deep_warm:.1f} ms"
    )
    if browser_ms is not None:
        print(
            "  in Chromium, navigation until 200 timeline rows are drawn: median of 5 "
            f"{statistics.median(browser_ms):.1f} ms (first {browser_ms[0]:.1f} ms)"
        )
    print(
        f"  baseline: reading the whole log {full_ms:.0f} ms "
        f"({full_ms / page_ms:.0f}x the first page); the overview tab (whole log, "
        f"loaded in parallel) {overview_ms:.0f} ms"
    )


def in_browser(url: str) -> list[float] | None:
    """Milliseconds from navigation to the first 200 rows drawn, in Chromium (if present)."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    times = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page()
        for _ in range(5):
            t0 = time.perf_counter()
            page.goto(url)
            page.locator("#events li.event").nth(199).wait_for()
            times.append((time.perf_counter() - t0) * 1000)
            page.goto("about:blank")
        browser.close()
    return times


def bench_live(base: Path, n: int) -> None:
    root = base / "live"
    run = root / "run"
    run.mkdir(parents=True)
    latencies: list[float] = []
    sent: dict[int, float] = {}
    with start(root) as viewer, EventLog(run).writer() as writer:
        writer.append(WorkflowStarted(task="live"))
        host, port = viewer.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", "/api/runs/run/stream?from_seq=2")
        response = conn.getresponse()
        received = threading.Event()

        def reader() -> None:
            while line := response.readline():
                if line.startswith(b"id: "):
                    seq = int(line[4:])
                    latencies.append((time.perf_counter() - sent[seq]) * 1000)
                    if len(latencies) >= n:
                        received.set()
                        return

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        time.sleep(0.3)
        for i in range(n):
            seq = i + 2
            sent[seq] = time.perf_counter()
            writer.append(StepStarted(step="plan", attempt=i + 1))
            time.sleep(0.1)
        received.wait(timeout=10)
        conn.close()
    lat = sorted(latencies)
    print(f"live: append -> server-sent event at the client, {len(lat)} events 100 ms apart:")
    print(
        f"  median {statistics.median(lat):.1f} ms, p95 {lat[int(len(lat) * 0.95) - 1]:.1f} ms, "
        f"max {lat[-1]:.1f} ms (the follower polls every 25 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--live", type=int, default=50)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="viewer-bench-", dir=ROOT))
    try:
        bench_ls(base, args.runs)
        bench_ls_long_logs(base, 50, 5000)
        bench_first_page(base, args.events)
        bench_live(base, args.live)
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
