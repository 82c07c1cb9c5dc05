"""A call's record through its life on a watchdog: taken, retried, finished, each state
decided from the call, its result and its retry policy."""

from __future__ import annotations

from dataclasses import replace

from faas import rfc3339
from faas.callrequests import recorded_request
from faas.records import (
    AttemptRecord,
    CallbackState,
    CallNotFound,
    CallRecord,
    CallState,
    clip,
    now,
    record_key,
)
from faas.retry import RetryPolicy
from faas.wire import CallKind, CallRequest, CallResult, Outcome
from watchdog import exits

LOST_JOB = "its watchdog was lost while it ran; a job is never run twice"
MAX_ATTEMPT_LOG = 20  # the last attempts a record keeps: a redelivered call has no bound


def begun(
    record: CallRecord, call: CallRequest, watchdog: str, at: str, delivery: int = 1
) -> CallRecord:
    """The record of a call taken to run at `at`: running one attempt more, unless it may
    not run. `delivery` counts the times its message was handed out, this one included:
    an attempt whose watchdog was lost before it was on record still counts."""
    if record.state.final:  # cancelled while queued, or ended by an earlier delivery
        return record
    if call.kind == CallKind.JOB and record.attempts > 0:  # at most once: a rerun may do harm
        return replace(record, state=CallState.FAILED, finishedAt=at, message=LOST_JOB)
    return replace(
        record,
        state=CallState.RUNNING,
        attempts=max(record.attempts + 1, delivery),
        startedAt=at,
        watchdog=watchdog,
    )


def policy_of(call: CallRequest) -> RetryPolicy:
    if call.kind != CallKind.ASYNC:
        return RetryPolicy(attempts=1)
    return RetryPolicy(
        attempts=call.max_attempts,
        codes=frozenset(call.retry_codes),
        min_wait=call.retry_min_wait,
        max_wait=call.retry_max_wait,
    )


def key_of(call: CallRequest) -> str:
    if not call.created_at:  # from a gateway that wrote no record
        raise CallNotFound(call.call_id)
    return record_key(call.function, call.created_at, call.call_id)


def new_record(call: CallRequest) -> CallRecord:
    return CallRecord(
        call.call_id,
        call.function,
        createdAt=call.created_at or now(),
        kind=call.kind,
        maxAttempts=call.max_attempts,
        callbackUrl=call.callback_url or None,
        request=recorded_request(call),
    )


def attempt_of(call: CallRequest, result: CallResult, taken_at: str) -> AttemptRecord:
    """The attempt log's entry for one run of the call, taken at `taken_at`; numbered when
    it is written (`with_result`)."""
    return AttemptRecord(
        attempt=0,
        watchdog=result.watchdog,
        image=call.run.image,
        imageId=result.image_id,
        takenAt=taken_at,
        containerCreatedAt=_stamp(result.created_at),
        startedAt=_stamp(result.started_at),
        exitedAt=_stamp(result.exited_at),
        exitCode=result.exit_code,
        signal=exits.signal_of(result.exit_code),
        outcome=result.outcome.value,
        status=result.status,
        explanation=exits.explain(result, call.run),
        durationSeconds=round(result.duration, 6),
        peakMemoryBytes=result.peak_memory,
        cpuSeconds=None if result.cpu_seconds is None else round(result.cpu_seconds, 6),
    )


def _stamp(seconds: float) -> str | None:
    return rfc3339.stamp(seconds) if seconds else None


def with_result(record: CallRecord, result: CallResult, entry: AttemptRecord) -> CallRecord:
    """The record with the attempt's result, its entry added to the attempt log."""
    output, cut = clip(result.body)
    stderr, _ = clip(result.stderr)
    entry = replace(entry, attempt=record.attempts)
    return replace(
        record,
        exitCode=result.exit_code,
        status=result.status,
        message=result.message,
        durationSeconds=round(result.duration, 6),
        output=output,
        outputTruncated=cut,
        stderr=stderr,
        watchdog=result.watchdog or record.watchdog,
        attemptLog=[*record.attemptLog, entry][-MAX_ATTEMPT_LOG:],
    )


def retrying(
    record: CallRecord, result: CallResult, delay: float, entry: AttemptRecord
) -> CallRecord:
    record = with_result(record, result, entry)
    note = f"attempt {record.attempts} answered {result.status}; next in {delay:.1f}s"
    return replace(record, state=CallState.QUEUED, message=f"{result.message} ({note})".strip())


def finish(
    record: CallRecord,
    result: CallResult,
    policy: RetryPolicy,
    cancelled: bool,
    entry: AttemptRecord,
) -> CallRecord:
    why = record.message if record.state is CallState.CANCELLED and record.message else "cancelled"
    if cancelled:
        entry = replace(entry, explanation=exits.CANCELLED)
    record = with_result(record, result, entry)
    if cancelled:  # keep the canceller's reason ("cancelled", "replaced by the tick of ...")
        state, message = CallState.CANCELLED, f"{why} while running"
    else:
        state, message = final_state(result, record.attempts, policy), record.message
    callback = record.callback
    if record.callbackUrl and state is not CallState.CANCELLED and not callback.attempts:
        callback = replace(callback, state=CallbackState.PENDING)  # unless already tried
    return replace(record, state=state, message=message, finishedAt=now(), callback=callback)


def final_state(result: CallResult, attempts: int, policy: RetryPolicy) -> CallState:
    if result.outcome is Outcome.OK:
        return CallState.SUCCEEDED
    if attempts > 1 and result.status in policy.codes:
        return CallState.GIVEN_UP
    if result.outcome is Outcome.TIMEOUT:
        return CallState.TIMED_OUT
    return CallState.FAILED
