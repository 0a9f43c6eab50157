"""What ``continue_on_error`` changes when the Coder fails for good.

The scripted Coder fails with a non-retryable error (a 400 from the API, say). Without
``continue_on_error`` the review is skipped and the workflow fails at "code"; with it
the Reviewer still looks at what exists and the run completes, naming the failed step.
Run:  python examples/continue_on_error.py [run_dir]
"""

import sys
import tempfile
from pathlib import Path

from actors import Supervisor, WorkflowConfig
from actors.cli.timeline import format_event
from actors.models import ScriptedModel
from store import EventLog

PLAN = {"summary": "A fizzbuzz module", "steps": [{"title": "fizzbuzz.py", "description": "1..n"}]}
SCRIPT = {
    "plan": [{"tool_input": PLAN}],
    # "bad_request" is not retryable: the step fails at its first attempt.
    "code": [{"error": {"kind": "bad_request", "message": "prompt is too long"}}],
    "review": [{"tool_input": {"verdict": "reject", "summary": "No code was produced."}}],
}


def run(run_dir: Path, continue_on_error: bool) -> None:
    config = WorkflowConfig(continue_on_error=continue_on_error, backoff_base=0)
    result = Supervisor(config, model=ScriptedModel(SCRIPT)).run("write fizzbuzz", run_dir)
    print(f"\ncontinue_on_error={continue_on_error}: status={result.status}")
    print(f"  failed steps passed over: {result.failed_steps}, verdict: {result.verdict}")
    for event in list(EventLog(run_dir).read())[-3:]:  # how the run ended
        print("  " + format_event(event))


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="agentlog-coe-"))
    run(root / "without", continue_on_error=False)  # review skipped, WorkflowFailed(code)
    run(root / "with", continue_on_error=True)  # review runs, failed_steps=("code",)


if __name__ == "__main__":
    main()
