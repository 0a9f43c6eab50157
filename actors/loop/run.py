"""An agent's tool loop: model turns and tool calls over the projected working copy.

The Coder has every tool (:func:`code_loop`); the Planner the read-only ones
(:func:`plan_loop`) and the Reviewer those and ``run_command``, whose changes it does not
keep (:func:`review_loop`); each ends its loop with ``submit``, whose input for the
Planner and the Reviewer is their artifact (a submit that does not validate is answered
as an error and the loop goes on).

One :class:`~actors.attempt.Attempt` makes the loop. Each call of a loop goes
through the conversation the attempt has recorded so far (its ``ModelCalled``,
``ToolCalled`` and ``ToolResulted`` events, handed back by the supervisor as the
attempt's evidence) without calling or running anything again, and stops at the next
point where something new must be made durable before going on:

1. a new model turn and the ``ToolCalled`` of each call it makes (appended before any
   call runs, so a kill during a command never costs the turn again);
2. the ``ToolResulted`` of a call that changed the working copy (an edit, a command),
   or of the read-only calls of a turn together;
3. the end of the attempt: ``submit`` (the Coder's: a ``CodeProduced`` whose change is
   the sum of the attempt's edits, ``by_tools``), a budget reached (``BudgetReached`` then a
   ``StepFailed`` of kind ``budget``, not retried), or a failed call.

The supervisor appends what it answers and, the step still running, hands the attempt
back (``ContinueAttempt``) until it ends. A call an earlier process recorded without
its result (it died while the call ran) is run again, its result marked
``interrupted``. A replay makes no call again: it serves each recorded result
(``StepWork.served``), so no command runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgspec

from actors.attempt import Attempt
from actors.commit_point import pay
from actors.loop.carry import Carried, carry, take
from actors.loop.tools import (
    Change,
    ToolError,
    delete_file,
    edit_file,
    list_files,
    read_file,
    run_command,
    search,
    tool_definitions,
)
from actors.models import ModelRequest, load_request
from actors.models.prompts import render_plan, render_review
from actors.pricing import price_for, usage_cost
from actors.secrets import redact
from events import (
    READ_ONLY_TOOLS,
    TOOL_NAMES,
    BudgetReached,
    ChangeSet,
    CodeChange,
    CodeProduced,
    ContextElided,
    CreateFile,
    DeleteFile,
    Event,
    FileOp,
    ModelCalled,
    Plan,
    PlanProduced,
    ReplaceFile,
    Review,
    ReviewProduced,
    Step,
    StepFailed,
    ToolCalled,
    ToolName,
    ToolResulted,
    Usage,
    artifact_schema,
)
from store import ObjectStore, Tree
from store.worktree import apply_edits, record_edit, record_output

__all__ = [
    "CODER_SYSTEM",
    "PLANNER_SYSTEM",
    "REVIEWER_SYSTEM",
    "code_loop",
    "net_change",
    "plan_loop",
    "review_loop",
]

CODER_SYSTEM = (
    "You are the Coder of a Planner -> Coder -> Reviewer workflow, working on a "
    "repository through tools. Read what you need (read_file, list_files, search), change "
    "files with edit_file and delete_file, run the tests or any command with run_command "
    "(a sandbox over the working copy: no network), and when the task is done and the "
    "tests pass call submit with a short summary. Make the smallest change that does "
    "the task well; keep the code's style."
)
PLANNER_SYSTEM = (
    "You are the Planner of a Planner -> Coder -> Reviewer workflow, working on a "
    "repository through read-only tools. Read what you need (read_file, list_files, "
    "search), then call submit with a concrete, ordered plan: a summary, steps (each a "
    "title, a description and the files it touches) and risks."
)
REVIEWER_SYSTEM = (
    "You are the Reviewer of a Planner -> Coder -> Reviewer workflow, judging a change to "
    "a repository. Read what you need (read_file, list_files, search) and run the tests "
    "or any check with run_command (a sandbox over the changed working copy; what a "
    "command writes is thrown away), then call submit with your review: verdict "
    "(approve, request_changes or reject), summary and comments."
)
#: The tools of each step's loop (``submit`` last).
STEP_TOOLS: dict[Step, tuple[ToolName, ...]] = {
    "plan": ("read_file", "list_files", "search", "submit"),
    "code": TOOL_NAMES,
    "review": ("read_file", "list_files", "search", "run_command", "submit"),
}
#: The ``submit`` input of the steps whose loop submits an artifact.
_SUBMIT_SCHEMAS: dict[Step, dict[str, Any]] = {
    "plan": artifact_schema(Plan),
    "review": artifact_schema(Review),
}
#: How an elided tool result begins (what it says instead of the output).
_ELIDED = "[output elided to fit the context"
#: What a turn without a tool call is told.
_CALL_A_TOOL = "Go on with a tool call; call submit with a summary when the work is done."
_CUT = "Your answer was cut at max_tokens; make smaller tool calls and go on."
#: The last event of an answer that ends the attempt (nothing to carry after it).
_ENDS = (CodeProduced, PlanProduced, ReviewProduced, StepFailed)
_CUT_CALL = "Your answer was cut at max_tokens inside this call, so it was not run; go again."


def code_loop(
    at: Attempt,
    task: str,
    plan: Plan,
    review: Review | None,
    tree: Tree,
    model: str,
) -> list[Event]:
    """Go on with the Coder's loop from what ``at`` recorded; the events to append next."""
    return _Loop(at, tree, model, CODER_SYSTEM).run(_first_message(task, plan, review, tree))


