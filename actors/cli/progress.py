"""Live progress of a running workflow: timeline lines as events land, and a status line.

On a terminal a rich status line (step, attempt, elapsed, tokens) stays at the bottom
while timeline lines scroll above it; elsewhere only the timeline lines are printed, so
piped output stays a clean log. A reader that leaves (``| head``) never stops the run:
the lines stop, the workflow goes on to its end.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from actors.cli.streams import say
from actors.cli.terminal import inert, terminal_width, use_colour
from actors.cli.timeline import format_event
from events import Event, ModelCalled, StepStarted, tokens

__all__ = ["Progress", "counter_bar", "counter_lines"]


def counter_bar(label: str, *, enabled: bool) -> Any:
    """A transient rich progress bar on stderr, ``label [bar] done/total description``
    (one task row), shown only when ``enabled`` and stderr is a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bar

    return Bar(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
        disable=not enabled or not sys.stderr.isatty(),
    )


def counter_lines(label: str, *, enabled: bool) -> Callable[[str, str], None]:
    """Where :func:`counter_bar` shows nothing (stderr is no terminal, e.g. a CI log): a
    function printing one ``label: news · totals`` line on stderr per call."""

    def line(news: str, totals: str) -> None:
        print(f"{label}: {news} · {totals}", file=sys.stderr, flush=True)

    quiet = not enabled or sys.stderr.isatty()
    return (lambda news, totals: None) if quiet else line


class Progress:
    """An event listener that renders progress; use it as a context manager.

    ``lines=False`` keeps stdout for something else (``--json``): only the status line.
    """

    def __init__(self, *, live: bool | None = None, lines: bool = True) -> None:
        self.live = sys.stderr.isatty() if live is None else live
        self.lines = lines
        self.started = time.monotonic()
        self.step = "starting"
        self.tokens = 0
        self.workflow_id = ""
        self._lock = threading.Lock()
        self._status: Any = None
        self._spinner: Any = None
        self._console: Any = None

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console
            from rich.live import Live
            from rich.spinner import Spinner

            self._console = Console(stderr=True, highlight=False)
            self._spinner = Spinner("dots", text=self._text(), style="status.spinner")
            # Only a terminal stdout may go through the status line's console: a piped
            # stdout keeps its timeline (and meets its closed reader in ``say``).
            self._status = Live(
                self._spinner,
                console=self._console,
                refresh_per_second=12.5,
                transient=True,
                redirect_stdout=_is_terminal(sys.stdout),
            )
            self._status.start()
            threading.Thread(target=self._tick, daemon=True).start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.workflow_id = event.workflow_id
            if isinstance(event, StepStarted):
                self.step = f"{event.step}#{event.attempt}" + (
                    f" r{event.round}" if event.round else ""
                )
            elif isinstance(event, ModelCalled):
                self.tokens += tokens(event.usage)
            if not self.lines:
                return
            to_terminal = use_colour(sys.stdout) or terminal_width(sys.stdout) is not None
            line = format_event(
                event, colour=use_colour(sys.stdout), width=terminal_width(sys.stdout)
            )
        if self._console is not None and to_terminal:
            self._console.print(line, markup=False, highlight=False, soft_wrap=True)
            self._spinner.update(text=self._text())
        else:
            say(line)

    def _text(self) -> str:
        elapsed = time.monotonic() - self.started
        return f"{inert(self.step)} · {elapsed:5.1f} s · {self.tokens:,} tokens"

    def _tick(self) -> None:
        while self._status is not None:
            self._spinner.update(text=self._text())
            time.sleep(0.25)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (ValueError, OSError):  # a closed stream
        return False
