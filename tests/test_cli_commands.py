"""Each command owns its arguments, and a command loads only what it needs."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

from _workflow import FAST, scripted

from actors import Supervisor
from actors.cli.app import COMMANDS, build_parser, declare

ROOT = Path(__file__).resolve().parent.parent


def _modules_after(*argv: str) -> list[str]:
    """The modules a fresh ``agentlog ARGV`` process has imported when it is done."""
    code = (
        "import json, sys\n"
        "from actors.cli import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


def test_every_command_declares_its_arguments_and_example_in_its_own_module() -> None:
    for name, command in COMMANDS.items():
        module = importlib.import_module(command.target.partition(":")[0])
        example = getattr(module, f"args_{name}")(argparse.ArgumentParser())
        assert f"agentlog {name}" in example


def test_a_chosen_command_has_its_own_arguments() -> None:
    parser = build_parser()
    args = parser.parse_args(["stats", "runs/x", "--json"])
    assert args.run == "runs/x" and args.json and args.target.endswith(":cmd_stats")


def test_help_lists_every_command_without_importing_one() -> None:
    loaded = _modules_after("--help")
    commands = {c.target.partition(":")[0] for c in COMMANDS.values()}
    assert not commands & set(loaded)
    assert "events" not in loaded  # not even the event types: --help starts fast


def test_a_command_imports_its_own_module_and_no_other_command() -> None:
    loaded = set(_modules_after("stats", "--help"))
    others = {c.target.partition(":")[0] for c in COMMANDS.values()} - {"actors.cli.inspect_cmds"}
    assert "actors.cli.inspect_cmds" in loaded
    assert not others & loaded


def test_declaring_a_command_twice_declares_its_arguments_once() -> None:
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices["log"]  # type: ignore[union-attr]
    declare("log", sub)
    declare("log", sub)
    assert sub.parse_args(["runs/x", "--follow"]).follow


def test_log_of_a_run_imports_no_viewer_otel_convex_or_workspace(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    Supervisor(FAST, model=scripted()).run("a task", run_dir)
    loaded = _modules_after("log", str(run_dir))
    heavy = ("actors.viewer", "actors.otel", "actors.convex", "convex")
    assert [m for m in loaded if m.startswith(heavy)] == []
    assert [m for m in loaded if m.startswith("actors.workspace")] == []
    assert "actors.cli.read_cmds" in loaded  # the command did run
