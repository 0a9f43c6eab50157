"""An offline fake of the Anthropic Messages API, for testing the real SDK client against.

``FakeAnthropic`` runs a ``ThreadingHTTPServer`` on 127.0.0.1 (a free port) in a thread.
Each ``POST /v1/messages`` takes the next queued reply (a success with a ``tool_use``
block, an error status with Anthropic's error body, raw JSON, or one of the recorded API
shapes in ``tests/fixtures/messages_api/``: status, headers and body as the API sends
them), optionally after a delay, and every request is recorded (headers lowercased, JSON
body) for assertions.
With nothing queued it answers 500 ``api_error`` "no reply queued". Delays wait on an
event that shutdown sets, so a slow reply never holds up the end of a test.

Like the real API it refuses (HTTP 400 ``invalid_request_error``, before any queued reply
is taken) a request that breaks the Messages API's rules (see :func:`request_problem`):
unpaired ``tool_use``/``tool_result`` blocks, a ``thinking``/``redacted_thinking`` block
passed back other than it was issued, more than 4 ``cache_control`` breakpoints, and for
the models in ``FORCING_REJECTED`` a forced ``tool_choice``, sampling parameters or an
assistant prefill. With ``measure_usage`` the replies it builds report usage as the API
does (see :class:`PromptCache`): tokens are counted as ``ceil(bytes / 4)`` of each block's canonical
JSON; the prefix up to the last breakpoint that this server cached before is read from the
cache, the rest up to that breakpoint written to it, what follows is plain input.

    with FakeAnthropic() as server:
        server.reply_tool_use({"summary": "..."})
        model = AnthropicModel("claude-x", api_key="sk-ant-test-1", base_url=server.url)
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from actors.models.defaults import model_key
from actors.models.tool_choice import FORCING_REJECTED

__all__ = [
    "FIXTURES",
    "MAX_BREAKPOINTS",
    "FakeAnthropic",
    "FakeReply",
    "PromptCache",
    "RecordedRequest",
    "count_tokens",
    "fixture_names",
    "load_fixture",
    "request_problem",
]

#: Messages API response shapes (status, headers, body), written from the API docs.
FIXTURES = Path(__file__).parent / "fixtures" / "messages_api"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names are lowercased."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class FakeReply:
    """A queued reply; ``body`` may be a function of the request's JSON body."""

    status: int = 200
    body: Any | Callable[[Any], Any] = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    request_id: str | None = "req_fake_1"  # sent as ``request-id``; None: headers say all


def fixture_names(prefix: str = "") -> list[str]:
    """The names of the recorded API shapes (file stems) starting with ``prefix``."""
    return sorted(p.stem for p in FIXTURES.glob(f"{prefix}*.json"))


