"""The trace projection: a run's events -> GenAI span data (pure; no SDK, no network)."""

from __future__ import annotations

import json

import msgspec
from _events import (
    FORK_TASK,
    MODEL,
    TASK,
    WORKFLOW_ID,
    called,
    code,
    completed_run,
    failed_run,
    forked_run,
    review_events,
    revision_run,
    stamp,
    started,
)
from _workflow import KEY

from actors.otel import (
    SpanData,
    SpanStream,
    Trace,
    clean_spans,
    identity_of,
    root_span_id,
    run_trace,
    trace_id_for,
)
from events import (
    CodeProduced,
    Event,
    Forked,
    ModelCalled,
    PlanProduced,
    RetryRequested,
    ReviewProduced,
    StepFailed,
    StepStarted,
    TestsRan,
    ToolCalled,
    ToolResulted,
    Usage,
    WorkflowCompleted,
)

ROOT = "invoke_workflow planner_coder_reviewer"


def outline(trace: Trace) -> list[str]:
    """Span names indented by depth, children in log order."""
    children: dict[int | None, list[SpanData]] = {}
    for span in trace.spans:
        children.setdefault(span.parent_id, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s.start_ns):
            lines.append("  " * depth + span.name)
            walk(span.span_id, depth + 1)

    walk(None, 0)
    return lines


def named(trace: Trace, name: str) -> list[SpanData]:
    return [span for span in trace.spans if span.name == name]


def test_a_completed_run_nests_attempts_and_model_calls_under_the_workflow() -> None:
    assert outline(run_trace(completed_run())) == [
        ROOT,
        "  invoke_agent planner",
        f"    chat {MODEL}",
        "  invoke_agent coder",
        f"    chat {MODEL}",
        "  invoke_agent coder",
        f"    chat {MODEL}",
        "  invoke_agent reviewer",
        f"    chat {MODEL}",
    ]


def test_every_span_belongs_to_the_workflows_trace_and_ids_are_unique() -> None:
    trace = run_trace(completed_run())
    assert trace.trace_id == trace_id_for(WORKFLOW_ID)
    assert {span.trace_id for span in trace.spans} == {trace.trace_id}
    assert len({span.span_id for span in trace.spans}) == len(trace.spans)
    assert trace.spans[0].span_id == root_span_id(WORKFLOW_ID)


def test_projecting_twice_gives_identical_spans() -> None:
    assert run_trace(revision_run()) == run_trace(revision_run())


def test_the_root_carries_the_workflow_attributes_and_totals() -> None:
    root = run_trace(completed_run()).spans[0]
    attrs = root.attributes
    assert root.kind == "internal" and root.parent_id is None
    assert attrs["gen_ai.operation.name"] == "invoke_workflow"
    assert attrs["gen_ai.workflow.name"] == "planner_coder_reviewer"
    assert attrs["agentlog.workflow.id"] == WORKFLOW_ID
    assert (attrs["agentlog.seq.first"], attrs["agentlog.seq.last"]) == (1, 14)
    assert attrs["agentlog.status"] == "completed"
    assert attrs["agentlog.verdict"] == "approve"
    # four calls: 100 input each, one with 30 cache reads; outputs 50 + 50 + 400 + 50
    assert attrs["gen_ai.usage.input_tokens"] == 430
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 30
    assert attrs["gen_ai.usage.output_tokens"] == 550
    assert root.status == "unset" and root.closed


def test_times_come_from_the_events() -> None:
    events = completed_run()
    trace = run_trace(events)
    root, planner = trace.spans[0], named(trace, "invoke_agent planner")[0]
    assert root.end_ns - root.start_ns == 13 * 1_000_000_000  # seq 1 .. seq 14, 1 s apart
    assert planner.end_ns - planner.start_ns == 2 * 1_000_000_000  # StepStarted .. PlanProduced
    chat = named(trace, f"chat {MODEL}")[0]
    assert chat.end_ns - chat.start_ns == 250_000_000  # the recorded latency


def test_a_model_call_has_the_genai_client_attributes() -> None:
    chat = named(run_trace(completed_run()), f"chat {MODEL}")[-1]
    attrs = chat.attributes
    assert chat.kind == "client"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["openinference.span.kind"] == "LLM"  # so Phoenix shows it as an LLM call
    assert attrs["gen_ai.request.model"] == MODEL
    assert attrs["gen_ai.response.model"] == MODEL
    assert attrs["gen_ai.request.max_tokens"] == 32000  # the configuration's
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert attrs["gen_ai.usage.input_tokens"] == 130  # cached tokens included, per the spec
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 30
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 0
    assert attrs["gen_ai.usage.output_tokens"] == 50
    assert attrs["agentlog.step"] == "review"
    assert attrs["agentlog.seq.first"] == attrs["agentlog.seq.last"] == 12


