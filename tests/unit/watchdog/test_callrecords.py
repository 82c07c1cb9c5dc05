"""Unit tests of watchdog.callrecords: how a call's result becomes its record."""

from __future__ import annotations

from dataclasses import replace

import pytest

from faas.records import (
    MAX_TEXT,
    AttemptRecord,
    CallbackRecord,
    CallbackState,
    CallNotFound,
    CallRecord,
    CallState,
    RequestRecord,
)
from faas.retry import RetryPolicy
from faas.wire import CallKind, CallRequest, CallResult, Outcome, RunSpec
from tests.stamps import is_now
from watchdog.callrecords import (
    LOST_JOB,
    MAX_ATTEMPT_LOG,
    attempt_of,
    begun,
    final_state,
    finish,
    key_of,
    new_record,
    policy_of,
    retrying,
    with_result,
)

POLICY = RetryPolicy(attempts=3, codes=frozenset({429, 500, 502, 503, 504}))
HOOK = "http://example.test/hook"

RUNNING = CallRecord(
    "c1",
    "hello",
    kind="async",
    state=CallState.RUNNING,
    attempts=1,
    maxAttempts=3,
    createdAt="2024-05-01T10:00:00.000Z",
    startedAt="2024-05-01T10:00:01.000Z",
    watchdog="w-record",
)
OK = CallResult(
    "c1",
    Outcome.OK,
    exit_code=0,
    body=b"hi\n",
    content_type="text/plain",
    duration=0.1234567891,
    watchdog="w1",
)
FAILED = CallResult(
    "c1",
    Outcome.FAILED,
    exit_code=1,
    body=b"partial",
    stderr=b"Traceback\n",
    duration=0.5,
    watchdog="w1",
    message="function hello exited with code 1",
)
TEMPFAILED = replace(FAILED, exit_code=75, message="function hello exited with code 75")
TIMED_OUT = CallResult(
    "c1",
    Outcome.TIMEOUT,
    exit_code=137,
    duration=10.0,
    watchdog="w1",
    message="function hello timed out after 10s and was killed",
)


LINE = AttemptRecord(0, watchdog="w1")  # an attempt's entry for the log, as attempt_of makes


def attempt(n: int, callback_url: str | None = None) -> CallRecord:
    return replace(RUNNING, attempts=n, callbackUrl=callback_url)


# finish


def test_finish_ok() -> None:
    record = finish(RUNNING, OK, POLICY, cancelled=False, entry=LINE)
    assert record.state is CallState.SUCCEEDED
    assert (record.exitCode, record.status, record.message) == (0, 200, "")
    assert (record.output, record.outputTruncated, record.stderr) == ("hi\n", False, "")
    assert record.durationSeconds == 0.123457
    assert record.watchdog == "w1"
    assert record.finishedAt is not None
    assert is_now(record.finishedAt)
    # what the result does not say is kept
    assert (record.callId, record.function, record.kind) == ("c1", "hello", "async")
    assert (record.attempts, record.maxAttempts) == (1, 3)
    assert record.startedAt == "2024-05-01T10:00:01.000Z"
    assert record.createdAt == "2024-05-01T10:00:00.000Z"


def test_finish_does_not_change_the_record_it_is_given() -> None:
    finish(attempt(1, HOOK), FAILED, POLICY, cancelled=False, entry=LINE)
    assert RUNNING.state is CallState.RUNNING
    assert RUNNING.finishedAt is None
    assert RUNNING.callback == CallbackRecord()


def test_finish_failed_on_the_first_attempt() -> None:
    record = finish(RUNNING, FAILED, POLICY, cancelled=False, entry=LINE)
    assert record.state is CallState.FAILED
    assert (record.exitCode, record.status) == (1, 500)
    assert record.message == "function hello exited with code 1"
    assert (record.output, record.stderr) == ("partial", "Traceback\n")


def test_finish_timed_out_on_the_first_attempt() -> None:
    record = finish(RUNNING, TIMED_OUT, POLICY, cancelled=False, entry=LINE)
    assert record.state is CallState.TIMED_OUT
    assert (record.exitCode, record.status) == (137, 504)
    assert record.message == "function hello timed out after 10s and was killed"


