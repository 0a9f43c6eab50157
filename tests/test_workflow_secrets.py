"""The API key never reaches the log, the artifacts, the files or a log message."""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import msgspec
import pytest
import structlog
from _cli import cli
from _repo import APP, EDIT_APP, PLAN_APP, make_repo, needs_git
from _workflow import APPROVE, CODE, FAST, KEY, PLAN, kinds, scripted
from fake_anthropic import FakeAnthropic

from actors import Supervisor
from actors.cli import main
from actors.logs import configure_logging
from actors.models import AnthropicModel, ModelRequest, ModelResponse, ScriptedModel
from actors.models.recorded import load_request
from actors.otel.content import CAPTURE_ENV
from events import ModelCalled, StepFailed, StepStarted, WorkflowFailed, WorkflowStarted
from store import EventLog, ObjectStore

ONE_SHOT = msgspec.structs.replace(FAST, max_retries=0)


@pytest.fixture
def captured_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """structlog at debug level into a buffer; the key is in the environment too."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    buffer = io.StringIO()
    configure_logging("json", "debug", stream=buffer)
    yield buffer
    structlog.reset_defaults()


def everything_written(run_dir: Path) -> str:
    """All bytes of every file of the run (log, artifacts, files/), as text."""
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in run_dir.rglob("*") if p.is_file()
    )


def claude(server: FakeAnthropic) -> AnthropicModel:
    return AnthropicModel("claude-sonnet-5-5", api_key=KEY, base_url=server.url)


def test_key_is_absent_after_a_401_that_echoes_it(
    fake_anthropic: FakeAnthropic, run_dir: Path, captured_logs: io.StringIO
) -> None:
    fake_anthropic.reply_error(401, "authentication_error", f"invalid x-api-key {KEY}")
    Supervisor(ONE_SHOT, model=claude(fake_anthropic)).run("task", run_dir)
    assert kinds(run_dir)[-1] == "WorkflowFailed"
    assert "redacted" in (run_dir / "events.jsonl").read_text()
    assert KEY not in everything_written(run_dir)
    assert KEY not in captured_logs.getvalue()


def test_key_is_absent_after_a_successful_run(
    fake_anthropic: FakeAnthropic, run_dir: Path, captured_logs: io.StringIO
) -> None:
    for tool_input in (PLAN, CODE, APPROVE):
        fake_anthropic.reply_tool_use(tool_input)
    Supervisor(FAST, model=claude(fake_anthropic)).run("task", run_dir)
    assert kinds(run_dir)[-1] == "WorkflowCompleted"
    assert FakeAnthropic.sent_key(fake_anthropic.requests[0]) == KEY  # it was used
    assert KEY not in everything_written(run_dir)
    assert KEY not in captured_logs.getvalue()


class LeakyCrash:
    """A model with a bug whose exception message carries the key."""

    name = "leaky"

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        raise RuntimeError(f"connect failed with headers {{'x-api-key': '{KEY}'}}")


def test_key_in_a_crashing_agents_exception_is_not_recorded(
    run_dir: Path, captured_logs: io.StringIO
) -> None:
    Supervisor(ONE_SHOT, model=LeakyCrash()).run("task", run_dir)
    assert kinds(run_dir)[-1] == "WorkflowFailed"
    assert KEY not in everything_written(run_dir)
    assert KEY not in captured_logs.getvalue()


def test_key_in_a_scripted_error_message_is_not_recorded(
    run_dir: Path, captured_logs: io.StringIO
) -> None:
    model = scripted(plan=[{"error": {"kind": "auth", "message": f"bad key {KEY}"}}])
    Supervisor(ONE_SHOT, model=model).run("task", run_dir)
    assert KEY not in everything_written(run_dir)


def test_a_key_pasted_into_the_task_or_echoed_by_the_model_is_masked(
    run_dir: Path, captured_logs: io.StringIO
) -> None:
    leaky_code = {
        "files": [{"path": "config.py", "content": f"API_KEY = '{KEY}'\n"}],
        "notes": f"hard-coded {KEY} as asked",
    }
    model = scripted(code=[{"tool_input": leaky_code}])
    result = Supervisor(FAST, model=model).run(f"use the key {KEY} in config.py", run_dir)
    assert result.status == "completed"
    assert KEY not in everything_written(run_dir)
    assert "[redacted]" in (run_dir / "files" / "config.py").read_text()


# --- Issue 22.11: known token formats and encoded environment secrets, end to end ---------

AWS_KEY_ID = "AKIA" + "QWERTYUIOPASDFGH"  # a fake key id, cut in two
ENV_NAME = "PAYMENTS_SECRET"
ENV_SECRET = "pay-Secret/value+42!xyz"


def planted_forms() -> dict[str, str]:
    """Every way this test writes a secret down: the AWS key and the environment secret
    plain, JSON-escaped, in base64 and base64url at each alignment, hex and URL-encoded."""
    raw = ENV_SECRET.encode()
    forms = {"aws key": AWS_KEY_ID, "plain": ENV_SECRET, "json": json.dumps(ENV_SECRET)[1:-1]}
    for shift in range(3):
        blob = b"u:"[:shift] + raw + b"--tail"
        forms[f"base64 {shift}"] = base64.b64encode(blob).decode()
        forms[f"base64url {shift}"] = base64.urlsafe_b64encode(blob).decode()
    forms["hex"] = raw.hex()
    forms["HEX"] = raw.hex().upper()
    forms["url"] = quote(ENV_SECRET, safe="")
    return forms


def telltales() -> dict[str, str]:
    """What must appear nowhere: each planted form, and for base64 the characters that
    the secret alone decides at each alignment (found however the text around it runs)."""
    out = dict(planted_forms())
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + ENV_SECRET.encode()).decode()
        out[f"base64 core {shift}"] = encoded[3:-3]
    return out


def assert_clean(where: str, data: str) -> None:
    found = {name for name, form in telltales().items() if form in data}
    assert not found, f"{where} holds {sorted(found)}"


def leaky_script(tmp: Path) -> Path:
    forms = planted_forms()
    leak = "".join(f"{name.replace(' ', '_')} = {value!r}\n" for name, value in forms.items())
    code = {
        "changes": [
            *EDIT_APP["changes"],
            {"op": "create", "path": "src/leak.py", "content": leak},
        ],
        "notes": f"used {AWS_KEY_ID} and {forms['base64 1']} as asked",
    }
    review = {"verdict": "approve", "summary": f"fine; the key {forms['hex']} is in src/leak.py"}
    script = {
        "plan": [{"tool_input": PLAN_APP}],
        "code": [{"tool_input": code}],
        "review": [{"tool_input": review}],
    }
    path = tmp / "script.json"
    path.write_text(json.dumps(script))
    return path


def every_byte(run_dir: Path) -> str:
    """Every byte of every file under the run (log, objects and packs, projections)."""
    return "\n".join(
        p.read_bytes().decode("latin-1") for p in sorted(run_dir.rglob("*")) if p.is_file()
    )


@needs_git
def test_no_secret_in_any_encoding_leaves_a_workspace_run(tmp_path: Path) -> None:
    forms = planted_forms()
    repo = make_repo(
        tmp_path / "repo",
        {
            "src/app.py": APP,
            "src/settings.py": f"AWS_ACCESS_KEY_ID = '{AWS_KEY_ID}'\n",
            "src/auth.py": f"HEADER = 'Basic {forms['base64 2']}'\n",
            ".env": f"{ENV_NAME}={ENV_SECRET}\n",
        },
    )
    env = {**os.environ, ENV_NAME: ENV_SECRET, CAPTURE_ENV: "true"}
    env = {k: v for k, v in env.items() if not k.startswith(("ANTHROPIC_", "CONVEX_"))}
    run_dir = tmp_path / "run"
    task = f"use {ENV_SECRET} and {AWS_KEY_ID} in the app"
    ran = cli(
        *("run", task, "--workspace", repo, "--script", leaky_script(tmp_path)),
        *("--run-dir", run_dir, "--test-cmd", "cat src/leak.py"),
        env=env,
    )
    assert ran.returncode == 0, ran.stderr
    base = next(iter(EventLog(run_dir).read()))
    assert isinstance(base, WorkflowStarted) and base.workspace is not None
    reasons = {lo.path: lo.reason for lo in base.workspace.left_out}
    assert reasons == {
        ".env": "a credential file (an environment file)",
        "src/settings.py": "holds a secret (AWS access key id)",
        "src/auth.py": f"holds a secret (the value of ${ENV_NAME}, base64)",
    }
    assert "[redacted]" in (run_dir / "files" / "src" / "leak.py").read_text()
    exported = cli("export", run_dir, "--file", tmp_path / "trace.json", env=env)
    assert exported.returncode == 0, exported.stderr
    assert_clean("the run directory", every_byte(run_dir))
    assert_clean("the OTel export", (tmp_path / "trace.json").read_text())
    assert_clean("the run's output", ran.stdout + ran.stderr)
    assert cli("verify", run_dir, env=env).returncode == 0
    replayed = cli("replay", run_dir, env=env)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr


def old_leaky_log(run_dir: Path) -> str:
    """A failed run's log as an agentlog that masked neither format wrote it; the leak."""
    leak = " ".join(planted_forms().values())
    events = [
        WorkflowStarted(task=f"task {leak}"),
        StepStarted(step="plan", attempt=1),
        ModelCalled(
            step="plan",
            attempt=1,
            request_digest="0" * 64,
            model="m",
            content=({"type": "text", "text": leak},),
            stop_reason="end_turn",
        ),
        StepFailed(step="plan", attempt=1, error_kind="auth", message=leak, retryable=False),
        WorkflowFailed(step="plan", error_kind="auth", message=leak),
    ]
    with EventLog(run_dir).writer() as writer:  # no scrub, as the old writer had nothing to do
        writer.append_many(events, stamp={"workflow_id": "wf-old"})
    assert AWS_KEY_ID in (run_dir / "events.jsonl").read_text()
    return leak


