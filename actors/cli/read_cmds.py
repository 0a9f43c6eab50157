"""Read-side commands: ``log``, ``show`` (an event, or a call's request), ``verify`` and
``project``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import suppress
from itertools import takewhile
from pathlib import Path

import msgspec

from actors.cli.args import json_arg, run_arg
from actors.cli.errors import WorkFailed
from actors.cli.opening import open_log
from actors.cli.streams import say
from actors.cli.terminal import inert, terminal_width, use_colour
from actors.cli.timeline import format_event
from events import (
    EVENT_TYPES,
    AgentlogError,
    Event,
    ModelCalled,
    ToolResulted,
    UnknownEvent,
    UsageError,
    WorkflowCompleted,
    WorkflowFailed,
    to_dict,
)
from store import (
    LOG_NAME,
    EventLog,
    LogCorrupt,
    VerifyReport,
)

__all__ = [
    "args_log",
    "args_project",
    "args_show",
    "args_verify",
    "cmd_log",
    "cmd_project",
    "cmd_show",
    "cmd_verify",
]

_json = msgspec.json.Encoder()
#: Events after which a workflow appends nothing more: ``log --follow`` stops there.
_FINAL = (WorkflowCompleted, WorkflowFailed)


def _json_line(data: object) -> str:
    return inert(_json.encode(data).decode(), json=True)


def _shown(path: Path) -> str:
    return inert(str(path))


def _wanted(args: argparse.Namespace) -> Callable[[Event | UnknownEvent], bool]:
    """The filter ``--step`` and ``--type`` ask for (every event when neither is given)."""
    by_lower = {name.lower(): name for name in EVENT_TYPES}
    unknown = [t for t in args.type or () if t.lower() not in by_lower]
    if unknown:
        raise UsageError(
            f"--type {inert(unknown[0])!r} is no event type; known: {', '.join(EVENT_TYPES)}"
        )
    types = {by_lower[t.lower()] for t in args.type or ()}
    steps = set(args.step or ())

    def wanted(event: Event | UnknownEvent) -> bool:
        kind = event.type if isinstance(event, UnknownEvent) else type(event).__name__
        step = getattr(event, "step", None)
        return (not types or kind in types) and (not steps or step in steps)

    return wanted


def cmd_log(args: argparse.Namespace) -> int:
    wanted = _wanted(args)
    log = open_log(args.run, wait=args.follow)
    colour = use_colour(sys.stdout) and not args.json
    width = None if args.wide or args.json else terminal_width(sys.stdout)
    events = log.follow() if args.follow else log.read()
    for event in events:
        if wanted(event):
            line = _json_line(to_dict(event)) if args.json else None
            if not say(line or format_event(event, colour=colour, width=width)):
                return 0  # the reader left (`| head`): nothing more to show
        if args.follow and isinstance(event, _FINAL):
            break  # the workflow appends nothing after its final event
    torn = 0 if args.follow else log.torn_bytes()
    if torn:
        print(
            f"agentlog: {_shown(log.path)}: torn last line ({torn} bytes) not shown; "
            "run `agentlog verify --repair`",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    log = open_log(args.run)
    if args.seq < 1:
        raise UsageError(f"SEQ must be 1 or more, got {args.seq}")
    if args.request:
        return _show_request(log, args.seq, as_json=args.json)
    for event in log.read(from_seq=args.seq):
        if event.seq == args.seq:
            _say_data(to_dict(event), as_json=args.json)
            if isinstance(event, ToolResulted) and not args.json:
                _say_tool_output(log, event)
            return 0
        break
    raise UsageError(f"{_shown(log.path)}: no event with seq {args.seq}")


def _say_data(data: object, *, as_json: bool) -> None:
    """``data`` as one JSON line, or pretty JSON for a person (escaped either way)."""
    if as_json:
        say(_json_line(data))
    else:
        say(inert(msgspec.json.format(_json.encode(data), indent=2).decode(), json=True))


def _say_tool_output(log: EventLog, event: ToolResulted) -> None:
    """A tool result's output as text, after its JSON: whole, from ``objects/`` when the
    log keeps only its head and tail (a missing object is one line saying so)."""
    from store import ObjectProblem, ObjectStore

    text, whole = event.output, "as the model was shown it"
    if event.output_digest:
        try:
            data = ObjectStore(log.path.parent).get(event.output_digest)
        except ObjectProblem as exc:
            whole = f"cut to its head and tail; the whole is {exc.reason}: {_shown(exc.path)}"
        else:
            text = data.decode("utf-8", "replace")
            whole = f"whole, {len(text):,} characters, from objects/"
    say("")
    say(f"output ({whole}):")
    for line in text.splitlines():
        say(inert(line))


#: What ``show --request`` says for a call made before requests were recorded.
NOT_RECORDED = "the request was not recorded (written by an older agentlog)"


def _show_request(log: EventLog, seq: int, *, as_json: bool) -> int:
    """The request the ``ModelCalled`` at ``seq`` answered, from the run's objects."""
    from actors.models import load_request
    from store import ObjectProblem, ObjectStore, object_refs

    call = next(iter(log.read(from_seq=seq)), None)
    if call is None or call.seq != seq:
        raise UsageError(f"{_shown(log.path)}: no event with seq {seq}")
    if not isinstance(call, ModelCalled):
        kind = inert(str(to_dict(call).get("type")))
        raise UsageError(
            f"{_shown(log.path)}: seq {seq} is a {kind}, not a ModelCalled; "
            "--request shows what a model call was asked"
        )
    # The one rule of which requests a log keeps (the run or the fork in force says so).
    upto = takewhile(lambda ev: ev.seq <= seq, log.read())
    records = any(ref.seq == seq for ref in object_refs(upto))
    store = ObjectStore(log.path.parent)
    try:
        request = load_request(store, call.request_digest)
    except ObjectProblem as exc:
        raise WorkFailed(f"{_shown(exc.path)}: {exc.reason} (the request of seq {seq})") from None
    if request is None and records:
        where = _shown(Path(store.location(call.request_digest)))
        raise WorkFailed(f"{where}: missing (the request of seq {seq})")
    if as_json:
        data = {"seq": seq, "request_digest": call.request_digest, "recorded": request is not None}
        say(_json_line({**data, "request": request} if request is not None else data))
    elif request is None:
        say(NOT_RECORDED)
    else:
        from actors.cli.request_text import request_lines

        for line in request_lines(request, seq=seq, digest=call.request_digest):
            say(line)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """One verdict for the run, said as text or as one JSON object, with one exit code.

    The log is checked first (with ``--repair`` a torn tail or crash debris is moved
    aside), then, on an intact log, every object it names and every projection beside
    it (rebuilt with ``--repair``): one ``verify --repair`` leaves a crashed run whole.
    """
    log = open_log(args.run)  # settles an apply cut short: rolled back or finished
    report = log.verify()
    if report.first_bad_line == 1:
        with suppress(LogCorrupt):  # a damaged log is reported below
            next(iter(log.read()), None)  # a file that is no log at all: NotALog, exit 2
    data: dict[str, object] = {"path": str(log.path), **msgspec.to_builtins(report)}
    said: list[str] = []  # what the text form prints, in order
    try:
        code = _verify_run(log, report, args.repair, data, said)
    except AgentlogError as exc:
        if not args.json:
            for line in said:
                say(line)
            if isinstance(exc, _ObjectsDamaged):
                for issue in exc.issues[1:]:
                    print(f"agentlog: {inert(issue)}", file=sys.stderr)
            raise
        data["ok"] = False
        data["error"] = str(exc)
        code = exc.exit_code
    if args.json:
        say(_json_line(data))
    else:
        for line in said:
            say(line)
    return code


