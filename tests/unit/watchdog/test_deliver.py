"""Unit tests of watchdog.deliver: a callback's headers and how an attempt is recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace

import nats
import nats.errors
import pytest

from faas.callback import Delivery
from faas.records import (
    CallbackAttempt,
    CallbackRecord,
    CallbackState,
    CallRecord,
    CallState,
    Held,
    RecordStore,
)
from faas.wire import CallbackJob, pack
from tests.stamps import is_now
from watchdog.deliver import MAX_HISTORY, Deliverer, Written, _attempted, callback_headers

EARLIER = "2024-05-01T10:00:00.000Z"
SENT = "2024-05-01T10:00:05.000Z"

JOB = CallbackJob(
    call_id="c1",
    function="hello",
    url="http://example.test/hook",
    status=500,
    body=b"function hello exited with code 3\n",
    content_type="text/plain",
    duration=1.5,
    exit_code=3,
)


# callback_headers


def test_callback_headers_of_a_finished_call() -> None:
    assert callback_headers(JOB) == {
        "Content-Type": "text/plain",
        "X-Call-Id": "c1",
        "X-Function-Name": "hello",
        "X-Function-Status": "500",
        "X-Duration-Seconds": "1.500000",
        "X-Exit-Code": "3",
    }


def test_callback_headers_without_an_exit_code() -> None:
    job = CallbackJob(
        "c2", "hello", "http://example.test/hook", 502, content_type="text/plain", duration=0.25
    )
    headers = callback_headers(job)
    assert "X-Exit-Code" not in headers
    assert headers == {
        "Content-Type": "text/plain",
        "X-Call-Id": "c2",
        "X-Function-Name": "hello",
        "X-Function-Status": "502",
        "X-Duration-Seconds": "0.250000",
    }


def test_callback_headers_with_exit_code_zero() -> None:
    job = CallbackJob("c3", "f", "http://h/", 200, content_type="application/json", exit_code=0)
    headers = callback_headers(job)
    assert headers["X-Exit-Code"] == "0"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Duration-Seconds"] == "0.000000"


def test_callback_headers_duration_is_rounded_to_microseconds() -> None:
    job = CallbackJob("c4", "f", "http://h/", 200, duration=2.0000004999)
    assert callback_headers(job)["X-Duration-Seconds"] == "2.000000"


# _attempted


def test_attempted_delivered_stamps_delivered_at() -> None:
    before = CallbackRecord(state=CallbackState.PENDING, attempts=1, status=503, error="503")
    delivery = Delivery(ok=True, status=204, error="", retry=False)
    after = _attempted(before, 2, delivery, CallbackState.DELIVERED, SENT)
    assert after.state is CallbackState.DELIVERED
    assert (after.attempts, after.status, after.error) == (2, 204, "")
    assert after.deliveredAt is not None
    assert is_now(after.deliveredAt)
    assert before.deliveredAt is None  # the record given is not changed


def test_attempted_failed_keeps_the_old_delivered_at() -> None:
    before = CallbackRecord(state=CallbackState.PENDING, deliveredAt=EARLIER)
    delivery = Delivery(ok=False, status=None, error="connection refused", retry=False)
    after = _attempted(before, 8, delivery, CallbackState.FAILED, SENT)
    assert after == CallbackRecord(
        state=CallbackState.FAILED,
        attempts=8,
        status=None,
        error="connection refused",
        deliveredAt=EARLIER,
        history=[CallbackAttempt(SENT, None, "connection refused")],
    )


def test_attempted_failed_without_an_earlier_delivery() -> None:
    delivery = Delivery(ok=False, status=404, error="HTTP 404", retry=False)
    after = _attempted(CallbackRecord(), 1, delivery, CallbackState.FAILED, SENT)
    assert (after.state, after.status, after.error) == (CallbackState.FAILED, 404, "HTTP 404")
    assert after.deliveredAt is None


def test_attempted_still_pending_records_the_attempt() -> None:
    delivery = Delivery(ok=False, status=503, error="HTTP 503", retry=True)
    after = _attempted(
        CallbackRecord(state=CallbackState.PENDING), 3, delivery, CallbackState.PENDING, SENT
    )
    assert after == CallbackRecord(
        state=CallbackState.PENDING,
        attempts=3,
        status=503,
        error="HTTP 503",
        deliveredAt=None,
        history=[CallbackAttempt(SENT, 503, "HTTP 503")],
    )


def test_attempted_adds_each_post_to_the_history_in_order() -> None:
    refused = Delivery(ok=False, status=None, error="connection refused", retry=True)
    answered = Delivery(ok=True, status=204, error="", retry=False)
    first = _attempted(CallbackRecord(), 1, refused, CallbackState.PENDING, EARLIER)
    second = _attempted(first, 2, answered, CallbackState.DELIVERED, SENT)
    assert second.history == [
        CallbackAttempt(EARLIER, None, "connection refused"),
        CallbackAttempt(SENT, 204, ""),
    ]
    assert first.history == [CallbackAttempt(EARLIER, None, "connection refused")]


def test_attempted_keeps_only_the_last_posts() -> None:
    failed = Delivery(ok=False, status=503, error="HTTP 503", retry=True)
    callback = CallbackRecord()
    for n in range(MAX_HISTORY + 5):
        callback = _attempted(callback, n + 1, failed, CallbackState.PENDING, f"t{n}")
    assert len(callback.history) == MAX_HISTORY
    assert [a.at for a in callback.history] == [f"t{n}" for n in range(5, MAX_HISTORY + 5)]


# Written, and a callback's note on its record


def held(call_id: str, output: str = "", revision: int = 1) -> Held:
    return Held(CallRecord(call_id, "f", output=output), revision)


def test_written_keeps_the_last_small_records_each_once() -> None:
    written = Written(size=2, largest=10)
    for call_id in ("a", "b", "c"):
        written.put(call_id, held(call_id))
    written.put("big", held("big", output="x" * 11))
    assert written.pop("a") is None  # the oldest went
    assert written.pop("big") is None  # too large to keep
    kept = written.pop("b")
    assert kept is not None and (kept.record.callId, kept.revision) == ("b", 1)
    assert written.pop("b") is None  # each is used once
    written.put("c", held("c", output="x" * 11, revision=2))  # a newer, larger copy
    assert written.pop("c") is None  # not the stale one


def test_a_note_uses_the_record_this_watchdog_wrote_and_reads_when_it_is_stale(
    nats_url: str,
) -> None:
    delivered = Delivery(ok=True, status=204, error="", retry=False)

    def note(callback: CallbackRecord) -> CallbackRecord:
        return _attempted(callback, 1, delivered, CallbackState.DELIVERED, SENT)

    async def main() -> None:
        nc = await nats.connect(nats_url)
        try:
            records = await RecordStore.open(nc, 3600.0)
            reads: list[str] = []
            read = records.read

            async def counted(key: str) -> Held:
                reads.append(key)
                return await read(key)

            records.read = counted  # type: ignore[method-assign]
            written = Written()
            deliverer = Deliverer(nc.jetstream(), records, 1, written)
            final = CallRecord("n1", "f", state=CallState.SUCCEEDED, callbackUrl="http://h/")
            written.put(final.key, await records.put(final))
            job = replace(JOB, call_id="n1", function="f", record_key=final.key)
            await deliverer._note(job, note)
            assert reads == []  # the revision written was still the record's
            stored = await records.get_key(final.key)
            assert (stored.state, stored.callback.state) == (CallState.SUCCEEDED, "delivered")
            # someone wrote the record since: the note reads it, and keeps that write
            await records.revise(final.key, lambda r: replace(r, message="changed"))
            reads.clear()
            await deliverer._note(job, lambda c: replace(c, attempts=2))
            assert reads == [final.key]
            stored = await records.get_key(final.key)
            assert (stored.message, stored.callback.attempts) == ("changed", 2)
            assert stored.callback.state == "delivered"
        finally:
            await nc.close()

    asyncio.run(main())


# Deliverer.deliver: the POST, then its note on the record, then the ack


class Job:
    """A callback job as the consumer hands it over; what was done with it."""

    def __init__(self, job: CallbackJob) -> None:
        self.data = pack(job)
        self.metadata = SimpleNamespace(num_delivered=1)
        self.done: list[str] = []

    async def ack(self) -> None:
        self.done.append("ack")

    async def nak(self, delay: float | None = None) -> None:
        self.done.append("nak")


class FlakyRecords:
    """A record store whose writes fail `failures` times with `error`, then work."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.record = CallRecord("c1", "hello", state=CallState.FAILED, callbackUrl=JOB.url)

    async def revise(
        self, key: str, change: Callable[[CallRecord], CallRecord], held: Held | None = None
    ) -> Held:
        if self.failures:
            self.failures -= 1
            raise self.error
        self.record = change(self.record)
        return Held(self.record, 2)


