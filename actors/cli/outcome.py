"""What a command that runs a workflow says when it ends: the outcome and its exit code.

A finished run prints its status, verdict, tokens, the workspace change, the last test
run and how to read it on (or, with ``--json``, all that as one object); a run parked
at an approval gate exits 3 ("waiting for a person") after printing the commands that
continue it. An interrupted one says how to resume it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from actors.cli.changes import changed_files
from actors.cli.streams import say
from actors.cli.terminal import inert, plural
from actors.supervisor import WorkflowResult
from events import tokens

__all__ = ["EXIT_WAITING", "outcome", "result_tokens", "resumable", "summarize"]

#: The exit code of a run parked at an approval gate, waiting for a person.
EXIT_WAITING = 3


def result_tokens(result: WorkflowResult) -> int:
    """Every token the run's model calls read or wrote (see :mod:`actors.cli.usage`)."""
    return sum(tokens(s.total_usage) for s in result.steps.values())


def outcome(result: WorkflowResult, seconds: float) -> dict[str, Any]:
    """The run's outcome as data (``--json``)."""
    error = result.error
    gate = result.waiting_at
    return {
        "run_dir": result.run_dir,
        "workflow_id": result.workflow_id,
        "status": result.status,
        "ok": result.ok,
        "verdict": result.verdict,
        "failed_steps": list(result.failed_steps),
        "files": changed_files(result),
        "tokens": result_tokens(result),
        "seconds": round(seconds, 3),
        "error": msgspec.to_builtins(error) if error is not None else None,
        "waiting_at": msgspec.to_builtins(gate) if gate is not None else None,
    }


def summarize(result: WorkflowResult, seconds: float, *, as_json: bool = False) -> int:
    """Print the final summary of a run and return the exit code."""
    code = EXIT_WAITING if result.waiting else 0 if result.ok else 1
    if as_json:
        data = outcome(result, seconds)
        say(inert(msgspec.json.encode(data).decode(), json=True))
        return code
    change = _change_lines(result.run_dir)
    files = len(result.code.files) if result.code else 0
    run = inert(result.run_dir)
    shown = f"{plural(files, 'file')}, " if change is None else ""
    lines = [
        "",
        f"{result.status}: verdict {result.verdict or '-'}, {shown}"
        f"{result_tokens(result):,} tokens, {seconds:.1f} s",
    ]
    if change is not None:
        lines.append(change)
    tests = _tests_line(result.run_dir)
    if tests is not None:
        lines.append(tests)
    if result.failed_steps:
        lines.append(f"failed steps passed over: {', '.join(result.failed_steps)}")
    if result.error is not None:
        err = result.error
        lines.append(f"error at {err.step or '-'}: {err.kind}: {inert(err.message)}")
    lines.append(f"run: {run}   (agentlog log {run} · agentlog stats {run})")
    if result.waiting_at is not None:
        from actors.approvals import waiting_hint

        hint = waiting_hint(Path(result.run_dir), result.waiting_at)
        lines.extend(inert(line) for line in hint.splitlines())
    for line in lines:
        say(line)
    return code


@contextmanager
def resumable(run_dir: Callable[[], Path | str | None]) -> Iterator[None]:
    """On Ctrl-C or SIGTERM, say how to continue the run before the interrupt goes on."""
    try:
        yield
    except KeyboardInterrupt:
        where = run_dir()
        if where is not None:
            hint = f"`agentlog resume {inert(str(where))}` continues the run"
            if not say(f"\ninterrupted: {hint}"):
                print(f"agentlog: interrupted: {hint}", file=sys.stderr)
        raise


def _tests_line(run_dir: str) -> str | None:
    """The last test run in one line: passed, failed, or that the tests could not run."""
    from events import TestsRan
    from store import EventLog

    last = None
    for event in EventLog(run_dir).read():
        if isinstance(event, TestsRan):
            last = event
    if last is None:
        return None
    if last.problem or last.outcome == "error":
        why = last.problem or (last.output.splitlines() or ["-"])[0]
        return f"tests could not run: {inert(why)}"
    if last.outcome == "no_tests":
        return "tests: none ran (the test command found no tests)"
    if last.timed_out or last.outcome == "timeout":
        return "tests: timed out"
    return f"tests: {'passed' if last.exit_code == 0 else f'failed (exit {last.exit_code})'}"


def _change_lines(run_dir: str) -> str | None:
    """For a workspace run: the change in one line and how to read and apply it."""
    from actors.workspace.apply import NoWorkspace, run_change
    from store import diff_stat

    try:
        _, _, diffs = run_change(run_dir)
    except NoWorkspace:
        return None
    return (
        f"change: {diff_stat(diffs).splitlines()[-1].strip()}\n"
        f"  agentlog diff {inert(run_dir)} · agentlog apply {inert(run_dir)} [--branch NAME]"
    )
