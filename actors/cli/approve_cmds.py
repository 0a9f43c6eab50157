"""A person's decisions from the command line: ``approve``, ``reject`` and ``review``.

Each appends its event through the log's single-writer lock (see
:mod:`actors.approvals`), says what it recorded, then continues the run in the
foreground with progress, as ``resume`` does, unless ``--no-continue``. A decision that
cannot be recorded (not waiting, stale digest, bad edit, someone else deciding at the
same moment) writes nothing and exits 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import msgspec

from actors.approvals import decide, load_edit, request_changes
from actors.cli.args import decision_args, digest_arg
from actors.cli.run_cmds import _model_for, consent_of, continue_run, move_unsynced_tail_saying
from actors.cli.streams import say
from actors.cli.terminal import inert
from actors.consent import check_continue
from actors.models import Model
from events import ApprovalDecided, ChangesRequested, Gate, WorkflowConfig, WorkspaceBase
from store import LogLocked, workflow_state

__all__ = ["args_approve", "args_reject", "args_review", "cmd_approve", "cmd_reject", "cmd_review"]

Recorded = ApprovalDecided | ChangesRequested


class _Run(msgspec.Struct, frozen=True, kw_only=True):
    """The run a decision is about: where, how it runs, and the step it waits at (None:
    it waits for nothing)."""

    run_dir: Path
    config: WorkflowConfig
    base: WorkspaceBase | None
    waiting: Gate | None


def _open(args: argparse.Namespace) -> _Run:
    """The run a decision is about, read from its log."""
    from actors.cli.opening import open_log

    log = open_log(args.run)
    move_unsynced_tail_saying(log)
    state = workflow_state(log.read())
    gate = state.waiting_at
    return _Run(
        run_dir=log.path.parent,
        config=state.config,
        base=state.workspace,
        waiting=gate.step if gate is not None else None,
    )


def _said(event: Recorded) -> str:
    if isinstance(event, ChangesRequested):
        what = "requested changes to the code"
    else:
        artifact = "the plan" if event.step == "plan" else "the code"
        edited = " (edited)" if event.plan is not None or event.code is not None else ""
        what = f"{event.decision} {artifact}{edited}"
    return f"{event.by} {what} (seq {event.seq})"


def _finish(args: argparse.Namespace, run: _Run, record: Callable[[], Recorded]) -> int:
    """Check the run may continue and the model can be had, record the decision, then
    continue unless told not to.

    A run that waits for nothing is refused first (``record`` raises why, writing
    nothing): that, not a missing model, is what the person needs to hear. Then what the
    log asks to execute is checked against this command's consent (``--sandbox``,
    ``--test-cmd``, ``--trust-log``), before the decision is recorded.
    """
    run_dir = run.run_dir
    if run.waiting is None and args.command != "review":
        record()
    consent = consent_of(args)
    if args.proceed:
        check_continue(str(run_dir), run.config, run.base, consent)
    # a rejection ends the run: continuing it makes no model call, so it needs no key
    calls_model = args.proceed and args.command != "reject"
    model: Model | None = _model_for(args, run.config.model) if calls_model else None
    event = record()
    shown = inert(str(run_dir))
    if not args.proceed:
        if args.json:
            data = {"run_dir": str(run_dir), "recorded": msgspec.to_builtins(event)}
            say(inert(msgspec.json.encode(data).decode(), json=True))
        else:
            say(f"{inert(_said(event))}; `agentlog resume {shown}` continues the run")
        return 0
    if not args.json:
        say(inert(_said(event)))
    try:
        return continue_run(run_dir, model, consent, args.json)
    except LogLocked as exc:  # a `run --wait` (or a resume) took it on first: it goes on
        holder = f"process {exc.pid}" if exc.pid is not None else "another process"
        say(f"{holder} continues the run; `agentlog log {shown} --follow` shows it")
        return 0


def cmd_approve(args: argparse.Namespace) -> int:
    run = _open(args)
    run_dir, step = run.run_dir, run.waiting
    edit = load_edit(args.edit, step) if args.edit and step is not None else None

    def record() -> Recorded:
        return decide(
            run_dir,
            "approved",
            by=args.by,
            comment=args.comment,
            edit=edit,
            digest=args.digest,
        )

    return _finish(args, run, record)


def cmd_reject(args: argparse.Namespace) -> int:
    run = _open(args)
    run_dir = run.run_dir

    def record() -> Recorded:
        return decide(run_dir, "rejected", by=args.by, comment=args.comment, digest=args.digest)

    return _finish(args, run, record)


def cmd_review(args: argparse.Namespace) -> int:
    run = _open(args)
    run_dir = run.run_dir

    def record() -> Recorded:
        return request_changes(run_dir, args.request_changes, by=args.by)

    return _finish(args, run, record)


def args_approve(p: argparse.ArgumentParser) -> str:
    """``agentlog approve``'s arguments; returns its example."""
    decision_args(p)
    p.add_argument(
        "--edit",
        metavar="FILE",
        help="approve this edited artifact instead (JSON: a Plan or a CodeChange)",
    )
    p.add_argument("--comment", default="", help="why, shown in the timeline")
    digest_arg(p)
    return "agentlog approve runs/fix --comment 'go ahead' --edit my-plan.json"


def args_reject(p: argparse.ArgumentParser) -> str:
    """``agentlog reject``'s arguments; returns its example."""
    decision_args(p)
    p.add_argument("--comment", required=True, help="why, shown in the timeline")
    digest_arg(p)
    return "agentlog reject runs/fix --comment 'wrong approach: use the stdlib'"


def args_review(p: argparse.ArgumentParser) -> str:
    """``agentlog review``'s arguments; returns its example."""
    decision_args(p)
    p.add_argument(
        "--request-changes",
        metavar="TEXT",
        required=True,
        help="what to change, given to the Coder as the review",
    )
    return "agentlog review runs/fix --request-changes 'handle the empty name too'"