def test_the_response_id_is_recorded_when_the_log_has_it() -> None:
    call = msgspec.structs.replace(called("plan"), response_id="msg_123")
    events = stamp([started(), StepStarted(step="plan", attempt=1), call])
    chat = named(run_trace(events), f"chat {MODEL}")[0]
    assert chat.attributes["gen_ai.response.id"] == "msg_123"


def test_cost_comes_from_the_price_table() -> None:
    sonnet = "claude-sonnet-4-5"
    events = stamp(
        [
            started(),
            StepStarted(step="plan", attempt=1),
            called("plan", input_tokens=1_000_000, output_tokens=0, model=sonnet),
        ]
    )
    chat = named(run_trace(events), f"chat {MODEL}")[0]
    assert chat.attributes["agentlog.cost_usd"] == 3.0


def test_agent_and_workflow_spans_price_one_hour_cache_writes_at_their_rate() -> None:
    sonnet = "claude-sonnet-4-5"  # 5-minute cache writes $3.75 per million, 1-hour $6.00
    one_hour = Usage(
        cache_creation_input_tokens=1_000_000, cache_creation_1h_input_tokens=1_000_000
    )
    call = msgspec.structs.replace(called("plan", model=sonnet), usage=one_hour)
    trace = run_trace(stamp([started(), StepStarted(step="plan", attempt=1), call]))
    assert named(trace, "invoke_agent planner")[0].attributes["agentlog.cost_usd"] == 6.0
    assert named(trace, ROOT)[0].attributes["agentlog.cost_usd"] == 6.0


def test_an_unknown_models_cost_is_left_out_not_guessed() -> None:
    chat = named(run_trace(completed_run()), f"chat {MODEL}")[0]
    assert "agentlog.cost_usd" not in chat.attributes


def test_an_agent_span_names_its_agent_and_sums_its_calls() -> None:
    trace = run_trace(completed_run())
    coder = named(trace, "invoke_agent coder")[1]
    assert coder.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert coder.attributes["gen_ai.agent.name"] == "coder"
    assert coder.attributes["gen_ai.provider.name"] == "anthropic"
    assert coder.attributes["gen_ai.request.model"] == MODEL
    assert coder.attributes["gen_ai.usage.output_tokens"] == 400
    assert coder.attributes["agentlog.attempt"] == 2
    reviewer = named(trace, "invoke_agent reviewer")[0]
    assert reviewer.attributes["agentlog.verdict"] == "approve"


def test_a_failed_attempt_has_error_type_and_error_status() -> None:
    coder = named(run_trace(completed_run()), "invoke_agent coder")[0]
    assert coder.status == "error"
    assert coder.attributes["error.type"] == "invalid_output"
    assert coder.attributes["agentlog.error.retryable"] is True
    assert coder.status_message == "submit_code input did not validate"


def test_a_failed_run_marks_the_root_with_the_final_error() -> None:
    trace = run_trace(failed_run())
    root = trace.spans[0]
    assert root.status == "error"
    assert root.attributes["error.type"] == "api_error"
    assert root.attributes["agentlog.status"] == "failed"
    coders = named(trace, "invoke_agent coder")
    assert [c.attributes["error.type"] for c in coders] == ["rate_limit", "api_error"]
    assert [ev.name for ev in root.events] == ["agentlog.step_skipped"]
    assert root.events[0].attributes["agentlog.step"] == "review"


def test_a_revision_round_is_a_second_coder_and_reviewer_under_the_same_root() -> None:
    trace = run_trace(revision_run())
    rounds = [
        (span.name, span.attributes["agentlog.round"])
        for span in trace.spans
        if span.name.startswith("invoke_agent")
    ]
    assert rounds == [
        ("invoke_agent planner", 0),
        ("invoke_agent coder", 0),
        ("invoke_agent coder", 0),
        ("invoke_agent reviewer", 0),
        ("invoke_agent coder", 1),
        ("invoke_agent reviewer", 1),
    ]
    assert {span.parent_id for span in trace.spans if span.name.startswith("invoke_agent")} == {
        root_span_id(WORKFLOW_ID)
    }
    assert trace.spans[0].attributes["agentlog.revisions"] == 1


