"""Which Claude model a workflow uses when nobody says otherwise, and what a model id names."""

from __future__ import annotations

import os
import re

__all__ = ["DEFAULT_MODEL", "MODEL_ENV", "default_model", "model_key"]

#: A current model the installed SDK lists and does not mark as deprecated (a test checks).
DEFAULT_MODEL = "claude-sonnet-5-5"

#: Environment variable that overrides :data:`DEFAULT_MODEL`.
MODEL_ENV = "AGENTLOG_MODEL"


def default_model() -> str:
    """``AGENTLOG_MODEL`` if it is set and not blank, else :data:`DEFAULT_MODEL`."""
    chosen = os.environ.get(MODEL_ENV, "").strip()
    return chosen or DEFAULT_MODEL


_PLATFORM_PREFIX = re.compile(r"^(?:[a-z0-9-]+\.)*anthropic[./]")
_SUFFIXES = re.compile(r"(?:\[1m\]|-v\d+:\d+|[-@]\d{8}|-latest)+$")


def model_key(model: str) -> str:
    """The model ``model`` names, without a platform prefix, a date, a version or ``[1m]``.

    ``anthropic.claude-opus-4-1-20250805-v1:0`` (Bedrock), ``claude-opus-4-1@20250805``
    (Vertex) and ``claude-opus-4-1-20250805`` all name ``claude-opus-4-1``.
    """
    key = _PLATFORM_PREFIX.sub("", model.strip().lower())
    return _SUFFIXES.sub("", key)
