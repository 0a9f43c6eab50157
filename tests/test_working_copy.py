"""Tool-call events and the working copy as a projection of the log.

Every change a tool call makes is an event (``ToolResulted.edits``, bytes in ``objects/``);
the working copy after any event is the base plus every change recorded up to it, in log
order, and ``agentlog project --at SEQ`` writes exactly that to ``files/``.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from pathlib import Path

import pytest
from _cli import cli
from _events import code, plan, stamp, started
from _repo import make_repo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.views.events import summarize
from events import (
    ChangeSet,
    CodeProduced,
    CreateFile,
    EditFile,
    Event,
    FileEdit,
    PlanProduced,
    StepFailed,
    StepStarted,
    ToolCalled,
    ToolResulted,
    WorkflowStarted,
    decode_line,
)
from store import EventLog, check_objects, materialize, record_base
from store.objects import ObjectStore, object_hash
from store.tree import ChangeRejected, Tree
from store.worktree import WorkingCopy, apply_edits, record_edit, record_output, working_copy_at

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "v1-demo"
#: Paths no two of which are a file and its directory.
PATHS = ["a.txt", "b.py", "pkg/mod.py", "pkg/sub/deep.txt", "bin/run.sh"]

Edit = tuple[str, bytes | None, int]  # path, new bytes (None: delete), mode


def files_of(tree: Tree) -> dict[str, tuple[bytes, int]]:
    return {path: (tree.read(path), tree.entries[path].mode) for path in tree.paths()}


def on_disk(root: Path) -> dict[str, tuple[bytes, int]]:
    out: dict[str, tuple[bytes, int]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(root))] = (path.read_bytes(), path.stat().st_mode & 0o777)
    return out


def tool_events(objects: ObjectStore, calls: list[list[Edit]]) -> list[Event]:
    """A ToolCalled and its ToolResulted for each call, its edits' bytes put in ``objects``."""
    out: list[Event] = []
    for turn, edits in enumerate(calls, start=1):
        call_id = f"toolu_{turn:03d}"
        out.append(ToolCalled(turn=turn, call_id=call_id, name="run_command", input={}))
        recorded = tuple(record_edit(objects, path, data, mode) for path, data, mode in edits)
        out.append(ToolResulted(turn=turn, call_id=call_id, name="run_command", edits=recorded))
    return out


def write_log(run_dir: Path, events: list[Event]) -> list[Event]:
    """``events`` appended to a real log in ``run_dir``; the stamped events it holds."""
    with EventLog(run_dir).writer() as writer:
        return list(writer.append_many(events))


_edit = st.tuples(
    st.sampled_from(PATHS),
    st.none() | st.binary(max_size=12),
    st.sampled_from([0o644, 0o755]),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls=st.lists(st.lists(_edit, min_size=1, max_size=3), max_size=8))
def test_the_working_copy_at_every_seq_is_the_edits_so_far_applied_in_order(
    tmp_path: Path, calls: list[list[Edit]]
) -> None:
    objects = ObjectStore(tmp_path)
    events = stamp([started(), *tool_events(objects, calls)])
    expected: dict[str, tuple[bytes, int]] = {}
    for ev in events:
        if isinstance(ev, ToolResulted):
            for edit in ev.edits:
                if edit.op == "delete":
                    expected.pop(edit.path, None)
                else:
                    expected[edit.path] = (objects.get(edit.hash), edit.mode)
        assert files_of(working_copy_at(events, objects, ev.seq)) == expected, ev.seq


def test_a_workspace_runs_working_copy_is_its_base_then_every_change_in_log_order(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "x = 1\n", "README.md": "hi\n"})
    run = tmp_path / "run"
    base = record_base(repo, run)
    objects = ObjectStore(run)
    change = ChangeSet(changes=(EditFile(path="app.py", search="x = 1", replace="x = 2"),))
    events = stamp(
        [
            WorkflowStarted(task="t", workspace=base),
            *tool_events(objects, [[("notes.txt", b"first\n", 0o644)]]),
            CodeProduced(code=code({}), change=change),
            *tool_events(objects, [[("README.md", None, 0o644), ("app.py", b"x = 3\n", 0o755)]]),
        ]
    )
    at = [files_of(working_copy_at(events, objects, seq)) for seq in (1, 3, 4, 6)]
    base_files = {f.path: (objects.get(f.hash), f.mode) for f in base.files}
    assert at[0] == base_files and base_files["app.py"] == (b"x = 1\n", 0o644)
    assert at[1] == {**at[0], "notes.txt": (b"first\n", 0o644)}
    assert at[2] == {**at[1], "app.py": (b"x = 2\n", 0o644)}
    rest = {k: v for k, v in at[2].items() if k != "README.md"}
    assert at[3] == {**rest, "app.py": (b"x = 3\n", 0o755)}


