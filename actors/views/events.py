"""What one event says, in one line: the summary ``agentlog log`` and the viewer show.

Pure text from events, whole (a front-end clips it to its width and makes it safe for
its medium: inert for a terminal, escaped for HTML).
"""

from __future__ import annotations

import json
from typing import Any

from actors.views.outcome import summarize_tests
from actors.views.text import plural
from events import (
    ApprovalDecided,
    ApprovalRequested,
    BudgetReached,
    ChangesRequested,
    CheckRan,
    CodeProduced,
    ContextElided,
    ContextPacked,
    Diverged,
    Event,
    FilesRequested,
    Forked,
    ModelCalled,
    PlanProduced,
    RetryRequested,
    ReviewProduced,
    StepFailed,
    StepSkipped,
    StepStarted,
    TestsRan,
    ToolCalled,
    ToolResulted,
    UnknownEvent,
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowStarted,
    WorkspaceBase,
)

__all__ = ["describe_base", "summarize", "tool_gist", "when"]

#: The input field that says most about a call, per tool (else the input as JSON).
_TOOL_GIST = ("command", "path", "pattern", "query", "summary", "notes")


def _flat(text: str) -> str:
    """Whitespace runs (newlines included) as one space: a summary stays on one line."""
    return " ".join(text.split())


def _step(step: str, attempt: int, round_: int) -> str:
    return f"{step}#{attempt}" + (f" r{round_}" if round_ else "")


def tool_gist(tool_input: dict[str, Any]) -> str:
    """A call's input in a few words: its command, path or pattern, else its JSON."""
    for key in _TOOL_GIST:
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return _flat(value)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return _flat(" ".join(value))
    return json.dumps(tool_input, ensure_ascii=False, sort_keys=True) if tool_input else ""


def _tool_result(event: ToolResulted) -> str:
    """What a tool call came to: the exit, the error, the files it changed, the output size."""
    parts: list[str] = []
    if event.timed_out:
        parts.append("timed out")
    elif event.exit_code is not None:
        outcome = summarize_tests(event.output) if event.name == "run_command" else None
        parts.append(f"exit {event.exit_code}" + (f", {outcome}" if outcome else ""))
    if event.is_error and event.exit_code is None:
        lines = event.output.strip().splitlines()
        parts.append(f"error: {_flat(lines[0])}" if lines else "error")
    if event.edits:
        shown = ", ".join(("-" if e.op == "delete" else "") + e.path for e in event.edits[:3])
        more = f" +{len(event.edits) - 3}" if len(event.edits) > 3 else ""
        parts.append(f"{plural(len(event.edits), 'file')} changed: {shown}{more}")
    if not parts:
        parts.append(plural(event.output_chars or len(event.output), "character"))
    if event.interrupted:
        parts.append("run again after an interruption")
    return "→ " + ", ".join(parts)


def when(ts: str) -> str:
    """An event's RFC 3339 UTC time as ``2026-11-25 21:24:25Z``: date, second and zone."""
    if len(ts) >= 20 and ts[10] == "T" and ts.endswith("Z"):
        return f"{ts[:10]} {ts[11:19]}Z"
    return ts  # not ours to reformat: shown as written (made inert with the line)


def describe_base(base: WorkspaceBase) -> str:
    """A workspace's recorded base in one line: where, which commit, files, tests."""
    commit = f"git {base.commit[:12]}" if base.commit else "no git"
    dirty = " (dirty)" if base.dirty else ""
    source = "given" if base.test_source == "config" else "detected"
    tests = f"{' '.join(base.test_command)} ({source})" if base.test_command else "no test command"
    secret = sum(lo.reason.startswith(_SECRET_REASONS) for lo in base.left_out)
    held = f" ({secret} for credentials or secrets)" if secret else ""
    return (
        f"{base.root} {commit}{dirty}, {len(base.files)} files, "
        f"{len(base.left_out)} left out{held}; tests: {tests}"
    )


#: How the base names files left out for holding credentials (``store.base``).
_SECRET_REASONS = ("a credential file", "holds a secret")


