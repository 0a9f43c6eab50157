"""The ``agentlog`` command line: argument parsing, dispatch and exit codes.

Exit codes follow the contract: 0 success, 1 the work failed or the log is damaged,
2 bad usage or input, 3 waiting for a person (an approval gate), 130/143 interrupted
(Ctrl-C, SIGTERM) and resumable. Each error class carries its own ``exit_code``;
:func:`main` only translates. Command bodies live in sibling modules imported only
when a command runs, so ``agentlog --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from events import AgentlogError, UsageError, WorkflowConfig

__all__ = ["UsageError", "WorkFailed", "build_parser", "main"]


class WorkFailed(AgentlogError):
    """The work failed or the log is damaged (exit 1)."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the example's layout and shows every option's default.

    Options that override the workflow configuration default to None (so "not given"
    can be told apart); their help shows :class:`WorkflowConfig`'s default instead.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "%(default)" in text or "(default:" in text:  # said already
            return text
        if not action.option_strings or action.nargs == 0:
            return text
        default = action.default
        if default is None and action.dest in WorkflowConfig.__struct_fields__:
            default = getattr(WorkflowConfig(), action.dest)
        if default is None or default is argparse.SUPPRESS or default in ("", ()):
            return text
        return f"{text} (default: {default})"


class _Version(argparse.Action):
    """``--version``: the installed distribution's version, looked up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("agentlog")
        except PackageNotFoundError:
            text = "unknown (not installed)"
        print(f"agentlog {text}")
        parser.exit()


def _global_args(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``--log-format`` and ``--log-level``, accepted before or after the command.

    After the command their default is SUPPRESS, so a value given before it survives.
    """
    for flag, choices, default, text in (
        ("--log-format", ("console", "json"), "console", "format of diagnostic logs on stderr"),
        ("--log-level", ("debug", "info", "warning", "error"), "warning", "least severe log shown"),
    ):
        if top:
            parser.add_argument(flag, choices=choices, default=default, help=text)
        else:
            text = f"{text} (default: {default})"
            parser.add_argument(flag, choices=choices, default=argparse.SUPPRESS, help=text)


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
        formatter_class=_Formatter,
    )
    _global_args(parser, top=False)
    parser.set_defaults(target=target)
    return parser


def _json_arg(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def _digest_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--digest",
        metavar="D",
        help="the digest of what you looked at: refused if something else waits now",
    )


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
        "--max-tokens", type=int, metavar="N", help="most tokens one model answer may use"
    )
    parser.add_argument(
        "--run-tests",
        action="store_true",
        default=None,
        help="run the workspace's tests and show the result to the Reviewer",
    )
    parser.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none"),
        help="where --run-tests runs the model's code: bubblewrap (auto, bwrap; refused "
        "when missing) or none (unconfined, at your risk); recorded in the log",
    )
    parser.add_argument(
        "--approve",
        action=_Gates,
        metavar="GATE",
        help="stop for a person's approval after the plan or the code (plan, code, or "
        "plan,code; repeatable); the run then exits 3 until `agentlog approve`",
    )
    _loop_args(parser)
    _script_arg(parser)


def _loop_args(parser: argparse.ArgumentParser) -> None:
    """The agent loop's switch and budgets (docs/agent-loop.md)."""
    parser.add_argument(
        "--loop",
        "--agent-loop",
        dest="agent_loop",
        action="store_true",
        default=None,
        help="the Coder of a workspace run works as a tool loop (read, search, edit, run "
        "commands in the sandbox, submit), every call an event",
    )
    parser.add_argument(
        "--max-turns", type=int, metavar="N", help="model turns per step of a loop (default 50)"
    )
    parser.add_argument(
        "--budget-usd", type=float, metavar="X", help="dollars the whole run may spend"
    )
    parser.add_argument(
        "--budget-tokens", type=int, metavar="N", help="tokens the whole run may use"
    )
    parser.add_argument(
        "--command-timeout",
        type=float,
        metavar="S",
        help="seconds one run_command of a loop may take (default 120)",
    )


