"""Loggers that import structlog on first use, so read-only commands start fast.

structlog imports rich's traceback machinery when rich is installed (~100 ms); a command
that never logs should not pay for it. ``get_logger(name)`` returns a stand-in whose
first call imports structlog, applies the configuration registered with
:func:`configure_on_first_use`, and forwards to ``structlog.get_logger(name)``.

A program that uses agentlog as a library and never configures structlog gets warnings
and errors on stderr only (structlog's own default would print every level to stdout);
one that configures structlog itself keeps its configuration.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["configure_on_first_use", "get_logger"]

_pending: Callable[[], None] | None = None


def configure_on_first_use(configure: Callable[[], None]) -> None:
    """Run ``configure`` (which sets structlog up) now if structlog is loaded, else lazily."""
    global _pending
    if "structlog" in sys.modules:
        _pending = None
        configure()
    else:
        _pending = configure


class _LazyLogger:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> Any:
        global _pending
        import structlog

        if _pending is not None:
            configure, _pending = _pending, None
            configure()
        elif not structlog.is_configured():
            _quiet_default(structlog)
        return getattr(structlog.get_logger(self._name), method)


def _quiet_default(structlog: Any) -> None:
    """Warnings and errors to stderr, for a program that did not configure structlog."""
    import logging

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def get_logger(name: str) -> Any:
    """A structlog logger for ``name`` that loads structlog only when it first logs."""
    return _LazyLogger(name)
