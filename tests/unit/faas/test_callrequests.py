"""Unit tests of faas.callrequests: what a call's record keeps of its request."""

from __future__ import annotations

import base64

from faas.callrequests import recorded_request, request_body, request_record
from faas.records import MAX_TEXT, CallRecord, RequestRecord
from faas.wire import CallKind, CallRequest, RunSpec


def call(body: bytes = b"", **fields: object) -> CallRequest:
    return CallRequest("c1", "echo", RunSpec(image="i"), body=body, **fields)  # type: ignore[arg-type]


def test_the_request_as_asked_without_credentials_or_call_ids() -> None:
    headers = [
        ("Content-Type", "application/json"),
        ("authorization", "Basic YWRtaW46cHc="),
        ("Proxy-Authorization", "Basic eDp5"),
        ("cookie", "session=s3cret"),
        ("X-Call-Id", "my-call"),
        ("x-idempotency-key", "order-42"),
        ("X-Callback-Url", "http://hook.test/done"),
        ("X-Faas-Schedule-Tick", "2026-01-01T00:00:00Z"),
    ]
    asked = call(b'{"a": 1}', method="PUT", path="/items/3", query="x=1&y=2", headers=headers)
    assert request_record(asked) == RequestRecord(
        method="PUT",
        path="/items/3",
        query="x=1&y=2",
        headers=[
            ["Content-Type", "application/json"],
            ["X-Callback-Url", "http://hook.test/done"],
            ["X-Faas-Schedule-Tick", "2026-01-01T00:00:00Z"],
        ],
        body=base64.b64encode(b'{"a": 1}').decode(),
        bodyBytes=8,
        bodyKept=True,
    )


def test_a_body_is_kept_up_to_max_text_bytes() -> None:
    largest = request_record(call(b"\xff" * MAX_TEXT))
    assert (largest.bodyKept, largest.bodyBytes) == (True, MAX_TEXT)
    assert request_body(largest) == b"\xff" * MAX_TEXT
    larger = request_record(call(b"x" * (MAX_TEXT + 1)))
    assert (larger.bodyKept, larger.bodyBytes, larger.body) == (False, MAX_TEXT + 1, "")
    assert request_body(larger) is None


def test_an_empty_body_is_kept_and_read_back_empty() -> None:
    empty = request_record(call())
    assert (empty.bodyKept, empty.bodyBytes, empty.body) == (True, 0, "")
    assert request_body(empty) == b""


def test_a_body_on_record_that_is_not_base64_reads_as_not_kept() -> None:
    assert request_body(RequestRecord(body="not base64!")) is None


def test_a_job_has_no_request_on_record_a_call_has() -> None:
    assert recorded_request(call(kind=CallKind.JOB)) is None
    assert recorded_request(call(b"hi", kind=CallKind.ASYNC)) == request_record(call(b"hi"))


def test_the_request_survives_its_record_s_round_trip() -> None:
    record = CallRecord("c1", "echo", request=request_record(call(b"\x00\x01", query="q=1")))
    assert CallRecord.loads(record.dumps()) == record
