"""The event vocabulary: frozen msgspec Structs, one tagged union, nothing but data.

Every event carries the envelope (``seq``, ``id``, ``ts``, ``workflow_id``, ``actor``);
the log stamps ``seq``, ``id`` and ``ts`` when it appends, so producers leave them empty.
The tag field ``type`` holds the class name. A field added later must have a default so
that older lines still decode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import msgspec

from events.artifacts import CodeChange, Plan, Review, Verdict
from events.config import Gate, WorkflowConfig
from events.tools import Budget, FileEdit
from events.workspace import ChangeSet, LeftOut, WorkspaceBase

__all__ = [
    "EVENT_TYPES",
    "PERSON_EVENTS",
    "STEPS",
    "ApprovalDecided",
    "ApprovalRequested",
    "BudgetReached",
    "ChangesRequested",
    "CheckRan",
    "CodeProduced",
    "ContextElided",
    "ContextPacked",
    "Diverged",
    "Event",
    "EventBase",
    "FilesRequested",
    "Forked",
    "ModelCalled",
    "PlanProduced",
    "RetryRequested",
    "ReviewProduced",
    "Step",
    "StepFailed",
    "StepSkipped",
    "StepStarted",
    "TestOutcome",
    "TestsRan",
    "ToolCalled",
    "ToolResulted",
    "UnknownEvent",
    "Usage",
    "WorkflowCompleted",
    "WorkflowFailed",
    "WorkflowStarted",
    "artifact_digest",
    "tokens",
]

Step = Literal["plan", "code", "review"]
#: The workflow's steps in the order the supervisor enforces.
STEPS: tuple[Step, ...] = ("plan", "code", "review")
#: How a test run ended (see :class:`TestsRan`).
TestOutcome = Literal["passed", "failed", "no_tests", "timeout", "error"]


class EventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True, gc=False):
    """Envelope shared by every event. ``type`` (the tag) is the class name."""

    seq: int = 0
    id: str = ""
    ts: str = ""
    workflow_id: str = ""
    actor: str = "supervisor"


class Usage(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Token usage of one model call, cache tokens included."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    #: The part of ``cache_creation_input_tokens`` written to the 1-hour cache (priced
    #: higher than the default 5-minute cache); 0 when the API gave no split.
    cache_creation_1h_input_tokens: int = 0

    @property
    def total(self) -> int:
        """Every token of the call: see :func:`tokens`, the one definition."""
        return tokens(self)

    def __add__(self, other: Usage) -> Usage:
        """Field by field, over every field: a field added later is summed too."""
        return _usage_add(self, other)

    def __sub__(self, other: Usage) -> Usage:
        """Field by field, over every field (the inverse of ``+``)."""
        return _usage_sub(self, other)

    @classmethod
    def sum(cls, usages: Iterable[Usage]) -> Usage:
        """The sum of ``usages`` (zero for none)."""
        total = cls()
        for u in usages:
            total = total + u
        return total


def _fieldwise(op: str) -> Callable[[Usage, Usage], Usage]:
    """``a <op> b`` for every field of :class:`Usage`, compiled from its field list once.

    Written out from ``__struct_fields__`` (as ``dataclasses`` writes ``__init__``), so no
    field can be left out and the sum of a fold's ``ModelCalled`` costs one constructor
    call, not a loop of ``getattr`` (8x slower, measured).
    """
    body = ", ".join(f"{f}=a.{f} {op} b.{f}" for f in Usage.__struct_fields__)
    scope: dict[str, Any] = {"Usage": Usage}
    exec(f"def fieldwise(a, b):\n    return Usage({body})", scope)
    fn: Callable[[Usage, Usage], Usage] = scope["fieldwise"]
    return fn


_usage_add = _fieldwise("+")
_usage_sub = _fieldwise("-")


def tokens(usage: Usage) -> int:
    """The one definition of a call's "tokens": input + cache writes + cache reads + output.

    ``cache_creation_1h_input_tokens`` is a part of ``cache_creation_input_tokens``, not
    more tokens, so it is not added again. The run summary, ``stats``, ``ls``, ``batch``,
    the viewer, OTel and Convex's ``totalTokens`` (``tracking/convex/mirror.ts``) all
    count this sum.
    """
    return (
        usage.input_tokens
        + usage.cache_creation_input_tokens
        + usage.cache_read_input_tokens
        + usage.output_tokens
    )


class WorkflowStarted(EventBase, frozen=True, kw_only=True):
    """A workflow began with this task and configuration."""

    task: str
    config: WorkflowConfig = WorkflowConfig()
    workspace: WorkspaceBase | None = None
    #: Each ``ModelCalled``'s request is kept in ``objects/`` under its digest (false in
    #: logs written before requests were recorded).
    records_requests: bool = False


class Forked(EventBase, frozen=True, kw_only=True):
    """This run copies the first ``at_seq`` events of another and continues from there.

    ``task`` and ``config``, when set, replace the original's from this point on.
    """

    source: str
    source_workflow_id: str
    at_seq: int
    task: str | None = None
    config: WorkflowConfig | None = None
    #: The fork's own ``ModelCalled`` requests are kept in ``objects/`` (as for
    #: ``WorkflowStarted``).
    records_requests: bool = False
    #: A what-if (``agentlog replay RUN --as NEW``): the source's recorded answers were
    #: served while each request was the recorded one, until ``Diverged``.
    what_if: bool = False


class StepStarted(EventBase, frozen=True, kw_only=True):
    """An attempt at a step began. ``round`` counts revision rounds (0 = first pass)."""

    step: Step
    attempt: int
    round: int = 0


class ModelCalled(EventBase, frozen=True, kw_only=True):
    """One call to the model, with the full response so it can be replayed offline.

    ``stop_details`` is the API's structured reason for the stop, when it gave one (a
    refusal's ``{"type": "refusal", "category", "explanation"}``).
    """

    step: Step
    attempt: int
    round: int = 0
    request_digest: str
    model: str
    content: tuple[dict[str, Any], ...]
    stop_reason: str | None
    usage: Usage = Usage()
    latency_ms: float = 0.0
    response_id: str = ""
    stop_details: dict[str, Any] | None = None


class PlanProduced(EventBase, frozen=True, kw_only=True):
    """The Planner's validated plan."""

    plan: Plan
    attempt: int = 1

    @property
    def step(self) -> Step:
        """The step this event belongs to (derived: it is always 'plan')."""
        return "plan"


