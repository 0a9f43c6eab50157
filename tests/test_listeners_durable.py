"""Listeners (progress display, Convex mirror) hear only of events that are durable.

With group commit the supervisor writes several events before one fsync; a listener
hears of them at that fsync, in log order, never before: an event a listener saw is
never one a power cut can take back and ``resume`` rewrite.
"""

from __future__ import annotations

from pathlib import Path

from _logutil import run_events
from _workflow import FAST, scripted

from actors import Supervisor
from events import Event
from store import EventLog


def test_a_group_commit_append_is_heard_only_at_the_sync_that_makes_it_durable(
    tmp_path: Path,
) -> None:
    heard: list[int] = []
    with EventLog(tmp_path).writer() as writer:
        writer.on_append(lambda evs: heard.extend(ev.seq for ev in evs))
        writer.append_many(run_events()[:2], sync=False)
        writer.append_many(run_events()[2:3], sync=False)
        assert heard == []
        writer.sync()
        assert heard == [1, 2, 3]
        writer.append(run_events()[3])
        assert heard == [1, 2, 3, 4]


def test_a_synced_append_also_delivers_the_group_commit_before_it(tmp_path: Path) -> None:
    heard: list[list[int]] = []
    with EventLog(tmp_path).writer() as writer:
        writer.on_append(lambda evs: heard.append([ev.seq for ev in evs]))
        writer.append_many(run_events()[:2], sync=False)
        writer.append_many(run_events()[2:4], sync=True)
    assert heard == [[1, 2, 3, 4]]


def test_closing_the_writer_delivers_what_its_final_sync_made_durable(tmp_path: Path) -> None:
    heard: list[int] = []
    writer = EventLog(tmp_path).writer()
    writer.on_append(lambda evs: heard.extend(ev.seq for ev in evs))
    writer.append_many(run_events()[:3], sync=False)
    writer.close()
    assert heard == [1, 2, 3]


def test_a_listener_hears_only_events_appended_after_it_was_added(tmp_path: Path) -> None:
    # Unsynced events nobody listens to are not held: a replay, which never syncs,
    # appends in flat memory.
    heard: list[int] = []
    with EventLog(tmp_path).writer() as writer:
        writer.append_many(run_events()[:2], sync=False)
        writer.on_append(lambda evs: heard.extend(ev.seq for ev in evs))
        writer.append_many(run_events()[2:3], sync=False)
        writer.sync()
    assert heard == [3]


def test_a_workflows_listener_hears_every_event_once_in_log_order(run_dir: Path) -> None:
    heard: list[Event] = []
    Supervisor(FAST, model=scripted(), listeners=[heard.append]).run("task", run_dir)
    assert heard == list(EventLog(run_dir).read())