def plan_loop(at: Attempt, first: str, tree: Tree, model: str) -> list[Event]:
    """Go on with the Planner's loop (read-only tools); ``first`` is its first message."""
    return _Loop(at, tree, model, PLANNER_SYSTEM).run(first)


def review_loop(at: Attempt, first: str, tree: Tree, model: str) -> list[Event]:
    """Go on with the Reviewer's loop (read-only tools and ``run_command``, whose changes
    are not kept); ``first`` is its first message."""
    return _Loop(at, tree, model, REVIEWER_SYSTEM).run(first)


class _Loop:
    def __init__(self, at: Attempt, tree: Tree, model: str, system: str) -> None:
        self.system = system
        self.at = at
        self.work = at.work
        self.kept = tree  # the working copy the attempt started from
        self.tree = tree
        self.model = model
        self.called = {ev.call_id for ev in at.work.recorded if isinstance(ev, ToolCalled)}
        self.results = {ev.call_id: ev for ev in at.work.recorded if isinstance(ev, ToolResulted)}
        #: Calls an earlier process recorded without their result: it stopped while they
        #: ran (or just before); they run again, and their result says so.
        self.interrupted = {
            ev.call_id
            for ev in at.work.recorded
            if isinstance(ev, ToolCalled) and ev.seq <= at.work.resumed_at
        } - set(self.results)
        self.run_dir = Path(at.work.workspace).parent
        self.objects = ObjectStore(self.run_dir)
        #: The attempt's pieces in this process, for the conversation carried between them.
        self.carry_key = (
            str(self.run_dir),
            at.work.step,
            at.work.attempt,
            at.work.round,
            at.work.resumed_at,
            at.work.run_commands,
        )
        #: Where the walk of this piece last finished a turn, for the next piece.
        self.mark: Carried | None = None
        step = at.work.step
        self.tools = tool_definitions(STEP_TOOLS[step], submit=_SUBMIT_SCHEMAS.get(step))

    def request(self, messages: list[dict[str, Any]]) -> ModelRequest:
        submit = self.tools[-1]
        model, max_tokens = self._as_recorded()
        return ModelRequest(
            step=self.work.step,
            model=model,
            system=self.system,
            messages=tuple(messages),
            tool_name=submit["name"],
            tool_description=submit["description"],
            input_schema=submit["input_schema"],
            max_tokens=max_tokens,
            tools=self.tools,
        )

    def _as_recorded(self) -> tuple[str, int]:
        """The model and ``max_tokens`` of the next turn: the recorded turn's while the
        attempt has recorded turns left to go through (a resume or a fork under another
        model or limit rebuilds the recorded conversation as it was, instead of asking
        its turns again over edits already made), else those in force."""
        if self.at.unused:
            raw = load_request(self.objects, self.at.unused[0].request_digest)
            if raw is not None:
                model, limit = raw.get("model"), raw.get("max_tokens")
                if isinstance(model, str) and isinstance(limit, int):
                    return model, limit
        return self.model, self.work.config.max_tokens

    def run(self, first: str) -> list[Event]:
        """Walk the recorded conversation (from where the previous piece carried it, if it
        did) and go on to the next durable point; what to append."""
        messages: list[dict[str, Any]] = [{"role": "user", "content": first}]
        turn = 0
        carried = self.mark = take(self.carry_key, self.at.unused)
        if carried is not None:  # walked from there on a copy: the mark stays as it was
            turn, messages, self.tree = carried.turn, list(carried.messages), carried.tree
        answer = self._walk(messages, turn)
        if self.mark is not None and not isinstance(answer[-1], _ENDS):
            carry(self.carry_key, self.mark)
        return answer

    def _walk(self, messages: list[dict[str, Any]], turn: int) -> list[Event]:
        at = self.at
        while True:
            turn += 1
            self._elide(turn, messages)
            request = self.request(messages)
            if not at.holds(request):  # a new turn: within the budgets?
                over = self._over_budget(turn)
                if over is not None:
                    return over
            head, before = (at.unused[0] if at.unused else None), len(at.answer)
            response = at.ask(request)
            digest = self._asked(head, before)
            # Passed back as given (thinking blocks too); an empty answer cannot be sent
            # back empty, so it is sent as the text it amounts to.
            given = list(response.content) or [{"type": "text", "text": "(no answer)"}]
            messages.append({"role": "assistant", "content": given})
            uses = [b for b in response.content if b.get("type") == "tool_use"]
            cut = response.stop_reason == "max_tokens"
            for use in uses:
                if use.get("id") not in self.called:
                    at.answer.append(self._called(turn, use))
                    self.called.add(str(use.get("id")))
            if at.answer:
                return at.answer  # the turn and its calls are durable before any runs
            if not uses:
                messages.append({"role": "user", "content": _CUT if cut else _CALL_A_TOOL})
                self._turn_done(turn, messages, digest)
                continue
            blocks: list[dict[str, Any]] = []
            submit: dict[str, Any] | None = None
            for k, use in enumerate(uses):
                last_cut = cut and k == len(uses) - 1
                call_id = str(use.get("id"))
                if use.get("name") == "submit" and not last_cut:
                    refused = self.results.get(call_id)
                    if refused is None:
                        submit = use
                        continue
                    blocks.append(_tool_result(refused))  # an earlier piece refused it
                    continue
                result = self.results.get(call_id)
                if result is None:
                    result = self._served(call_id)
                    if result is None:
                        result = self._result(turn, use, last_cut)
                        if call_id in self.interrupted:
                            result = msgspec.structs.replace(result, interrupted=True)
                    at.answer.append(result)
                    self.results[result.call_id] = result
                if result.edits:
                    self.tree = apply_edits(self.tree, result.edits)
                blocks.append(_tool_result(result))
                if at.answer and use.get("name") not in READ_ONLY_TOOLS:
                    return at.answer  # what changed the working copy is durable first
            if submit is not None:
                ended = self._submit(turn, submit)
                if ended is not None:
                    return ended
                blocks.append(_tool_result(self.results[str(submit.get("id"))]))
                return at.answer  # the refused submit is durable before the next turn
            if at.answer:
                return at.answer
            messages.append({"role": "user", "content": blocks})
            self._turn_done(turn, messages, digest)

    def _asked(self, head: ModelCalled | None, before: int) -> str | None:
        """The request digest of the turn just asked: of the recorded call it was served
        (``head``, the first not yet used), or of the call it made; None if neither."""
        at = self.at
        if head is not None and (not at.unused or at.unused[0] is not head):
            return head.request_digest
        made = at.answer[before:]
        if made and isinstance(made[-1], ModelCalled):
            return made[-1].request_digest
        return None

    def _turn_done(self, turn: int, messages: list[dict[str, Any]], digest: str | None) -> None:
        """Mark the conversation after ``turn`` (its results answered) as where the next
        piece of this attempt can take up the walk."""
        self.mark = None if digest is None else Carried(turn, list(messages), self.tree, digest)

    def _elide(self, turn: int, messages: list[dict[str, Any]]) -> None:
        """Make the conversation fit: past :attr:`~events.WorkflowConfig.loop_context_tokens`,
        the oldest tool results (never the last message's) become a short note until it is
        down to 60% of that; recorded as ``ContextElided`` (a pure function of the
        conversation, so a resumed or replayed loop elides the same)."""
        limit = self.work.config.loop_context_tokens
        before = _estimate(messages)
        if before <= limit:
            return
        now, elided = before, []
        for i, message in enumerate(messages[:-1]):
            content = message.get("content")
            if message.get("role") != "user" or not isinstance(content, list):
                continue
            blocks = list(content)
            for k, block in enumerate(blocks):
                if now <= limit * 6 // 10:
                    break
                shown = str(block.get("content", ""))
                if block.get("type") != "tool_result" or shown.startswith(_ELIDED):
                    continue
                note = f"{_ELIDED}: {len(shown)} characters; read or run again if needed]"
                blocks[k] = {**block, "content": note}
                now -= _estimate([block]) - _estimate([blocks[k]])
                elided.append(str(block.get("tool_use_id")))
            messages[i] = {**message, "content": blocks}  # earlier requests keep theirs
        if not elided or any(
            isinstance(ev, ContextElided) and ev.turn == turn for ev in self.work.recorded
        ):
            return
        self.at.answer.append(
            ContextElided(
                **self._where(),
                turn=turn,
                call_ids=tuple(elided),
                tokens_before=before,
                tokens_after=now,
            )
        )

    def _served(self, call_id: str) -> ToolResulted | None:
        """A replay's recorded result of the call (nothing runs), or None."""
        served = self.work.served.get(call_id)
        if served is None:
            return None
        return msgspec.structs.replace(served, seq=0, id="", ts="", workflow_id="")

    def _called(self, turn: int, use: dict[str, Any]) -> ToolCalled:
        raw = use.get("input")
        return ToolCalled(
            **self._where(),
            turn=turn,
            call_id=str(use.get("id")),
            name=str(use.get("name")),
            input=raw if isinstance(raw, dict) else {},
        )

    def _result(self, turn: int, use: dict[str, Any], cut: bool) -> ToolResulted:
        """Run one call on the working copy; bad use is an error result, never a raise."""
        pay(self.work.requests_to)  # the turn and its calls are durable before any runs
        name = str(use.get("name"))
        raw = use.get("input")
        args: dict[str, Any] = raw if isinstance(raw, dict) else {}
        started = time.perf_counter()
        exit_code: int | None = None
        timed_out = False
        changes: tuple[Change, ...] = ()
        is_error = False
        timed = False
        try:
            if cut:
                raise ToolError(_CUT_CALL)
            if name == "read_file":
                output = read_file(self.tree, args)
            elif name == "list_files":
                output = list_files(self.tree, args)
            elif name == "search":
                output = search(self.tree, args)
            elif name not in STEP_TOOLS[self.work.step]:
                tools = ", ".join(STEP_TOOLS[self.work.step])
                raise ToolError(f"no tool named {name!r} here; the tools are {tools}")
            elif name == "edit_file":
                changes = (edit_file(self.tree, args),)
                output = f"{changes[0][0]}: edited"
            elif name == "delete_file":
                changes = (delete_file(self.tree, args),)
                output = f"{changes[0][0]}: deleted"
            elif name == "run_command" and name in STEP_TOOLS[self.work.step]:
                if not self.work.run_commands:
                    raise ToolError("a replay runs no commands and none was recorded here")
                command = args.get("command")
                if not isinstance(command, str) or not command.strip():
                    raise ToolError("'command' must be a non-empty string")
                done = run_command(
                    self.tree,
                    command,
                    timeout=self.work.config.command_timeout,
                    policy=self.work.config.sandbox,
                    hidden=(self.run_dir,),
                )
                timed = True
                output, exit_code, timed_out = done.output, done.exit_code, done.timed_out
                # Only the Coder's commands change the working copy.
                changes = done.changes if self.work.step == "code" else ()
                is_error = not done.started
            else:
                raise ToolError(f"no tool named {name!r}; the tools are {', '.join(TOOL_NAMES)}")
        except ToolError as err:
            output, is_error = str(err), True
        output = redact(output)  # the whole output goes to objects/, which no scrubber reads
        shown, digest = record_output(self.objects, output)
        return ToolResulted(
            **self._where(),
            turn=turn,
            call_id=str(use.get("id")),
            name=name,
            is_error=is_error,
            output=shown,
            output_digest=digest,
            output_chars=len(output),
            exit_code=exit_code,
            timed_out=timed_out,
            edits=tuple(record_edit(self.objects, p, data, mode) for p, data, mode in changes),
            # Only a command's time is recorded: the rest is a pure function of the log,
            # which a replay must reproduce exactly.
            duration_ms=round((time.perf_counter() - started) * 1000.0, 3) if timed else 0.0,
        )

    def _submit(self, turn: int, use: dict[str, Any]) -> list[Event] | None:
        """End the attempt with the submitted artifact, or (None) refuse a submit that does
        not validate with an error result the model sees next."""
        work, at = self.work, self.at
        raw = use.get("input")
        given: dict[str, Any] = raw if isinstance(raw, dict) else {}
        produced: Event
        try:
            if work.step == "plan":
                plan = msgspec.convert(given, Plan)
                produced = PlanProduced(actor=at.actor, plan=plan, attempt=work.attempt)
            elif work.step == "review":
                review = msgspec.convert(given, Review)
                produced = ReviewProduced(
                    actor=at.actor, review=review, attempt=work.attempt, round=work.round
                )
            else:
                summary = given.get("summary")
                notes = summary if isinstance(summary, str) else ""
                produced = CodeProduced(
                    actor=at.actor,
                    code=CodeChange(files=(), notes=notes),
                    attempt=work.attempt,
                    round=work.round,
                    change=net_change(self.kept, self.tree, notes),
                    by_tools=True,
                )
        except msgspec.ValidationError as err:
            output, done = f"the submit does not validate: {err}; submit again", None
        else:
            output, done = "submitted", produced
        result = ToolResulted(
            **self._where(),
            turn=turn,
            call_id=str(use.get("id")),
            name="submit",
            is_error=done is None,
            output=output,
            output_chars=len(output),
        )
        at.answer.append(result)
        self.results[result.call_id] = result
        if done is None:
            return None
        at.answer.append(done)
        return at.answer

    def _where(self) -> dict[str, Any]:
        """Where an event of this loop belongs: its actor, step, attempt and round."""
        work = self.work
        return {
            "actor": self.at.actor,
            "step": work.step,
            "attempt": work.attempt,
            "round": work.round,
        }

    def _over_budget(self, turn: int) -> list[Event] | None:
        """The end of the attempt at a budget reached before turn ``turn``, if one is."""
        config = self.work.config
        if turn > config.max_turns:
            return self._stop("turns", config.max_turns, turn - 1)
        used = self._run_usage()
        if config.budget_tokens is not None and used.total >= config.budget_tokens:
            return self._stop("tokens", config.budget_tokens, used.total)
        if config.budget_usd is not None:
            price = price_for(self.model)
            spent = usage_cost(used, price) if price is not None else 0.0
            if spent >= config.budget_usd:
                return self._stop("usd", config.budget_usd, round(spent, 6))
        return None

    def _run_usage(self) -> Usage:
        """The run's usage up to this point of the loop: the log's, less the recorded
        turns not reached yet, plus the turns this call made."""
        used = self.work.state.usage
        for ev in self.at.answer:
            if isinstance(ev, ModelCalled):
                used = used + ev.usage
        later = Usage()
        for ev in self.at.unused:
            later = later + ev.usage
        return used - later

    def _stop(self, budget: Any, limit: float, used: float) -> list[Event]:
        self.at.answer.append(
            BudgetReached(
                **self._where(),
                budget=budget,
                limit=float(limit),
                used=float(used),
            )
        )
        what = {"turns": "model turns", "tokens": "tokens", "usd": "dollars"}[budget]
        return self.at.failed("budget", f"the {what} budget of {limit:g} was reached", False)


