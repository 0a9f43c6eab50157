"""``agentlog ls [DIR]``: the runs under a directory, one line each (or ``--json``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from actors.cli.args import json_arg
from actors.cli.terminal import columns, inert, use_colour
from actors.views.runs import RunSummary, list_runs

__all__ = ["args_ls", "cmd_ls", "format_runs", "terminal_safe"]

_STATUS_COLOURS = {
    "completed": "\033[32m",
    "failed": "\033[31m",
    "damaged": "\033[1;31m",
    "running": "\033[36m",
    "waiting": "\033[33m",
    "interrupted": "\033[35m",
}
_RESET = "\033[0m"
_COLUMNS = ("RUN", "STATUS", "VERDICT", "STARTED", "TIME", "TOKENS", "COST $", "FORK OF", "TASK")


def terminal_safe(text: str) -> str:
    """``text`` on one line (runs of whitespace become one space) with nothing a terminal
    would act on: :func:`~actors.cli.terminal.inert` of the flattened text."""
    return inert(" ".join(text.split()))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _row(s: RunSummary) -> list[str]:
    fork = "-"
    if s.forked_from is not None:
        source = Path(s.forked_from.source)
        name = source.parent.name if source.name == "events.jsonl" else source.name
        fork = f"{name}@{s.forked_from.at_seq}"
        if s.forked_from.what_if:  # a counterfactual replay of its source
            fork = f"what-if {name}"
    started = s.started[:16].replace("T", " ") if s.started else "-"
    return [
        terminal_safe(s.id),
        s.status,
        s.verdict or "-",
        started,
        _duration(s.duration_s),
        f"{s.tokens:,}",
        "-" if s.cost_usd is None else f"{s.cost_usd:.4f}",
        terminal_safe(fork),
        terminal_safe(s.task),
    ]


def format_runs(runs: list[RunSummary], *, colour: bool = False, width: int = 120) -> list[str]:
    """The ``ls`` table: a header and one line per run, the task clipped to ``width``."""
    rows = [list(_COLUMNS), *(_row(s) for s in runs)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS) - 1)]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        if colour and n:
            code = _STATUS_COLOURS.get(row[1], "")
            cells[1] = f"{code}{cells[1]}{_RESET}" if code else cells[1]
        head = "  ".join(cells)
        room = max(20, width - sum(widths) - 2 * len(widths))
        task = row[-1] if len(row[-1]) <= room else row[-1][: room - 1] + "…"
        lines.append(f"{head}  {task}")
    return lines


def cmd_ls(args: argparse.Namespace) -> int:
    from actors.cli.opening import require_directory

    root = Path(args.dir)
    require_directory(root)
    runs = list_runs(root, cache=not args.no_cache)
    if args.json:
        sys.stdout.write(msgspec.json.encode(runs).decode() + "\n")
        return 0
    if not runs:
        print(f"no runs under {root} (a run is a directory holding events.jsonl)")
        return 0
    tty = sys.stdout.isatty()
    width = columns() if tty else 160
    for line in format_runs(runs, colour=use_colour(sys.stdout), width=width):
        print(line)
    return 0


def args_ls(p: argparse.ArgumentParser) -> str:
    """``agentlog ls``'s arguments; returns its example."""
    p.add_argument(
        "dir", metavar="DIR", nargs="?", default="runs", help="runs directory (default: runs)"
    )
    json_arg(p, "the runs")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="read every log whole instead of using and updating the directory's .ls-cache.json",
    )
    return "agentlog ls runs --json"
