"""A complete Planner -> Coder -> Reviewer workflow, offline.

A ScriptedModel answers in place of Claude (swap in the default model and set
ANTHROPIC_API_KEY to run it for real). Run:  python examples/basic_run.py [run_dir]
"""

import sys
import tempfile

from actors import Supervisor, WorkflowConfig
from actors.models import ScriptedModel
from store import EventLog

# What Claude would pass to each step's forced tool (submit_plan, submit_code, submit_review).
PLAN = {
    "summary": "A slugify() function with a test",
    "steps": [{"title": "Write slug.py", "description": "lowercase, dashes", "files": ["slug.py"]}],
}
SLUG = "def slugify(s):\n    return '-'.join(s.lower().split())\n"
TEST = "from slug import slugify\n\n\ndef test_slug():\n    assert slugify('A b') == 'a-b'\n"
CODE = {"files": [{"path": "slug.py", "content": SLUG}, {"path": "test_slug.py", "content": TEST}]}
REVIEW = {"verdict": "approve", "summary": "Simple and tested."}

# Each step gets a list of answers, used in order (the last one repeats).
SCRIPT = {
    "plan": [{"tool_input": PLAN}],
    "code": [{"tool_input": CODE}],
    "review": [{"tool_input": REVIEW}],
}


def main() -> None:
    run_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="agentlog-basic-")
    supervisor = Supervisor(WorkflowConfig(), model=ScriptedModel(SCRIPT))
    result = supervisor.run("write a slugify() function with a test", run_dir)

    print(f"status:  {result.status}")
    print(f"verdict: {result.verdict}")
    print(f"files:   {[f.path for f in result.code.files] if result.code else []}")
    print(f"run dir: {run_dir}  (events.jsonl, plan.json, code.json, review.json, files/)")
    print("events:")
    for event in EventLog(run_dir).read():  # the log is the source of truth
        print(f"  {event.seq:>2} {type(event).__name__}")


if __name__ == "__main__":
    main()
