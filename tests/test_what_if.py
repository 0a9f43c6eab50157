"""What-if (counterfactual) replay: ``agentlog replay RUN --as NEW`` with a changed prompt,
model or setting serves the recorded answers while each request is the recorded one, and
goes live (or, ``--offline``, stops) at the first request that differs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec
import pytest
from _cli import cli, write_script
from _workflow import APPROVE, CHANGES, FAST, KEY, answer, of_type, scripted
from fake_anthropic import FakeAnthropic

from actors import Supervisor, replay, what_if
from actors.models import AnthropicModel
from events import ApprovalDecided, Diverged, Forked, ModelCalled
from store import EventLog, workflow_state

STRICT = "You are a strict reviewer. Request changes unless the code has docstrings.\n"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recorded run (plan, code, an approving review); tests only read it."""
    run = tmp_path_factory.mktemp("source") / "run"
    Supervisor(FAST, model=scripted()).run("write hello(name)", run)
    return run


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC", "AGENTLOG"))}
    return env


def test_a_what_if_of_the_reviewers_prompt_asks_only_the_reviewer_live(
    source: Path, tmp_path: Path
) -> None:
    live = scripted(review=[answer(CHANGES)])
    done = what_if(source, tmp_path / "new", prompts={"reviewer": STRICT}, live=live)
    assert [call.step for call in live.calls] == ["review"]
    assert live.calls[0].system == STRICT
    assert (done.served, done.live_calls) == (2, 1)  # the plan and the code were served
    assert done.result.review is not None and done.result.review.verdict == "request_changes"


def test_a_what_ifs_log_names_its_source_and_where_it_diverged(
    source: Path, tmp_path: Path
) -> None:
    what_if(source, tmp_path / "new", prompts={"reviewer": STRICT}, live=scripted())
    (marker,) = of_type(tmp_path / "new", Forked)
    assert marker.what_if and marker.source == str(source.resolve())
    assert marker.config is not None and marker.config.prompts == {"reviewer": STRICT}
    (diverged,) = of_type(tmp_path / "new", Diverged)
    recorded_review = [ev for ev in of_type(source, ModelCalled) if ev.step == "review"]
    assert diverged.step == "review" and diverged.source_seq == recorded_review[0].seq
    assert "system" in diverged.difference


def test_a_what_if_that_changes_nothing_serves_every_answer(source: Path, tmp_path: Path) -> None:
    live = scripted()
    done = what_if(source, tmp_path / "new", live=live)
    assert live.calls == () and done.diverged is None and done.served == 3
    assert done.result.status == "completed"


def test_a_what_if_replays_itself(source: Path, tmp_path: Path) -> None:
    live = scripted(review=[answer(CHANGES), answer(APPROVE)])
    settings = {"max_revisions": "1"}
    what_if(source, tmp_path / "new", prompts={"reviewer": STRICT}, settings=settings, live=live)
    assert workflow_state(EventLog(tmp_path / "new").read()).config.max_revisions == 1
    report = replay(tmp_path / "new")
    assert report.ok, report.verdict


def test_offline_stops_at_the_first_changed_request_and_prints_the_difference(
    source: Path, tmp_path: Path
) -> None:
    prompt = tmp_path / "strict.txt"
    prompt.write_text(STRICT)
    new = tmp_path / "new"
    done = cli("replay", source, "--as", new, "--prompt", f"reviewer={prompt}", "--offline")
    assert done.returncode == 1, done.stderr
    assert "diverged at source seq" in done.stdout and "system" in done.stdout
    state = workflow_state(EventLog(new).read())
    assert state.status == "running" and not state.ended  # stopped, resumable
    assert of_type(new, Diverged)


def test_ls_shows_a_what_if_as_one_of_its_source(source: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "script.json")
    runs = tmp_path / "runs"
    done = cli(
        "replay", source, "--as", runs / "new", "--set", "max_revisions=2", "--script", script
    )
    assert done.returncode == 0, done.stderr
    listed = cli("ls", runs)
    assert f"what-if {source.name}" in listed.stdout, listed.stdout


def test_an_unknown_setting_is_refused_in_one_line(source: Path, tmp_path: Path) -> None:
    done = cli("replay", source, "--as", tmp_path / "new", "--set", "max_revisons=1", "--offline")
    assert done.returncode == 2
    assert "--set max_revisons: no such workflow setting" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "new").exists()


def test_what_if_options_without_as_are_refused(source: Path) -> None:
    done = cli("replay", source, "--offline")
    assert done.returncode == 2 and "needs --as NEW_DIR" in done.stderr


def test_the_anthropic_client_answers_the_live_calls(source: Path, tmp_path: Path) -> None:
    with FakeAnthropic() as server:
        server.reply_tool_use(APPROVE)
        claude = AnthropicModel("claude-sonnet-5-5", api_key=KEY, base_url=server.url)
        done = what_if(source, tmp_path / "new", prompts={"reviewer": STRICT}, live=claude)
        bodies = [r.body for r in server.requests]
    assert len(bodies) == 1 and json.dumps(bodies[0]["system"]).find("strict reviewer") >= 0
    assert done.result.status == "completed" and done.live_calls == 1


def test_an_offline_what_if_is_resumed_live_from_where_it_stopped(
    source: Path, tmp_path: Path
) -> None:
    done = what_if(source, tmp_path / "new", prompts={"reviewer": STRICT}, offline=True)
    assert done.stopped and done.result.status == "running"
    live = scripted(review=[answer(CHANGES)])
    resumed = Supervisor.resume(tmp_path / "new", model=live)
    assert [call.step for call in live.calls] == ["review"]
    assert resumed.status == "completed" and resumed.verdict == "request_changes"


def test_the_timeline_says_where_a_what_if_left_the_recording(source: Path, tmp_path: Path) -> None:
    what_if(source, tmp_path / "new", prompts={"reviewer": STRICT}, offline=True)
    shown = cli("log", tmp_path / "new", env=_env())
    assert "what-if of" in shown.stdout
    assert "review: left the recording at source seq" in shown.stdout, shown.stdout


def test_a_what_if_is_served_a_persons_recorded_decision(tmp_path: Path) -> None:
    gated = msgspec.structs.replace(FAST, approve=("plan",))
    source = tmp_path / "gated"
    assert Supervisor(gated, model=scripted()).run("write hello(name)", source).waiting
    Supervisor.approve(source, by="ann", model=scripted())
    live = scripted(review=[answer(CHANGES)])
    done = what_if(source, tmp_path / "new", prompts={"reviewer": STRICT}, live=live)
    assert done.result.status == "completed" and [c.step for c in live.calls] == ["review"]
    (decided,) = of_type(tmp_path / "new", ApprovalDecided)
    assert decided.by == "ann"
