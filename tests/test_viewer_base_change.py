"""The run page shows a workspace run's change against its recorded base, as `diff` does."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
from _repo import make_repo, workspace_model
from _viewer import SAMPLE
from _workflow import FAST, scripted

from actors import Supervisor
from actors.viewer.overview import run_overview
from actors.workspace.apply import run_change
from events import EVENT_TYPES, CodeProduced, decode_line, encode_line
from store import render_diff


def test_a_workspace_run_shows_its_change_against_the_recorded_base(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    Supervisor(FAST, model=workspace_model()).run("say hi", run, workspace=repo)
    change = run_overview(run)["base_change"]
    files = {f["path"]: f["status"] for f in change["files"]}
    assert files == {"src/app.py": "modified", "src/extra.py": "added"}
    shown = "".join(f["patch"] for f in change["files"])
    assert shown == render_diff(run_change(run)[2])  # the same text `agentlog diff` prints


def test_a_run_without_a_workspace_has_no_base_change(tmp_path: Path) -> None:
    Supervisor(FAST, model=scripted()).run("task", tmp_path / "run")
    assert run_overview(tmp_path / "run")["base_change"] is None


def test_a_change_set_with_an_unsafe_path_is_reported_not_a_crash(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    Supervisor(FAST, model=workspace_model()).run("say hi", run, workspace=repo)
    log = run / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    for i, line in enumerate(lines):
        ev = decode_line(line)
        if isinstance(ev, CodeProduced) and ev.change is not None:
            hostile = msgspec.structs.replace(ev.change.changes[0], path="../outside.py")
            change = msgspec.structs.replace(ev.change, changes=(hostile, *ev.change.changes[1:]))
            lines[i] = encode_line(msgspec.structs.replace(ev, change=change))
    log.write_bytes(b"".join(lines))  # a log someone else made: sealed, but hostile
    change = run_overview(run)["base_change"]
    assert change["files"] == [] and "../outside.py" in change["error"]


def test_a_workspace_runs_rounds_show_what_each_change_set_changed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    Supervisor(FAST, model=workspace_model()).run("say hi", run, workspace=repo)
    (first,) = run_overview(run)["rounds"]["items"]
    changed = {f["path"]: f["status"] for f in first["files"]}
    assert changed == {"src/app.py": "modified", "src/extra.py": "added"}
    assert first["against"] == "the tree before this change"


def test_a_workspace_runs_overview_names_its_workspace_commit_and_test_command(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    config = msgspec.structs.replace(FAST, test_cmd="true")
    Supervisor(config, model=workspace_model()).run("say hi", run, workspace=repo)
    state = run_overview(run)["state"]
    assert state["workspace"]["root"] == str(repo.resolve())
    assert len(state["workspace"]["commit"]) == 40
    assert state["test_command"] == "true"


def test_the_overview_offers_every_event_type_to_filter_by(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE, tmp_path / "run")
    offered = set(run_overview(tmp_path / "run")["event_types"])
    assert {"ApprovalRequested", "ContextPacked", "FilesRequested", "RetryRequested"} <= offered
    assert offered == set(EVENT_TYPES)
