"""The supervisor's cost per appended event as a run's log grows (issue 14, point 1).

After each append the supervisor folds the new event into its ``WorkflowFold`` and asks
``next_action`` for the snapshot. That must cost the same at any log length. The
baseline, measured in the same run, is the refold a decision used to need: folding the
whole log again (``workflow_state(events)``) before every decision.

    python benchmarks/fold_bench.py   # --lengths 100,10000,100000 --decisions 5000

The log is a long revision loop (code, review asking for changes, again), so the state
stays the size of a real run's while the log grows. Prints ns per decision and the
ratio to the decision at the shortest length.
"""

from __future__ import annotations

import argparse
import time

from actors.orchestration import next_action
from events import (
    CodeChange,
    CodeProduced,
    Event,
    FileChange,
    ModelCalled,
    Plan,
    PlanProduced,
    Review,
    ReviewProduced,
    StepStarted,
    Usage,
    WorkflowConfig,
    WorkflowStarted,
)
from store import WorkflowFold, workflow_state

CODE = CodeChange(files=(FileChange(path="a.py", content="x = 1\n"),), notes="")
CHANGES = Review(verdict="request_changes", summary="again", comments=())


def long_log(length: int) -> list[Event]:
    """``length`` events: a start, a plan, then revision rounds of six events each."""
    config = WorkflowConfig(model="m", max_revisions=10**9)
    events: list[Event] = [
        WorkflowStarted(task="t", config=config),
        StepStarted(step="plan", attempt=1),
        PlanProduced(plan=Plan(summary="p", steps=())),
    ]
    round_ = 0
    while len(events) < length:
        for step in ("code", "review"):
            events.append(StepStarted(step=step, attempt=1, round=round_))  # type: ignore[arg-type]
            events.append(
                ModelCalled(
                    step=step,  # type: ignore[arg-type]
                    attempt=1,
                    round=round_,
                    request_digest="0" * 64,
                    model="m",
                    content=(),
                    stop_reason="tool_use",
                    usage=Usage(input_tokens=100, output_tokens=50),
                )
            )
            if step == "code":
                events.append(CodeProduced(code=CODE, round=round_))
            else:
                events.append(ReviewProduced(review=CHANGES, round=round_))
        round_ += 1
    events = events[:length]
    return [ev.__class__(**{**_fields(ev), "seq": i}) for i, ev in enumerate(events, 1)]


def _fields(ev: Event) -> dict[str, object]:
    return {f: getattr(ev, f) for f in ev.__struct_fields__}


def per_decision_ns(events: list[Event], decisions: int, refold: bool) -> float:
    """Mean ns to fold one more event and decide, over the last ``decisions`` events."""
    head, tail = events[:-decisions], events[-decisions:]
    fold = WorkflowFold().extend(head)
    seen = list(head)
    started = time.perf_counter_ns()
    for ev in tail:
        if refold:
            seen.append(ev)
            next_action(workflow_state(seen))
        else:
            fold.apply(ev)
            next_action(fold.snapshot())
    return (time.perf_counter_ns() - started) / len(tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="100,10000,100000")
    parser.add_argument("--decisions", type=int, default=5000)
    parser.add_argument("--refold-decisions", type=int, default=20)
    args = parser.parse_args()
    lengths = [int(n) for n in args.lengths.split(",")]
    base_new = base_old = 0.0
    head = ("log length", "incremental", "x shortest", "refold", "x shortest")
    print(f"{head[0]:>12} {head[1]:>14} {head[2]:>11} {head[3]:>14} {head[4]:>11}")
    for length in lengths:
        new = per_decision_ns(long_log(length + args.decisions), args.decisions, refold=False)
        few = args.refold_decisions
        old = per_decision_ns(long_log(length + few), few, refold=True)
        base_new, base_old = base_new or new, base_old or old
        print(
            f"{length:>12,} {new / 1000:>11.1f} µs {new / base_new:>10.2f}x"
            f" {old / 1000:>11.1f} µs {old / base_old:>10.2f}x"
        )


if __name__ == "__main__":
    main()
