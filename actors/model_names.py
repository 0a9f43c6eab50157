"""What a model id names: the one rule both the price table and the model layer use.

Apart from :mod:`actors.models` so that pricing a run (``agentlog ls``, the viewer) does
not import the model layer.
"""

from __future__ import annotations

import functools
import re

__all__ = ["model_key"]

_PLATFORM_PREFIX = re.compile(r"^(?:[a-z0-9-]+\.)*anthropic[./]")
_SUFFIXES = re.compile(r"(?:\[1m\]|-v\d+:\d+|[-@]\d{8}|-latest)+$")


@functools.lru_cache(maxsize=1024)
def model_key(model: str) -> str:
    """The model ``model`` names, without a platform prefix, a date, a version or ``[1m]``.

    ``anthropic.claude-opus-4-1-20250805-v1:0`` (Bedrock), ``claude-opus-4-1@20250805``
    (Vertex) and ``claude-opus-4-1-20250805`` all name ``claude-opus-4-1``.
    """
    key = _PLATFORM_PREFIX.sub("", model.strip().lower())
    return _SUFFIXES.sub("", key)
