"""Unit tests of watchdog.attempt: an attempt's record, written as few times as it may be,
on a real nats-server."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import nats.errors
import pytest

from faas.records import CallRecord, CallState, Held
from faas.retry import RetryPolicy
from faas.wire import CallKind, CallRequest, CallResult, Outcome, RunSpec
from tests.recordstore import Store, run
from tests.stamps import is_now
from watchdog import attempt as attempt_module
from watchdog.attempt import Attempt, Superseded
from watchdog.callrecords import LOST_JOB, attempt_of, finish, retrying

CREATED = "2024-05-01T10:00:00.000000Z"


def call_of(kind: CallKind, call_id: str = "a1", created_at: str = CREATED) -> CallRequest:
    return CallRequest(call_id, "f", RunSpec("img"), kind=kind, created_at=created_at)


async def queued(s: Store, call: CallRequest, **fields: object) -> CallRecord:
    record = CallRecord(call.call_id, "f", kind=call.kind, createdAt=CREATED)
    stored, _ = await s.records.create(replace(record, **fields))  # type: ignore[arg-type]
    return stored


def succeeded(record: CallRecord) -> CallRecord:
    return replace(record, state=CallState.SUCCEEDED, exitCode=0)


def test_a_short_call_goes_from_queued_to_its_end_in_one_write(nats_url: str) -> None:
    async def body(s: Store) -> None:
        call = call_of(CallKind.ASYNC)
        record = await queued(s, call)
        attempt = await Attempt.take(s.records, call, "w1")
        await attempt.settle()
        assert attempt.runs
        taken = await s.records.read(record.key)
        assert taken.record.state is CallState.QUEUED  # nothing written yet
        end = await attempt.end(succeeded)
        assert (await s.records.read(record.key)).revision == taken.revision + 1
        assert (end.state, end.attempts, end.watchdog) == (CallState.SUCCEEDED, 1, "w1")
        assert end.startedAt is not None
        assert await s.records.get(call.call_id) == end

    run(nats_url, body)


def test_a_longer_call_is_on_record_as_running_while_it_runs(
    nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attempt_module, "RUNNING_AFTER", 0.05)

    async def body(s: Store) -> None:
        call = call_of(CallKind.ASYNC, "a2")
        await queued(s, call)
        attempt = await Attempt.take(s.records, call, "w1")
        await attempt.settle()
        await asyncio.sleep(0.3)
        running = await s.records.get("a2")
        assert (running.state, running.attempts, running.watchdog) == (CallState.RUNNING, 1, "w1")
        end = await attempt.end(succeeded)
        assert (end.state, end.attempts, end.startedAt) == (
            CallState.SUCCEEDED,
            1,
            running.startedAt,
        )

    run(nats_url, body)


def test_a_job_is_on_record_as_running_before_it_runs(nats_url: str) -> None:
    async def body(s: Store) -> None:
        call = call_of(CallKind.JOB, "j1")
        await queued(s, call)
        attempt = await Attempt.take(s.records, call, "w1")
        await attempt.settle()
        running = await s.records.get("j1")
        assert (running.state, running.attempts) == (CallState.RUNNING, 1)
        assert (await attempt.end(succeeded)).attempts == 1

    run(nats_url, body)


def test_a_job_taken_again_does_not_run_and_is_failed(nats_url: str) -> None:
    async def body(s: Store) -> None:
        call = call_of(CallKind.JOB, "j2")
        await queued(s, call, state=CallState.RUNNING, attempts=1)  # its watchdog was lost
        attempt = await Attempt.take(s.records, call, "w2")
        await attempt.settle()
        assert not attempt.runs
        failed = await s.records.get("j2")
        assert (failed.state, failed.message, failed.attempts) == (CallState.FAILED, LOST_JOB, 1)

    run(nats_url, body)


def test_a_call_cancelled_while_queued_does_not_run_and_nothing_is_written(
    nats_url: str,
) -> None:
    async def body(s: Store) -> None:
        call = call_of(CallKind.ASYNC, "a3")
        record = await queued(s, call, state=CallState.CANCELLED)
        before = await s.records.read(record.key)
        attempt = await Attempt.take(s.records, call, "w1")
        await attempt.settle()
        assert not attempt.runs
        assert await s.records.read(record.key) == before

    run(nats_url, body)


def test_a_write_while_it_ran_is_kept_and_the_attempt_counted_once(nats_url: str) -> None:
    async def body(s: Store) -> None:
        call = call_of(CallKind.ASYNC, "a4")
        record = await queued(s, call, attempts=1, message="retry")  # its second attempt
        attempt = await Attempt.take(s.records, call, "w1")
        await attempt.settle()
        await s.records.update(record.key, lambda r: replace(r, message="someone else"))
        end = await attempt.end(succeeded)
        assert (end.state, end.attempts, end.message) == (CallState.SUCCEEDED, 2, "someone else")
        assert await s.records.get("a4") == end

    run(nats_url, body)


def test_a_call_without_a_record_gets_one_when_taken(nats_url: str) -> None:
    async def body(s: Store) -> None:
        call = call_of(CallKind.ASYNC, "a5", created_at="")  # from a gateway that wrote none
        attempt = await Attempt.take(s.records, call, "w1")
        running = await s.records.get("a5")
        assert (running.state, running.attempts) == (CallState.RUNNING, 1)
        await attempt.settle()
        end = await attempt.end(succeeded)
        assert (await s.records.get("a5")) == end
        assert end.attempts == 1

    run(nats_url, body)


def test_an_attempt_after_a_lost_one_counts_it(nats_url: str) -> None:
    async def body(s: Store) -> None:
        call = call_of(CallKind.ASYNC, "a6")
        await queued(s, call)  # its first watchdog was lost before the start was on record
        attempt = await Attempt.take(s.records, call, "w2", delivery=2)
        await attempt.settle()
        assert (await attempt.end(succeeded)).attempts == 2

    run(nats_url, body)


def test_an_attempt_whose_lease_lapsed_ends_writing_nothing(nats_url: str) -> None:
    """Its call went to another watchdog (delivery 2), which has begun or already ended it."""

    async def body(s: Store) -> None:
        for ended_first in (False, True):
            call = call_of(CallKind.ASYNC, f"a7-{ended_first}")
            record = await queued(s, call)
            stale = await Attempt.take(s.records, call, "w1")
            await stale.settle()
            later = await Attempt.take(s.records, call, "w2", delivery=2)
            await later.settle()
            if ended_first:
                await later.end(succeeded)
            else:
                await later._store()  # on record as running on w2
            before = await s.records.read(record.key)
            with pytest.raises(Superseded) as caught:
                await stale.end(succeeded)
            assert caught.value.record.watchdog == "w2"
            assert await s.records.read(record.key) == before  # nothing written
            if not ended_first:  # the later attempt still ends the call as usual
                end = await later.end(succeeded)
                assert (end.state, end.attempts, end.watchdog) == (CallState.SUCCEEDED, 2, "w2")

    run(nats_url, body)


def test_each_attempt_adds_its_entry_to_the_log_in_the_one_write_of_its_end(
    nats_url: str,
) -> None:
    async def body(s: Store) -> None:
        call = call_of(CallKind.ASYNC, "a9")
        record = await queued(s, call)
        policy = RetryPolicy(attempts=2, codes=frozenset({500}))
        failed = CallResult("a9", Outcome.FAILED, exit_code=3, watchdog="w1")
        first = await Attempt.take(s.records, call, "w1", 1)
        await first.settle()
        before = (await s.records.read(record.key)).revision
        entry = attempt_of(call, failed, first.taken_at)
        await first.end(lambda r: retrying(r, failed, 0.1, entry))
        assert (await s.records.read(record.key)).revision == before + 1
        second = await Attempt.take(s.records, call, "w2", 2)
        await second.settle()
        ok = CallResult("a9", Outcome.OK, exit_code=0, watchdog="w2")
        last = attempt_of(call, ok, second.taken_at)
        end = await second.end(lambda r: finish(r, ok, policy, False, last))
        assert (await s.records.read(record.key)).revision == before + 2
        assert [(e.attempt, e.watchdog, e.takenAt, e.explanation) for e in end.attemptLog] == [
            (1, "w1", first.taken_at, "exited with code 3"),
            (2, "w2", second.taken_at, "exited 0"),
        ]
        assert is_now(second.taken_at)
        assert await s.records.get("a9") == end

    run(nats_url, body)


def test_a_first_delivery_is_checked_once_its_lease_could_have_lapsed(
    nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Just taken, a first delivery is the only attempt: its check reads nothing. Taken long
    enough ago for its lease to lapse, or delivered before, an attempt reads the record and
    finds a later one."""

    async def body(s: Store) -> None:
        call = call_of(CallKind.ASYNC, "a9")
        await queued(s, call)
        first = await Attempt.take(s.records, call, "w1")
        second = await Attempt.take(s.records, call, "w2", delivery=2)
        third = await Attempt.take(s.records, call, "w3", delivery=3)
        await third._store()  # w3 has it now
        reads = []
        read = s.records.read

        async def counted(key: str) -> object:
            reads.append(key)
            return await read(key)

        monkeypatch.setattr(s.records, "read", counted)
        await first.check(lease=30.0)
        assert reads == []
        first.began -= attempt_module.UNSUPERSEDED_FOR
        with pytest.raises(Superseded):
            await first.check(lease=30.0)
        with pytest.raises(Superseded):
            await second.check(lease=30.0)  # just taken, but a redelivery
        assert len(reads) == 2
        await third.check(lease=30.0)  # read, and its own

    run(nats_url, body)


