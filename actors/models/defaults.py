"""Which Claude model a workflow uses when nobody says otherwise."""

from __future__ import annotations

import os

__all__ = ["DEFAULT_MODEL", "MODEL_ENV", "default_model"]

#: A current model the installed SDK lists and does not mark as deprecated (a test checks).
DEFAULT_MODEL = "claude-sonnet-5-5"

#: Environment variable that overrides :data:`DEFAULT_MODEL`.
MODEL_ENV = "AGENTLOG_MODEL"


def default_model() -> str:
    """``AGENTLOG_MODEL`` if it is set and not blank, else :data:`DEFAULT_MODEL`."""
    chosen = os.environ.get(MODEL_ENV, "").strip()
    return chosen or DEFAULT_MODEL
