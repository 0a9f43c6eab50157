"""Read-side commands: ``log``, ``show``, ``verify`` and ``project``."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable

import msgspec

from actors.cli.app import UsageError, WorkFailed
from actors.cli.timeline import format_event
from events import EVENT_TYPES, Event, UnknownEvent, to_dict
from store import EventLog, materialize, resolve_log_path

__all__ = ["cmd_log", "cmd_project", "cmd_show", "cmd_verify", "open_log"]

_json = msgspec.json.Encoder()


def open_log(run: str, *, wait: bool = False) -> EventLog:
    """The log of RUN (a run directory or its events.jsonl), or a usage error naming it.

    With ``wait`` a missing log is waited for (``log --follow`` started before the run).
    """
    path = resolve_log_path(run)
    if wait and not path.is_file():
        print(f"agentlog: waiting for {path} to appear…", file=sys.stderr)
        while not path.is_file():
            time.sleep(0.1)
    if not path.is_file():
        raise UsageError(f"{path}: no such event log")
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
        return 0
    if report.torn_bytes and report.first_bad_line is None:
        if args.repair:
            fixed = log.repair()
            print(
                f"{log.path}: repaired: kept {fixed.kept_events} events, moved "
                f"{fixed.moved_bytes} torn bytes to {fixed.side_file}"
            )
            return 0
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


def cmd_project(args: argparse.Namespace) -> int:
    log = open_log(args.run)
    result = materialize(log.path.parent, log.read())
    print(f"{log.path.parent}: {result}")
    return 0
