"""Unit tests of gateway.callsummary: a call's summary read from its stored record."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from faas import rfc3339
from faas.records import AttemptRecord, CallRecord, CallState, RequestRecord
from gateway.callsummary import BadRecord, CallSummary, _fields, order_of, summarize

RECORD = CallRecord(
    callId="c1",
    function="hello",
    kind="async",
    state=CallState.FAILED,
    attempts=2,
    maxAttempts=3,
    exitCode=3,
    status=500,
    message="exit code 3",
    createdAt="2026-05-01T10:00:00.000001Z",
    startedAt="2026-05-01T10:00:01.5Z",
    finishedAt="2026-05-01T10:00:02.25Z",
    durationSeconds=0.75,
    output="partial\n",
    stderr="broken\n",
    watchdog="w1",
    request=RequestRecord("PUT", "/a", "x=1", [["X-Note", "hi"]], "aGk=", 2),
    retryOf="c0",
    attemptLog=[AttemptRecord(1, watchdog="w0"), AttemptRecord(2, watchdog="w1")],
)


def summary_of(record: CallRecord, raw: bytes | None = None) -> CallSummary:
    return summarize(record.key, record.dumps() if raw is None else raw, 1, 7)


def test_a_summary_holds_what_a_listing_shows() -> None:
    summary = summary_of(RECORD)
    assert summary == CallSummary(
        order="01777629600000001.c1",
        function="hello",
        kind="async",
        state=CallState.FAILED,
        exit_code=3,
        status=500,
        started=rfc3339.parse("2026-05-01T10:00:01.5Z").timestamp(),
        finished=rfc3339.parse("2026-05-01T10:00:02.25Z").timestamp(),
        duration=0.75,
        watchdog="w1",
        retry_of="c0",
    )
    assert (summary.shelf, summary.revision) == (1, 7)
    assert summary.call_id == "c1"
    assert summary.key == RECORD.key
    assert summary.state is CallState.FAILED


def test_its_json_uses_the_records_names() -> None:
    assert summary_of(RECORD).to_json() == {
        "callId": "c1",
        "function": "hello",
        "kind": "async",
        "state": "failed",
        "exitCode": 3,
        "status": 500,
        "createdAt": "2026-05-01T10:00:00.000001Z",
        "startedAt": "2026-05-01T10:00:01.500000Z",
        "finishedAt": "2026-05-01T10:00:02.250000Z",
        "durationSeconds": 0.75,
        "watchdog": "w1",
        "retryOf": "c0",
    }


def test_a_new_record_has_no_times_but_its_creation() -> None:
    fresh = CallRecord("c2", "hello", createdAt="2026-05-01T10:00:00Z")
    data = summary_of(fresh).to_json()
    assert data["state"] == "queued"
    assert (data["startedAt"], data["finishedAt"], data["exitCode"], data["retryOf"]) == (
        None,
        None,
        None,
        None,
    )
    assert data["createdAt"] == "2026-05-01T10:00:00.000000Z"


TRICKY = [
    '", "watchdog": "evil", "retryOf": "evil"',
    '\\", \\"watchdog\\": \\"evil\\"',
    "é ü \u2028 \x00 \\",
    "x" * 100_000,
]


@pytest.mark.parametrize("text", TRICKY)
def test_the_short_read_agrees_with_reading_the_whole_record(text: str) -> None:
    record = replace(RECORD, output=text, stderr=text, message=text[:50])
    record.request = RequestRecord(headers=[[text, text]], body=text)
    raw = record.dumps()
    whole = json.loads(raw)
    short = _fields(raw)
    assert short == {k: whole[k] for k in short}
    assert (short["watchdog"], short["retryOf"]) == ("w1", "c0")
    assert summary_of(record) == summary_of(RECORD)


def test_a_watchdog_name_with_escapes_is_read_too() -> None:
    record = replace(RECORD, watchdog='w"1\\', retryOf=None)
    summary = summary_of(record)
    assert (summary.watchdog, summary.retry_of) == ('w"1\\', None)


def test_a_record_in_another_layout_is_read_whole() -> None:
    data = RECORD.to_json()
    reordered = {k: data[k] for k in reversed(data)}
    compact = json.dumps(data, separators=(",", ":")).encode()
    for raw in (json.dumps(reordered).encode(), compact):
        assert summary_of(RECORD, raw) == summary_of(RECORD)


def test_a_record_of_a_newer_version_is_read() -> None:
    data = RECORD.to_json()
    data["later"] = {"output": "x"}
    assert summary_of(RECORD, json.dumps(data).encode()) == summary_of(RECORD)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"callId": "c1"}',
        b'{"state": "lost"}',
        b'{"state": "failed", "exitCode": "3"}',
        b'{"state": "failed", "startedAt": "yesterday"}',
        b'{"state": "failed", "retryOf": 5}',
        b"\xff\xfe",
    ],
)
def test_an_unreadable_record_is_a_bad_record(raw: bytes) -> None:
    with pytest.raises(BadRecord):
        summarize(RECORD.key, raw)


@pytest.mark.parametrize("key", ["hello", "hello.123.c1", "hello.0177762960000000x.c1", ".x"])
def test_a_key_of_no_record_is_a_bad_record(key: str) -> None:
    with pytest.raises(BadRecord):
        order_of(key)


def test_names_are_held_once_however_many_summaries_hold_them() -> None:
    first, second = (summarize(RECORD.key, RECORD.dumps()) for _ in range(2))
    assert first.function is second.function
    assert first.watchdog is second.watchdog
