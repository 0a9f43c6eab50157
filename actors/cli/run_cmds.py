"""Commands that run workflows: ``run``, ``demo``, ``resume``, ``retry`` and ``fork``.

A run parked at an approval gate exits 3 ("waiting for a person") after printing the
commands that continue it; ``run --wait`` waits for the decision instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from actors.cli.changes import changed_files
from actors.cli.progress import Progress
from actors.cli.settings import SETTINGS, apply_settings, flag, project_settings
from actors.cli.streams import say
from actors.cli.terminal import inert, plural
from actors.consent import Consent, check_continue
from actors.models import Model, ScriptedModel
from actors.supervisor import RunHandle, Supervisor, WorkflowResult, result_of
from events import AgentlogError, UnknownEvent, UsageError, WorkflowConfig, tokens
from store import LOG_NAME

__all__ = [
    "EXIT_WAITING",
    "check_new_run_dir",
    "cmd_demo",
    "cmd_fork",
    "cmd_resume",
    "cmd_retry",
    "cmd_run",
    "config_from_args",
    "consent_of",
    "never_started",
    "read_task",
]

#: The exit code of a run parked at an approval gate, waiting for a person.
EXIT_WAITING = 3

#: Seconds between two looks at the log while ``run --wait`` waits for a decision.
WAIT_POLL = 0.2

_OVERRIDES = SETTINGS


def read_task(text: str) -> str:
    """TASK as given, the contents of FILE for ``@FILE``, or standard input for ``-``."""
    if text == "-":
        if sys.stdin.isatty():
            print("agentlog: reading the task from stdin; end it with Ctrl-D", file=sys.stderr)
        try:
            task = sys.stdin.buffer.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"stdin: the task is not UTF-8 (byte {exc.start})") from None
    elif text.startswith("@"):
        name = text[1:]
        try:
            task = Path(name).read_bytes().decode("utf-8")
        except OSError as exc:
            raise UsageError(f"{name}: cannot read the task file: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"{name}: the task file is not UTF-8 (byte {exc.start})") from None
    else:
        task = text
    if not task.strip():
        raise UsageError("TASK is empty")
    return task.strip()


#: What a run writes before its first event: a workspace's base in ``objects/``, then
#: the log it opens (empty until ``WorkflowStarted`` is written).
_BEFORE_FIRST_EVENT = frozenset({LOG_NAME, "objects"})


def never_started(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds only what a run writes before its first event (and
    something of it): a run cut before it began, which ``run`` may start over."""
    path = Path(run_dir)
    try:
        entries = list(os.scandir(path))
    except OSError:
        return False
    for entry in entries:
        if entry.name not in _BEFORE_FIRST_EVENT:
            return False
        if entry.name == LOG_NAME and not (
            entry.is_file(follow_symlinks=False) and entry.stat().st_size == 0
        ):
            return False
        if entry.name == "objects" and not entry.is_dir(follow_symlinks=False):
            return False
    return bool(entries)


