"""A recorded model request as a person reads it (``agentlog show RUN SEQ --request``).

The request object is JSON whose system prompt and messages are long strings with their
newlines escaped; printed as JSON they are one unreadable line each. Here, as the web
viewer shows it: a header (step, model, tool, parameters), then the system prompt and
each message under its role, their text as lines and each content block (a tool call,
a tool result, thinking) labelled. The tool's input schema is summarised (its
properties); ``--json`` prints the whole object as it is stored. Every line goes
through :func:`~actors.cli.terminal.inert`: a request holds what a model or a workspace
wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from actors.cli.terminal import inert

__all__ = ["request_lines"]

#: Keys shown in the header or the body; anything else is listed as a parameter.
_SHOWN = {
    "step",
    "model",
    "system",
    "messages",
    "tool_name",
    "tool_description",
    "input_schema",
    "max_tokens",
    "tools",
}


def _text(text: str) -> Iterator[str]:
    for line in text.expandtabs(4).splitlines() or [""]:
        yield inert(line)


def _json(value: Any) -> Iterator[str]:
    pretty = msgspec.json.format(msgspec.json.encode(value), indent=2).decode()
    yield from _text(pretty)


def _heading(title: str) -> str:
    return f"── {title} " + "─" * max(3, 60 - len(title))


def _block(block: Any) -> Iterator[str]:
    """One content block: text as it is, the others under a label."""
    if not isinstance(block, dict):
        yield from _json(block)
        return
    kind = block.get("type")
    if kind == "text":
        yield from _text(str(block.get("text", "")))
    elif kind == "tool_use":
        yield inert(f"[tool call {block.get('name')} id={block.get('id')}]")
        yield from _json(block.get("input"))
    elif kind == "tool_result":
        error = " (error)" if block.get("is_error") else ""
        yield inert(f"[tool result for {block.get('tool_use_id')}{error}]")
        content = block.get("content", "")
        if isinstance(content, str):
            yield from _text(content)
        else:
            for inner in content:
                yield from _block(inner)
    elif kind == "thinking":
        yield "[thinking]"
        yield from _text(str(block.get("thinking", "")))
    elif kind == "redacted_thinking":
        yield "[redacted thinking]"
    else:
        yield inert(f"[{kind} block]")
        yield from _json({k: v for k, v in block.items() if k != "type"})


def _content(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield from _text(content)
        return
    for n, block in enumerate(content if isinstance(content, list) else [content]):
        if n:
            yield ""
        yield from _block(block)


def _system(system: Any) -> Iterator[str]:
    if isinstance(system, list):  # the API's list of text blocks
        yield from _content(system)
    else:
        yield from _text(str(system))


def _schema(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "-"
    props = schema.get("properties")
    names = ", ".join(sorted(props)) if isinstance(props, dict) else "-"
    return f"properties {names} (--json shows the schema)"


def request_lines(request: dict[str, Any], *, seq: int, digest: str) -> Iterator[str]:
    """The lines of ``request`` (the recorded object) for a terminal or a pager."""
    yield inert(
        f"request of seq {seq}: step {request.get('step', '-')}, "
        f"model {request.get('model', '-')}, max_tokens {request.get('max_tokens', '-')}"
    )
    yield inert(f"digest: {digest}")
    if "tool_name" in request:
        description = str(request.get("tool_description", "")).strip()
        yield inert(f"tool: {request['tool_name']}" + (f": {description}" if description else ""))
        yield inert(f"  input schema: {_schema(request.get('input_schema'))}")
    tools = request.get("tools")
    if isinstance(tools, list):
        names = [str(t.get("name")) if isinstance(t, dict) else str(t) for t in tools]
        yield inert(f"tools: {', '.join(names)}")
    for key, value in request.items():
        if key not in _SHOWN:
            yield inert(f"{key}: {msgspec.json.encode(value).decode()}")
    if request.get("system"):
        yield ""
        yield _heading("system")
        yield from _system(request["system"])
    for message in request.get("messages") or ():
        role = message.get("role", "?") if isinstance(message, dict) else "?"
        yield ""
        yield _heading(inert(str(role)))
        yield from _content(message.get("content", "") if isinstance(message, dict) else message)
