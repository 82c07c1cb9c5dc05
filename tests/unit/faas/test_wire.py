"""Unit tests of faas.wire: the records on the bus, packed and unpacked."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from faas.errors import Error, WireError
from faas.wire import (
    VERSION,
    CallKind,
    CallRequest,
    CallResult,
    CallStarted,
    Heartbeat,
    Outcome,
    Record,
    RunSpec,
    WatchdogState,
    pack,
    unpack,
    unpack_any,
)

RUN = RunSpec(
    image="docker.io/me/hello:1.0",
    command=["python3", "index.py"],
    env={"exec_timeout": "10s", "greeting": "héllo"},
    memory=128 * 2**20,
    cpus=0.5,
    pids=64,
    read_only=True,
    network="none",
    timeout=10.0,
    content_type="application/json",
    max_output=8 * 2**20,
)
REQUEST = CallRequest(
    call_id="c1",
    function="hello",
    run=RUN,
    method="PUT",
    path="/a/b",
    query="x=1&y=2",
    headers=[("Content-Type", "application/octet-stream"), ("X-Twice", "1"), ("X-Twice", "2")],
    body=b"\x00\xff binary \n body",
    reply_to="_reply.gw1.c1",
    start_by=1_700_000_000.25,
)
STARTED = CallStarted(call_id="c1", watchdog="w1")
RESULT = CallResult(
    call_id="c1",
    outcome=Outcome.TIMEOUT,
    exit_code=137,
    body=b"\x89PNG\r\n",
    stderr=b"killed\n",
    content_type="image/png",
    duration=10.5,
    watchdog="w1",
    message="function hello timed out after 10s and was killed",
)
HEARTBEAT = Heartbeat(watchdog="w1", capacity=4, in_use=3, state=WatchdogState.DRAINING)
RECORDS: list[Record] = [
    REQUEST,
    CallRequest(call_id="c2", function="f", run=RunSpec(image="f")),
    STARTED,
    RESULT,
    CallResult(call_id="c2", outcome=Outcome.OK),
    HEARTBEAT,
    Heartbeat(watchdog="w2", capacity=1, in_use=0),
]


def envelope(**fields: Any) -> bytes:
    """A packed envelope of a heartbeat with `fields` replacing its parts."""
    data = {"v": VERSION, "t": "Heartbeat", "f": {"watchdog": "w", "capacity": 1, "in_use": 0}}
    return msgpack.packb({**data, **fields})  # type: ignore[no-any-return]


# round trips


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_pack_unpack_round_trip(record: Record) -> None:
    data = pack(record)
    kind: type[Any] = type(record)
    assert isinstance(data, bytes)
    assert unpack(data, kind) == record
    assert unpack_any(data) == record


def test_call_request_keeps_its_nested_run_spec_bytes_and_header_pairs() -> None:
    call = unpack(pack(REQUEST), CallRequest)
    assert isinstance(call.run, RunSpec)
    assert call.run == RUN
    assert call.body == REQUEST.body
    assert isinstance(call.body, bytes)
    assert call.headers == REQUEST.headers
    assert all(type(h) is tuple for h in call.headers)


def test_call_result_outcome_is_an_outcome() -> None:
    result = unpack(pack(RESULT), CallResult)
    assert result.outcome is Outcome.TIMEOUT
    assert isinstance(result.stderr, bytes)


def test_call_result_without_an_exit_code() -> None:
    result = CallResult(call_id="c", outcome=Outcome.EXPIRED, message="no capacity")
    assert unpack(pack(result), CallResult).exit_code is None


def test_pack_writes_the_version_and_type_tag() -> None:
    data = msgpack.unpackb(pack(STARTED))
    assert data == {"v": VERSION, "t": "CallStarted", "f": {"call_id": "c1", "watchdog": "w1"}}


# bad data


def test_wire_error_is_one_of_ours_and_a_value_error() -> None:
    assert issubclass(WireError, Error)
    assert issubclass(WireError, ValueError)


@pytest.mark.parametrize(
    ("record", "expected"),
    [(HEARTBEAT, CallResult), (STARTED, CallResult), (RESULT, CallStarted), (REQUEST, Heartbeat)],
)
def test_unpack_refuses_another_record_type(record: Record, expected: type[Any]) -> None:
    message = f"expected {expected.__name__}, got {type(record).__name__}"
    with pytest.raises(WireError, match=message):
        unpack(pack(record), expected)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",  # a byte msgpack never uses
        b"\x92\x01",  # an array cut short
        b"not msgpack at all",
        msgpack.packb([1, 2, 3]),
        msgpack.packb("CallStarted"),
        msgpack.packb(7),
        msgpack.packb({"v": VERSION, "t": "Heartbeat"}),
        msgpack.packb({"t": "Heartbeat", "f": {}}),
        pack(STARTED) + b"\x00",
    ],
)
def test_unpack_refuses_garbage(data: bytes) -> None:
    with pytest.raises(WireError, match="undecodable message"):
        unpack_any(data)
    with pytest.raises(WireError):
        unpack(data, CallStarted)


@pytest.mark.parametrize("version", [0, VERSION + 1, "1", None])
def test_unpack_refuses_another_version(version: Any) -> None:
    with pytest.raises(WireError, match=f"wire version {version!r}, expected {VERSION}"):
        unpack(envelope(v=version), Heartbeat)


@pytest.mark.parametrize("tag", ["Nope", "heartbeat", "RunSpec", "", None, 3])
def test_unpack_refuses_an_unknown_type_tag(tag: Any) -> None:
    with pytest.raises(WireError, match=f"unknown record type {tag!r}"):
        unpack_any(envelope(t=tag))


@pytest.mark.parametrize("tag", [["Heartbeat"], {"a": 1}])
def test_unpack_refuses_an_unhashable_type_tag(tag: Any) -> None:
    with pytest.raises(WireError):
        unpack_any(envelope(t=tag))


@pytest.mark.parametrize(
    ("tag", "fields"),
    [
        ("Heartbeat", {"watchdog": "w"}),
        ("Heartbeat", ["w", 1, 0]),
        ("CallStarted", {}),
        ("CallResult", {"call_id": "c", "outcome": "meh"}),
        ("CallResult", {"call_id": "c"}),
        ("CallRequest", {"call_id": "c", "function": "f"}),
        ("CallRequest", {"call_id": "c", "function": "f", "run": {}}),
        ("CallRequest", {"call_id": "c", "function": "f", "run": "img"}),
        (
            "CallRequest",
            {"call_id": "c", "function": "f", "run": {"image": "i"}, "headers": [["a"]]},
        ),
    ],
)
def test_unpack_refuses_bad_fields(tag: str, fields: Any) -> None:
    with pytest.raises(WireError, match=f"bad {tag}"):
        unpack_any(envelope(t=tag, f=fields))


# Outcome


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome.OK, 200),
        (Outcome.FAILED, 500),
        (Outcome.TIMEOUT, 504),
        (Outcome.TOO_LARGE, 502),
        (Outcome.OUT_OF_MEMORY, 500),
        (Outcome.ERROR, 502),
        (Outcome.EXPIRED, 504),
    ],
)
def test_outcome_http_status(outcome: Outcome, status: int) -> None:
    assert outcome.http_status == status


def test_every_outcome_has_a_status() -> None:
    assert all(100 <= o.http_status < 600 for o in Outcome)


def test_outcome_values_are_the_wire_strings() -> None:
    assert Outcome("out_of_memory") is Outcome.OUT_OF_MEMORY
    assert str(Outcome.TOO_LARGE) == "too_large"


def test_unpack_ignores_fields_of_a_newer_peer() -> None:
    data = msgpack.packb(
        {
            "v": VERSION,
            "t": "CallRequest",
            "f": {"call_id": "c", "function": "f", "run": {"image": "i", "gpu": 1}, "later": 2},
        }
    )
    call = unpack(data, CallRequest)
    assert (call.call_id, call.run.image) == ("c", "i")


@pytest.mark.parametrize("kind", list(CallKind))
def test_a_calls_kind_comes_back_as_its_enum(kind: CallKind) -> None:
    call = CallRequest(call_id="c", function="f", run=RunSpec(image="i"), kind=kind)
    back = unpack(pack(call), CallRequest)
    assert back.kind is kind


def test_an_unknown_call_kind_is_a_wire_error() -> None:
    fields = {"call_id": "c", "function": "f", "run": {"image": "i"}, "kind": "later"}
    data = msgpack.packb({"v": VERSION, "t": "CallRequest", "f": fields})
    with pytest.raises(WireError, match="later"):
        unpack(data, CallRequest)
