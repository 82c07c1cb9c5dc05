"""New, accepted, cancelled and retried calls: what the async routes, jobs and the
scheduler share.

A call is accepted once its record exists and JetStream has it on disk; then it is never
lost. A cancelled one never runs, or has its container stopped.

A retry is a call of its own (a new id, its own record, attempts and callback) with the
request on the first one's record, linked to it by `retryOf`. The first is left as it is,
so a call still queued or running can be retried too, and then runs beside its retry. The
retry runs with the function's spec as it is now, and is called back at the first call's
callback URL, if it had one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import uuid
from dataclasses import replace

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from faas import bus
from faas.callrequests import recorded_request, request_body
from faas.inflight import create_first, publish_once
from faas.jobspec import JOB_FUNCTION
from faas.records import MAX_TEXT, CallRecord, CallState, RecordStore, RequestRecord, now
from faas.retry import RetryPolicy
from faas.spec import FunctionSpec
from faas.wire import CallKind, CallRequest, RunSpec, pack
from gateway.errors import BodyTooLarge, Conflict
from gateway.registry import Registry

log = logging.getLogger(__name__)


def run_spec(spec: FunctionSpec, max_output: int) -> RunSpec:
    """How a watchdog runs one call of the function."""
    return RunSpec(
        image=spec.image,
        command=list(spec.command),
        env=spec.env_vars,
        memory=spec.memory,
        cpus=spec.cpus or 0.0,
        pids=spec.pids,
        read_only=spec.read_only_root_filesystem,
        network=spec.network,
        timeout=spec.timeout,
        content_type=spec.content_type,
        max_output=max_output,
        secrets=list(spec.secrets),
        revision=spec.revision,
    )


def async_call(
    spec: FunctionSpec, call_id: str, body: bytes, callback: str | None, max_output: int
) -> CallRequest:
    """An async call made by the gateway itself (a scheduled tick), with the retry policy."""
    call = CallRequest(
        call_id=call_id,
        function=spec.name,
        run=run_spec(spec, max_output),
        method="POST",
        body=body,
        kind=CallKind.ASYNC,
        callback_url=callback or "",
        start_by=math.inf,
    )
    with_retries(call, spec.retry)
    return call


def with_retries(call: CallRequest, policy: RetryPolicy) -> None:
    call.max_attempts, call.retry_codes = policy.attempts, sorted(policy.codes)
    call.retry_min_wait, call.retry_max_wait = policy.min_wait, policy.max_wait


class Submissions:
    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        records: RecordStore,
        idempotency: KeyValue,
        registry: Registry,
        max_body: int,
    ) -> None:
        self.nc = nc
        self.js = js
        self.records = records
        self.idempotency = idempotency
        self.registry = registry  # a retry runs with the function's spec as it is now
        self.max_body = max_body
        self.pending: dict[str, asyncio.Task[None]] = {}  # records written after the 202

    async def claim(self, key: str, call_id: str) -> str:
        """The call id an idempotency key stands for: this one, or the first one's."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        try:
            await create_first(self.idempotency, digest, call_id.encode())
            return call_id
        except KeyWrongLastSequenceError:
            entry = await self.idempotency.get(digest)
            return (entry.value or call_id.encode()).decode()

    async def accept_new(self, call: CallRequest, capped: bool) -> CallRecord:
        """Queue a call under an id this gateway has just made: no earlier call can hold it,
        so the queued message is the one durable write the caller waits for, and its
        record is written right after (a watchdog that takes the call first writes its own).
        """
        record = _queued(call)
        call.created_at = record.createdAt
        await self._queue(call, capped)
        task = asyncio.create_task(self._record(record))
        self.pending[call.call_id] = task
        task.add_done_callback(lambda _: self.pending.pop(call.call_id, None))
        return record

    async def _record(self, record: CallRecord) -> None:
        try:
            await self.records.create_if_absent(record)
        except Exception as exc:  # the watchdog that takes the call writes one
            log.warning("call %s: record not written: %s", record.callId, exc)

    async def settled(self, call_id: str) -> None:
        """Once the record of a call accepted here just now is written (read your writes)."""
        task = self.pending.get(call_id)
        if task is not None:
            await asyncio.shield(task)

    async def all_settled(self) -> None:
        """Once every record of a call accepted here so far is written; also at shutdown."""
        with contextlib.suppress(Exception):
            await asyncio.shield(asyncio.gather(*self.pending.values()))

    async def accept(
        self, call: CallRequest, capped: bool, retry_of: str | None = None
    ) -> CallRecord:
        """Record the call, then queue it; return its record (the first one's, for a repeat).

        A repeated call id is not queued again, unless its first submission may have been cut
        short between the two steps (still queued, never started): JetStream drops the copy
        if the first one made it, by the message id, within the deduplication window.
        `retry_of` (the call this one retries) is on record before a watchdog can take it.
        """
        await self.settled(call.call_id)  # a repeat of a call accepted here just now
        stored, new = await self.records.create(replace(_queued(call), retryOf=retry_of))
        if not new and not stored.unstarted:
            return stored
        call.created_at = stored.createdAt
        await self._queue(call, capped)
        return stored

    async def _queue(self, call: CallRequest, capped: bool) -> None:
        """On disk once this returns; a copy under the same id within the window is dropped."""
        subject = bus.async_subject(call.function, capped)
        await publish_once(self.js, subject, pack(call), call.call_id)

    async def cancel(self, found: CallRecord, message: str) -> CallRecord:
        """Mark the call cancelled unless it finished, and tell the watchdogs to stop it."""
        if found.state.final:  # a sync call's record, on its shelf, is always final
            return found

        def change(record: CallRecord) -> CallRecord:
            if record.state.final:
                return record
            return replace(record, state=CallState.CANCELLED, finishedAt=now(), message=message)

        record = await self.records.update(found.key, change)
        if record.state is CallState.CANCELLED:
            await self.nc.publish(bus.cancel_subject(record.callId), b"")
        return record

    async def retry(self, first: CallRecord, body: bytes | None = None) -> CallRecord:
        """Queue a retry of the call, with `body` instead of its own when given; its record,
        once it is recorded and queued. FunctionNotFound when the function is gone, Conflict
        when the call cannot be retried (a job, no request or body on record)."""
        if body is not None and len(body) > self.max_body:
            raise BodyTooLarge(self.max_body)
        if first.kind == CallKind.JOB or first.function == JOB_FUNCTION:
            raise Conflict(
                f"call {first.callId} is a one-shot job, which never runs twice: "
                "submit its spec again with POST /system/jobs"
            )
        spec = self.registry.get(first.function)
        call = retry_call(first, spec, body, self.max_body)
        record = await self.accept(call, spec.max_concurrency is not None, retry_of=first.callId)
        log.info("call %s (%s): retried as %s", first.callId, first.function, call.call_id)
        return record