def test_finish_after_the_last_retry_is_given_up() -> None:
    record = finish(attempt(3), FAILED, POLICY, cancelled=False, entry=LINE)
    assert record.state is CallState.GIVEN_UP
    assert record.status == 500
    assert record.message == "function hello exited with code 1"


def test_finish_of_a_timeout_after_retries_is_given_up() -> None:
    assert (
        finish(attempt(3), TIMED_OUT, POLICY, cancelled=False, entry=LINE).state
        is CallState.GIVEN_UP
    )


def test_finish_of_a_tempfail_after_retries_is_given_up_with_429() -> None:
    record = finish(attempt(2), TEMPFAILED, POLICY, cancelled=False, entry=LINE)
    assert record.state is CallState.GIVEN_UP
    assert (record.exitCode, record.status) == (75, 429)


def test_finish_cancelled() -> None:
    record = finish(attempt(1, HOOK), TIMED_OUT, POLICY, cancelled=True, entry=LINE)
    assert record.state is CallState.CANCELLED
    assert record.message == "cancelled while running"
    assert (record.exitCode, record.status) == (137, 504)
    assert record.finishedAt is not None


def test_finish_cancelled_wins_over_success_and_given_up() -> None:
    assert finish(RUNNING, OK, POLICY, cancelled=True, entry=LINE).state is CallState.CANCELLED
    assert (
        finish(attempt(3), FAILED, POLICY, cancelled=True, entry=LINE).state is CallState.CANCELLED
    )


@pytest.mark.parametrize("result", [OK, FAILED, TIMED_OUT], ids=lambda r: r.outcome.value)
def test_finish_with_a_callback_url_makes_the_callback_pending(result: CallResult) -> None:
    record = finish(attempt(1, HOOK), result, POLICY, cancelled=False, entry=LINE)
    assert record.callback.state is CallbackState.PENDING
    assert record.callback.attempts == 0


def test_finish_without_a_callback_url_leaves_the_callback_alone() -> None:
    record = finish(attempt(1), OK, POLICY, cancelled=False, entry=LINE)
    assert record.callback == CallbackRecord()
    assert record.callback.state is CallbackState.NONE


def test_finish_cancelled_does_not_queue_the_callback() -> None:
    record = finish(attempt(1, HOOK), OK, POLICY, cancelled=True, entry=LINE)
    assert record.callback.state is CallbackState.NONE


def test_finish_clips_long_output_and_says_so() -> None:
    result = replace(OK, body=b"o" * (MAX_TEXT + 10), stderr=b"e" * (MAX_TEXT + 1))
    record = finish(RUNNING, result, POLICY, cancelled=False, entry=LINE)
    assert record.output == "o" * MAX_TEXT
    assert record.outputTruncated is True
    assert record.stderr == "e" * MAX_TEXT


def test_finish_output_at_the_limit_is_not_truncated() -> None:
    record = finish(RUNNING, replace(OK, body=b"o" * MAX_TEXT), POLICY, cancelled=False, entry=LINE)
    assert len(record.output) == MAX_TEXT
    assert record.outputTruncated is False


# final_state


@pytest.mark.parametrize(
    ("result", "attempts", "state"),
    [
        (OK, 1, CallState.SUCCEEDED),
        (OK, 3, CallState.SUCCEEDED),
        (FAILED, 1, CallState.FAILED),
        (FAILED, 3, CallState.GIVEN_UP),
        (TIMED_OUT, 1, CallState.TIMED_OUT),
        (TIMED_OUT, 2, CallState.GIVEN_UP),
        (TEMPFAILED, 1, CallState.FAILED),
        (TEMPFAILED, 3, CallState.GIVEN_UP),
        (CallResult("c", Outcome.ERROR, message="no image"), 1, CallState.FAILED),
        (CallResult("c", Outcome.OUT_OF_MEMORY, exit_code=137), 1, CallState.FAILED),
    ],
)
def test_final_state(result: CallResult, attempts: int, state: CallState) -> None:
    assert final_state(result, attempts, POLICY) is state


def test_final_state_after_retries_with_a_status_not_retried_is_failed() -> None:
    policy = RetryPolicy(attempts=3, codes=frozenset({429}))
    assert final_state(FAILED, 2, policy) is CallState.FAILED
    assert final_state(TIMED_OUT, 2, policy) is CallState.TIMED_OUT
    assert final_state(TEMPFAILED, 2, policy) is CallState.GIVEN_UP


