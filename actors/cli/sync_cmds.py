"""``agentlog sync``: mirror existing runs to Convex (catch-up after an outage, backfill)."""

from __future__ import annotations

import argparse
import os
import sys

from actors.cli.app import UsageError
from store.convex.sync import SyncProgress, sync_runs

__all__ = ["cmd_sync"]


def cmd_sync(args: argparse.Namespace) -> int:
    url = os.environ.get("CONVEX_URL", "").strip()
    if not url:
        raise UsageError("CONVEX_URL is not set: export your deployment's URL to sync runs")
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
        extra = f": {run.error}" if run.error else ""
        print(
            f"{run.run}: {state}, {run.sent} events sent, mirrored seq "
            f"{run.mirrored_seq}/{run.last_seq}{extra}"
        )
    return 0 if report.ok else 1
