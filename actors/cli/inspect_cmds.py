"""Commands that examine a run: ``stats`` and ``replay``."""

from __future__ import annotations

import argparse
import textwrap
import time
from typing import Any

import msgspec

from actors.cli.args import json_arg, run_arg
from actors.cli.opening import open_log
from actors.cli.streams import say
from actors.cli.terminal import inert
from actors.views.stats import stats_row
from events import UsageError
from store import WorkflowState, step_stats, total_stats, workflow_state

__all__ = ["args_replay", "args_stats", "cmd_replay", "cmd_stats"]


def _duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    seconds = ms / 1000
    if seconds < 1:
        return f"{ms:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} m"
    return f"{seconds / 3600:.1f} h"


def _count(n: int) -> str:
    """A token count in at most 7 characters: 99,999 · 123.4k · 12.3M."""
    if n < 100_000:
        return f"{n:,}"
    if n < 10_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


#: (title, width) of the table's columns: 79 characters in all, so it fits 80 columns.
_COLUMNS = (
    ("step", 7),
    ("attempts", 9),
    ("failures", 9),
    ("wall", 7),
    ("model", 7),
    ("in", 8),
    ("out", 7),
    ("cache", 8),
    ("tokens", 8),
    ("cost $", 9),
)


def _table_line(cells: list[str]) -> str:
    first, *rest = zip(cells, _COLUMNS, strict=True)
    text = f"{first[0]:<{first[1][1]}}" + "".join(f"{c:>{w}}" for c, (_, w) in rest)
    return text.rstrip()


def _table(rows: list[dict[str, Any]]) -> list[str]:
    """The human table: one line a step, then the total, then failures by kind."""
    head = _table_line([title for title, _ in _COLUMNS])
    rule = "─" * len(head)
    lines = [head, rule]
    for r in rows:
        if r["step"] == "total":
            lines.append(rule)
        cache = r["cache_read_input_tokens"] + r["cache_creation_input_tokens"]
        cost = "-" if r["cost_usd"] is None else f"{r['cost_usd']:.4f}"
        lines.append(
            _table_line(
                [
                    inert(str(r["step"])),
                    str(r["attempts"]),
                    str(r["failures"]),
                    _duration(r["wall_ms"]),
                    _duration(r["latency_ms"]),
                    _count(r["input_tokens"]),
                    _count(r["output_tokens"]),
                    _count(cache),
                    _count(r["tokens"]),
                    cost,
                ]
            )
        )
    kinds = "; ".join(
        f"{inert(str(r['step']))} "
        + ", ".join(f"{inert(k)} x{n}" for k, n in r["failures_by_kind"].items())
        for r in rows
        if r["failures_by_kind"] and r["step"] != "total"
    )
    if kinds:
        lines += ["", *textwrap.wrap(f"failures by kind: {kinds}", 80, subsequent_indent="  ")]
    lines += ["", "wall: first start to last end · model: time in model calls · cache: read+write"]
    return lines + _cache_and_tools(rows)


def _cache_and_tools(rows: list[dict[str, Any]]) -> list[str]:
    """The total's input by class and its cache share; the tool calls of each step."""
    total = rows[-1]
    lines = []
    if total["cache_share"] is not None:
        lines.append(  # two lines, so the table stays within 80 columns
            f"input: {_count(total['input_tokens'])} plain, "
            f"{_count(total['cache_read_input_tokens'])} cache read "
            f"(cache share {total['cache_share']:.0%})"
        )
        lines.append(
            f"cache writes: {_count(total['cache_creation_5m_input_tokens'])} for 5 min, "
            f"{_count(total['cache_creation_1h_input_tokens'])} for 1 h"
        )
    tools = [f"{inert(str(r['step']))} {r['tool_calls']}" for r in rows[:-1] if r["tool_calls"]]
    if tools:
        lines.append(f"tool calls: {', '.join(tools)}")
    return lines


def cmd_stats(args: argparse.Namespace) -> int:
    log = open_log(args.run)
    per_step = step_stats(log.read())
    rows = [stats_row(s) for s in [*per_step, total_stats(per_step)]]
    if args.json:
        say(inert(msgspec.json.encode(rows).decode(), json=True))
        return 0
    for line in [*_table(rows), *_people(workflow_state(log.read()))]:
        say(line)
    return 0


def _people(state: WorkflowState) -> list[str]:
    """The run's gates: who decided what, and the gate it waits at, if any."""
    lines = []
    for gate in state.gates.values():
        if gate.decision is None:
            lines.append(
                f"waiting for a person at the {gate.step} gate (since seq {gate.requested_seq})"
            )
        else:
            said = f": {gate.comment}" if gate.comment else ""
            lines.append(
                f"{gate.step} gate: {str(gate.decision).replace('_', ' ')} by {gate.by}{said}"
            )
    return ["", *(inert(line) for line in lines)] if lines else []


def cmd_replay(args: argparse.Namespace) -> int:
    if args.as_dir is not None:  # a what-if: a new run, not a check of this one
        from actors.cli.whatif_cmd import cmd_what_if

        return cmd_what_if(args)
    given = [
        f
        for f, v in (
            ("--model", args.model),
            ("--prompt", args.prompt),
            ("--set", args.set),
            ("--offline", args.offline),
            ("--script", args.script),
            ("--trust-log", args.trust_log),
        )
        if v
    ]
    if given:
        raise UsageError(f"{given[0]} makes a what-if: it needs --as NEW_DIR")
    from actors.cli.progress import counter_bar
    from actors.replaying import replay

    log = open_log(args.run)
    with counter_bar("replay", enabled=not args.json) as bar:
        row = bar.add_task("model calls served", total=None)
        last = [0.0]

        def served(done: int, total: int) -> None:  # a redraw at most every 0.1 s
            now = time.monotonic()
            if now - last[0] >= 0.1 or done == total:
                last[0] = now
                bar.update(row, completed=done, total=total)

        report = replay(log.path.parent, progress=served)
    if args.json:
        data = {"run_dir": str(log.path.parent), "verdict": report.verdict}
        say(inert(msgspec.json.encode(data | msgspec.to_builtins(report)).decode(), json=True))
    else:
        say(inert(report.verdict))
        for line in report.request_diff.splitlines():
            say("  " + inert(line))
    return 0 if report.ok else 1


def args_stats(p: argparse.ArgumentParser) -> str:
    """``agentlog stats``'s arguments; returns its example."""
    run_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return "agentlog stats runs/demo"


def args_replay(p: argparse.ArgumentParser) -> str:
    """``agentlog replay``'s arguments; returns its example."""
    from actors.cli.whatif_cmd import args_what_if

    run_arg(p)
    json_arg(p, "the report")
    args_what_if(p)
    return "agentlog replay runs/demo --as runs/demo-whatif --prompt reviewer=strict.txt"
