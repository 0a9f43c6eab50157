"""Which Claude model a workflow uses when nobody says otherwise, and what a model id names."""

from __future__ import annotations

import os

from actors.model_names import model_key

__all__ = ["DEFAULT_MODEL", "MODEL_ENV", "default_model", "model_key"]

#: A current model the installed SDK lists and does not mark as deprecated (a test checks).
DEFAULT_MODEL = "claude-sonnet-5-5"

#: Environment variable that overrides :data:`DEFAULT_MODEL`.
MODEL_ENV = "AGENTLOG_MODEL"


def default_model() -> str:
    """``AGENTLOG_MODEL`` if it is set and not blank, else :data:`DEFAULT_MODEL`."""
    chosen = os.environ.get(MODEL_ENV, "").strip()
    return chosen or DEFAULT_MODEL
