"""A power cut at every file-system step of a run: nothing synced is lost, resume finishes.

One run with a retry and a revision round is recorded step by step (``_powercut.py``).
For every step and every way a file system can come back from a cut (unsynced writes
lost, a zero-filled tail, a torn tail, renames kept but their data lost), the directory
the cut leaves is built, then ``verify`` (``--repair`` when it asks for it) and ``resume``
run on it as a user would. Every outcome must keep what was synced, complete the run, and
leave projections equal to what ``agentlog project`` builds from the final log.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from _powercut import MODES, Recorder, Snapshot, build_after_cut, tree
from _workflow import APPROVE, CHANGES, CODE, PLAN, error

from actors import Supervisor
from actors.cli import main
from actors.models import ScriptedModel
from events import ModelCalled, WorkflowConfig, WorkflowStarted, decode_line
from store import ObjectStore

REVISED = {"files": [{"path": "hello.py", "content": "def hello(name):\n    '''Hi.'''\n"}]}
SCRIPT = {
    "plan": [error("overloaded"), {"tool_input": PLAN}],
    "code": [{"tool_input": CODE}, {"tool_input": REVISED}],
    "review": [{"tool_input": CHANGES}, {"tool_input": APPROVE}],
}
CONFIG = WorkflowConfig(backoff_base=0, step_timeout=30, max_retries=2, max_revisions=1)


@dataclass
class Cut:
    """One post-cut directory and what verify/resume made of it."""

    snap: Snapshot
    mode: str
    run_dir: Path
    synced: bytes  # the log bytes fdatasync had made durable at the cut
    steps: list[str]  # the commands run, with their exit codes
    final: bytes  # the log afterwards (b"" if there was none)
    ended: bool  # resume completed the run
    never_started: bool  # resume said "the run never started; run it again"


def _cli(*args: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main([str(a) for a in args])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recorder, Path, int]:
    """The recorded run: its recorder, the script file, and the log's inode."""
    root = tmp_path_factory.mktemp("powercut")
    script = root / "script.json"
    script.write_text(json.dumps(SCRIPT))
    base = root / "base"
    base.mkdir()
    recorder = Recorder(base)
    model = ScriptedModel.from_file(script)
    with recorder.recording():
        result = Supervisor(CONFIG, model=model, listeners=(recorder.listener,)).run(
            "add a greeting module", base / "run"
        )
    assert result.status == "completed"
    log_ino = (base / "run" / "events.jsonl").stat().st_ino
    return recorder, script, log_ino


def _after_cut(
    snap: Snapshot, mode: str, recorder: Recorder, log_ino: int, dest: Path, script: Path
) -> Cut:
    build_after_cut(snap, recorder.base_ino, mode, dest)
    run_dir = dest / "run"
    log = run_dir / "events.jsonl"
    cut = Cut(snap, mode, run_dir, snap.durable_files.get(log_ino, b""), [], b"", False, False)
    if not log.exists():
        return cut  # nothing of the run survived: the user runs it again
    code, out = _cli("verify", run_dir)
    cut.steps.append(f"verify {code}: {out.strip()}")
    if code != 0 and "verify --repair" in out:
        code, out = _cli("verify", run_dir, "--repair")
        cut.steps.append(f"verify --repair {code}: {out.strip()}")
        if code == 0:
            code, out = _cli("verify", run_dir)
            cut.steps.append(f"verify after repair {code}: {out.strip()}")
    code, out = _cli("resume", run_dir, "--script", script)
    cut.steps.append(f"resume {code}: {out.strip()[-300:]}")
    cut.never_started = code == 2 and "the run never started" in out
    cut.ended = code == 0
    cut.final = log.read_bytes()
    return cut


@pytest.fixture(scope="module")
def cuts(
    recorded: tuple[Recorder, Path, int], tmp_path_factory: pytest.TempPathFactory
) -> list[Cut]:
    """Every distinct post-cut directory of the run, verified and resumed."""
    recorder, script, log_ino = recorded
    root = tmp_path_factory.mktemp("cuts")
    seen: set[tuple[tuple[tuple[str, bytes | None], ...], bytes]] = set()
    out: list[Cut] = []
    for snap in recorder.snapshots:
        for mode in MODES:
            dest = root / f"{snap.step:03d}-{mode}"
            build_after_cut(snap, recorder.base_ino, mode, dest / "probe")
            # the same directory with less synced is a different case: more must survive
            key = (tuple(tree(dest / "probe").items()), snap.durable_files.get(log_ino, b""))
            shutil.rmtree(dest / "probe")
            if key in seen:
                continue
            seen.add(key)
            out.append(_after_cut(snap, mode, recorder, log_ino, dest / "base", script))
    return out


def _why(cut: Cut) -> str:
    return f"cut after step {cut.snap.step} ({cut.snap.op}), {cut.mode}: {cut.steps}"