def load_fixture(name: str) -> dict[str, Any]:
    """One recorded shape: ``{"about", "status", "headers", "body"}``."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


class FakeAnthropic:
    """A programmable Messages API on localhost; use as a context manager."""

    def __init__(self, *, measure_usage: bool = False) -> None:
        #: Replies built here report measured usage (see :class:`PromptCache`); False keeps
        #: the fixed counts older tests expect (120 in, 45 out, 800 written for a tool call;
        #: 100 in, 10 out for text).
        self.measure_usage = measure_usage
        self._replies: deque[FakeReply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._count = 0
        #: Play a model that answers a forced ``tool_choice`` with a 400 (queue untouched).
        self.reject_forced_tool_choice = False
        self._by_tool: FakeReply | None = None
        #: Thinking blocks this server sent: (type, signature or data) -> the block's fields.
        self._issued: dict[tuple[str, str], dict[str, Any]] = {}
        #: The prompt cache of this server's lifetime (usage of the replies it builds).
        self.cache = PromptCache()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-anthropic",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @staticmethod
    def sent_key(request: RecordedRequest) -> str | None:
        """The credential a request carried: ``x-api-key``, or the ``Authorization`` bearer.

        SDK 2.x sends an API key as ``Authorization: Bearer``; older ones as ``x-api-key``.
        """
        if "x-api-key" in request.headers:
            return request.headers["x-api-key"]
        auth = request.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Wake delayed replies, stop serving and release the port."""
        self._stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    # Programming the replies -------------------------------------------------------------

    def push(self, reply: FakeReply) -> None:
        with self._lock:
            self._replies.append(reply)

    def reply_tool_use(
        self,
        tool_input: Any,
        *,
        name: str | None = None,
        stop_reason: str = "tool_use",
        usage: Mapping[str, int] | None = None,
        text: str | None = None,
        thinking: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """A message calling ``name`` (default: the tool the request forced) with ``tool_input``.

        ``thinking`` puts a signed ``thinking`` block first; ``usage`` fixes those counts
        (the rest are measured from the request, see :class:`PromptCache`).
        """
        self.reply_tool_calls(
            [(name, tool_input)],
            stop_reason=stop_reason,
            usage=usage,
            text=text,
            thinking=thinking,
            delay=delay,
        )

    def reply_tool_calls(
        self,
        calls: Sequence[tuple[str | None, Any]],
        *,
        stop_reason: str = "tool_use",
        usage: Mapping[str, int] | None = None,
        text: str | None = None,
        thinking: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """A message making every ``(name, input)`` call of ``calls`` (parallel tool use).

        A name of None is the tool the request forced (else the first it offers). Each call
        gets a fresh ``toolu_fake_*`` id, which the next request must answer.
        """

        def body(request: Any) -> Any:
            number = self._next_number()
            blocks: list[dict[str, Any]] = []
            if thinking is not None:
                blocks.append(_thinking_block(thinking, number))
            if text is not None:
                blocks.append({"type": "text", "text": text})
            for k, (name, tool_input) in enumerate(calls):
                suffix = f"_{k}" if k else ""
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": f"toolu_fake_{number:04d}{suffix}",
                        "name": name or _asked_tool(request),
                        "input": tool_input,
                    }
                )
            return _message(
                request,
                blocks,
                stop_reason,
                self._usage(request, blocks, usage, _FIXED_TOOL_USE),
                number,
            )

        self.push(FakeReply(body=body, delay=delay))

    def reply_text(
        self,
        text: str,
        *,
        stop_reason: str = "end_turn",
        thinking: str | None = None,
        usage: Mapping[str, int] | None = None,
        delay: float = 0.0,
    ) -> None:
        """A message with only a text block (no tool call), after a ``thinking`` block if given."""

        def body(request: Any) -> Any:
            number = self._next_number()
            blocks: list[dict[str, Any]] = []
            if thinking is not None:
                blocks.append(_thinking_block(thinking, number))
            blocks.append({"type": "text", "text": text})
            return _message(
                request,
                blocks,
                stop_reason,
                self._usage(request, blocks, usage, _FIXED_TEXT),
                number,
            )

        self.push(FakeReply(body=body, delay=delay))

    def reply_error(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """An error status with Anthropic's error body ``{"type": "error", "error": {...}}``."""
        body = {"type": "error", "error": {"type": error_type, "message": message}}
        self.push(FakeReply(status=status, body=body, headers=dict(headers or {}), delay=delay))

    def reply_fixture(self, name: str) -> dict[str, Any]:
        """Serve the recorded shape ``name`` exactly: its status, headers and body."""
        fixture = load_fixture(name)
        self.push(
            FakeReply(
                status=fixture["status"],
                body=fixture["body"],
                headers=fixture["headers"],
                request_id=None,
            )
        )
        return fixture

    def reply_rate_limited(self, retry_after: float = 0) -> None:
        self.reply_error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            headers={"retry-after": f"{retry_after:g}"},
        )

    def reply_overloaded(self) -> None:
        self.reply_error(529, "overloaded_error", "Overloaded")

    def reply_server_error(self) -> None:
        self.reply_error(500, "api_error", "Internal server error")

    def reply_auth_error(self) -> None:
        self.reply_error(401, "authentication_error", "invalid x-api-key")

    def reply_bad_request(self, message: str = "max_tokens: field required") -> None:
        self.reply_error(400, "invalid_request_error", message)

    def answer_by_tool(self, inputs: Mapping[str, Any], *, delay: float = 0.0) -> None:
        """Once the queue is empty, answer every request with ``inputs[forced tool]``.

        For many concurrent workflows, whose requests arrive in no fixed order.
        """

        def body(request: Any) -> Any:
            tools = request.get("tools") or [{}]  # auto tool choice: the one tool offered
            tool = request.get("tool_choice", {}).get("name") or tools[0].get("name", "")
            number = self._next_number()
            block = {
                "type": "tool_use",
                "id": f"toolu_fake_{number:04d}",
                "name": tool,
                "input": inputs.get(tool, {}),
            }
            usage = {"input_tokens": 120, "output_tokens": 45}
            return _message(request, [block], "tool_use", usage, number)

        with self._lock:
            self._by_tool = FakeReply(body=body, delay=delay)

    # Serving -----------------------------------------------------------------------------

    def _usage(
        self,
        request: Any,
        blocks: list[dict[str, Any]],
        given: Mapping[str, int] | None,
        legacy: Mapping[str, int],
    ) -> dict[str, Any]:
        """The usage of answering ``request`` with ``blocks``: measured (or the ``legacy``
        fixed counts), with the counts the test ``given`` on top."""
        counts: dict[str, Any] = dict(legacy)
        if self.measure_usage:
            with self._lock:
                counts = self.cache.account(request)
            counts["output_tokens"] = sum(count_tokens(b) for b in blocks)
        counts.update(given or {})
        return counts

    def issued(self, block: Mapping[str, Any]) -> bool:
        """Whether ``block`` (``thinking`` or ``redacted_thinking``) is one this server sent."""
        with self._lock:
            return _thinking_key(block) in self._issued

    def _served(self, payload: Any) -> None:
        """Remember every thinking block of a 200 answer, to check it when passed back."""
        content = payload.get("content") if isinstance(payload, dict) else None
        with self._lock:
            for block in content if isinstance(content, list) else ():
                if isinstance(block, dict) and block.get("type") in _THINKING:
                    self._issued[_thinking_key(block)] = _thinking_fields(block)

    def _next_number(self) -> int:
        with self._lock:
            self._count += 1
            return self._count

    def _record(self, recorded: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(recorded)

    def _take(self, recorded: RecordedRequest) -> FakeReply:
        with self._lock:
            self._requests.append(recorded)
            problem = request_problem(recorded.body, self._issued)
            if problem is not None:
                return _invalid_request(problem)
            if self.reject_forced_tool_choice and _forces_a_tool(recorded.body):
                error = {"type": "invalid_request_error", "message": FORCING_REJECTION}
                return FakeReply(status=400, body={"type": "error", "error": error})
            if self._replies:
                return self._replies.popleft()
            if self._by_tool is not None:
                return self._by_tool
        body = {"type": "error", "error": {"type": "api_error", "message": "no reply queued"}}
        return FakeReply(status=500, body=body)


def _asked_tool(request: Any) -> str:
    """The tool a request forces, else the first it offers."""
    forced = request.get("tool_choice", {}).get("name")
    tools = request.get("tools") or [{}]
    return str(forced or tools[0].get("name", "unknown_tool"))


def _forces_a_tool(request: Any) -> bool:
    return isinstance(request, dict) and request.get("tool_choice", {}).get("type") in (
        "tool",
        "any",
    )


#: What the fake answers a forced tool choice with when it plays a model that rejects it.
FORCING_REJECTION = (
    'tool_choice: forcing a tool is not supported for this model; use tool_choice "auto"'
)


def _message(
    request: Any,
    blocks: list[dict[str, Any]],
    stop_reason: str,
    usage: Mapping[str, int],
    number: int,
) -> dict[str, Any]:
    return {
        "id": f"msg_fake_{number:04d}",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "unknown"),
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": dict(usage),
    }


