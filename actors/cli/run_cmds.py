"""Commands that run workflows: ``run``, ``demo``, ``resume``, ``retry`` and ``fork``.

A run parked at an approval gate exits 3 ("waiting for a person") after printing the
commands that continue it; ``run --wait`` waits for the decision instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from actors.cli.args import config_args, consent_args, json_arg, run_arg, script_arg
from actors.cli.outcome import EXIT_WAITING, resumable, summarize
from actors.cli.progress import Progress
from actors.cli.settings import SETTINGS, apply_settings, flag, project_settings
from actors.cli.streams import say
from actors.cli.terminal import inert
from actors.consent import Consent, check_continue
from actors.integrations import integrations_from_env
from actors.models import Model, ScriptedModel
from actors.run_dir import check_new_run_dir, never_started
from actors.supervisor import RunHandle, Supervisor
from events import BUDGETS, AgentlogError, UsageError, WorkflowConfig
from store import LOG_NAME, EventLog, GateState

__all__ = [
    "args_demo",
    "args_fork",
    "args_resume",
    "args_retry",
    "args_run",
    "cmd_demo",
    "cmd_fork",
    "cmd_resume",
    "cmd_retry",
    "cmd_run",
    "config_from_args",
    "consent_of",
    "read_task",
]

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
        resumable(lambda: handle.run_dir if handle else None),
    ):
        supervisor.listeners = (*supervisor.listeners, progress)
        handle = supervisor.start(
            task, run_dir, workspace=workspace, allow_credentials=allow_credentials
        )
        if wait:

            def waiting(gate: GateState) -> None:
                if progress.lines:
                    say(f"waiting for a person at the {gate.step} gate (polling the log)")

            result = handle.result_when_decided(on_event=progress, on_gate=waiting)
        else:
            result = handle.result()
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
    supervisor = Supervisor(config, model=model, listeners=integrations_from_env())
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
        looped = Supervisor(config, model=model, listeners=integrations_from_env())
        return _go(looped, task, run_dir, args.json, str(workspace))
    demo = Supervisor(config, model=demo_model(), listeners=integrations_from_env())
    return _go(demo, demo_task(), run_dir, args.json)


def cmd_resume(args: argparse.Namespace) -> int:
    from actors.cli.opening import open_log
    from store import workflow_state

    if never_started(args.run) and not os.path.lexists(Path(args.run) / LOG_NAME):
        raise UsageError(
            f"{inert(str(args.run))}: the run never started (it has no log yet: it was cut "
            "while recording its workspace); run it again into the same --run-dir"
        )
    log = open_log(args.run, in_run_dir=True)
    move_unsynced_tail_saying(log)
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
    return continue_run(run_dir, _model_for(args, state.config.model), consent, args.json)


def move_unsynced_tail_saying(log: EventLog) -> None:
    """Before a run's state decides what a command does: lines a power cut kept without
    their objects moved aside (:func:`store.unsynced.move_unsynced_tail`, the move
    ``verify --repair`` makes), said in one note on stderr. A live run is left alone (the
    writer lock is taken first; its holder is named when the command opens the log)."""
    from store.unsynced import move_before_continuing

    moved = move_before_continuing(log, warn=False)
    if moved is not None:
        print(
            f"agentlog: note: {inert(str(log.path))}: {inert(str(moved))}; the run redoes them",
            file=sys.stderr,
        )


def continue_run(run_dir: Path, model: Model | None, consent: Consent, as_json: bool) -> int:
    """Resume ``run_dir`` in the foreground with progress, within what ``consent`` allows
    (``resume``, and a decision that continues the run); the summary's exit code."""
    started = time.monotonic()
    with Progress(lines=not as_json) as progress, resumable(lambda: run_dir):
        result = Supervisor.resume(
            run_dir,
            model=model,
            listeners=(progress, *integrations_from_env()),
            sandbox=consent.sandbox,
            test_cmd=consent.test_cmd,
            trust_log=consent.trust_log,
        )
    return summarize(result, time.monotonic() - started, as_json=as_json)


