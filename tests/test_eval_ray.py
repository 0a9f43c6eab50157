"""``agentlog eval --engine ray``: the runs are Ray tasks, their checks run on the driver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray tests need the ray extra: pip install -e '.[ray]'")

from _workflow import APPROVE, CODE, PLAN  # noqa: E402

from actors.batch import ModelSpec  # noqa: E402
from actors.eval import Evaluation  # noqa: E402
from events import CheckRan  # noqa: E402
from store import EventLog  # noqa: E402

PASSING = "python -c \"from hello import hello; assert hello('x') == 'hello x'\""


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    # "local": a Ray of its own, never a cluster someone else started on this machine.
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_an_evaluation_on_ray_checks_every_sample_once(local_ray: None, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    answers = {"plan": [{"tool_input": PLAN}], "code": [{"tool_input": CODE}]}
    script.write_text(json.dumps({**answers, "review": [{"tool_input": APPROVE}]}), "utf-8")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "t", "task": "greet", "check": PASSING}) + "\n")
    model = ModelSpec(script=str(script))
    outcomes = Evaluation(tasks, tmp_path / "runs", samples=2, engine="ray", model=model).run()
    assert sorted((o.id, o.check_action, o.passed) for o in outcomes) == [
        ("t#1", "checked", True),
        ("t#2", "checked", True),
    ]
    again = Evaluation(tasks, tmp_path / "runs", samples=2, engine="ray", model=model).run()
    assert {o.check_action for o in again} == {"skipped"}
    for run in ("t#1", "t#2"):
        checks = [ev for ev in EventLog(tmp_path / "runs" / run).read() if type(ev) is CheckRan]
        assert len(checks) == 1