class _ObjectsDamaged(WorkFailed):
    """Objects the log names are missing or changed (all of them in ``issues``)."""

    def __init__(self, issues: list[str]) -> None:
        more = f" ({len(issues) - 1} more above)" if len(issues) > 1 else ""
        super().__init__(f"{issues[0]}{more}")
        self.issues = issues


def _verify_run(
    log: EventLog, report: VerifyReport, repair: bool, data: dict[str, object], said: list[str]
) -> int:
    """The checks of ``verify`` in order; fills ``data`` (JSON) and ``said`` (text).

    Returns the exit code, or raises the error that ends the command.
    """
    path = _shown(log.path)
    if repair and report.repairable:
        fixed = log.repair()
        data["repaired"] = msgspec.to_builtins(fixed, enc_hook=str)  # side_file: a Path
        said.append(f"{path}: repaired: {inert(str(fixed))}")
        report = log.verify()  # the log as it is now: what the rest is checked against
        data.update(msgspec.to_builtins(report))
    if not report.ok:
        data["ok"] = False
        if not report.repairable:
            raise WorkFailed(f"{path}:{report.first_bad_line}: {report.reason}")
        if report.first_bad_line is not None:
            said.append(f"{path}:{report.first_bad_line}: {inert(report.reason or '')}")
        else:
            said.append(
                f"{path}: torn last line ({report.torn_bytes} bytes after {report.events} "
                "complete events), left by a crash; run `agentlog verify --repair`"
            )
        return 1
    debris = _object_debris(log, repair, data)
    if _unsynced_tail(log, repair, data, said):
        if debris:
            said.append(debris)
        data["ok"] = False
        return 1
    if "unsynced_moved" in data:
        report = log.verify()
        data.update(msgspec.to_builtins(report))
    _verify_objects(log, data)
    said.append(f"{path}: ok, {report.events} events, last seq {report.last_seq}")
    if debris:
        said.append(debris)
    code = _verify_projections(log, repair, data, said)
    if debris and not repair:
        code = 1
    data["ok"] = code == 0
    return code


