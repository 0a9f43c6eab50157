"""Arguments several commands share: the run, ``--json``, the workflow options, consent.

Each command module declares its own arguments in an ``args_<command>`` function (see
:mod:`actors.cli.app`); what more than one command takes is declared once here.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

__all__ = [
    "config_args",
    "consent_args",
    "decision_args",
    "digest_arg",
    "json_arg",
    "run_arg",
    "script_arg",
]


def json_arg(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    """``--json``: print ``what`` as JSON."""
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def digest_arg(parser: argparse.ArgumentParser) -> None:
    """``--digest``: what a person looked at, so a decision on something else is refused."""
    parser.add_argument(
        "--digest",
        metavar="D",
        help="the digest of what you looked at: refused if something else waits now",
    )


def run_arg(parser: argparse.ArgumentParser) -> None:
    """``RUN``: a run directory or its log."""
    parser.add_argument("run", metavar="RUN", help="a run directory or its events.jsonl")


def script_arg(parser: argparse.ArgumentParser) -> None:
    """``--script``: a model script instead of Claude."""
    parser.add_argument(
        "--script",
        metavar="FILE",
        help="answer from a JSON model script instead of Claude (offline runs, tests)",
    )


def config_args(parser: argparse.ArgumentParser) -> None:
    """The options that override the workflow configuration (``run``, ``fork``, ``batch``).

    Each defaults to None, so "not given" can be told apart from a value.
    """
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
    loop_args(parser)
    script_arg(parser)


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


def decision_args(parser: argparse.ArgumentParser) -> None:
    """What ``approve``, ``reject`` and ``review`` share: who, the run, and continuing."""
    run_arg(parser)
    parser.add_argument("--by", metavar="NAME", help="who decides (default: the OS user)")
    parser.add_argument(
        "--no-continue",
        dest="proceed",
        action="store_false",
        help="only record the decision; `agentlog resume` (or a `run --wait`) continues",
    )
    consent_args(parser)
    script_arg(parser)
    json_arg(parser, "only the outcome, no timeline,")


def consent_args(parser: argparse.ArgumentParser, *, fork: bool = False) -> None:
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


def loop_args(parser: argparse.ArgumentParser) -> None:
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
        "--max-turns", type=int, metavar="N", help="model turns per step of a loop (default: 50)"
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
        help="seconds one run_command of a loop may take (default: 120)",
    )


def engine_args(p: argparse.ArgumentParser) -> None:
    """How many runs go at once, and where (``batch`` and ``eval``), and their settings."""
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: runs share this process; ray: one Ray task per run (agentlog[ray])",
    )
    p.add_argument("--ray-address", metavar="ADDR", help="the Ray cluster (default: local Ray)")
    p.add_argument("--concurrency", type=int, default=8, metavar="N", help="runs at once")
    json_arg(p, "the outcomes")
    config_args(p)
