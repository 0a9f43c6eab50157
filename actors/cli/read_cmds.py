"""Read-side commands: ``log``, ``show``, ``verify`` and ``project``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable

import msgspec

from actors.cli.app import UsageError, WorkFailed
from actors.cli.timeline import format_event
from events import EVENT_TYPES, Event, UnknownEvent, to_dict
from store import EventLog, log_file_problem, materialize, resolve_log_path

__all__ = ["cmd_log", "cmd_project", "cmd_show", "cmd_verify", "open_log"]

_json = msgspec.json.Encoder()


def open_log(run: str, *, wait: bool = False) -> EventLog:
    """The log of RUN (a run directory or its events.jsonl), or a usage error naming it.

    With ``wait`` a missing log is waited for (``log --follow`` started before the run).
    """
    path = resolve_log_path(run)
    if wait and not os.path.lexists(path):  # something else in its place is named below
        print(f"agentlog: waiting for {path} to appear…", file=sys.stderr)
        while not os.path.lexists(path):
            time.sleep(0.1)
    problem = log_file_problem(path)
    if problem is not None:
        raise UsageError(f"{path}: {problem}")
    return EventLog(path)


def _wanted(args: argparse.Namespace) -> Callable[[Event | UnknownEvent], bool]:
    """The filter ``--step`` and ``--type`` ask for (every event when neither is given)."""
    types = set(args.type or ())
    steps = set(args.step or ())
    unknown = types - EVENT_TYPES.keys()
    if unknown:
        raise UsageError(
            f"--type {sorted(unknown)[0]!r} is no event type; known: {', '.join(EVENT_TYPES)}"
        )

    def wanted(event: Event | UnknownEvent) -> bool:
        kind = event.type if isinstance(event, UnknownEvent) else type(event).__name__
        step = getattr(event, "step", None)
        return (not types or kind in types) and (not steps or step in steps)

    return wanted


def cmd_log(args: argparse.Namespace) -> int:
    log = open_log(args.run, wait=args.follow)
    colour = sys.stdout.isatty() and not args.json
    width = shutil.get_terminal_size().columns if colour else None
    wanted = _wanted(args)
    events = log.follow() if args.follow else log.read()
    out = sys.stdout
    for event in events:
        if not wanted(event):
            continue
        if args.json:
            out.write(_json.encode(to_dict(event)).decode() + "\n")
        else:
            out.write(format_event(event, colour=colour, width=width) + "\n")
        if args.follow:
            out.flush()
    torn = 0 if args.follow else log.torn_bytes()
    if torn:
        print(
            f"agentlog: {log.path}: torn last line ({torn} bytes) not shown; "
            "run `agentlog verify --repair`",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    log = open_log(args.run)
    if args.seq < 1:
        raise UsageError(f"SEQ must be 1 or more, got {args.seq}")
    for event in log.read(from_seq=args.seq):
        if event.seq == args.seq:
            print(msgspec.json.format(_json.encode(to_dict(event)), indent=2).decode())
            return 0
        break
    raise UsageError(f"{log.path}: no event with seq {args.seq}")


def cmd_verify(args: argparse.Namespace) -> int:
    log = open_log(args.run)
    report = log.verify()
    if report.ok:
        _verify_objects(log)
        print(f"{log.path}: ok, {report.events} events, last seq {report.last_seq}")
        return _verify_projections(log, args.repair)
    if report.repairable:
        if args.repair:
            print(f"{log.path}: repaired: {log.repair()}")
            return 0
        if report.first_bad_line is not None:
            print(f"{log.path}:{report.first_bad_line}: {report.reason}")
            return 1
        print(
            f"{log.path}: torn last line ({report.torn_bytes} bytes after {report.events} "
            "complete events), left by a crash; run `agentlog verify --repair`"
        )
        return 1
    raise WorkFailed(f"{log.path}:{report.first_bad_line}: {report.reason}")


def _verify_objects(log: EventLog) -> None:
    """Every object the log names must exist with its bytes; name each one that does not."""
    from store import check_objects

    issues = check_objects(log.path.parent, log.read())
    for issue in issues[1:]:
        print(f"agentlog: {issue}", file=sys.stderr)
    if issues:
        more = f" ({len(issues) - 1} more above)" if len(issues) > 1 else ""
        raise WorkFailed(f"{issues[0]}{more}")


def _verify_projections(log: EventLog, repair: bool) -> int:
    """The run's projections against its intact log: report (1) or, with repair, rebuild."""
    from store import LOG_NAME, check_projections, repair_projections

    run_dir = log.path.parent
    if log.path.name != LOG_NAME:
        return 0  # a log outside a run directory has no projections beside it
    if log.being_written():
        print(f"{run_dir}: projections not checked: a run is writing this log")
        return 0
    wrong = repair_projections(log) if repair else check_projections(run_dir, log.read())
    if not wrong:
        return 0
    shown = "; ".join(wrong[:3]) + (f"; and {len(wrong) - 3} more" if len(wrong) > 3 else "")
    if repair:
        print(f"{run_dir}: rebuilt {len(wrong)} projections from the log ({shown})")
        return 0
    print(
        f"{run_dir}: {len(wrong)} projections differ from the log ({shown}); "
        "`agentlog verify --repair` rebuilds them"
    )
    return 1


def cmd_project(args: argparse.Namespace) -> int:
    log = open_log(args.run)
    result = materialize(log.path.parent, log.read())
    print(f"{log.path.parent}: {result}")
    return 0