def test_a_failed_attempts_edits_leave_the_working_copy_and_a_loops_code_adds_nothing(
    tmp_path: Path,
) -> None:
    objects = ObjectStore(tmp_path)
    note = ChangeSet(changes=(CreateFile(path="b.txt", content="kept\n"),))
    failed = StepFailed(step="code", attempt=1, error_kind="budget", message="x", retryable=False)
    events = stamp(
        [
            started(),
            StepStarted(step="code", attempt=1),
            *tool_events(objects, [[("a.txt", b"lost\n", 0o644)]]),
            failed,
            StepStarted(step="code", attempt=2),
            *tool_events(objects, [[("b.txt", b"kept\n", 0o644)]]),
            CodeProduced(code=code({}), attempt=2, change=note, by_tools=True),
        ]
    )
    at = [files_of(working_copy_at(events, objects, seq)) for seq in (4, 5, 8, 9)]
    assert at[0] == {"a.txt": (b"lost\n", 0o644)}
    assert at[1] == {}
    assert at[2] == at[3] == {"b.txt": (b"kept\n", 0o644)}


def test_a_run_without_a_workspace_starts_empty_and_shows_each_code_file_set(
    tmp_path: Path,
) -> None:
    objects = ObjectStore(tmp_path)
    events = stamp(
        [
            started(),
            *tool_events(objects, [[("scratch.txt", b"s", 0o644)]]),
            CodeProduced(code=code({"greet.py": "print('hi')\n"})),
            *tool_events(objects, [[("extra.py", b"e", 0o644)]]),
        ]
    )
    assert files_of(working_copy_at(events, objects, 1)) == {}
    assert files_of(working_copy_at(events, objects, 3)) == {"scratch.txt": (b"s", 0o644)}
    assert files_of(working_copy_at(events, objects)) == {
        "greet.py": (b"print('hi')\n", 0o644),
        "extra.py": (b"e", 0o644),
    }


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (".git/config", "inside .git"),
        ("../outside.txt", "'..' components"),
        ("/etc/passwd", "absolute paths"),
    ],
)
def test_an_edit_of_an_unsafe_path_is_refused_naming_it(
    tmp_path: Path, path: str, reason: str
) -> None:
    edit = FileEdit(path=path, hash=ObjectStore(tmp_path).put(b"x"), size=1)
    with pytest.raises(ChangeRejected, match=reason) as info:
        apply_edits(Tree({}, {}, ObjectStore(tmp_path)), [edit])
    assert info.value.path == path


def test_a_delete_of_a_path_not_there_changes_nothing(tmp_path: Path) -> None:
    objects = ObjectStore(tmp_path)
    tree = apply_edits(Tree({}, {}, objects), [record_edit(objects, "a.txt", b"a")])
    after = apply_edits(tree, [FileEdit(path="gone.txt", op="delete")])
    assert files_of(after) == {"a.txt": (b"a", 0o644)}


# -- the events ----------------------------------------------------------------------------


def test_tool_events_written_before_a_field_existed_decode_with_its_defaults() -> None:
    line = b'{"type":"ToolResulted","seq":4,"call_id":"toolu_1","name":"read_file"}'
    event = decode_line(seal(line))
    assert isinstance(event, ToolResulted)
    assert (event.edits, event.is_error, event.output, event.exit_code) == ((), False, "", None)


def seal(body: bytes) -> bytes:
    return b'%s,"crc":"%08x"}\n' % (body[:-1], zlib.crc32(body))


def test_a_long_output_is_kept_cut_in_the_log_and_whole_in_objects(tmp_path: Path) -> None:
    objects = ObjectStore(tmp_path)
    whole = "".join(f"line {i}\n" for i in range(5000))
    kept, digest = record_output(objects, whole)
    assert kept.startswith("line 0\n") and kept.endswith("line 4999\n")
    assert "characters left out" in kept and len(kept) < len(whole)
    assert objects.get(digest).decode() == whole


