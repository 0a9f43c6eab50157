"""Message content for GenAI spans, only on request and never with a secret in it.

The conventions make content opt-in (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``)
and give it a JSON shape: messages of typed ``parts``. The log holds the task and every
response in full (requests are recorded by digest only), so that is what a trace can
carry. Every string goes through the project's secret scrubber before it leaves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from actors.logs import redact

__all__ = [
    "CAPTURE_ENV",
    "capture_content",
    "finish_reason",
    "output_messages",
    "redact_text",
    "task_messages",
    "tool_arguments",
]

#: The conventions' switch for recording prompts and responses.
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

#: Anthropic stop reasons -> the conventions' finish reasons (others pass through).
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_call",
    "refusal": "content_filter",
}


def capture_content(env: Mapping[str, str] | None = None) -> bool:
    """Whether the user opted in to message content (``...CAPTURE_MESSAGE_CONTENT=true``)."""
    env = os.environ if env is None else env
    return env.get(CAPTURE_ENV, "").strip().lower() == "true"


def redact_text(text: str) -> str:
    """``text`` with every known secret masked (the scrubber the logs use)."""
    return redact(text)


def finish_reason(stop_reason: str | None) -> str:
    """The conventions' finish reason for an Anthropic ``stop_reason``."""
    if not stop_reason:
        return "error"
    return _FINISH.get(stop_reason, stop_reason)


def _part(block: Mapping[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "content": block.get("text", "")}
    if kind == "tool_use":
        return {
            "type": "tool_call",
            "id": block.get("id"),
            "name": block.get("name", ""),
            "arguments": block.get("input"),
        }
    if kind == "thinking":
        return {"type": "reasoning", "content": block.get("thinking", "")}
    return {"type": str(kind or "unknown"), **{k: v for k, v in block.items() if k != "type"}}


def _json(value: object) -> str:
    return redact_text(msgspec.json.encode(value).decode("utf-8"))


def output_messages(content: Sequence[Mapping[str, Any]], stop_reason: str | None) -> str:
    """``gen_ai.output.messages`` (a JSON string) for one recorded response."""
    message = {
        "role": "assistant",
        "parts": [_part(block) for block in content],
        "finish_reason": finish_reason(stop_reason),
    }
    return _json([message])


def task_messages(task: str) -> str:
    """``gen_ai.input.messages`` (a JSON string) for the workflow's task."""
    return _json([{"role": "user", "parts": [{"type": "text", "content": task}]}])


def tool_arguments(arguments: Mapping[str, Any]) -> str:
    """``gen_ai.tool.call.arguments`` (a JSON string) for one tool call's input, scrubbed."""
    return _json(dict(arguments))
