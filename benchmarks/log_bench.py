"""Benchmark of the event log: durable appends against the raw disk, and full reads.

Run ``python benchmarks/log_bench.py [--events N]``. Every figure comes from one run in
one temporary directory created next to this repository (same filesystem as the repo),
removed at the end. The full read (read + verify + fold) runs in a child process so that
its peak RSS is not inflated by generating the log.
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
from collections.abc import Callable
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _workload import workload  # noqa: E402

from events import (  # noqa: E402
    Event,
    ModelCalled,
    WorkflowStarted,
    encode_line,
)
from store import EventLog, LogWriter, workflow_state  # noqa: E402

_SYNC = getattr(os, "fdatasync", os.fsync)


def raw_rate(fd: int, line: bytes, n: int, sync: Callable[[int], None]) -> float:
    """Lines per second of the physical limit: one os.write + one sync per line."""
    t = time.perf_counter()
    for _ in range(n):
        os.write(fd, line)
        sync(fd)
    return n / (time.perf_counter() - t)


def append_rate(writer: LogWriter, events: list[Event]) -> float:
    """Events per second of single durable appends (one fsync each)."""
    t = time.perf_counter()
    for ev in events:
        writer.append(ev)
    return len(events) / (time.perf_counter() - t)


def single_appends(d: Path, n: int, rounds: int) -> list[tuple[float, float, float]]:
    """Per round: raw fsync, raw fdatasync and agentlog append rates, measured in turns.

    The disk's sync latency drifts over seconds, so each round compares neighbours.
    """
    events = workload(n // rounds)
    line = encode_line(events[1])
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    fds = [os.open(d / name, flags, 0o644) for name in ("raw-fsync", "raw-fdatasync")]
    rates: tuple[list[float], list[float], list[float]] = ([], [], [])
    try:
        with EventLog(d / "single").writer() as writer:
            writer.append(WorkflowStarted(task="bench"))
            for _ in range(rounds):
                rates[0].append(raw_rate(fds[0], line, len(events), os.fsync))
                rates[1].append(raw_rate(fds[1], line, len(events), _SYNC))
                rates[2].append(append_rate(writer, events))
    finally:
        for fd in fds:
            os.close(fd)
    return list(zip(*rates, strict=True))


def batch_rate(run: Path, total: int, batch: int) -> float:
    pool = workload(batch)
    with EventLog(run).writer() as w:
        w.append(WorkflowStarted(task="bench"))
        t = time.perf_counter()
        done = 1
        while done < total:
            group = pool if total - done >= batch else pool[: total - done]
            w.append_many(group)
            done += len(group)
        return (total - 1) / (time.perf_counter() - t)


def child_read(path: str) -> None:
    """Read + verify + fold the log twice (plain fold, then ``workflow_state``); print JSON."""
    base = _vm_hwm_kib()
    log = EventLog(path)
    counts: dict[type, int] = {}
    tokens = 0
    t = time.perf_counter()
    for ev in log.read():
        kind = type(ev)
        counts[kind] = counts.get(kind, 0) + 1
        if isinstance(ev, ModelCalled):
            tokens += ev.usage.total
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    state = workflow_state(log.read())
    state_seconds = time.perf_counter() - t
    t = time.perf_counter()
    floor = _decode_only(log.path)
    floor_seconds = time.perf_counter() - t
    result = {
        "floor_events": floor,
        "floor_seconds": floor_seconds,
        "events": sum(counts.values()),
        "seconds": seconds,
        "tokens": tokens,
        "state_events": state.last_seq,
        "state_seconds": state_seconds,
        "rss_base_kib": base,
        "rss_peak_kib": _vm_hwm_kib(),
    }
    print(json.dumps(result))


def _decode_only(path: Path) -> int:
    """The floor: msgspec-decode every line in 64 KiB blocks, no seal, seq or fold."""
    decoder = msgspec.json.Decoder(list[Event])
    n = 0
    rest = b""
    with open(path, "rb", buffering=0) as f:
        while data := f.read(1 << 16):
            cut = data.rfind(b"\n")
            block, rest = rest + data[:cut], data[cut + 1 :]
            n += len(decoder.decode(b"[%b]" % block.replace(b"\n", b",")))
    return n


def _vm_hwm_kib() -> int:
    with open("/proc/self/status") as f:
        for row in f:
            if row.startswith("VmHWM:"):
                return int(row.split()[1])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000, help="events in the read test")
    ap.add_argument("--appends", type=int, default=3000, help="single durable appends")
    ap.add_argument("--batch", type=int, default=1000, help="events per append_many")
    ap.add_argument("--child-read", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_read:
        child_read(args.child_read)
        return
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".log_bench-") as tmp:
        d = Path(tmp)
        print(f"directory: {d} (inside the repository: same filesystem)")
        rounds = single_appends(d, args.appends, rounds=5)
        med = statistics.median
        print(f"raw os.write+fsync per line:       {med(r[0] for r in rounds):11,.0f} lines/s")
        print(f"raw os.write+fdatasync per line:   {med(r[1] for r in rounds):11,.0f} lines/s")
        print(
            f"agentlog append (durable, 1/call): {med(r[2] for r in rounds):11,.0f} events/s "
            f"= {med(r[2] / r[0] for r in rounds):.2f}x raw fsync, "
            f"{med(r[2] / r[1] for r in rounds):.2f}x raw fdatasync"
        )
        print("  (medians of 5 interleaved rounds; the log syncs with fdatasync)")
        big = d / "big"
        t = time.perf_counter()
        rate = batch_rate(big, args.events, args.batch)
        size = (big / "events.jsonl").stat().st_size
        print(
            f"agentlog append_many ({args.batch}/fsync): {rate:9,.0f} events/s "
            f"({args.events:,} events, {size / 2**20:,.0f} MiB in "
            f"{time.perf_counter() - t:.1f}s)"
        )
        out = subprocess.run(
            [sys.executable, __file__, "--child-read", str(big)],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        r = json.loads(out)
        print(
            f"read+verify+fold (count, tokens): {r['events'] / r['seconds']:11,.0f} events/s "
            f"({r['events']:,} events in {r['seconds']:.2f}s)"
        )
        print(
            f"read+verify+workflow_state:       "
            f"{r['state_events'] / r['state_seconds']:11,.0f} events/s "
            f"({r['state_events']:,} events in {r['state_seconds']:.2f}s)"
        )
        print(
            f"msgspec decode alone (the floor): "
            f"{r['floor_events'] / r['floor_seconds']:11,.0f} events/s "
            "(no seal check, no seq check, no fold)"
        )
        print(
            f"peak RSS of the reading process:  {r['rss_peak_kib'] / 1024:11,.0f} MiB "
            f"({r['rss_base_kib'] / 1024:.0f} MiB after imports, before reading)"
        )


if __name__ == "__main__":
    main()
