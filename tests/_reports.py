"""Two evaluations for the report page's tests: ``before`` and ``after`` under one root.

Each has the tasks ``hello`` and ``hi``, checked by hidden checks; ``before``'s code says
hello (``hello`` passes, ``hi`` fails) and ``after``'s says hi, so ``hi`` is fixed and
``hello`` regressed. A third task, :data:`HOSTILE_TASK`, is a copy of ``hi``'s run under a
name that is HTML (a run directory's name is the task id the report shows).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from _batch import FAST_CONFIG
from _workflow import APPROVE, CODE, PLAN

from actors.batch import ModelSpec
from actors.eval import Evaluation

SAYS_HELLO = "python -c \"from hello import hello; assert hello('x') == 'hello x'\""
SAYS_HI = "python -c \"from hello import hello; assert hello('x') == 'hi x'\""
HI_CODE = {
    "files": [{"path": "hello.py", "content": "def hello(name):\n    return 'hi ' + name\n"}]
}
#: A task id that would run script if the page ever parsed it as HTML.
HOSTILE_TASK = "<img src=x onerror=\"document.title='pwned'\">&amp;"


def evaluate(root: Path, name: str, code: dict[str, Any]) -> Path:
    """The evaluation ``root/name`` of ``hello`` and ``hi`` (one sample each) with ``code``."""
    root.mkdir(parents=True, exist_ok=True)
    script = root / f".{name}.json"
    answers = {"plan": [{"tool_input": PLAN}], "code": [{"tool_input": code}]}
    script.write_text(json.dumps({**answers, "review": [{"tool_input": APPROVE}]}), "utf-8")
    tasks = root / ".tasks.jsonl"
    rows = [
        {"id": "hello", "task": "greet", "check": SAYS_HELLO, "config": FAST_CONFIG},
        {"id": "hi", "task": "greet", "check": SAYS_HI, "config": FAST_CONFIG},
    ]
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    runs = root / name
    Evaluation(tasks, runs, samples=1, model=ModelSpec(script=str(script))).run()
    shutil.copytree(runs / "hi#1", runs / f"{HOSTILE_TASK}#1")
    return runs


def two_evaluations(root: Path) -> Path:
    """``root`` holding the evaluations ``before`` and ``after`` (see the module docstring)."""
    evaluate(root, "before", CODE)
    evaluate(root, "after", HI_CODE)
    return root