def retry_call(
    first: CallRecord, spec: FunctionSpec, body: bytes | None, max_output: int
) -> CallRequest:
    """A new async call of the function with the first call's request and callback URL."""
    request = first.request
    if request is None:
        raise Conflict(
            f"call {first.callId} has no request on record (recorded before requests were "
            "kept): it cannot be retried"
        )
    sent = body if body is not None else request_body(request)
    if sent is None:
        raise Conflict(
            f"the body of call {first.callId} ({request.bodyBytes} bytes) was not kept, being "
            f"larger than {MAX_TEXT} bytes: give the body to send, as "
            '{"body": "..."} or {"bodyBase64": "..."}'
        )
    call = CallRequest(
        call_id=uuid.uuid4().hex,
        function=spec.name,
        run=run_spec(spec, max_output),
        method=request.method,
        path=request.path,
        query=request.query,
        headers=_headers(request, sent),
        body=sent,
        kind=CallKind.ASYNC,
        callback_url=first.callbackUrl or "",
        start_by=math.inf,
    )
    with_retries(call, spec.retry)
    return call


def _headers(request: RequestRecord, body: bytes) -> list[tuple[str, str]]:
    """The headers on record; a Content-Length among them says the length of this body."""
    return [
        (name, str(len(body)) if name.lower() == "content-length" else value)
        for name, value in request.headers
    ]


def _queued(call: CallRequest) -> CallRecord:
    return CallRecord(
        call.call_id,
        call.function,
        createdAt=call.created_at or now(),
        kind=call.kind,
        maxAttempts=call.max_attempts,
        callbackUrl=call.callback_url or None,
        request=recorded_request(call),
    )
