"""The tasks file of ``agentlog batch``: one run a line, a bad line named before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.batch import BatchInputError, BatchTask, load_tasks, parse_tasks
from events import WorkflowConfig


def test_each_line_becomes_a_task_with_its_overrides() -> None:
    tasks = parse_tasks(
        b'{"id": "a", "task": "one"}\n\n# a comment\n'
        b'{"id": "b", "task": "two", "config": {"max_retries": 1}, "test_cmd": "pytest -q"}\n'
    )
    assert [t.id for t in tasks] == ["a", "b"]
    config = tasks[1].workflow_config(WorkflowConfig())
    assert config.max_retries == 1
    assert config.run_tests is True


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b"not json", "not a JSON object"),
        (b'{"task": "no id"}', "id"),
        (b'{"id": "a", "task": "t", "colour": "red"}', "colour"),
        (b'{"id": "../up", "task": "t"}', "not a safe directory name"),
        (b'{"id": "a", "task": "   "}', "task is empty"),
        (b'{"id": "a", "task": "t", "config": {"retries": 2}}', "unknown option 'retries'"),
        (b'{"id": "a", "task": "t", "config": {"max_retries": -1}}', "config"),
        (b'{"id": "a", "task": "\xff"}', "not a JSON object"),
    ],
)
def test_a_bad_line_is_named_by_file_and_line(line: bytes, says: str) -> None:
    with pytest.raises(BatchInputError) as caught:
        parse_tasks(b'{"id": "ok", "task": "fine"}\n' + line + b"\n", "tasks.jsonl")
    assert str(caught.value).startswith("tasks.jsonl:2: ")
    assert says in str(caught.value)
    assert caught.value.exit_code == 2


def test_an_id_used_twice_names_both_lines() -> None:
    with pytest.raises(BatchInputError, match=r"t:2: id 'a' is already used on line 1"):
        parse_tasks(b'{"id": "a", "task": "x"}\n{"id": "a", "task": "y"}\n', "t")


def test_an_empty_file_has_no_tasks() -> None:
    with pytest.raises(BatchInputError, match="no tasks"):
        parse_tasks(b"\n# nothing\n", "empty.jsonl")


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BatchInputError, match="cannot read the tasks file"):
        load_tasks(tmp_path / "nope.jsonl")


def test_a_task_without_overrides_uses_the_batch_config() -> None:
    base = WorkflowConfig(max_retries=7)
    assert BatchTask(id="a", task="t").workflow_config(base) is base
