"""Handing the change back: a diff git accepts, and an apply that checks before it writes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import msgspec
import pytest
from _repo import (
    EDIT_APP,
    FIX_TEST,
    GIT_ENV,
    PLAN_APP,
    commit_all,
    git,
    make_repo,
    needs_git,
    workspace_model,
    write,
)
from _workflow import FAST

from actors import Supervisor
from actors.cli import main
from actors.models import ScriptedModel
from actors.workspace.apply import ApplyRefused, NotApproved, apply_run, commit_run, run_change
from events import ApprovalDecided
from store import EventLog, render_diff, workflow_state

pytestmark = needs_git

TASK = "greet with hi"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(repo, run, pristine copy of the repo): one run that edited src/app.py and created
    src/extra.py, shared by the tests of this module (they only read the run)."""
    tmp = tmp_path_factory.mktemp("apply")
    repo = make_repo(tmp / "repo")
    run = tmp / "run"
    assert Supervisor(FAST, model=workspace_model()).run(TASK, run, workspace=repo).ok
    pristine = Path(shutil.copytree(repo, tmp / "pristine", symlinks=True))
    return repo, run, pristine


@pytest.fixture
def done(recorded: tuple[Path, Path, Path]) -> tuple[Path, Path]:
    """(repo, run) with the repository as it was when the run recorded it."""
    repo, run, pristine = recorded
    shutil.rmtree(repo, ignore_errors=True)  # a test may have deleted it
    shutil.copytree(pristine, repo, symlinks=True)
    return repo, run


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


def test_files_holds_the_workspace_after_the_change(done: tuple[Path, Path]) -> None:
    _, run = done
    files = tree_bytes(run / "files")
    assert set(files) == {
        "README.md",
        "conftest.py",
        "src/app.py",
        "src/extra.py",
        "tests/test_app.py",
    }
    assert b'return "hi " + name' in files["src/app.py"]


def test_the_diff_is_accepted_by_git_apply(done: tuple[Path, Path], tmp_path: Path) -> None:
    repo, run = done
    patch = tmp_path / "change.diff"
    patch.write_text(render_diff(run_change(run)[2]))
    git(repo, "apply", "--check", str(patch))
    git(repo, "apply", str(patch))
    assert tree_bytes(repo) == tree_bytes(run / "files")


