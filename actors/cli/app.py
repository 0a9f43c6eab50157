"""The ``agentlog`` command line: the table of commands, dispatch and exit codes.

Exit codes follow the contract: 0 success, 1 the work failed or the log is damaged,
2 bad usage or input, 3 waiting for a person (an approval gate), 130/143 interrupted
(Ctrl-C, SIGTERM) and resumable. Each error class carries its own ``exit_code``;
:func:`main` only translates.

Each command owns its arguments: :data:`COMMANDS` names, for each, the function that
runs it (``module:cmd_x``) and its one-line help; the same module's ``args_<command>``
declares its arguments and returns its example. A command's module is imported only
when that command is chosen (click's ``LazyGroup``, in argparse), so ``agentlog
--help`` lists every command without importing any, and a command pays only for itself.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

__all__ = ["COMMANDS", "Command", "build_parser", "main"]


class Command(NamedTuple):
    """A command: what runs it, and its one line of help."""

    target: str  # "module:function"; the module's ``args_<command>`` declares its arguments
    help: str


#: Every command, in the order ``agentlog --help`` lists them.
COMMANDS: dict[str, Command] = {
    "run": Command("actors.cli.run_cmds:cmd_run", "run a workflow on Claude"),
    "demo": Command(
        "actors.cli.run_cmds:cmd_demo",
        "a complete workflow with a scripted model: no key, no network",
    ),
    "log": Command("actors.cli.read_cmds:cmd_log", "the timeline, one line an event"),
    "show": Command(
        "actors.cli.read_cmds:cmd_show",
        "one event, whole (or, with --request, what a model call was asked)",
    ),
    "stats": Command(
        "actors.cli.inspect_cmds:cmd_stats", "per step: attempts, failures, duration, tokens, cost"
    ),
    "verify": Command(
        "actors.cli.read_cmds:cmd_verify", "check the log's integrity; names the first bad line"
    ),
    "project": Command(
        "actors.cli.read_cmds:cmd_project",
        "rebuild plan.json, code.json, review.json and files/ from the log",
    ),
    "replay": Command(
        "actors.cli.inspect_cmds:cmd_replay",
        "re-run the agents on the recorded responses and check the same events come out",
    ),
    "resume": Command(
        "actors.cli.run_cmds:cmd_resume", "continue a run that was killed, from its log"
    ),
    "retry": Command(
        "actors.cli.run_cmds:cmd_retry",
        "retry a failed run from its failed step with a fresh retry budget (history kept)",
    ),
    "fork": Command(
        "actors.cli.run_cmds:cmd_fork",
        "a new run sharing a log's first SEQ events, continued live",
    ),
    "approve": Command(
        "actors.cli.approve_cmds:cmd_approve",
        "approve what a waiting run waits for (optionally edited), then continue it",
    ),
    "reject": Command(
        "actors.cli.approve_cmds:cmd_reject",
        "reject what a waiting run waits for; the run ends as failed (rejected)",
    ),
    "review": Command(
        "actors.cli.approve_cmds:cmd_review",
        "a person's review sending the code back to the Coder (one more revision round)",
    ),
    "diff": Command(
        "actors.cli.diff_cmds:cmd_diff",
        "the change of a workspace run as a unified diff (git apply accepts it)",
    ),
    "apply": Command(
        "actors.cli.diff_cmds:cmd_apply",
        "apply a workspace run's change (refused when the target moved on from the base)",
    ),
    "sync": Command(
        "actors.cli.sync_cmds:cmd_sync", "mirror runs to Convex ($CONVEX_URL): catch-up or backfill"
    ),
    "export": Command(
        "actors.otel.cli:cmd_export",
        "runs as OpenTelemetry GenAI traces: OTLP/HTTP to a collector or OTLP/JSON to a file",
    ),
    "ls": Command(
        "actors.cli.ls_cmd:cmd_ls",
        "the runs under a directory, one line each: status, verdict, time, tokens, cost",
    ),
    "ui": Command(
        "actors.cli.ui_cmd:cmd_ui",
        "a local web viewer of the runs under a directory (needs agentlog[ui]); the token "
        "URL it prints also lets you approve or reject waiting runs",
    ),
    "batch": Command(
        "actors.cli.batch_cmds:cmd_batch",
        "many runs from a JSONL tasks file, one directory each; run again to continue",
    ),
    "eval": Command(
        "actors.cli.eval_cmds:cmd_eval",
        "run a task set with hidden checks; each run's change is checked after it ends",
    ),
    "report": Command(
        "actors.cli.report_cmds:cmd_report",
        "an evaluation's pass rate with its interval, cost, tokens; with DIR2, what flipped",
    ),
}


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the example's layout and shows every option's default.

    Options that override the workflow configuration default to None (so "not given"
    can be told apart); their help shows :class:`WorkflowConfig`'s default instead.
    """

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:  # as argparse does, without importing shutil on every start
            from actors.cli.terminal import columns

            width = columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "%(default)" in text or "(default:" in text:  # said already
            return text
        if not action.option_strings or action.nargs == 0:
            return text
        default = action.default
        if default is None:
            from events import WorkflowConfig

            if action.dest in WorkflowConfig.__struct_fields__:
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


if TYPE_CHECKING:
    _Commands = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    _Commands = argparse._SubParsersAction


class _LazyCommands(_Commands):
    """The subcommands: a command's arguments are declared (its module imported) only
    when the command is chosen."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        assert isinstance(values, list)
        chosen = self.choices.get(values[0])
        if chosen is not None:
            declare(values[0], chosen)
        super().__call__(parser, namespace, values, option_string)


def declare(name: str, parser: argparse.ArgumentParser) -> None:
    """Have command ``name``'s module declare its arguments on ``parser`` (once)."""
    if getattr(parser, "_agentlog_declared", False):
        return
    module = COMMANDS[name].target.partition(":")[0]
    args_of: Callable[[argparse.ArgumentParser], str] = getattr(
        importlib.import_module(module), f"args_{name}"
    )
    parser.epilog = f"example:\n  {args_of(parser)}"
    parser._agentlog_declared = True  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: every command with its help; a command's own arguments are
    declared when it is chosen (or by :func:`declare`)."""
    parser = argparse.ArgumentParser(
        prog="agentlog",
        description="Planner → Coder → Reviewer on Claude, as an event-sourced actor system.",
        epilog="example:\n  agentlog demo --run-dir runs/demo && agentlog log runs/demo",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    _global_args(parser, top=True)
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, action=_LazyCommands
    )
    for name, command in COMMANDS.items():
        p = sub.add_parser(
            name, help=command.help, description=command.help, formatter_class=_Formatter
        )
        _global_args(p, top=False)
        p.set_defaults(target=command.target)
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
    ("run", "demo", "resume", "retry", "fork", "approve", "reject", "review", "batch", "eval")
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentlog`` console script; returns the exit code."""
    from actors.cli.streams import ensure_std_streams, flush_stdout, silence_stdout

    ensure_std_streams()
    args = _parse(build_parser(), argv)
    from actors.cli.errors import AgentlogError, WorkFailed
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