class CodeProduced(EventBase, frozen=True, kw_only=True):
    """The Coder's validated file set; for a workspace run, its ``change`` to the tree.

    A workspace run's ``code`` holds no files (only the notes): ``change`` applies to the
    tree left by the previous ``CodeProduced`` (the recorded base at first).
    ``by_tools``: the change is what this attempt's tool calls already did to the working
    copy (an agent loop's ``submit``), so the working copy takes it as it stands.
    """

    code: CodeChange
    attempt: int = 1
    round: int = 0
    change: ChangeSet | None = None
    by_tools: bool = False

    @property
    def step(self) -> Step:
        """The step this event belongs to (derived: it is always 'code')."""
        return "code"


class TestsRan(EventBase, frozen=True, kw_only=True):
    """The workspace's tests were run for the Reviewer (``--run-tests``)."""

    __test__ = False  # not a pytest class

    command: tuple[str, ...]
    exit_code: int | None
    output: str
    truncated: bool = False
    timed_out: bool = False
    duration_ms: float = 0.0
    round: int = 0
    #: ``passed``, ``failed``, ``no_tests`` (the command found nothing to run), ``timeout``
    #: or ``error`` (the tests could not run: not started, command not found, a collection,
    #: import or usage error); empty in logs older than the field.
    outcome: TestOutcome | Literal[""] = ""
    #: Why the tests could not run (outcome ``error``), one line: e.g. ``collection error:
    #: ModuleNotFoundError: No module named 'attr'``; empty otherwise and in older logs.
    problem: str = ""
    #: Which sandbox confined the run (``bwrap`` or ``none``) and its version; empty in logs
    #: older than the fields (those runs were unconfined).
    sandbox: str = ""
    sandbox_version: str = ""
    #: Resource limits the run ran into (``cpu``, ``memory``, ``processes``, ``file_size``,
    #: ``output``).
    limits_hit: tuple[str, ...] = ()

    @property
    def step(self) -> Step:
        """The step this event belongs to (derived: it is always 'review')."""
        return "review"


class ReviewProduced(EventBase, frozen=True, kw_only=True):
    """The Reviewer's validated review."""

    review: Review
    attempt: int = 1
    round: int = 0

    @property
    def step(self) -> Step:
        """The step this event belongs to (derived: it is always 'review')."""
        return "review"


class StepFailed(EventBase, frozen=True, kw_only=True):
    """An attempt at a step failed; ``retryable`` says whether another attempt may follow.

    ``retry_after_s`` is how long the server asked to wait before trying again (HTTP
    ``retry-after``), if it said; the supervisor waits at least that long, within bounds.
    """

    step: Step
    attempt: int
    round: int = 0
    error_kind: str
    message: str
    retryable: bool
    retry_after_s: float | None = None


class StepSkipped(EventBase, frozen=True, kw_only=True):
    """A step will not run, and why."""

    step: Step
    reason: str
    round: int = 0


