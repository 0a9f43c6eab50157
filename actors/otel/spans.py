"""A run as one OpenTelemetry GenAI trace: a pure function of its events, no SDK needed.

:func:`run_trace` folds a run's events into span data following the GenAI semantic
conventions: a root ``invoke_workflow`` span, one ``invoke_agent {agent}`` span per step
attempt, one ``chat {model}`` span per model call, one ``execute_tool run_tests`` span
per test run and one ``execute_tool {name}`` span per tool call of an agent loop (a
``ToolCalled`` and its ``ToolResulted``), timed from the events. Trace and span ids are
hashes of the workflow id and event ids, so projecting (and exporting) the same run twice
gives the same ids and a backend de-duplicates. A fork's trace holds only what happened
after its ``Forked`` event and links to its source's root span.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec

from actors.otel.content import output_messages, redact_text, task_messages, tool_arguments
from actors.pricing import cost_usd
from actors.secrets import holds_secret
from events import (
    CodeProduced,
    Event,
    Forked,
    ModelCalled,
    PlanProduced,
    RetryRequested,
    ReviewProduced,
    Step,
    StepFailed,
    StepSkipped,
    StepStarted,
    TestsRan,
    ToolCalled,
    ToolResulted,
    UnknownEvent,
    Usage,
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowStarted,
    tokens,
)
from store import WorkflowFold, WorkflowState

__all__ = [
    "AGENT_NAMES",
    "PROVIDER",
    "WORKFLOW_NAME",
    "AttrValue",
    "SpanData",
    "SpanEvent",
    "SpanLink",
    "SpanStream",
    "Trace",
    "clean_spans",
    "identity_of",
    "root_span_id",
    "run_trace",
    "span_id_for",
    "trace_id_for",
]

#: ``gen_ai.provider.name``: agentlog talks to Claude only.
PROVIDER = "anthropic"
#: ``gen_ai.workflow.name``: low-cardinality name of the one workflow agentlog runs.
WORKFLOW_NAME = "planner_coder_reviewer"
#: ``gen_ai.agent.name`` of each step's agent.
AGENT_NAMES: dict[Step, str] = {"plan": "planner", "code": "coder", "review": "reviewer"}
#: Phoenix (OpenInference) classifies spans by this attribute: CHAIN, AGENT, LLM, TOOL.
OPENINFERENCE_KIND = "openinference.span.kind"
#: ``gen_ai.tool.name`` of the Reviewer's test run.
TESTS_TOOL = "run_tests"

AttrValue = str | bool | int | float | tuple[str, ...]
SpanKind = Literal["internal", "client"]
Status = Literal["unset", "ok", "error"]
AnyEvent = Event | UnknownEvent
#: What names a run's trace: its ``WorkflowStarted``, or a fork's last ``Forked``.
Identity = WorkflowStarted | Forked
_STATUS_MESSAGE_MAX = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SpanEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A timestamped annotation on a span (e.g. a step skipped)."""

    name: str
    time_ns: int
    attributes: dict[str, AttrValue] = {}


class SpanLink(msgspec.Struct, frozen=True, kw_only=True):
    """A link to a span of another trace (a fork's source)."""

    trace_id: int
    span_id: int
    attributes: dict[str, AttrValue] = {}


class SpanData(msgspec.Struct, frozen=True, kw_only=True):
    """One span, in the SDK-independent form the exporters turn into OTLP.

    ``closed`` is False for a span whose end the log does not hold yet (a run still
    running, parked or killed); its ``end_ns`` is then the last event's time.
    """

    name: str
    trace_id: int
    span_id: int
    parent_id: int | None
    kind: SpanKind
    start_ns: int
    end_ns: int
    attributes: dict[str, AttrValue]
    status: Status = "unset"
    status_message: str = ""
    events: tuple[SpanEvent, ...] = ()
    links: tuple[SpanLink, ...] = ()
    closed: bool = True


class Trace(msgspec.Struct, frozen=True, kw_only=True):
    """The spans of one run, root first, then in the order their events were logged."""

    workflow_id: str
    trace_id: int
    spans: tuple[SpanData, ...]

    @property
    def trace_id_hex(self) -> str:
        return f"{self.trace_id:032x}"


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(("agentlog", *parts)).encode("utf-8")).digest()


def trace_id_for(workflow_id: str) -> int:
    """The trace id of a workflow: 128 bits of a hash of its id (never 0)."""
    return int.from_bytes(_digest("trace", workflow_id)[:16], "big") or 1