def check_new_run_dir(run_dir: str | Path) -> None:
    """Refuse a run directory that is not new or empty: agentlog never writes among
    someone else's files. A run that never started (an empty ``events.jsonl``, a
    workspace's ``objects/``: killed before its first event) is started over.
    """
    path = Path(run_dir)
    shown = inert(str(path))
    if path.exists() and not path.is_dir():
        raise UsageError(f"{shown}: exists and is not a directory; choose a new --run-dir")
    if not path.exists():
        above = next((p for p in path.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise UsageError(f"{inert(str(above))}: is not a directory; choose another --run-dir")
        return
    if never_started(path):
        return
    log = path / LOG_NAME
    if log.is_file() and log.stat().st_size > 0:
        raise UsageError(
            f"{shown}: already holds a run; `agentlog resume {shown}` continues it, "
            f"`agentlog fork {shown} --at SEQ --run-dir NEW` branches from it"
        )
    others = [p.name for p in path.iterdir() if p.name != LOG_NAME or not p.is_file()]
    if others:
        raise UsageError(
            f"{shown}: is not empty (it holds {inert(sorted(others)[0])!r}"
            f"{f' and {len(others) - 1} more' if len(others) > 1 else ''}); "
            "a new run goes into a new or empty directory"
        )


def config_from_args(args: argparse.Namespace, base: WorkflowConfig) -> WorkflowConfig:
    """``base`` with every option the user gave applied and validated."""
    changes: dict[str, Any] = {
        name: getattr(args, name) for name in _OVERRIDES if getattr(args, name, None) is not None
    }
    return apply_settings(base, changes, flag)


def consent_of(args: argparse.Namespace) -> Consent:
    """What the person continuing a run allows it (``--sandbox``, ``--test-cmd``,
    ``--trust-log``); see :mod:`actors.consent`."""
    return Consent(
        sandbox=getattr(args, "sandbox", None),
        test_cmd=getattr(args, "test_cmd", None),
        trust_log=bool(getattr(args, "trust_log", False)),
    )


def scripted_model(args: argparse.Namespace) -> Model | None:
    """A ScriptedModel when ``--script`` (or ``$AGENTLOG_SCRIPT``) names a script, else None."""
    path = getattr(args, "script", None) or os.environ.get("AGENTLOG_SCRIPT")
    if not path:
        return None
    return ScriptedModel.from_file(path, delay=float(os.environ.get("AGENTLOG_SCRIPT_DELAY", 0)))


def _model_for(args: argparse.Namespace, recorded: str) -> Model | None:
    """The model to continue a run whose configuration names ``recorded``.

    ``--script`` wins; a demo run continues on the demo's script; another scripted run
    needs its script again; anything else is Claude (None), which needs a key.
    """
    model = scripted_model(args)
    if model is not None:
        return model
    from actors.demo import DEMO_CONFIG, demo_model

    if recorded == DEMO_CONFIG.model:
        return demo_model()
    if recorded.startswith("scripted"):
        raise UsageError(f"this run used a scripted model ({recorded}); pass --script FILE")
    _require_key(None)
    return None


def _require_key(model: Model | None) -> None:
    if model is None and not (
        os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
    ):
        raise UsageError(
            "no API key: set ANTHROPIC_API_KEY (or try `agentlog demo`, which needs none)"
        )


def result_tokens(result: WorkflowResult) -> int:
    """Every token the run's model calls read or wrote (see :mod:`actors.cli.usage`)."""
    return sum(tokens(s.total_usage) for s in result.steps.values())


def outcome(result: WorkflowResult, seconds: float) -> dict[str, Any]:
    """The run's outcome as data (``--json``)."""
    error = result.error
    gate = result.waiting_at
    return {
        "run_dir": result.run_dir,
        "workflow_id": result.workflow_id,
        "status": result.status,
        "ok": result.ok,
        "verdict": result.verdict,
        "failed_steps": list(result.failed_steps),
        "files": changed_files(result),
        "tokens": result_tokens(result),
        "seconds": round(seconds, 3),
        "error": msgspec.to_builtins(error) if error is not None else None,
        "waiting_at": msgspec.to_builtins(gate) if gate is not None else None,
    }


def summarize(result: WorkflowResult, seconds: float, *, as_json: bool = False) -> int:
    """Print the final summary of a run and return the exit code."""
    code = EXIT_WAITING if result.waiting else 0 if result.ok else 1
    if as_json:
        data = outcome(result, seconds)
        say(inert(msgspec.json.encode(data).decode(), json=True))
        return code
    change = _change_lines(result.run_dir)
    files = len(result.code.files) if result.code else 0
    run = inert(result.run_dir)
    shown = f"{plural(files, 'file')}, " if change is None else ""
    lines = [
        "",
        f"{result.status}: verdict {result.verdict or '-'}, {shown}"
        f"{result_tokens(result):,} tokens, {seconds:.1f} s",
    ]
    if change is not None:
        lines.append(change)
    tests = _tests_line(result.run_dir)
    if tests is not None:
        lines.append(tests)
    if result.failed_steps:
        lines.append(f"failed steps passed over: {', '.join(result.failed_steps)}")
    if result.error is not None:
        err = result.error
        lines.append(f"error at {err.step or '-'}: {err.kind}: {inert(err.message)}")
    lines.append(f"run: {run}   (agentlog log {run} · agentlog stats {run})")
    if result.waiting_at is not None:
        from actors.approvals import waiting_hint

        hint = waiting_hint(Path(result.run_dir), result.waiting_at)
        lines.extend(inert(line) for line in hint.splitlines())
    for line in lines:
        say(line)
    return code


@contextmanager
def _resumable(run_dir: Callable[[], Path | str | None]) -> Iterator[None]:
    """On Ctrl-C or SIGTERM, say how to continue the run before the interrupt goes on."""
    try:
        yield
    except KeyboardInterrupt:
        where = run_dir()
        if where is not None:
            hint = f"`agentlog resume {inert(str(where))}` continues the run"
            if not say(f"\ninterrupted: {hint}"):
                print(f"agentlog: interrupted: {hint}", file=sys.stderr)
        raise


def _tests_line(run_dir: str) -> str | None:
    """The last test run in one line: passed, failed, or that the tests could not run."""
    from events import TestsRan
    from store import EventLog

    last = None
    for event in EventLog(run_dir).read():
        if isinstance(event, TestsRan):
            last = event
    if last is None:
        return None
    if last.problem or last.outcome == "error":
        why = last.problem or (last.output.splitlines() or ["-"])[0]
        return f"tests could not run: {inert(why)}"
    if last.outcome == "no_tests":
        return "tests: none ran (the test command found no tests)"
    if last.timed_out or last.outcome == "timeout":
        return "tests: timed out"
    return f"tests: {'passed' if last.exit_code == 0 else f'failed (exit {last.exit_code})'}"


def _change_lines(run_dir: str) -> str | None:
    """For a workspace run: the change in one line and how to read and apply it."""
    from actors.workspace.apply import NoWorkspace, run_change
    from store import diff_stat

    try:
        _, _, diffs = run_change(run_dir)
    except NoWorkspace:
        return None
    return (
        f"change: {diff_stat(diffs).splitlines()[-1].strip()}\n"
        f"  agentlog diff {inert(run_dir)} · agentlog apply {inert(run_dir)} [--branch NAME]"
    )


def await_decision(
    run_dir: Path, model: Model | None, progress: Progress, consent: Consent
) -> WorkflowResult:
    """Wait for a parked run to be decided elsewhere, then see it to its end or next gate.

    The log is polled (nothing is held while waiting). Once a decision is in and no
    process writes the run, this one continues it (as ``resume``); when another process
    took the writer lock to continue it (``agentlog approve`` without ``--no-continue``),
    this one follows the log instead, showing its events, until the run ends or parks.
    ``consent`` is what this command allowed the run when it started it.
    """
    from store import EventLog, LogLocked, WorkflowFold
    from store._lock import LogLock

    log = EventLog(run_dir)
    seen = result_last_seq(run_dir)  # what the caller's progress already showed
    fold = WorkflowFold()  # each poll reads only what was appended since the last
    waited_at = None
    while True:
        for event in log.read(fold.last_seq + 1):
            fold.apply(event)
            if event.seq > seen and not isinstance(event, UnknownEvent):
                progress(event)
        seen = max(seen, fold.last_seq)
        state = fold.snapshot()
        if state.ended:
            return result_of(run_dir, state)
        gate = state.waiting_at
        if gate is not None and gate != waited_at:
            waited_at = gate
            if progress.lines:
                say(f"waiting for a person at the {gate.step} gate (polling the log)")
        if gate is None and not LogLock.is_held(log.path):
            try:
                result = Supervisor.resume(
                    run_dir,
                    model=model,
                    listeners=(progress,),
                    sandbox=consent.sandbox,
                    test_cmd=consent.test_cmd,
                    trust_log=consent.trust_log,
                )
            except LogLocked:  # another process started continuing it first: follow it
                pass
            else:
                seen = result_last_seq(run_dir)
                if not result.waiting:
                    return result
        time.sleep(WAIT_POLL)


def result_last_seq(run_dir: Path) -> int:
    """How many events the run's log holds now."""
    from store import EventLog

    return sum(1 for _ in EventLog(run_dir).read())


def _go(
    supervisor: Supervisor,
    task: str,
    run_dir: str | None,
    as_json: bool,
    workspace: str | None = None,
    wait: bool = False,
    allow_credentials: tuple[str, ...] = (),
) -> int:
    if run_dir is not None:
        check_new_run_dir(run_dir)
    started = time.monotonic()
    handle: RunHandle | None = None
    with (
        Progress(lines=not as_json) as progress,
        _resumable(lambda: handle.run_dir if handle else None),
    ):
        supervisor.listeners = (*supervisor.listeners, progress)
        handle = supervisor.start(
            task, run_dir, workspace=workspace, allow_credentials=allow_credentials
        )
        result = handle.result()
        if wait and result.waiting:
            config = supervisor.config  # what this command started the run with
            own = Consent(sandbox=config.sandbox, test_cmd=config.test_cmd or None)
            result = await_decision(handle.run_dir, supervisor.model, progress, own)
    return summarize(result, time.monotonic() - started, as_json=as_json)


def cmd_run(args: argparse.Namespace) -> int:
    from actors.testrun import require_sandbox

    allowed = tuple(getattr(args, "allow_credential_file", None) or ())
    if allowed and getattr(args, "workspace", None) is None:
        raise UsageError("--allow-credential-file: only with --workspace")
    task = read_task(args.task)
    workspace = getattr(args, "workspace", None)
    if workspace is not None and not Path(workspace).is_dir():
        raise UsageError(f"--workspace {inert(workspace)}: not a directory")
    if args.run_dir is not None:
        check_new_run_dir(args.run_dir)
    project = project_settings(workspace if workspace is not None else ".")
    if project.values.get("sandbox") == "none" and getattr(args, "sandbox", None) != "none":
        # A repository may be someone else's: its file can confine, never unconfine.
        raise UsageError(
            f'{inert(str(project.path))}: sets sandbox = "none" (the model\'s code would run '
            "unconfined on this machine); pass --sandbox none to allow it"
        )
    config = config_from_args(args, WorkflowConfig(**project.values))
    require_sandbox(config)
    model = scripted_model(args)
    _require_key(model)  # every input checked: only the model call is left to need it
    if project.path is not None:
        given = [name for name in project.values if getattr(args, name, None) is None]
        if given:
            print(
                f"agentlog: from {inert(str(project.path))}: "
                + ", ".join(f"{name}={_setting(config, name)}" for name in given),
                file=sys.stderr,
            )
    supervisor = Supervisor(config, model=model)
    return _go(
        supervisor,
        task,
        args.run_dir,
        args.json,
        workspace,
        wait=args.wait,
        allow_credentials=allowed,
    )


def _setting(config: WorkflowConfig, name: str) -> str:
    value = getattr(config, name)
    if isinstance(value, tuple):
        return ",".join(value)
    return inert(str(value).lower() if isinstance(value, bool) else repr(value))


def cmd_demo(args: argparse.Namespace) -> int:
    from actors.demo import demo_config, demo_model, demo_task, loop_demo
    from actors.supervisor import new_workflow_id

    run_dir = args.run_dir or str(Path("runs") / f"demo-{new_workflow_id()[3:]}")
    loop = bool(getattr(args, "loop", False))
    config, note = demo_config(loop)
    if note:
        print(f"agentlog: note: {note}", file=sys.stderr)
    if loop:
        task, workspace, model = loop_demo()
        say(f"agentlog: the demo's workspace: {inert(str(workspace))}")
        return _go(Supervisor(config, model=model), task, run_dir, args.json, str(workspace))
    return _go(Supervisor(config, model=demo_model()), demo_task(), run_dir, args.json)


def cmd_resume(args: argparse.Namespace) -> int:
    from actors.cli.read_cmds import open_log
    from store import workflow_state

    if never_started(args.run) and not os.path.lexists(Path(args.run) / LOG_NAME):
        raise UsageError(
            f"{inert(str(args.run))}: the run never started (it has no log yet: it was cut "
            "while recording its workspace); run it again into the same --run-dir"
        )
    log = open_log(args.run, in_run_dir=True)
    state = workflow_state(log.read())
    run_dir = log.path.parent
    if state.status == "pending":
        raise UsageError(
            f"{inert(str(run_dir))}: the run never started (its log holds no WorkflowStarted "
            "event, e.g. a power cut before the first sync); run it again"
        )
    if state.status in ("completed", "failed"):
        from store import repair_projections

        fixed = repair_projections(log)
        rebuilt = f"; rebuilt {len(fixed)} projections from the log" if fixed else ""
        say(
            f"{inert(str(run_dir))}: the run already ended ({state.status}); "
            f"nothing to resume{rebuilt}"
        )
        if state.status == "failed":
            say(f"`agentlog retry {inert(str(run_dir))}` retries it from its failed step")
        return 0
    if state.status == "waiting" and state.waiting_at is not None:
        from actors.approvals import waiting_hint

        say(f"{inert(str(run_dir))}: the run is parked at the {state.waiting_at.step} gate")
        for line in waiting_hint(run_dir, state.waiting_at).splitlines():
            say(inert(line))
        return EXIT_WAITING
    log.writer().close()  # a torn tail or another writer is reported before anything else
    consent = consent_of(args)
    check_continue(str(run_dir), state.config, state.workspace, consent)
    model = _model_for(args, state.config.model)
    started = time.monotonic()
    with Progress(lines=not args.json) as progress, _resumable(lambda: run_dir):
        result = Supervisor.resume(
            run_dir,
            model=model,
            listeners=(progress,),
            sandbox=consent.sandbox,
            test_cmd=consent.test_cmd,
            trust_log=consent.trust_log,
        )
    return summarize(result, time.monotonic() - started, as_json=args.json)


def cmd_retry(args: argparse.Namespace) -> int:
    from actors.cli.read_cmds import open_log
    from store import workflow_state

    log = open_log(args.run, in_run_dir=True)
    state = workflow_state(log.read())
    log.writer().close()  # a torn tail or another writer is reported before anything else
    run_dir = log.path.parent
    consent = consent_of(args)
    if state.status == "failed":
        check_continue(str(run_dir), state.config, state.workspace, consent)
    model = _model_for(args, state.config.model) if state.status == "failed" else None
    started = time.monotonic()
    with Progress(lines=not args.json) as progress, _resumable(lambda: run_dir):
        result = Supervisor.retry(
            run_dir,
            model=model,
            listeners=(progress,),
            reason=args.reason,
            sandbox=consent.sandbox,
            test_cmd=consent.test_cmd,
            trust_log=consent.trust_log,
        )
    return summarize(result, time.monotonic() - started, as_json=args.json)


def cmd_fork(args: argparse.Namespace) -> int:
    from actors.cli.read_cmds import open_log
    from actors.forking import check_fork_point, fork
    from store import workflow_state

    log = open_log(args.run)
    task = read_task(args.task) if args.task else None
    source = workflow_state(log.read())
    try:
        check_fork_point(log.path, source.last_seq, args.at)
    except AgentlogError as exc:  # a bad --at is the caller's to fix
        raise UsageError(str(exc)) from None
    if args.run_dir is not None:
        check_new_run_dir(args.run_dir)
    model = _model_for(args, config_from_args(args, source.config).model)
    started = time.monotonic()

    def fork_dir() -> Path | str | None:  # fork names a new run after its workflow id
        if args.run_dir is not None:
            return str(args.run_dir)
        guess = Path("runs") / progress.workflow_id
        return guess if progress.workflow_id and guess.is_dir() else None

    with Progress(lines=not args.json) as progress, _resumable(fork_dir):
        result = fork(
            log.path.parent,
            at=args.at,
            new_run_dir=args.run_dir,
            task=task,
            overrides=lambda base: config_from_args(args, base),
            model=model,
            listeners=(progress,),
            sandbox=args.sandbox,
            test_cmd=args.test_cmd,
            trust_log=args.trust_log,
        )
    return summarize(result, time.monotonic() - started, as_json=args.json)
