"""The line codec: every event type round-trips, seals catch edits, old and new lines decode."""

from __future__ import annotations

import zlib
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    EVENT_TYPES,
    MAX_DEPTH,
    CorruptLine,
    StepStarted,
    UnknownEvent,
    UnloggableEvent,
    WorkflowStarted,
    decode_line,
    encode_line,
    to_dict,
)
from events.codec import encoding_problem

_json_scalar = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
_json = st.recursive(
    _json_scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def strategy(t: mi.Type) -> st.SearchStrategy[Any]:
    """Values of the msgspec type ``t``, honouring its length and range constraints."""
    if isinstance(t, mi.StrType):
        return st.text(min_size=t.min_length or 0, max_size=max(t.min_length or 0, 12))
    if isinstance(t, mi.IntType):
        lo = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else -(2**40))
        return st.integers(min_value=lo, max_value=2**40)
    if isinstance(t, mi.FloatType):
        lo = t.ge if t.ge is not None else (t.gt if t.gt is not None else -1e9)
        return st.floats(min_value=lo, max_value=1e9, exclude_min=t.gt is not None)
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(t.values)
    if isinstance(t, mi.UnionType):
        return st.one_of([strategy(x) for x in t.types])
    if isinstance(t, mi.VarTupleType | mi.ListType):
        return st.lists(strategy(t.item_type), min_size=t.min_length or 0, max_size=3).map(
            tuple if isinstance(t, mi.VarTupleType) else list
        )
    if isinstance(t, mi.DictType):
        return st.dictionaries(st.text(max_size=6), strategy(t.value_type), max_size=3)
    if isinstance(t, mi.AnyType):
        return _json
    if isinstance(t, mi.StructType):
        fields = {f.encode_name: strategy(f.type) for f in t.fields}
        return st.fixed_dictionaries(fields).map(lambda kw: t.cls(**kw))
    raise TypeError(f"no strategy for {t!r}")


def events_of(cls: type) -> st.SearchStrategy[Any]:
    return strategy(mi.type_info(cls))


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_event_type_round_trips_through_the_codec(name: str, data: st.DataObject) -> None:
    event = data.draw(events_of(EVENT_TYPES[name]))
    line = encode_line(event)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_line(line) == event


@settings(max_examples=200, deadline=None)
@given(event=events_of(StepStarted), data=st.data())
def test_any_changed_byte_in_a_line_is_caught(event: StepStarted, data: st.DataObject) -> None:
    line = bytearray(encode_line(event)[:-1])
    at = data.draw(st.integers(0, len(line) - 1))
    line[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(CorruptLine):
        decode_line(bytes(line))


def _seal(body: bytes) -> bytes:
    return b'%s,"crc":"%08x"}\n' % (body[:-1], zlib.crc32(body))


def test_a_line_written_before_a_field_existed_decodes_with_its_default() -> None:
    old = _seal(b'{"type":"StepStarted","seq":2,"step":"plan","attempt":1}')
    event = decode_line(old)
    assert isinstance(event, StepStarted) and event.round == 0


def test_a_field_from_a_newer_version_is_ignored() -> None:
    newer = _seal(b'{"type":"StepStarted","seq":2,"step":"code","attempt":1,"shiny":true}')
    assert decode_line(newer) == StepStarted(seq=2, step="code", attempt=1)


def test_an_unknown_event_type_decodes_to_a_reportable_value() -> None:
    line = _seal(b'{"type":"PlanAmended","seq":7,"actor":"planner","why":"scope"}')
    event = decode_line(line)
    assert isinstance(event, UnknownEvent)
    assert (event.type, event.seq, event.actor, event.data) == (
        "PlanAmended",
        7,
        "planner",
        {"why": "scope"},
    )
    assert to_dict(event)["why"] == "scope"


def test_a_known_type_with_a_bad_field_is_corrupt_not_unknown() -> None:
    with pytest.raises(CorruptLine, match="invalid event"):
        decode_line(_seal(b'{"type":"StepStarted","seq":1,"step":"dance","attempt":1}'))


def test_a_line_that_is_not_sealed_is_rejected_with_a_reason() -> None:
    with pytest.raises(CorruptLine, match="integrity field"):
        decode_line(b'{"type":"StepStarted","seq":1}\n')


def test_workflow_config_survives_the_round_trip_inside_workflow_started() -> None:
    started = WorkflowStarted(task="t", workflow_id="wf")
    assert msgspec.json.decode(encode_line(started))["config"]["max_retries"] == 3


def test_a_value_nesting_too_deep_is_refused_whatever_its_fields_declared_type() -> None:
    # msgspec does not check a struct's field types when it is built: a field declared
    # ``str`` can hold a nested list, so no event type proves its lines shallow.
    deep: Any = 1
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(UnloggableEvent, match="nests deeper"):
        encode_line(StepStarted(step=deep, attempt=1))


def test_the_shallowest_value_too_deep_is_refused_and_one_level_less_is_written() -> None:
    # The event object is level 1: MAX_DEPTH - 1 lists inside it are the deepest allowed.
    def nested(levels: int) -> Any:
        value: Any = 1
        for _ in range(levels):
            value = [value]
        return value

    line = encode_line(StepStarted(step=nested(MAX_DEPTH - 1), attempt=1))
    assert msgspec.json.decode(line)["step"] == nested(MAX_DEPTH - 1)
    with pytest.raises(UnloggableEvent, match="nests deeper"):
        encode_line(StepStarted(step=nested(MAX_DEPTH), attempt=1))


def test_the_shortest_value_nesting_past_the_limit_has_an_encoding_problem() -> None:
    # [[...[]...]]: the shortest JSON of each depth (2 bytes a level, msgspec closes
    # every bracket it opens); MAX_DEPTH levels are allowed, one more is not.
    def nested(levels: int) -> Any:
        value: Any = []
        for _ in range(levels - 1):
            value = [value]
        return value

    assert len(msgspec.json.encode(nested(MAX_DEPTH + 1))) == 2 * MAX_DEPTH + 2
    assert encoding_problem(nested(MAX_DEPTH)) is None
    too_deep = f"its data nests deeper than {MAX_DEPTH} levels"
    assert encoding_problem(nested(MAX_DEPTH + 1)) == too_deep
