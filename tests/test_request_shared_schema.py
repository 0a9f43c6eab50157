"""A request's canonical bytes do not depend on how they are made.

The artifacts' tool schemas are shared by every request and never changed, so their
sorted bytes are worked out once (``shared_schema``) instead of sorting the schema again
for every request. The bytes, and so the digest every recorded log names, are exactly
the sorted encoding of the whole request, whatever the request carries.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import pytest

from actors.models import ModelRequest, build_request, request_bytes, request_digest
from actors.models.base import encoded_request, shared_schema
from actors.models.prompts import STEP_ARTIFACTS, _input_schema
from events import CodeChange, FileChange, Plan, PlanStep, Review


def _sorted(request: ModelRequest) -> bytes:
    return msgspec.json.encode(request, order="sorted")


PLAN = Plan(summary="Add a greeting", steps=(PlanStep(title="Write", description="hello.py"),))
CODE = CodeChange(files=(FileChange(path="hello.py", content="print('héllo')\n"),))
REVIEW = Review(verdict="request_changes", summary='Again, with "quotes" and ünïcode')


@pytest.mark.parametrize("step", ["plan", "code", "review"])
def test_a_request_with_a_shared_schema_is_its_sorted_encoding(step: Any) -> None:
    request = build_request(
        step, task="Say hi ✓", plan=PLAN, code=CODE, review=REVIEW, model="m", max_tokens=64
    )
    assert request.input_schema is _input_schema(STEP_ARTIFACTS[step])
    data, digest = encoded_request(request)
    assert data == _sorted(request)
    assert digest == hashlib.sha256(_sorted(request)).hexdigest()


def test_a_shared_schema_with_tools_offered_is_its_sorted_encoding() -> None:
    request = msgspec.structs.replace(
        build_request("plan", task="t", model="m", max_tokens=64),
        tools=({"name": "read", "input_schema": {"z": 1, "a": [{"y": 2, "b": 3}]}},),
    )
    assert request_bytes(request) == _sorted(request)
    assert request_digest(request) == hashlib.sha256(_sorted(request)).hexdigest()


def test_a_schema_not_declared_shared_is_encoded_whole() -> None:
    schema = {"type": "object", "properties": {"b": {"type": "string"}, "a": {}}}
    request = ModelRequest(
        step="code",
        model="m",
        system="s",
        messages=({"role": "user", "content": "c"},),
        tool_name="submit_code",
        tool_description="d",
        input_schema=schema,
        max_tokens=5,
    )
    assert request_bytes(request) == _sorted(request)


def test_a_declared_schema_is_known_by_identity_not_by_an_equal_one() -> None:
    shared = shared_schema({"type": "object", "required": ["b", "a"]})
    twin = {"type": "object", "required": ["b", "a"]}
    base = build_request("plan", task="t", model="m", max_tokens=64)
    for schema in (shared, twin):
        request = msgspec.structs.replace(base, input_schema=schema)
        assert request_bytes(request) == _sorted(request)
