"""The three artifacts a workflow produces: what Claude is asked for and what lands on disk.

Each type doubles as the structured-output contract: its JSON Schema (see
:func:`artifact_schema`) is the ``input_schema`` of the tool Claude is forced to call.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from events.workspace import ChangeSet

__all__ = [
    "ARTIFACT_TOOLS",
    "Artifact",
    "CodeChange",
    "FileChange",
    "Plan",
    "PlanStep",
    "Review",
    "ReviewComment",
    "Severity",
    "Verdict",
    "artifact_schema",
]

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
Verdict = Literal["approve", "request_changes", "reject"]
Severity = Literal["info", "warning", "error"]


class PlanStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """One step of a plan: what to do and, optionally, which files it touches."""

    title: NonEmpty
    description: str
    files: tuple[str, ...] = ()


class Plan(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """The Planner's answer: a summary and ordered steps."""

    summary: NonEmpty
    steps: Annotated[tuple[PlanStep, ...], msgspec.Meta(min_length=1)]
    risks: tuple[str, ...] = ()


class FileChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """A whole file written by the Coder; ``path`` is relative to ``files/``."""

    path: NonEmpty
    content: str


class CodeChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """The Coder's answer: the complete set of files it wrote, and notes for the Reviewer."""

    files: tuple[FileChange, ...]
    notes: str = ""


class ReviewComment(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """One remark of the Reviewer, optionally pinned to a file and line."""

    severity: Severity
    message: NonEmpty
    path: str | None = None
    line: int | None = None


class Review(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """The Reviewer's answer: a verdict, a summary and comments."""

    verdict: Verdict
    summary: NonEmpty
    comments: tuple[ReviewComment, ...] = ()


Artifact = Plan | CodeChange | Review

#: Forced-tool name for each artifact type, as the contract fixes them.
ARTIFACT_TOOLS: dict[type[Any], str] = {
    Plan: "submit_plan",
    CodeChange: "submit_code",
    Review: "submit_review",
    ChangeSet: "submit_code",  # the Coder's answer in a workspace run
}


def artifact_schema(kind: type[msgspec.Struct]) -> dict[str, Any]:
    """JSON Schema of an artifact type with the object at the root (as tool ``input_schema``).

    msgspec puts every struct under ``$defs`` and refers to the root; tools want the root
    object inline, so it is lifted out and the remaining definitions kept beside it.
    """
    (root_ref,), components = msgspec.json.schema_components([kind], ref_template="#/$defs/{name}")
    name = root_ref["$ref"].rsplit("/", 1)[-1]
    root = dict(components.pop(name))
    if components:
        root["$defs"] = components
    return root
