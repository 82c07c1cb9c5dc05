"""A call's record through its life on a watchdog: taken, retried, finished, each state
decided from the call, its result and its retry policy."""

from __future__ import annotations

from dataclasses import replace

from faas.records import (
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

LOST_JOB = "its watchdog was lost while it ran; a job is never run twice"


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
    )


def with_result(record: CallRecord, result: CallResult) -> CallRecord:
    output, cut = clip(result.body)
    stderr, _ = clip(result.stderr)
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
    )


def retrying(record: CallRecord, result: CallResult, delay: float) -> CallRecord:
    record = with_result(record, result)
    note = f"attempt {record.attempts} answered {result.status}; next in {delay:.1f}s"
    return replace(record, state=CallState.QUEUED, message=f"{result.message} ({note})".strip())


def finish(
    record: CallRecord, result: CallResult, policy: RetryPolicy, cancelled: bool
) -> CallRecord:
    why = record.message if record.state is CallState.CANCELLED and record.message else "cancelled"
    record = with_result(record, result)
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
