"""Run the workflow on an existing git repository, read the diff, apply it. Offline.

It makes a small repository, runs Planner -> Coder -> Reviewer on it with a ScriptedModel
(the Coder answers with an exact search-and-replace edit and a new file), prints the diff
and applies it. With ANTHROPIC_API_KEY set and no model= argument it runs on Claude.
Run:  python examples/edit_existing_repo.py [run_dir]
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from actors import Supervisor, WorkflowConfig
from actors.models import ScriptedModel
from actors.workspace import apply_run, run_change
from events import TestsRan
from store import EventLog, render_diff

APP = (
    'import sys\n\n\ndef main(argv):\n    print("hello")\n\n\n'
    'if __name__ == "__main__":\n    main(sys.argv[1:])\n'
)
TEST = (
    "from app import main\n\n\ndef test_main(capsys):\n    main([])\n"
    "    assert capsys.readouterr().out == 'hello\\n'\n"
)
PYPROJECT = '[project]\nname = "app"\nversion = "0"\n\n[tool.pytest.ini_options]\n'

PLAN = {
    "summary": "Add a --verbose flag to app.py that also prints the arguments",
    "steps": [
        {"title": "Parse --verbose", "description": "in main()", "files": ["app.py"]},
        {"title": "Test it", "description": "a pytest test", "files": ["test_verbose.py"]},
    ],
}
CHANGE = {
    "changes": [
        {
            "op": "edit",
            "path": "app.py",
            "search": '    print("hello")\n',
            "replace": (
                '    print("hello")\n    if "--verbose" in argv:\n        print("args:", argv)\n'
            ),
        },
        {
            "op": "create",
            "path": "test_verbose.py",
            "content": "from app import main\n\n\ndef test_verbose(capsys):\n"
            "    main(['--verbose'])\n    assert 'args:' in capsys.readouterr().out\n",
        },
    ],
    "notes": "--verbose prints the arguments after the greeting",
}
SCRIPT = {
    "plan": [{"tool_input": PLAN}],
    "code": [{"tool_input": CHANGE}],
    "review": [{"tool_input": {"verdict": "approve", "summary": "Small, tested change."}}],
}
IDENTITY = {
    "GIT_AUTHOR_NAME": "Example",
    "GIT_AUTHOR_EMAIL": "example@example.invalid",
    "GIT_COMMITTER_NAME": "Example",
    "GIT_COMMITTER_EMAIL": "example@example.invalid",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **IDENTITY}
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)
    done.check_returncode()
    return done.stdout


def make_repository(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text(APP)
    (root / "test_app.py").write_text(TEST)
    (root / "pyproject.toml").write_text(PYPROJECT)  # pytest: detected and recorded
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a small app")
    return root


def main() -> None:
    run_dir = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="agentlog-ws-"))
    repo = make_repository(run_dir.with_name(run_dir.name + "-repo"))

    config = WorkflowConfig(run_tests=True)  # the repository's tests run on the changed tree
    supervisor = Supervisor(config, model=ScriptedModel(SCRIPT))
    result = supervisor.run("add a --verbose flag to app.py", run_dir, workspace=repo)
    print(f"status: {result.status}, verdict: {result.verdict}")
    tests = [ev for ev in EventLog(run_dir).read() if isinstance(ev, TestsRan)]
    print(f"tests: {' '.join(tests[0].command)} -> exit {tests[0].exit_code}")

    _, _, diffs = run_change(run_dir)  # the recorded base -> the result, from the log alone
    print(render_diff(diffs), end="")

    report = apply_run(run_dir)  # refuses if the repository moved on from the base
    print(f"applied to {report.target}: {', '.join(report.written)}")
    print(git(repo, "status", "--short"), end="")


if __name__ == "__main__":
    main()
