"""A replayed request that is, byte for byte, the recorded one is not scrubbed again (its
recorded digest names bytes scrubbed before they were digested), with the same outcome
as scrubbing it; a held scratch log names its events without a system call each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _replay_scratch import replay_into
from _workflow import CHANGES, FAST, KEY, PLAN, answer, scripted

from actors import Supervisor, replay
from actors.models import ModelRequest, ModelResponse, ReplayModel
from events import ModelCalled, StepStarted
from store import LOG_NAME, EventLog
from store.cursor import EventCursor

#: A value that is no token, made a secret by the environment only at replay time.
LATE_SECRET = "Zq9xk2PLmw8Rt4vB"


#: A request no recorded answer was given to.
OTHER = ModelRequest(
    step="review",
    model="m",
    system="",
    messages=(),
    tool_name="t",
    tool_description="",
    input_schema={},
    max_tokens=1,
)


class _Plain:
    """A model serving what a :class:`ReplayModel` serves, as a model that is not one: an
    attempt with it scrubs every request, as every attempt did before."""

    def __init__(self, inner: ReplayModel) -> None:
        self.inner = inner
        self.name = inner.name

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        return self.inner.call(request, timeout=timeout)


def _record(run: Path, task: str) -> None:
    deploy = {"title": "Deploy", "description": f"use {KEY}", "files": []}
    plan = {**PLAN, "steps": [deploy, *PLAN["steps"]]}
    model = scripted(plan=[answer(plan)], review=[answer(CHANGES)] * 2)
    Supervisor(FAST, model=model).run(task, run)


def _scratch_lines(run: Path, scratch: Path, *, plain: bool) -> list[bytes]:
    """The scratch log a replay of ``run`` writes, its ids, times and seals cut out."""
    error, _ = replay_into(run, scratch, serve=_Plain if plain else lambda model: model)
    assert error is None
    cut = re.compile(rb'"(?:id|ts|crc)":"[^"]*"')
    return [cut.sub(b"", line) for line in (scratch / LOG_NAME).read_bytes().splitlines()]


def test_a_replay_that_skips_the_second_scrub_writes_the_same_scratch_log(
    tmp_path: Path,
) -> None:
    _record(tmp_path / "run", f"deploy with {KEY}, then say hello")
    fast = _scratch_lines(tmp_path / "run", tmp_path / "fast", plain=False)
    scrubbed = _scratch_lines(tmp_path / "run", tmp_path / "scrubbed", plain=True)
    assert len(fast) > 10
    assert fast == scrubbed
    assert KEY.encode() not in b"".join(fast)


def test_a_secret_of_the_replaying_environment_in_a_recorded_request_is_still_a_divergence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(tmp_path / "run", f"say hello to {LATE_SECRET}")
    first_call = next(ev for ev in EventLog(tmp_path / "run").read() if isinstance(ev, ModelCalled))
    monkeypatch.setenv("ROBOT_API_KEY", LATE_SECRET)
    report = replay(tmp_path / "run")
    assert not report.ok
    assert report.seq == first_call.seq
    assert "request digest differs" in report.detail


def test_a_replay_model_names_the_digest_its_next_answer_was_recorded_for(
    tmp_path: Path,
) -> None:
    _record(tmp_path / "run", "say hello")
    log = EventLog(tmp_path / "run")
    calls = [ev for ev in log.read() if isinstance(ev, ModelCalled) and ev.step == "review"]
    with EventCursor(log) as cursor:
        model = ReplayModel(cursor=cursor)
        for ev in log.read():
            model.add(ev)
        named = []
        while (digest := model.next_digest("review")) is not None:
            named.append(digest)
            with pytest.raises(Exception, match="request digest differs"):
                model.call(OTHER, timeout=1)
    assert named == [ev.request_digest for ev in calls]
    assert named


def test_a_held_log_gives_each_event_its_own_random_id(tmp_path: Path) -> None:
    ids: list[str] = []
    for name in ("a", "b"):
        with EventLog(tmp_path / name).writer() as writer:
            writer.hold()
            steps = [StepStarted(step="plan", attempt=i, round=0) for i in range(1, 40)]
            for n in range(0, 39, 13):
                writer.append_many(steps[n : n + 13], sync=False)
        ids += [ev.id for ev in EventLog(tmp_path / name).read()]
    assert len(ids) == 78 == len(set(ids))
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