def summarize(event: Event | UnknownEvent) -> str:
    """A one-line, human summary of what the event says (whole: the caller may clip it)."""
    match event:
        case WorkflowStarted(task=task, config=config, workspace=None):
            return f"model={config.model or 'default'} task {_flat(task)!r}"
        case WorkflowStarted(task=task, config=config, workspace=base) if base is not None:
            head = f"model={config.model or 'default'} task {_flat(task)!r}"
            return f"{head} workspace: {describe_base(base)}"
        case Forked(source=source, at_seq=at_seq, task=task):
            extra = f", task {_flat(task)!r}" if task else ""
            if event.what_if:
                return f"what-if of {source}: its recorded answers served until a request differs"
            return f"forked from {source} at seq {at_seq}{extra}"
        case StepStarted(step=step, attempt=attempt, round=round_):
            return _step(step, attempt, round_)
        case ModelCalled(step=step, attempt=a, round=r, model=model, usage=u, latency_ms=ms):
            tokens = f"{u.input_tokens}→{u.output_tokens} tok"
            if u.cache_read_input_tokens:
                tokens += f" (cache {u.cache_read_input_tokens})"
            return f"{_step(step, a, r)} {model} {tokens} {ms:.0f} ms stop={event.stop_reason}"
        case PlanProduced(plan=plan):
            return f"{plural(len(plan.steps), 'step')}: {_flat(plan.summary)}"
        case CodeProduced(change=change) if change is not None:
            ops = ", ".join(f"{op.__struct_config__.tag} {op.path}" for op in change.changes[:3])
            more = f" +{len(change.changes) - 3}" if len(change.changes) > 3 else ""
            return f"{plural(len(change.changes), 'change')}: {ops}{more}"
        case ContextPacked(step=step, attempt=a, round=r, full=full, mapped=mapped):
            left = len(event.left_out)
            shown = (
                f"{plural(len(full), 'file diff')}"
                if step == "review"
                else f"{plural(len(full), 'file')} whole, {mapped} map entries"
            )
            return f"{_step(step, a, r)} {shown}, {left} left out, ~{event.tokens} tok"
        case FilesRequested(step=step, attempt=a, round=r, served=served):
            asked = len(event.paths)
            return f"{_step(step, a, r)} asked for {plural(asked, 'file')}, served {len(served)}"
        case CodeProduced(code=code):
            paths = ", ".join(f.path for f in code.files[:4])
            more = f" +{len(code.files) - 4}" if len(code.files) > 4 else ""
            return f"{plural(len(code.files), 'file')}: {paths}{more}"
        case TestsRan(command=command, exit_code=code, timed_out=timed_out, outcome=outcome):
            result = "timed out" if timed_out else f"exit {code}"
            if event.problem:
                result += f" (tests could not run: {_flat(event.problem)})"
            elif outcome in ("no_tests", "error"):
                result += f" ({outcome.replace('_', ' ')})"
            if event.sandbox == "none":
                result += ", unconfined"
            elif event.sandbox:
                result += f" in {event.sandbox} {event.sandbox_version}".rstrip()
            if event.limits_hit:
                result += f", limits hit: {', '.join(event.limits_hit)}"
            return f"{' '.join(command)} → {result}"
        case ReviewProduced(review=review):
            comments = plural(len(review.comments), "comment")
            return f"{review.verdict}, {comments}: {_flat(review.summary)}"
        case StepFailed(step=step, attempt=a, round=r, error_kind=kind, message=msg):
            again = "retryable" if event.retryable else "final"
            return f"{_step(step, a, r)} {kind} ({again}): {_flat(msg)}"
        case StepSkipped(step=step, reason=reason):
            return f"{step}: {_flat(reason)}"
        case WorkflowCompleted(verdict=verdict, revisions=revisions, failed_steps=failed):
            text = f"verdict={verdict or '-'} revisions={revisions}"
            return text + (f" failed={','.join(failed)}" if failed else "")
        case WorkflowFailed(step=step, error_kind=kind, message=msg):
            return f"at {step or '-'}: {kind}: {_flat(msg)}"
        case ApprovalRequested(step=step, round=round_, digest=digest):
            again = f" (revision round {round_})" if round_ else ""
            return f"waiting for a person to approve the {step}{again} {digest[:19]}"
        case ApprovalDecided(step=step, decision=decision, by=by, comment=comment):
            edited = " (edited)" if event.plan is not None or event.code is not None else ""
            said = f": {_flat(comment)}" if comment else ""
            return f"{by} {decision} the {step}{edited}{said}"
        case ChangesRequested(by=by, comment=comment):
            return f"{by} requested changes: {_flat(comment)}"
        case RetryRequested(reason=reason):
            return f"retry with a fresh budget: {_flat(reason)}" if reason else "retry"
        case ToolCalled(step=step, attempt=a, round=r, turn=turn, name=name):
            gist = tool_gist(event.input)
            return f"{_step(step, a, r)} t{turn} {name}" + (f" {gist}" if gist else "")
        case ToolResulted(step=step, attempt=a, round=r, turn=turn, name=name):
            return f"{_step(step, a, r)} t{turn} {name} {_tool_result(event)}"
        case BudgetReached(budget=budget, limit=limit, used=used):
            where = _step(event.step, event.attempt, event.round) + " " if event.step else ""
            return f"{where}{budget} budget reached: {used:g} of {limit:g}"
        case ContextElided(step=step, attempt=a, round=r, turn=turn, call_ids=ids):
            tokens = f"~{event.tokens_before}→{event.tokens_after} tok"
            return f"{_step(step, a, r)} t{turn} {plural(len(ids), 'tool result')} elided, {tokens}"
        case CheckRan(task_id=task, sample=k, passed=passed):
            result = "passed" if passed else ("timed out" if event.timed_out else "failed")
            why = f": {_flat(event.problem)}" if event.problem else ""
            return f"hidden check of {task}#{k} {result} (exit {event.exit_code}){why}"
        case Diverged(step=step, source_seq=seq, reason=reason):
            where = f"source seq {seq}" if seq is not None else "the source's end"
            return f"{step}: left the recording at {where}, live from here: {_flat(reason)}"
        case UnknownEvent(type=kind):
            return f"unknown event type {kind!r} (written by a newer agentlog?)"
    return ""
