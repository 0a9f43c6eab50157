"""The request, recorded: every model call's request kept in ``objects/`` under its digest,
shown by ``agentlog show --request``, checked by ``verify`` and diffed by a replay."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from _cli import cli
from _repo import workspace_model, write
from _workflow import FAST, KEY, PLAN, answer, of_type, scripted
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import Supervisor, fork, replay
from actors.cli.read_cmds import NOT_RECORDED
from actors.models import (
    MAX_DIFF_LINES,
    ModelRequest,
    request_difference,
    request_digest,
)
from actors.viewer.exchange import model_exchange
from events import Event, ModelCalled, UnknownEvent, WorkflowStarted, decode_line, encode_line
from store import EventLog, ObjectStore, check_objects, object_refs
from store.run_pack import PACK_NAME, scan_pack

ROOT = Path(__file__).resolve().parents[1]
OLD_RUNS = [ROOT / "tests" / "fixtures" / "v1-demo", ROOT / "examples" / "sample-run"]
TASK = "add a greeting module"
INVALID = {"content": [{"type": "text", "text": "no tool call"}]}


def calls(run_dir: Path) -> list[ModelCalled]:
    """The run's model calls."""
    return of_type(run_dir, ModelCalled)


def request_files(run_dir: Path) -> list[Path]:
    """The loose object files that hold requests (a run without a workspace has no other)."""
    return [p for p in (run_dir / "objects").glob("*/*") if not p.name.startswith(".")]


def stored(run_dir: Path) -> list[str]:
    """Every object the run stores, wherever it is (a run without a workspace: requests)."""
    return ObjectStore(run_dir).names()


def cut_record(run_dir: Path, digest: str, edit: Callable[[bytes], bytes]) -> None:
    """Replace the bytes of the run pack's record ``digest`` by ``edit`` of them (the
    pack's other bytes kept, so ``edit`` must keep the size for later records to stay)."""
    pack = run_dir / "objects" / PACK_NAME
    with pack.open("rb") as f:
        records = scan_pack(f.fileno()).records
    offset, size = records[digest]
    data = pack.read_bytes()
    pack.write_bytes(data[:offset] + edit(data[offset : offset + size]) + data[offset + size :])


def rewrite(run_dir: Path, edit: Callable[[Event | UnknownEvent], Event | None]) -> None:
    """Re-seal every line ``edit`` changes."""
    path = run_dir / "events.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    for i, line in enumerate(lines):
        changed = edit(decode_line(line))
        if changed is not None:
            lines[i] = encode_line(changed)
    path.write_bytes(b"".join(lines))


@pytest.fixture
def recorded(run_dir: Path) -> Path:
    """A happy run: plan, code, review, each call's request kept."""
    assert Supervisor(FAST, model=scripted()).run(TASK, run_dir).ok
    return run_dir


def test_each_call_keeps_its_request_under_the_digest_it_records(recorded: Path) -> None:
    store = ObjectStore(recorded)
    made = calls(recorded)
    assert [c.step for c in made] == ["plan", "code", "review"]
    for call in made:
        request = msgspec.json.decode(store.get(call.request_digest), type=ModelRequest)
        assert request_digest(request) == call.request_digest
        assert request.step == call.step and request.tool_name == f"submit_{call.step}"
    started = of_type(recorded, WorkflowStarted)[0]
    assert started.records_requests


def test_an_identical_request_asked_again_costs_no_new_object(run_dir: Path) -> None:
    # The first plan answer is invalid: the retry asks the byte-identical question.
    model = scripted(plan=[INVALID, answer(PLAN)])
    assert Supervisor(FAST, model=model).run(TASK, run_dir).ok
    plan_calls = [c for c in calls(run_dir) if c.step == "plan"]
    assert len(plan_calls) == 2
    assert plan_calls[0].request_digest == plan_calls[1].request_digest
    assert len(stored(run_dir)) == len({c.request_digest for c in calls(run_dir)}) == 3
    assert not request_files(run_dir)  # all three in the run pack, appended once each


