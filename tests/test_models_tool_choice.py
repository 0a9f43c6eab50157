"""Which tool_choice a model gets: forced, unless the model is known to reject forcing."""

from __future__ import annotations

import pytest

from actors.models.tool_choice import rejects_forcing, tool_choice

FORCED = {"type": "tool", "name": "submit_plan", "disable_parallel_tool_use": True}
AUTO = {"type": "auto", "disable_parallel_tool_use": True}


@pytest.mark.parametrize("model", ["claude-opus-4-8", "claude-haiku-4-5-20251001", "my-proxy"])
def test_models_that_allow_forcing_are_forced(model: str) -> None:
    assert tool_choice(model, "submit_plan") == FORCED


@pytest.mark.parametrize(
    "model", ["claude-sonnet-5-5", "claude-opus-5-5[1m]", "anthropic.claude-fable-5-1-v1:0"]
)
def test_models_that_reject_forcing_get_auto_under_any_of_their_ids(model: str) -> None:
    assert tool_choice(model, "submit_plan") == AUTO


def test_forcing_can_be_turned_off_for_any_model() -> None:
    assert tool_choice("claude-opus-4-8", "submit_plan", force=False) == AUTO


@pytest.mark.parametrize(
    ("status", "message", "rejects"),
    [
        (400, "tool_choice: forced tool use is not supported for this model", True),
        (400, "max_tokens: Field required", False),
        (500, "tool_choice broke", False),
        (400, None, False),
    ],
)
def test_a_rejection_of_forcing_is_a_400_naming_tool_choice(
    status: int, message: str | None, rejects: bool
) -> None:
    assert rejects_forcing(status, message) is rejects