def span_id_for(workflow_id: str, key: str) -> int:
    """The span id for ``key`` (an event id) in a workflow: 64 bits of a hash (never 0)."""
    return int.from_bytes(_digest("span", workflow_id, key)[:8], "big") or 1


def root_span_id(workflow_id: str) -> int:
    """The id of a workflow's root span, known without reading its log (fork links)."""
    return span_id_for(workflow_id, "workflow")


def _ns(ts: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 UTC timestamp (0 when missing)."""
    if not ts:
        return 0
    moment = datetime.fromisoformat(ts)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1_000


def _usage_attrs(usage: Usage) -> dict[str, AttrValue]:
    """GenAI usage attributes; ``input_tokens`` includes cached tokens, as the spec asks."""
    return {
        "gen_ai.usage.input_tokens": tokens(usage) - usage.output_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_creation_input_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cache_read_input_tokens,
    }


class _Costs:
    """Usage per model, for a span's token totals and its cost from the price table."""

    def __init__(self) -> None:
        self.by_model: dict[str, Usage] = {}

    def add(self, model: str, usage: Usage) -> None:
        self.by_model[model] = self.by_model.get(model, Usage()) + usage

    def merge(self, other: _Costs) -> None:
        for model, usage in other.by_model.items():
            self.add(model, usage)

    def attrs(self) -> dict[str, AttrValue]:
        out = _usage_attrs(Usage.sum(self.by_model.values()))
        cost = cost_usd(self.by_model)
        if cost is not None:
            out["agentlog.cost_usd"] = cost
        return out


def _status_message(text: str) -> str:
    text = redact_text(text)
    return text if len(text) <= _STATUS_MESSAGE_MAX else text[: _STATUS_MESSAGE_MAX - 1] + "…"


class _Attempt:
    """A step attempt whose span is open while its events are folded."""

    def __init__(self, start: StepStarted, span_id: int) -> None:
        self.start = start
        self.span_id = span_id
        self.costs = _Costs()
        self.children: list[SpanData] = []


class _Fold:
    """Walks the events once, building spans; see :func:`run_trace`."""

    def __init__(
        self,
        workflow_id: str,
        identity_seq: int,
        request_model: str,
        max_tokens: int,
        content: bool,
    ) -> None:
        self.workflow_id = workflow_id
        self.max_tokens = max_tokens
        self.trace_id = trace_id_for(workflow_id)
        self.root_id = root_span_id(workflow_id)
        self.identity_seq = identity_seq
        self.request_model = request_model
        self.content = content
        self.open: dict[tuple[Step, int, int], _Attempt] = {}
        self.spans: list[SpanData] = []  # closed since last taken, in end-seq order
        self.first_start: int | None = None  # the earliest start of any kept span
        self.costs = _Costs()
        self.root_events: list[SpanEvent] = []
        self.calls: dict[str, ToolCalled] = {}  # tool calls not yet answered, by call id

    def span_id(self, event: Event) -> int:
        return span_id_for(self.workflow_id, event.id or f"seq-{event.seq}")

    def common(self, first: int, last: int) -> dict[str, AttrValue]:
        return {
            "agentlog.workflow.id": self.workflow_id,
            "agentlog.seq.first": first,
            "agentlog.seq.last": last,
        }

    def keep(self, end_seq: int, span: SpanData) -> None:
        if end_seq > self.identity_seq or end_seq == 0:  # a fork keeps what came after it
            self.spans.append(span)
            if self.first_start is None or span.start_ns < self.first_start:
                self.first_start = span.start_ns

    def take(self) -> list[SpanData]:
        """The spans closed since the last call."""
        taken, self.spans = self.spans, []
        return taken

    def feed(self, ev: Event) -> None:
        if isinstance(ev, StepStarted):
            self.open[(ev.step, ev.attempt, ev.round)] = _Attempt(ev, self.span_id(ev))
        elif isinstance(ev, ModelCalled):
            self.model_called(ev)
        elif isinstance(ev, TestsRan):
            self.tests_ran(ev)
        elif isinstance(ev, ToolCalled):
            self.calls[ev.call_id] = ev
        elif isinstance(ev, ToolResulted):
            self.tool_resulted(ev)
        elif isinstance(ev, PlanProduced | CodeProduced | ReviewProduced):
            key = (ev.step, ev.attempt, getattr(ev, "round", 0))
            extra: dict[str, AttrValue] = {}
            if isinstance(ev, ReviewProduced):
                extra["agentlog.verdict"] = ev.review.verdict
            self.close(key, ev, extra)
        elif isinstance(ev, StepFailed):
            extra = {
                "error.type": ev.error_kind,
                "agentlog.error.retryable": ev.retryable,
            }
            self.close((ev.step, ev.attempt, ev.round), ev, extra, error=ev.message)
        elif isinstance(ev, StepSkipped) and ev.seq > self.identity_seq:
            self.root_events.append(
                SpanEvent(
                    name="agentlog.step_skipped",
                    time_ns=_ns(ev.ts),
                    attributes={
                        "agentlog.step": ev.step,
                        "agentlog.round": ev.round,
                        "agentlog.reason": redact_text(ev.reason),
                    },
                )
            )

    def retried(self, ev: RetryRequested) -> None:
        """A person retried the failed run: an event on the root span says so."""
        if ev.seq > self.identity_seq:
            attrs: dict[str, AttrValue] = {"agentlog.seq": ev.seq}
            if ev.reason:
                attrs["agentlog.reason"] = redact_text(ev.reason)
            self.root_events.append(
                SpanEvent(name="agentlog.retry_requested", time_ns=_ns(ev.ts), attributes=attrs)
            )

    def parent_of(self, step: Step, attempt: int | None, round_: int) -> _Attempt | None:
        if attempt is not None:
            return self.open.get((step, attempt, round_))
        found = [a for (s, _, r), a in self.open.items() if s == step and r == round_]
        return found[-1] if found else None

    def model_called(self, ev: ModelCalled) -> None:
        parent = self.parent_of(ev.step, ev.attempt, ev.round)
        end = _ns(ev.ts)
        request_model = self.request_model or ev.model
        attrs: dict[str, AttrValue] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": PROVIDER,
            OPENINFERENCE_KIND: "LLM",
            "gen_ai.request.model": request_model,
            "gen_ai.request.max_tokens": self.max_tokens,
            "gen_ai.response.model": ev.model,
            **_usage_attrs(ev.usage),
            **self.common(ev.seq, ev.seq),
            "agentlog.step": ev.step,
            "agentlog.attempt": ev.attempt,
            "agentlog.round": ev.round,
            "agentlog.request_digest": ev.request_digest,
            "agentlog.latency_ms": ev.latency_ms,
        }
        if ev.response_id:
            attrs["gen_ai.response.id"] = ev.response_id
        if ev.stop_reason:
            attrs["gen_ai.response.finish_reasons"] = (ev.stop_reason,)
        cost = cost_usd({ev.model: ev.usage})
        if cost is not None:
            attrs["agentlog.cost_usd"] = cost
        if self.content:
            attrs["gen_ai.output.messages"] = output_messages(ev.content, ev.stop_reason)
        span = SpanData(
            name=f"chat {request_model}",
            trace_id=self.trace_id,
            span_id=self.span_id(ev),
            parent_id=parent.span_id if parent else self.root_id,
            kind="client",
            start_ns=end - round(ev.latency_ms * 1_000_000),
            end_ns=end,
            attributes=attrs,
        )
        if parent is not None:
            parent.costs.add(ev.model, ev.usage)
            parent.children.append(span)
        else:
            self.costs.add(ev.model, ev.usage)
            self.keep(ev.seq, span)

    def tests_ran(self, ev: TestsRan) -> None:
        parent = self.parent_of("review", None, ev.round)
        end = _ns(ev.ts)
        attrs: dict[str, AttrValue] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": TESTS_TOOL,
            OPENINFERENCE_KIND: "TOOL",
            "gen_ai.tool.type": "function",
            **self.common(ev.seq, ev.seq),
            "agentlog.round": ev.round,
            "agentlog.tests.command": tuple(redact_text(part) for part in ev.command),
            "agentlog.tests.timed_out": ev.timed_out,
            "agentlog.tests.truncated": ev.truncated,
        }
        if ev.exit_code is not None:
            attrs["agentlog.tests.exit_code"] = ev.exit_code
            attrs["agentlog.tests.passed"] = ev.exit_code == 0
        status: Status = "unset"
        message = ""
        if ev.timed_out or ev.exit_code is None:
            attrs["error.type"] = "timeout" if ev.timed_out else "_OTHER"
            status, message = "error", "the tests timed out" if ev.timed_out else "no exit code"
        if self.content:
            attrs["gen_ai.tool.call.result"] = redact_text(ev.output)
        span = SpanData(
            name=f"execute_tool {TESTS_TOOL}",
            trace_id=self.trace_id,
            span_id=self.span_id(ev),
            parent_id=parent.span_id if parent else self.root_id,
            kind="internal",
            start_ns=end - round(ev.duration_ms * 1_000_000),
            end_ns=end,
            attributes=attrs,
            status=status,
            status_message=message,
        )
        if parent is not None:
            parent.children.append(span)
        else:
            self.keep(ev.seq, span)

    def tool_resulted(self, ev: ToolResulted) -> None:
        """One loop tool call, from its ``ToolCalled`` (start, arguments) to its result."""
        call = self.calls.pop(ev.call_id, None)
        parent = self.parent_of(ev.step, ev.attempt, ev.round)
        end = _ns(ev.ts)
        start = _ns(call.ts) if call is not None else end - round(ev.duration_ms * 1_000_000)
        attrs: dict[str, AttrValue] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": ev.name,
            "gen_ai.tool.call.id": ev.call_id,
            "gen_ai.tool.type": "function",
            OPENINFERENCE_KIND: "TOOL",
            **self.common(call.seq if call is not None else ev.seq, ev.seq),
            "agentlog.step": ev.step,
            "agentlog.attempt": ev.attempt,
            "agentlog.round": ev.round,
            "agentlog.turn": ev.turn,
        }
        if ev.exit_code is not None:
            attrs["agentlog.tool.exit_code"] = ev.exit_code
        if ev.edits:
            attrs["agentlog.tool.edits"] = tuple(e.path for e in ev.edits)
        status: Status = "unset"
        message = ""
        if ev.is_error or ev.timed_out:
            attrs["error.type"] = "timeout" if ev.timed_out else "tool_error"
            lines = ev.output.strip().splitlines()
            status, message = "error", _status_message(lines[0] if lines else "tool error")
        if self.content:
            if call is not None:
                attrs["gen_ai.tool.call.arguments"] = tool_arguments(call.input)
            attrs["gen_ai.tool.call.result"] = redact_text(ev.output)
        span = SpanData(
            name=f"execute_tool {ev.name}",
            trace_id=self.trace_id,
            span_id=self.span_id(call if call is not None else ev),
            parent_id=parent.span_id if parent else self.root_id,
            kind="internal",
            start_ns=start,
            end_ns=end,
            attributes=attrs,
            status=status,
            status_message=message,
        )
        if parent is not None:
            parent.children.append(span)
        else:
            self.keep(ev.seq, span)

    def close(
        self,
        key: tuple[Step, int, int],
        ev: Event,
        extra: dict[str, AttrValue],
        *,
        error: str | None = None,
        closed: bool = True,
    ) -> None:
        attempt = self.open.pop(key, None)
        if attempt is None:
            return
        start = attempt.start
        attrs: dict[str, AttrValue] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.agent.name": AGENT_NAMES[start.step],
            OPENINFERENCE_KIND: "AGENT",
        }
        if self.request_model:
            attrs["gen_ai.request.model"] = self.request_model
        attrs.update(attempt.costs.attrs())
        attrs.update(self.common(start.seq, ev.seq))
        attrs["agentlog.step"] = start.step
        attrs["agentlog.attempt"] = start.attempt
        attrs["agentlog.round"] = start.round
        attrs.update(extra)
        if not closed:
            attrs["agentlog.open"] = True
        span = SpanData(
            name=f"invoke_agent {AGENT_NAMES[start.step]}",
            trace_id=self.trace_id,
            span_id=attempt.span_id,
            parent_id=self.root_id,
            kind="internal",
            start_ns=_ns(start.ts),
            end_ns=_ns(ev.ts),
            attributes=attrs,
            status="error" if error is not None else "unset",
            status_message=_status_message(error) if error else "",
            closed=closed,
        )
        self.costs.merge(attempt.costs)
        self.keep(ev.seq, span)
        for child in attempt.children:
            self.keep(ev.seq, child)


