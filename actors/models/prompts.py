"""The prompts of the three roles, and :func:`build_request` that assembles a request.

Prompts are pure functions of their inputs (no timestamps, no randomness, stable
ordering), so a replay rebuilds byte-identical requests and their digests match. Each
role answers by calling its tool; the tool's ``input_schema`` is the artifact's schema.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from actors.models.base import ModelRequest, shared_schema
from actors.models.errors import PromptError
from actors.models.parse import STEP_ARTIFACTS
from events import (
    ARTIFACT_TOOLS,
    CodeChange,
    Plan,
    Review,
    Step,
    TestsRan,
    artifact_schema,
)

__all__ = [
    "SYSTEM_PROMPTS",
    "TOOL_DESCRIPTIONS",
    "build_request",
    "render_files",
    "render_plan",
    "render_review",
    "render_tests",
]

_WORKSPACE_RULES = (
    "All file paths are relative to the workspace root, use '/' as separator, and must "
    "stay inside the workspace: no absolute paths, no '..', no drive letters."
)

SYSTEM_PROMPTS: dict[Step, str] = {
    "plan": (
        "You are the Planner in a Planner -> Coder -> Reviewer software workflow. "
        "Read the task and write a concrete, ordered implementation plan that a capable "
        "engineer (the Coder) can follow without asking questions.\n\n"
        "Guidelines:\n"
        "- Start with a one-paragraph summary of the approach.\n"
        "- Give a small number of steps; each has a short imperative title, a description "
        "of what to do and why, and the files it creates or changes.\n"
        "- Prefer the simplest design that fully solves the task; include tests when the "
        "task is code.\n"
        "- List real risks or open questions under risks; do not pad.\n"
        f"- {_WORKSPACE_RULES}\n\n"
        "Give your answer only by calling the submit_plan tool, exactly once."
    ),
    "code": (
        "You are the Coder in a Planner -> Coder -> Reviewer software workflow. "
        "Implement the task by following the plan, and write complete, working files.\n\n"
        "Guidelines:\n"
        "- Submit every file of the result with its whole content, not a diff: the set you "
        "submit replaces the workspace. On a revision, resubmit unchanged files too.\n"
        "- Write correct, idiomatic, readable code with the tests the plan asks for.\n"
        "- When a review is given, address every comment of severity error or warning, "
        "and explain in notes what you changed and anything you chose not to change.\n"
        "- Use notes to tell the Reviewer how to run and check the result.\n"
        f"- {_WORKSPACE_RULES}\n\n"
        "Give your answer only by calling the submit_code tool, exactly once."
    ),
    "review": (
        "You are the Reviewer in a Planner -> Coder -> Reviewer software workflow. "
        "Judge whether the Coder's files correctly and completely solve the task.\n\n"
        "Guidelines:\n"
        "- Check correctness first, then whether the plan was followed, then tests, "
        "clarity and safety. Use the test run output when it is given.\n"
        "- verdict: approve when the work is correct and complete (minor remarks allowed); "
        "request_changes when fixable problems remain; reject when the approach is wrong "
        "or nothing usable was produced.\n"
        "- Each comment names the file path (relative, as given) and line when it applies, "
        "a severity (error: must fix; warning: should fix; info: remark) and a specific, "
        "actionable message.\n"
        f"- {_WORKSPACE_RULES}\n\n"
        "Give your answer only by calling the submit_review tool, exactly once."
    ),
}

TOOL_DESCRIPTIONS: dict[Step, str] = {
    "plan": "Submit the implementation plan for the task. Call this exactly once.",
    "code": (
        "Submit the complete set of files implementing the plan (whole contents, paths "
        "relative to the workspace) and notes for the Reviewer. Call this exactly once."
    ),
    "review": (
        "Submit the review of the Coder's files: a verdict, a summary and comments. "
        "Call this exactly once."
    ),
}


#: Each artifact's schema, generated once: msgspec's schema generation costs about as
#: much as the rest of a request together.
_SCHEMAS: dict[type[Plan] | type[CodeChange] | type[Review], dict[str, Any]] = {}


def _input_schema(kind: type[Plan] | type[CodeChange] | type[Review]) -> dict[str, Any]:
    """``artifact_schema(kind)``, generated once and shared by every (frozen) request.

    Nothing mutates a request's schema: it is hashed for the digest and sent as is.
    """
    schema = _SCHEMAS.get(kind)
    if schema is None:
        schema = _SCHEMAS[kind] = shared_schema(artifact_schema(kind))
    return schema


def build_request(
    step: Step,
    *,
    task: str,
    plan: Plan | None = None,
    code: CodeChange | None = None,
    review: Review | None = None,
    tests: TestsRan | None = None,
    model: str,
    max_tokens: int,
) -> ModelRequest:
    """The request for ``step``.

    - ``plan``: the task.
    - ``code``: task and ``plan`` (required); on a revision round also the previous
      ``review`` and the previous files (``code``).
    - ``review``: task, ``plan``, the files (``code``; None when the Coder failed and the
      workflow continues on error) and the test run output (``tests``) if any.
    """
    if step == "plan":
        body = _plan_prompt(task)
    elif step == "code":
        if plan is None:
            raise PromptError("the code step needs the plan; produce a plan first")
        body = _code_prompt(task, plan, code, review)
    elif step == "review":
        body = _review_prompt(task, plan, code, tests)
    else:
        raise PromptError(f"unknown step {step!r}; use one of plan, code, review")
    kind = STEP_ARTIFACTS[step]
    return ModelRequest(
        step=step,
        model=model,
        system=SYSTEM_PROMPTS[step],
        messages=({"role": "user", "content": body},),
        tool_name=ARTIFACT_TOOLS[kind],
        tool_description=TOOL_DESCRIPTIONS[step],
        input_schema=_input_schema(kind),
        max_tokens=max_tokens,
    )


def _plan_prompt(task: str) -> str:
    return _join(
        _tag("task", task),
        "Write the plan for this task and submit it with the submit_plan tool.",
    )


def _code_prompt(task: str, plan: Plan, previous: CodeChange | None, review: Review | None) -> str:
    parts = [_tag("task", task), _tag("plan", render_plan(plan))]
    if review is not None:
        if previous is not None:
            parts.append(_tag("previous_files", render_files(previous)))
        parts.append(_tag("review", render_review(review)))
        parts.append(
            "This is a revision: the Reviewer asked for changes to your previous files. "
            "Fix what the review points out and submit the complete, updated set of files "
            "with the submit_code tool."
        )
    else:
        parts.append(
            "Implement the plan and submit the complete set of files with the submit_code tool."
        )
    return _join(*parts)


def _review_prompt(
    task: str, plan: Plan | None, code: CodeChange | None, tests: TestsRan | None
) -> str:
    parts = [_tag("task", task)]
    parts.append(_tag("plan", render_plan(plan) if plan is not None else "(no plan)"))
    if code is None:
        parts.append(_tag("files", "(the Coder failed and produced no files)"))
    else:
        parts.append(_tag("files", render_files(code)))
        if code.notes:
            parts.append(_tag("coder_notes", code.notes))
    if tests is not None:
        parts.append(_tag("test_run", render_tests(tests)))
    parts.append("Review the Coder's work and submit your review with the submit_review tool.")
    return _join(*parts)


@lru_cache(maxsize=4)
def render_plan(plan: Plan) -> str:
    """A plan as readable text: summary, numbered steps with their files, risks. (Kept
    for the last few plans: every revision round renders the same plan twice, and a plan
    is immutable all through, so equal plans render alike.)"""
    lines = [f"Summary: {plan.summary}", "", "Steps:"]
    for number, step in enumerate(plan.steps, 1):
        lines.append(f"{number}. {step.title}")
        if step.description:
            lines.extend(f"   {line}" for line in step.description.splitlines())
        if step.files:
            lines.append(f"   Files: {', '.join(step.files)}")
    if plan.risks:
        lines.extend(["", "Risks:"])
        lines.extend(f"- {risk}" for risk in plan.risks)
    return "\n".join(lines)


@lru_cache(maxsize=4)
def render_files(code: CodeChange) -> str:
    """Files with their paths, each in a ``<file path="...">`` element, in the given order
    (kept for the last few, as :func:`render_plan`: the Coder's files are rendered for the
    Reviewer, then again for the Coder's revision)."""
    if not code.files:
        return "(no files)"
    return "\n".join(f'<file path="{f.path}">\n{f.content}\n</file>' for f in code.files)


def render_review(review: Review) -> str:
    """A review as readable text: verdict, summary and one line per comment."""
    lines = [f"Verdict: {review.verdict}", f"Summary: {review.summary}"]
    if review.comments:
        lines.extend(["", "Comments:"])
    for comment in review.comments:
        where = ""
        if comment.path is not None:
            where = comment.path if comment.line is None else f"{comment.path}:{comment.line}"
            where += ": "
        lines.append(f"- [{comment.severity}] {where}{comment.message}")
    return "\n".join(lines)


_OUTCOMES = {
    "passed": "passed",
    "failed": "failed",
    "no_tests": "no tests ran",
    "timeout": "timed out",
    "error": "could not run",
}


def render_tests(tests: TestsRan) -> str:
    """The test run: command, outcome, sandbox, limits hit and output (noting truncation).

    A run recorded before outcomes existed renders as it did then, so replays of old logs
    send the same requests.
    """
    if tests.outcome:
        outcome = _OUTCOMES[tests.outcome]
        if tests.exit_code is not None:
            outcome += f" (exit code {tests.exit_code})"
    elif tests.timed_out:
        outcome = "timed out"
    elif tests.exit_code is None:
        outcome = "did not run to completion"
    else:
        outcome = f"exit code {tests.exit_code}"
    lines = [f"Command: {' '.join(tests.command)}", f"Outcome: {outcome}"]
    if tests.problem:  # only in logs that record it: older requests render as they did
        lines[-1] = f"Outcome: the tests could not run ({tests.problem})"
        lines.append(
            "The tests could not run, so they say nothing about the change: this is not a "
            "pass. Do not approve on the strength of these tests."
        )
    if tests.sandbox:
        lines.append(f"Sandbox: {tests.sandbox} {tests.sandbox_version}".rstrip())
    if tests.limits_hit:
        lines.append(f"Limits hit: {', '.join(tests.limits_hit)}")
    lines.append("Output:")
    lines.append(tests.output)
    if tests.truncated:
        lines.append("(output truncated)")
    return "\n".join(lines)


def _tag(name: str, text: str) -> str:
    return f"<{name}>\n{text}\n</{name}>"


def _join(*parts: str) -> str:
    return "\n\n".join(parts)
