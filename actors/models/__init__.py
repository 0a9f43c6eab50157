"""The model layer: what agents ask Claude, how, and the stand-ins used offline.

- :class:`ModelRequest` / :class:`ModelResponse` and :func:`request_digest`;
- :func:`record_request` / :func:`load_request`: each request kept in ``objects/``
  under its digest, scrubbed of secrets (:func:`scrubbed`), and
  :func:`request_difference` for a replay that asked something else;
- :class:`Model`, the protocol every backend follows: :class:`AnthropicModel` (Claude
  through the SDK), :class:`ScriptedModel` (canned answers), :class:`ReplayModel`
  (answers recorded in a log);
- :func:`build_request` (the prompts) and :func:`parse_artifact` (validated answers);
- :class:`ModelError` (a failed call, with ``kind`` and ``retryable``) and
  :class:`NonDeterminism` (a replay that diverged).

Importing this package does not import the ``anthropic`` SDK; the first
:meth:`AnthropicModel.call` does.
"""

from actors.models.base import (
    Model,
    ModelRequest,
    ModelResponse,
    encoded_request,
    model_called_event,
    request_bytes,
    request_digest,
    response_from_event,
)
from actors.models.claude import AnthropicModel, scrub_secrets
from actors.models.defaults import DEFAULT_MODEL, MODEL_ENV, default_model, model_key
from actors.models.errors import (
    ERROR_KINDS,
    RETRYABLE_KINDS,
    ErrorKind,
    ModelError,
    NonDeterminism,
    PromptError,
    ScriptError,
)
from actors.models.parse import STEP_ARTIFACTS, parse_artifact, path_problem
from actors.models.prompts import SYSTEM_PROMPTS, TOOL_DESCRIPTIONS, build_request
from actors.models.recorded import (
    MAX_DIFF_LINES,
    RequestNotKept,
    load_request,
    record_request,
    request_difference,
    scrubbed,
)
from actors.models.replay import ReplayModel
from actors.models.scripted import ErrorSpec, ResponseSpec, ScriptedModel

__all__ = [
    "DEFAULT_MODEL",
    "ERROR_KINDS",
    "MAX_DIFF_LINES",
    "MODEL_ENV",
    "RETRYABLE_KINDS",
    "STEP_ARTIFACTS",
    "SYSTEM_PROMPTS",
    "TOOL_DESCRIPTIONS",
    "AnthropicModel",
    "ErrorKind",
    "ErrorSpec",
    "Model",
    "ModelError",
    "ModelRequest",
    "ModelResponse",
    "NonDeterminism",
    "PromptError",
    "ReplayModel",
    "RequestNotKept",
    "ResponseSpec",
    "ScriptError",
    "ScriptedModel",
    "build_request",
    "default_model",
    "encoded_request",
    "load_request",
    "model_called_event",
    "model_key",
    "parse_artifact",
    "path_problem",
    "record_request",
    "request_bytes",
    "request_difference",
    "request_digest",
    "response_from_event",
    "scrub_secrets",
    "scrubbed",
]