class SpanStream:
    """A run's spans, folded event by event, each given out once it closes.

    ``identity`` is the run's last ``WorkflowStarted`` or ``Forked`` (a fork's trace
    holds only what came after it) and ``state`` the run's state (its configuration in
    force and task). :meth:`feed` returns the spans an event closed, in the order
    :func:`run_trace` lists them; :meth:`finish` closes what is still open at the last
    event and returns the rest, the root span last. Memory holds only open attempts, so
    a long run streams (``agentlog export``, the live exporter). ``clean=False`` leaves
    the secret masking to the caller, who must pass what it sends through
    :func:`clean_spans` (one check for a whole batch instead of one a span).
    """

    def __init__(
        self,
        identity: WorkflowStarted | Forked,
        state: WorkflowState,
        *,
        content: bool = False,
        include_open: bool = True,
        clean: bool = True,
    ) -> None:
        self.identity = identity
        self.task = state.task
        self.content = content
        self.include_open = include_open
        self.clean = clean
        self.fold = _Fold(
            identity.workflow_id,
            identity.seq if isinstance(identity, Forked) else 0,
            state.config.model,
            state.config.max_tokens,
            content,
        )
        self.final: WorkflowCompleted | WorkflowFailed | None = None
        self.last: Event = identity
        self.finished = False

    @property
    def workflow_id(self) -> str:
        return self.fold.workflow_id

    @property
    def trace_id(self) -> int:
        return self.fold.trace_id

    def feed(self, ev: AnyEvent) -> list[SpanData]:
        """Fold one event (in log order); the spans it closed.

        A ``RetryRequested`` after a ``WorkflowFailed`` opens the run again: what the
        failure cut short closes there, and every later attempt is a span of this trace.
        """
        if isinstance(ev, RetryRequested) and isinstance(self.final, WorkflowFailed):
            closed = self._close_open()
            self.final, self.last, self.finished = None, ev, False
            self.fold.retried(ev)
            return self._kept(closed)
        if self.final is not None or isinstance(ev, UnknownEvent):
            return []
        if isinstance(ev, WorkflowCompleted | WorkflowFailed) and ev.seq > self.fold.identity_seq:
            self.final = ev  # (a fork of a finished run copies its source's final event too)
            self.last = ev
            return []
        self.fold.feed(ev)
        self.last = ev
        return self._kept(self.fold.take())

    def finish(self) -> list[SpanData]:
        """Close what is still open at the last event; the remaining spans, root last."""
        if self.finished:
            return []
        self.finished = True
        rest = self._kept(self._close_open())
        root = _root(self.fold, self.identity, self.task, self.last, self.final, self.content)
        if self.clean:
            root = _clean(root)
        if self.include_open or root.closed:
            rest.append(root)
        return rest

    def _close_open(self) -> list[SpanData]:
        """Close the attempts the final event cut short (or still running) at the last."""
        fold, final, last = self.fold, self.final, self.last
        for key in list(fold.open):
            if isinstance(final, WorkflowFailed) and final.step == key[0]:
                fold.close(key, last, {"error.type": final.error_kind}, error=final.message)
            else:
                fold.close(key, last, {}, closed=final is not None)
        return fold.take()

    def _kept(self, spans: list[SpanData]) -> list[SpanData]:
        kept = spans if self.include_open else [s for s in spans if s.closed]
        return [_clean(s) for s in kept] if self.clean else kept