class _Gates(argparse.Action):
    """``--approve plan --approve code`` or ``--approve plan,code``: the gates, in order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        gates = list(getattr(namespace, self.dest, None) or ())
        for gate in str(values).split(","):
            if gate.strip() not in ("plan", "code"):
                parser.error(f"--approve {values}: a gate is plan or code")
            if gate.strip() not in gates:
                gates.append(gate.strip())
        setattr(namespace, self.dest, tuple(gates))


def _decision_args(parser: argparse.ArgumentParser) -> None:
    """What ``approve``, ``reject`` and ``review`` share: who, the run, and continuing."""
    _run_arg(parser)
    parser.add_argument("--by", metavar="NAME", help="who decides (default: the OS user)")
    parser.add_argument(
        "--no-continue",
        dest="proceed",
        action="store_false",
        help="only record the decision; `agentlog resume` (or a `run --wait`) continues",
    )
    _consent_args(parser)
    _script_arg(parser)
    _json_arg(parser, "only the outcome, no timeline,")


def _consent_args(parser: argparse.ArgumentParser, *, fork: bool = False) -> None:
    """What a person allows a run made elsewhere to execute: its log is data, not permission."""
    if fork:
        parser.add_argument(
            "--test-cmd",
            metavar="CMD",
            help="the fork's test command, run by sh -c (default: the log's, which runs only "
            "when given here again or with --trust-log)",
        )
    else:
        parser.add_argument(
            "--sandbox",
            choices=("auto", "bwrap", "none"),
            help="allow a log that asks for --sandbox none (its tests run unconfined); the "
            "run keeps its recorded sandbox (fork it to change that)",
        )
        parser.add_argument(
            "--test-cmd",
            metavar="CMD",
            help="allow the log's test command when it is exactly CMD",
        )
    parser.add_argument(
        "--trust-log",
        action="store_true",
        help="accept everything the log records: its sandbox level and its test command",
    )


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
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    _global_args(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = _cmd(
        sub,
        "run",
        "actors.cli.run_cmds:cmd_run",
        "run a workflow on Claude",
        "agentlog run 'write a CLI that prints primes' --run-dir runs/primes",
    )
    p.add_argument(
        "task", metavar="TASK", help="the task as text, @FILE to read it, or - to read stdin"
    )
    p.add_argument("--run-dir", metavar="DIR", help="where the run goes (default: runs/<id>)")
    p.add_argument(
        "--workspace",
        metavar="DIR",
        help="change this repository: its files are recorded as the base (it is only read)",
    )
    p.add_argument(
        "--test-cmd",
        metavar="CMD",
        help="the workspace's test command, run by sh -c (default: detected)",
    )
    p.add_argument(
        "--allow-credential-file",
        metavar="PATH",
        action="append",
        help="take in this workspace file although it is a credential file or holds a "
        "secret (left out by default; repeatable; recorded in the base)",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="at an approval gate, wait in the foreground (polling the log) for a decision "
        "made elsewhere (`agentlog approve RUN --no-continue`) instead of exiting 3",
    )
    _config_args(p)
    _json_arg(p, "only the outcome, no timeline,")

    p = _cmd(
        sub,
        "demo",
        "actors.cli.run_cmds:cmd_demo",
        "a complete workflow with a scripted model: no key, no network",
        "agentlog demo --run-dir /tmp/demo",
    )
    p.add_argument("--run-dir", metavar="DIR", help="where the run goes (default: runs/demo-<id>)")
    p.add_argument(
        "--loop",
        action="store_true",
        help="show the agent loop: the Coder searches, edits, runs the tests, fixes, submits",
    )
    _json_arg(p, "only the outcome, no timeline,")

    p = _cmd(
        sub,
        "log",
        "actors.cli.read_cmds:cmd_log",
        "the timeline, one line an event",
        "agentlog log runs/demo --step code --type stepfailed --type ModelCalled",
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

    p = _cmd(
        sub,
        "show",
        "actors.cli.read_cmds:cmd_show",
        "one event, whole (or, with --request, what a model call was asked)",
        "agentlog show runs/demo 4 --request",
    )
    _run_arg(p)
    p.add_argument("seq", metavar="SEQ", type=int, help="the event's seq")
    p.add_argument(
        "--request",
        action="store_true",
        help="print the request a ModelCalled answered, readably: system prompt, each "
        "message and its blocks, tool, parameters (--json: the raw object)",
    )
    p.add_argument("--json", action="store_true", help="print it as one JSON line")

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
        help="move a torn last line or crash debris to a side file and rebuild projections "
        "that differ from the log",
    )
    _json_arg(p, "the report")

    p = _cmd(
        sub,
        "project",
        "actors.cli.read_cmds:cmd_project",
        "rebuild plan.json, code.json, review.json and files/ from the log",
        "agentlog project runs/demo --at 12",
    )
    _run_arg(p)
    p.add_argument(
        "--at",
        metavar="SEQ",
        type=int,
        help="project the log as of event SEQ: files/ is the working copy after it",
    )
    _json_arg(p, "what was written and removed")

    p = _cmd(
        sub,
        "replay",
        "actors.cli.inspect_cmds:cmd_replay",
        "re-run the agents on the recorded responses and check the same events come out",
        "agentlog replay runs/demo",
    )
    _run_arg(p)
    _json_arg(p, "the report")

    p = _cmd(
        sub,
        "resume",
        "actors.cli.run_cmds:cmd_resume",
        "continue a run that was killed, from its log",
        "agentlog resume runs/primes",
    )
    _run_arg(p)
    _consent_args(p)
    _script_arg(p)
    _json_arg(p, "only the outcome, no timeline,")

    p = _cmd(
        sub,
        "retry",
        "actors.cli.run_cmds:cmd_retry",
        "retry a failed run from its failed step with a fresh retry budget (history kept)",
        "agentlog retry runs/primes --reason 'rate limit lifted'",
    )
    _run_arg(p)
    p.add_argument("--reason", default="", help="why, recorded in the RetryRequested event")
    _consent_args(p)
    _script_arg(p)
    _json_arg(p, "only the outcome, no timeline,")

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
    p.add_argument(
        "--task", help="replace the task from the fork point on (text, @FILE or - for stdin)"
    )
    _consent_args(p, fork=True)
    _config_args(p)
    _json_arg(p, "only the outcome, no timeline,")

    p = _cmd(
        sub,
        "approve",
        "actors.cli.approve_cmds:cmd_approve",
        "approve what a waiting run waits for (optionally edited), then continue it",
        "agentlog approve runs/fix --comment 'go ahead' --edit my-plan.json",
    )
    _decision_args(p)
    p.add_argument(
        "--edit",
        metavar="FILE",
        help="approve this edited artifact instead (JSON: a Plan or a CodeChange)",
    )
    p.add_argument("--comment", default="", help="why, shown in the timeline")
    _digest_arg(p)

    p = _cmd(
        sub,
        "reject",
        "actors.cli.approve_cmds:cmd_reject",
        "reject what a waiting run waits for; the run ends as failed (rejected)",
        "agentlog reject runs/fix --comment 'wrong approach: use the stdlib'",
    )
    _decision_args(p)
    p.add_argument("--comment", required=True, help="why, shown in the timeline")
    _digest_arg(p)

    p = _cmd(
        sub,
        "review",
        "actors.cli.approve_cmds:cmd_review",
        "a person's review sending the code back to the Coder (one more revision round)",
        "agentlog review runs/fix --request-changes 'handle the empty name too'",
    )
    _decision_args(p)
    p.add_argument(
        "--request-changes",
        metavar="TEXT",
        required=True,
        help="what to change, given to the Coder as the review",
    )

    p = _cmd(
        sub,
        "diff",
        "actors.cli.diff_cmds:cmd_diff",
        "the change of a workspace run as a unified diff (git apply accepts it)",
        "agentlog diff runs/fix --stat",
    )
    _run_arg(p)
    p.add_argument("--round", type=int, metavar="N", help="the change as of revision round N")
    p.add_argument("--stat", action="store_true", help="files changed, insertions, deletions")
    p.add_argument("--json", action="store_true", help="one object per changed file")

    p = _cmd(
        sub,
        "apply",
        "actors.cli.diff_cmds:cmd_apply",
        "apply a workspace run's change (refused when the target moved on from the base)",
        "agentlog apply runs/fix --branch agentlog/fix",
    )
    _run_arg(p)
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

    p = _cmd(
        sub,
        "sync",
        "actors.cli.sync_cmds:cmd_sync",
        "mirror runs to Convex ($CONVEX_URL): catch-up or backfill",
        "CONVEX_URL=https://x.convex.cloud agentlog sync runs/*",
    )
    p.add_argument("runs", metavar="RUN", nargs="+", help="run directories or events.jsonl files")
    _json_arg(p, "one report per run")

    p = _cmd(
        sub,
        "export",
        "actors.otel.cli:cmd_export",
        "runs as OpenTelemetry GenAI traces: OTLP/HTTP to a collector or OTLP/JSON to a file",
        "agentlog export runs/* --otlp http://localhost:4318",
    )
    p.add_argument("runs", metavar="RUN", nargs="+", help="run directories or events.jsonl files")
    p.add_argument(
        "--otlp", metavar="URL", help="collector URL (default: $OTEL_EXPORTER_OTLP_ENDPOINT)"
    )
    p.add_argument("--file", metavar="OUT.json", help="write OTLP/JSON lines (one run a line)")
    p.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="seconds per run, retries included"
    )
    _json_arg(p, "one report per run")

    p = _cmd(
        sub,
        "ls",
        "actors.cli.ls_cmd:cmd_ls",
        "the runs under a directory, one line each: status, verdict, time, tokens, cost",
        "agentlog ls runs --json",
    )
    p.add_argument(
        "dir", metavar="DIR", nargs="?", default="runs", help="runs directory (default: runs)"
    )
    _json_arg(p, "the runs")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="read every log whole instead of using and updating the runs' .ls-cache.json",
    )

    p = _cmd(
        sub,
        "ui",
        "actors.cli.ui_cmd:cmd_ui",
        "a local web viewer of the runs under a directory (needs agentlog[ui]); the token "
        "URL it prints also lets you approve or reject waiting runs",
        "agentlog ui runs --port 8321   # then open http://127.0.0.1:8321/",
    )
    p.add_argument(
        "dir", metavar="DIR", nargs="?", default="runs", help="runs directory (default: runs)"
    )
    p.add_argument(
        "--port", type=int, default=8321, metavar="N", help="default 8321; 0 picks a free port"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: only this machine can connect)",
    )

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
    p.add_argument("--concurrency", type=int, default=8, metavar="N", help="runs at once")
    _json_arg(p, "the outcomes")
    _config_args(p)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; an unknown option is reported with its command's usage, an unknown
    command in one line with the closest commands."""
    from actors.cli.suggest import unknown_command

    commands: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands.update(action.choices)
    wrong = unknown_command(sys.argv[1:] if argv is None else argv, commands)
    if wrong is not None:
        parser.exit(2, wrong + "\n")
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = commands.get(getattr(args, "command", ""), parser)
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