def deliver_once(records: FlakyRecords, monkeypatch: pytest.MonkeyPatch) -> tuple[Job, list[str]]:
    """One delivery of JOB, answered 200 by its URL; the job and the URLs POSTed to."""
    posted: list[str] = []

    async def post(http: object, url: str, body: bytes, headers: dict[str, str]) -> Delivery:
        posted.append(url)
        return Delivery(ok=True, status=200, error="", retry=False)

    monkeypatch.setattr("watchdog.deliver.callback.post", post)
    monkeypatch.setattr("faas.failover.PATIENCE", 0.3)
    monkeypatch.setattr("faas.failover.WAIT", 0.01)
    msg = Job(JOB)
    deliverer = Deliverer(None, records, 1, Written())  # type: ignore[arg-type]
    asyncio.run(deliverer.deliver(msg, None))  # type: ignore[arg-type]
    return msg, posted


def test_a_note_waits_out_a_failover_then_the_job_is_acked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = FlakyRecords(2, nats.errors.TimeoutError())
    msg, posted = deliver_once(records, monkeypatch)
    assert posted == [JOB.url] and msg.done == ["ack"]
    assert (records.record.callback.state, records.record.callback.status) == ("delivered", 200)


def test_a_callback_posted_is_acked_even_when_its_record_cannot_be_written(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    records = FlakyRecords(10**6, nats.errors.TimeoutError())
    msg, posted = deliver_once(records, monkeypatch)
    assert posted == [JOB.url] and msg.done == ["ack"]  # not POSTed again after its ack wait
    assert "callback c1: not put on its record: nats: timeout" in caplog.text


def test_a_failure_in_the_watchdog_is_logged_and_the_job_left_to_come_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    records = FlakyRecords(1, ValueError("a bug"))
    msg, posted = deliver_once(records, monkeypatch)
    assert posted == [JOB.url] and msg.done == []
    assert "callback delivery failed in the watchdog" in caplog.text and "a bug" in caplog.text
