"""How Claude is made to answer with the step's one tool: forced where the model allows it.

Forcing the tool (``tool_choice: {"type": "tool"}``) is the sure way to get structured
output, but Claude Opus 5.5, Sonnet 5.5 and Fable 5.1 (and Mythos 5.1, the same model)
answer a forced ``tool_choice`` with HTTP 400 (their migration guides say so). For them the
one tool is offered with ``auto`` and the prompt asks for the call; an answer without it
is ``invalid_output`` like any other. A model not known here that rejects forcing is
recognised by its 400 naming ``tool_choice``, and asked again without forcing.
"""

from __future__ import annotations

from typing import Any

from actors.models.defaults import model_key

__all__ = ["FORCING_REJECTED", "rejects_forcing", "tool_choice"]

#: Models that answer a forced tool choice (``tool`` or ``any``) with a 400.
FORCING_REJECTED: frozenset[str] = frozenset(
    {"claude-opus-5-5", "claude-sonnet-5-5", "claude-fable-5-1", "claude-mythos-5-1"}
)


def tool_choice(model: str, tool: str, *, force: bool = True) -> dict[str, Any]:
    """The ``tool_choice`` for asking ``model`` to call ``tool`` (and only it, once).

    Forced unless ``force`` is False or ``model`` is in :data:`FORCING_REJECTED`.
    """
    if force and model_key(model) not in FORCING_REJECTED:
        return {"type": "tool", "name": tool, "disable_parallel_tool_use": True}
    return {"type": "auto", "disable_parallel_tool_use": True}


def rejects_forcing(status: int, api_message: str | None) -> bool:
    """Whether an error answer is the API refusing a forced ``tool_choice``."""
    return status == 400 and "tool_choice" in (api_message or "")
