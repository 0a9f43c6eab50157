"""Sealed lines whose content is bad: the CRC holds, the bytes still cannot be an event.

Invalid UTF-8 inside a string, a lone surrogate escape, or nesting deeper than any
decoder goes are damage like any other: every reader stops with :class:`LogCorrupt`
naming the file and line, and every CLI reader exits 1 with one line saying so.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from _logutil import make_log
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.cli import main
from events import MAX_DEPTH, CorruptLine, ModelCalled, UnloggableEvent, decode_line, encode_line
from store import EventLog, LogCorrupt
from store._scan import BadLine, decode_block

#: The line the damage goes on (the log's lines before it are good).
BAD_LINE = 4


def _seal(body: bytes) -> bytes:
    """Seal any JSON object body exactly as the writer would (a valid CRC)."""
    return b'%s,"crc":"%08x"}' % (body[:-1], zlib.crc32(body))


def _event_body(value: bytes, kind: bytes = b"StepStarted") -> bytes:
    """The body of an event of ``kind``, seq ``BAD_LINE``, with ``value`` in a field: a
    string goes in ``workflow_id``, anything else in a field the event does not have."""
    wf, extra = (value, b"0") if value.startswith(b'"') else (b'""', value)
    return (
        b'{"type":"%s","seq":%d,"id":"x","ts":"t","workflow_id":%s,"actor":"supervisor",'
        b'"step":"plan","attempt":1,"round":0,"extra":%s}' % (kind, BAD_LINE, wf, extra)
    )


#: Field values that no reader can decode, by the reason they fail.
BAD_VALUES: dict[str, bytes] = {
    "invalid UTF-8": b'"caf\xc3(\xff"',
    "lone surrogate": b'"\\ud800"',
    "low surrogate first": b'"\\udc00\\ud800"',
    "5,000 nested arrays": b"[" * 5000 + b"]" * 5000,
    "nesting just past the limit": b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
    "5,000 nested objects": b'{"a":' * 5000 + b"1" + b"}" * 5000,
}


@pytest.fixture(params=sorted(BAD_VALUES))
def bad_run(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A finished run's log whose line ``BAD_LINE`` is sealed but undecodable."""
    run = tmp_path / "run"
    log = make_log(run)
    lines = log.path.read_bytes().splitlines(keepends=True)
    lines[BAD_LINE - 1] = _seal(_event_body(BAD_VALUES[request.param])) + b"\n"
    log.path.write_bytes(b"".join(lines))
    return run


@pytest.mark.parametrize("kind", [b"StepStarted", b"NoSuchEventType"])
@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_decode_line_reports_bad_content_as_a_corrupt_line(name: str, kind: bytes) -> None:
    line = _seal(_event_body(BAD_VALUES[name], kind))
    with pytest.raises(CorruptLine):
        decode_line(line)
    with pytest.raises(BadLine) as caught:
        decode_block(line, BAD_LINE, BAD_LINE)
    assert caught.value.line_no == BAD_LINE
    assert not caught.value.foreign


def test_nesting_up_to_the_limit_reads_back() -> None:
    # The event object is level 1, so MAX_DEPTH - 1 arrays inside it are the most allowed.
    depth = MAX_DEPTH - 1
    line = _seal(_event_body(b"[" * depth + b"]" * depth))
    assert decode_line(line).seq == BAD_LINE
    assert len(decode_block(line, BAD_LINE, BAD_LINE)) == 1


def test_the_writer_refuses_an_event_no_reader_could_take_back() -> None:
    deep: object = []
    for _ in range(MAX_DEPTH):
        deep = [deep]
    with pytest.raises(UnloggableEvent, match="nests deeper"):
        encode_line(_called({"type": "text", "x": deep}))
    with pytest.raises(UnloggableEvent, match=r"\\ud800"):
        encode_line(_called({"type": "text", "text": "a\ud800b"}))


def _called(block: dict[str, object]) -> ModelCalled:
    return ModelCalled(
        step="code",
        attempt=1,
        request_digest="sha256:00",
        model="m",
        content=(block,),
        stop_reason="tool_use",
    )


def test_verify_names_the_line_and_keeps_the_events_before_it(bad_run: Path) -> None:
    report = EventLog(bad_run).verify()
    assert not report.ok
    assert report.first_bad_line == BAD_LINE
    assert report.events == BAD_LINE - 1


def test_read_yields_the_good_events_then_raises_log_corrupt(bad_run: Path) -> None:
    seen = []
    with pytest.raises(LogCorrupt, match=rf"events\.jsonl:{BAD_LINE}: ") as caught:
        seen.extend(EventLog(bad_run).read())
    assert caught.value.line_no == BAD_LINE
    assert [ev.seq for ev in seen] == list(range(1, BAD_LINE))


def test_a_bad_last_line_is_refused_by_the_writer(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    data = log.path.read_bytes()
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[1]
    seq = data.count(b"\n")
    body = _event_body(b"[" * 5000 + b"]" * 5000).replace(b'"seq":%d' % BAD_LINE, b'"seq":%d' % seq)
    log.path.write_bytes(data[: -len(last) - 1] + _seal(body) + b"\n")
    with pytest.raises(LogCorrupt, match=rf"events\.jsonl:{seq}: "):
        log.writer()


@settings(max_examples=200, deadline=None)
@given(
    value=st.one_of(
        st.binary(min_size=1, max_size=40).map(lambda b: b'"' + b.replace(b'"', b"") + b'"'),
        st.integers(0, 0x10FFFF).map(lambda c: b'"\\u%04x"' % (c & 0xFFFF)),
        st.integers(1, 6000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(1, 6000).map(lambda n: b'{"k":' * n + b"0" + b"}" * n),
    ),
    kind=st.sampled_from([b"StepStarted", b"NoSuchEventType"]),
)
def test_any_sealed_line_decodes_or_is_a_corrupt_line(value: bytes, kind: bytes) -> None:
    """Whatever bytes sit inside a correctly sealed line, decoding never raises anything
    but :class:`CorruptLine`, and the block decoder agrees with the line decoder."""
    line = _seal(_event_body(value, kind))
    try:
        one = decode_line(line)
    except CorruptLine:
        with pytest.raises(BadLine):
            decode_block(line, BAD_LINE, BAD_LINE)
    else:
        assert decode_block(line, BAD_LINE, BAD_LINE) == [one]


READERS: list[list[str]] = [
    ["verify"],
    ["verify", "--repair"],
    ["log"],
    ["log", "--json"],
    ["show", "{run}", "6"],
    ["stats"],
    ["project"],
    ["replay"],
    ["resume", "--script", "{script}"],
    ["fork", "--at", "2", "--run-dir", "{fork}", "--script", "{script}"],
]


@pytest.mark.parametrize("argv", READERS, ids=lambda a: " ".join(a[:2]))
def test_every_reader_command_exits_1_with_one_line_naming_file_and_line(
    bad_run: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    script = bad_run.parent / "script.json"
    script.write_text('{"plan": [], "code": [], "review": []}')
    values = {"run": str(bad_run), "script": str(script), "fork": str(bad_run.parent / "fork")}
    args = [a.format(**values) for a in argv]
    if "{run}" not in argv:
        args.insert(1, str(bad_run))
    code = main(args)
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.count("\n") == 1, err
    assert f"events.jsonl:{BAD_LINE}" in err
    assert "Traceback" not in err
