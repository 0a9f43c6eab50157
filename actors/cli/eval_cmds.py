"""``agentlog eval``: a task set with hidden checks, run as a batch, each run checked."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading

import msgspec

from actors.batch import BatchTask, ModelSpec
from actors.cli.args import engine_args
from actors.cli.batch_cmds import _model, _unfinished
from actors.cli.progress import counter_lines
from actors.cli.run_cmds import config_from_args
from actors.cli.streams import say
from actors.cli.terminal import inert, plural
from actors.eval import AsOf, EvalOutcome, EvalTask, Evaluation, load_eval_tasks, sample_id
from events import UsageError, WorkflowConfig

__all__ = ["args_eval", "cmd_eval"]


def _verdict(o: EvalOutcome) -> str:
    if o.check is None:
        return "-"
    return "pass" if o.check.passed else ("error" if o.check.outcome == "error" else "fail")


def _summary(outcomes: list[EvalOutcome]) -> None:
    width = max((len(o.id) for o in outcomes), default=2)
    say(f"{'id':<{width}}  {'check':<6} {'status':<9} {'tokens':>9} {'cost':>9} {'seconds':>8}")
    for o in sorted(outcomes, key=lambda o: (o.task_id, o.sample)):
        cost = f"${o.run.cost_usd:.4f}" if o.run.cost_usd is not None else "-"
        say(
            f"{inert(o.id):<{width}}  {_verdict(o):<6} {o.run.status:<9} {o.run.tokens:>9,} "
            f"{cost:>9} {o.run.seconds:>8.1f}"
        )
        if o.check is not None and o.check.problem:
            say(f"{'':<{width}}  {inert(o.check.problem)}")
        elif o.check is None and (o.problem or o.run.error):
            say(f"{'':<{width}}  {inert(o.problem or o.run.error or '')}")
    checked = [o for o in outcomes if o.check is not None]
    passed = sum(o.passed for o in checked)
    say(
        f"\n{plural(len(outcomes), 'run')}: {passed} passed, {len(checked) - passed} failed, "
        f"{len(outcomes) - len(checked)} not checked (agentlog report DIR for the statistics)"
    )


def _require_key(evaluation: Evaluation) -> None:
    """Ask for a key only when some run is still to start or resume."""
    if evaluation.model.script is not None:
        return
    if os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN"):
        return
    if any(
        _unfinished(evaluation.runs_dir / f"{task.id}#{k}")
        for task in evaluation.tasks
        for k in range(1, evaluation.samples + 1)
    ):
        raise UsageError("no API key: set ANTHROPIC_API_KEY (or pass --script FILE)")


def _tasks(args: argparse.Namespace) -> list[EvalTask]:
    """The task set ``TASKS`` names, read by the adapter ``--format`` chooses."""
    if args.format == "swebench":
        from actors.eval.swebench import load_swebench

        return load_swebench(args.tasks, args.repos)
    if args.repos is not None:
        raise UsageError("--repos is for --format swebench")
    if args.tasks == "humaneval":
        from actors.eval.humaneval import load_humaneval

        return load_humaneval(args.limit)
    if args.limit is not None:
        raise UsageError("--limit is for humaneval")
    return load_eval_tasks(args.tasks)


def _as_of(args: argparse.Namespace, config: WorkflowConfig, model: ModelSpec) -> AsOf | None:
    """With ``--as-of OLD``: the runs as what-ifs of OLD's with the replay changes."""
    from actors.cli.whatif_cmd import _settings, read_prompt

    if args.as_of is None:
        for flag, given in (("--prompt", args.prompt), ("--set", args.set)):
            if given:
                raise UsageError(f"{flag} needs --as-of RUNS_DIR (a replay change)")
        return None
    if args.engine != "local":
        raise UsageError("--as-of replays in this process: it takes no --engine ray")
    return AsOf(
        args.as_of,
        live=model.build,
        base=config,
        model=args.model,
        prompts=dict(read_prompt(spec) for spec in args.prompt),
        settings=_settings(args.set),
        concurrency=args.concurrency,
    )


def cmd_eval(args: argparse.Namespace) -> int:
    if args.samples < 1:
        raise UsageError("--samples must be at least 1")
    config = config_from_args(args, WorkflowConfig())
    model = _model(args)
    as_of = _as_of(args, config, model)
    evaluation = Evaluation(
        _tasks(args),
        args.runs_dir,
        samples=args.samples,
        engine=args.engine,
        concurrency=args.concurrency,
        config=config,
        model=model,
        ray_address=args.ray_address,
        make_runs=as_of,
    )
    if as_of is not None:
        as_of.check_sources(
            sample_id(task.id, k) for task in evaluation.tasks for k in range(1, args.samples + 1)
        )
    _require_key(evaluation)
    show = counter_lines("eval", enabled=not args.json)
    total = len(evaluation.tasks) * evaluation.samples
    lock = threading.Lock()
    outcomes: list[EvalOutcome] = []

    def started(task: BatchTask) -> None:
        with lock:
            show(f"{inert(task.id)} started", f"{len(outcomes)}/{total} checked")

    evaluation.on_start = started
    try:
        for outcome in evaluation:
            with lock:
                outcomes.append(outcome)
                show(f"{inert(outcome.id)} {_verdict(outcome)}", f"{len(outcomes)}/{total} done")
    except KeyboardInterrupt:
        print(
            f"\ninterrupted after {len(outcomes)}/{total} runs: run the same command again to "
            "continue (checked runs are skipped, the others resume and are checked)",
            file=sys.stderr,
        )
        raise
    if args.json:
        rows = [{**msgspec.to_builtins(o), "passed": o.passed} for o in outcomes]
        say(json.dumps(rows, indent=2))
    else:
        _summary(outcomes)
    if any(o.check is None and o.run.status == "waiting" for o in outcomes):
        return 3  # waiting for a person
    return 0 if all(o.passed for o in outcomes) else 1


def args_eval(p: argparse.ArgumentParser) -> str:
    """``agentlog eval``'s arguments; returns its example."""
    p.add_argument(
        "tasks",
        metavar="TASKS",
        help='JSONL, one task a line: {"id": …, "task": …, "check": …}; or humaneval',
    )
    p.add_argument("--limit", type=int, metavar="N", help="humaneval: only its first N problems")
    p.add_argument("--runs-dir", metavar="DIR", required=True, help="one run directory a sample")
    p.add_argument(
        "--format",
        choices=("task", "swebench"),
        default="task",
        help="TASKS is agentlog's task set, or SWE-bench-style instances (docs/eval.md)",
    )
    p.add_argument(
        "--repos", metavar="DIR", help="swebench: where the repositories are (owner__name)"
    )
    p.add_argument(
        "--samples", type=int, default=1, metavar="K", help="runs of each task (ids ID#1..ID#K)"
    )
    p.add_argument(
        "--as-of",
        metavar="RUNS_DIR",
        help="each run a what-if of RUNS_DIR's run of its id (an earlier evaluation) with "
        "--model/--prompt/--set: live only from the first call the change alters",
    )
    p.add_argument(
        "--prompt",
        action="append",
        default=[],
        metavar="AGENT=FILE",
        help="(--as-of) replace planner's, coder's or reviewer's system prompt with FILE's text",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="(--as-of) change a workflow setting (max_revisions, max_turns, test_cmd, ...)",
    )
    engine_args(p)
    return (
        "agentlog eval tasks.jsonl --runs-dir runs/eval --samples 3\n"
        "  agentlog eval tasks.jsonl --runs-dir runs/strict --as-of runs/eval "
        "--prompt reviewer=strict.txt"
    )
