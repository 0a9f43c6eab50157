"""The ``agentlog`` command line: argument parsing, dispatch and exit codes.

Exit codes follow the contract: 0 success, 1 the work failed or the log is damaged,
2 bad usage or input. Command bodies live in sibling modules imported only when a
command runs, so ``agentlog --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from events import AgentlogError

__all__ = ["UsageError", "WorkFailed", "build_parser", "main"]


class UsageError(AgentlogError):
    """Bad usage or input (exit 2)."""


class WorkFailed(AgentlogError):
    """The work failed or the log is damaged (exit 1)."""


def _cmd(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    target: str,
    help_: str,
    example: str,
) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name,
        help=help_,
        description=help_,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(target=target)
    return parser


def _run_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run directory or its events.jsonl")


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="Claude model (default: $AGENTLOG_MODEL or built-in)")
    parser.add_argument(
        "--continue-on-error",
        action="store_true",
        default=None,
        help="run the Reviewer even when the Coder failed",
    )
    parser.add_argument(
        "--max-revisions",
        type=int,
        metavar="N",
        help="rounds a request_changes review sends back to the Coder",
    )
    parser.add_argument(
        "--max-retries", type=int, metavar="N", help="retries per step for retryable failures"
    )
    parser.add_argument(
        "--step-timeout", type=float, metavar="S", help="seconds one step attempt may take"
    )
    parser.add_argument(
        "--run-tests",
        action="store_true",
        default=None,
        help="run the workspace's tests and show the result to the Reviewer",
    )
    _script_arg(parser)


def _script_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--script",
        metavar="FILE",
        help="answer from a JSON model script instead of Claude (offline runs, tests)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every command has --help with an example)."""
    parser = argparse.ArgumentParser(
        prog="agentlog",
        description="Planner → Coder → Reviewer on Claude, as an event-sourced actor system.",
        epilog="example:\n  agentlog demo --run-dir runs/demo && agentlog log runs/demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--log-format",
        choices=("console", "json"),
        default="console",
        help="format of diagnostic logs on stderr",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="least severe diagnostic shown (default: warning)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = _cmd(
        sub,
        "run",
        "actors.cli.run_cmds:cmd_run",
        "run a workflow on Claude",
        "agentlog run 'write a CLI that prints primes' --run-dir runs/primes",
    )
    p.add_argument("task", metavar="TASK", help="the task as text, or @FILE to read it")
    p.add_argument("--run-dir", metavar="DIR", help="where the run goes (default: runs/<id>)")
    _config_args(p)

    p = _cmd(
        sub,
        "demo",
        "actors.cli.run_cmds:cmd_demo",
        "a complete workflow with a scripted model: no key, no network",
        "agentlog demo --run-dir /tmp/demo",
    )
    p.add_argument("--run-dir", metavar="DIR", help="where the run goes (default: runs/demo-<id>)")

    p = _cmd(
        sub,
        "log",
        "actors.cli.read_cmds:cmd_log",
        "the timeline, one line an event",
        "agentlog log runs/demo --step code --type StepFailed --type ModelCalled",
    )
    _run_arg(p)
    p.add_argument("--json", action="store_true", help="print each event as one JSON line")
    p.add_argument(
        "--follow",
        "-f",
        action="store_true",
        help="keep printing events as another process appends them",
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
        help="only events of this type, e.g. StepFailed (repeatable)",
    )

    p = _cmd(
        sub,
        "show",
        "actors.cli.read_cmds:cmd_show",
        "one event, whole",
        "agentlog show runs/demo 4",
    )
    _run_arg(p)
    p.add_argument("seq", metavar="SEQ", type=int, help="the event's seq")

    p = _cmd(
        sub,
        "stats",
        "actors.cli.inspect_cmds:cmd_stats",
        "per step: attempts, failures, duration, tokens, cost",
        "agentlog stats runs/demo",
    )
    _run_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = _cmd(
        sub,
        "verify",
        "actors.cli.read_cmds:cmd_verify",
        "check the log's integrity; names the first bad line",
        "agentlog verify runs/demo --repair",
    )
    _run_arg(p)
    p.add_argument(
        "--repair",
        action="store_true",
        help="move a torn last line to a side file and truncate the log",
    )

    p = _cmd(
        sub,
        "project",
        "actors.cli.read_cmds:cmd_project",
        "rebuild plan.json, code.json, review.json and files/ from the log",
        "agentlog project runs/demo",
    )
    _run_arg(p)

    p = _cmd(
        sub,
        "replay",
        "actors.cli.inspect_cmds:cmd_replay",
        "re-run the agents on the recorded responses and check the same events come out",
        "agentlog replay runs/demo",
    )
    _run_arg(p)

    p = _cmd(
        sub,
        "resume",
        "actors.cli.run_cmds:cmd_resume",
        "continue a run that was killed, from its log",
        "agentlog resume runs/primes",
    )
    _run_arg(p)
    _script_arg(p)

    p = _cmd(
        sub,
        "fork",
        "actors.cli.run_cmds:cmd_fork",
        "a new run sharing a log's first SEQ events, continued live",
        "agentlog fork runs/demo --at 5 --run-dir runs/demo-fork --max-revisions 1",
    )
    _run_arg(p)
    p.add_argument("--at", metavar="SEQ", type=int, required=True, help="events to keep")
    p.add_argument("--run-dir", metavar="DIR", help="where the fork goes")
    p.add_argument("--task", help="replace the task from the fork point on (text or @FILE)")
    _config_args(p)

    p = _cmd(
        sub,
        "sync",
        "actors.cli.sync_cmds:cmd_sync",
        "mirror runs to Convex ($CONVEX_URL): catch-up or backfill",
        "CONVEX_URL=https://x.convex.cloud agentlog sync runs/*",
    )
    p.add_argument("runs", metavar="RUN", nargs="+", help="run directories or events.jsonl files")

    p = _cmd(
        sub,
        "batch",
        "actors.cli.batch_cmds:cmd_batch",
        "many runs from a JSONL tasks file, one directory each; run again to continue",
        "agentlog batch tasks.jsonl --runs-dir runs/eval --concurrency 16",
    )
    p.add_argument("tasks", metavar="TASKS", help='JSONL, one run a line: {"id": …, "task": …}')
    p.add_argument("--runs-dir", metavar="DIR", required=True, help="one run directory per id")
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: runs share this process; ray: one Ray task per run (agentlog[ray])",
    )
    p.add_argument("--ray-address", metavar="ADDR", help="the Ray cluster (default: local Ray)")
    p.add_argument(
        "--concurrency", type=int, default=8, metavar="N", help="runs at once (default: 8)"
    )
    p.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    _config_args(p)
    return parser


def _exit_code(exc: AgentlogError) -> int:
    """1 for a damaged log or failed work, 2 for everything the user can fix in the call."""
    from store import LogCorrupt, TornTail

    return 1 if isinstance(exc, LogCorrupt | TornTail | WorkFailed) else 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentlog`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    from actors.logs import configure_logging

    configure_logging(args.log_format, args.log_level)
    module, _, func = args.target.partition(":")
    handler = getattr(importlib.import_module(module), func)
    try:
        code: int = handler(args)
    except AgentlogError as exc:
        print(f"agentlog: {exc}", file=sys.stderr)
        return _exit_code(exc)
    except KeyboardInterrupt:
        print("agentlog: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return code