def _clean_attrs(attrs: dict[str, AttrValue]) -> dict[str, AttrValue]:
    out: dict[str, AttrValue] = {}
    for key, value in attrs.items():
        if isinstance(value, str):
            out[key] = redact_text(value)
        elif isinstance(value, tuple):
            out[key] = tuple(redact_text(v) for v in value)
        else:
            out[key] = value
    return out


def _clean(span: SpanData) -> SpanData:
    """``span`` with every secret masked in its text (the one scrubber), whatever the log
    held: a run written by an older agentlog exports clean too. A span with nothing to
    mask (the fast path) is returned as it is."""
    if not holds_secret(_texts([span])):
        return span
    return msgspec.structs.replace(
        span,
        attributes=_clean_attrs(span.attributes),
        status_message=redact_text(span.status_message),
        events=tuple(
            msgspec.structs.replace(e, attributes=_clean_attrs(e.attributes)) for e in span.events
        ),
    )


def _texts(spans: Iterable[SpanData]) -> bytes:
    """The text of ``spans`` that may hold a secret, encoded for one search."""
    return msgspec.json.encode(
        [(s.attributes, s.status_message, [e.attributes for e in s.events]) for s in spans]
    )


def clean_spans(spans: list[SpanData]) -> list[SpanData]:
    """``spans`` with every secret masked, as :class:`SpanStream` masks each: one search
    over the whole batch first, and a batch with nothing to mask (the fast path) is
    returned as it is. (The searches look for literals and expressions with no anchors,
    so what one span's text holds, the batch's holds too; a false alarm only costs the
    check of each span.)"""
    if not holds_secret(_texts(spans)):
        return spans
    return [_clean(span) for span in spans]