def test_a_log_written_before_masking_is_served_masked_by_the_viewer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("starlette", reason="the viewer needs its extra")
    from actors.viewer.serve import start

    monkeypatch.setenv(ENV_NAME, ENV_SECRET)
    old_leaky_log(tmp_path / "runs" / "old")
    paths = ["/api/runs", "/api/runs/old/events?limit=100", "/api/runs/old/overview"]
    paths += [f"/api/runs/old/events/{seq}" for seq in range(1, 6)]
    with start(tmp_path / "runs") as viewer:
        pages = [urllib.request.urlopen(viewer.url + p, timeout=10).read().decode() for p in paths]
    assert "[redacted]" in pages[-1]
    assert_clean("the viewer", "".join(pages))


def test_a_log_written_before_masking_is_exported_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("opentelemetry.sdk", reason="the export needs the otel extra")
    monkeypatch.setenv(ENV_NAME, ENV_SECRET)
    monkeypatch.setenv(CAPTURE_ENV, "true")
    old_leaky_log(tmp_path / "old")
    trace = tmp_path / "trace.json"
    assert main(["export", str(tmp_path / "old"), "--file", str(trace)]) == 0
    assert "[redacted]" in trace.read_text()
    assert_clean("the OTel export", trace.read_text())


@needs_git
def test_an_allowed_credential_file_is_kept_but_masked_in_what_the_model_is_sent(
    tmp_path: Path,
) -> None:
    settings = f"AWS_ACCESS_KEY_ID = '{AWS_KEY_ID}'\n"
    repo = make_repo(tmp_path / "repo", {"src/app.py": APP, "src/settings.py": settings})
    plan = {
        "summary": "read the settings",
        "steps": [{"title": "t", "description": "d", "files": ["src/app.py", "src/settings.py"]}],
    }
    model = ScriptedModel(
        {
            "plan": [{"tool_input": plan}],
            "code": [{"tool_input": EDIT_APP}],
            "review": [{"tool_input": {"verdict": "approve", "summary": "Fine."}}],
        }
    )
    run_dir = tmp_path / "run"
    handle = Supervisor(FAST, model=model).start(
        "task", run_dir, workspace=repo, allow_credentials=["src/settings.py"]
    )
    assert handle.result().status == "completed"
    events = list(EventLog(run_dir).read())
    started = events[0]
    assert isinstance(started, WorkflowStarted) and started.workspace is not None
    assert started.workspace.credentials_allowed == ("src/settings.py",)
    store = ObjectStore(run_dir)
    sent = json.dumps(
        [load_request(store, ev.request_digest) for ev in events if isinstance(ev, ModelCalled)]
    )
    assert "AWS_ACCESS_KEY_ID = '[redacted]'" in sent  # the Coder saw the file, masked
    assert AWS_KEY_ID not in sent
    kept = next(f for f in started.workspace.files if f.path == "src/settings.py")
    assert store.get(kept.hash) == settings.encode()  # the base keeps it, by the person's choice
