"""The run page's figures do not depend on how the log is cut into read blocks: the step
figures, the lists and the loop transcript folded a block at a time are those of the
whole log, taken at once or event by event."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import msgspec
import pytest
from _events import called, code, plan, stamp, started
from _loop_run import make_loop_run
from _repo import make_repo
from _viewer import make_runs

from actors.viewer.lists import PageLists
from actors.viewer.loop import LoopTranscript
from events import (
    ChangeSet,
    CodeProduced,
    CreateFile,
    EditFile,
    Event,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    Step,
    StepFailed,
    StepStarted,
    TestsRan,
    ToolCalled,
    ToolResulted,
    UnknownEvent,
    Usage,
    WorkflowFailed,
    WorkflowStarted,
)
from store import EventLog, ObjectStore, record_base, record_edit, step_stats
from store.projections import StepTally

AnyEvent = Event | UnknownEvent
#: Block sizes to cut the log into: one event, a few, more than a list keeps, all at once.
SIZES = (1, 2, 7, 64, 100_000)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("viewer-blocks")
    root = make_runs(base / "runs")
    make_loop_run(root / "loop", base / "workspace")
    return root


@pytest.fixture(scope="module")
def mixed(runs: Path) -> list[AnyEvent]:
    """A long log of runs' pieces in a seeded random order: loops, failures, reviews, test
    runs and code versions, every list past a limit of 3, attempts open across blocks."""
    loop = list(EventLog(runs / "loop").read())
    pieces = [loop[1:], list(EventLog(runs / "demo").read())[1:], loop[1:12]]
    rng = random.Random(27)
    body: list[AnyEvent] = []
    for _ in range(400):
        src = rng.choice(pieces)
        start = rng.randrange(len(src))
        body += src[start : start + rng.randrange(1, 12)]
    events = [loop[0], *body]
    return [msgspec.structs.replace(ev, seq=n) for n, ev in enumerate(events, start=1)]


def cut(events: list[AnyEvent], size: int) -> list[list[AnyEvent]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def cuttings(events: list[AnyEvent]) -> list[list[list[AnyEvent]]]:
    """``events`` cut every way of :data:`SIZES`, and as the first alone, then in twos or
    threes (blocks of code versions without the run's start)."""
    rest = [[events[:1], *cut(events[1:], size)] for size in (2, 3)]
    return [*(cut(events, size) for size in SIZES), *rest]


def last_edit_diffs(objects: ObjectStore, blocks: list[list[AnyEvent]]) -> list[dict[str, Any]]:
    """The diffs of the last tool call of a loop transcript fed ``blocks`` one by one."""
    loop = LoopTranscript(objects)
    for block in blocks:
        loop.extend(block)
    (edit,) = loop.items()[-1]["calls"]
    diffs: list[dict[str, Any]] = edit["diff"]
    return diffs


def as_data(value: object) -> bytes:
    return msgspec.json.encode(value)


@pytest.mark.parametrize("size", SIZES)
def test_the_step_figures_folded_block_by_block_are_those_of_the_whole_log(
    mixed: list[AnyEvent], size: int
) -> None:
    tally = StepTally()
    for block in cut(mixed, size):
        tally.extend(block)
    assert as_data(tally.stats()) == as_data(step_stats(mixed))


def test_the_step_figures_asked_midway_leave_the_fold_to_go_on(mixed: list[AnyEvent]) -> None:
    tally = StepTally()
    half = len(mixed) // 2
    tally.extend(mixed[:half])
    assert as_data(tally.stats()) == as_data(step_stats(mixed[:half]))
    tally.extend(mixed[half:])
    assert as_data(tally.stats()) == as_data(step_stats(mixed))


def test_the_usage_by_model_sums_every_call_in_the_order_first_called() -> None:
    order: list[tuple[Step, str]] = [
        ("code", "b"), ("plan", "a"), ("code", "a"), ("review", "b"), ("plan", "a")
    ]  # fmt: skip
    calls: list[AnyEvent] = [
        called(step, input_tokens=n, output_tokens=1, model=model)
        for n, (step, model) in enumerate(order, 1)
    ]
    tally = StepTally()
    for block in cut(calls, 2):
        tally.extend(block)
    assert tally.usage_by_model() == {
        "b": Usage(input_tokens=1 + 4, output_tokens=2),
        "a": Usage(input_tokens=2 + 3 + 5, output_tokens=3),
    }
    assert list(tally.usage_by_model()) == ["b", "a"]


#: Each list and the event types in it, as the page lists them.
LISTS = {
    "calls": (ModelCalled,),
    "plans": (PlanProduced,),
    "reviews": (ReviewProduced,),
    "tests": (TestsRan,),
    "failures": (StepFailed, WorkflowFailed),
}


@pytest.mark.parametrize("size", SIZES)
def test_each_list_keeps_its_last_entries_however_the_log_is_cut(
    mixed: list[AnyEvent], size: int
) -> None:
    lists = PageLists(3)
    for block in cut(mixed, size):
        lists.extend(block)
    for name, types in LISTS.items():
        every = [ev.seq for ev in mixed if type(ev) in types]
        shown = lists.tail(name)
        assert shown["total"] == len(every) > 3, name
        assert [entry["seq"] for entry in shown["items"]] == every[-3:], name
    versions = [ev.seq for ev in mixed if type(ev) is CodeProduced]
    assert lists.version_count == len(versions) > 4
    assert [r["seq"] for r in lists.rounds()] == versions[-3:]


def test_a_list_rarer_than_its_limit_keeps_its_entries_from_however_far_back(
    mixed: list[AnyEvent],
) -> None:
    failed = WorkflowFailed(seq=1, step="code", error_kind="crash", message="first of all")
    rest = [ev for ev in mixed if type(ev) not in LISTS["failures"]]
    log = [failed, *(msgspec.structs.replace(ev, seq=n) for n, ev in enumerate(rest, 2))]
    lists = PageLists(3)
    for block in cut(log, 2):
        lists.extend(block)
    assert lists.tail("failures") == {
        "items": [
            {
                "seq": 1,
                "step": "code",
                "attempt": None,
                "round": None,
                "kind": "crash",
                "message": "first of all",
                "retryable": False,
                "workflow": True,
            }
        ],
        "total": 1,
    }
    assert lists.tail("calls")["items"][-1]["seq"] == max(
        ev.seq for ev in log if type(ev) is ModelCalled
    )


def transcript(runs: Path, blocks: list[list[AnyEvent]], *, one_by_one: bool) -> dict[str, Any]:
    loop = LoopTranscript(ObjectStore(runs / "loop"))
    for block in blocks:
        if one_by_one:
            for ev in block:
                loop.add(ev)
        else:
            loop.extend(block)
    return {"items": loop.items(), "total": loop.total, "problem": loop.problem}


@pytest.mark.parametrize("size", SIZES)
def test_the_loop_transcript_taken_block_by_block_is_that_taken_event_by_event(
    runs: Path, mixed: list[AnyEvent], size: int
) -> None:
    expected = transcript(runs, [mixed], one_by_one=True)
    assert expected["total"] > 10 and expected["problem"] is None
    assert transcript(runs, cut(mixed, size), one_by_one=False) == expected


@pytest.mark.parametrize("size", SIZES)
def test_a_loop_run_transcript_is_the_same_however_its_log_is_cut(runs: Path, size: int) -> None:
    events: list[AnyEvent] = list(EventLog(runs / "loop").read())
    expected = transcript(runs, [events], one_by_one=True)
    assert [t["turn"] for t in expected["items"] if t["step"] == "code"] == [1, 2, 3, 4, 5, 6]
    assert transcript(runs, cut(events, size), one_by_one=False) == expected


def test_edits_dropped_by_a_failure_after_their_loop_ended_are_dropped_block_by_block_too(
    tmp_path: Path,
) -> None:
    objects = ObjectStore(tmp_path / "run")
    logged = stamp(
        [
            started(),
            StepStarted(step="plan", attempt=1),
            called("plan"),
            ToolCalled(step="plan", turn=1, call_id="tu_1", name="edit_file"),
            ToolResulted(
                step="plan",
                turn=1,
                call_id="tu_1",
                name="edit_file",
                edits=(record_edit(objects, "a.txt", b"plan\n"),),
            ),
            PlanProduced(plan=plan()),  # the loop ends; its edit still waits...
            # ...until a failure of its step drops it (the working copy's rule)
            StepFailed(step="plan", attempt=1, error_kind="x", message="late", retryable=False),
            StepStarted(step="code", attempt=1),
            called("code"),
            ToolCalled(turn=1, call_id="tu_2", name="edit_file"),
            ToolResulted(
                turn=1,
                call_id="tu_2",
                name="edit_file",
                edits=(record_edit(objects, "a.txt", b"code\n"),),
            ),
        ]
    )
    events: list[AnyEvent] = [*logged]
    for size in SIZES:
        diffs = last_edit_diffs(objects, cut(events, size))
        assert [(d["path"], d["status"]) for d in diffs] == [("a.txt", "added")], size


def test_a_loop_without_a_workspace_edits_the_last_code_version_of_a_block(
    tmp_path: Path,
) -> None:
    objects = ObjectStore(tmp_path / "run")
    logged = stamp(
        [
            started(),
            CodeProduced(code=code({"a.txt": "one\n"})),
            CodeProduced(code=code({"a.txt": "two\n"}), round=1),
            CodeProduced(code=code({"a.txt": "three\n", "b.txt": "b\n"}), round=2),
            CodeProduced(  # a change set changes the copy the versions before it left
                code=code({}), change=ChangeSet(changes=(CreateFile(path="c", content="c"),))
            ),
            StepStarted(step="code", attempt=1, round=3),
            called("code", round_=3),
            ToolCalled(round=3, turn=1, call_id="tu_1", name="edit_file"),
            ToolResulted(
                round=3,
                turn=1,
                call_id="tu_1",
                name="edit_file",
                edits=(record_edit(objects, "a.txt", b"four\n"),),
            ),
        ]
    )
    events: list[AnyEvent] = [*logged]
    for blocks in cuttings(events):
        (diff,) = last_edit_diffs(objects, blocks)
        assert "-three\n+four\n" in diff["diff"], len(blocks)


def test_a_loop_in_a_workspace_edits_the_tree_every_change_set_made(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "x = 1\n"})
    run = tmp_path / "run"
    base = record_base(repo, run)
    objects = ObjectStore(run)
    logged = stamp(
        [
            WorkflowStarted(task="t", workspace=base),
            CodeProduced(
                code=code({}), change=ChangeSet(changes=(CreateFile(path="b.txt", content="b\n"),))
            ),
            CodeProduced(
                code=code({}),
                round=1,
                change=ChangeSet(
                    changes=(EditFile(path="app.py", search="x = 1", replace="x = 2"),)
                ),
            ),
            StepStarted(step="code", attempt=1, round=2),
            called("code", round_=2),
            ToolCalled(round=2, turn=1, call_id="tu_1", name="edit_file"),
            ToolResulted(
                round=2,
                turn=1,
                call_id="tu_1",
                name="edit_file",
                edits=(
                    record_edit(objects, "b.txt", b"c\n"),
                    record_edit(objects, "app.py", b"x = 3\n"),
                ),
            ),
        ]
    )
    events: list[AnyEvent] = [*logged]
    for blocks in cuttings(events):
        diffs = {d["path"]: d["diff"] for d in last_edit_diffs(objects, blocks)}
        assert "-b\n+c\n" in diffs["b.txt"], len(blocks)
        assert "-x = 2\n+x = 3\n" in diffs["app.py"], len(blocks)
