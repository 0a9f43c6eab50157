"""A runs directory for the viewer tests: the committed demo run, a fork of it, a request."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
from _events import failed_run
from _runs import write_run

from actors.models import ModelRequest, record_request, request_bytes
from events import Forked, ModelCalled, decode_line, encode_line
from store import EventLog

SAMPLE = Path(__file__).parent.parent / "examples" / "sample-run"
#: The demo's second-round Coder call: its request is recorded in the fixture's objects/
#: (the committed log predates recorded requests, so its call is re-sealed to name it).
RECORDED_SEQ = 15
REQUEST_SENT = ModelRequest(
    step="code",
    model="scripted-demo",
    system="You are the Coder of a Planner -> Coder -> Reviewer workflow. Answer with submit_code.",
    messages=(
        {
            "role": "user",
            "content": "Task: top_words(text, n)...\n\nThe review asked for changes:\n"
            "Counting is case-sensitive, so test_ignores_case fails. Lower-case the text.",
        },
    ),
    tool_name="submit_code",
    tool_description="<b>markup from a log stays text</b>",
    input_schema={"type": "object"},
    max_tokens=32000,
)
#: The request as the viewer serves it (plain JSON data).
REQUEST = msgspec.json.decode(request_bytes(REQUEST_SENT))


#: A task that would run script if the page ever parsed model text as HTML.
HOSTILE_TASK = "<img src=x onerror=\"document.title='pwned'\"> \x1b[2J task"


def write_hostile(run_dir: Path) -> Path:
    """A run of one event whose task is :data:`HOSTILE_TASK`."""
    return write_run(run_dir, [msgspec.structs.replace(failed_run()[0], task=HOSTILE_TASK)])


def make_runs(root: Path) -> Path:
    """``root`` with ``demo`` (the committed sample run, one request recorded) and
    ``demo-fork`` (its first 12 events, a ``Forked`` marker and nothing more yet) and
    ``rate-limited`` (a run whose Coder failed for good)."""
    demo = root / "demo"
    shutil.copytree(SAMPLE, demo)
    digest = record_request(demo, REQUEST_SENT)
    log = demo / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    call = decode_line(lines[RECORDED_SEQ - 1])
    assert isinstance(call, ModelCalled)
    lines[RECORDED_SEQ - 1] = encode_line(msgspec.structs.replace(call, request_digest=digest))
    log.write_bytes(b"".join(lines))
    events = list(EventLog(demo).read())
    head = list(events[:12])
    marker = Forked(
        seq=13,
        id="fork-13",
        ts=head[-1].ts,
        workflow_id="wf-fork",
        source=str(demo),
        source_workflow_id=head[0].workflow_id,
        at_seq=12,
    )
    write_run(root / "demo-fork", [], extra=[*(encode_line(e) for e in head), encode_line(marker)])
    write_run(root / "rate-limited", failed_run())
    return root
