"""One readable line per event: the ``agentlog log`` timeline.

The summary is the shared view (:func:`actors.views.events.summarize`); this adds the
seq, time, actor and type columns, clips to the terminal and colours with plain ANSI,
so printing a long log stays fast.
"""

from __future__ import annotations

from actors.cli.terminal import inert
from actors.views.events import summarize, when
from events import Event, UnknownEvent

__all__ = ["format_event"]

_RESET = "\033[0m"
_DIM = "\033[2m"
_COLOURS: dict[str, str] = {
    "WorkflowStarted": "\033[1;34m",
    "Forked": "\033[1;34m",
    "StepStarted": "\033[34m",
    "ModelCalled": "\033[36m",
    "PlanProduced": "\033[32m",
    "CodeProduced": "\033[32m",
    "ContextPacked": "\033[2;36m",
    "FilesRequested": "\033[36m",
    "ReviewProduced": "\033[32m",
    "TestsRan": "\033[35m",
    "StepFailed": "\033[31m",
    "StepSkipped": "\033[33m",
    "WorkflowCompleted": "\033[1;32m",
    "WorkflowFailed": "\033[1;31m",
    "ToolCalled": "\033[36m",
    "ToolResulted": "\033[2;36m",
    "BudgetReached": "\033[33m",
    "ContextElided": "\033[2;36m",
    "CheckRan": "\033[35m",
}


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_event(
    event: Event | UnknownEvent, *, colour: bool = False, width: int | None = None
) -> str:
    """``seq  date time  actor  type  summary`` — the timeline line for one event.

    ``width`` (a terminal's columns) clips the summary so each event stays on one line;
    None never cuts it (piped output, ``--wide``). Text from the log is made inert.
    """
    kind = inert(event.type if isinstance(event, UnknownEvent) else type(event).__name__)
    head = inert(f"{event.seq:>5}  {when(event.ts):<20}  {event.actor:<10}")
    summary = inert(summarize(event))
    if width is not None:
        summary = _clip(summary, max(20, width - len(head) - 21))
    if not colour:
        return f"{head}  {kind:<17} {summary}"
    return f"{_DIM}{head}{_RESET}  {_COLOURS.get(kind, '')}{kind:<17}{_RESET} {summary}"
