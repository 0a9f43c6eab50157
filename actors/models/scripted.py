"""A model that serves canned answers: for tests, examples and ``agentlog demo``.

A script maps each step to a list of response specs, consumed in order; the last one
repeats. A spec is one of::

    {"tool_input": {...}}                      # a call of the request's tool
    {"error": {"kind": "rate_limit", "message": "..."}}   # raised as ModelError
    {"content": [...], "stop_reason": "end_turn"}         # raw content blocks
    {"tool_calls": [{"name": "search", "input": {...}}, ...]}   # an agent loop's turn

each with an optional ``"delay"`` in seconds (``"stop_reason"`` and ``"usage"`` may
override the generated ones; ``"stop_details"`` is passed through, as for a refusal's
``{"type": "refusal", "category": ..., "explanation": ...}``). Answers, ids and token
counts are deterministic. The whole format, for users: ``docs/script-format.md``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import msgspec

from actors.models.base import ModelRequest, ModelResponse
from actors.models.errors import ErrorKind, ModelError, ScriptError
from events import STEPS, Usage

__all__ = ["ErrorSpec", "ResponseSpec", "ScriptedModel", "ToolCallSpec"]

NonNegative = Annotated[float, msgspec.Meta(ge=0)]


class ErrorSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A scripted failure; ``retryable`` defaults from the kind."""

    kind: ErrorKind
    message: str = ""
    retryable: bool | None = None
    retry_after: float | None = None


class ToolCallSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One call of a scripted agent-loop turn: a tool by name and its input."""

    name: str
    input: dict[str, Any] = {}


class ResponseSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One scripted answer: exactly one of ``tool_input``, ``error``, ``content``,
    ``tool_calls``."""

    tool_input: dict[str, Any] | None = None
    error: ErrorSpec | None = None
    content: tuple[dict[str, Any], ...] | None = None
    tool_calls: tuple[ToolCallSpec, ...] | None = None
    stop_reason: str | None = None
    stop_details: dict[str, Any] | None = None
    usage: Usage | None = None
    delay: NonNegative = 0.0

    def __post_init__(self) -> None:
        kinds = ("tool_input", "error", "content", "tool_calls")
        given = [k for k in kinds if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a response spec needs exactly one of tool_input, error, content, tool_calls "
                f"(got {', '.join(given) or 'none'})"
            )


Script = Mapping[str, Sequence[Mapping[str, Any] | ResponseSpec]]


