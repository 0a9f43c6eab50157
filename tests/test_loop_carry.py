"""A loop's pieces carry the conversation forward instead of walking it all again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _repo import APP, PLAN_APP, make_repo, needs_git
from _workflow import kinds, of_type

from actors import Supervisor, WorkflowConfig
from actors.models import ScriptedModel, request_digest
from actors.replaying import replay
from events import CodeProduced, ModelCalled

pytestmark = needs_git
TURNS = 24
APPROVE = {"verdict": "approve", "summary": "Fine."}
CONFIG = WorkflowConfig(agent_loop=True, backoff_base=0, max_retries=0, max_turns=TURNS + 1)


def script() -> dict[str, Any]:
    """Plan; the Coder reads and edits in turn for TURNS turns, then submits; approve."""
    code: list[dict[str, Any]] = []
    for k in range(TURNS - 1):
        if k % 2 == 0:
            call = {"name": "read_file", "input": {"path": "src/app.py"}}
        else:
            edit = {"old_text": f"# {k}\n", "new_text": f"# {k} done\n", "path": "notes.py"}
            call = {"name": "edit_file", "input": edit}
        code.append({"tool_calls": [call]})
    code.append({"tool_calls": [{"name": "submit", "input": {"summary": "done"}}]})
    return {
        "plan": [{"tool_calls": [{"name": "submit", "input": PLAN_APP}]}],
        "code": code,
        "review": [{"tool_calls": [{"name": "submit", "input": APPROVE}]}],
    }


def run_loop(tmp_path: Path) -> Path:
    notes = "".join(f"# {k}\n" for k in range(TURNS))
    repo = make_repo(tmp_path / "repo", {"src/app.py": APP, "notes.py": notes})
    run = tmp_path / "run"
    Supervisor(CONFIG, model=ScriptedModel(script())).run("mark them", run, workspace=repo)
    return run


def test_each_turn_of_a_long_loop_is_digested_a_bounded_number_of_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digested: list[str] = []

    def counted(request: Any) -> str:
        digested.append(request_digest(request))
        return digested[-1]

    monkeypatch.setattr("actors.attempt.request_digest", counted)
    run = run_loop(tmp_path)
    assert kinds(run)[-1] == "WorkflowCompleted"
    turns = len(of_type(run, ModelCalled))
    assert turns == TURNS + 2
    # Each piece walks on from the last whole turn it carried: a few digests a turn, not
    # one for every turn recorded before it (TURNS * TURNS / 2 and more).
    assert len(digested) <= 3 * turns


def test_a_carried_loop_records_what_a_walk_from_the_start_records(tmp_path: Path) -> None:
    run = run_loop(tmp_path)
    code = of_type(run, CodeProduced)[0]
    assert code.by_tools
    assert code.change is not None
    changed = {op.path: getattr(op, "content", "") for op in code.change.changes}
    assert changed["notes.py"].count("done") == (TURNS - 1) // 2
    report = replay(run)  # walks every piece again, in a fresh attempt each
    assert report.ok, report.verdict
