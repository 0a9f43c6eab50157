"""Recording a workspace's base: which files, why others are left out, git state, tests."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import msgspec
import pytest
from _repo import commit_all, git, make_messy_repo, make_repo, needs_git, workspace_model, write
from _workflow import FAST, of_type

from actors import Supervisor
from events import WorkflowStarted, WorkspaceBase, encode_line
from store import EventLog, ObjectStore, WorkspaceError, detect_tests, object_hash, record_base

pytestmark = needs_git


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    return make_messy_repo(tmp_path / "repo", tmp_path / "outside.txt")


def test_git_tracked_files_are_taken_in_with_size_mode_and_hash(
    messy: Path, tmp_path: Path
) -> None:
    base = record_base(messy, tmp_path / "run")
    files = {f.path: f for f in base.files}
    assert set(files) >= {"src/app.py", "tests/test_app.py", "README.md", ".gitignore"}
    app = files["src/app.py"]
    assert app.size == len((messy / "src/app.py").read_bytes())
    assert app.mode == 0o644
    assert ObjectStore(tmp_path / "run").get(app.hash) == (messy / "src/app.py").read_bytes()


def test_the_commit_and_the_dirty_flag_are_recorded(messy: Path, tmp_path: Path) -> None:
    base = record_base(messy, tmp_path / "run")
    assert base.commit == git(messy, "rev-parse", "HEAD").strip()
    assert base.dirty
    readme = next(f for f in base.files if f.path == "README.md")
    assert ObjectStore(tmp_path / "run").get(readme.hash).startswith(b"# demo, edited")


def test_a_clean_checkout_is_not_dirty(tmp_path: Path) -> None:
    base = record_base(make_repo(tmp_path / "repo"), tmp_path / "run")
    assert base.commit is not None and not base.dirty


def test_binaries_symlinks_and_big_files_are_left_out_with_the_reason(
    messy: Path, tmp_path: Path
) -> None:
    base = record_base(messy, tmp_path / "run")
    reasons = {lo.path: lo.reason for lo in base.left_out}
    assert reasons["logo.png"] == "binary"
    assert reasons["escape"] == "a symlink leaving the workspace"
    assert reasons["inside"].startswith("a symlink")
    assert reasons["big.txt"].startswith("larger than 1000000 bytes")
    taken = {f.path for f in base.files}
    assert not taken & set(reasons)


def test_in_git_the_ignored_and_untracked_files_are_not_taken_in(
    messy: Path, tmp_path: Path
) -> None:
    write(messy, {"untracked.py": "x = 1\n"})
    base = record_base(messy, tmp_path / "run")
    taken = {f.path for f in base.files}
    assert "debug.log" not in taken and "untracked.py" not in taken
    assert "build/out.txt" in taken  # force-added: git tracks it, so it is taken in


def test_outside_git_the_gitignore_patterns_are_honoured(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    write(
        root,
        {
            ".gitignore": "*.log\nbuild/\n",
            "a.py": "A = 1\n",
            "debug.log": "x\n",
            "build/x.py": "x\n",
            "sub/.gitignore": "secret.txt\n",
            "sub/secret.txt": "s\n",
            "sub/keep.txt": "k\n",
        },
    )
    base = record_base(root, tmp_path / "run")
    assert base.commit is None and not base.dirty
    assert {f.path for f in base.files} == {".gitignore", "a.py", "sub/.gitignore", "sub/keep.txt"}


def test_a_missing_workspace_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="not a directory"):
        record_base(tmp_path / "nope", tmp_path / "run")


def test_recording_the_same_tree_twice_stores_no_object_twice(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    record_base(repo, tmp_path / "run")
    before = sorted((tmp_path / "run" / "objects").rglob("*"))
    record_base(repo, tmp_path / "run")
    assert sorted((tmp_path / "run" / "objects").rglob("*")) == before


def test_the_recording_never_writes_into_the_workspace(messy: Path, tmp_path: Path) -> None:
    before = {p: p.lstat().st_mtime_ns for p in messy.rglob("*") if ".git" not in p.parts}
    record_base(messy, tmp_path / "run")
    after = {p: p.lstat().st_mtime_ns for p in messy.rglob("*") if ".git" not in p.parts}
    assert after == before


@pytest.mark.parametrize(
    ("files", "source"),
    [
        ({"pyproject.toml": b"[tool.pytest.ini_options]\n", "a.py": b""}, "pytest"),
        ({"conftest.py": b""}, "pytest"),
        ({"tests/test_a.py": b"import pytest\n"}, "pytest"),
        ({"test_a.py": b"import unittest\n"}, "unittest"),
        ({"a.py": b"print(1)\n"}, "none"),
    ],
)
def test_the_test_command_is_detected(files: dict[str, bytes], source: str) -> None:
    command, found = detect_tests(files)
    assert found == source
    assert bool(command) == (source != "none")


def test_a_given_test_command_wins_and_is_recorded(tmp_path: Path) -> None:
    base = record_base(make_repo(tmp_path / "repo"), tmp_path / "run", test_cmd="make test")
    assert (base.test_command, base.test_source) == (("sh", "-c", "make test"), "config")


def test_a_path_agentlog_could_not_write_back_is_left_out(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    deep = "/".join(["d"] * 70) + "/f.txt"
    write(root, {"ok.txt": "ok\n", deep: "deep\n"})
    base = record_base(root, tmp_path / "run")
    assert [f.path for f in base.files] == ["ok.txt"]
    (left,) = base.left_out
    assert left.path == deep and left.reason.startswith("a path agentlog cannot write")


NOT_UTF8 = os.fsdecode(b"caf\xe9.txt")  # Latin-1 "café.txt": a name that is not UTF-8


def test_a_file_name_that_is_not_utf8_is_left_out_with_the_reason(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    write(root, {"ok.txt": "ok\n", NOT_UTF8: "hi\n", f"dir{NOT_UTF8}/inner.txt": "x\n"})
    base = record_base(root, tmp_path / "run")
    assert [f.path for f in base.files] == ["ok.txt"]
    assert sorted((left.path, left.reason) for left in base.left_out) == [
        ("caf\\xe9.txt", "file name is not UTF-8"),
        ("dircaf\\xe9.txt/inner.txt", "file name is not UTF-8"),
    ]
    encode_line(WorkflowStarted(task="t", workspace=base))  # the record can be logged


@needs_git
def test_a_repository_with_a_name_that_is_not_utf8_can_be_run_on(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(repo, {NOT_UTF8: "hi\n"})
    commit_all(repo, "a Latin-1 name")
    run = tmp_path / "run"
    assert Supervisor(FAST, model=workspace_model()).run("hi", run, workspace=repo).ok
    (started,) = of_type(run, WorkflowStarted)
    assert started.workspace is not None
    assert ("caf\\xe9.txt", "file name is not UTF-8") in [
        (left.path, left.reason) for left in started.workspace.left_out
    ]
    assert EventLog(run).verify().ok


AWS_KEY_ID = "AKIA" + "ABCDEFGHIJKLMNOP"  # a fake key id, cut in two
ENV_SECRET = "env-Secret/value+42!"
CREDENTIAL_FILES = {
    ".env": "DATABASE_URL=postgres://app:hunter22@db/app\n",
    "deploy/.env.production": "TOKEN=abc\n",
    "certs/server.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    "keys/id_ed25519": "not really a key\n",
    "home/.aws/credentials": "[default]\nregion = eu-west-1\n",
    ".netrc": "machine example.com login me password pw\n",
    "gcloud/credentials.json": "{}\n",
}


def _stored(run: Path, content: bytes) -> bool:
    return object_hash(content) in ObjectStore(run)


def test_credential_files_are_left_out_with_the_reason(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {**CREDENTIAL_FILES, "a.py": "A = 1\n"})
    base = record_base(repo, tmp_path / "run")
    reasons = {lo.path: lo.reason for lo in base.left_out}
    assert set(reasons) == set(CREDENTIAL_FILES)
    assert reasons[".env"] == "a credential file (an environment file)"
    assert reasons["keys/id_ed25519"] == "a credential file (an SSH private key)"
    assert reasons["home/.aws/credentials"] == "a credential file (AWS credentials)"
    assert {f.path for f in base.files} >= {"a.py"}
    for content in CREDENTIAL_FILES.values():
        assert not _stored(tmp_path / "run", content.encode())


def test_an_env_template_without_secrets_is_taken_in(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {".env.example": "API_KEY=\n", "a.py": ""})
    base = record_base(repo, tmp_path / "run")
    assert ".env.example" in {f.path for f in base.files}


def test_a_file_holding_a_known_token_is_left_out(tmp_path: Path) -> None:
    settings = f"AWS_ACCESS_KEY_ID = '{AWS_KEY_ID}'\n"
    repo = make_repo(tmp_path / "repo", {"settings.py": settings, ".env.sample": settings})
    base = record_base(repo, tmp_path / "run")
    reasons = {lo.path: lo.reason for lo in base.left_out}
    assert reasons["settings.py"] == "holds a secret (AWS access key id)"
    assert reasons[".env.sample"] == "holds a secret (AWS access key id)"
    assert not _stored(tmp_path / "run", settings.encode())


def test_a_file_holding_an_environment_secret_encoded_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVICE_SECRET", ENV_SECRET)
    blob = base64.b64encode(b"user:" + ENV_SECRET.encode()).decode()
    repo = make_repo(tmp_path / "repo", {"auth.txt": f"Basic {blob}\n", "a.py": ""})
    base = record_base(repo, tmp_path / "run")
    reasons = {lo.path: lo.reason for lo in base.left_out}
    assert reasons["auth.txt"] == "holds a secret (the value of $SERVICE_SECRET, base64)"


def test_a_registry_config_is_left_out_only_with_a_token(tmp_path: Path) -> None:
    files = {
        "a/.npmrc": "registry=https://registry.example/\n",
        "b/.npmrc": "//registry.example/:_authToken=${NPM_TOKEN}\n",
    }
    base = record_base(make_repo(tmp_path / "repo", files), tmp_path / "run")
    reasons = {lo.path: lo.reason for lo in base.left_out}
    assert "a/.npmrc" in {f.path for f in base.files}
    assert reasons["b/.npmrc"] == "holds a secret (a package registry token)"


def test_a_credential_file_a_person_allowed_is_taken_in_and_recorded(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {".env": "DEBUG=1\n", "cfg.py": f"K = '{AWS_KEY_ID}'\n"})
    base = record_base(repo, tmp_path / "run", allow_credentials=[".env", "./cfg.py"])
    assert {".env", "cfg.py"} <= {f.path for f in base.files}
    assert base.credentials_allowed == (".env", "cfg.py")
    assert not {lo.path for lo in base.left_out} & {".env", "cfg.py"}


def test_allowing_a_file_the_workspace_does_not_have_is_a_clear_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    with pytest.raises(WorkspaceError, match=r"\.env\.local: not a file of the workspace"):
        record_base(repo, tmp_path / "run", allow_credentials=[".env.local"])


def test_a_base_recorded_before_credentials_were_screened_still_decodes() -> None:
    old = b'{"root":"/w","files":[{"path":".env","size":3,"hash":"' + b"a" * 64 + b'"}]}'
    base = msgspec.json.decode(old, type=WorkspaceBase)
    assert base.credentials_allowed == () and base.files[0].path == ".env"


def test_the_timeline_counts_the_files_left_out_for_secrets(tmp_path: Path) -> None:
    from actors.views.events import describe_base

    repo = make_repo(tmp_path / "repo", {".env": "X=1\n", "a.py": "", "logo.png": b"\0\1"})
    line = describe_base(record_base(repo, tmp_path / "run"))
    assert "2 left out (1 for credentials or secrets)" in line


def test_a_base_is_recorded_holding_one_file_at_a_time(tmp_path: Path) -> None:
    import tracemalloc

    repo = tmp_path / "repo"
    line = b"VALUE = 'x' * 40  # filler\n"
    write(repo, {f"pkg/mod_{i}.py": line * (100_000 // len(line)) for i in range(100)})
    tracemalloc.start()
    try:
        base = record_base(repo, tmp_path / "run")  # 10 MB of files
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(base.files) == 100
    assert peak < 5_000_000  # half of the files: never all of them at once
    store = ObjectStore(tmp_path / "run")
    assert all(store.get(f.hash) == (repo / f.path).read_bytes() for f in base.files)


def test_files_of_a_workspace_run_are_rebuilt_holding_one_file_at_a_time(
    tmp_path: Path,
) -> None:
    import shutil
    import tracemalloc

    from store import materialize

    repo = make_repo(tmp_path / "repo")
    line = b"VALUE = 'x' * 40  # filler\n"
    write(repo, {f"pkg/mod_{i}.py": line * (100_000 // len(line)) for i in range(100)})
    commit_all(repo, "big")
    run = tmp_path / "run"
    assert Supervisor(FAST, model=workspace_model()).run("hi", run, workspace=repo).ok
    shutil.rmtree(run / "files")
    events = list(EventLog(run).read())
    tracemalloc.start()
    try:
        materialize(run, events, durable=False)  # 10 MB of files written back
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (run / "files" / "pkg" / "mod_7.py").read_bytes() == (repo / "pkg/mod_7.py").read_bytes()
    assert peak < 5_000_000  # half of the files: never all of them at once