def test_a_short_output_is_kept_whole_with_no_object(tmp_path: Path) -> None:
    assert record_output(ObjectStore(tmp_path), "3 passed\n") == ("3 passed\n", "")


def test_verify_names_a_missing_object_of_an_edit(tmp_path: Path) -> None:
    objects = ObjectStore(tmp_path)
    events = stamp([started(), *tool_events(objects, [[("a.txt", b"lost bytes", 0o644)]])])
    os.unlink(objects.path(object_hash(b"lost bytes")))
    issues = check_objects(tmp_path, events)
    assert [(i.ref.seq, i.ref.path) for i in issues] == [(3, "a.txt")]


def test_the_timeline_says_which_tool_was_called_on_what_and_how_it_ended() -> None:
    called = ToolCalled(turn=2, name="run_command", input={"command": "pytest -q"})
    failed = ToolResulted(turn=2, name="run_command", exit_code=1, output="1 failed")
    edited = ToolResulted(
        turn=3,
        name="edit_file",
        edits=(FileEdit(path="app.py", hash="0" * 64), FileEdit(path="old.py", op="delete")),
    )
    refused = ToolResulted(turn=4, name="read_file", is_error=True, output="no such file: x\n")
    assert summarize(called) == "code#1 t2 run_command pytest -q"
    assert summarize(failed) == "code#1 t2 run_command → exit 1, 1 failed"
    assert summarize(edited) == "code#1 t3 edit_file → 2 files changed: app.py, -old.py"
    assert summarize(refused) == "code#1 t4 read_file → error: no such file: x"


# -- agentlog log, show and project --at ---------------------------------------------------


@pytest.fixture
def tool_run(tmp_path: Path) -> tuple[Path, list[Event]]:
    """A run whose Coder edits through tools: three calls, then a code change."""
    run = tmp_path / "run"
    objects = ObjectStore(run)
    calls: list[list[Edit]] = [
        [("src/app.py", b"print('v1')\n", 0o644)],
        [("src/app.py", b"print('v2')\n", 0o644), ("bin/run.sh", b"#!/bin/sh\n", 0o755)],
        [("src/app.py", None, 0o644)],
    ]
    tools = tool_events(objects, calls)
    tools[0] = ToolCalled(
        turn=1, call_id="toolu_001", name="run_command", input={"command": "pytest -q"}
    )
    events = write_log(run, [started(), PlanProduced(plan=plan()), *tools])
    return run, events


def test_project_at_a_seq_in_the_middle_writes_exactly_that_working_copy(
    tool_run: tuple[Path, list[Event]],
) -> None:
    run, events = tool_run
    result = cli("project", run, "--at", "6")
    assert result.returncode == 0, result.stderr
    assert "as of seq 6" in result.stdout
    assert on_disk(run / "files") == {
        "src/app.py": (b"print('v2')\n", 0o644),
        "bin/run.sh": (b"#!/bin/sh\n", 0o755),
    }
    assert on_disk(run / "files") == files_of(working_copy_at(events, ObjectStore(run), 6))
    assert (run / "plan.json").exists()


def test_project_at_each_seq_follows_the_log_back_and_forth(
    tool_run: tuple[Path, list[Event]],
) -> None:
    run, events = tool_run
    for seq in (8, 4, 2, 6):
        assert cli("project", run, "--at", str(seq)).returncode == 0
        assert on_disk(run / "files") == files_of(working_copy_at(events, ObjectStore(run), seq))


def test_project_without_at_writes_the_working_copy_after_the_last_event(
    tool_run: tuple[Path, list[Event]],
) -> None:
    run, events = tool_run
    assert cli("project", run, "--at", "4").returncode == 0
    assert cli("project", run).returncode == 0
    assert on_disk(run / "files") == {"bin/run.sh": (b"#!/bin/sh\n", 0o755)}
    assert on_disk(run / "files") == files_of(working_copy_at(events, ObjectStore(run)))


def test_project_at_a_seq_before_an_artifact_leaves_it_out(
    tool_run: tuple[Path, list[Event]],
) -> None:
    run, _ = tool_run
    assert cli("project", run, "--at", "1").returncode == 0
    assert not (run / "plan.json").exists()
    assert on_disk(run / "files") == {}