def _unsynced_tail(log: EventLog, repair: bool, data: dict[str, object], said: list[str]) -> bool:
    """Whether the log ends in lines a power cut kept without their objects
    (:mod:`store.unsynced`), named in ``said``; with ``repair`` they are moved aside."""
    from store.unsynced import move_unsynced_tail, unsynced_line

    if log.path.name != LOG_NAME or log.being_written():
        return False  # a live run's lines name records its pack holds unsynced
    path = _shown(log.path)
    if repair:
        done = move_unsynced_tail(log)  # the same move a resume makes
        if done is None:
            return False
        line = done.line
        data["unsynced_tail"] = {"line": line.seq, "object": line.hash, "what": line.what}
        data["unsynced_moved"] = msgspec.to_builtins(done.moved, enc_hook=str)
        said.append(f"{path}: repaired: {inert(str(done.moved))} (written after the last sync)")
        return False
    found = unsynced_line(log.path.parent, log.read())
    if found is None:
        return False
    line = found
    data["unsynced_tail"] = {"line": line.seq, "object": line.hash, "what": line.what}
    said.append(
        f"{path}:{line.seq}: {inert(str(line))}; `agentlog verify --repair` moves them aside"
    )
    return True


def _verify_objects(log: EventLog, data: dict[str, object]) -> None:
    """Every object the log names must exist with its bytes; name each one that does not."""
    from store import check_objects

    issues = [str(issue) for issue in check_objects(log.path.parent, log.read())]
    data["damaged_objects"] = issues
    if issues:
        data["objects"] = issues
        raise _ObjectsDamaged(issues)


def _debris_of(log: EventLog, repair: bool) -> list[Path]:
    """What a write cut short left in ``objects/`` (temp files, a pack without its index),
    or with ``repair`` what was removed; none while a run is writing."""
    from store import ObjectStore
    from store.objects import clear_debris

    if log.path.name != LOG_NAME or log.being_written():
        return []  # a live run's temp file is a write in flight, not debris
    return clear_debris(log.path) if repair else ObjectStore(log.path.parent).debris()


def _object_debris(log: EventLog, repair: bool, data: dict[str, object]) -> str:
    """:func:`_debris_of` as one line for a person ("" when there is none), and in
    ``data`` as ``object_debris`` (``debris_removed`` with ``repair``)."""
    run_dir = log.path.parent
    found = _debris_of(log, repair)
    data["debris_removed" if repair else "object_debris"] = [str(p) for p in found]
    if not found:
        return ""
    names = ", ".join(inert(str(p.relative_to(run_dir))) for p in found[:3])
    names += f" and {len(found) - 3} more" if len(found) > 3 else ""
    if repair:
        return f"{_shown(run_dir)}: removed {len(found)} leftovers of a cut object write ({names})"
    return (
        f"{_shown(run_dir)}: {len(found)} leftovers of a cut object write ({names}); "
        "`agentlog verify --repair` removes them"
    )


