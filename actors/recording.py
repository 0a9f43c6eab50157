"""What a recorded run hands a supervisor re-running it: one :class:`Recording` object.

A live run is driven with no recording. A replay (and a what-if, which replays until its
first changed request) hands the supervisor the recorded run's answers to everything that
is not a model call: attempts that failed before reaching the model, test runs, an agent
loop's command results, what a person did where the run stopped for one, and where an
unfinished recording stopped. Which effects the re-run has follows from ``scratch``: a
replay's throwaway re-run writes no projections, syncs nothing, keeps no requests, runs
no commands and logs nothing; a what-if is a real run and does all of that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from events import Event, Step, StepFailed, ToolResulted, UnknownEvent

__all__ = [
    "EvidenceScript",
    "FailureScript",
    "PersonScript",
    "Recording",
    "SeenEvent",
    "ServedScript",
]

#: The recorded failure of an attempt that never reached the model, if any.
FailureScript = Callable[[Step, int, int], StepFailed | None]
#: The evidence (test runs) an attempt recorded, logged again, not gathered.
EvidenceScript = Callable[[Step, int, int], tuple[Event, ...]]
#: What the recording has at a seq that no agent makes (a person's decision at a gate,
#: changes requested, a retry; a what-if's ``Diverged``), appended again at that seq.
PersonScript = Callable[[int], list[Event]]
#: The recorded results of an agent loop's commands in an attempt, by call id.
ServedScript = Callable[[Step, int, int], dict[str, ToolResulted]]
#: A recorded event with ``seq`` and its line, if already decoded (``LogWriter.hold``).
SeenEvent = Callable[[int], "tuple[Event | UnknownEvent, bytes] | None"]


@dataclass(frozen=True)
class Recording:
    """A recorded run's answers, served to the supervisor re-running it (see the module).

    ``stop_at`` is the seq where an unfinished recording stopped (the re-run stops there
    too). ``inline`` runs each agent in the supervisor's own thread (no actor round trip
    per attempt: a replay's answers come from the log, none can hang).
    """

    failures: FailureScript | None = None
    evidence: EvidenceScript | None = None
    served: ServedScript | None = None
    person: PersonScript | None = None
    stop_at: int | None = None
    #: The recorded log a scratch log takes each line's ``id`` and ``ts`` from (then an
    #: event made again the same is the same line: the check compares bytes).
    stamps_from: Path | None = None
    #: A recorded event already decoded with its line, by seq, when at hand (the answer
    #: just served, or an attempt's event kept as the recording was read): an event made
    #: again equal to it is written as that line, unencoded.
    seen: SeenEvent | None = None
    scratch: bool = True
    inline: bool = True