@pytest.mark.parametrize("final", [True, False], ids=["ended", "to-be-retried"])
def test_an_end_whose_write_landed_but_timed_out_is_not_written_twice(
    nats_url: str, monkeypatch: pytest.MonkeyPatch, final: bool
) -> None:
    """Through a failover a write can land and its answer be lost: tried again, it finds
    its own end on record, and neither calls itself superseded nor logs the attempt twice."""
    monkeypatch.setattr("faas.failover.WAIT", 0.01)

    async def body(s: Store) -> None:
        call = call_of(CallKind.ASYNC, f"t-{final}")
        record = await queued(s, call)
        result = CallResult(call.call_id, Outcome.FAILED, exit_code=3, watchdog="w1")
        attempt = await Attempt.take(s.records, call, "w1")
        await attempt.settle()
        entry = attempt_of(call, result, attempt.taken_at)
        policy = RetryPolicy(attempts=1 if final else 2, codes=frozenset({500}))
        revise = s.records.revise

        async def lost_answer(*args: Any, **kwargs: Any) -> Held:
            s.records.revise = revise  # type: ignore[method-assign]
            await revise(*args, **kwargs)
            raise nats.errors.TimeoutError()

        s.records.revise = lost_answer  # type: ignore[method-assign]
        if final:
            end = await attempt.end(lambda r: finish(r, result, policy, False, entry))
        else:
            end = await attempt.end(lambda r: retrying(r, result, 0.1, entry))
        stored = await s.records.get(record.callId)
        assert stored == end and len(stored.attemptLog) == 1
        assert stored.state is (CallState.FAILED if final else CallState.QUEUED)

    run(nats_url, body)
