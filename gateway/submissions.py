"""New, accepted and cancelled calls: what the async routes, jobs and the scheduler share.

A call is accepted once its record exists and JetStream has it on disk; then it is never
lost. A cancelled one never runs, or has its container stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import shlex
from dataclasses import replace

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from faas import bus
from faas.records import CallRecord, CallState, RecordStore, now
from faas.retry import RetryPolicy
from faas.spec import FunctionSpec
from faas.wire import CallKind, CallRequest, RunSpec, pack

log = logging.getLogger(__name__)


def run_spec(spec: FunctionSpec, max_output: int) -> RunSpec:
    """How a watchdog runs one call of the function."""
    # OpenFaaS's watchdog runs $fprocess, so `environment: {fprocess: ...}` names the command too
    process = spec.env_process or spec.env_vars.get("fprocess", "")
    return RunSpec(
        image=spec.image,
        command=shlex.split(process),
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
        self, nc: Client, js: JetStreamContext, records: RecordStore, idempotency: KeyValue
    ) -> None:
        self.nc = nc
        self.js = js
        self.records = records
        self.idempotency = idempotency
        self.pending: dict[str, asyncio.Task[None]] = {}  # records written after the 202

    async def claim(self, key: str, call_id: str) -> str:
        """The call id an idempotency key stands for: this one, or the first one's."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        try:
            await self.idempotency.create(digest, call_id.encode())
            return call_id
        except KeyWrongLastSequenceError:
            entry = await self.idempotency.get(digest)
            return (entry.value or call_id.encode()).decode()

    async def accept_new(self, call: CallRequest, capped: bool) -> None:
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

    async def accept(self, call: CallRequest, capped: bool) -> CallRecord:
        """Record the call, then queue it; return its record (the first one's, for a repeat).

        A repeated call id is not queued again, unless its first submission may have been cut
        short between the two steps (still queued, never started): JetStream drops the copy
        if the first one made it, by the message id, within the deduplication window.
        """
        stored, new = await self.records.create(_queued(call))
        if not new and not stored.unstarted:
            return stored
        call.created_at = stored.createdAt
        await self._queue(call, capped)
        return stored

    async def _queue(self, call: CallRequest, capped: bool) -> None:
        """On disk once this returns; a copy under the same id within the window is dropped."""
        headers = {"Nats-Msg-Id": call.call_id}
        await self.js.publish(bus.async_subject(call.function, capped), pack(call), headers=headers)

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


def _queued(call: CallRequest) -> CallRecord:
    return CallRecord(
        call.call_id,
        call.function,
        kind=call.kind,
        maxAttempts=call.max_attempts,
        callbackUrl=call.callback_url or None,
    )