def identity_of(events: Iterable[AnyEvent]) -> tuple[Identity, WorkflowState] | None:
    """A run's last ``WorkflowStarted``/``Forked`` and its state, in one streamed pass
    (None for a log without either)."""
    fold = WorkflowFold()
    identity: WorkflowStarted | Forked | None = None
    for ev in events:
        fold.apply(ev)
        if isinstance(ev, WorkflowStarted | Forked):
            identity = ev
    return None if identity is None else (identity, fold.snapshot())


def run_trace(
    events: Iterable[AnyEvent], *, content: bool = False, include_open: bool = True
) -> Trace:
    """The trace of a run's events (see the module docstring).

    ``content`` attaches the task, the model's responses and the test output (secrets
    masked); ``include_open`` keeps spans the log has not closed yet, ended at the last
    event (the live exporter leaves them out and sends them once they close).
    """
    evs = [ev for ev in events if not isinstance(ev, UnknownEvent)]
    head = identity_of(evs)
    if head is None:
        return Trace(workflow_id="", trace_id=0, spans=())
    stream = SpanStream(*head, content=content, include_open=include_open)
    spans = [span for ev in evs for span in stream.feed(ev)]
    rest = stream.finish()
    root = rest.pop() if rest and rest[-1].parent_id is None else None
    spans.extend(rest)
    kept = ([root] if root is not None else []) + spans
    return Trace(workflow_id=stream.workflow_id, trace_id=stream.trace_id, spans=tuple(kept))


