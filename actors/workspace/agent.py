"""The requests of an attempt in a run on a workspace (the :class:`~actors.attempt.Attempt`
asks them).

The Planner and the Reviewer ask once, as in any run, with the workspace packed into
their request; the Coder may first ask to read more files (``read_files``), each request
answered from the recorded tree and recorded as ``FilesRequested``, then submits a
:class:`~events.ChangeSet` that must apply to the tree exactly (else a retryable
``invalid_output`` naming the path and the search). What each request showed is recorded
as ``ContextPacked``. A resumed attempt reuses recorded answers and does not record the
same context twice.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from actors.attempt import Attempt
from actors.commit_point import pay
from actors.loop import code_loop, plan_loop, review_loop
from actors.models import ModelError, parse_artifact
from actors.testrun import run_workspace_tests
from actors.workspace.context import file_texts
from actors.workspace.prompts import (
    Context,
    code_request,
    files_answer,
    plan_request,
    review_request,
)
from events import (
    ChangeSet,
    CodeChange,
    CodeProduced,
    ContextPacked,
    Event,
    FilesRequested,
    Plan,
    PlanProduced,
    Review,
    ReviewProduced,
    TestsRan,
    WorkspaceBase,
)
from store import (
    ChangeRejected,
    ObjectProblem,
    ObjectStore,
    Tree,
    tree_diff,
)
from store.tree import trees_of

__all__ = ["MAX_READS", "perform_in_workspace", "test_argv"]

#: ``read_files`` requests one Coder attempt may make before it must submit its change.
MAX_READS = 3
#: The last paragraph of the Planner's and the Reviewer's first message in a loop.
_PLAN_LOOP = "Read what you need with the tools, then call submit with the plan."
_REVIEW_LOOP = (
    "The working copy your tools see holds the change. Read what you need, run the tests "
    "or other checks with run_command, then call submit with your review."
)


class _Recorded:
    """What this attempt recorded of its workspace context before a crash, not to record
    twice: whether its ``ContextPacked`` is logged, and how many ``FilesRequested``."""

    def __init__(self, at: Attempt) -> None:
        self.at = at
        self.context_logged = any(isinstance(ev, ContextPacked) for ev in at.work.recorded)
        self.reads_logged = sum(isinstance(ev, FilesRequested) for ev in at.work.recorded)

    def context(self, context: Context) -> None:
        if not self.context_logged:
            work = self.at.work
            self.at.answer.append(
                ContextPacked(
                    actor=self.at.actor,
                    step=work.step,
                    attempt=work.attempt,
                    round=work.round,
                    full=context.full,
                    mapped=context.mapped,
                    left_out=context.left_out,
                    tokens=context.tokens,
                )
            )
            self.context_logged = True


def perform_in_workspace(at: Attempt) -> list[Event]:
    """Make ``at``'s attempt for a workspace run; failures come back as ``StepFailed``."""
    try:
        return _perform(at, _Recorded(at))
    except ModelError as err:
        return at.failed(err.kind, err.message, err.retryable, err.retry_after)
    except ObjectProblem as err:
        return at.failed("object", f"the recorded workspace is damaged: {err}", False)


def _perform(at: Attempt, rec: _Recorded) -> list[Event]:
    work = at.work
    state = work.state
    base = state.workspace
    assert base is not None
    start, tree = trees_of(base, state.changes, ObjectStore(Path(work.workspace).parent))
    made = state.artifacts
    config = work.config
    model = config.model or at.model.name
    common: dict[str, Any] = {
        "budget": config.context_tokens,
        "model": model,
        "max_tokens": config.max_tokens,
    }
    loop = config.agent_loop
    if work.step == "plan" and loop:
        request, context = plan_request(state.task, base, tree, closing=_PLAN_LOOP, **common)
        rec.context(context)
        return plan_loop(at, request.messages[0]["content"], tree, model)
    if work.step == "plan":
        request, context = plan_request(state.task, base, tree, **common)
        rec.context(context)
        plan = parse_artifact(at.ask(request), Plan)
        at.answer.append(PlanProduced(actor=at.actor, plan=plan, attempt=work.attempt))
        return at.answer
    if work.step == "code" and loop:
        if made.plan is None:
            return at.failed("prompt", "the code step needs the plan; produce a plan first", False)
        review = made.review if work.round > 0 else None
        return code_loop(at, state.task, made.plan, review, tree, model)
    if work.step == "code":
        return _code(at, rec, state.task, made.plan, tree, start, made.review, common)
    tests, note = _tests(at, base)
    coded = state.steps["code"].status == "done"  # this round's Coder made a change
    notes = made.code.notes if coded and made.code is not None else None
    diffs = tree_diff(start, tree, quote=False) if state.changes else []  # as recorded runs
    if loop:
        request, context = review_request(
            state.task, made.plan, notes, diffs, tests, note, closing=_REVIEW_LOOP, **common
        )
        rec.context(context)
        return review_loop(at, request.messages[0]["content"], tree, model)
    request, context = review_request(state.task, made.plan, notes, diffs, tests, note, **common)
    rec.context(context)
    review = parse_artifact(at.ask(request), Review)
    at.answer.append(
        ReviewProduced(actor=at.actor, review=review, attempt=work.attempt, round=work.round)
    )
    return at.answer


