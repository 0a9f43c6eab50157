"""The ``agentlog`` command line.

``main`` and ``build_parser`` come from :mod:`actors.cli.app`; the error types from
:mod:`actors.cli.errors`, imported on first use so ``agentlog --help`` does not pay for
the event types.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from actors.cli.app import build_parser, main

if TYPE_CHECKING:
    from actors.cli.errors import UsageError, WorkFailed

__all__ = ["UsageError", "WorkFailed", "build_parser", "main"]


def __getattr__(name: str) -> Any:
    if name not in ("UsageError", "WorkFailed"):
        raise AttributeError(f"module 'actors.cli' has no attribute {name!r}")
    return getattr(importlib.import_module("actors.cli.errors"), name)
