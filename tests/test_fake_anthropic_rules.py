"""The Messages API stand-in refuses what the real API refuses, through the real SDK client.

Each rule answers HTTP 400 ``invalid_request_error`` with the real API's wording, before
any queued reply is taken; prompt caching reports usage as the API does. A tool loop
(issue 25) tested against this stand-in meets the same rules it meets live.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from fake_anthropic import FakeAnthropic, count_tokens

STRICT = ["claude-opus-5-5", "claude-sonnet-5-5", "claude-fable-5-1"]
LENIENT = "claude-sonnet-4-5"
TOOL = {"name": "read_file", "description": "Read a file.", "input_schema": {"type": "object"}}
ASK = {"role": "user", "content": "Look at the code."}


@pytest.fixture
def server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(measure_usage=True) as fake:
        yield fake


@pytest.fixture
def client(server: FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-ant-test-1", base_url=server.url, max_retries=0)


def send(
    client: anthropic.Anthropic, messages: list[Any], **params: Any
) -> anthropic.types.Message:
    params.setdefault("model", LENIENT)
    params.setdefault("tools", [TOOL])
    answer: anthropic.types.Message = client.messages.create(
        max_tokens=1024, messages=messages, **params
    )
    return answer


def refusal(client: anthropic.Anthropic, messages: list[Any], **params: Any) -> str:
    """The message of the 400 the request gets (and check it is the API's shape)."""
    with pytest.raises(anthropic.BadRequestError) as info:
        send(client, messages, **params)
    assert info.value.status_code == 400
    body: Any = info.value.body
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    return str(body["error"]["message"])


def turn(message: anthropic.types.Message) -> dict[str, Any]:
    """The assistant message to pass back: its content exactly as received."""
    return {"role": "assistant", "content": [b.model_dump() for b in message.content]}


def results(message: anthropic.types.Message, *, skip: int = 0) -> dict[str, Any]:
    """A user message answering every tool call of ``message`` but the first ``skip``."""
    calls = [b for b in message.content if b.type == "tool_use"][skip:]
    content = [{"type": "tool_result", "tool_use_id": c.id, "content": "ok"} for c in calls]
    return {"role": "user", "content": content}


# -- tool_use / tool_result pairing ------------------------------------------------------


def test_a_tool_loop_answering_every_call_is_served(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_tool_calls([("read_file", {"path": "a.py"}), ("read_file", {"path": "b.py"})])
    server.reply_tool_use({"path": "c.py"}, name="read_file")
    server.reply_text("done")
    first = send(client, [ASK])
    second = send(client, [ASK, turn(first), results(first)])
    last = send(client, [ASK, turn(first), results(first), turn(second), results(second)])
    assert [b.type for b in first.content] == ["tool_use", "tool_use"]
    assert last.content[0].type == "text"


def test_a_tool_use_left_unanswered_is_refused_naming_its_id(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_tool_calls([("read_file", {"path": "a.py"}), ("read_file", {"path": "b.py"})])
    first = send(client, [ASK])
    unanswered = next(b.id for b in first.content if b.type == "tool_use")
    message = refusal(client, [ASK, turn(first), results(first, skip=1)])
    assert message.startswith(
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately "
        f"after: {unanswered}."
    )


def test_a_tool_use_followed_by_plain_text_is_refused(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_tool_use({"path": "a.py"}, name="read_file")
    first = send(client, [ASK])
    message = refusal(client, [ASK, turn(first), {"role": "user", "content": "go on"}])
    assert "without `tool_result` blocks immediately after" in message


def test_a_tool_result_answering_no_call_of_the_previous_message_is_refused(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_tool_use({"path": "a.py"}, name="read_file")
    first = send(client, [ASK])
    answer = results(first)
    answer["content"].append({"type": "tool_result", "tool_use_id": "toolu_made_up", "content": ""})
    message = refusal(client, [ASK, turn(first), answer])
    assert message.startswith(
        "messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: "
        "toolu_made_up."
    )


def test_a_refused_request_leaves_the_queued_reply_for_the_next(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_text("still here")
    bad = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x"}]}
    refusal(client, [bad])
    assert send(client, [ASK]).content[0].type == "text"


# -- thinking blocks ---------------------------------------------------------------------


def test_thinking_passed_back_unmodified_is_accepted(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_tool_use({"path": "a.py"}, name="read_file", thinking="Read a.py first.")
    server.reply_text("done")
    first = send(client, [ASK])
    assert first.content[0].type == "thinking" and first.content[0].signature
    assert send(client, [ASK, turn(first), results(first)]).content[0].type == "text"


@pytest.mark.parametrize("field", ["thinking", "signature"])
def test_thinking_modified_when_passed_back_is_refused(
    server: FakeAnthropic, client: anthropic.Anthropic, field: str
) -> None:
    server.reply_tool_use({"path": "a.py"}, name="read_file", thinking="Read a.py first.")
    first = send(client, [ASK])
    back = turn(first)
    back["content"][0][field] += "x"
    message = refusal(client, [ASK, back, results(first)])
    assert message.startswith("messages.1.content.0: ")
    assert ("cannot be modified" in message) or ("Invalid `signature`" in message)


def test_thinking_with_a_changed_text_names_the_block_that_cannot_be_modified(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_tool_use({"path": "a.py"}, name="read_file", thinking="Read a.py first.")
    first = send(client, [ASK])
    back = turn(first)
    back["content"][0]["thinking"] = "Something else."
    message = refusal(client, [ASK, back, results(first)])
    assert "`thinking` or `redacted_thinking` blocks in the latest assistant message cannot " in (
        message
    )


def test_redacted_thinking_is_checked_like_thinking(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_fixture("redacted_thinking_then_tool_use")
    server.reply_text("done")
    first = send(client, [ASK])
    assert send(client, [ASK, turn(first), results(first)]).content[0].type == "text"
    back = turn(first)
    back["content"][0]["data"] = back["content"][0]["data"][:-4] + "AAAA"
    assert "cannot be modified" in refusal(client, [ASK, back, results(first)])


# -- models that refuse forcing, sampling and prefill -------------------------------------


@pytest.mark.parametrize("model", STRICT)
@pytest.mark.parametrize(
    "choice", [{"type": "tool", "name": "read_file"}, {"type": "any"}], ids=["tool", "any"]
)
def test_strict_models_refuse_a_forced_tool_choice(
    server: FakeAnthropic, client: anthropic.Anthropic, model: str, choice: dict[str, Any]
) -> None:
    assert "tool_choice" in refusal(client, [ASK], model=model, tool_choice=choice)


@pytest.mark.parametrize("model", STRICT)
@pytest.mark.parametrize(("name", "value"), [("temperature", 0.0), ("top_p", 0.9), ("top_k", 5)])
def test_strict_models_refuse_sampling_parameters(
    server: FakeAnthropic, client: anthropic.Anthropic, model: str, name: str, value: float
) -> None:
    # The installed SDK no longer takes sampling parameters: sent as a caller would.
    message = refusal(client, [ASK], model=model, extra_body={name: value})
    assert f"`{name}` is not supported for this model" in message


@pytest.mark.parametrize("model", STRICT)
def test_strict_models_refuse_an_assistant_prefill(
    server: FakeAnthropic, client: anthropic.Anthropic, model: str
) -> None:
    prefill = {"role": "assistant", "content": "{"}
    assert "does not support assistant message prefill" in refusal(
        client, [ASK, prefill], model=model
    )


def test_other_models_accept_forcing_sampling_and_prefill(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_tool_use({"path": "a.py"})
    prefill = {"role": "assistant", "content": "I will read it."}
    choice = {"type": "tool", "name": "read_file"}
    sampling = {"temperature": 0.0, "top_k": 5}
    answer = send(client, [ASK, prefill], tool_choice=choice, extra_body=sampling)
    assert answer.content[0].type == "tool_use"


def test_strict_models_accept_auto_tool_choice_without_sampling_or_prefill(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_tool_use({"path": "a.py"})
    answer = send(client, [ASK], model="claude-opus-5-5", tool_choice={"type": "auto"})
    assert answer.content[0].type == "tool_use"


# -- prompt caching ----------------------------------------------------------------------


def cached(text: str, ttl: str | None = None) -> dict[str, Any]:
    control: dict[str, Any] = (
        {"type": "ephemeral"} if ttl is None else {"type": "ephemeral", "ttl": ttl}
    )
    return {"type": "text", "text": text, "cache_control": control}


def test_more_than_four_breakpoints_are_refused(client: anthropic.Anthropic) -> None:
    system = [cached(f"part {i}") for i in range(5)]
    assert refusal(client, [ASK], system=system) == (
        "A maximum of 4 blocks with cache_control may be provided. Found 5."
    )


def test_four_breakpoints_are_accepted(server: FakeAnthropic, client: anthropic.Anthropic) -> None:
    server.reply_text("ok")
    send(client, [ASK], system=[cached(f"part {i}") for i in range(4)])


def test_the_first_request_writes_its_prefix_and_pays_the_rest_as_input(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_text("ok")
    system = [cached("You are a careful engineer. " * 20)]
    usage = send(client, [ASK], system=system).usage
    prefix = count_tokens(TOOL) + count_tokens(system[0])
    assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (prefix, 0)
    assert usage.input_tokens == count_tokens({"type": "text", "text": ASK["content"]})


def test_a_repeated_prefix_is_read_from_the_cache(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_text("ok")
    server.reply_text("ok")
    system = [cached("You are a careful engineer. " * 20)]
    first = send(client, [ASK], system=system).usage
    again = send(client, [{"role": "user", "content": "Another question."}], system=system).usage
    assert again.cache_read_input_tokens == first.cache_creation_input_tokens
    assert again.cache_creation_input_tokens == 0


def test_a_loop_moving_its_breakpoint_reads_the_last_turn_and_writes_only_the_new_one(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_tool_use({"path": "a.py"}, name="read_file")
    server.reply_text("done")
    ask = {"role": "user", "content": [cached("Look at the code.")]}
    first = send(client, [ask])
    back, answer = turn(first), results(first)
    answer["content"][-1]["cache_control"] = {"type": "ephemeral"}
    second = send(client, [ask, back, answer])
    new = sum(count_tokens(b) for b in back["content"] + answer["content"])
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens == new
    assert second.usage.input_tokens == 0


def test_a_changed_prefix_is_written_again(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_text("ok")
    server.reply_text("ok")
    send(client, [ASK], system=[cached("Version one.")])
    usage = send(client, [ASK], system=[cached("Version two.")]).usage
    assert usage.cache_read_input_tokens == 0
    assert (usage.cache_creation_input_tokens or 0) > 0


def test_cache_writes_are_split_by_the_breakpoints_ttl(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_text("ok")
    system = [cached("Long-lived rules. " * 10, "1h"), cached("This session's notes.", "5m")]
    usage = send(client, [ASK], system=system).usage
    split = usage.cache_creation
    assert split is not None
    assert split.ephemeral_1h_input_tokens == count_tokens(TOOL) + count_tokens(system[0])
    assert split.ephemeral_5m_input_tokens == count_tokens(system[1])
    assert usage.cache_creation_input_tokens == (
        split.ephemeral_1h_input_tokens + split.ephemeral_5m_input_tokens
    )


def test_without_a_breakpoint_everything_is_input(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_text("ok")
    usage = send(client, [ASK], system="Plain system prompt.").usage
    expected = sum(
        count_tokens(b)
        for b in (
            TOOL,
            {"type": "text", "text": "Plain system prompt."},
            {"type": "text", "text": ASK["content"]},
        )
    )
    assert (usage.input_tokens, usage.cache_creation_input_tokens) == (expected, 0)


def test_output_tokens_are_counted_from_the_reply(
    server: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    server.reply_text("a short answer")
    usage = send(client, [ASK]).usage
    assert usage.output_tokens == count_tokens({"type": "text", "text": "a short answer"})
