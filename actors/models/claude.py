"""Claude through the official ``anthropic`` SDK, with structured output by tool use.

The SDK is imported on first use only, so read-side commands (``agentlog log`` ...) that
import :mod:`actors.models` stay fast. The SDK's own retries are off by default: the
supervisor retries and records each attempt. SDK exceptions become :class:`ModelError`
with a kind and a message scrubbed of anything that looks like a key; the SDK exception
is not chained (``from None``) because it holds the request and its auth header.
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from actors.logs import get_logger
from actors.models.base import ModelRequest, ModelResponse
from actors.models.defaults import MODEL_ENV, default_model, model_key
from actors.models.errors import ErrorKind, ModelError
from actors.models.tool_choice import rejects_forcing, tool_choice
from actors.secrets import redact as scrub_secrets
from events import Usage

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import (
        Message,
        MessageParam,
        TextBlockParam,
        ToolChoiceParam,
        ToolParam,
    )

__all__ = ["AnthropicModel", "parse_retry_after", "scrub_secrets"]

log = get_logger("agentlog.models")


class AnthropicModel:
    """A :class:`~actors.models.base.Model` backed by the Messages API.

    ``model`` defaults to :func:`default_model` (``AGENTLOG_MODEL`` or the built-in one).
    ``api_key`` / ``base_url`` left None let the SDK read ``ANTHROPIC_API_KEY`` /
    ``ANTHROPIC_BASE_URL``. A request's own ``model``, when set, is what is sent (it is the
    model the request digest records); ``name`` is what requests should be built with.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries_sdk: int = 0,
    ) -> None:
        self.name: str = model or default_model()
        self._api_key = api_key
        self._base_url = base_url
        self._max_retries = max_retries_sdk
        self._client: anthropic.Anthropic | None = None
        self._lock = threading.Lock()
        self._unforced: set[str] = set()  # models seen rejecting a forced tool choice

    def __repr__(self) -> str:
        return f"AnthropicModel(name={self.name!r}, max_retries_sdk={self._max_retries})"

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        """Ask Claude for a call of ``request.tool_name``; see :class:`ModelError`.

        The call is forced where the model allows it (see :mod:`actors.models.tool_choice`);
        a model that turns out to reject forcing is asked again at once without it, within
        the same ``timeout``.
        """
        client = self._get_client()
        import anthropic

        system: list[TextBlockParam] = [
            {"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}
        ]
        tools: list[ToolParam] = [
            {
                "name": request.tool_name,
                "description": request.tool_description,
                "input_schema": request.input_schema,
            }
        ]
        messages = list(request.messages)
        if request.tools:  # a loop's turn: every tool, the model's choice, cached prefix
            tools = cast("list[ToolParam]", _cached_tools(request.tools))
            messages = _cached_end(messages)
        model = request.model or self.name
        key = model_key(model)
        started = time.perf_counter()

        def send(force: bool) -> Message:
            left = max(0.001, timeout - (time.perf_counter() - started))
            choice = tool_choice(model, request.tool_name, force=force)
            if request.tools:
                choice = {"type": "auto"}
            return client.messages.create(
                model=model,
                max_tokens=request.max_tokens,
                system=system,
                messages=cast("list[MessageParam]", messages),
                tools=tools,
                tool_choice=cast("ToolChoiceParam", choice),
                timeout=left,
            )

        try:
            forced = tool_choice(model, request.tool_name)["type"] == "tool" and not request.tools
            forced = forced and key not in self._unforced
            try:
                message = send(forced)
            except anthropic.BadRequestError as exc:
                if not (forced and rejects_forcing(exc.status_code, exc.api_message)):
                    raise
                log.info("model rejects a forced tool choice; asking with auto", model=model)
                self._unforced.add(key)
                message = send(False)
        except anthropic.AnthropicError as exc:
            raise self._error(exc, timeout) from None
        except TypeError as exc:
            # The SDK raises a bare TypeError when it finds no credentials at all.
            if "authentication" not in str(exc):
                raise
            raise ModelError(
                "no Anthropic credentials: set ANTHROPIC_API_KEY (or pass api_key=)",
                kind="auth",
            ) from None
        latency_ms = round((time.perf_counter() - started) * 1000.0, 3)
        return _response(message, latency_ms)

    def prepare(self) -> None:
        """Import the SDK and build the client now, so no step timeout pays for it."""
        self._get_client()

    def _get_client(self) -> anthropic.Anthropic:
        with self._lock:
            if self._client is None:
                import anthropic

                try:
                    self._client = anthropic.Anthropic(
                        api_key=self._api_key,
                        base_url=self._base_url,
                        max_retries=self._max_retries,
                    )
                except anthropic.AnthropicError as exc:
                    raise ModelError(
                        f"cannot find Anthropic credentials: {self._scrub(str(exc))}; "
                        "set ANTHROPIC_API_KEY (or pass api_key=)",
                        kind="auth",
                    ) from None
            return self._client

    def _scrub(self, text: str) -> str:
        return scrub_secrets(text, (self._api_key,) if self._api_key else ())

    def _error(self, exc: anthropic.AnthropicError, timeout: float) -> ModelError:
        """Map an SDK exception to a ModelError with an actionable, secret-free message."""
        import anthropic

        if isinstance(exc, anthropic.APITimeoutError):
            return ModelError(f"Claude did not answer within {timeout:g}s", kind="timeout")
        if isinstance(exc, anthropic.APIConnectionError):
            cause = f": {exc.__cause__}" if exc.__cause__ is not None else ""
            return ModelError(
                self._scrub(
                    f"could not reach the Anthropic API{cause}; check the network "
                    "and ANTHROPIC_BASE_URL"
                ),
                kind="connection",
            )
        if isinstance(exc, anthropic.APIStatusError):
            return self._status_error(exc)
        return ModelError(
            self._scrub(f"Anthropic SDK error ({type(exc).__name__}): {exc}"), kind="unknown"
        )

    def _status_error(self, exc: anthropic.APIStatusError) -> ModelError:
        import anthropic

        status = exc.status_code
        detail = exc.api_message or exc.message
        request_id = f", request {exc.request_id}" if exc.request_id else ""
        head = f"(HTTP {status}{request_id}): {detail}"
        kind: ErrorKind
        retry_after = parse_retry_after(exc.response.headers)
        hint = f"; the server asks to wait {retry_after:g}s" if retry_after is not None else ""
        if isinstance(exc, anthropic.RateLimitError):
            kind = "rate_limit"
            text = f"Claude rate limit reached {head}{hint}"
        elif isinstance(exc, anthropic.OverloadedError) or status == 529:
            kind = "overloaded"
            text = f"Claude is overloaded {head}{hint}"
        elif isinstance(exc, anthropic.InternalServerError) or status >= 500:
            kind = "server_error"
            text = f"Anthropic API server error {head}{hint}"
        elif isinstance(exc, anthropic.AuthenticationError):
            kind = "auth"
            text = f"Anthropic API rejected the credentials {head}; check ANTHROPIC_API_KEY"
        elif isinstance(exc, anthropic.PermissionDeniedError):
            kind = "permission"
            text = f"the API key may not use this model or feature {head}"
        elif isinstance(exc, anthropic.NotFoundError):
            kind = "not_found"
            text = (
                f"Anthropic API: not found {head}; check the model name "
                f"({MODEL_ENV}, now {self.name!r}) and ANTHROPIC_BASE_URL"
            )
        elif isinstance(exc, anthropic.RequestTimeoutError):
            kind = "timeout"
            text = f"the Anthropic API timed out the request {head}"
        elif status == 413:
            kind = "bad_request"
            text = (
                f"the request is larger than the Anthropic API accepts {head}; "
                "give the step fewer or smaller files"
            )
        elif status in (400, 422):
            kind = "bad_request"
            text = f"Anthropic API refused the request {head}"
        else:
            kind = "unknown"
            text = f"Anthropic API error {head}"
        return ModelError(self._scrub(text), kind=kind, retry_after=retry_after, status_code=status)


def _cached_tools(tools: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """``tools`` with a prompt-cache breakpoint on the last (tools and system are cached)."""
    out = [dict(tool) for tool in tools]
    out[-1]["cache_control"] = {"type": "ephemeral"}
    return out


def _cached_end(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with a moving breakpoint on the last block of the last message, so the
    next turn of a loop reads the whole conversation so far from the cache. The request
    (and its digest) keeps no breakpoint: they are how it is sent, not what it asks."""
    if not messages:
        return messages
    last = dict(messages[-1])
    content = last.get("content")
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    if not isinstance(content, list) or not content:
        return messages
    blocks = [*content[:-1], {**content[-1], "cache_control": {"type": "ephemeral"}}]
    if blocks[-1].get("type") in ("thinking", "redacted_thinking"):
        return messages  # a thinking block is passed back exactly as issued
    last["content"] = blocks
    return [*messages[:-1], last]


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asks to wait: ``retry-after-ms``, else ``retry-after``.

    ``retry-after`` is a number of seconds or an HTTP date (RFC 9110); a date in the past
    means 0. Anything unparsable, negative or not finite is no hint (None). Header names
    are matched case-insensitively when ``headers`` is an HTTP headers object.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        value = _seconds(raw_ms)
        if value is not None:
            return value / 1000.0
    raw = headers.get("retry-after")
    if raw is None:
        return None
    value = _seconds(raw)
    if value is not None:
        return value
    try:
        when = email.utils.parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None  # RFC 9110 dates are GMT; a date without a zone is no valid hint
    wait = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, wait)


def _seconds(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _response(message: Message, latency_ms: float) -> ModelResponse:
    usage = message.usage
    content: tuple[dict[str, Any], ...] = tuple(
        cast("dict[str, Any]", block.to_dict(mode="json", exclude_none=True))
        for block in message.content
    )
    split = usage.cache_creation
    stop_details = message.stop_details
    return ModelResponse(
        content=content,
        stop_reason=message.stop_reason,
        usage=Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
            cache_read_input_tokens=usage.cache_read_input_tokens or 0,
            cache_creation_1h_input_tokens=split.ephemeral_1h_input_tokens if split else 0,
        ),
        model=message.model,
        latency_ms=latency_ms,
        response_id=message.id,
        stop_details=(
            cast("dict[str, Any]", stop_details.to_dict(mode="json"))
            if stop_details is not None
            else None
        ),
    )
