"""SWE-bench-style instances as evaluation tasks, and an evaluation as SWE-bench predictions.

An instance is one JSON object a line with SWE-bench's fields: ``instance_id``, ``repo``,
``base_commit``, ``problem_statement``, ``test_patch``, ``FAIL_TO_PASS`` and optionally
``PASS_TO_PASS`` (lists of test ids, or those lists JSON-encoded in a string, as the
published datasets have them), and our optional ``test_cmd`` (default ``python -m pytest
-q``). ``repo`` is a local git repository: a path (relative to the instances file), or
SWE-bench's ``owner/name`` found under ``--repos DIR`` as ``owner__name`` or ``name``.

The hidden check applies ``test_patch`` to the changed tree and runs the test command
on the ``FAIL_TO_PASS`` and ``PASS_TO_PASS`` tests: all must pass.
:func:`predictions` turns an evaluation directory back into the predictions file
SWE-bench's harness reads (``instance_id``, ``model_patch``, ``model_name_or_path``).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import msgspec

from actors.batch import BatchInputError
from actors.eval.tasks import EvalTask, parse_eval_tasks, split_sample_id
from events import ModelCalled
from store import EventLog, render_diff

__all__ = ["Prediction", "load_swebench", "predictions", "write_predictions"]


class _Instance(msgspec.Struct, frozen=True, kw_only=True):
    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    test_patch: str = ""
    FAIL_TO_PASS: list[str] | str
    PASS_TO_PASS: list[str] | str = []
    test_cmd: str = "python -m pytest -q -p no:cacheprovider"


class Prediction(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a SWE-bench predictions file."""

    instance_id: str
    model_patch: str
    model_name_or_path: str


def _tests(value: list[str] | str, field: str, where: str) -> list[str]:
    if isinstance(value, list):
        return value
    try:
        tests = json.loads(value)
    except json.JSONDecodeError:
        tests = None
    if not isinstance(tests, list) or not all(isinstance(t, str) for t in tests):
        raise BatchInputError(f"{where}: {field} is neither a list of test ids nor one in JSON")
    return tests


def _repo(repo: str, base: Path, repos: Path | None, where: str) -> Path:
    candidates = [base / repo]
    if repos is not None:
        candidates += [repos / repo.replace("/", "__"), repos / repo.rpartition("/")[2]]
    for path in candidates:
        if (path / ".git").exists():
            return path.resolve()
    hint = "" if repos is not None else " (--repos DIR says where the repositories are)"
    raise BatchInputError(f"{where}: repo {repo!r}: no local git repository found{hint}")


def _check(instance: _Instance, where: str) -> str:
    tests = _tests(instance.FAIL_TO_PASS, "FAIL_TO_PASS", where)
    tests += _tests(instance.PASS_TO_PASS, "PASS_TO_PASS", where)
    if not tests:
        raise BatchInputError(f"{where}: FAIL_TO_PASS names no test")
    run = f"{instance.test_cmd} {' '.join(shlex.quote(t) for t in tests)}"
    if not instance.test_patch:
        return run
    mark = "AGENTLOG_TEST_PATCH_" + hashlib.sha256(instance.test_patch.encode()).hexdigest()[:12]
    patch = (
        instance.test_patch if instance.test_patch.endswith("\n") else instance.test_patch + "\n"
    )
    return f"git apply --whitespace=nowarn - <<'{mark}' && {run}\n{patch}{mark}\n"


def swebench_task(instance: _Instance, base: Path, repos: Path | None, where: str) -> EvalTask:
    """The evaluation task of one instance (its check checked as any task's)."""
    row = {
        "id": instance.instance_id,
        "task": instance.problem_statement,
        "check": _check(instance, where),
        "workspace": str(_repo(instance.repo, base, repos, where)),
        "commit": instance.base_commit,
    }
    try:
        return parse_eval_tasks(json.dumps(row).encode(), where)[0]
    except BatchInputError as exc:
        raise BatchInputError(str(exc).replace(f"{where}:1", where)) from None


_decoder = msgspec.json.Decoder(_Instance)


def load_swebench(path: str | Path, repos: str | Path | None = None) -> list[EvalTask]:
    """The tasks of a SWE-bench-style JSONL file (see the module docstring)."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise BatchInputError(f"{file}: cannot read the instances: {exc.strerror}") from None
    tasks: list[EvalTask] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        where = f"{file}:{number}"
        try:
            instance = _decoder.decode(raw)
        except msgspec.ValidationError as exc:
            raise BatchInputError(f"{where}: {exc}") from None
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            raise BatchInputError(f"{where}: not a JSON object") from None
        repos_dir = Path(repos) if repos is not None else None
        tasks.append(swebench_task(instance, file.parent, repos_dir, where))
    if not tasks:
        raise BatchInputError(f"{file}: no instances (one JSON object a line)")
    ids = [t.id for t in tasks]
    twice = next((i for i in ids if ids.count(i) > 1), None)
    if twice is not None:
        raise BatchInputError(f"{file}: instance_id {twice!r} appears twice")
    return tasks


def _model_name(run: Path) -> str:
    for ev in EventLog(run).read():
        if type(ev) is ModelCalled:
            return ev.model
    return "agentlog"


def _runs(root: Path) -> Iterator[tuple[str, Path]]:
    """(instance id, run directory) of the lowest sample of each task under ``root``."""
    chosen: dict[str, tuple[int, Path]] = {}
    for child in sorted(root.iterdir()) if root.is_dir() else ():
        if child.name.startswith(".") or not (child / "events.jsonl").is_file():
            continue
        task, sample = split_sample_id(child.name)
        if task not in chosen or sample < chosen[task][0]:
            chosen[task] = (sample, child)
    for task in sorted(chosen):
        yield task, chosen[task][1]


def predictions(root: str | Path, model_name: str | None = None) -> list[Prediction]:
    """The SWE-bench predictions of an evaluation directory: for each task its first
    sample's change as a unified diff (``agentlog diff``'s text; empty without a change)."""
    from actors.workspace import NoWorkspace, run_change

    out: list[Prediction] = []
    for task, run in _runs(Path(root)):
        try:
            patch = render_diff(run_change(run)[2])
        except NoWorkspace:
            patch = ""
        out.append(
            Prediction(
                instance_id=task,
                model_patch=patch,
                model_name_or_path=model_name or _model_name(run),
            )
        )
    if not out:
        raise BatchInputError(f"{root}: no runs in this directory (agentlog eval --runs-dir)")
    return out


def write_predictions(roots: list[str], out: str | None, model_name: str | None = None) -> int:
    """Write the predictions of the evaluation directories ``roots`` as JSONL to ``out``
    (default: standard output); returns how many were written."""
    import sys

    lines = [
        msgspec.json.encode(p) + b"\n" for root in roots for p in predictions(root, model_name)
    ]
    if out is None:
        sys.stdout.buffer.write(b"".join(lines))
        sys.stdout.flush()
    else:
        Path(out).write_bytes(b"".join(lines))
    return len(lines)
