"""A power cut at every file-system step of ``agentlog apply``: before or after, no debris.

One apply (a changed file, a new file in new directories, a deletion, a renamed
executable) is recorded step by step (``_powercut.py``). For every step and every way a
file system can come back from a cut (unsynced writes lost, a zero-filled tail, a torn
tail, renames kept but their data lost), the run directory and target the cut leaves are
built and the recovery the next ``agentlog apply``/``verify`` runs is run on them: the
target must be exactly as it was or fully applied, with no ``.agentlog-`` file and no
journal left. (The rebuilt target is a new directory, so the journal's record of which
directory it was made for is pointed at it first.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from _powercut import MODES, Recorder, build_after_cut, tree
from _repo import applied_run, needs_git
from _scratch import scratch_dir

from actors.workspace.apply import apply_run
from actors.workspace.transaction import JOURNAL, recover

pytestmark = needs_git

Tree = dict[str, bytes | None]


def recorded_apply(root: Path) -> tuple[Recorder, Tree, Tree]:
    """The recorder of one apply into ``root/base/repo`` (a copy without ``.git``), and
    the target's tree before and after it."""
    repo, run = applied_run(root)
    base = root / "base"
    shutil.copytree(repo, base / "repo", ignore=shutil.ignore_patterns(".git"))
    shutil.copytree(run, base / "run")
    before = tree(base / "repo")
    recorder = Recorder(base)
    recorder.settled()
    with recorder.recording():
        apply_run(base / "run", base / "repo")
    return recorder, before, tree(base / "repo")


def test_a_power_cut_at_any_step_of_apply_recovers_to_before_or_after(
    tmp_path: Path,
) -> None:
    with scratch_dir(tmp_path) as scratch:
        check_every_cut(scratch)


def check_every_cut(tmp_path: Path) -> None:
    recorder, before, after = recorded_apply(tmp_path / "recorded")
    assert before != after and len(recorder.snapshots) > 10
    seen: dict[str, int] = {"before": 0, "after": 0}
    for snap in recorder.snapshots:
        for mode in MODES:
            dest = tmp_path / "cuts" / f"{snap.step:03d}-{mode}"
            build_after_cut(snap, recorder.base_ino, mode, dest)
            journal = dest / "run" / JOURNAL
            if journal.exists():
                record = json.loads(journal.read_bytes())
                st = (dest / "repo").stat()
                record.update(target=str(dest / "repo"), device=st.st_dev, inode=st.st_ino)
                journal.write_text(json.dumps(record))
            settled = recover(dest / "run")
            where = (snap.step, snap.op, mode)
            now = tree(dest / "repo")
            assert now in (before, after), where
            assert not [p for p in now if ".agentlog-" in p], where
            assert not [p for p in (dest / "run").iterdir() if p.name.startswith(JOURNAL)], where
            if settled is not None:
                expected = "rolled back" if now == before else "finished"
                assert settled.outcome == expected, where
            seen["before" if now == before else "after"] += 1
            shutil.rmtree(dest)
    assert seen["before"] and seen["after"], seen
