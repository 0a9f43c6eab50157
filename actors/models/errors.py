"""Errors of the model layer: a failed model call, and a replay that diverged from its log.

``ModelError.kind`` is a small closed vocabulary the supervisor records in ``StepFailed``;
``retryable`` says whether another attempt can help (it defaults from the kind).
Messages never carry a secret: they are written to logs and shown to users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, get_args

from events import EXIT_USAGE, AgentlogError

if TYPE_CHECKING:
    from actors.models.base import ModelResponse

__all__ = [
    "ERROR_KINDS",
    "RETRYABLE_KINDS",
    "ErrorKind",
    "ModelError",
    "NonDeterminism",
    "PromptError",
    "ScriptError",
]

ErrorKind = Literal[
    "rate_limit",
    "overloaded",
    "server_error",
    "timeout",
    "connection",
    "invalid_output",
    "max_tokens",
    "refusal",
    "auth",
    "bad_request",
    "permission",
    "not_found",
    "unknown",
]

#: Every kind a :class:`ModelError` may carry.
ERROR_KINDS: frozenset[str] = frozenset(get_args(ErrorKind))

#: Kinds where trying again (after a backoff) can succeed.
RETRYABLE_KINDS: frozenset[str] = frozenset(
    {"rate_limit", "overloaded", "server_error", "timeout", "connection", "invalid_output"}
)


class ModelError(AgentlogError):
    """A model call failed, or its answer is unusable.

    ``response`` is set when the model did answer (invalid output, ``max_tokens``), so the
    answer can still be recorded as ``ModelCalled`` before the failure. ``retry_after`` is
    the server's hint in seconds (HTTP ``retry-after``), if it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        retryable: bool | None = None,
        response: ModelResponse | None = None,
        retry_after: float | None = None,
        status_code: int | None = None,
    ) -> None:
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown ModelError kind {kind!r}; use one of {sorted(ERROR_KINDS)}")
        super().__init__(message)
        self.message = message
        self.kind: ErrorKind = kind
        self.retryable = kind in RETRYABLE_KINDS if retryable is None else retryable
        self.response = response
        self.retry_after = retry_after
        self.status_code = status_code

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments: rebuild through a helper so copy/pickle keep every field.
        return (_rebuild_model_error, (self.message, self.__dict__.copy()))

    def __repr__(self) -> str:
        return (
            f"ModelError({self.message!r}, kind={self.kind!r}, retryable={self.retryable!r}, "
            f"status_code={self.status_code!r}, retry_after={self.retry_after!r}, "
            f"response={'set' if self.response is not None else None})"
        )


def _rebuild_model_error(message: str, state: dict[str, Any]) -> ModelError:
    err = ModelError(message, kind=state["kind"], retryable=state["retryable"])
    err.__dict__.update(state)
    return err


class NonDeterminism(AgentlogError):
    """A replay asked the model something the recorded run did not ask.

    ``seq`` is the recorded ``ModelCalled`` event the request was compared with (None when
    the log has no call left for the step); ``expected`` / ``actual`` are request digests;
    ``difference`` says what differs between the recorded request and the new one, when
    the recorded one was kept ("" otherwise).
    """

    def __init__(
        self,
        *,
        step: str,
        seq: int | None,
        expected: str | None,
        actual: str,
        reason: str,
        difference: str = "",
    ) -> None:
        where = f"seq {seq}" if seq is not None else "the end of the recorded calls"
        super().__init__(f"replay diverged at {where} (step {step!r}): {reason}")
        self.step = step
        self.seq = seq
        self.expected = expected
        self.actual = actual
        self.reason = reason
        self.difference = difference

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_nondeterminism, (self.__dict__.copy(),))


def _rebuild_nondeterminism(state: dict[str, Any]) -> NonDeterminism:
    return NonDeterminism(
        step=state["step"],
        seq=state["seq"],
        expected=state["expected"],
        actual=state["actual"],
        reason=state["reason"],
        difference=state.get("difference", ""),
    )


class ScriptError(AgentlogError):
    """A ScriptedModel script (a mapping or a JSON file) is not valid."""

    exit_code = EXIT_USAGE  # the --script file the user gave


class PromptError(AgentlogError):
    """A prompt cannot be built: an input the step needs is missing."""