# The API's rules ------------------------------------------------------------------------

_FIXED_TOOL_USE = {
    "input_tokens": 120,
    "output_tokens": 45,
    "cache_creation_input_tokens": 800,
    "cache_read_input_tokens": 0,
}
_FIXED_TEXT = {"input_tokens": 100, "output_tokens": 10}

#: The most ``cache_control`` breakpoints one request may carry.
MAX_BREAKPOINTS = 4
_THINKING = ("thinking", "redacted_thinking")
_SAMPLING = ("temperature", "top_p", "top_k")


def _invalid_request(message: str) -> FakeReply:
    error = {"type": "invalid_request_error", "message": message}
    return FakeReply(status=400, body={"type": "error", "error": error})


def _blocks(content: Any) -> list[Any]:
    """A message's content as a list of blocks (a plain string is one text block)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content) if isinstance(content, list) else []


def _of_type(blocks: list[Any], kind: str) -> list[tuple[int, dict[str, Any]]]:
    return [(j, b) for j, b in enumerate(blocks) if isinstance(b, dict) and b.get("type") == kind]


def request_problem(body: Any, issued: Mapping[tuple[str, str], Mapping[str, Any]]) -> str | None:
    """What the real API would answer ``body`` with as a 400, or None for a valid request.

    ``issued`` are the thinking blocks the server sent (see :func:`_thinking_key`).
    """
    if not isinstance(body, dict):
        return None
    breakpoints = sum(1 for _, _, ttl in _prompt_blocks(body) if ttl is not None)
    if breakpoints > MAX_BREAKPOINTS:
        return (
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {breakpoints}."
        )
    given = body.get("messages")
    messages: list[Any] = given if isinstance(given, list) else []
    if model_key(str(body.get("model", ""))) in FORCING_REJECTED:
        found = _strict_model_problem(body, messages)
        if found is not None:
            return found
    return _pairing_problem(messages) or _thinking_problem(messages, issued)


def _strict_model_problem(body: dict[str, Any], messages: list[Any]) -> str | None:
    """Forced tool choice, sampling parameters and prefill, which these models refuse."""
    if _forces_a_tool(body):
        return FORCING_REJECTION
    for name in _SAMPLING:
        if name in body:
            return f"`{name}` is not supported for this model; remove it from the request."
    if messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "assistant":
        return (
            "This model does not support assistant message prefill. "
            "The conversation must end with a user message."
        )
    return None


def _pairing_problem(messages: list[Any]) -> str | None:
    """Every ``tool_use`` answered in the next message, every ``tool_result`` answering one."""
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        blocks = _blocks(message.get("content"))
        if message.get("role") == "assistant":
            asked = [str(b.get("id")) for _, b in _of_type(blocks, "tool_use")]
            after = messages[i + 1] if i + 1 < len(messages) else None
            answered: set[str] = set()
            if isinstance(after, dict) and after.get("role") == "user":
                results = _of_type(_blocks(after.get("content")), "tool_result")
                answered = {str(b.get("tool_use_id")) for _, b in results}
            missing = [x for x in asked if x not in answered]
            if missing and after is not None:
                return (
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}. Each `tool_use` block must "
                    "have a corresponding `tool_result` block in the next message."
                )
        elif message.get("role") == "user":
            before = messages[i - 1] if i else None
            offered: set[str] = set()
            if isinstance(before, dict) and before.get("role") == "assistant":
                uses = _of_type(_blocks(before.get("content")), "tool_use")
                offered = {str(b.get("id")) for _, b in uses}
            for j, block in _of_type(blocks, "tool_result"):
                if str(block.get("tool_use_id")) not in offered:
                    return (
                        f"messages.{i}.content.{j}: unexpected `tool_use_id` found in "
                        f"`tool_result` blocks: {block.get('tool_use_id')}. Each "
                        "`tool_result` block must have a corresponding `tool_use` block in "
                        "the previous message."
                    )
    return None


def _thinking_problem(
    messages: list[Any], issued: Mapping[tuple[str, str], Mapping[str, Any]]
) -> str | None:
    """Thinking blocks passed back exactly as they were issued (signature and text)."""
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        for j, block in enumerate(_blocks(message.get("content"))):
            if not isinstance(block, dict) or block.get("type") not in _THINKING:
                continue
            sent = issued.get(_thinking_key(block))
            if sent is None and block.get("type") == "thinking":
                return f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
            if sent != _thinking_fields(block):
                return (
                    f"messages.{i}.content.{j}: `thinking` or `redacted_thinking` blocks in "
                    "the latest assistant message cannot be modified. These blocks must "
                    "remain as they were in the original response."
                )
    return None


def _thinking_key(block: Mapping[str, Any]) -> tuple[str, str]:
    """What names a thinking block: its signature (a redacted one: its data)."""
    if block.get("type") == "redacted_thinking":
        return ("redacted_thinking", str(block.get("data")))
    return ("thinking", str(block.get("signature")))


def _thinking_fields(block: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("data",) if block.get("type") == "redacted_thinking" else ("thinking", "signature")
    return {"type": block.get("type"), **{k: block.get(k) for k in keys}}


def _thinking_block(text: str, number: int) -> dict[str, Any]:
    """A thinking block with a signature of its own (opaque, like the API's)."""
    digest = hashlib.sha256(f"{number}\0{text}".encode()).digest()
    return {"type": "thinking", "thinking": text, "signature": base64.b64encode(digest).decode()}


# Prompt caching -------------------------------------------------------------------------


def count_tokens(block: Any) -> int:
    """Tokens of one block: ``ceil(bytes / 4)`` of its canonical JSON, ``cache_control`` left
    out (a breakpoint does not change what is cached)."""
    if isinstance(block, dict):
        block = {k: v for k, v in block.items() if k != "cache_control"}
    data = json.dumps(block, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return max(1, -(-len(data.encode()) // 4))


def _prompt_blocks(body: dict[str, Any]) -> list[tuple[str, Any, str | None]]:
    """The prompt in cache order (tools, system, messages): (where, block, breakpoint ttl)."""
    out: list[tuple[str, Any, str | None]] = []

    def add(where: str, block: Any) -> None:
        control = block.get("cache_control") if isinstance(block, dict) else None
        ttl = str(control.get("ttl", "5m")) if isinstance(control, dict) else None
        out.append((where, block, ttl))

    for tool in body.get("tools") or []:
        add("tool", tool)
    for block in _blocks(body.get("system")):
        add("system", block)
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            for block in _blocks(message.get("content")):
                add(str(message.get("role")), block)
    return out


class PromptCache:
    """The prompt cache of one server: prefixes (per model) written at a breakpoint.

    :meth:`account` reports a request's usage as the API does: the longest prefix ending at
    a breakpoint that was cached before is ``cache_read_input_tokens``; the blocks after
    it up to the last breakpoint are written (``cache_creation_input_tokens``, split by
    each breakpoint's ``ttl`` into ``cache_creation``); the blocks after the last
    breakpoint are ``input_tokens``. No minimum length applies (the API caches only
    prefixes of 1024 tokens and more). Not thread-safe: the server calls it under its lock.
    """

    def __init__(self) -> None:
        self._prefixes: set[str] = set()

    def account(self, body: Any) -> dict[str, Any]:
        """The usage of ``body``'s prompt; caches its prefixes at its breakpoints."""
        blocks = _prompt_blocks(body) if isinstance(body, dict) else []
        model = str(body.get("model", "")) if isinstance(body, dict) else ""
        running = hashlib.sha256(model.encode())
        keys: list[str] = []  # the digest of the prefix through block k
        ends: list[int] = []  # the tokens of the prefix through block k
        total = 0
        for where, block, _ in blocks:
            running.update(json.dumps([where, _canonical(block)], sort_keys=True).encode())
            keys.append(running.hexdigest())
            total += count_tokens(block)
            ends.append(total)
        marks = [k for k, (_, _, ttl) in enumerate(blocks) if ttl is not None]
        last = marks[-1] if marks else -1
        # Like the API's look-back: a prefix cached earlier may end before a breakpoint.
        read_to = max((k for k in range(last + 1) if keys[k] in self._prefixes), default=-1)
        written = {"5m": 0, "1h": 0}
        start = ends[read_to] if read_to >= 0 else 0
        for k in marks:
            if k > read_to:
                ttl = blocks[k][2] if blocks[k][2] in written else "5m"
                written[str(ttl)] += ends[k] - start
                start = ends[k]
            self._prefixes.add(keys[k])
        cached = ends[marks[-1]] if marks else 0
        return {
            "input_tokens": total - cached,
            "cache_read_input_tokens": ends[read_to] if read_to >= 0 else 0,
            "cache_creation_input_tokens": written["5m"] + written["1h"],
            "cache_creation": {
                "ephemeral_5m_input_tokens": written["5m"],
                "ephemeral_1h_input_tokens": written["1h"],
            },
        }


def _canonical(block: Any) -> Any:
    if isinstance(block, dict):
        return {k: v for k, v in sorted(block.items()) if k != "cache_control"}
    return block


def _handler_for(fake: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body: Any = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = raw.decode("utf-8", "replace")
            headers = {k.lower(): v for k, v in self.headers.items()}
            recorded = RecordedRequest("POST", self.path, headers, body)
            if self.path.split("?", 1)[0] == "/v1/messages":
                reply = fake._take(recorded)
            else:
                fake._record(recorded)
                error = {"type": "not_found_error", "message": f"no route {self.path}"}
                reply = FakeReply(status=404, body={"type": "error", "error": error})
            if reply.delay and fake._stopping.wait(reply.delay):
                return  # shutting down: drop the connection
            payload = reply.body(body) if callable(reply.body) else reply.body
            if reply.status == 200:
                fake._served(payload)
            data = json.dumps(payload).encode()
            try:
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                if reply.request_id is not None:
                    self.send_header("request-id", reply.request_id)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
