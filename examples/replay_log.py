"""Replaying a recorded run: the agents run again on the logged answers, with no network.

``actors.replay`` feeds each agent the ``ModelCalled`` responses of the log and checks
that exactly the same events come out. A run whose prompts changed (another task, another
model, edited code) is reported as non-deterministic instead of silently passing.
Run:  python examples/replay_log.py [run_dir]
"""

import sys
import tempfile
from pathlib import Path

import msgspec

from actors import Supervisor, WorkflowConfig, replay
from actors.models import ScriptedModel
from store import EventLog

PLAN = {"summary": "A greeting", "steps": [{"title": "hello.py", "description": "hello()"}]}
CODE = {"files": [{"path": "hello.py", "content": "def hello():\n    return 'hi'\n"}]}
SCRIPT = {
    "plan": [{"error": {"kind": "rate_limit"}}, {"tool_input": PLAN}],  # a retry is replayed too
    "code": [{"tool_input": CODE}],
    "review": [{"tool_input": {"verdict": "approve", "summary": "Fine."}}],
}


def main() -> None:
    run_dir = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="agentlog-rp-"))
    config = WorkflowConfig(backoff_base=0)
    Supervisor(config, model=ScriptedModel(SCRIPT)).run("write hello()", run_dir)
    print(f"recorded {sum(1 for _ in EventLog(run_dir).read())} events in {run_dir}")

    report = replay(run_dir)  # works in a scratch directory; the run is only read
    print(report.verdict)

    # A copy whose task was changed: the replayed prompts no longer match the recorded ones.
    events = list(EventLog(run_dir).read())
    events[0] = msgspec.structs.replace(events[0], task="write goodbye()")
    tampered = run_dir.parent / (run_dir.name + "-tampered")
    with EventLog(tampered).writer() as writer:
        writer.append_many(events)
    print(replay(tampered).verdict)


if __name__ == "__main__":
    main()