def test_a_fork_has_its_own_trace_holding_only_what_followed_the_fork() -> None:
    trace = run_trace(forked_run(at_seq=4))
    assert trace.workflow_id == "wf-fork"
    assert trace.trace_id == trace_id_for("wf-fork")
    assert outline(trace) == [
        ROOT,
        "  invoke_agent coder",
        f"    chat {MODEL}",
        "  invoke_agent coder",
        f"    chat {MODEL}",
        "  invoke_agent reviewer",
        f"    chat {MODEL}",
    ]
    root = trace.spans[0]
    assert root.attributes["agentlog.seq.first"] == 5  # the Forked event
    assert root.attributes["agentlog.fork.at_seq"] == 4
    assert root.attributes["agentlog.fork.source_workflow_id"] == WORKFLOW_ID


def test_a_fork_links_to_its_sources_root_span() -> None:
    root = run_trace(forked_run()).spans[0]
    source_root = run_trace(completed_run()).spans[0]
    assert [(link.trace_id, link.span_id) for link in root.links] == [
        (source_root.trace_id, source_root.span_id)
    ]


def test_an_unfinished_run_shows_open_spans_ended_at_the_last_event() -> None:
    events = completed_run()[:9]  # the coder's second attempt has started, nothing more
    trace = run_trace(events)
    root = trace.spans[0]
    assert not root.closed and root.attributes["agentlog.open"] is True
    assert root.attributes["agentlog.status"] == "running"
    open_coder = named(trace, "invoke_agent coder")[-1]
    assert not open_coder.closed and open_coder.end_ns == root.end_ns


def test_without_open_spans_only_closed_ones_are_projected() -> None:
    """What the live exporter sends: a model call at once, its attempt once it ends."""
    trace = run_trace(completed_run()[:9], include_open=False)
    assert all(span.closed for span in trace.spans)
    assert [span.name for span in trace.spans] == [
        "invoke_agent planner",
        f"chat {MODEL}",
        "invoke_agent coder",
        f"chat {MODEL}",
        f"chat {MODEL}",  # seq 9, under the coder's second attempt, which is still open
    ]


def test_every_prefix_of_a_run_projects_to_one_tree() -> None:
    events = revision_run()
    for n in range(1, len(events) + 1):
        trace = run_trace(events[:n])
        ids = {span.span_id for span in trace.spans}
        assert trace.spans[0].parent_id is None
        assert all(span.parent_id in ids for span in trace.spans[1:]), n


def test_a_test_run_is_an_execute_tool_span_under_its_reviewer() -> None:
    events = stamp(
        [
            started(),
            StepStarted(step="review", attempt=1),
            TestsRan(
                command=("python", "-m", "pytest"),
                exit_code=1,
                output="1 failed",
                duration_ms=500.0,
            ),
            called("review"),
            ReviewProduced(review=completed_run()[12].review),  # type: ignore[attr-defined]
            WorkflowCompleted(verdict="approve"),
        ]
    )
    trace = run_trace(events)
    assert outline(trace) == [
        ROOT,
        "  invoke_agent reviewer",
        "    execute_tool run_tests",
        f"    chat {MODEL}",
    ]
    tests = named(trace, "execute_tool run_tests")[0]
    assert tests.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tests.attributes["gen_ai.tool.name"] == "run_tests"
    assert tests.attributes["agentlog.tests.exit_code"] == 1
    assert tests.attributes["agentlog.tests.passed"] is False
    assert tests.attributes["agentlog.tests.command"] == ("python", "-m", "pytest")
    assert tests.end_ns - tests.start_ns == 500_000_000
    assert tests.status == "unset"  # failing tests are a result, not an error of the tool


def test_a_timed_out_test_run_is_an_error() -> None:
    events = stamp(
        [
            started(),
            StepStarted(step="review", attempt=1),
            TestsRan(command=("pytest",), exit_code=None, output="", timed_out=True),
        ]
    )
    tests = named(run_trace(events), "execute_tool run_tests")[0]
    assert tests.status == "error" and tests.attributes["error.type"] == "timeout"


def content_attrs(trace: Trace) -> set[str]:
    keys = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.result"}
    return {key for span in trace.spans for key in span.attributes if key in keys}


def test_message_content_is_off_by_default() -> None:
    assert content_attrs(run_trace(completed_run())) == set()


