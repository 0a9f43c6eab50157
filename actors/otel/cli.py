"""``agentlog export``: runs as OpenTelemetry GenAI traces, to a collector or an OTLP/JSON file."""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

import msgspec

from actors.cli.args import json_arg
from actors.otel.export import ExportProgress, export_runs
from actors.otel.live import live_endpoint
from actors.otel.sdk import require_sdk

__all__ = ["args_export", "cmd_export"]


def cmd_export(args: argparse.Namespace) -> int:
    from actors.cli.errors import UsageError, WorkFailed

    if args.format in ("swebench", "atif"):  # documents for other tools, not traces
        from actors.eval.atif import write_trajectories
        from actors.eval.swebench import write_predictions

        if args.otlp:
            raise UsageError(f"--format {args.format} writes a file (--file) or standard output")
        if args.format == "swebench":
            count = write_predictions(args.runs, args.file, args.model_name)
        else:
            count = write_trajectories(args.runs, args.file)
        if args.file:
            print(f"{count} {args.format} documents -> {args.file}", file=sys.stderr)
        return 0

    require_sdk()
    if args.timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    if args.otlp:
        parts = urlsplit(args.otlp)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(
                f"--otlp {args.otlp!r} is not an http(s) URL (e.g. http://localhost:4318)"
            )
    if args.otlp and args.file:
        raise UsageError("give --otlp URL or --file OUT.json, not both")
    if not args.otlp and not args.file and live_endpoint() is None:
        raise UsageError(
            "say where the traces go: --otlp URL, --file OUT.json,"
            " or set OTEL_EXPORTER_OTLP_ENDPOINT"
        )
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),  # stdout is for the report (and --json)
        transient=True,
        disable=not sys.stderr.isatty() or len(args.runs) < 2,
    )
    task: TaskID | None = None

    def progress(p: ExportProgress) -> None:
        nonlocal task
        if task is None:
            task = bar.add_task("exporting runs", total=p.runs)
        bar.update(task, completed=p.index + 1)

    with bar:
        report = export_runs(
            args.runs, otlp=args.otlp, file=args.file, timeout=args.timeout, progress=progress
        )
    if args.json:
        sys.stdout.write(msgspec.json.encode(report).decode("utf-8") + "\n")
    else:
        where = f"-> {report.file}" if report.file else f"-> {report.otlp}"
        for run in report.runs:
            opened = f" ({run.open_spans} still open)" if run.open_spans else ""
            state = f"FAILED: {run.error}" if run.error else "ok"
            print(f"{run.run}: trace {run.trace_id}, {run.spans} spans{opened} {where}: {state}")
    if not report.ok:
        failed = sum(r.error is not None for r in report.runs)
        raise WorkFailed(f"{failed} {'run' if failed == 1 else 'runs'} not exported")
    return 0


def args_export(p: argparse.ArgumentParser) -> str:
    """``agentlog export``'s arguments; returns its example."""
    p.add_argument("runs", metavar="RUN", nargs="+", help="run directories or events.jsonl files")
    p.add_argument(
        "--format",
        choices=("otel", "swebench", "atif"),
        default="otel",
        help="otel: traces; swebench: an evaluation's predictions; atif: ATIF trajectories",
    )
    p.add_argument(
        "--model-name", metavar="NAME", help="swebench: model_name_or_path (default: the model)"
    )
    p.add_argument(
        "--otlp", metavar="URL", help="collector URL (default: $OTEL_EXPORTER_OTLP_ENDPOINT)"
    )
    p.add_argument("--file", metavar="OUT.json", help="write OTLP/JSON lines (one run a line)")
    p.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="seconds per run, retries included"
    )
    json_arg(p, "one report per run")
    return "agentlog export runs/* --otlp http://localhost:4318"