def test_the_run_is_cut_at_every_step_in_every_mode(
    recorded: tuple[Recorder, Path, int], cuts: list[Cut]
) -> None:
    recorder, _, _ = recorded
    ops = {s.op for s in recorder.snapshots}
    assert {"write", "fdatasync", "fsync", "replace", "mkdir", "open"} <= ops
    assert {c.mode for c in cuts} == set(MODES)
    assert len(cuts) >= 40


def test_nothing_synced_is_lost(cuts: list[Cut]) -> None:
    for cut in cuts:
        assert cut.final.startswith(cut.synced), _why(cut)


def test_every_cut_run_that_started_completes_after_resume(cuts: list[Cut]) -> None:
    for cut in cuts:
        if not cut.synced and not cut.ended:
            continue  # nothing was synced: checked below
        assert cut.ended, _why(cut)
        assert b'"type":"WorkflowCompleted"' in cut.final.splitlines()[-1], _why(cut)


def test_a_run_whose_start_was_never_synced_says_run_it_again(cuts: list[Cut]) -> None:
    unstarted = [c for c in cuts if not c.ended]
    assert unstarted
    for cut in unstarted:
        assert not cut.synced, _why(cut)
        assert cut.never_started or not (cut.run_dir / "events.jsonl").exists(), _why(cut)


def test_projections_end_equal_to_what_project_builds(cuts: list[Cut], tmp_path: Path) -> None:
    for i, cut in enumerate(c for c in cuts if c.ended):
        fresh = tmp_path / f"fresh-{i}"
        fresh.mkdir()
        (fresh / "events.jsonl").write_bytes(cut.final)
        assert _cli("project", fresh)[0] == 0
        # objects/ is no projection: it holds what the log names (the requests).
        made = ("events.jsonl", "objects")
        have = {k: v for k, v in tree(cut.run_dir).items() if not k.startswith(made)}
        want = {k: v for k, v in tree(fresh).items() if not k.startswith(made)}
        assert have == want, _why(cut)
        assert _cli("verify", cut.run_dir) == (0, _cli("verify", cut.run_dir)[1]), _why(cut)


def test_one_repair_leaves_the_run_consistent(cuts: list[Cut]) -> None:
    after = [s for c in cuts for s in c.steps if s.startswith("verify after repair")]
    assert after
    for cut in cuts:
        for step in cut.steps:
            if step.startswith("verify after repair"):
                assert step.startswith("verify after repair 0"), _why(cut)


def test_a_repaired_log_says_what_it_moved(cuts: list[Cut]) -> None:
    repaired = [s for c in cuts for s in c.steps if s.startswith("verify --repair 0")]
    assert any("moved" in s and "bytes" in s for s in repaired)


def test_no_listener_saw_an_event_that_was_not_yet_durable(
    recorded: tuple[Recorder, Path, int],
) -> None:
    """The sync points of the log: each delivered event was inside the synced prefix."""
    recorder, _, log_ino = recorded
    for (seq, _id), at in zip(recorder.delivered, recorder.delivered_at, strict=True):
        synced = recorder.snapshots[at].durable_files.get(log_ino, b"")
        assert seq <= synced.count(b"\n"), f"seq {seq} delivered after step {at}"


def test_no_listener_saw_an_event_that_a_resume_then_rewrote(
    recorded: tuple[Recorder, Path, int], cuts: list[Cut]
) -> None:
    recorder, _, _ = recorded
    for cut in cuts:
        if not cut.ended:
            continue
        final = {ev.seq: ev.id for ev in map(decode_line, cut.final.splitlines())}
        for seq, id_ in recorder.delivered[: cut.snap.delivered]:
            assert final.get(seq) == id_, f"seq {seq}: {_why(cut)}"


def test_the_recorded_run_started_with_a_synced_workflow_started(
    recorded: tuple[Recorder, Path, int],
) -> None:
    recorder, _, log_ino = recorded
    first = next(s for s in recorder.snapshots if s.durable_files.get(log_ino))
    assert isinstance(decode_line(first.durable_files[log_ino].splitlines()[0]), WorkflowStarted)


def test_every_request_a_synced_event_names_was_durable_before_it(
    recorded: tuple[Recorder, Path, int], tmp_path: Path
) -> None:
    """The run pack is synced before the log writes the line naming one of its records:
    at no step does the durable log name a request whose record (or whose pack, or
    ``objects/``) a cut could take away."""
    recorder, _, log_ino = recorded
    checked = 0
    for snap in recorder.snapshots:
        synced = snap.durable_files.get(log_ino, b"")
        named = [
            ev.request_digest
            for ev in map(decode_line, synced.splitlines(keepends=True))
            if isinstance(ev, ModelCalled)
        ]
        if not named:
            continue
        dest = tmp_path / f"{snap.step:03d}"
        build_after_cut(snap, recorder.base_ino, "lost", dest)
        store = ObjectStore(dest / "run")
        for digest in named:
            assert store.problem(digest) is None, f"cut after step {snap.step} ({snap.op})"
        checked += 1
    assert checked >= 5
