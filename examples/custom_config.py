"""Tuning a workflow: model, retries, backoff, step timeout and revision rounds.

The scripted model is overloaded once (a retry after a backoff), too slow once (the step
timeout fires, another retry), then asks for changes once (a revision round).
Run:  python examples/custom_config.py [run_dir]
"""

import sys
import tempfile

from actors import Supervisor, WorkflowConfig
from actors.models import ScriptedModel
from store import EventLog, step_stats

CONFIG = WorkflowConfig(
    model="claude-sonnet-5-5",  # recorded in the log; the scripted model answers as it
    max_retries=2,  # up to 3 attempts per step for retryable errors
    backoff_base=0.05,  # first retry waits 25-50 ms, then doubling ...
    backoff_max=0.2,  # ... capped at 200 ms (defaults: 1 s and 30 s)
    step_timeout=0.5,  # an attempt with no answer after 0.5 s fails as "timeout"
    max_revisions=1,  # one request_changes review sends the code back once
)

PLAN = {"summary": "A leap-year helper", "steps": [{"title": "leap.py", "description": "is_leap"}]}
V1 = "def is_leap(y):\n    return y % 4 == 0\n"
V2 = "def is_leap(y):\n    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)\n"
SCRIPT = {
    "plan": [{"error": {"kind": "overloaded"}}, {"tool_input": PLAN}],
    "code": [
        {"tool_input": {"files": [{"path": "leap.py", "content": V1}]}, "delay": 2.0},  # too slow
        {"tool_input": {"files": [{"path": "leap.py", "content": V1}]}},
        {"tool_input": {"files": [{"path": "leap.py", "content": V2}]}},  # the revision
    ],
    "review": [
        {"tool_input": {"verdict": "request_changes", "summary": "1900 is not a leap year."}},
        {"tool_input": {"verdict": "approve", "summary": "Century rule handled."}},
    ],
}


def main() -> None:
    run_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="agentlog-config-")
    result = Supervisor(CONFIG, model=ScriptedModel(SCRIPT)).run("write is_leap()", run_dir)
    print(f"status={result.status} verdict={result.verdict} model={CONFIG.model}")
    print(f"{'step':<8}{'attempts':>9}{'failures':>9}  kinds")
    for stats in step_stats(EventLog(run_dir).read()):  # counts every round and retry
        print(f"{stats.step:<8}{stats.attempts:>9}{stats.failures:>9}  {stats.failures_by_kind}")


if __name__ == "__main__":
    main()
