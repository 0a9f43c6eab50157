"""Canned artifacts, scripts and log readers for the workflow tests (no network, no key)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from actors.models import ScriptedModel
from events import Event, UnknownEvent, WorkflowConfig
from store import EventLog

#: A key-shaped fake credential; it must never appear in anything a run writes.
KEY = "sk-ant-" + "test-0123456789abcdefSECRET"  # fake; split so it reads as no real key

PLAN: dict[str, Any] = {
    "summary": "A greeting module and its test",
    "steps": [{"title": "Write hello.py", "description": "hello(name)", "files": ["hello.py"]}],
}
CODE: dict[str, Any] = {
    "files": [
        {"path": "hello.py", "content": "def hello(name):\n    return f'hello {name}'\n"},
        {"path": "pkg/util.py", "content": "X = 1\n"},
    ],
    "notes": "one function",
}
APPROVE: dict[str, Any] = {"verdict": "approve", "summary": "Looks right.", "comments": []}
CHANGES: dict[str, Any] = {
    "verdict": "request_changes",
    "summary": "Needs a docstring.",
    "comments": [{"severity": "warning", "message": "add a docstring", "path": "hello.py"}],
}

#: Fast settings: no backoff sleeps, short timeouts.
FAST = WorkflowConfig(backoff_base=0, step_timeout=10, max_retries=3)


def answer(tool_input: Mapping[str, Any]) -> dict[str, Any]:
    return {"tool_input": dict(tool_input)}


def error(kind: str, message: str = "") -> dict[str, Any]:
    return {"error": {"kind": kind, "message": message or f"scripted {kind}"}}


def scripted(
    plan: Sequence[dict[str, Any]] = (),
    code: Sequence[dict[str, Any]] = (),
    review: Sequence[dict[str, Any]] = (),
    **kwargs: Any,
) -> ScriptedModel:
    """A ScriptedModel; a step left empty gets its happy answer."""
    return ScriptedModel(
        {
            "plan": list(plan) or [answer(PLAN)],
            "code": list(code) or [answer(CODE)],
            "review": list(review) or [answer(APPROVE)],
        },
        **kwargs,
    )


def events_of(run_dir: Path) -> list[Event | UnknownEvent]:
    return list(EventLog(run_dir).read())


def kinds(run_dir: Path) -> list[str]:
    """The ``type`` of every event, in log order."""
    return [type(ev).__name__ for ev in events_of(run_dir)]


def of_type(run_dir: Path, kind: type[Any]) -> list[Any]:
    return [ev for ev in events_of(run_dir) if isinstance(ev, kind)]