@pytest.mark.parametrize("seq", ["0", "99"])
def test_project_at_a_seq_outside_the_log_is_refused_in_one_line(
    tool_run: tuple[Path, list[Event]], seq: str
) -> None:
    run, _ = tool_run
    result = cli("project", run, "--at", str(seq))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"--at {seq}: the log holds seq 1 to 8" in result.stderr


def test_log_shows_one_line_for_each_tool_event(tool_run: tuple[Path, list[Event]]) -> None:
    run, _ = tool_run
    lines = cli("log", run).stdout.splitlines()
    assert any("ToolCalled" in line and "run_command pytest -q" in line for line in lines)
    assert any(
        "ToolResulted" in line and "→ 2 files changed: src/app.py, bin/run.sh" in line
        for line in lines
    )
    assert sum("Tool" in line for line in lines) == 6


def test_show_prints_a_tool_result_whole(tool_run: tuple[Path, list[Event]]) -> None:
    run, _ = tool_run
    result = cli("show", run, "6", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["type"] == "ToolResulted"
    assert [e["path"] for e in shown["edits"]] == ["src/app.py", "bin/run.sh"]
    assert shown["edits"][1]["mode"] == 0o755


def test_an_old_log_projects_at_its_last_seq_as_project_does(tmp_path: Path) -> None:
    latest, at_end = tmp_path / "latest", tmp_path / "at_end"
    for run in (latest, at_end):
        run.mkdir()
        shutil.copy(FIXTURE / "events.jsonl", run / "events.jsonl")
    materialize(latest, EventLog(latest).read())
    materialize(at_end, EventLog(at_end).read(), at=21)
    for name in ("plan.json", "code.json", "review.json"):
        assert (at_end / name).read_bytes() == (FIXTURE / name).read_bytes()
    assert on_disk(at_end / "files") == on_disk(latest / "files") == on_disk(FIXTURE / "files")


def test_an_old_log_projects_mid_run_to_the_first_code_it_produced(tmp_path: Path) -> None:
    shutil.copy(FIXTURE / "events.jsonl", tmp_path / "events.jsonl")
    events = list(EventLog(tmp_path).read())
    first = next(ev for ev in events if isinstance(ev, CodeProduced))
    materialize(tmp_path, events, at=first.seq)
    assert on_disk(tmp_path / "files") == {
        f.path: (f.content.encode(), 0o644) for f in first.code.files
    }


def test_the_working_copy_folded_event_by_event_is_the_one_at_each_seq(
    tool_run: tuple[Path, list[Event]],
) -> None:
    run, events = tool_run
    objects = ObjectStore(run)
    copy = WorkingCopy(objects)
    for ev in events:
        copy.feed(ev)
        at = working_copy_at(events, objects, ev.seq)
        assert copy.tree.entries == at.entries, ev.seq


def long_output_run(run: Path) -> str:
    """A run whose one command printed 20,000 numbered lines (the log keeps head and tail)."""
    objects = ObjectStore(run)
    whole = "".join(f"line {i}\n" for i in range(20_000)) + "\x1b[2J 3 failed\n"
    kept, digest = record_output(objects, whole)
    result = ToolResulted(
        turn=1, call_id="toolu_001", name="run_command", exit_code=1, output=kept,
        output_digest=digest, output_chars=len(whole),
    )  # fmt: skip
    call = ToolCalled(turn=1, call_id="toolu_001", name="run_command", input={"command": "t"})
    write_log(run, [started(), call, result])
    return whole


def test_show_prints_a_tool_results_whole_output_as_text(tmp_path: Path) -> None:
    whole = long_output_run(tmp_path / "run")
    result = cli("show", tmp_path / "run", "3")
    assert result.returncode == 0, result.stderr
    _, text = result.stdout.split(f"\noutput (whole, {len(whole):,} characters, from objects/):\n")
    assert text.splitlines()[:2] == ["line 0", "line 1"]
    assert "line 10000\n" in text  # the middle the log left out
    assert text.splitlines()[-1] == "\\u001b[2J 3 failed"  # inert on a terminal


def test_show_says_when_a_long_outputs_object_is_missing(tmp_path: Path) -> None:
    long_output_run(tmp_path / "run")
    shutil.rmtree(tmp_path / "run" / "objects")
    result = cli("show", tmp_path / "run", "3")
    assert result.returncode == 0, result.stderr
    assert "output (cut to its head and tail; the whole is missing: " in result.stdout
    assert "characters left out" in result.stdout