def test_no_secret_reaches_a_recorded_request(
    tmp_path: Path, run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    repo = tmp_path / "repo"
    write(repo, {"src/app.py": 'def greet(name):\n    return "hello " + name\n'})
    write(repo, {"settings.py": f"API_KEY = {KEY!r}\n"})  # the model reads this file
    task = f"greet with hi; the key is {KEY}"
    assert Supervisor(FAST, model=workspace_model()).run(task, run_dir, workspace=repo).ok
    store = ObjectStore(run_dir)
    for call in calls(run_dir):
        text = store.get(call.request_digest).decode()
        assert "settings.py" in text or call.step != "plan"  # the file was packed in
        assert KEY not in text
        assert "[redacted]" in text


def test_show_request_prints_the_recorded_request_readably(recorded: Path) -> None:
    plan_call = calls(recorded)[0]
    done = cli("show", recorded, str(plan_call.seq), "--request")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert (
        lines[0] == f"request of seq {plan_call.seq}: step plan, model scripted, max_tokens 32000"
    )
    assert lines[1] == f"digest: {plan_call.request_digest}"
    assert lines[2].startswith("tool: submit_plan: ")
    assert lines[3] == "  input schema: properties risks, steps, summary (--json shows the schema)"
    system = lines.index(next(line for line in lines if line.startswith("── system ")))
    user = lines.index(next(line for line in lines if line.startswith("── user ")))
    assert system < user
    assert "Guidelines:" in lines[system:user]  # the prompt's own lines, not one escaped string
    assert TASK in lines[user:]
    assert "\\n" not in done.stdout


def test_show_request_json_is_one_line_with_the_digest(recorded: Path) -> None:
    plan_call = calls(recorded)[0]
    done = cli("show", recorded, str(plan_call.seq), "--request", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    data = json.loads(done.stdout)
    assert data["recorded"] is True
    assert data["request_digest"] == plan_call.request_digest
    assert data["request"]["tool_name"] == "submit_plan"


def test_show_request_refuses_an_event_that_is_no_model_call(recorded: Path) -> None:
    done = cli("show", recorded, "1", "--request")
    assert done.returncode == 2
    assert "seq 1 is a WorkflowStarted, not a ModelCalled" in done.stderr


@pytest.mark.parametrize("old", OLD_RUNS, ids=lambda p: p.name)
def test_a_log_from_before_recording_says_its_requests_were_not_recorded(old: Path) -> None:
    seq = str(calls(old)[0].seq)
    done = cli("show", old, seq, "--request")
    assert (done.returncode, done.stdout) == (0, NOT_RECORDED + "\n")
    data = json.loads(cli("show", old, seq, "--request", "--json").stdout)
    assert data["recorded"] is False and "request" not in data


@pytest.mark.parametrize("old", OLD_RUNS, ids=lambda p: p.name)
def test_verify_does_not_ask_an_old_log_for_requests(old: Path) -> None:
    assert not any(ev.records_requests for ev in of_type(old, WorkflowStarted))
    assert check_objects(old, EventLog(old).read()) == []


def test_verify_names_a_missing_request_object(recorded: Path) -> None:
    code_call = calls(recorded)[1]
    pack = recorded / "objects" / PACK_NAME
    where = ObjectStore(recorded).location(code_call.request_digest)
    assert where.startswith(f"{pack} (object {code_call.request_digest[:12]} at offset ")
    with pack.open("rb") as f:
        offset, size = scan_pack(f.fileno()).records[code_call.request_digest]
    with pack.open("r+b") as f:  # the pack cut before the code request's record
        f.truncate(offset - len(f"{code_call.request_digest} {size}\n"))
    done = cli("verify", recorded)
    assert done.returncode == 1  # a pack cut short is what a power cut leaves: the tail
    assert f":{code_call.seq}: line {code_call.seq} names request of code call" in done.stdout
    shown = cli("show", recorded, str(code_call.seq), "--request")
    assert shown.returncode == 1 and "missing" in shown.stderr


def test_a_digest_that_names_no_object_is_reported_not_followed(recorded: Path) -> None:
    def edit(ev: Event | UnknownEvent) -> Event | None:
        if isinstance(ev, ModelCalled) and ev.step == "plan":
            return msgspec.structs.replace(ev, request_digest="../../etc/passwd")
        return None

    rewrite(recorded, edit)
    done = cli("show", recorded, str(calls(recorded)[0].seq), "--request")
    assert done.returncode == 1
    assert "not an object name" in done.stderr and "Traceback" not in done.stderr
    checked = cli("verify", recorded)
    assert checked.returncode == 1
    assert "not an object name" in checked.stderr and "Traceback" not in checked.stderr


def test_a_packed_request_is_read_like_a_loose_one(recorded: Path) -> None:
    blobs = [ObjectStore(recorded).get(digest) for digest in stored(recorded)]
    (recorded / "objects" / PACK_NAME).unlink()
    assert all(new for _, new in ObjectStore(recorded).put_many(blobs))  # one pack
    assert {p.parent.name for p in request_files(recorded)} == {"packs"}
    plan_call = calls(recorded)[0]
    exchange = model_exchange(recorded, plan_call, [])
    assert exchange["request"]["recorded"] is True
    assert exchange["request"]["body"]["tool_name"] == "submit_plan"
    done = cli("show", recorded, str(plan_call.seq), "--request", "--json")
    assert json.loads(done.stdout)["request"]["tool_name"] == "submit_plan"


def test_a_fork_keeps_the_requests_it_shares_and_those_it_makes(
    recorded: Path, tmp_path: Path
) -> None:
    plan_seq = calls(recorded)[0].seq
    forked = tmp_path / "fork"
    assert fork(recorded, at=plan_seq + 1, new_run_dir=forked, model=scripted()).ok
    assert [c.step for c in calls(forked)] == ["plan", "code", "review"]
    assert check_objects(forked, EventLog(forked).read()) == []
    assert len(list(object_refs(EventLog(forked).read()))) == 3
    for call in calls(forked):
        done = cli("show", forked, str(call.seq), "--request", "--json")
        assert json.loads(done.stdout)["request"]["step"] == call.step


def test_the_viewer_says_a_changed_request_is_damaged(recorded: Path) -> None:
    plan_call = calls(recorded)[0]
    cut_record(recorded, plan_call.request_digest, lambda data: data.replace(b"plan", b"PLAN"))
    request = model_exchange(recorded, plan_call, [])["request"]
    assert request["recorded"] is False
    assert request["problem"] == "changed: its bytes no longer match its name"


def test_replay_writes_no_request_into_the_recorded_run(recorded: Path) -> None:
    before = (recorded / "objects" / PACK_NAME).read_bytes()
    assert replay(recorded).ok
    assert (recorded / "objects" / PACK_NAME).read_bytes() == before
    assert sorted(p.name for p in (recorded / "objects").iterdir()) == [PACK_NAME]


def test_a_replay_nondeterminism_shows_what_differs_in_the_request(recorded: Path) -> None:
    def edit(ev: Event | UnknownEvent) -> Event | None:
        if isinstance(ev, WorkflowStarted):
            return msgspec.structs.replace(ev, task="add a farewell module")
        return None

    rewrite(recorded, edit)
    report = replay(recorded)
    assert not report.ok and report.step == "plan"
    diff = report.request_diff.splitlines()
    assert diff[0] == "fields that differ: messages"
    assert "--- recorded messages[0]" in diff
    assert any(line.startswith("-") and TASK in line for line in diff)
    assert any(line.startswith("+") and "add a farewell module" in line for line in diff)
    done = cli("replay", recorded)
    assert done.returncode == 1
    assert "  fields that differ: messages" in done.stdout.splitlines()


def test_a_request_difference_is_capped() -> None:
    old: dict[str, Any] = {"system": "\n".join(f"rule {i}" for i in range(200)), "messages": []}
    new = {"system": "\n".join(f"rule {i}!" for i in range(200)), "messages": []}
    lines = request_difference(old, new).splitlines()
    assert len(lines) == MAX_DIFF_LINES + 1
    assert lines[0] == "fields that differ: system"
    assert lines[-1].startswith("... (") and lines[-1].endswith("more lines)")


def test_a_request_difference_names_only_the_fields_that_differ() -> None:
    old = {"model": "a", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    new = {"model": "b", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    lines = request_difference(old, new).splitlines()
    assert lines[0] == "fields that differ: model"
    assert "-a" in lines and "+b" in lines


def test_a_secret_of_this_machine_in_a_recorded_request_is_masked_in_the_difference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "this-machine-only-secret-value-0123456789"
    monkeypatch.setenv("AGENTLOG_TEST_SECRET_TOKEN", secret)
    old = {"system": f"use {secret} to sign", "messages": []}
    new = {"system": "sign nothing", "messages": []}
    difference = request_difference(old, new)
    assert "-use [redacted] to sign" in difference.splitlines()
    assert secret not in difference


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_REQUESTS = st.dictionaries(
    st.sampled_from(["system", "messages", "model", "max_tokens", "input_schema"]), _JSON
)


@settings(max_examples=60, deadline=None)
@given(_REQUESTS, _REQUESTS)
def test_any_request_difference_stays_within_its_cap(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    lines = request_difference(old, new, limit=12).splitlines()
    assert 1 <= len(lines) <= 13
    if old == new:
        assert lines == ["the requests are identical"]
    else:
        assert lines[0].startswith("fields that differ: ")
