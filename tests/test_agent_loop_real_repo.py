"""The Coder's tool loop end to end on a real open-source project: ``six`` 1.16.0.

Issue 25's "done when", on a repository nobody wrote for agentlog: through the real
``anthropic`` client against the stand-in that enforces the Messages API's rules, the
Coder searches ``six.py``, reads ``_add_doc``, makes a change that breaks six's own test
suite, runs it and sees it fail, fixes the change, runs it again (it passes), writes a
note with a shell command and submits; the Reviewer approves. The run is made once for
the module (a copy of ``tests/repos/six-1.16.0`` made a git repository); each test reads
it. The kill -9 during a command is ``test_agent_loop.py``'s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
from _cli import CLI, cli
from _repo import commit_all, git, needs_git
from _sandbox import needs_bwrap
from _workflow import KEY, kinds, of_type
from fake_anthropic import FakeAnthropic

from actors import Supervisor, WorkflowConfig, forking
from actors.models import AnthropicModel, ScriptedModel
from events import CodeProduced, ModelCalled, ReviewProduced, ToolCalled, ToolResulted
from store import EventLog, ObjectStore
from store.worktree import working_copy_at

pytestmark = [needs_git, needs_bwrap]

SIX = Path(__file__).resolve().parent / "repos" / "six-1.16.0"
MODEL = "claude-sonnet-5-5"  # a strict model: no forced tool choice
LOOP = WorkflowConfig(agent_loop=True, backoff_base=0, step_timeout=120, max_retries=0)
# This interpreter may be built without dbm.ndbm, which one of six's tests imports.
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider test_six.py -x -k 'not dbm_ndbm'"
PLAN = {
    "summary": "_add_doc strips the indentation of each line of the doc it sets",
    "steps": [{"title": "Clean the doc", "description": "in _add_doc", "files": ["six.py"]}],
}
SET_DOC = "    func.__doc__ = doc\n"
# Skips the first line, as if every doc began with a newline: one-line docs are lost.
BROKEN = '    func.__doc__ = "\\n".join(line.strip() for line in doc.splitlines()[1:])\n'
FIXED = '    func.__doc__ = "\\n".join(line.strip() for line in doc.strip().splitlines())\n'
NOTE = "printf '_add_doc strips indentation\\n' > NOTES.txt"


def claude(server: FakeAnthropic) -> AnthropicModel:
    return AnthropicModel(MODEL, api_key=KEY, base_url=server.url)


def six_repo(root: Path) -> Path:
    """A git repository holding a copy of the vendored ``six`` (the original stays as is)."""
    repo = shutil.copytree(SIX, root)
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "six 1.16.0")
    return repo


@dataclass(frozen=True)
class SixRun:
    run: Path
    calls: list[ToolCalled]
    results: dict[str, ToolResulted]  # by call id

    def result(self, name: str, nth: int = 0) -> ToolResulted:
        """The result of the ``nth`` call of tool ``name``."""
        return self.results[[c for c in self.calls if c.name == name][nth].call_id]


@pytest.fixture(scope="module")
def six_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SixRun]:
    """The loop on six, made once; the stand-in is stopped when the tests read it."""
    root = tmp_path_factory.mktemp("six")
    repo, run = six_repo(root / "repo"), root / "run"
    with FakeAnthropic() as server:
        server.reply_tool_use(PLAN, name="submit")
        server.reply_tool_use({"pattern": "def _add_doc"}, name="search")
        read = {"path": "six.py", "start_line": 80, "end_line": 83}
        server.reply_tool_use(read, name="read_file")
        edit = {"path": "six.py", "old_text": SET_DOC, "new_text": BROKEN}
        server.reply_tool_use(edit, name="edit_file", thinking="Docs start with a newline.")
        server.reply_tool_use({"command": PYTEST}, name="run_command")
        fix = {"path": "six.py", "old_text": BROKEN, "new_text": FIXED}
        server.reply_tool_use(fix, name="edit_file", thinking="Not every doc does.")
        server.reply_tool_use({"command": PYTEST}, name="run_command")
        server.reply_tool_use({"command": NOTE}, name="run_command")
        server.reply_tool_use({"summary": "_add_doc strips indentation"}, name="submit")
        server.reply_tool_use({"verdict": "approve", "summary": "Fine."}, name="submit")
        Supervisor(LOOP, model=claude(server)).run(PLAN["summary"], run, workspace=repo)
    calls = [c for c in of_type(run, ToolCalled) if c.step == "code"]
    results = {r.call_id: r for r in of_type(run, ToolResulted) if r.step == "code"}
    yield SixRun(run, calls, results)


def test_the_coder_breaks_six_s_own_test_sees_it_fail_fixes_it_and_submits(
    six_run: SixRun,
) -> None:
    assert [c.name for c in six_run.calls] == [
        "search", "read_file", "edit_file", "run_command", "edit_file", "run_command",
        "run_command", "submit",
    ]  # fmt: skip
    assert six_run.result("search").output == "six.py:80: def _add_doc(func, doc):"
    assert "   82\t    func.__doc__ = doc" in six_run.result("read_file").output
    failed, passed = six_run.result("run_command", 0), six_run.result("run_command", 1)
    assert (failed.exit_code, passed.exit_code) == (1, 0)
    assert "FAILED test_six.py::test_add_doc" in failed.output
    assert "1 failed" in failed.output and " passed" in passed.output
    assert "failed" not in passed.output
    assert kinds(six_run.run)[-1] == "WorkflowCompleted"
    assert of_type(six_run.run, ReviewProduced)[0].review.verdict == "approve"


def test_the_submitted_change_is_the_net_change_and_agentlog_diff_shows_it(
    six_run: SixRun,
) -> None:
    change = of_type(six_run.run, CodeProduced)[0]
    assert change.by_tools and sorted(op.path for op in change.change.changes) == [
        "NOTES.txt", "six.py"
    ]  # fmt: skip
    done = cli("diff", six_run.run)
    assert done.returncode == 0, done.stderr
    assert "\n-" + SET_DOC in done.stdout and "\n+" + FIXED in done.stdout
    assert "[1:]" not in done.stdout  # the broken step is not part of the net change


def test_a_file_a_shell_command_wrote_is_in_the_change_and_in_agentlog_diff(
    six_run: SixRun,
) -> None:
    note = six_run.result("run_command", 2)
    assert [(e.path, e.op) for e in note.edits] == [("NOTES.txt", "write")]
    done = cli("diff", six_run.run)
    assert "+++ b/NOTES.txt" in done.stdout and "+_add_doc strips indentation\n" in done.stdout
    assert (six_run.run / "files" / "NOTES.txt").read_text() == "_add_doc strips indentation\n"


def test_the_run_replays_with_the_network_off(six_run: SixRun) -> None:
    # A network namespace of its own: not even 127.0.0.1 of this machine is reachable.
    offline = ["bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    done = subprocess.run(
        [*offline, *CLI, "replay", str(six_run.run)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("replay ok:")


def test_a_fork_at_the_failing_command_goes_on_from_its_working_copy_under_another_model(
    six_run: SixRun, tmp_path: Path
) -> None:
    command = next(c for c in six_run.calls if c.name == "run_command")
    fix = {"path": "six.py", "old_text": BROKEN, "new_text": "    func.__doc__ = doc.strip()\n"}
    model = ScriptedModel(
        {
            "code": [
                {"tool_calls": [{"name": "edit_file", "input": fix}]},
                {"tool_calls": [{"name": "submit", "input": {"summary": "strip the doc"}}]},
            ],
            "review": [{"tool_input": {"verdict": "approve", "summary": "Fine."}}],
        }
    )  # another model than the source's: its recorded turns stay as they were
    fork = tmp_path / "fork"
    result = forking.fork(six_run.run, at=command.seq, new_run_dir=fork, model=model)
    assert result.status == "completed", result
    assert [c.step for c in model.calls] == ["code", "code", "review"]  # only turns after it
    assert [c.model for c in of_type(fork, ModelCalled) if c.seq > command.seq] == [
        "scripted", "scripted", "scripted"
    ]  # fmt: skip
    turns = [c.turn for c in of_type(fork, ToolCalled) if c.seq > command.seq and c.step == "code"]
    assert turns == [5, 6]  # the Coder's conversation went on: its turns were not asked again
    source, forked = list(EventLog(six_run.run).read()), list(EventLog(fork).read())
    before = working_copy_at(source, ObjectStore(six_run.run), command.seq)
    after = working_copy_at(forked, ObjectStore(fork), command.seq)
    assert after.paths() == before.paths()
    assert all(after.read(p) == before.read(p) for p in before.paths())
    assert BROKEN in before.text("six.py")
    rerun = [r for r in of_type(fork, ToolResulted) if r.call_id == command.call_id]
    assert [(r.exit_code, r.interrupted) for r in rerun] == [(1, True)]  # on the broken copy
    assert "func.__doc__ = doc.strip()" in (fork / "files" / "six.py").read_text()


def test_a_fork_with_another_max_tokens_goes_through_the_recorded_turns_as_asked(
    six_run: SixRun, tmp_path: Path
) -> None:
    fix = next(c for c in six_run.calls if c.name == "edit_file" and c.input["old_text"] == BROKEN)
    model = ScriptedModel(
        {
            "code": [{"tool_calls": [{"name": "submit", "input": {"summary": "fixed"}}]}],
            "review": [{"tool_input": {"verdict": "approve", "summary": "Fine."}}],
        },
        name=MODEL,
    )
    fork = tmp_path / "fork"
    more = LOOP.max_tokens * 2
    result = forking.fork(
        six_run.run,
        at=fix.seq,
        new_run_dir=fork,
        overrides=lambda config: msgspec.structs.replace(config, max_tokens=more),
        model=model,
    )
    assert result.status == "completed", result
    assert [(c.step, c.max_tokens) for c in model.calls] == [("code", more), ("review", more)]
    assert (fork / "files" / "six.py").read_text() == (six_run.run / "files" / "six.py").read_text()
