"""Turn a model's answer into a validated artifact, or say precisely why it cannot be.

The answer must be a call of the artifact's tool (``submit_plan`` ...) whose ``input``
validates strictly against the msgspec type. Coder file paths must also stay inside the
workspace: a path that would escape ``files/`` is an invalid answer (retryable), caught
here rather than when the files are written.
"""

from __future__ import annotations

from typing import Any, overload

import msgspec

from actors.models.base import ModelResponse
from actors.models.errors import ModelError
from events import ARTIFACT_TOOLS, ChangeSet, CodeChange, Plan, Review, Step
from events.codec import encoding_problem
from store.paths import change_set_problem, path_problem

__all__ = ["STEP_ARTIFACTS", "parse_artifact", "path_problem"]

#: The artifact type each step must produce.
STEP_ARTIFACTS: dict[Step, type[Plan] | type[CodeChange] | type[Review]] = {
    "plan": Plan,
    "code": CodeChange,
    "review": Review,
}

#: How much of a refusal's explanation goes into the failure message.
_EXPLANATION_MAX = 300


@overload
def parse_artifact(response: ModelResponse, kind: type[Plan]) -> Plan: ...
@overload
def parse_artifact(response: ModelResponse, kind: type[CodeChange]) -> CodeChange: ...
@overload
def parse_artifact(response: ModelResponse, kind: type[Review]) -> Review: ...
@overload
def parse_artifact(response: ModelResponse, kind: type[ChangeSet]) -> ChangeSet: ...
def parse_artifact(
    response: ModelResponse,
    kind: type[Plan] | type[CodeChange] | type[Review] | type[ChangeSet],
) -> Plan | CodeChange | Review | ChangeSet:
    """Validate the artifact in ``response``; raise :class:`ModelError` if there is none.

    - stop reason ``refusal``: kind ``refusal``, not retryable (the same request would be
      refused again), naming the ``stop_details`` category and explanation if given;
    - stop reason ``max_tokens`` (or a full context window): kind ``max_tokens``, not
      retryable, since the same request would be cut off again;
    - no call of the artifact's tool, or an input that does not validate: kind
      ``invalid_output``, retryable, naming the offending field path.

    The error carries ``response`` so the answer can still be recorded.
    """
    tool = ARTIFACT_TOOLS[kind]
    if response.stop_reason == "refusal":
        raise ModelError(
            f"the model refused to give its {tool} answer{_refusal_details(response)}; "
            "the same request would be refused again, so change the task",
            kind="refusal",
            retryable=False,
            response=response,
        )
    if response.stop_reason == "max_tokens":
        raise ModelError(
            f"the model stopped at max_tokens before finishing its {tool} answer; "
            "raise max_tokens (--max-tokens, or WorkflowConfig.max_tokens) and run again",
            kind="max_tokens",
            retryable=False,
            response=response,
        )
    if response.stop_reason == "model_context_window_exceeded":
        raise ModelError(
            f"the model's context window filled up before it finished its {tool} answer; "
            "shorten the task or the files given to it",
            kind="max_tokens",
            retryable=False,
            response=response,
        )
    tool_input = _tool_input(response, tool)
    try:
        artifact = msgspec.convert(tool_input, kind, strict=True)
    except msgspec.ValidationError as exc:
        raise ModelError(
            f"the model's {tool} input is invalid: {exc}",
            kind="invalid_output",
            response=response,
        ) from None
    if (problem := encoding_problem(artifact)) is not None:
        raise ModelError(
            f"the model's {tool} input is invalid: {problem}",
            kind="invalid_output",
            response=response,
        )
    if isinstance(artifact, CodeChange):
        _check_paths(artifact, response)
    return artifact


def _tool_input(response: ModelResponse, tool: str) -> Any:
    for block in response.content:
        if block.get("type") == "tool_use" and block.get("name") == tool:
            return block.get("input")
    called = [str(b.get("name")) for b in response.content if b.get("type") == "tool_use"]
    found = f"it called {', '.join(called)}" if called else "it answered without a tool call"
    raise ModelError(
        f"the model did not call {tool}: {found}",
        kind="invalid_output",
        response=response,
    )


def _refusal_details(response: ModelResponse) -> str:
    """`` (category cyber: explanation)`` from the response's ``stop_details``, or ""."""
    details = response.stop_details or {}
    category, explanation = details.get("category"), details.get("explanation")
    parts = [f"category {category}" if isinstance(category, str) and category else ""]
    if isinstance(explanation, str) and explanation.strip():
        parts.append(" ".join(explanation.split())[:_EXPLANATION_MAX])
    said = ": ".join(p for p in parts if p)
    return f" ({said})" if said else ""


def _check_paths(code: CodeChange, response: ModelResponse) -> None:
    """The one path validator (:func:`store.paths.change_set_problem`), which the writer of
    ``files/`` also applies: a set that passes here can be materialized."""
    found = change_set_problem([file.path for file in code.files])
    if found is not None:
        index, err = found
        raise ModelError(
            f"the model's submit_code input is invalid: {err} - at `$.files[{index}].path`",
            kind="invalid_output",
            response=response,
        )
