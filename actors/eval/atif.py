"""A run's trajectory in the Agent Trajectory Interchange Format (ATIF v1.8).

ATIF (Harbor's RFC 0001) is one JSON document per agent run: the ``agent``, a list of
``steps`` numbered from 1, and ``final_metrics``. A run becomes: a ``user`` step with
the task; an ``agent`` step per model call (``ModelCalled``), with its text, its
``tool_use`` blocks as ``tool_calls``, and its tokens as ``metrics`` (``prompt_tokens`` =
input + cache writes + cache reads, ``cached_tokens`` = cache reads, the four classes
kept in ``metrics.extra``); each loop tool result (``ToolResulted``) as an observation
of the step whose call it answers; and a ``system`` step for each test run, failed
step, end of the run and hidden check. Which workflow step and attempt a model call
belongs to is in the step's ``extra``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from events import (
    CheckRan,
    ModelCalled,
    StepFailed,
    TestsRan,
    ToolResulted,
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowStarted,
)
from store import EventLog

__all__ = ["SCHEMA_VERSION", "trajectory", "write_trajectories"]

SCHEMA_VERSION = "ATIF-v1.8"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agentlog")
    except PackageNotFoundError:
        return "0"


def _text(content: tuple[dict[str, Any], ...]) -> str:
    return "\n".join(str(b.get("text", "")) for b in content if b.get("type") == "text")


def _agent_step(ev: ModelCalled) -> dict[str, Any]:
    from actors.pricing import cost_usd

    calls = [
        {
            "tool_call_id": str(b.get("id", "")),
            "function_name": str(b.get("name", "")),
            "arguments": dict(b.get("input") or {}),
        }
        for b in ev.content
        if b.get("type") == "tool_use"
    ]
    u = ev.usage
    metrics: dict[str, Any] = {
        "prompt_tokens": u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens,
        "completion_tokens": u.output_tokens,
        "cached_tokens": u.cache_read_input_tokens,
        "extra": {
            "input_tokens": u.input_tokens,
            "cache_creation_input_tokens": u.cache_creation_input_tokens,
            "cache_read_input_tokens": u.cache_read_input_tokens,
            "output_tokens": u.output_tokens,
        },
    }
    cost = cost_usd({ev.model: u})
    if cost is not None:
        metrics["cost_usd"] = cost
    step: dict[str, Any] = {
        "source": "agent",
        "timestamp": ev.ts,
        "model_name": ev.model,
        "message": _text(ev.content),
        "metrics": metrics,
        "extra": {
            "agentlog_step": ev.step,
            "attempt": ev.attempt,
            "round": ev.round,
            "stop_reason": ev.stop_reason,
        },
    }
    if calls:
        step["tool_calls"] = calls
    return step


def _system(ev: Any, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "source": "system",
        "timestamp": ev.ts,
        "message": message,
        "extra": {"event": type(ev).__name__, **extra},
    }


def trajectory(run_dir: str | Path) -> dict[str, Any]:
    """The ATIF document of the run in ``run_dir`` (see the module docstring)."""
    steps: list[dict[str, Any]] = []
    by_call: dict[str, dict[str, Any]] = {}
    session, model = "", None
    for ev in EventLog(run_dir).read():
        if type(ev) is WorkflowStarted:
            session = ev.workflow_id
            steps.append({"source": "user", "timestamp": ev.ts, "message": ev.task})
        elif type(ev) is ModelCalled:
            step = _agent_step(ev)
            model = model or ev.model
            for call in step.get("tool_calls", ()):
                by_call[call["tool_call_id"]] = step
            steps.append(step)
        elif type(ev) is ToolResulted and ev.call_id in by_call:
            results = by_call[ev.call_id].setdefault("observation", {"results": []})["results"]
            results.append({"source_call_id": ev.call_id, "content": ev.output})
        elif type(ev) is TestsRan:
            shown = " ".join(ev.command)
            steps.append(_system(ev, f"tests: {shown} -> exit {ev.exit_code}", outcome=ev.outcome))
        elif type(ev) is StepFailed:
            steps.append(_system(ev, f"{ev.step} failed: {ev.error_kind}: {ev.message}"))
        elif type(ev) is WorkflowCompleted:
            steps.append(_system(ev, f"run completed, verdict {ev.verdict}"))
        elif type(ev) is WorkflowFailed:
            steps.append(_system(ev, f"run failed: {ev.error_kind}: {ev.message}"))
        elif type(ev) is CheckRan:
            verdict = "passed" if ev.passed else "failed"
            steps.append(_system(ev, f"hidden check {verdict}", exit_code=ev.exit_code))
    for number, step in enumerate(steps, start=1):
        step["step_id"] = number
        if not step.get("timestamp"):
            del step["timestamp"]
    agent_steps = [s for s in steps if s["source"] == "agent"]
    costs = [s["metrics"].get("cost_usd") for s in agent_steps]
    final: dict[str, Any] = {
        "total_prompt_tokens": sum(s["metrics"]["prompt_tokens"] for s in agent_steps),
        "total_completion_tokens": sum(s["metrics"]["completion_tokens"] for s in agent_steps),
        "total_cached_tokens": sum(s["metrics"]["cached_tokens"] for s in agent_steps),
        "total_steps": len(steps),
    }
    if agent_steps and all(c is not None for c in costs):
        final["total_cost_usd"] = round(sum(c or 0.0 for c in costs), 6)
    agent: dict[str, Any] = {"name": "agentlog", "version": _version()}
    if model:
        agent["model_name"] = model
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "agent": agent, "steps": steps}
    if session:
        doc["session_id"] = session
    doc["final_metrics"] = final
    return doc


def write_trajectories(runs: list[str], out: str | None) -> int:
    """Write each run's ATIF document, one JSON document a line, to ``out`` (default:
    standard output); returns how many were written."""
    import json
    import sys

    from events import UsageError

    lines = []
    for run in runs:
        if not EventLog(run).path.is_file():
            raise UsageError(f"{run}: no run here (no events.jsonl)")
        lines.append(json.dumps(trajectory(run), ensure_ascii=False) + "\n")
    if out is None:
        sys.stdout.write("".join(lines))
        sys.stdout.flush()
    else:
        Path(out).write_text("".join(lines), "utf-8")
    return len(lines)