# retrying


def test_retrying_queues_the_call_again_with_the_result_and_the_wait() -> None:
    record = retrying(attempt(1, HOOK), FAILED, 2.345, LINE)
    assert record.state is CallState.QUEUED
    assert record.message == (
        "function hello exited with code 1 (attempt 1 answered 500; next in 2.3s)"
    )
    assert (record.exitCode, record.status, record.output) == (1, 500, "partial")
    assert record.finishedAt is None
    assert record.callback == CallbackRecord()  # no callback until the call is over
    assert record.attempts == 1


def test_retrying_of_a_tempfail_says_429() -> None:
    record = retrying(attempt(2), TEMPFAILED, 4.0, LINE)
    assert record.message == (
        "function hello exited with code 75 (attempt 2 answered 429; next in 4.0s)"
    )


def test_retrying_without_a_message_has_only_the_note() -> None:
    record = retrying(RUNNING, replace(FAILED, message=""), 1.0, LINE)
    assert record.message == "(attempt 1 answered 500; next in 1.0s)"


# policy_of


def call(**fields: object) -> CallRequest:
    return CallRequest("c1", "hello", RunSpec(image="hello"), **fields)  # type: ignore[arg-type]


def test_policy_of_a_sync_call_is_one_attempt() -> None:
    policy = policy_of(call(kind="sync", max_attempts=5, retry_codes=[500]))
    assert policy == RetryPolicy(attempts=1)
    assert not policy.retries(500, 1)


def test_policy_of_an_async_call_comes_from_the_call() -> None:
    policy = policy_of(
        call(
            kind="async",
            max_attempts=4,
            retry_codes=[429, 503],
            retry_min_wait=0.5,
            retry_max_wait=8.0,
        )
    )
    assert policy == RetryPolicy(
        attempts=4, codes=frozenset({429, 503}), min_wait=0.5, max_wait=8.0
    )
    assert policy.retries(503, 3)
    assert not policy.retries(500, 1)


def test_policy_of_an_async_call_without_retries() -> None:
    policy = policy_of(call(kind="async"))
    assert policy.attempts == 1
    assert policy.codes == frozenset()


# _with_result


def test_with_result_keeps_the_record_watchdog_when_the_result_has_none() -> None:
    record = with_result(RUNNING, replace(OK, watchdog=""), LINE)
    assert record.watchdog == "w-record"
    assert with_result(RUNNING, OK, LINE).watchdog == "w1"


def test_with_result_copies_the_result_and_leaves_the_state() -> None:
    record = with_result(RUNNING, TIMED_OUT, LINE)
    assert record.state is CallState.RUNNING
    assert record.finishedAt is None
    assert (record.exitCode, record.status, record.durationSeconds) == (137, 504, 10.0)
    assert record.message == TIMED_OUT.message
    assert (record.output, record.outputTruncated, record.stderr) == ("", False, "")


def test_with_result_without_an_exit_code() -> None:
    result = CallResult("c1", Outcome.ERROR, message="image missing")
    record = with_result(replace(RUNNING, exitCode=3), result, LINE)
    assert record.exitCode is None
    assert record.status == 502


# the record of a call


def test_key_of_a_call_is_its_record_key() -> None:
    accepted = call(kind="async", created_at="2024-05-01T10:00:00.000000Z")
    assert key_of(accepted) == "hello.01714557600000000.c1"
    assert key_of(accepted) == new_record(accepted).key


def test_key_of_a_call_without_a_creation_time_is_not_found() -> None:
    with pytest.raises(CallNotFound) as caught:
        key_of(call(kind="async"))
    assert caught.value.call_id == "c1"


def test_new_record_of_a_call() -> None:
    accepted = call(
        kind="async",
        created_at="2024-05-01T10:00:00.000000Z",
        callback_url=HOOK,
        max_attempts=4,
        method="PUT",
        path="/items",
        query="a=1",
        headers=[("content-type", "text/plain"), ("authorization", "Basic eDp5")],
        body=b"hi",
    )
    assert new_record(accepted) == CallRecord(
        "c1",
        "hello",
        kind="async",
        createdAt="2024-05-01T10:00:00.000000Z",
        maxAttempts=4,
        callbackUrl=HOOK,
        request=RequestRecord(
            "PUT", "/items", "a=1", [["content-type", "text/plain"]], "aGk=", 2, True
        ),
    )