def _root(
    fold: _Fold,
    identity: WorkflowStarted | Forked,
    task: str,
    last: Event,
    final: WorkflowCompleted | WorkflowFailed | None,
    content: bool,
) -> SpanData:
    attrs: dict[str, AttrValue] = {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": WORKFLOW_NAME,
        OPENINFERENCE_KIND: "CHAIN",
        **fold.costs.attrs(),
        **fold.common(identity.seq, last.seq),
    }
    if fold.request_model:
        attrs["agentlog.model"] = fold.request_model
    status: Status = "unset"
    message = ""
    links: tuple[SpanLink, ...] = ()
    if isinstance(final, WorkflowCompleted):
        attrs["agentlog.status"] = "completed"
        attrs["agentlog.revisions"] = final.revisions
        if final.verdict is not None:
            attrs["agentlog.verdict"] = final.verdict
        if final.failed_steps:
            attrs["agentlog.failed_steps"] = tuple(final.failed_steps)
    elif isinstance(final, WorkflowFailed):
        attrs["agentlog.status"] = "failed"
        attrs["error.type"] = final.error_kind
        if final.step is not None:
            attrs["agentlog.step"] = final.step
        status, message = "error", _status_message(final.message)
    else:
        attrs["agentlog.status"] = "running"
        attrs["agentlog.open"] = True
    if isinstance(identity, Forked):
        attrs["agentlog.fork.source"] = identity.source
        attrs["agentlog.fork.source_workflow_id"] = identity.source_workflow_id
        attrs["agentlog.fork.at_seq"] = identity.at_seq
        links = (
            SpanLink(
                trace_id=trace_id_for(identity.source_workflow_id),
                span_id=root_span_id(identity.source_workflow_id),
                attributes={"agentlog.fork.at_seq": identity.at_seq},
            ),
        )
    if content and task:
        attrs["gen_ai.input.messages"] = task_messages(task)
    start = _ns(identity.ts)
    if fold.first_start is not None:
        start = min(start, fold.first_start)
    return SpanData(
        name=f"invoke_workflow {WORKFLOW_NAME}",
        trace_id=fold.trace_id,
        span_id=fold.root_id,
        parent_id=None,
        kind="internal",
        start_ns=start,
        end_ns=_ns(last.ts),
        attributes=attrs,
        status=status,
        status_message=message,
        events=tuple(fold.root_events),
        links=links,
        closed=final is not None,
    )