def _verify_projections(
    log: EventLog, repair: bool, data: dict[str, object], said: list[str]
) -> int:
    """The run's projections against its intact log: report (1) or, with repair, rebuild."""
    from store import check_projections, repair_projections

    run_dir = log.path.parent
    if log.path.name != LOG_NAME:
        return 0  # a log outside a run directory has no projections beside it
    if log.being_written():
        data["note"] = "projections not checked: a run is writing this log"
        said.append(f"{_shown(run_dir)}: projections not checked: a run is writing this log")
        return 0
    wrong = repair_projections(log) if repair else check_projections(run_dir, log.read())
    if not wrong:
        return 0
    shown = "; ".join(wrong[:3]) + (f"; and {len(wrong) - 3} more" if len(wrong) > 3 else "")
    if repair:
        data["rebuilt"] = wrong
        said.append(
            f"{_shown(run_dir)}: rebuilt {len(wrong)} projections from the log ({inert(shown)})"
        )
        return 0
    data["projections"] = wrong
    said.append(
        f"{_shown(run_dir)}: {len(wrong)} projections differ from the log ({inert(shown)}); "
        "`agentlog verify --repair` rebuilds them"
    )
    return 1


def cmd_project(args: argparse.Namespace) -> int:
    from store import materialize  # projections: not on `log`'s start

    log = open_log(args.run, in_run_dir=True)
    at: int | None = getattr(args, "at", None)
    if at is None:
        result = materialize(log.path.parent, log.read())
    else:
        events = list(log.read())
        last = events[-1].seq if events else 0
        if not 1 <= at <= last:
            raise UsageError(f"{_shown(log.path)}: --at {at}: the log holds seq 1 to {last}")
        result = materialize(log.path.parent, events, at=at)
    if args.json:
        data = {"run_dir": str(log.path.parent), **msgspec.to_builtins(result)}
        say(_json_line({**data, "at": at} if at is not None else data))
    else:
        when = f" (as of seq {at})" if at is not None else ""
        say(f"{_shown(log.path.parent)}: {result}{when}")
    return 0


def args_log(p: argparse.ArgumentParser) -> str:
    """``agentlog log``'s arguments; returns its example."""
    run_arg(p)
    p.add_argument("--json", action="store_true", help="print each event as one JSON line")
    p.add_argument(
        "--follow",
        "-f",
        action="store_true",
        help="keep printing events as another process appends them",
    )
    p.add_argument(
        "--wide",
        "-w",
        action="store_true",
        help="never cut a line to the terminal's width (piped output is never cut)",
    )
    p.add_argument(
        "--step",
        action="append",
        choices=("plan", "code", "review"),
        help="only events of this step (repeatable)",
    )
    p.add_argument(
        "--type",
        action="append",
        metavar="TYPE",
        help="only events of this type, e.g. StepFailed, any case (repeatable)",
    )
    return "agentlog log runs/demo --step code --type stepfailed --type ModelCalled"


def args_show(p: argparse.ArgumentParser) -> str:
    """``agentlog show``'s arguments; returns its example."""
    run_arg(p)
    p.add_argument("seq", metavar="SEQ", type=int, help="the event's seq")
    p.add_argument(
        "--request",
        action="store_true",
        help="print the request a ModelCalled answered, readably: system prompt, each "
        "message and its blocks, tool, parameters (--json: the raw object)",
    )
    p.add_argument("--json", action="store_true", help="print it as one JSON line")
    return "agentlog show runs/demo 4 --request"


def args_verify(p: argparse.ArgumentParser) -> str:
    """``agentlog verify``'s arguments; returns its example."""
    run_arg(p)
    p.add_argument(
        "--repair",
        action="store_true",
        help="move a torn last line or crash debris to a side file and rebuild projections "
        "that differ from the log",
    )
    json_arg(p, "the report")
    return "agentlog verify runs/demo --repair"


def args_project(p: argparse.ArgumentParser) -> str:
    """``agentlog project``'s arguments; returns its example."""
    run_arg(p)
    p.add_argument(
        "--at",
        metavar="SEQ",
        type=int,
        help="project the log as of event SEQ: files/ is the working copy after it",
    )
    json_arg(p, "what was written and removed")
    return "agentlog project runs/demo --at 12"
