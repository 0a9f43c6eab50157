"""``agentlog diff RUN_A RUN_B``: two runs compared, rendered from :mod:`actors.views.compare`.

The view decides what is compared; this module only lays it out for a terminal (or
prints it as JSON). Everything from a log (paths, tasks, plans, file contents, prompts)
is made inert first: runs from someone else are data.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from actors.cli.opening import open_log
from actors.cli.terminal import inert, plural, use_colour
from actors.views.compare import Comparison, Figure, compare, read_run
from actors.views.compare_files import FileComparison
from events import UsageError
from store import quote_path

__all__ = ["cmd_compare", "render"]

_COLOURS = (
    ("---", "\033[1m"),
    ("+++", "\033[1m"),
    ("@@", "\033[36m"),
    ("+", "\033[32m"),
    ("-", "\033[31m"),
)
_RESET = "\033[0m"


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare RUN (A) with RUN_B (B)."""
    if args.stat or args.round is not None:
        raise UsageError(f"{'--stat' if args.stat else '--round'} is for one run, not two")
    runs = []
    for label, given in (("RUN_A", args.run), ("RUN_B", args.other)):
        try:
            log = open_log(given)
        except UsageError as exc:
            raise UsageError(f"{label}: {exc}") from None
        runs.append(read_run(log, label))
    result = compare(runs[0], runs[1])
    if not result.same_task:
        print("agentlog: warning: A and B are runs of different tasks", file=sys.stderr)
    if args.json:
        print(inert(msgspec.json.encode(result).decode(), json=True))
        return 0
    colour = use_colour(sys.stdout)
    sys.stdout.write("".join(f"{line}\n" for line in render(result, colour=colour)))
    return 0


def render(c: Comparison, *, colour: bool = False) -> list[str]:
    """The comparison as terminal lines, every one inert."""
    lines = [
        inert(f"A: {c.a.run} ({c.a.status}{f', {c.a.verdict}' if c.a.verdict else ''})"),
        inert(f"B: {c.b.run} ({c.b.status}{f', {c.b.verdict}' if c.b.verdict else ''})"),
    ]
    if not c.same_task:
        lines += [inert(f"A's task: {_short(c.a.task)}"), inert(f"B's task: {_short(c.b.task)}")]
    if c.identical:
        lines.append("no difference: the same events (ids, times and timings aside), settings,")
        lines.append("plan and files")
    lines += _where(c)
    lines += _plan(c, colour)
    lines += _changes(c, colour)
    lines += ["", *_figures(c.figures)]
    return lines


def _short(text: str, width: int = 60) -> str:
    one = " ".join(text.split())
    return one if len(one) <= width else one[: width - 1] + "…"


def _setting(key: str, value: Any) -> str:
    if value is None:
        return "(built-in)" if key.startswith("prompts.") else "(not set)"
    shown = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    return repr(_short(shown)) if isinstance(value, str) else _short(shown)


def _where(c: Comparison) -> list[str]:
    lines: list[str] = []
    ln = c.lineage
    if ln is not None:
        child, parent = ln.child.upper(), "B" if ln.child == "a" else "A"
        what = "a what-if" if ln.what_if else "a fork"
        lines.append(
            f"{child} is {what} of {parent}: it copied {parent}'s first {ln.at_seq} "
            f"event{'s' if ln.at_seq != 1 else ''} (its marker is {child} seq {ln.marker_seq})"
        )
        d = ln.diverged
        if d is not None:
            said = (
                f"{child} made a {d.step} request past {parent}'s last call"
                if d.source_seq is None
                else f"{child}'s {d.step} request differs from {parent}'s at {parent} seq "
                f"{d.source_seq}"
            )
            lines.append(inert(f"diverged: {said} ({child} logged Diverged at seq {d.seq})"))
            if d.reason:
                lines.append(inert(f"  {_short(d.reason, 100)}"))
        elif ln.what_if:
            lines.append(f"{child} never left the recording: every request was {parent}'s")
    if c.settings:
        lines.append("settings (A | B):")
        lines += [
            inert(f"  {s.key}: {_setting(s.key, s.a)} | {_setting(s.key, s.b)}") for s in c.settings
        ]
    d2 = c.first_difference
    if d2 is not None:
        a = f"A seq {d2.a_seq} {d2.a_type}" if d2.a_seq is not None else "A has ended"
        b = f"B seq {d2.b_seq} {d2.b_type}" if d2.b_seq is not None else "B has ended"
        fields = f" ({', '.join(d2.fields)})" if d2.fields else ""
        lines.append(inert(f"first differing event: {a} | {b}{fields}"))
    return lines


def _diff_lines(text: str, colour: bool) -> list[str]:
    out = []
    for line in text.splitlines():
        shown = "\t".join(inert(part) for part in line.split("\t"))
        style = next((s for p, s in _COLOURS if line.startswith(p)), "") if colour else ""
        out.append(f"  {style}{shown}{_RESET}" if style else f"  {shown}")
    return out


def _plan(c: Comparison, colour: bool) -> list[str]:
    p = c.plan
    if p.same:
        return ["", "plan: the same" if p.a else "plan: neither run has one"]
    return ["", "plan (A -> B):", *_diff_lines(p.diff, colour)]


def _status(value: str | None) -> str:
    return value or "unchanged"


def _changes(c: Comparison, colour: bool) -> list[str]:
    if not c.changes:
        return ["", "changes: neither run changed a file"]
    same = sum(f.same for f in c.changes)
    lines = ["", f"changes ({c.changes_kind}): {plural(len(c.changes), 'file')}, {same} the same"]
    for f in c.changes:
        lines.append(_file_line(f))
        if not f.same:
            lines += _diff_lines(f.diff, colour)
    return lines


def _file_line(f: FileComparison) -> str:
    result = "same result" if f.same else "results differ"
    return inert(f"{quote_path(f.path)}: A {_status(f.a)}, B {_status(f.b)}: {result}")


def _value(name: str, value: Any, *, signed: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return inert(value)
    if name == "cost_usd":
        text = f"${abs(value):.4f}"
    elif name == "wall_ms":
        text = f"{abs(value) / 1000:.1f}s"
    else:
        text = f"{abs(value):,}"
    if not any(c in "123456789" for c in text):  # shown as zero: no sign
        return text
    return ("-" if value < 0 else "+" if signed else "") + text


def _figures(figures: list[Figure]) -> list[str]:
    rows = [("", "A", "B", "B-A")]
    for f in figures:
        delta = "" if f.delta is None else _value(f.name, f.delta, signed=True)
        rows.append((f.name, _value(f.name, f.a), _value(f.name, f.b), delta))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return [
        f"{r[0].ljust(widths[0])}  {r[1].rjust(widths[1])}  {r[2].rjust(widths[2])}  "
        f"{r[3].rjust(widths[3])}".rstrip()
        for r in rows
    ]