def _code(
    at: Attempt,
    rec: _Recorded,
    task: str,
    plan: Plan | None,
    tree: Tree,
    start: Tree,
    review: Review | None,
    common: dict[str, Any],
) -> list[Event]:
    work = at.work
    if plan is None:
        return at.failed("prompt", "the code step needs the plan; produce a plan first", False)
    changed = [d.path for d in tree_diff(start, tree)]
    extra: tuple[dict[str, Any], ...] = ()
    reads = 0
    while True:
        request, context = code_request(
            task,
            plan,
            tree,
            changed=changed,
            review=review if work.round > 0 else None,
            extra=extra,
            **common,
        )
        rec.context(context)
        response = at.ask(request)
        change = parse_artifact(response, ChangeSet)
        if not change.read_files:
            break
        if reads >= MAX_READS:
            return at.failed(
                "invalid_output",
                f"the model asked to read files {reads + 1} times; it must submit its change "
                f"after at most {MAX_READS} requests",
                True,
            )
        packed = file_texts(tree, list(change.read_files), common["budget"] // 2)
        if reads >= rec.reads_logged:
            at.answer.append(
                FilesRequested(
                    actor=at.actor,
                    step="code",
                    attempt=work.attempt,
                    round=work.round,
                    paths=change.read_files,
                    served=tuple(packed.shown),
                    left_out=tuple(packed.left_out),
                )
            )
        reads += 1
        call = next(b for b in response.content if b.get("type") == "tool_use")
        extra = (*extra, *files_answer(call, packed))
    try:
        tree.apply(change)
    except ChangeRejected as err:
        return at.failed(
            "invalid_output", f"the model's submit_code change does not apply: {err}", True
        )
    at.answer.append(
        CodeProduced(
            actor=at.actor,
            code=CodeChange(files=(), notes=change.notes),
            attempt=work.attempt,
            round=work.round,
            change=change,
        )
    )
    return at.answer


def test_argv(command: tuple[str, ...]) -> tuple[str, ...]:
    """A recorded test command as it runs: ``python`` is this interpreter (also after an
    ``env NAME=VALUE …`` prefix)."""
    at = 0
    if command and command[0] == "env":
        at = 1
        while at < len(command) and "=" in command[at]:
            at += 1
    if at < len(command) and command[at] == "python":
        return (*command[:at], sys.executable, *command[at + 1 :])
    return command


def _tests(at: Attempt, base: WorkspaceBase) -> tuple[TestsRan | None, str]:
    """The test run of the changed tree (reused when recorded), or why there is none."""
    work = at.work
    # A fork may set another --test-cmd than the one recorded with the base.
    command = ("sh", "-c", work.config.test_cmd) if work.config.test_cmd else base.test_command
    if not command:
        return None, "No test command: none was given (--test-cmd) and none was detected."
    if not (work.config.run_tests or work.config.test_cmd):
        return None, "The tests were not run (run with --run-tests or --test-cmd)."
    if work.state.artifacts.code is None:
        return None, "The tests were not run: the Coder produced no change."
    for ev in work.recorded:
        if isinstance(ev, TestsRan):
            return ev, ""
    if not work.run_commands:
        return None, "The tests were not run: a replay runs no commands."
    pay(work.requests_to)  # what was appended is durable before the tests run
    tests = run_workspace_tests(
        Path(work.workspace),
        timeout=work.config.test_timeout,
        round=work.round,
        policy=work.config.sandbox,
        command=test_argv(command),
    )
    at.answer.append(tests)
    return tests, ""