#: Commands that start or continue workflows: a closed stdout must not end them as 0.
_RUNS_WORKFLOWS = frozenset(
    ("run", "demo", "resume", "retry", "fork", "approve", "reject", "review", "batch")
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentlog`` console script; returns the exit code."""
    from actors.cli.streams import ensure_std_streams, flush_stdout, silence_stdout

    ensure_std_streams()
    args = _parse(build_parser(), argv)
    from actors.cli.interrupts import interrupts_raise
    from actors.cli.terminal import inert
    from actors.logs import configure_logging

    configure_logging(args.log_format, args.log_level)
    module, _, func = args.target.partition(":")
    handler = getattr(importlib.import_module(module), func)
    with interrupts_raise():
        try:
            code: int = handler(args)
            flush_stdout()  # a reader that left silences stdout; the exit code stays
        except AgentlogError as exc:
            print(f"agentlog: {inert(str(exc))}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM as Terminated
            from actors.cleanup import stop_children

            stop_children()
            print("agentlog: interrupted", file=sys.stderr)
            return int(getattr(exc, "exit_code", 130))
        except BrokenPipeError:  # the reader of a read command left: nothing more to say
            silence_stdout()
            if args.command in _RUNS_WORKFLOWS:  # never "success" for a run left behind
                print(
                    "agentlog: stdout was closed and the command stopped; "
                    "`agentlog resume RUN` continues the run",
                    file=sys.stderr,
                )
                return WorkFailed.exit_code
            return 0
        except OSError as exc:  # disk full, permissions: the work could not be done
            where = f": {exc.filename}" if exc.filename else ""
            print(f"agentlog: {inert(exc.strerror or str(exc))}{inert(where)}", file=sys.stderr)
            return WorkFailed.exit_code
        except Exception as exc:  # a bug of ours: one line, the traceback only in debug logs
            from actors.logs import get_logger

            get_logger("agentlog.cli").debug("internal error", exc_info=True)
            print(
                f"agentlog: internal error: {type(exc).__name__}: {inert(str(exc))} "
                "(--log-level debug shows where; please report it)",
                file=sys.stderr,
            )
            return WorkFailed.exit_code
    return code
