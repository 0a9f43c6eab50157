"""agentlog's one logging set-up, with loggers that import structlog on first use.

structlog imports rich's traceback machinery when rich is installed (~100 ms); a command
that never logs should not pay for it. ``get_logger(name)`` returns a stand-in whose
first call imports structlog, applies the configuration (:func:`configure_on_first_use`;
without one, warnings and up as console lines on stderr) and forwards to
``structlog.get_logger(name)``. A program that configures structlog itself keeps its
configuration.

Every configuration is made by :func:`_configure`, with the processors higher layers
added (:func:`add_processor`: ``actors.logs`` adds the secret scrubber, so a key never
reaches a log, configured or not). The store cannot import the actors, so it holds the
set-up and they hand it what they know; ``actors.logs.configure_logging`` is the public
way to choose format, level and stream.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, MutableMapping
from typing import Any, Literal

__all__ = ["Processor", "add_processor", "configure_on_first_use", "get_logger"]

#: A structlog processor: ``(logger, method, event_dict) -> event_dict``.
Processor = Callable[[Any, str, MutableMapping[str, Any]], MutableMapping[str, Any]]
LogFormat = Literal["console", "json"]

_processors: list[Processor] = []
_pending: Callable[[], None] | None = None


def add_processor(processor: Processor) -> None:
    """Run ``processor`` on every record of every configuration made from now on."""
    if processor not in _processors:
        _processors.append(processor)


def configure_on_first_use(
    fmt: LogFormat = "console", level: str = "warning", stream: Any = None
) -> None:
    """Route records at ``level`` and up to ``stream`` (stderr) as console text or JSON
    lines: now if structlog is loaded, else when something first logs."""
    global _pending
    if "structlog" in sys.modules:
        _pending = None
        _configure(fmt, level, stream)
    else:
        _pending = lambda: _configure(fmt, level, stream)  # noqa: E731


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
            _configure("console", "warning", None)
        return getattr(structlog.get_logger(self._name), method)


def _configure(fmt: LogFormat, level: str, stream: Any) -> None:
    """The one set-up: level filter, timestamps, the added processors, then the renderer."""
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
            *_processors,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A structlog logger for ``name`` that loads structlog only when it first logs."""
    return _LazyLogger(name)
