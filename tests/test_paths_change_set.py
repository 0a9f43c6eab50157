"""One validator decides which Coder file sets can be written; the writer trusts it.

Each answer below passed the old validation and then broke when written (a traceback and
``WorkflowFailed internal``, or a log ``project`` could not rebuild). Now the validator
refuses it as a retryable invalid answer, and what it accepts is always materialized.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from _events import code, stamp, started
from _workflow import FAST, answer, kinds, of_type, scripted
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import Supervisor
from actors.models import ModelError, ModelResponse, parse_artifact
from events import CodeChange, CodeProduced, StepFailed
from store import EventLog, materialize
from store.paths import (
    MAX_COMPONENTS,
    MAX_NAME_BYTES,
    MAX_PATH_BYTES,
    UnsafePath,
    change_set_problem,
    normalize_rel,
    path_problem,
)

#: A 243-byte file name of two-byte characters: fine alone, too long inside a temp name
#: built from its first 200 characters.
LONG_NAME = "é" * 121 + "a"

#: File sets that cannot be written, by what is wrong with them.
UNWRITABLE: dict[str, list[str]] = {
    "1,000 components": ["/".join(["d"] * 999 + ["f.py"])],
    "a file and its directory": ["a", "a/b.py"],
    "a directory and its file": ["a/b.py", "a"],
    "20 components of 250 bytes": ["/".join(["x" * 250] * 20)],
    "lone surrogate in a path": ["ok.py", "bad\ud800.py"],
    "the same file twice": ["a.py", "./a.py"],
}


@pytest.mark.parametrize("name", sorted(UNWRITABLE))
def test_the_validator_names_the_offending_path(name: str) -> None:
    paths = UNWRITABLE[name]
    found = change_set_problem(paths)
    assert found is not None
    index, err = found
    assert index == len(paths) - 1
    assert isinstance(err, UnsafePath)
    assert err.path == paths[index]


def test_a_long_non_ascii_name_is_valid_and_written(tmp_path: Path) -> None:
    assert len(LONG_NAME.encode()) == 243
    assert change_set_problem([LONG_NAME, f"dir/{LONG_NAME}"]) is None
    run_dir = tmp_path / "run"
    code = answer({"files": [{"path": LONG_NAME, "content": "x = 1\n"}]})
    Supervisor(FAST, model=scripted(code=[code])).run("task", run_dir)
    assert kinds(run_dir)[-1] == "WorkflowCompleted"
    assert (run_dir / "files" / LONG_NAME).read_text() == "x = 1\n"


def _run_with_bad_then_good(run_dir: Path, bad: dict[str, Any]) -> None:
    good = answer({"files": [{"path": "ok.py", "content": "OK = 1\n"}]})
    Supervisor(FAST, model=scripted(code=[answer(bad), good])).run("task", run_dir)


@pytest.mark.parametrize("name", sorted(set(UNWRITABLE) - {"lone surrogate in a path"}))
def test_an_unwritable_set_is_a_retryable_invalid_answer_and_the_run_completes(
    tmp_path: Path, name: str
) -> None:
    run_dir = tmp_path / "run"
    files = [{"path": p, "content": "pass\n"} for p in UNWRITABLE[name]]
    _run_with_bad_then_good(run_dir, {"files": files})
    failed = of_type(run_dir, StepFailed)
    assert [(f.error_kind, f.retryable) for f in failed] == [("invalid_output", True)]
    assert f"$.files[{len(files) - 1}].path" in failed[0].message
    assert kinds(run_dir)[-1] == "WorkflowCompleted"
    _assert_project_rebuilds(run_dir)


@pytest.mark.parametrize("field", ["path", "notes", "content"])
def test_a_lone_surrogate_in_any_string_is_a_retryable_invalid_answer(field: str) -> None:
    # Through parse_artifact only: no log line can carry a lone surrogate, so recording
    # the raw response (ModelCalled) is up to the model client, which must clean it.
    file = {"path": "a.py", "content": "pass\n"}
    tool_input: dict[str, Any] = {"files": [file], "notes": "fine"}
    if field == "notes":
        tool_input["notes"] = "bad \ud800 notes"
    else:
        file[field] = file[field] + "\udc00"
    block = {"type": "tool_use", "id": "t1", "name": "submit_code", "input": tool_input}
    response = ModelResponse(content=(block,), stop_reason="tool_use")
    with pytest.raises(ModelError) as caught:
        parse_artifact(response, CodeChange)
    assert (caught.value.kind, caught.value.retryable) == ("invalid_output", True)
    assert "surrogate" in str(caught.value)


def _assert_project_rebuilds(run_dir: Path) -> None:
    before = {
        p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and "events" not in p.name
    }
    shutil.rmtree(run_dir / "files")
    for name in ("plan.json", "code.json", "review.json"):
        (run_dir / name).unlink()
    materialize(run_dir, EventLog(run_dir).read())
    after = {
        p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and "events" not in p.name
    }
    assert after == before


_NAMES = st.text(alphabet=st.characters(blacklist_characters="/\\\x00"), min_size=1, max_size=140)


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(_NAMES, min_size=1, max_size=MAX_COMPONENTS + 2))
def test_whatever_the_validator_accepts_can_be_written(
    tmp_path_factory: pytest.TempPathFactory, parts: list[str]
) -> None:
    rel = "/".join(parts)
    problem = path_problem(rel)
    if problem is not None:
        return
    names = normalize_rel(rel)
    assert len(names) <= MAX_COMPONENTS
    assert all(len(n.encode()) <= MAX_NAME_BYTES for n in names)
    assert len("/".join(names).encode()) <= MAX_PATH_BYTES
    run_dir = tmp_path_factory.mktemp("any") / "run"
    materialize(run_dir, stamp([started(), CodeProduced(code=code({rel: "data\n"}))]))
    assert run_dir.joinpath("files", *names).read_bytes() == b"data\n"