class WorkflowCompleted(EventBase, frozen=True, kw_only=True):
    """The workflow reached its end; ``verdict`` is the final review's, if there was one.

    ``failed_steps`` names steps that failed but were passed over (``continue_on_error``).
    """

    verdict: Verdict | None = None
    revisions: int = 0
    failed_steps: tuple[Step, ...] = ()


class RetryRequested(EventBase, frozen=True, kw_only=True):
    """A person asked a failed run to go on (``agentlog retry``), as Temporal's reset does.

    The history before it is kept. From here on every step that had failed gets a fresh
    retry budget (its next attempt number continues the count) and every step skipped
    because of that failure may run again. ``reason`` is free text for the timeline.
    """

    reason: str = ""
    #: The configuration in force from here on, when the person changed it (raised a
    #: budget: ``agentlog retry --budget-usd``); None keeps the one in force.
    config: WorkflowConfig | None = None


class ApprovalRequested(EventBase, frozen=True, kw_only=True):
    """The run parks at a gate until a person decides; nothing waits in memory meanwhile.

    ``digest`` names the artifact awaiting approval (:func:`artifact_digest` of the plan,
    or of the round's code change), so a decision about another version is refused.
    """

    step: Gate
    round: int = 0
    digest: str


class ApprovalDecided(EventBase, frozen=True, kw_only=True):
    """A person's decision at a gate (``agentlog approve`` / ``reject``).

    ``by`` is who decided; ``comment`` is free text for the timeline. An approval may
    carry the person's edited artifact (``plan`` or ``code``), validated before it was
    written, which is the artifact from here on.
    """

    step: Gate
    round: int = 0
    digest: str
    decision: Literal["approved", "rejected"]
    by: str
    comment: str = ""
    plan: Plan | None = None
    code: CodeChange | None = None


class ChangesRequested(EventBase, frozen=True, kw_only=True):
    """A person's review sending the work back to the Coder (``agentlog review``).

    Allowed while the run waits at the code gate, or after it completed; it counts as a
    revision round (beyond ``max_revisions``: a person asked) and is the review the Coder
    addresses next.
    """

    round: int = 0
    by: str
    comment: str


class WorkflowFailed(EventBase, frozen=True, kw_only=True):
    """The workflow ended in failure at ``step`` (None: outside any step)."""

    step: Step | None
    error_kind: str
    message: str


class ContextPacked(EventBase, frozen=True, kw_only=True):
    """What of a workspace an attempt showed its model, within the context budget.

    ``full`` lists the files given whole; ``mapped`` counts the entries of the repository
    map; ``left_out`` names what did not fit (or could not be shown) and why; the model is
    told the same. ``tokens`` is the estimate of what was shown.
    """

    step: Step
    attempt: int
    round: int = 0
    full: tuple[str, ...] = ()
    mapped: int = 0
    left_out: tuple[LeftOut, ...] = ()
    tokens: int = 0


class FilesRequested(EventBase, frozen=True, kw_only=True):
    """The model asked to read files during an attempt; what it was served from the base.

    ``served`` are the paths whose full text was given, ``left_out`` the rest, with why.
    """

    step: Step
    attempt: int
    round: int = 0
    paths: tuple[str, ...]
    served: tuple[str, ...] = ()
    left_out: tuple[LeftOut, ...] = ()


class ToolCalled(EventBase, frozen=True, kw_only=True):
    """The model called a tool (one ``tool_use`` block of turn ``turn`` of an attempt).

    ``name`` is the tool's name as the model gave it (one of :data:`~events.TOOL_NAMES`
    or not: an unknown tool is answered with an error result); ``input`` its arguments.
    """

    step: Step = "code"
    attempt: int = 1
    round: int = 0
    turn: int = 0
    call_id: str = ""
    name: str = ""
    input: dict[str, Any] = {}


class ToolResulted(EventBase, frozen=True, kw_only=True):
    """What a tool call gave back (the ``tool_result`` block) and what it changed.

    ``output`` is the text the model was shown; when the whole output was longer it is
    its head and tail (:func:`~events.clip_output`), and ``output_digest`` names the object
    in ``objects/`` that holds it whole (``output_chars`` long). ``edits`` are the files the
    call changed, in order: the working copy after this event is the one before with them
    applied. ``exit_code`` and ``timed_out`` are a command's. ``interrupted``: the
    process stopped while the call ran (its ``ToolCalled`` had no result), and this is
    the result of running it again on resume.
    """

    step: Step = "code"
    attempt: int = 1
    round: int = 0
    turn: int = 0
    call_id: str = ""
    name: str = ""
    is_error: bool = False
    output: str = ""
    output_digest: str = ""
    output_chars: int = 0
    exit_code: int | None = None
    timed_out: bool = False
    edits: tuple[FileEdit, ...] = ()
    duration_ms: float = 0.0
    interrupted: bool = False


