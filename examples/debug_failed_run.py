"""Debugging a failed run from its history alone: what failed, where, and what the model said.

A scripted Coder keeps answering with a malformed ``submit_code`` call until its retries
run out. Everything needed to explain that is in ``events.jsonl``: the projections
(``workflow_state``, ``step_stats``) summarize it, the timeline shows the story, and
``ModelCalled`` holds the model's exact answer.
Run:  python examples/debug_failed_run.py [run_dir]
"""

import json
import sys
import tempfile

from actors import Supervisor, WorkflowConfig
from actors.cli.timeline import format_event
from actors.models import ScriptedModel
from events import ModelCalled, StepFailed
from store import EventLog, step_stats, workflow_state

PLAN = {"summary": "A CSV summary tool", "steps": [{"title": "csvsum.py", "description": "sum"}]}
BROKEN = {"files": [{"path": "csvsum.py"}]}  # "content" is missing: fails validation
SCRIPT = {"plan": [{"tool_input": PLAN}], "code": [{"tool_input": BROKEN}]}


def main() -> None:
    run_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="agentlog-debug-")
    config = WorkflowConfig(max_retries=2, backoff_base=0)
    Supervisor(config, model=ScriptedModel(SCRIPT)).run("sum a CSV column", run_dir)

    # 1. The state, projected from the log (as `agentlog log` / `stats` would).
    events = list(EventLog(run_dir).read())
    state = workflow_state(events)
    error = state.last_error
    print(f"status: {state.status}")
    if error is not None:
        print(f"failed at step {error.step!r} (seq {error.seq}): {error.kind}: {error.message}")

    # 2. Per step: how many attempts, how they failed.
    for stats in step_stats(events):
        print(f"  {stats.step}: {stats.attempts} attempts, failures {stats.failures_by_kind}")

    # 3. The timeline of the failing step.
    print("timeline of the failing step:")
    for event in events:
        if getattr(event, "step", None) == (error.step if error else None):
            print("  " + format_event(event))

    # 4. What the model actually answered on its last attempt, and why it was refused.
    last_call = [e for e in events if isinstance(e, ModelCalled) and e.step == "code"][-1]
    last_failure = [e for e in events if isinstance(e, StepFailed)][-1]
    print(f"last answer (seq {last_call.seq}): {json.dumps(last_call.content[0]['input'])}")
    print(f"refused because: {last_failure.message}")
    print(f"inspect one event whole with: agentlog show {run_dir} {last_call.seq}")


if __name__ == "__main__":
    main()