def test_new_record_of_a_job_has_no_request() -> None:
    assert new_record(call(kind="job", created_at="2024-05-01T10:00:00.000000Z")).request is None


def test_new_record_of_a_call_without_a_creation_time_or_callback() -> None:
    record = new_record(call(kind="sync"))
    assert is_now(record.createdAt)
    assert record.callbackUrl is None
    assert (record.state, record.attempts, record.maxAttempts) == (CallState.QUEUED, 0, 1)


# begun

AT = "2024-05-01T10:00:05.000Z"


def test_begun_marks_the_call_running_one_attempt_more() -> None:
    queued = replace(RUNNING, state=CallState.QUEUED, attempts=1, startedAt=None)
    call = CallRequest("c1", "hello", RunSpec("img"), kind=CallKind.ASYNC)
    record = begun(queued, call, "w2", at=AT)
    assert (record.state, record.attempts, record.watchdog) == (CallState.RUNNING, 2, "w2")
    assert record.startedAt == AT


def test_begun_counts_the_deliveries_of_attempts_never_on_record() -> None:
    queued = replace(RUNNING, state=CallState.QUEUED, attempts=0, startedAt=None)
    call = CallRequest("c1", "hello", RunSpec("img"), kind=CallKind.ASYNC)
    assert begun(queued, call, "w2", at=AT, delivery=3).attempts == 3  # two watchdogs lost
    assert begun(replace(queued, attempts=4), call, "w2", at=AT, delivery=3).attempts == 5


def test_begun_leaves_a_cancelled_call_cancelled() -> None:
    cancelled = replace(RUNNING, state=CallState.CANCELLED, attempts=0)
    call = CallRequest("c1", "hello", RunSpec("img"), kind=CallKind.ASYNC)
    assert begun(cancelled, call, "w2", at=AT) == cancelled


def test_begun_runs_a_job_once_and_fails_it_if_taken_again() -> None:
    job = CallRequest("j1", "_job", RunSpec("img"), kind=CallKind.JOB)
    first = begun(replace(RUNNING, state=CallState.QUEUED, attempts=0), job, "w1", at=AT)
    assert (first.state, first.attempts) == (CallState.RUNNING, 1)
    again = begun(first, job, "w2", at=AT)  # its watchdog died: the lease lapsed
    assert (again.state, again.attempts, again.message) == (CallState.FAILED, 1, LOST_JOB)
    assert again.finishedAt == AT


def test_finish_keeps_a_callback_delivered_before_the_record_was_final() -> None:
    """The callback is queued first: its deliverer may have written its outcome already."""
    delivered = CallbackRecord(CallbackState.DELIVERED, 1, 200, "", "2024-05-01T10:00:02Z")
    record = finish(
        replace(attempt(1, HOOK), callback=delivered), OK, POLICY, cancelled=False, entry=LINE
    )
    assert (record.state, record.callback) == (CallState.SUCCEEDED, delivered)


@pytest.mark.parametrize("state", [s for s in CallState if s.final])
def test_a_call_ended_by_an_earlier_delivery_is_not_begun_again(state: CallState) -> None:
    call = CallRequest("c1", "hello", RunSpec("img"), kind=CallKind.ASYNC)
    ended = replace(RUNNING, state=state)
    assert begun(ended, call, "w2", "2024-05-01T10:01:00Z", delivery=2) == ended


# the attempt log

SPEC = RunSpec("faas/hello:latest", memory=64 * 2**20, timeout=5.0, max_output=1024)
RAN = CallResult(
    "c1",
    Outcome.FAILED,
    exit_code=3,
    duration=0.25,
    watchdog="w1",
    image_id="sha256:abc",
    created_at=1714557600.0,  # 2024-05-01T10:00:00Z, made ahead of its call
    started_at=1714557601.5,
    exited_at=1714557601.75,
    peak_memory=5 * 2**20,
    cpu_seconds=0.0123456789,
)
TAKEN = "2024-05-01T10:00:01.000000Z"


