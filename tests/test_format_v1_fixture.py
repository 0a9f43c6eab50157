"""The log format of agentlog 0.1 (whole-file ``CodeProduced``) keeps working, forever.

``tests/fixtures/v1-demo/`` is a complete ``agentlog demo`` run recorded before workspaces
existed: its ``events.jsonl`` and the projections that version wrote. The fixture is never
changed; every later format must decode it, project it byte for byte and replay it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from actors import replay
from events import CodeProduced, UnknownEvent
from store import EventLog, materialize, workflow_state

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "v1-demo"
ARTIFACTS = ("plan.json", "code.json", "review.json")


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_every_line_of_the_old_log_decodes_to_a_known_event() -> None:
    log = EventLog(FIXTURE)
    events = list(log.read())
    assert log.verify().ok
    assert len(events) == 21
    assert not [ev for ev in events if isinstance(ev, UnknownEvent)]
    assert [len(ev.code.files) for ev in events if isinstance(ev, CodeProduced)] == [2, 2]


def test_the_old_log_folds_to_a_completed_approved_run() -> None:
    state = workflow_state(EventLog(FIXTURE).read())
    assert (state.status, state.verdict, state.round) == ("completed", "approve", 1)


def test_the_old_log_projects_byte_identically(tmp_path: Path) -> None:
    shutil.copy(FIXTURE / "events.jsonl", tmp_path / "events.jsonl")
    materialize(tmp_path, EventLog(tmp_path).read())
    for name in ARTIFACTS:
        assert (tmp_path / name).read_bytes() == (FIXTURE / name).read_bytes(), name
    assert _tree(tmp_path / "files") == _tree(FIXTURE / "files")


def test_the_old_log_replays_with_identical_events(tmp_path: Path) -> None:
    run = tmp_path / "old"
    run.mkdir()
    shutil.copy(FIXTURE / "events.jsonl", run / "events.jsonl")
    report = replay(run)
    assert report.ok, report.verdict
    assert report.replayed == 21
