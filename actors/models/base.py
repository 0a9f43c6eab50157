"""What a model is asked, what it answers, and the ``Model`` protocol every backend follows.

A request is plain data: everything that determines the answer is in it, so its digest
(:func:`request_digest`) identifies the question in the log and lets a replay prove it asks
the same things. Responses keep the API's content blocks as plain dicts, exactly what
``ModelCalled`` records.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

import msgspec

from events import ModelCalled, Step, Usage

__all__ = [
    "Model",
    "ModelRequest",
    "ModelResponse",
    "encoded_request",
    "model_called_event",
    "request_bytes",
    "request_digest",
    "response_from_event",
    "shared_schema",
]


class ModelRequest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One structured-output question: a conversation and the one tool the model must call.

    ``messages`` are ``{"role": "user" | "assistant", "content": ...}`` dicts as the
    Messages API takes them. ``input_schema`` is the tool's JSON Schema (the artifact's).
    ``tools`` (a turn of an agent loop) are every tool offered, as the API takes them;
    the model chooses (``tool_name`` is then the one that ends the loop). Left empty it
    is not encoded, so a request without it has the digest it always had.
    """

    step: Step
    model: str
    system: str
    messages: tuple[dict[str, Any], ...]
    tool_name: str
    tool_description: str
    input_schema: dict[str, Any]
    max_tokens: int
    tools: tuple[dict[str, Any], ...] = ()


class ModelResponse(msgspec.Struct, frozen=True, kw_only=True):
    """A model's answer as the API gave it: content blocks, stop reason, usage, timing.

    ``content`` blocks are plain dicts such as ``{"type": "tool_use", "id", "name",
    "input"}`` or ``{"type": "text", "text"}``. ``stop_details`` is the API's structured
    reason for the stop, when it gives one (a refusal's category and explanation).
    """

    content: tuple[dict[str, Any], ...]
    stop_reason: str | None
    usage: Usage = Usage()
    model: str = ""
    latency_ms: float = 0.0
    response_id: str = ""
    stop_details: dict[str, Any] | None = None


class Model(Protocol):
    """A source of answers: Claude through the SDK, a script, or a recorded log.

    ``call`` returns within about ``timeout`` seconds or raises :class:`ModelError`
    (kind ``timeout``); it never retries on its own, so every attempt can be recorded.
    ``name`` is the model id to put in requests (``build_request(model=model.name)``).
    """

    name: str

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse: ...


class _Canonical(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """:class:`ModelRequest` with its schema already encoded: the same fields (so, sorted,
    the same keys in the same order, ``tools`` left out alike when empty), the schema's
    canonical bytes put in as they are."""

    step: str
    model: str
    system: str
    messages: tuple[dict[str, Any], ...]
    tool_name: str
    tool_description: str
    input_schema: msgspec.Raw
    max_tokens: int
    tools: tuple[dict[str, Any], ...] = ()


#: The canonical bytes of each schema made with :func:`shared_schema`, by the schema's id
#: (the schema kept beside them, so the id is never another's).
_SCHEMA_BYTES: dict[int, tuple[dict[str, Any], msgspec.Raw]] = {}


def shared_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare ``schema`` a tool schema shared by many requests and never changed (the
    artifacts' schemas, generated once): its canonical bytes are worked out once, not
    sorted again for every request that carries it. Returns ``schema``."""
    _SCHEMA_BYTES[id(schema)] = (schema, msgspec.Raw(msgspec.json.encode(schema, order="sorted")))
    return schema


def _canonical(request: ModelRequest) -> bytes:
    """The sorted, compact JSON of ``request``; a shared schema's bytes are reused."""
    known = _SCHEMA_BYTES.get(id(request.input_schema))
    if known is None or known[0] is not request.input_schema:
        return msgspec.json.encode(request, order="sorted")
    canonical = _Canonical(
        step=request.step,
        model=request.model,
        system=request.system,
        messages=request.messages,
        tool_name=request.tool_name,
        tool_description=request.tool_description,
        input_schema=known[1],
        max_tokens=request.max_tokens,
        tools=request.tools,
    )
    return msgspec.json.encode(canonical, order="sorted")


def request_bytes(request: ModelRequest) -> bytes:
    """The request's canonical JSON: sorted keys, compact, UTF-8 (what the digest hashes,
    and what the run's object store keeps). A request just digested is not encoded again:
    its bytes are the ones hashed."""
    last = _last_encoded[0]
    if last[0] is request:
        return last[1]
    return _canonical(request)


def encoded_request(request: ModelRequest) -> tuple[bytes, str]:
    """:func:`request_bytes` and :func:`request_digest` of ``request``, encoded once and
    hashed once (and kept for the same request asked for again)."""
    last = _last_encoded[0]
    if last[0] is request:
        return last[1], last[2]
    data = _canonical(request)
    digest = hashlib.sha256(data).hexdigest()
    _last_encoded[0] = (request, data, digest)
    return data, digest


def request_digest(request: ModelRequest) -> str:
    """SHA-256 (hex) of :func:`request_bytes`: the request's name in the log and in
    ``objects/``.

    Every field is included, ``model`` and ``max_tokens`` too: each changes the answer,
    so a replay under another model is reported, not passed. A request holds no secret
    (the API key travels in a header the SDK adds, and agents scrub what they send), so
    hashing all of it is safe.
    """
    return encoded_request(request)[1]


#: The last request digested, its bytes and its digest: an attempt names the request it
#: sends several times (to find a recorded answer, in the model, in ``ModelCalled``, and
#: keeps its bytes in ``objects/``), encoding and hashing it once. A request is never
#: changed once made (frozen, its lists never changed in place), so the same object has
#: the same bytes; one slot, swapped whole, is safe across threads.
_last_encoded: list[tuple[object, bytes, str]] = [(None, b"", "")]


def model_called_event(
    request: ModelRequest,
    response: ModelResponse,
    *,
    attempt: int,
    round: int = 0,
    actor: str = "supervisor",
) -> ModelCalled:
    """The ``ModelCalled`` event recording ``response`` as the answer to ``request``."""
    return ModelCalled(
        actor=actor,
        step=request.step,
        attempt=attempt,
        round=round,
        request_digest=request_digest(request),
        model=response.model or request.model,
        content=response.content,
        stop_reason=response.stop_reason,
        usage=response.usage,
        latency_ms=response.latency_ms,
        response_id=response.response_id,
        stop_details=response.stop_details,
    )


def response_from_event(event: ModelCalled) -> ModelResponse:
    """The response a ``ModelCalled`` event recorded, as a model would return it."""
    return ModelResponse(
        content=event.content,
        stop_reason=event.stop_reason,
        usage=event.usage,
        model=event.model,
        latency_ms=event.latency_ms,
        response_id=event.response_id,
        stop_details=event.stop_details,
    )
