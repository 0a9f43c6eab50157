"""Lines, torn tails, crash debris and objects longer than one 64 KiB read block.

Every reader of the log works in blocks (:data:`store._tail.CHUNK`); what spans more than
one block must come out the same as what fits in one. Each test has a time limit: a
reader that stops advancing past a block boundary would otherwise loop for ever.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from events import StepStarted, WorkflowStarted, encode_line
from store import EventLog, ObjectStore, TornTail, check_objects, record_base
from store._tail import CHUNK

pytestmark = pytest.mark.timeout(60)

#: Longer than four read blocks: the writer's tail window has to grow twice to hold it.
LONG = 5 * CHUNK + 123


def _long_event(size: int, n: int = 0) -> WorkflowStarted:
    return WorkflowStarted(workflow_id="wf", task=f"{n}:" + "x" * size)


def _log(tmp_path: Path, *events: WorkflowStarted | StepStarted) -> EventLog:
    log = EventLog(tmp_path / "run")
    with log.writer() as writer:
        writer.append_many(list(events))
    return log


def test_lines_longer_than_a_read_block_read_back_whole(tmp_path: Path) -> None:
    sizes = [LONG, 10, CHUNK - 50, CHUNK, CHUNK + 1, 3 * CHUNK]
    log = _log(tmp_path, *(_long_event(size, n) for n, size in enumerate(sizes)))
    events = list(log.read())
    assert [ev.seq for ev in events] == list(range(1, len(sizes) + 1))
    assert [len(ev.task) for ev in events if isinstance(ev, WorkflowStarted)] == [
        len(f"{n}:") + size for n, size in enumerate(sizes)
    ]
    report = log.verify()
    assert (report.ok, report.events) == (True, len(sizes))


def test_the_writer_continues_after_a_long_last_line(tmp_path: Path) -> None:
    log = _log(tmp_path, StepStarted(step="plan", attempt=1), _long_event(LONG))
    with log.writer() as writer:
        assert writer.last_seq == 2
        assert writer.append(StepStarted(step="plan", attempt=2)).seq == 3
    assert [ev.seq for ev in log.read()] == [1, 2, 3]


def test_the_writer_continues_after_a_log_of_one_long_line(tmp_path: Path) -> None:
    log = _log(tmp_path, _long_event(LONG))
    with log.writer() as writer:
        assert writer.append(StepStarted(step="plan", attempt=1)).seq == 2


@pytest.mark.parametrize("size", [5000, CHUNK + 7, LONG], ids=["5k", "block+7", "5-blocks"])
def test_reading_from_a_late_seq_finds_it_among_long_lines(tmp_path: Path, size: int) -> None:
    count = max(4, (8 * CHUNK) // size)  # a log of several blocks: the seek bisects it
    log = _log(tmp_path, *(_long_event(size, n) for n in range(count)))
    for seq in range(1, count + 1):
        assert [ev.seq for ev in log.read(from_seq=seq)] == list(range(seq, count + 1))


def test_a_torn_tail_longer_than_a_read_block_is_found_and_moved_aside(tmp_path: Path) -> None:
    log = _log(tmp_path, StepStarted(step="plan", attempt=1), _long_event(10))
    good = log.path.read_bytes()
    torn = encode_line(_long_event(LONG))[:-100]  # a long line cut before its end
    log.path.write_bytes(good + torn)
    assert log.torn_bytes() == len(torn)
    report = log.verify()
    assert (report.torn_bytes, report.torn_line, report.repairable) == (len(torn), 3, True)
    with pytest.raises(TornTail):
        log.writer()
    fixed = log.repair()
    assert (fixed.moved_bytes, fixed.from_line) == (len(torn), 3)
    assert fixed.side_file is not None and fixed.side_file.read_bytes() == torn
    assert log.path.read_bytes() == good
    with log.writer() as writer:
        assert writer.append(StepStarted(step="code", attempt=1)).seq == 3


@pytest.mark.parametrize(
    "tail",
    [b"\0" * LONG, b"\0" * CHUNK + b"\n" + b"\0" * (CHUNK + 3), b"stale " * CHUNK + b"\n"],
    ids=["zeros", "zeros-over-two-lines", "stale-block"],
)
def test_debris_longer_than_a_read_block_is_moved_aside(tmp_path: Path, tail: bytes) -> None:
    log = _log(tmp_path, StepStarted(step="plan", attempt=1), _long_event(LONG))
    good = log.path.read_bytes()
    log.path.write_bytes(good + tail)
    report = log.verify()
    assert (report.repairable, report.first_bad_line, report.torn_bytes) == (True, 3, len(tail))
    assert log.repair().moved_bytes == len(tail)
    assert log.path.read_bytes() == good


def test_a_changed_byte_deep_in_an_object_longer_than_a_read_block_is_found(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "big.txt").write_text("line of text\n" * (3 * CHUNK // 13))
    run = tmp_path / "run"
    base = record_base(workspace, run)
    log = _log(tmp_path, WorkflowStarted(workflow_id="wf", task="t", workspace=base))
    assert check_objects(run, log.read()) == []
    path = Path(ObjectStore(run).location(base.files[0].hash))
    data = bytearray(path.read_bytes())
    data[2 * CHUNK + 5] ^= 0x20
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    (issue,) = check_objects(run, log.read())
    assert issue.ref.path == "big.txt"


def test_a_long_last_line_that_starts_like_an_event_is_damage_not_debris(tmp_path: Path) -> None:
    log = _log(tmp_path, StepStarted(step="plan", attempt=1), _long_event(10))
    good = log.path.read_bytes()
    changed = b'{"type":"StepStarted","seq":3,"note":"' + b"y" * (2 * CHUNK) + b'"}\n'
    log.path.write_bytes(good + changed)
    report = log.verify()
    assert (report.ok, report.first_bad_line, report.repairable) == (False, 3, False)
