"""``agentlog sync``: mirror existing runs to Convex (catch-up after an outage, backfill)."""

from __future__ import annotations

import argparse
import os
import sys

import msgspec

from actors.cli.args import json_arg
from actors.cli.streams import say
from actors.cli.terminal import inert
from actors.convex.sync import SyncProgress, sync_runs
from events import UsageError

__all__ = ["args_sync", "cmd_sync"]


def cmd_sync(args: argparse.Namespace) -> int:
    url = os.environ.get("CONVEX_URL", "").strip()
    if not url:
        raise UsageError("CONVEX_URL is not set: export your deployment's URL to sync runs")
    if not url.startswith(("http://", "https://")):
        raise UsageError(
            f"CONVEX_URL {inert(url)!r} is not an http(s) URL "
            "(e.g. https://happy-animal-123.convex.cloud)"
        )
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=None,
        transient=False,
        disable=not sys.stderr.isatty(),
    )
    tasks: dict[int, TaskID] = {}

    def progress(p: SyncProgress) -> None:
        if p.index not in tasks:
            tasks[p.index] = bar.add_task(f"{p.run} ({p.index + 1}/{p.runs})", total=p.total)
        bar.update(tasks[p.index], completed=p.done, total=p.total)

    with bar:
        report = sync_runs(
            args.runs,
            url=url,
            deploy_key=os.environ.get("CONVEX_DEPLOY_KEY") or None,
            progress=progress,
        )
    for run in report.runs:
        state = "ok" if run.error is None and run.mirrored_seq >= run.last_seq else "behind"
        if args.json:
            data = {"state": state, **msgspec.to_builtins(run)}
            say(inert(msgspec.json.encode(data).decode(), json=True))
            continue
        extra = f": {inert(run.error)}" if run.error else ""
        say(
            f"{inert(str(run.run))}: {state}, {run.sent} events sent, mirrored seq "
            f"{run.mirrored_seq}/{run.last_seq}{extra}"
        )
    return 0 if report.ok else 1


def args_sync(p: argparse.ArgumentParser) -> str:
    """``agentlog sync``'s arguments; returns its example."""
    p.add_argument("runs", metavar="RUN", nargs="+", help="run directories or events.jsonl files")
    json_arg(p, "one report per run")
    return "CONVEX_URL=https://x.convex.cloud agentlog sync runs/*"
