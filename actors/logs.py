"""structlog set-up for agentlog: console or JSON lines on stderr, with secrets scrubbed.

Every log record passes :func:`scrub_secrets`, which masks secrets with the one scrubber
(:func:`actors.secrets.redact`), so a key can never reach a log even when an exception
message carries it.
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import Any, Literal

from actors.secrets import SECRET_ENV_VARS, redact, redact_event
from store._logging import configure_on_first_use

__all__ = ["SECRET_ENV_VARS", "configure_logging", "redact", "redact_event", "scrub_secrets"]


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    return value


def scrub_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets in every value of the record."""
    for key, value in event_dict.items():
        event_dict[key] = _scrub(value)
    return event_dict


def configure_logging(
    fmt: Literal["console", "json"] = "console", level: str = "warning", stream: Any = None
) -> None:
    """Route structlog to ``stream`` (stderr) as console text or JSON lines.

    Takes effect when something first logs, so commands that never log never import
    structlog.
    """
    configure_on_first_use(lambda: _configure(fmt, level, stream))


def _configure(fmt: str, level: str, stream: Any) -> None:
    import logging  # with structlog, only once something logs: not on a read command's path

    import structlog

    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
