"""`agentlog export RUN --file F` against the OpenTelemetry SDK's own JSON path, and reading.

Run ``python benchmarks/export_bench.py [--events N] [--rounds R]``. Prints figures and
ratios, asserts nothing. Builds an N-event run (default 100,000; the revision loop of
``scale_bench.py``, 2 spans for every 3 events), then measures, each in a fresh child
process, in R interleaved rounds (default 3), with the load average noted:

- ``agentlog``: ``agentlog export RUN --file F`` (the CLI's ``main``), as a whole process
  and the export call inside it (after the imports);
- ``sdk``, the floor: the same spans (the ones agentlog exports, handed to the child as
  msgpack so it does no projection) made as the SDK's ``ReadableSpan``s, encoded with the
  SDK's OTLP encoder (``encode_spans``, in requests of 1,000 spans, as agentlog batches)
  and protobuf's JSON printer (``MessageToJson``), one line a request, written to a file
  and synced (as agentlog's atomic write syncs):
  the path agentlog's file export took before it wrote OTLP/JSON itself (less the ids
  turned to hex, which OTLP/JSON needs and protobuf's mapping does not do);
- ``sdk-tracer``: the same, with the spans made through a ``TracerProvider`` and a
  ``SimpleSpanProcessor`` (how an instrumented program makes them);
- ``read``, the lower floor: reading and verifying the run's log (``EventLog.read``).

Each figure is the median over the rounds: wall and CPU (user + system) seconds of the
whole child, the in-process seconds of the timed call, and the child's peak RSS
(``ru_maxrss``). Ratios are agentlog's over each floor, computed per round and then the
median taken, so drift between rounds cancels.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scale_bench import build  # noqa: E402

BATCH = 1000

# Each child prints one JSON line: the seconds (wall, CPU) of its timed part.
CHILD = r"""
import json, os, sys, time
op, run, out, dump = sys.argv[1:5]
def timed(call):
    w, c = time.perf_counter(), time.process_time()
    call()
    return {"call_wall": time.perf_counter() - w, "call_cpu": time.process_time() - c}
if op == "agentlog":
    from actors.cli import main
    figures = timed(lambda: main(["export", run, "--file", out]))
elif op == "read":
    from store import EventLog
    figures = timed(lambda: sum(1 for _ in EventLog(run).read()))
else:
    import msgspec
    from google.protobuf.json_format import MessageToJson
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        SimpleSpanProcessor, SpanExporter, SpanExportResult,
    )
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import (
        Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags,
        set_span_in_context,
    )
    with open(dump, "rb") as f:
        spans = msgspec.msgpack.decode(f.read())
    for s in spans:
        s["trace_id"] = int(s["trace_id"], 16)
        for l in s["links"]:
            l["trace_id"] = int(l["trace_id"], 16)
    resource = Resource.create({"service.name": "agentlog", "service.version": "0"})
    scope = InstrumentationScope("agentlog", "0")
    KIND = {"client": SpanKind.CLIENT, "internal": SpanKind.INTERNAL}
    def context(trace_id, span_id):
        return SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(1))
    def status(s):
        if s["status"] == "error":
            return Status(StatusCode.ERROR, s["status_message"] or None)
        return Status(StatusCode.OK if s["status"] == "ok" else StatusCode.UNSET)
    def links(s):
        return [Link(context(l["trace_id"], l["span_id"]), l["attributes"]) for l in s["links"]]
    def readable():
        for s in spans:
            yield ReadableSpan(
                name=s["name"], context=context(s["trace_id"], s["span_id"]),
                parent=context(s["trace_id"], s["parent_id"]) if s["parent_id"] else None,
                resource=resource, attributes=s["attributes"],
                events=[Event(e["name"], e["attributes"], e["time_ns"]) for e in s["events"]],
                links=links(s), kind=KIND[s["kind"]], status=status(s),
                start_time=s["start_ns"], end_time=s["end_ns"], instrumentation_scope=scope,
            )
    class FileExporter(SpanExporter):
        def __init__(self, f):
            self.f, self.batch = f, []
        def export(self, batch):
            self.batch.extend(batch)
            if len(self.batch) >= BATCH:
                self.flush()
            return SpanExportResult.SUCCESS
        def flush(self):
            if self.batch:
                request = encode_spans(self.batch)
                self.f.write(MessageToJson(request, indent=None, use_integers_for_enums=True))
                self.f.write("\n")
                self.batch = []
    BATCH = int(sys.argv[5])
    def sdk():
        with open(out, "w") as f:
            exporter = FileExporter(f)
            for span in readable():
                exporter.export([span])
            exporter.flush()
            f.flush()
            os.fsync(f.fileno())
    def tracer():
        with open(out, "w") as f:
            exporter = FileExporter(f)
            provider = TracerProvider(resource=resource)
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            t = provider.get_tracer("agentlog", "0")
            for s in spans:
                parent = None
                if s["parent_id"]:
                    parent = set_span_in_context(
                        NonRecordingSpan(context(s["trace_id"], s["parent_id"]))
                    )
                span = t.start_span(
                    s["name"], context=parent, kind=KIND[s["kind"]],
                    attributes=s["attributes"], links=links(s), start_time=s["start_ns"],
                )
                for e in s["events"]:
                    span.add_event(e["name"], e["attributes"], e["time_ns"])
                span.set_status(status(s))
                span.end(end_time=s["end_ns"])
            exporter.flush()
            f.flush()
            os.fsync(f.fileno())
    figures = timed(sdk if op == "sdk" else tracer)