class ScriptedModel:
    """A :class:`~actors.models.base.Model` answering from a script; thread-safe.

    ``delay`` is added to every call (and each spec's own ``delay``); a call whose delay
    exceeds its ``timeout`` waits ``timeout`` and raises ModelError ``timeout``, as a slow
    real model would. Requests received are kept in :attr:`calls`.
    """

    def __init__(self, script: Script, *, name: str = "scripted", delay: float = 0.0) -> None:
        self.name = name
        self._delay = delay
        self._script = _validate(script)
        self._next = dict.fromkeys(self._script, 0)
        self._count = 0
        self._cached_prefixes: set[str] = set()
        self._calls: list[ModelRequest] = []
        self._lock = threading.Lock()

    @classmethod
    def from_file(
        cls, path: str | Path, *, name: str = "scripted", delay: float = 0.0
    ) -> ScriptedModel:
        """Load a JSON script ``{"plan": [spec, ...], "code": [...], "review": [...]}``."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ScriptError(f"cannot read model script {path}: {exc.strerror}") from None
        try:
            script = msgspec.json.decode(data, type=dict[str, list[dict[str, Any]]])
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ScriptError(
                f"model script {path} is invalid: {exc} (expected an object of step -> "
                "list of answers)"
            ) from None
        try:
            return cls(script, name=name, delay=delay)
        except ScriptError as exc:
            raise ScriptError(f"{path}: {exc}") from None

    @property
    def calls(self) -> tuple[ModelRequest, ...]:
        """Every request received so far, in order."""
        with self._lock:
            return tuple(self._calls)

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        """The next scripted answer for ``request.step`` (see the module docstring)."""
        with self._lock:
            self._calls.append(request)
            specs = self._script.get(request.step)
            if not specs:
                raise ModelError(
                    f"the model script has no answers for step {request.step!r}",
                    kind="bad_request",
                )
            index = self._next[request.step]
            self._next[request.step] = index + 1
            spec = specs[min(index, len(specs) - 1)]
            self._count += 1
            number = self._count
            usage = spec.usage or self._usage(request, spec)
        delay = self._delay + spec.delay
        if delay > timeout:
            time.sleep(timeout)
            raise ModelError(
                f"the scripted model did not answer within {timeout:g}s", kind="timeout"
            )
        if delay > 0:
            time.sleep(delay)
        if spec.error is not None:
            err = spec.error
            raise ModelError(
                err.message or f"scripted {err.kind} error",
                kind=err.kind,
                retryable=err.retryable,
                retry_after=err.retry_after,
            )
        if spec.tool_input is not None:
            content: tuple[dict[str, Any], ...] = (
                {
                    "type": "tool_use",
                    "id": f"toolu_scripted_{number:04d}",
                    "name": request.tool_name,
                    "input": spec.tool_input,
                },
            )
            stop_reason = spec.stop_reason or "tool_use"
        elif spec.tool_calls is not None:
            content = tuple(
                {
                    "type": "tool_use",
                    "id": f"toolu_scripted_{number:04d}" + (f"_{k}" if k else ""),
                    "name": call.name,
                    "input": call.input,
                }
                for k, call in enumerate(spec.tool_calls)
            )
            stop_reason = spec.stop_reason or "tool_use"
        else:
            content = spec.content or ()
            has_tool = any(block.get("type") == "tool_use" for block in content)
            stop_reason = spec.stop_reason or ("tool_use" if has_tool else "end_turn")
        return ModelResponse(
            content=content,
            stop_reason=stop_reason,
            usage=usage,
            model=request.model or self.name,
            latency_ms=round(delay * 1000.0, 3),
            response_id=f"msg_scripted_{number:04d}",
            stop_details=spec.stop_details,
        )

    def _usage(self, request: ModelRequest, spec: ResponseSpec) -> Usage:
        """Token counts of about four characters a token; the system+tool prefix is cached."""
        prefix = request.system + msgspec.json.encode(request.input_schema).decode()
        prefix_tokens = _tokens(prefix)
        fresh = prefix not in self._cached_prefixes
        self._cached_prefixes.add(prefix)
        answer: Any = spec.tool_input if spec.tool_input is not None else spec.content
        if spec.tool_calls is not None:
            answer = spec.tool_calls
        return Usage(
            input_tokens=_tokens(msgspec.json.encode(request.messages).decode()),
            output_tokens=_tokens(msgspec.json.encode(answer).decode()) if answer else 1,
            cache_creation_input_tokens=prefix_tokens if fresh else 0,
            cache_read_input_tokens=0 if fresh else prefix_tokens,
        )


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _validate(script: Script) -> dict[str, tuple[ResponseSpec, ...]]:
    checked: dict[str, tuple[ResponseSpec, ...]] = {}
    for step, specs in script.items():
        if step not in STEPS:
            raise ScriptError(f"model script step {step!r} is unknown; use plan, code, review")
        if isinstance(specs, (str, bytes)) or not specs:
            raise ScriptError(f"model script step {step!r} needs a non-empty list of answers")
        converted: list[ResponseSpec] = []
        for index, spec in enumerate(specs):
            if isinstance(spec, ResponseSpec):
                converted.append(spec)
                continue
            try:
                converted.append(msgspec.convert(spec, ResponseSpec))
            except msgspec.ValidationError as exc:
                raise ScriptError(
                    f"model script answer {step}[{index}] is invalid: {exc}"
                ) from None
        checked[step] = tuple(converted)
    return checked
