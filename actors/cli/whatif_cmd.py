"""``agentlog replay RUN --as NEW_DIR``: a what-if of a recorded run (``docs/what-if.md``)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import msgspec

from actors.cli.outcome import summarize
from actors.cli.progress import Progress
from actors.cli.streams import say
from actors.cli.terminal import inert
from events import UsageError

__all__ = ["args_what_if", "cmd_what_if", "read_prompt"]


def args_what_if(p: argparse.ArgumentParser) -> None:
    """The options that make ``replay`` a what-if."""
    p.add_argument(
        "--as",
        dest="as_dir",
        metavar="NEW_DIR",
        help="a what-if: a new run in NEW_DIR, served the recorded answers until a request "
        "differs, live from there",
    )
    p.add_argument("--model", help="(--as) the model the what-if asks")
    p.add_argument(
        "--prompt",
        action="append",
        default=[],
        metavar="AGENT=FILE",
        help="(--as) replace planner's, coder's or reviewer's system prompt with FILE's text",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="(--as) change a workflow setting (max_revisions, max_turns, test_cmd, ...)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="(--as) stop at the first changed request and print the difference",
    )
    p.add_argument("--script", metavar="FILE", help="(--as) answer live calls from a script")
    p.add_argument(
        "--trust-log",
        action="store_true",
        help="(--as) accept the sandbox level and test command the source's log records",
    )


def read_prompt(spec: str) -> tuple[str, str]:
    """``AGENT=FILE`` as the agent and the file's text (UTF-8, taken whole)."""
    agent, sep, name = spec.partition("=")
    if not sep or not agent or not name:
        raise UsageError(f"--prompt {spec}: expected AGENT=FILE (planner, coder or reviewer)")
    try:
        text = Path(name).read_bytes().decode("utf-8")
    except OSError as exc:
        raise UsageError(f"{name}: cannot read the prompt file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}: the prompt file is not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise UsageError(f"{name}: the prompt file is empty")
    return agent, text


def _settings(specs: list[str]) -> dict[str, str]:
    settings = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {spec}: expected KEY=VALUE")
        settings[key.replace("-", "_")] = value
    return settings


def cmd_what_if(args: argparse.Namespace) -> int:
    """Run the what-if; exit 1 when ``--offline`` stopped it at a changed request."""
    from actors.cli.opening import open_log
    from actors.cli.run_cmds import scripted_model
    from actors.integrations import integrations_from_env
    from actors.run_dir import check_new_run_dir
    from actors.whatif import what_if

    log = open_log(args.run)
    check_new_run_dir(args.as_dir)
    prompts = dict(read_prompt(spec) for spec in args.prompt)
    settings = _settings(args.set)
    live = None
    if not args.offline:
        live = scripted_model(args)
        if live is None:
            from actors.models import AnthropicModel, default_model
            from actors.whatif import changed_config
            from store import workflow_state

            config = workflow_state(log.read()).config
            name = changed_config(config, model=args.model, settings=settings).model
            live = AnthropicModel(name or default_model())
    started = time.monotonic()
    with Progress(lines=not args.json) as progress:
        done = what_if(
            log.path.parent,
            args.as_dir,
            model=args.model,
            prompts=prompts,
            settings=settings,
            live=live,
            offline=args.offline,
            listeners=(progress, *integrations_from_env()),
            trust_log=args.trust_log,
        )
    diverged = done.diverged
    if args.json:
        data = {
            "run_dir": str(args.as_dir),
            "served": done.served,
            "live_calls": done.live_calls,
            "stopped": done.stopped,
            "diverged": None if diverged is None else msgspec.to_builtins(diverged),
            "status": done.result.status,
        }
        say(inert(msgspec.json.encode(data).decode(), json=True))
    else:
        if diverged is None:
            say(f"what-if: every request was the recorded one ({done.served} answers served)")
        else:
            at = f"source seq {diverged.source_seq}" if diverged.source_seq else "the source's end"
            say(
                inert(
                    f"what-if diverged at {at} (step {diverged.step}) after {done.served} "
                    f"recorded answers: {diverged.reason}"
                )
            )
            for line in diverged.difference.splitlines():
                say("  " + inert(line))
    if done.stopped:
        say(inert(f"stopped there (--offline); `agentlog resume {args.as_dir}` goes on live"))
        return 1
    if args.json:
        return 0 if done.result.ok else 3 if done.result.waiting else 1
    return summarize(done.result, time.monotonic() - started)
