"""The Coder's change set: operations that apply exactly, and those refused, by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from _repo import EDIT_APP, make_repo, needs_git, workspace_model
from _workflow import FAST, of_type
from hypothesis import given
from hypothesis import strategies as st

from actors import Supervisor
from events import ChangeSet, CodeProduced, StepFailed
from store import ChangeRejected, ObjectStore, Tree, base_tree, record_base

pytestmark = needs_git


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    tmp = tmp_path_factory.mktemp("edits")
    base = record_base(make_repo(tmp / "repo"), tmp / "run")
    return base_tree(base, ObjectStore(tmp / "run"))


def change(*ops: dict[str, Any]) -> ChangeSet:
    return msgspec.convert({"changes": list(ops)}, ChangeSet)


def test_every_kind_of_operation_applies_in_order(tree: Tree) -> None:
    after = tree.apply(
        change(
            {"op": "edit", "path": "src/app.py", "search": '"hello "', "replace": '"hi "'},
            {"op": "create", "path": "src/new.py", "content": "N = 1\n"},
            {"op": "rename", "path": "README.md", "to": "docs/README.md"},
            {"op": "replace", "path": "conftest.py", "content": "# conftest\n"},
            {"op": "delete", "path": "tests/test_app.py"},
        )
    )
    assert '"hi "' in after.text("src/app.py")
    assert after.text("src/new.py") == "N = 1\n"
    assert "README.md" not in after and after.text("docs/README.md") == "# demo\n"
    assert after.text("conftest.py") == "# conftest\n"
    assert "tests/test_app.py" not in after
    assert "README.md" in tree  # the tree applied to is unchanged


def test_a_search_that_does_not_occur_is_refused_naming_path_and_search(tree: Tree) -> None:
    with pytest.raises(ChangeRejected) as info:
        tree.apply(change({"op": "edit", "path": "src/app.py", "search": "goodbye", "replace": ""}))
    assert info.value.path == "src/app.py"
    assert "does not occur" in str(info.value) and "'goodbye'" in str(info.value)


def test_a_search_that_occurs_twice_is_refused(tree: Tree) -> None:
    with pytest.raises(ChangeRejected, match="occurs 2 times"):
        tree.apply(change({"op": "edit", "path": "src/app.py", "search": "def ", "replace": "x"}))


@pytest.mark.parametrize(
    ("op", "reason"),
    [
        ({"op": "create", "path": "src/app.py", "content": ""}, "already exists"),
        ({"op": "replace", "path": "nope.py", "content": ""}, "no such file"),
        ({"op": "delete", "path": "nope.py"}, "no such file"),
        ({"op": "rename", "path": "src/app.py", "to": "README.md"}, "already exists"),
        ({"op": "create", "path": "README.md/x.py", "content": ""}, "is a file"),
        ({"op": "create", "path": "src", "content": ""}, "is a directory"),
    ],
)
def test_operations_that_do_not_fit_the_tree_are_refused(
    tree: Tree, op: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ChangeRejected, match=reason):
        tree.apply(change(op))


HOSTILE = [
    "/etc/passwd",
    "../escape.py",
    "a/../../b",
    "C:/x",
    "a\\b",
    ".git/hooks/pre-commit",
    "sub/.GIT/config",
    "a\x00b",
]


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_paths_are_refused_in_every_operation(tree: Tree, path: str) -> None:
    for op in (
        {"op": "create", "path": path, "content": "x"},
        {"op": "edit", "path": path, "search": "a", "replace": "b"},
        {"op": "rename", "path": "src/app.py", "to": path},
        {"op": "rename", "path": path, "to": "ok.py"},
    ):
        with pytest.raises(ChangeRejected):
            tree.apply(change(op))


@given(st.text(min_size=1, max_size=40))
def test_any_path_either_stays_inside_or_is_refused(path: str) -> None:
    from store.tree import normal_path

    try:
        normal = normal_path(path)
    except ChangeRejected:
        return
    assert not normal.startswith("/") and ".." not in normal.split("/")
    assert ".git" not in [p.casefold() for p in normal.split("/")]


def test_an_edit_that_does_not_apply_is_a_retryable_invalid_output(tmp_path: Path) -> None:
    bad = {"changes": [{"op": "edit", "path": "src/app.py", "search": "nope", "replace": "x"}]}
    model = workspace_model(code=[{"tool_input": bad}, {"tool_input": EDIT_APP}])
    run = tmp_path / "run"
    result = Supervisor(FAST, model=model).run("greet", run, workspace=make_repo(tmp_path / "r"))
    assert result.ok
    (failed,) = of_type(run, StepFailed)
    assert (failed.step, failed.error_kind, failed.retryable) == ("code", "invalid_output", True)
    assert "src/app.py" in failed.message and "'nope'" in failed.message
    (produced,) = of_type(run, CodeProduced)
    assert produced.change is not None and produced.code.files == ()


def test_a_change_in_the_old_whole_file_format_is_refused_for_a_workspace(tmp_path: Path) -> None:
    whole = {"files": [{"path": "a.py", "content": "x"}], "notes": ""}
    model = workspace_model(code=[{"tool_input": whole}])
    run = tmp_path / "run"
    result = Supervisor(FAST, model=model).run("x", run, workspace=make_repo(tmp_path / "r"))
    assert result.status == "failed"
    assert all(f.error_kind == "invalid_output" for f in of_type(run, StepFailed))


def test_files_keeps_an_executable_file_executable(tmp_path: Path) -> None:
    from _repo import commit_all, write

    repo = make_repo(tmp_path / "r")
    write(repo, {"run.sh": "#!/bin/sh\necho ok\n"})
    (repo / "run.sh").chmod(0o755)
    commit_all(repo, "a script")
    run = tmp_path / "run"
    assert Supervisor(FAST, model=workspace_model()).run("x", run, workspace=repo).ok
    assert (run / "files" / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (run / "files" / "src" / "extra.py").stat().st_mode & 0o777 == 0o644