def of_spec(**fields: object) -> CallRequest:
    return CallRequest("c1", "hello", SPEC, **fields)  # type: ignore[arg-type]


def test_attempt_of_a_run_has_its_timeline_exit_and_use() -> None:
    entry = attempt_of(of_spec(), RAN, TAKEN)
    assert entry == AttemptRecord(
        attempt=0,
        watchdog="w1",
        image="faas/hello:latest",
        imageId="sha256:abc",
        takenAt=TAKEN,
        containerCreatedAt="2024-05-01T10:00:00.000000Z",
        startedAt="2024-05-01T10:00:01.500000Z",
        exitedAt="2024-05-01T10:00:01.750000Z",
        exitCode=3,
        signal=None,
        outcome="failed",
        status=500,
        explanation="exited with code 3",
        durationSeconds=0.25,
        peakMemoryBytes=5 * 2**20,
        cpuSeconds=0.012346,
    )


def test_attempt_of_a_run_killed_for_memory_names_the_signal_and_the_limit() -> None:
    result = replace(RAN, outcome=Outcome.OUT_OF_MEMORY, exit_code=137)
    entry = attempt_of(of_spec(), result, TAKEN)
    assert (entry.signal, entry.explanation) == (9, "ran out of memory (limit 64 MiB)")


def test_attempt_of_a_call_that_could_not_run_has_no_container_times() -> None:
    result = CallResult("c1", Outcome.ERROR, duration=0.01, watchdog="w1", message="no image x")
    entry = attempt_of(of_spec(), result, TAKEN)
    assert (entry.containerCreatedAt, entry.startedAt, entry.exitedAt) == (None, None, None)
    assert (entry.exitCode, entry.signal, entry.imageId) == (None, None, "")
    assert (entry.peakMemoryBytes, entry.cpuSeconds) == (None, None)
    assert (entry.takenAt, entry.status) == (TAKEN, 502)
    assert entry.explanation == "could not run: no image x"


def test_the_attempt_log_has_one_entry_per_attempt_across_retries() -> None:
    async_call = of_spec(kind=CallKind.ASYNC, max_attempts=3, retry_codes=[500])
    record = replace(RUNNING, attemptLog=[])
    for n in (1, 2):
        record = retrying(record, RAN, 1.0, attempt_of(async_call, RAN, f"taken {n}"))
        record = begun(record, async_call, "w2", at=f"begun {n + 1}")
    ok = replace(RAN, outcome=Outcome.OK, exit_code=0)
    record = finish(record, ok, POLICY, False, attempt_of(async_call, ok, "taken 3"))
    assert [(e.attempt, e.takenAt, e.exitCode) for e in record.attemptLog] == [
        (1, "taken 1", 3),
        (2, "taken 2", 3),
        (3, "taken 3", 0),
    ]
    assert [e.explanation for e in record.attemptLog] == [
        "exited with code 3",
        "exited with code 3",
        "exited 0",
    ]
    assert record.state is CallState.SUCCEEDED


def test_the_attempt_log_keeps_the_last_attempts_only() -> None:
    record = RUNNING
    for n in range(1, MAX_ATTEMPT_LOG + 4):
        record = with_result(replace(record, attempts=n), RAN, LINE)
    assert [e.attempt for e in record.attemptLog] == list(range(4, MAX_ATTEMPT_LOG + 4))


def test_finish_cancelled_explains_the_attempt_as_cancelled() -> None:
    entry = attempt_of(of_spec(), replace(RAN, outcome=Outcome.ERROR, exit_code=137), TAKEN)
    record = finish(attempt(1), RAN, POLICY, cancelled=True, entry=entry)
    assert [(e.attempt, e.explanation) for e in record.attemptLog] == [(1, "cancelled")]


def test_a_sync_call_finished_in_one_write_has_its_one_attempt() -> None:
    sync = CallRecord("c1", "hello", kind=CallKind.SYNC, attempts=1, startedAt=TAKEN)
    ok = replace(RAN, outcome=Outcome.OK, exit_code=0)
    record = finish(sync, ok, RetryPolicy(attempts=1), False, attempt_of(of_spec(), ok, TAKEN))
    assert [(e.attempt, e.outcome, e.imageId) for e in record.attemptLog] == [
        (1, "ok", "sha256:abc")
    ]
