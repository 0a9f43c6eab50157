"""The zero-latency model every workflow benchmark calls: the same three answers."""

from __future__ import annotations

from typing import Any

__all__ = ["ANSWERS", "TASK", "fake_model"]

#: The three answers of the zero-latency fake model (the same for every implementation).
ANSWERS: dict[str, dict[str, Any]] = {
    "plan": {
        "summary": "Add a --limit flag to the CLI.",
        "steps": [{"title": "flag", "description": "parse --limit and pass it on"}],
    },
    "code": {
        "files": [{"path": "cli.py", "content": "import sys\nprint(sys.argv)\n"}],
        "notes": "adds the flag",
    },
    "review": {"verdict": "approve", "summary": "looks good", "comments": []},
}
TASK = "add a --limit flag to the CLI"


def fake_model(step: str, task: str, context: dict[str, Any]) -> dict[str, Any]:
    """The zero-latency model the peers call: the same answers ScriptedModel gives."""
    return ANSWERS[step]
