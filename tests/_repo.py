"""Real git repositories for the workspace tests, made with the ``git`` command line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from actors.models import ScriptedModel

#: Mark for tests that make real git repositories.
needs_git = pytest.mark.skipif(
    shutil.which("git") is None, reason="needs the git command line: apt-get install git"
)

#: A git identity and no user config, so commits work on any machine.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

APP = 'def greet(name):\n    return "hello " + name\n\n\ndef main():\n    print(greet("world"))\n'
TEST = "from src.app import greet\n\n\ndef test_greet():\n    assert greet('x') == 'hello x'\n"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=True,
    )
    return done.stdout


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    """A git repository with two commits of a small Python project (pytest tests)."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    write(root, {"README.md": "# demo\n", "src/app.py": "print('v0')\n"})
    commit_all(root, "first")
    write(root, files or {"src/app.py": APP, "tests/test_app.py": TEST, "conftest.py": ""})
    commit_all(root, "second")
    return root


def make_messy_repo(root: Path, outside: Path) -> Path:
    """A repository with a .gitignore'd file, a binary, a symlink out of the tree, an
    in-tree symlink, a big file and, after the last commit, a dirty tracked file."""
    make_repo(root)
    outside.write_text("secret outside the tree\n")
    write(
        root,
        {
            ".gitignore": "build/\n*.log\n",
            "build/out.txt": "ignored\n",
            "debug.log": "ignored\n",
            "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00binary",
            "big.txt": "x" * 2_000_000,
        },
    )
    (root / "escape").symlink_to(outside)
    (root / "inside").symlink_to("README.md")
    git(root, "add", "-A")
    git(root, "add", "-f", "build/out.txt")  # tracked despite the pattern: git decides
    git(root, "commit", "-q", "-m", "third")
    write(root, {"README.md": "# demo, edited but not committed\n"})
    return root


def make_big_tree(root: Path, files: int = 2000, size: int = 200) -> Path:
    """``files`` Python modules in 50 packages, each with a top-level function and class."""
    for i in range(files):
        body = f"def func_{i}(x):\n    return x + {i}\n\n\nclass Thing{i}:\n    pass\n"
        body += "#" * max(0, size - len(body) - 1) + "\n"
        path = root / f"pkg{i % 50}" / f"mod_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    return root


PLAN_APP = {
    "summary": "Greet with 'hi' instead of 'hello'",
    "steps": [{"title": "Edit greet", "description": "change the word", "files": ["src/app.py"]}],
}
EDIT_APP = {
    "changes": [
        {
            "op": "edit",
            "path": "src/app.py",
            "search": 'return "hello " + name',
            "replace": 'return "hi " + name',
        },
        {"op": "create", "path": "src/extra.py", "content": "X = 1\n"},
    ],
    "notes": "greet says hi; tests updated",
}
FIX_TEST = {
    "changes": [
        {"op": "edit", "path": "tests/test_app.py", "search": "'hello x'", "replace": "'hi x'"}
    ],
    "notes": "the test expects hi",
}


def workspace_model(code: list[dict[str, object]] | None = None, **kwargs: object) -> ScriptedModel:
    """A scripted model that plans, edits ``src/app.py`` and approves."""
    return ScriptedModel(
        {
            "plan": [{"tool_input": PLAN_APP}],
            "code": code or [{"tool_input": EDIT_APP}],
            "review": [{"tool_input": {"verdict": "approve", "summary": "Fine."}}],
        },
        **kwargs,  # type: ignore[arg-type]
    )


#: A change touching every kind of apply step: an edit, a file created in new
#: directories, a deletion, and an executable renamed into a new directory.
APPLY_CHANGE = {
    "changes": [
        {
            "op": "edit",
            "path": "src/app.py",
            "search": 'return "hello " + name',
            "replace": 'return "hi " + name',
        },
        {"op": "create", "path": "src/new/deep/extra.py", "content": "X = 1\n"},
        {"op": "delete", "path": "README.md"},
        {"op": "rename", "path": "run.sh", "to": "bin/run.sh"},
    ],
    "notes": "hi, a new module, no README, the script moved",
}


def applied_run(root: Path, change: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """(repository, run): a repository with an executable ``run.sh`` and a completed
    workspace run of ``change`` (default :data:`APPLY_CHANGE`) on it, under ``root``."""
    from _workflow import FAST

    from actors import Supervisor

    repo = make_repo(
        root / "repo",
        {"src/app.py": APP, "tests/test_app.py": TEST, "conftest.py": "", "run.sh": "echo\n"},
    )
    (repo / "run.sh").chmod(0o755)
    commit_all(repo, "executable")
    run = root / "run"
    model = workspace_model(code=[{"tool_input": change or APPLY_CHANGE}])
    assert Supervisor(FAST, model=model).run("greet with hi", run, workspace=repo).ok
    return repo, run