import resource
figures["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(figures))
"""

OPS = ("agentlog", "sdk", "sdk-tracer", "read")


def dump_spans(run: Path, dump: Path) -> int:
    """Write the spans agentlog exports for ``run``, in its order, as msgpack (in a child,
    so this process stays small: a child's peak RSS starts from its parent's)."""
    code = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import msgspec
from actors.otel.spans import SpanStream, identity_of
from store import EventLog
log = EventLog({str(run)!r})
stream = SpanStream(*identity_of(log.read()))
spans = [span for ev in log.read() for span in stream.feed(ev)] + stream.finish()
plain = msgspec.to_builtins(spans)
for span in plain:  # a 128-bit trace id is no msgpack integer
    span["trace_id"] = f"{{span['trace_id']:032x}}"
    for link in span["links"]:
        link["trace_id"] = f"{{link['trace_id']:032x}}"
with open({str(dump)!r}, "wb") as f:
    f.write(msgspec.msgpack.encode(plain))
print(len(spans))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    return int(done.stdout)


def measure(op: str, run: Path, out: Path, dump: Path) -> dict[str, float]:
    """One fresh child: its figures (the timed call, its peak RSS) plus the whole
    process's wall and CPU seconds."""
    import resource

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, op, str(run), str(out), str(dump), str(BATCH)],
        capture_output=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{op} failed:\n{done.stderr.decode()[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    figures["wall"] = wall
    figures["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out.unlink(missing_ok=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix=".export_bench-", dir=ROOT))
    try:
        run, dump, out = scratch / "run", scratch / "spans.msgpack", scratch / "out.json"
        build(run, args.events)
        spans = dump_spans(run, dump)
        size = (run / "events.jsonl").stat().st_size
        print(
            f"run: {args.events:,} events ({size / 2**20:.1f} MiB), {spans:,} spans, "
            f"{-(-spans // BATCH)} requests; {args.rounds} rounds, children interleaved"
        )
        results: dict[str, list[dict[str, float]]] = {op: [] for op in OPS}
        loads = [os.getloadavg()[0]]
        for round_ in range(args.rounds):
            order = OPS if round_ % 2 == 0 else tuple(reversed(OPS))
            for op in order:
                results[op].append(measure(op, run, out, dump))
            loads.append(os.getloadavg()[0])
        print(f"load average (1 min) at the start and after each round: {loads}")
        report(results)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def report(results: dict[str, list[dict[str, float]]]) -> None:
    def med(op: str, key: str) -> float:
        return statistics.median(r[key] for r in results[op])

    print(
        f"{'':12} {'process wall':>12} {'process CPU':>12} {'call wall':>10} "
        f"{'call CPU':>9} {'peak RSS':>9}"
    )
    for op in OPS:
        print(
            f"{op:12} {med(op, 'wall'):11.2f}s {med(op, 'cpu'):11.2f}s "
            f"{med(op, 'call_wall'):9.2f}s {med(op, 'call_cpu'):8.2f}s "
            f"{med(op, 'rss_mib'):6.1f} MiB"
        )
    print("agentlog / floor (median of the per-round ratios):")
    for floor in OPS[1:]:
        cells = []
        for key in ("wall", "cpu", "call_wall", "call_cpu"):
            pairs = zip(results["agentlog"], results[floor], strict=True)
            ratios = [a[key] / b[key] for a, b in pairs]
            cells.append(f"{key} {statistics.median(ratios):.2f}x")
        print(f"  / {floor:10} " + "  ".join(cells))


if __name__ == "__main__":
    main()