def _estimate(blocks: list[dict[str, Any]]) -> int:
    """About four bytes a token of the blocks' JSON (no tokenizer offline)."""
    return -(-len(msgspec.json.encode(blocks)) // 4)


def _tool_result(ev: ToolResulted) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": ev.call_id}
    block["content"] = ev.output or "(no output)"
    if ev.is_error:
        block["is_error"] = True
    return block


def _first_message(task: str, plan: Plan, review: Review | None, tree: Tree) -> str:
    paths = tree.paths()
    shown = "\n".join(paths[:500])
    if len(paths) > 500:
        shown += f"\n[{len(paths) - 500} more files: use list_files]"
    parts = [
        f"<task>\n{task}\n</task>",
        f"<plan>\n{render_plan(plan)}\n</plan>",
        f"<files>\n{shown or '(the working copy is empty)'}\n</files>",
    ]
    if review is not None:
        parts.append(f"<review>\n{render_review(review)}\n</review>")
        parts.append("This is a revision: the working copy holds your previous change.")
    parts.append("Work with the tools; call submit when you are done.")
    return "\n\n".join(parts)


def net_change(before: Tree, after: Tree, notes: str) -> ChangeSet:
    """The change set taking ``before`` to ``after``: whole-file creates, replaces and
    deletes (deletes first, so a file may become a directory)."""
    ops: list[FileOp] = []
    for path in before.paths():
        if path not in after:
            ops.append(DeleteFile(path=path))
    for path in after.paths():
        if path not in before:
            ops.append(CreateFile(path=path, content=after.text(path)))
        elif after.entries[path].hash != before.entries[path].hash:
            ops.append(ReplaceFile(path=path, content=after.text(path)))
    return ChangeSet(changes=tuple(ops), notes=notes)
