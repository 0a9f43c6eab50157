"""The three roles' requests for a run on an existing workspace.

The Planner sees a map of the repository; the Coder the files the plan names (and those
it changed) in full, and answers with a :class:`~events.ChangeSet`; the Reviewer the diff
and the test run. Each builder returns the request and what it packed, so the caller
records what the model saw and what did not fit. Pure functions of their inputs, so a
replay rebuilds byte-identical requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from actors.models import ModelRequest
from actors.models.prompts import render_plan, render_review, render_tests
from actors.workspace.context import Packed, estimate_tokens, file_texts, repository_map
from events import ChangeSet, LeftOut, Plan, Review, Step, TestsRan, WorkspaceBase, artifact_schema
from store import FileDiff, Tree

__all__ = ["Context", "code_request", "plan_request", "review_request"]

_PATHS = (
    "All paths are relative to the repository root with '/' separators: no absolute "
    "paths, no '..', nothing inside .git."
)

SYSTEM: dict[Step, str] = {
    "plan": (
        "You are the Planner in a Planner -> Coder -> Reviewer workflow working on an "
        "existing repository. You get the task and a map of the repository (paths, sizes "
        "and outlines). Write a concrete, ordered plan for the Coder.\n\n"
        "Guidelines:\n"
        "- Start with a one-paragraph summary of the approach.\n"
        "- Give a small number of steps; each has a short imperative title, a description, "
        "and in files every existing file the Coder must read or change and every file to "
        "create. The Coder is shown only the files you name, in full: name them all.\n"
        "- Prefer the smallest change that fully solves the task; keep the project's "
        "style and include tests when the project has them.\n"
        f"- {_PATHS}\n\n"
        "Give your answer only by calling the submit_plan tool, exactly once."
    ),
    "code": (
        "You are the Coder in a Planner -> Coder -> Reviewer workflow working on an "
        "existing repository. Change it by following the plan.\n\n"
        "Submit operations, applied in order to the repository as it stands:\n"
        "- create: a new file with its whole content;\n"
        "- replace: the whole new content of an existing file;\n"
        "- edit: in an existing file, `search` copied exactly (whitespace included) from "
        "the file, occurring exactly once, and its `replace`ment; prefer edit for small "
        "changes to large files;\n"
        "- delete: an existing file; rename: an existing file from `path` to `to`.\n"
        "If you need to read files you were not shown, submit only read_files with their "
        "paths: you get their text and then submit your change. On a revision, submit only "
        "the further operations needed on top of your previous change.\n"
        "Use notes to tell the Reviewer what you changed and how to check it.\n"
        f"- {_PATHS}\n\n"
        "Give your answer only by calling the submit_code tool."
    ),
    "review": (
        "You are the Reviewer in a Planner -> Coder -> Reviewer workflow working on an "
        "existing repository. Judge whether the Coder's change (a unified diff against "
        "the repository) correctly and completely solves the task.\n\n"
        "Guidelines:\n"
        "- Check correctness first, then whether the plan was followed, then tests, "
        "clarity and safety. Use the test run output when it is given.\n"
        "- verdict: approve when the change is correct and complete; request_changes when "
        "fixable problems remain; reject when the approach is wrong.\n"
        "- Each comment names the file path and line when it applies, a severity (error, "
        "warning, info) and a specific, actionable message.\n"
        f"- {_PATHS}\n\n"
        "Give your answer only by calling the submit_review tool, exactly once."
    ),
}

TOOLS: dict[Step, tuple[str, str, Any]] = {
    "plan": ("submit_plan", "Submit the plan for the task. Call this exactly once.", Plan),
    "code": (
        "submit_code",
        "Submit the change to the repository as operations and notes for the Reviewer, "
        "or only read_files to read more files first.",
        ChangeSet,
    ),
    "review": ("submit_review", "Submit the review of the change. Call this exactly once.", Review),
}
_SCHEMAS: dict[Step, dict[str, Any]] = {}
_NAMED = 20  # paths named per reason in a left-out note


@dataclass
class Context:
    """What one request showed of the workspace (recorded as ``ContextPacked``)."""

    full: tuple[str, ...] = ()
    mapped: int = 0
    left_out: tuple[LeftOut, ...] = ()
    tokens: int = 0


def _request(
    step: Step, body: str, model: str, max_tokens: int, extra: Sequence[dict[str, Any]] = ()
) -> ModelRequest:
    name, description, kind = TOOLS[step]
    schema = _SCHEMAS.get(step)
    if schema is None:
        schema = _SCHEMAS[step] = artifact_schema(kind)
    return ModelRequest(
        step=step,
        model=model,
        system=SYSTEM[step],
        messages=({"role": "user", "content": body}, *extra),
        tool_name=name,
        tool_description=description,
        input_schema=schema,
        max_tokens=max_tokens,
    )


def _tag(name: str, text: str) -> str:
    return f"<{name}>\n{text}\n</{name}>"


def _left_out_note(left: Sequence[LeftOut], what: str) -> str:
    """What was left out, grouped by reason, at most ``_NAMED`` paths named per reason
    (the event records them all; the note must not undo the budget it reports on)."""
    by_reason: dict[str, list[str]] = {}
    for lo in left:
        by_reason.setdefault(lo.reason, []).append(lo.path)
    lines = [f"These {what} were left out (you were not shown them):"]
    for reason, paths in by_reason.items():
        named = ", ".join(paths[:_NAMED])
        more = f" and {len(paths) - _NAMED} more" if len(paths) > _NAMED else ""
        lines.append(f"- {reason} ({len(paths)}): {named}{more}")
    return "\n".join(lines)


def _base_note(base: WorkspaceBase) -> str:
    where = f"git commit {base.commit}" if base.commit else "a directory outside git"
    dirty = " with uncommitted changes" if base.dirty else ""
    return f"The repository is {where}{dirty}, {len(base.files)} files taken in."


def plan_request(
    task: str,
    base: WorkspaceBase,
    tree: Tree,
    *,
    budget: int,
    model: str,
    max_tokens: int,
    closing: str = "Write the plan and submit it with the submit_plan tool.",
) -> tuple[ModelRequest, Context]:
    """The Planner's request: task, base, repository map (within ``budget`` tokens);
    ``closing`` is its last paragraph (an agent loop's says to use the tools)."""
    packed = repository_map(tree, budget)
    parts = [_tag("task", task), _base_note(base), _tag("repository_map", packed.text)]
    left = [*base.left_out, *packed.left_out]
    if left:
        parts.append(_tag("left_out", _left_out_note(left, "files")))
    parts.append(closing)
    context = Context(
        mapped=len(packed.shown), left_out=tuple(packed.left_out), tokens=packed.tokens
    )
    return _request("plan", "\n\n".join(parts), model, max_tokens), context


def code_request(
    task: str,
    plan: Plan,
    tree: Tree,
    *,
    changed: Sequence[str],
    review: Review | None,
    budget: int,
    model: str,
    max_tokens: int,
    extra: Sequence[dict[str, Any]] = (),
) -> tuple[ModelRequest, Context]:
    """The Coder's request: task, plan, the named and changed files whole, a map with
    what budget remains; ``extra`` are the turns of earlier ``read_files`` requests."""
    wanted = [path for step in plan.steps for path in step.files] + list(changed)
    files = file_texts(tree, wanted, budget * 3 // 4)
    rest = repository_map(tree, max(budget - files.tokens, budget // 8))
    parts = [_tag("task", task), _tag("plan", render_plan(plan))]
    parts.append(_tag("files", files.text or "(none of the named files exist yet)"))
    parts.append(_tag("repository_map", rest.text))
    left = [*files.left_out, *rest.left_out]
    if left:
        parts.append(_tag("left_out", _left_out_note(left, "files or map entries")))
    if review is not None:
        parts.append(_tag("review", render_review(review)))
        parts.append(
            "This is a revision: the files above already hold your previous change. Fix "
            "what the review points out with further operations."
        )
    parts.append("Make the change and submit it with the submit_code tool.")
    context = Context(
        full=tuple(files.shown),
        mapped=len(rest.shown),
        left_out=tuple(left),
        tokens=files.tokens + rest.tokens,
    )
    return _request("code", "\n\n".join(parts), model, max_tokens, extra), context


def files_answer(tool_use: dict[str, Any], packed: Packed) -> tuple[dict[str, Any], ...]:
    """The two turns answering a ``read_files`` request: the model's call, our result."""
    call = {k: tool_use[k] for k in ("type", "id", "name", "input") if k in tool_use}
    text = packed.text or "(none of the requested files could be shown)"
    if packed.left_out:
        text += "\n\n" + _left_out_note(packed.left_out, "requested files")
    text += "\n\nNow submit your change with the submit_code tool."
    result = {"type": "tool_result", "tool_use_id": call.get("id", ""), "content": text}
    return (
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [result]},
    )


def review_request(
    task: str,
    plan: Plan | None,
    notes: str | None,
    diffs: Sequence[FileDiff],
    tests: TestsRan | None,
    tests_note: str,
    *,
    budget: int,
    model: str,
    max_tokens: int,
    closing: str = "Review the change and submit your review with the submit_review tool.",
) -> tuple[ModelRequest, Context]:
    """The Reviewer's request: task, plan, the Coder's notes, the diff (file by file while
    it fits ``budget``) and the test run, or why there is none; ``closing`` is its last
    paragraph."""
    parts = [_tag("task", task)]
    parts.append(_tag("plan", render_plan(plan) if plan is not None else "(no plan)"))
    shown: list[str] = []
    left: list[LeftOut] = []
    patches: list[str] = []
    spent = 0
    for diff in diffs:
        cost = estimate_tokens(diff.patch)
        if spent + cost > budget:
            left.append(LeftOut(path=diff.path, reason="diff did not fit the context budget"))
            continue
        patches.append(diff.patch)
        shown.append(diff.path)
        spent += cost
    if notes is None:
        parts.append(_tag("diff", "(the Coder failed and changed nothing)"))
    else:
        parts.append(_tag("diff", "".join(patches) or "(the change is empty)"))
        if notes:
            parts.append(_tag("coder_notes", notes))
    if left:
        parts.append(_tag("left_out", _left_out_note(left, "diffs")))
    parts.append(_tag("test_run", render_tests(tests) if tests is not None else tests_note))
    parts.append(closing)
    context = Context(full=tuple(shown), left_out=tuple(left), tokens=spent)
    return _request("review", "\n\n".join(parts), model, max_tokens), context
