"""An offline fake of the Anthropic Messages API, for testing the real SDK client against.

``FakeAnthropic`` runs a ``ThreadingHTTPServer`` on 127.0.0.1 (a free port) in a thread.
Each ``POST /v1/messages`` takes the next queued reply (a success with a ``tool_use``
block, an error status with Anthropic's error body, raw JSON, or one of the recorded API
shapes in ``tests/fixtures/messages_api/``: status, headers and body as the API sends
them), optionally after a delay, and every request is recorded (headers lowercased, JSON
body) for assertions.
With nothing queued it answers 500 ``api_error`` "no reply queued". Delays wait on an
event that shutdown sets, so a slow reply never holds up the end of a test.

    with FakeAnthropic() as server:
        server.reply_tool_use({"summary": "..."})
        model = AnthropicModel("claude-x", api_key="sk-ant-test-1", base_url=server.url)
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = [
    "FIXTURES",
    "FakeAnthropic",
    "FakeReply",
    "RecordedRequest",
    "fixture_names",
    "load_fixture",
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

    def __init__(self) -> None:
        self._replies: deque[FakeReply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._count = 0
        #: Play a model that answers a forced ``tool_choice`` with a 400 (queue untouched).
        self.reject_forced_tool_choice = False
        self._by_tool: FakeReply | None = None
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
        delay: float = 0.0,
    ) -> None:
        """A message calling ``name`` (default: the tool the request forced) with ``tool_input``."""
        counts = dict(usage or {})
        counts.setdefault("input_tokens", 120)
        counts.setdefault("output_tokens", 45)
        counts.setdefault("cache_creation_input_tokens", 800)
        counts.setdefault("cache_read_input_tokens", 0)

        def body(request: Any) -> Any:
            tool = name or _asked_tool(request)
            blocks: list[dict[str, Any]] = []
            if text is not None:
                blocks.append({"type": "text", "text": text})
            number = self._next_number()
            blocks.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_fake_{number:04d}",
                    "name": tool,
                    "input": tool_input,
                }
            )
            return _message(request, blocks, stop_reason, counts, number)

        self.push(FakeReply(body=body, delay=delay))

    def reply_text(self, text: str, *, stop_reason: str = "end_turn", delay: float = 0.0) -> None:
        """A message with only a text block (no tool call)."""

        def body(request: Any) -> Any:
            usage = {"input_tokens": 100, "output_tokens": 10}
            number = self._next_number()
            return _message(request, [{"type": "text", "text": text}], stop_reason, usage, number)

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