class BudgetReached(EventBase, frozen=True, kw_only=True):
    """An agent loop stopped at a budget: ``used`` reached ``limit`` of ``budget``
    (model turns of a step, tokens or dollars of a run)."""

    step: Step | None = None
    attempt: int = 0
    round: int = 0
    budget: Budget = "turns"
    limit: float = 0.0
    used: float = 0.0


class ContextElided(EventBase, frozen=True, kw_only=True):
    """Older tool results of a loop were replaced by a short note so the next turn fits
    the context: ``call_ids`` name them, the estimate went from ``tokens_before`` to
    ``tokens_after``. The log keeps them whole."""

    step: Step = "code"
    attempt: int = 1
    round: int = 0
    turn: int = 0
    call_ids: tuple[str, ...] = ()
    tokens_before: int = 0
    tokens_after: int = 0


class CheckRan(EventBase, frozen=True, kw_only=True):
    """An evaluation's hidden check ran on the run's change, after the run ended.

    ``agentlog eval`` applies the change to a fresh copy of the task's workspace (for a
    run without one, the file set ``files/`` shows) and runs the task's check there, in
    the sandbox. The check is never shown to the model: it reaches the log only here,
    once the run is over. ``passed`` is the check's verdict (exit code 0).
    """

    actor: str = "eval"
    task_id: str = ""
    sample: int = 0
    command: str = ""
    passed: bool = False
    outcome: TestOutcome | Literal[""] = ""
    exit_code: int | None = None
    output: str = ""
    truncated: bool = False
    timed_out: bool = False
    duration_ms: float = 0.0
    #: Why the check could not run (the change did not apply, no sandbox), one line.
    problem: str = ""
    sandbox: str = ""


class Diverged(EventBase, frozen=True, kw_only=True):
    """A what-if made its first request that differs from its source's: from here on its
    model calls are live (or, ``--offline``, the run stops here).

    ``source_seq`` is the source's ``ModelCalled`` whose request differs (None: the source
    made no more calls); ``difference`` is what differs (the request diff replay shows).
    Logged after the answer of the attempt that made the request.
    """

    step: Step
    source_seq: int | None = None
    recorded_digest: str | None = None
    request_digest: str = ""
    reason: str = ""
    difference: str = ""


Event = (
    WorkflowStarted
    | Forked
    | StepStarted
    | ModelCalled
    | PlanProduced
    | CodeProduced
    | TestsRan
    | ReviewProduced
    | StepFailed
    | StepSkipped
    | WorkflowCompleted
    | WorkflowFailed
    | RetryRequested
    | ContextPacked
    | FilesRequested
    | ApprovalRequested
    | ApprovalDecided
    | ChangesRequested
    | ToolCalled
    | ToolResulted
    | BudgetReached
    | ContextElided
    | CheckRan
    | Diverged
)

#: Tag -> class for every known event type.
EVENT_TYPES: dict[str, type[EventBase]] = {
    cls.__name__: cls
    for cls in (
        WorkflowStarted,
        Forked,
        StepStarted,
        ModelCalled,
        PlanProduced,
        CodeProduced,
        TestsRan,
        ReviewProduced,
        StepFailed,
        StepSkipped,
        WorkflowCompleted,
        WorkflowFailed,
        RetryRequested,
        ContextPacked,
        FilesRequested,
        ApprovalRequested,
        ApprovalDecided,
        ChangesRequested,
        ToolCalled,
        ToolResulted,
        BudgetReached,
        ContextElided,
        CheckRan,
        Diverged,
    )
}

#: Events a person adds to a run (not an agent or the supervisor): replay appends them
#: again where they were recorded instead of expecting the re-run to make them.
PERSON_EVENTS: tuple[type[EventBase], ...] = (RetryRequested, ApprovalDecided, ChangesRequested)


def artifact_digest(artifact: Plan | CodeChange) -> str:
    """The content digest a gate names: sha256 of the artifact's canonical JSON."""
    import hashlib

    return "sha256:" + hashlib.sha256(msgspec.json.encode(artifact)).hexdigest()


class UnknownEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A line whose ``type`` this version does not know (written by a newer agentlog).

    Reads yield it instead of failing, so callers can report it and go on.
    """

    type: str
    seq: int = 0
    id: str = ""
    ts: str = ""
    workflow_id: str = ""
    actor: str = ""
    data: dict[str, Any] = {}