def cmd_retry(args: argparse.Namespace) -> int:
    from actors.cli.opening import open_log
    from store import workflow_state

    log = open_log(args.run, in_run_dir=True)
    move_unsynced_tail_saying(log)
    state = workflow_state(log.read())
    log.writer().close()  # a torn tail or another writer is reported before anything else
    run_dir = log.path.parent
    consent = consent_of(args)
    budgets = {name: value for name in BUDGETS if (value := getattr(args, name, None)) is not None}
    apply_settings(state.config, budgets, lambda name: "--" + name.replace("_", "-"))
    if state.status == "failed":
        check_continue(str(run_dir), state.config, state.workspace, consent)
    model = _model_for(args, state.config.model) if state.status == "failed" else None
    started = time.monotonic()
    with Progress(lines=not args.json) as progress, resumable(lambda: run_dir):
        result = Supervisor.retry(
            run_dir,
            model=model,
            listeners=(progress, *integrations_from_env()),
            reason=args.reason,
            budgets=budgets,
            sandbox=consent.sandbox,
            test_cmd=consent.test_cmd,
            trust_log=consent.trust_log,
        )
    return summarize(result, time.monotonic() - started, as_json=args.json)


def cmd_fork(args: argparse.Namespace) -> int:
    from actors.cli.opening import open_log
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

    with Progress(lines=not args.json) as progress, resumable(fork_dir):
        result = fork(
            log.path.parent,
            at=args.at,
            new_run_dir=args.run_dir,
            task=task,
            overrides=lambda base: config_from_args(args, base),
            model=model,
            listeners=(progress, *integrations_from_env()),
            sandbox=args.sandbox,
            test_cmd=args.test_cmd,
            trust_log=args.trust_log,
        )
    return summarize(result, time.monotonic() - started, as_json=args.json)


def args_run(p: argparse.ArgumentParser) -> str:
    """``agentlog run``'s arguments; returns its example."""
    p.add_argument(
        "task", metavar="TASK", help="the task as text, @FILE to read it, or - to read stdin"
    )
    p.add_argument("--run-dir", metavar="DIR", help="where the run goes (default: runs/<id>)")
    p.add_argument(
        "--workspace",
        metavar="DIR",
        help="change this repository: its files are recorded as the base (it is only read)",
    )
    p.add_argument(
        "--test-cmd",
        metavar="CMD",
        help="the workspace's test command, run by sh -c (default: detected)",
    )
    p.add_argument(
        "--allow-credential-file",
        metavar="PATH",
        action="append",
        help="take in this workspace file although it is a credential file or holds a "
        "secret (left out by default; repeatable; recorded in the base)",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="at an approval gate, wait in the foreground (polling the log) for a decision "
        "made elsewhere (`agentlog approve RUN --no-continue`) instead of exiting 3",
    )
    config_args(p)
    json_arg(p, "only the outcome, no timeline,")
    return "agentlog run 'write a CLI that prints primes' --run-dir runs/primes"


def args_demo(p: argparse.ArgumentParser) -> str:
    """``agentlog demo``'s arguments; returns its example."""
    p.add_argument("--run-dir", metavar="DIR", help="where the run goes (default: runs/demo-<id>)")
    p.add_argument(
        "--loop",
        action="store_true",
        help="show the agent loop: the Coder searches, edits, runs the tests, fixes, submits",
    )
    json_arg(p, "only the outcome, no timeline,")
    return "agentlog demo --run-dir /tmp/demo"


def args_resume(p: argparse.ArgumentParser) -> str:
    """``agentlog resume``'s arguments; returns its example."""
    run_arg(p)
    consent_args(p)
    script_arg(p)
    json_arg(p, "only the outcome, no timeline,")
    return "agentlog resume runs/primes"


def args_retry(p: argparse.ArgumentParser) -> str:
    """``agentlog retry``'s arguments; returns its example."""
    run_arg(p)
    p.add_argument("--reason", default="", help="why, recorded in the RetryRequested event")
    p.add_argument(
        "--max-turns", type=int, metavar="N", help="model turns per step of a loop from here on"
    )
    p.add_argument(
        "--budget-usd", type=float, metavar="X", help="dollars the whole run may spend, in all"
    )
    p.add_argument(
        "--budget-tokens", type=int, metavar="N", help="tokens the whole run may use, in all"
    )
    consent_args(p)
    script_arg(p)
    json_arg(p, "only the outcome, no timeline,")
    return "agentlog retry runs/primes --reason 'rate limit lifted'  # or --budget-usd 5"


def args_fork(p: argparse.ArgumentParser) -> str:
    """``agentlog fork``'s arguments; returns its example."""
    run_arg(p)
    p.add_argument("--at", metavar="SEQ", type=int, required=True, help="events to keep")
    p.add_argument("--run-dir", metavar="DIR", help="where the fork goes")
    p.add_argument(
        "--task", help="replace the task from the fork point on (text, @FILE or - for stdin)"
    )
    consent_args(p, fork=True)
    config_args(p)
    json_arg(p, "only the outcome, no timeline,")
    return "agentlog fork runs/demo --at 5 --run-dir runs/demo-fork --max-revisions 1"
