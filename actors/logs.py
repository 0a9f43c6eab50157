"""Logging for agentlog's actors: the secret scrubber in every record, and the public set-up.

Importing this module adds :func:`scrub_record` to the one logging set-up
(:mod:`store._logging`), so every record is masked by the one scrubber
(:func:`actors.secrets.redact`), whether the program chose a format
(:func:`configure_logging`, the CLI's ``--log-format``/``--log-level``) or not (warnings
on stderr). Actor modules take their loggers from here (:func:`get_logger`), so a program
that imports them has the scrubber in place before anything logs.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Literal

from actors.secrets import SECRET_ENV_VARS, redact, redact_event
from store._logging import add_processor, configure_on_first_use, get_logger

__all__ = [
    "SECRET_ENV_VARS",
    "configure_logging",
    "get_logger",
    "redact",
    "redact_event",
    "scrub_record",
]


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    return value


def scrub_record(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets in every value of the record."""
    for key, value in event_dict.items():
        event_dict[key] = _scrub(value)
    return event_dict


add_processor(scrub_record)


def configure_logging(
    fmt: Literal["console", "json"] = "console", level: str = "warning", stream: Any = None
) -> None:
    """Route structlog to ``stream`` (stderr) as console text or JSON lines.

    Takes effect when something first logs, so commands that never log never import
    structlog.
    """
    configure_on_first_use(fmt, level, stream)