def test_message_content_follows_the_conventions_json_shape_when_asked() -> None:
    trace = run_trace(completed_run(), content=True)
    root = trace.spans[0]
    assert json.loads(str(root.attributes["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": TASK}]}
    ]
    chat = named(trace, f"chat {MODEL}")[0]
    assert json.loads(str(chat.attributes["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "ok"}],
            "finish_reason": "tool_call",
        }
    ]


def test_a_forks_replaced_task_is_its_input_message() -> None:
    root = run_trace(forked_run(), content=True).spans[0]
    assert FORK_TASK in str(root.attributes["gen_ai.input.messages"])


def test_a_tool_call_response_becomes_a_tool_call_part() -> None:
    call = ModelCalled(
        step="plan",
        attempt=1,
        request_digest="d",
        model=MODEL,
        content=({"type": "tool_use", "id": "tu_1", "name": "submit_plan", "input": {"a": 1}},),
        stop_reason="tool_use",
        usage=Usage(input_tokens=1),
    )
    events = stamp([started(), StepStarted(step="plan", attempt=1), call])
    chat = named(run_trace(events, content=True), f"chat {MODEL}")[0]
    parts = json.loads(str(chat.attributes["gen_ai.output.messages"]))[0]["parts"]
    assert parts == [
        {"type": "tool_call", "id": "tu_1", "name": "submit_plan", "arguments": {"a": 1}}
    ]


def test_content_never_carries_a_secret() -> None:
    leaky = ModelCalled(
        step="plan",
        attempt=1,
        request_digest="d",
        model=MODEL,
        content=({"type": "text", "text": f"the key is {KEY}"},),
        stop_reason="end_turn",
    )
    events = stamp(
        [
            msgspec.structs.replace(started(), task=f"use {KEY} to call the API"),
            StepStarted(step="plan", attempt=1),
            leaky,
            PlanProduced(plan=completed_run()[3].plan),  # type: ignore[attr-defined]
        ]
    )
    encoded = msgspec.json.encode(run_trace(events, content=True)).decode()
    assert KEY not in encoded
    assert "[redacted]" in encoded


def test_a_batch_cleaned_at_once_is_what_the_stream_cleans_span_by_span() -> None:
    """Export masks a batch of 1,000 spans with one search; the spans must come out as
    the stream masks each: the leaky one masked, the others untouched."""
    leaky = ModelCalled(
        step="plan",
        attempt=1,
        request_digest=f"d {KEY}",
        model=MODEL,
        content=(),
        stop_reason="end_turn",
    )
    events = stamp([started(), StepStarted(step="plan", attempt=1), leaky, *completed_run()[3:]])
    head = identity_of(events)
    assert head is not None
    each, raw = SpanStream(*head), SpanStream(*head, clean=False)
    cleaned = [span for ev in events for span in each.feed(ev)] + each.finish()
    unclean = [span for ev in events for span in raw.feed(ev)] + raw.finish()
    assert KEY in msgspec.json.encode(unclean).decode()
    assert clean_spans(unclean) == cleaned
    assert KEY not in msgspec.json.encode(cleaned).decode()
    untouched = [span for span in unclean if KEY not in msgspec.json.encode(span).decode()]
    assert untouched and clean_spans(untouched) is untouched


def test_a_fork_of_a_finished_run_ends_at_its_own_final_event() -> None:
    head = completed_run()  # ends in the source's WorkflowCompleted, copied into the fork
    fork = Forked(
        source="/runs/original",
        source_workflow_id=WORKFLOW_ID,
        at_seq=len(head),
        workflow_id="wf-fork",
    )
    tail = [fork, *review_events("approve", round_=1), WorkflowCompleted(verdict="approve")]
    trace = run_trace(stamp([*head, *tail], workflow_id=""))
    assert outline(trace) == [ROOT, "  invoke_agent reviewer", f"    chat {MODEL}"]
    assert trace.spans[0].closed and trace.spans[0].attributes["agentlog.seq.first"] == 15


def test_a_span_stream_gives_each_span_once_as_it_closes_the_root_last() -> None:
    for events in (completed_run(), revision_run(), failed_run(), forked_run()):
        head = identity_of(events)
        assert head is not None
        stream = SpanStream(*head)
        streamed = [span for ev in events for span in stream.feed(ev)] + stream.finish()
        trace = run_trace(events)
        assert streamed == [*trace.spans[1:], trace.spans[0]]


def test_an_attempts_span_leaves_the_stream_at_the_event_that_ends_the_attempt() -> None:
    events = revision_run()
    head = identity_of(events)
    assert head is not None
    stream = SpanStream(*head)
    ended = {
        span.span_id: ev.seq
        for ev in events
        for span in stream.feed(ev)
        if span.name.startswith("invoke_agent")
    }
    agents = [s for s in run_trace(events).spans if s.name.startswith("invoke_agent")]
    assert ended == {s.span_id: s.attributes["agentlog.seq.last"] for s in agents}


def _retried_run() -> list[Event]:
    """``failed_run``, retried: the Coder fails twice more, then a third time succeeds."""
    again = [
        RetryRequested(actor="person", reason="the limit is lifted"),
        StepStarted(step="code", attempt=3),
        StepFailed(step="code", attempt=3, error_kind="rate_limit", message="429", retryable=True),
        StepStarted(step="code", attempt=4),
        called("code", 4),
        CodeProduced(code=code({"greet.py": "x = 1\n"}), attempt=4),
        *review_events("approve"),
        WorkflowCompleted(verdict="approve"),
    ]
    return stamp([*failed_run(), *again])


def test_a_retried_run_has_a_span_for_every_attempt_before_and_after_the_retry() -> None:
    events = _retried_run()
    trace = run_trace(events)
    coders = named(trace, "invoke_agent coder")
    assert [c.attributes["agentlog.attempt"] for c in coders] == [1, 2, 3, 4]
    assert [c.status for c in coders] == ["error", "error", "error", "unset"]
    assert len(named(trace, "invoke_agent reviewer")) == 1
    root = trace.spans[0]
    assert root.attributes["agentlog.status"] == "completed" and root.status == "unset"
    assert "agentlog.retry_requested" in [ev.name for ev in root.events]
    head = identity_of(events)
    assert head is not None
    stream = SpanStream(*head)
    streamed = [span for ev in events for span in stream.feed(ev)] + stream.finish()
    assert streamed == [*trace.spans[1:], trace.spans[0]]


def _loop_run(*, is_error: bool = False, secret: str = "") -> list[Event]:
    """A Coder loop attempt: one model turn, one run_command call and its result."""
    return stamp(
        [
            started(),
            StepStarted(step="code", attempt=1),
            called("code"),
            ToolCalled(
                turn=1, call_id="tu_7", name="run_command", input={"command": f"pytest {secret}"}
            ),
            ToolResulted(
                turn=1,
                call_id="tu_7",
                name="run_command",
                output=f"3 failed {secret}" if not is_error else "no such command",
                exit_code=None if is_error else 1,
                is_error=is_error,
                duration_ms=250.0,
            ),
            CodeProduced(code=code({"a.py": "x = 1\n"})),
        ]
    )


def test_a_loop_tool_call_is_an_execute_tool_span_under_its_agent() -> None:
    trace = run_trace(_loop_run())
    assert outline(trace) == [
        ROOT,
        "  invoke_agent coder",
        f"    chat {MODEL}",
        "    execute_tool run_command",
    ]
    tool = named(trace, "execute_tool run_command")[0]
    assert tool.kind == "internal"
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "run_command"
    assert tool.attributes["gen_ai.tool.call.id"] == "tu_7"
    assert tool.attributes["gen_ai.tool.type"] == "function"
    assert tool.attributes["agentlog.tool.exit_code"] == 1
    assert tool.status == "unset"  # a failing command is a result, not a broken tool
    assert tool.end_ns - tool.start_ns == 1_000_000_000  # from the call's event to its result


def test_a_tool_call_that_errs_has_error_status() -> None:
    tool = named(run_trace(_loop_run(is_error=True)), "execute_tool run_command")[0]
    assert tool.status == "error" and tool.attributes["error.type"] == "tool_error"
    assert tool.status_message == "no such command"


def test_tool_arguments_and_result_are_recorded_only_with_content_capture_on() -> None:
    off = named(run_trace(_loop_run()), "execute_tool run_command")[0]
    assert "gen_ai.tool.call.arguments" not in off.attributes
    assert "gen_ai.tool.call.result" not in off.attributes
    on = named(run_trace(_loop_run(), content=True), "execute_tool run_command")[0]
    assert json.loads(str(on.attributes["gen_ai.tool.call.arguments"])) == {"command": "pytest "}
    assert on.attributes["gen_ai.tool.call.result"] == "3 failed "


def test_tool_arguments_and_results_never_carry_a_secret() -> None:
    trace = run_trace(_loop_run(secret=KEY), content=True)
    tool = named(trace, "execute_tool run_command")[0]
    assert KEY not in str(tool.attributes["gen_ai.tool.call.arguments"])
    assert KEY not in str(tool.attributes["gen_ai.tool.call.result"])
    assert "[redacted]" in str(tool.attributes["gen_ai.tool.call.result"])
