"""``agentlog diff`` and ``agentlog apply``: a workspace run's change, handed back."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import msgspec

from actors.cli.args import run_arg
from actors.cli.errors import UsageError, WorkFailed
from actors.cli.terminal import use_colour
from events import AgentlogError
from store import EventLog, FileDiff

__all__ = ["args_apply", "args_diff", "cmd_apply", "cmd_diff", "colour_diff"]

#: Control characters, and the bidirectional controls that make a terminal show text in
#: another order than it is read (U+061C, U+200E/F, U+202A-E, U+2066-9).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_RESET = "\033[0m"
_STYLES = (
    ("diff --git", "\033[1m"),
    ("---", "\033[1m"),
    ("+++", "\033[1m"),
    ("@@", "\033[36m"),
    ("+", "\033[32m"),
    ("-", "\033[31m"),
)


def _visible(text: str) -> str:
    """Model-written text made safe for a terminal: control characters shown escaped."""
    return _CONTROL.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def colour_diff(text: str) -> str:
    """A diff for a terminal: escaped, headers bold, hunks cyan, additions green, removals red."""
    out: list[str] = []
    for line in text.splitlines():
        style = next((s for prefix, s in _STYLES if line.startswith(prefix)), "")
        shown = _visible(line)
        out.append(f"{style}{shown}{_RESET}" if style else shown)
    return "\n".join(out) + ("\n" if out else "")


def _check_round(log: EventLog, round: int | None) -> None:
    """A ``--round`` the run never reached is a usage error, not silently its last round."""
    from store import workflow_state

    if round is not None:
        last = workflow_state(log.read()).round
        if not 0 <= round <= last:
            raise UsageError(f"--round must be between 0 and {last} (this run's rounds)")


def _change(args: argparse.Namespace) -> list[FileDiff]:
    from actors.cli.opening import open_log
    from actors.workspace.apply import NoWorkspace, run_change

    log = open_log(args.run)
    _check_round(log, args.round)
    try:
        _, _, diffs = run_change(log.path.parent, args.round)
    except NoWorkspace as exc:
        raise UsageError(str(exc)) from None
    return diffs


def cmd_diff(args: argparse.Namespace) -> int:
    from store import diff_stat, render_diff

    if args.other is not None:  # two runs: compared (actors.views.compare)
        from actors.cli.compare_cmd import cmd_compare

        return cmd_compare(args)
    diffs = _change(args)
    if args.json:
        data = msgspec.json.encode([msgspec.to_builtins(d) for d in diffs])
        print(data.decode())
        return 0
    text = diff_stat(diffs) if args.stat else render_diff(diffs)
    if sys.stdout.isatty():  # NO_COLOR keeps the escaping, drops the colour
        text = colour_diff(text) if use_colour(sys.stdout) and not args.stat else _visible(text)
    sys.stdout.write(text)
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from actors.cli.opening import open_log, require_directory, settle_apply
    from actors.workspace.apply import (
        ApplyRefused,
        BadTarget,
        NotApproved,
        NoWorkspace,
        apply_run,
        commit_run,
    )
    from store import quote_path

    log = open_log(args.run)
    _check_round(log, args.round)
    if args.to is not None:
        require_directory(Path(args.to), "--to ")
    run = log.path.parent
    settle_apply(run)
    try:
        if args.branch is not None:
            if args.three_way:
                raise UsageError("--branch commits at the base commit; --3way does not apply")
            report = commit_run(run, args.branch, args.to, round=args.round, force=args.force)
        else:
            report = apply_run(
                run, args.to, three_way=args.three_way, round=args.round, force=args.force
            )
    except NoWorkspace as exc:
        raise UsageError(str(exc)) from None
    except NotApproved as exc:
        raise UsageError(f"{_visible(str(exc))} (--force applies it anyway)") from None
    except BadTarget as exc:
        raise UsageError(_visible(str(exc))) from None
    except ApplyRefused as exc:
        raise WorkFailed(_visible(str(exc))) from None
    except OSError as exc:  # the transaction put everything back before this reached us
        where = f" ({exc.filename})" if exc.filename else ""
        raise WorkFailed(f"not applied, nothing changed: {exc.strerror}{where}") from None
    except AgentlogError:
        raise
    if report.not_approved is not None:
        print(
            f"agentlog: note: --force: not approved ({_visible(report.not_approved)}), "
            "handed back anyway",
            file=sys.stderr,
        )
    if args.json:
        print(msgspec.json.encode(report).decode())
    elif report.branch is not None:
        print(
            f"{report.target}: branch {report.branch} at {report.commit} "
            f"(`git switch {report.branch}` to check it out)"
        )
    else:
        if not report.written and not report.deleted:
            print(f"{report.target}: already holds the change; nothing to do")
            return 0
        merged = f", {len(report.merged)} merged" if report.merged else ""
        print(
            f"{report.target}: applied: {len(report.written)} written, "
            f"{len(report.deleted)} deleted{merged}"
        )
        for path in (*report.written, *report.deleted):
            print(f"  {quote_path(path)}")
    return 0


def args_diff(p: argparse.ArgumentParser) -> str:
    """``agentlog diff``'s arguments; returns its example."""
    run_arg(p)
    p.add_argument(
        "other",
        nargs="?",
        metavar="RUN_B",
        help="a second run: compare RUN (A) with it (divergence, plans, changes, figures)",
    )
    p.add_argument("--round", type=int, metavar="N", help="the change as of revision round N")
    p.add_argument("--stat", action="store_true", help="files changed, insertions, deletions")
    p.add_argument(
        "--json",
        action="store_true",
        help="one object per changed file (with RUN_B: the comparison as one object)",
    )
    return (
        "agentlog diff runs/fix --stat\n"
        "  agentlog diff runs/fix runs/fix-strict  # two runs of one task compared"
    )


def args_apply(p: argparse.ArgumentParser) -> str:
    """``agentlog apply``'s arguments; returns its example."""
    run_arg(p)
    p.add_argument("--to", metavar="DIR", help="the directory to change (default: the workspace)")
    p.add_argument(
        "--branch",
        metavar="NAME",
        help="commit the change on a new branch at the base commit (working tree untouched)",
    )
    p.add_argument(
        "--3way",
        dest="three_way",
        action="store_true",
        help="merge files that changed since the base; refuse only on a conflict",
    )
    p.add_argument("--round", type=int, metavar="N", help="the change as of revision round N")
    p.add_argument(
        "--force",
        action="store_true",
        help="hand back a change that was not approved (waiting, rejected, failed)",
    )
    p.add_argument("--json", action="store_true", help="what was written, as JSON")
    return "agentlog apply runs/fix --branch agentlog/fix"