def test_diff_prints_plain_text_when_piped(
    done: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    _, run = done
    assert main(["diff", str(run)]) == 0
    out = capfd.readouterr().out
    assert "\033[" not in out
    assert "+++ b/src/app.py" in out and '+    return "hi " + name' in out
    assert "new file mode 100644" in out


def test_diff_stat_counts_the_lines(
    done: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    _, run = done
    assert main(["diff", str(run), "--stat"]) == 0
    out = capfd.readouterr().out
    assert "2 files changed, 2 insertions(+), 1 deletion(-)" in out


def test_diff_of_a_run_without_workspace_is_a_usage_error(
    capfd: pytest.CaptureFixture[str],
) -> None:
    fixture = Path(__file__).parent / "fixtures" / "v1-demo"
    assert main(["diff", str(fixture)]) == 2
    assert "has no workspace" in capfd.readouterr().err


def test_apply_changes_the_recorded_workspace_to_the_result(done: tuple[Path, Path]) -> None:
    repo, run = done
    report = apply_run(run)
    assert set(report.written) == {"src/app.py", "src/extra.py"}
    assert tree_bytes(repo) == tree_bytes(run / "files")


def test_apply_onto_a_moved_on_tree_is_refused_naming_the_file_and_writes_nothing(
    done: tuple[Path, Path],
) -> None:
    repo, run = done
    write(repo, {"src/app.py": (repo / "src/app.py").read_text() + "\n# moved on\n"})
    commit_all(repo, "moved on")
    before = tree_bytes(repo)
    with pytest.raises(ApplyRefused, match=r"src/app\.py: changed since the run's base"):
        apply_run(run)
    assert tree_bytes(repo) == before


def test_three_way_merges_a_moved_on_tree(done: tuple[Path, Path]) -> None:
    repo, run = done
    write(repo, {"src/app.py": "# a header added upstream\n" + (repo / "src/app.py").read_text()})
    report = apply_run(run, three_way=True)
    assert report.merged == ("src/app.py",)
    text = (repo / "src/app.py").read_text()
    assert text.startswith("# a header added upstream\n") and 'return "hi " + name' in text


def test_three_way_refuses_a_conflict_and_writes_nothing(done: tuple[Path, Path]) -> None:
    repo, run = done
    write(repo, {"src/app.py": (repo / "src/app.py").read_text().replace('"hello "', '"hey "')})
    before = tree_bytes(repo)
    with pytest.raises(ApplyRefused, match="three-way merge conflicts"):
        apply_run(run, three_way=True)
    assert tree_bytes(repo) == before


def test_a_three_way_conflict_names_the_file_and_the_lines(done: tuple[Path, Path]) -> None:
    repo, run = done
    text = (repo / "src/app.py").read_text()
    write(repo, {"src/app.py": "# one\n# two\n" + text.replace('"hello "', '"hey "')})
    with pytest.raises(ApplyRefused) as refused:
        apply_run(run, three_way=True)
    assert "src/app.py: the three-way merge conflicts at line 2 (the target's line 4)" in str(
        refused.value
    )


def test_apply_onto_a_dirty_tree_refuses_only_when_a_touched_file_is_dirty(
    done: tuple[Path, Path],
) -> None:
    repo, run = done
    write(repo, {"README.md": "# local edit, not committed\n"})
    apply_run(run)  # README.md is not part of the change: the dirty file is left as it is
    assert (repo / "README.md").read_text() == "# local edit, not committed\n"
    git(repo, "checkout", "--", "src/app.py")
    (repo / "src/extra.py").unlink()
    write(repo, {"src/app.py": "# dirty\n"})
    with pytest.raises(ApplyRefused, match=r"src/app\.py"):
        apply_run(run)


def test_a_file_to_create_that_exists_in_the_target_is_refused(done: tuple[Path, Path]) -> None:
    repo, run = done
    write(repo, {"src/extra.py": "mine\n"})
    with pytest.raises(ApplyRefused, match=r"src/extra\.py: already exists"):
        apply_run(run)
    assert (repo / "src/extra.py").read_text() == "mine\n"


def test_a_failure_mid_apply_leaves_the_tree_as_it_was(
    done: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, run = done
    before = tree_bytes(repo)
    real = os.replace
    calls = {"n": 0}

    def flaky(src: object, dst: object, **kw: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real(src, dst, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(OSError, match="No space"):
        apply_run(run)
    monkeypatch.undo()
    assert tree_bytes(repo) == before
    assert not [p for p in repo.rglob("*agentlog-*")]


def test_apply_to_another_directory(done: tuple[Path, Path], tmp_path: Path) -> None:
    repo, run = done
    other = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", str(repo), str(other)], check=True, env={**os.environ, **GIT_ENV}
    )
    assert main(["apply", str(run), "--to", str(other)]) == 0
    assert tree_bytes(other) == tree_bytes(run / "files")
    assert not (repo / "src/extra.py").exists()


def test_branch_commits_the_change_at_the_base_commit(
    done: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, run = done
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    base = git(repo, "rev-parse", "HEAD").strip()
    write(repo, {"later.txt": "x\n"})
    commit_all(repo, "the repository moved on")
    status_before = git(repo, "status", "--porcelain")
    report = commit_run(run, "agentlog/hi")
    assert git(repo, "rev-parse", "agentlog/hi^").strip() == base
    assert 'return "hi "' in git(repo, "show", "agentlog/hi:src/app.py")
    assert git(repo, "show", "agentlog/hi:src/extra.py") == "X = 1\n"
    assert git(repo, "status", "--porcelain") == status_before  # working tree untouched
    assert report.commit == git(repo, "rev-parse", "agentlog/hi").strip()


def test_branch_refuses_an_existing_branch(done: tuple[Path, Path]) -> None:
    _, run = done
    with pytest.raises(ApplyRefused, match="already exists"):
        commit_run(run, "main")


def test_apply_cli_refusal_exits_1_and_names_the_file(
    done: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    repo, run = done
    write(repo, {"src/app.py": "# changed\n"})
    assert main(["apply", str(run)]) == 1
    err = capfd.readouterr().err
    assert "src/app.py: changed since the run's base" in err and "--3way" in err


def test_a_new_file_under_a_path_that_is_a_file_in_the_target_is_refused(
    done: tuple[Path, Path],
) -> None:
    repo, run = done
    shutil.rmtree(repo / "src")
    write(repo, {"src": "now a file\n"})
    with pytest.raises(ApplyRefused, match="its directory src is not a directory"):
        apply_run(run)


def test_diff_json_is_one_object_per_changed_file(
    done: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    import json

    _, run = done
    assert main(["diff", str(run), "--json"]) == 0
    rows = json.loads(capfd.readouterr().out)
    assert [(r["path"], r["status"]) for r in rows] == [
        ("src/app.py", "modified"),
        ("src/extra.py", "added"),
    ]


def test_diff_round_must_not_be_negative(
    done: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    _, run = done
    assert main(["diff", str(run), "--round", "-1"]) == 2
    assert "--round must be between 0 and" in capfd.readouterr().err


def test_apply_branch_from_the_command_line(
    done: tuple[Path, Path], capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, run = done
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    assert main(["apply", str(run), "--branch", "agentlog/cli"]) == 0
    assert "git switch agentlog/cli" in capfd.readouterr().out
    assert git(repo, "rev-parse", "agentlog/cli^").strip() == git(repo, "rev-parse", "HEAD").strip()


def test_the_branch_commit_message_is_written_from_the_run_and_carries_its_id(
    done: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, run = done
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    commit_run(run, "agentlog/msg")
    message = git(repo, "log", "-1", "--format=%B", "agentlog/msg")
    subject, blank, *body = message.splitlines()
    assert subject == PLAN_APP["summary"] and blank == ""
    assert TASK in body and "greet says hi; tests updated" in body
    trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", "agentlog/msg")
    workflow_id = workflow_state(EventLog(run).read()).workflow_id
    assert f"Agentlog-Run: {workflow_id}" in trailers.splitlines()
    assert "Agentlog-Model: scripted" in trailers.splitlines()


def test_a_subject_from_a_long_task_is_one_line_of_at_most_72_characters() -> None:
    from actors.workspace.apply import commit_message
    from store import WorkflowState

    task = "  \n" + "make the parser accept dates " * 10 + "\x1b[31m\nsecond line\n"
    message = commit_message(WorkflowState(workflow_id="wf-1", task=task))
    subject = message.splitlines()[0]
    assert len(subject) <= 72 and subject.startswith("make the parser accept dates")
    assert subject.endswith("...") and "\x1b" not in message
    assert message.endswith("\n\nAgentlog-Run: wf-1\n")


@pytest.mark.parametrize(
    "name", ["@", "HEAD", "FETCH_HEAD", "ORIG_HEAD", "refs/heads/x", "-x", "a..b", "x@{-1}", ""]
)
def test_branch_refuses_a_name_that_is_not_a_plain_branch(
    done: tuple[Path, Path], capfd: pytest.CaptureFixture[str], name: str
) -> None:
    repo, run = done
    refs_before = git(repo, "for-each-ref")
    assert main(["apply", str(run), f"--branch={name}"]) == 2
    err = capfd.readouterr().err
    assert "not a plain branch name" in err and err.count("\n") == 1
    assert git(repo, "for-each-ref") == refs_before


def test_branch_outside_git_says_so_in_one_line_of_its_own(
    done: tuple[Path, Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _, run = done
    plain = tmp_path / "plain"
    plain.mkdir()
    env = {"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        assert main(["apply", str(run), "--branch", "x", "--to", str(plain)]) == 2
    err = capfd.readouterr().err
    assert err == f"agentlog: {plain}: not a git repository (--branch commits into one)\n"
    assert list(plain.iterdir()) == []


def test_branch_into_a_repository_without_the_base_commit_names_it(
    done: tuple[Path, Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _, run = done
    other = make_repo(tmp_path / "other", {"x.txt": "another project\n"})
    assert main(["apply", str(run), "--branch", "x", "--to", str(other)]) == 2
    err = capfd.readouterr().err
    assert f"{other}: does not hold the run's base commit" in err and "fatal" not in err


def test_apply_to_a_deleted_workspace_names_the_directory(
    done: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    repo, run = done
    shutil.rmtree(repo)
    assert main(["apply", str(run)]) == 2
    assert capfd.readouterr().err == f"agentlog: {repo}: the target directory does not exist\n"
    assert not repo.exists()


# -- apply hands back only what was approved ---------------------------------------------

CODE_GATE = msgspec.structs.replace(FAST, approve=("code",))
NOT_APPLIED = "not applied, nothing written"


def reviewed(verdict: str, summary: str = "Reviewed.") -> ScriptedModel:
    """A model that plans, makes the usual change and reviews it with ``verdict``."""
    return ScriptedModel(
        {
            "plan": [{"tool_input": PLAN_APP}],
            "code": [{"tool_input": EDIT_APP}],
            "review": [{"tool_input": {"verdict": verdict, "summary": summary}}],
        }
    )


@pytest.fixture
def waiting(tmp_path: Path) -> tuple[Path, Path]:
    """(repo, run) of a run parked at its code gate, the change made but not approved."""
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    result = Supervisor(CODE_GATE, model=workspace_model()).run(TASK, run, workspace=repo)
    assert result.status == "waiting"
    return repo, run


def test_apply_refuses_a_run_waiting_at_its_code_gate_and_writes_nothing(
    waiting: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    repo, run = waiting
    before = tree_bytes(repo)
    assert main(["apply", str(run)]) == 2
    assert capfd.readouterr().err == (
        f"agentlog: {run}: {NOT_APPLIED}: the run waits at its code gate for a person's "
        "decision (--force applies it anyway)\n"
    )
    assert tree_bytes(repo) == before


def test_apply_refuses_a_change_a_person_rejected(
    waiting: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    repo, run = waiting
    assert (
        Supervisor.reject(run, "wrong approach", by="ana", model=workspace_model()).status
        == "failed"
    )
    before, refs = tree_bytes(repo), git(repo, "for-each-ref")
    assert main(["apply", str(run)]) == 2
    assert main(["apply", str(run), "--branch", "agentlog/rejected"]) == 2
    err = capfd.readouterr().err.splitlines()
    assert len(err) == 2
    assert all("the code was rejected by ana: wrong approach" in line for line in err)
    assert (tree_bytes(repo), git(repo, "for-each-ref")) == (before, refs)


def test_apply_refuses_a_rejection_recorded_but_not_yet_acted_on(
    waiting: tuple[Path, Path],
) -> None:
    _, run = waiting
    Supervisor.reject(run, "no", by="ana", proceed=False)
    with pytest.raises(NotApproved, match="the code was rejected by ana: no"):
        apply_run(run)


def test_apply_refuses_a_failed_run(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    assert (
        Supervisor(FAST, model=reviewed("maybe")).run(TASK, run, workspace=repo).status == "failed"
    )
    assert main(["apply", str(run)]) == 2
    err = capfd.readouterr().err
    assert f"{NOT_APPLIED}: the run failed (invalid_output: review failed" in err
    assert not (repo / "src/extra.py").exists()


@pytest.mark.parametrize("verdict", ["reject", "request_changes"])
def test_apply_refuses_a_change_the_review_did_not_approve(
    tmp_path: Path, verdict: str, capfd: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    assert (
        Supervisor(FAST, model=reviewed(verdict)).run(TASK, run, workspace=repo).status
        == "completed"
    )
    assert main(["apply", str(run)]) == 2
    assert f"the review's verdict is {verdict}, not approve" in capfd.readouterr().err
    assert not (repo / "src/extra.py").exists()


def test_force_applies_an_unapproved_change_and_says_so(
    waiting: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    repo, run = waiting
    assert main(["apply", str(run), "--force"]) == 0
    err = capfd.readouterr().err
    assert err.startswith("agentlog: note: --force: not approved (the run waits at its code")
    assert (repo / "src/extra.py").read_text() == "X = 1\n"
    assert not any(isinstance(ev, ApprovalDecided) for ev in EventLog(run).read())


def test_the_python_api_refuses_an_unapproved_change_too(waiting: tuple[Path, Path]) -> None:
    _, run = waiting
    with pytest.raises(NotApproved, match="waits at its code gate"):
        apply_run(run)
    with pytest.raises(NotApproved, match="waits at its code gate"):
        commit_run(run, "agentlog/not-yet")
    report = apply_run(run, force=True)
    assert report.not_approved == "the run waits at its code gate for a person's decision"


def test_apply_of_an_approved_run_reports_nothing_forced(done: tuple[Path, Path]) -> None:
    _, run = done
    assert apply_run(run).not_approved is None


def test_an_earlier_round_than_the_last_was_sent_back_so_apply_refuses_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    model = ScriptedModel(
        {
            "plan": [{"tool_input": PLAN_APP}],
            "code": [{"tool_input": EDIT_APP}, {"tool_input": FIX_TEST}],
            "review": [
                {"tool_input": {"verdict": "request_changes", "summary": "Fix the test."}},
                {"tool_input": {"verdict": "approve", "summary": "Fine."}},
            ],
        }
    )
    two_rounds = msgspec.structs.replace(FAST, max_revisions=1)
    assert Supervisor(two_rounds, model=model).run(TASK, run, workspace=repo).ok
    assert main(["apply", str(run), "--round", "0"]) == 2
    err = capfd.readouterr().err
    assert "revision round 0 was sent back for changes (the last is 1)" in err
    assert not (repo / "src/extra.py").exists()
    assert main(["apply", str(run), "--round", "1"]) == 0
    assert "hi x" in (repo / "tests/test_app.py").read_text()


def test_branch_of_a_run_whose_base_was_no_git_repository_says_so(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    write(plain, {"src/app.py": "x = 0\n"})
    run = tmp_path / "run"
    edit = {"changes": [{"op": "create", "path": "src/extra.py", "content": "X = 1\n"}]}
    model = workspace_model(code=[{"tool_input": edit}])
    assert Supervisor(FAST, model=model).run(TASK, run, workspace=plain).ok
    assert main(["apply", str(run), "--branch", "x"]) == 2
    err = capfd.readouterr().err
    assert err.startswith(f"agentlog: {plain}: the run's base is no git commit")
    assert err.count("\n") == 1
    assert not (plain / ".git").exists() and not (plain / "src/extra.py").exists()
