"""The diff of a change is one ``git apply`` accepts, whatever the files hold."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from _repo import make_repo, needs_git

from store import Entry, ObjectStore, Tree, object_hash, render_diff, tree_diff

pytestmark = needs_git

CASES = {
    "no newline at the end, before": (b"a\nb", b"a\nc\n"),
    "no newline at the end, after": (b"a\nb\n", b"a\nb"),
    "no newline at either end": (b"one", b"two"),
    "CRLF lines": (b"a\r\nb\r\n", b"a\r\nB\r\n"),
    "a lone carriage return and a form feed": (b"a\rb\x0cc\nd\n", b"a\rb\x0cc\nD\n"),
    "unicode": ("héllo\n".encode(), "hällo wörld\n".encode()),
    "emptied": (b"x\n", b""),
    "filled from empty": (b"", b"y\n"),
    "long file, change in the middle": (
        b"".join(b"line %d\n" % i for i in range(200)),
        b"".join(b"line %d\n" % (i if i != 100 else -1) for i in range(200)),
    ),
}


def tree(files: dict[str, bytes], store: ObjectStore) -> Tree:
    entries = {p: Entry(mode=0o644, hash=object_hash(d), data=d) for p, d in files.items()}
    return Tree(entries, {}, store)


@pytest.mark.parametrize("case", sorted(CASES))
def test_git_apply_turns_the_old_file_into_the_new_one(case: str, tmp_path: Path) -> None:
    before, after = CASES[case]
    store = ObjectStore(tmp_path / "run")
    old = tree(
        {"f.txt": before, "gone.txt": b"bye\n", "moved.txt": b"same\n", "was_empty": b""}, store
    )
    new = tree(
        {"f.txt": after, "born.txt": b"hi", "sub/moved.txt": b"same\n", "new_empty": b""}, store
    )
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    for path, data in {
        "f.txt": before,
        "gone.txt": b"bye\n",
        "moved.txt": b"same\n",
        "was_empty": b"",
    }.items():
        (work / path).write_bytes(data)
    patch = tmp_path / "p.diff"
    patch.write_text(render_diff(tree_diff(old, new)))
    subprocess.run(["git", "apply", str(patch)], cwd=work, check=True, capture_output=True)
    assert (work / "f.txt").read_bytes() == after
    assert (work / "born.txt").read_bytes() == b"hi"
    assert (work / "sub" / "moved.txt").read_bytes() == b"same\n"
    assert not (work / "gone.txt").exists() and not (work / "moved.txt").exists()
    assert (work / "new_empty").read_bytes() == b"" and not (work / "was_empty").exists()


def test_the_reviewer_reads_names_as_they_are_as_recorded_runs_asked(tmp_path: Path) -> None:
    from _repo import APP, workspace_model
    from _workflow import FAST

    from actors import Supervisor

    repo = make_repo(tmp_path / "repo", {"src/app.py": APP, "docs/café.md": "un\n"})
    edit = {"op": "edit", "path": "docs/café.md", "search": "un", "replace": "deux"}
    model = workspace_model(code=[{"tool_input": {"changes": [edit]}}])
    assert Supervisor(FAST, model=model).run("x", tmp_path / "run", workspace=repo).ok
    review = model.calls[-1].messages[0]["content"]
    assert "diff --git a/docs/café.md b/docs/café.md\n" in review
