"""The viewer's transcript of an agent loop, and the fork command of every event."""

from __future__ import annotations

import json
import shlex
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the viewer needs its extra: pip install -e '.[ui]'")

from _events import called, stamp, started
from _loop_run import make_loop_run
from _runs import write_run
from _viewer import make_runs

from actors.viewer.overview import run_overview
from actors.viewer.serve import RunningViewer
from events import FileEdit, StepStarted, ToolCalled, ToolResulted


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("viewer-loop")
    runs = make_runs(base / "runs")
    make_loop_run(runs / "loop", base / "workspace")
    return runs


@pytest.fixture(scope="module")
def loop(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = run_overview(root / "loop")["loop"]
    return data


def coder_calls(loop: dict[str, Any]) -> list[dict[str, Any]]:
    return [call for turn in loop["items"] if turn["step"] == "code" for call in turn["calls"]]


def test_the_transcript_has_each_loop_turn_with_its_model_call(loop: dict[str, Any]) -> None:
    coder = [t for t in loop["items"] if t["step"] == "code"]
    assert [t["turn"] for t in coder] == [1, 2, 3, 4, 5, 6]
    assert all(isinstance(t["seq"], int) and t["model"] == "scripted-demo" for t in coder)
    assert [c["name"] for c in coder_calls(loop)] == [
        "read_file", "edit_file", "run_command", "edit_file", "run_command", "submit"
    ]  # fmt: skip


def test_a_turn_shows_the_first_line_of_its_thinking(loop: dict[str, Any]) -> None:
    first = next(t for t in loop["items"] if t["step"] == "code")
    assert first["thinking"] == "Where is top_words defined?"


def test_a_test_command_shows_its_exit_and_test_summary(loop: dict[str, Any]) -> None:
    runs = [c for c in coder_calls(loop) if c["name"] == "run_command"]
    assert [c["gist"] for c in runs] == ["python3 -m unittest -q"] * 2
    assert [c["result"]["exit_code"] for c in runs] == [1, 0]
    assert [c["result"]["outcome"] for c in runs] == ["1 failed, 2 passed", "3 passed"]
    assert runs[0]["result"]["summary"].endswith("→ exit 1, 1 failed, 2 passed")


def test_an_edit_shows_the_working_copy_diff_of_that_call_alone(loop: dict[str, Any]) -> None:
    first, second = (c for c in coder_calls(loop) if c["name"] == "edit_file")
    assert [d["path"] for d in first["diff"]] == ["wordfreq.py"]
    assert "-    return counts.most_common(n)\n" in first["diff"][0]["diff"]
    assert "+    ranked = sorted(" in first["diff"][0]["diff"]
    diff = second["diff"][0]["diff"]  # against the copy the first edit left
    assert "-    counts = Counter(_WORD.findall(text))\n" in diff
    assert "+    counts = Counter(_WORD.findall(text.lower()))\n" in diff
    changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
    assert not any("ranked" in line for line in changed)  # the first edit is context now
    assert "\n     ranked = sorted(" in diff
    assert (first["diff"][0]["added"], second["diff"][0]["added"]) == (2, 1)


def test_a_call_that_changed_nothing_has_no_diff(loop: dict[str, Any]) -> None:
    reads = [c for c in coder_calls(loop) if c["name"] in ("read_file", "run_command")]
    assert reads and all(c["diff"] == [] for c in reads)


def test_a_run_without_a_loop_has_an_empty_transcript(root: Path) -> None:
    assert run_overview(root / "demo")["loop"] == {"items": [], "total": 0, "problem": None}


def test_every_event_names_the_fork_command_that_starts_from_it(
    root: Path, viewer: RunningViewer
) -> None:
    with urllib.request.urlopen(viewer.url + "/api/runs/loop/events/7", timeout=10) as answer:
        command = json.loads(answer.read())["fork_command"]
    run = str(root / "loop")
    assert shlex.split(command) == [
        "agentlog",
        "fork",
        run,
        "--at",
        "7",
        "--run-dir",
        run + "-fork-7",
    ]


def test_a_budget_stop_is_noted_on_the_turn_it_followed(tmp_path: Path) -> None:
    run = make_loop_run(tmp_path / "run", tmp_path / "ws", max_turns=3, max_retries=0)
    turns = [t for t in run_overview(run)["loop"]["items"] if t["step"] == "code"]
    assert [t["turn"] for t in turns] == [1, 2, 3]
    assert [n["text"] for n in turns[-1]["notes"]] == ["code#1 turns budget reached: 3 of 3"]


def test_an_elision_is_noted_on_the_turn_it_made_room_for(tmp_path: Path) -> None:
    run = make_loop_run(tmp_path / "run", tmp_path / "ws", loop_context_tokens=600)
    turns = [t for t in run_overview(run)["loop"]["items"] if t["step"] == "code"]
    noted = [(t["turn"], n["text"]) for t in turns for n in t["notes"]]
    assert noted and all(f" t{turn} " in text and "elided" in text for turn, text in noted)


def test_an_edit_outside_the_working_copy_is_said_and_the_page_still_built(
    tmp_path: Path,
) -> None:
    events = stamp(
        [
            started(),
            StepStarted(step="code", attempt=1),
            called("code"),
            ToolCalled(turn=1, call_id="tu_1", name="edit_file", input={"path": "../x"}),
            ToolResulted(
                turn=1,
                call_id="tu_1",
                name="edit_file",
                edits=(FileEdit(path="../x", hash="0" * 64),),
            ),
        ]
    )
    loop = run_overview(write_run(tmp_path / "run", events))["loop"]
    assert loop["problem"] is not None and loop["problem"].startswith("seq 5: ")
    assert [c["name"] for c in loop["items"][0]["calls"]] == ["edit_file"]
    assert loop["items"][0]["calls"][0]["diff"] == []


def test_an_edit_whose_bytes_are_gone_says_so_instead_of_a_diff(tmp_path: Path) -> None:
    run = make_loop_run(tmp_path / "run", tmp_path / "ws")
    shutil.rmtree(run / "objects")
    loop = run_overview(run)["loop"]
    edits = [c for c in coder_calls(loop) if c["name"] == "edit_file"]
    assert edits and all(c["diff"] == [] for c in edits)
    assert all(c["diff_problem"].startswith("missing: ") for c in edits)
