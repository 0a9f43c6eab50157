"""Commands that run workflows: ``run``, ``demo``, ``resume`` and ``fork``."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import msgspec

from actors.cli.app import UsageError
from actors.cli.progress import Progress
from actors.models import Model, ScriptedModel
from actors.workflow import Supervisor, WorkflowResult
from events import WorkflowConfig

__all__ = [
    "cmd_demo",
    "cmd_fork",
    "cmd_resume",
    "cmd_retry",
    "cmd_run",
    "config_from_args",
    "read_task",
]

_OVERRIDES = (
    "model",
    "continue_on_error",
    "max_revisions",
    "max_retries",
    "step_timeout",
    "run_tests",
    "test_cmd",
    "max_tokens",
)


def read_task(text: str) -> str:
    """TASK as given, or the contents of FILE for ``@FILE``."""
    if not text.startswith("@"):
        task = text
    else:
        try:
            task = Path(text[1:]).read_text("utf-8")
        except OSError as exc:
            raise UsageError(f"{text[1:]}: cannot read the task file: {exc.strerror}") from None
    if not task.strip():
        raise UsageError("TASK is empty")
    return task.strip()


def config_from_args(args: argparse.Namespace, base: WorkflowConfig) -> WorkflowConfig:
    """``base`` with every option the user gave applied and validated."""
    changes: dict[str, Any] = {
        name: getattr(args, name) for name in _OVERRIDES if getattr(args, name, None) is not None
    }
    try:
        return msgspec.convert({**msgspec.to_builtins(base), **changes}, WorkflowConfig)
    except msgspec.ValidationError as exc:
        raise UsageError(f"bad option: {exc}") from None


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


def summarize(result: WorkflowResult, seconds: float) -> int:
    """Print the final summary of a run and return the exit code."""
    tokens = sum(
        s.total_usage.input_tokens + s.total_usage.output_tokens for s in result.steps.values()
    )
    change = _change_lines(result.run_dir)
    files = f"{len(result.code.files) if result.code else 0} files, " if change is None else ""
    print()
    print(
        f"{result.status}: verdict {result.verdict or '-'}, {files}"
        f"{tokens:,} tokens, {seconds:.1f} s"
    )
    if change is not None:
        print(change)
    if result.failed_steps:
        print(f"failed steps passed over: {', '.join(result.failed_steps)}")
    if result.error is not None:
        print(f"error at {result.error.step or '-'}: {result.error.kind}: {result.error.message}")
    print(
        f"run: {result.run_dir}   (agentlog log {result.run_dir} · agentlog stats {result.run_dir})"
    )
    return 0 if result.ok else 1


def _change_lines(run_dir: str) -> str | None:
    """For a workspace run: the change in one line and how to read and apply it."""
    from actors.workspace.apply import NoWorkspace, run_change
    from store import diff_stat

    try:
        _, _, diffs = run_change(run_dir)
    except NoWorkspace:
        return None
    return (
        f"change:{diff_stat(diffs).splitlines()[-1]}\n"
        f"  agentlog diff {run_dir} · agentlog apply {run_dir} [--branch NAME]"
    )


def _go(
    supervisor: Supervisor, task: str, run_dir: str | None, workspace: str | None = None
) -> int:
    started = time.monotonic()
    with Progress() as progress:
        supervisor.listeners = (*supervisor.listeners, progress)
        handle = supervisor.start(task, run_dir, workspace=workspace)
        try:
            result = handle.result()
        except KeyboardInterrupt:
            print(f"\ninterrupted: `agentlog resume {handle.run_dir}` continues the run")
            raise
    return summarize(result, time.monotonic() - started)


def cmd_run(args: argparse.Namespace) -> int:
    task = read_task(args.task)
    model = scripted_model(args)
    _require_key(model)
    config = config_from_args(args, WorkflowConfig())
    workspace = getattr(args, "workspace", None)
    if workspace is not None and not Path(workspace).is_dir():
        raise UsageError(f"--workspace {workspace}: not a directory")
    return _go(Supervisor(config, model=model), task, args.run_dir, workspace)


def cmd_demo(args: argparse.Namespace) -> int:
    from actors.demo import DEMO_CONFIG, demo_model, demo_task
    from actors.supervisor import new_workflow_id

    run_dir = args.run_dir or str(Path("runs") / f"demo-{new_workflow_id()[3:]}")
    return _go(Supervisor(DEMO_CONFIG, model=demo_model()), demo_task(), run_dir)


def cmd_resume(args: argparse.Namespace) -> int:
    from actors.cli.read_cmds import open_log
    from store import workflow_state

    log = open_log(args.run)
    state = workflow_state(log.read())
    if state.status == "pending":
        raise UsageError(
            f"{log.path.parent}: the run never started (its log holds no WorkflowStarted "
            "event, e.g. a power cut before the first sync); run it again"
        )
    if state.status in ("completed", "failed"):
        from store import repair_projections

        fixed = repair_projections(log)
        rebuilt = f"; rebuilt {len(fixed)} projections from the log" if fixed else ""
        print(
            f"{log.path.parent}: the run already ended ({state.status}); nothing to resume{rebuilt}"
        )
        if state.status == "failed":
            print(f"`agentlog retry {log.path.parent}` retries it from its failed step")
        return 0
    log.writer().close()  # a torn tail or another writer is reported before anything else
    model = _model_for(args, state.config.model)
    started = time.monotonic()
    with Progress() as progress:
        result = Supervisor.resume(log.path.parent, model=model, listeners=(progress,))
    return summarize(result, time.monotonic() - started)


def cmd_retry(args: argparse.Namespace) -> int:
    from actors.cli.read_cmds import open_log
    from store import workflow_state

    log = open_log(args.run)
    state = workflow_state(log.read())
    log.writer().close()  # a torn tail or another writer is reported before anything else
    model = _model_for(args, state.config.model) if state.status == "failed" else None
    started = time.monotonic()
    with Progress() as progress:
        result = Supervisor.retry(
            log.path.parent, model=model, listeners=(progress,), reason=args.reason
        )
    return summarize(result, time.monotonic() - started)


def cmd_fork(args: argparse.Namespace) -> int:
    from actors.cli.read_cmds import open_log
    from actors.durable import check_fork_point, fork
    from store import workflow_state

    log = open_log(args.run)
    task = read_task(args.task) if args.task else None
    source = workflow_state(log.read())
    check_fork_point(log.path, source.last_seq, args.at)
    model = _model_for(args, config_from_args(args, source.config).model)
    started = time.monotonic()
    with Progress() as progress:
        result = fork(
            log.path.parent,
            at=args.at,
            new_run_dir=args.run_dir,
            task=task,
            overrides=lambda base: config_from_args(args, base),
            model=model,
            listeners=(progress,),
        )
    return summarize(result, time.monotonic() - started)
