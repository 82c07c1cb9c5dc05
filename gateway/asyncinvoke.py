"""`POST /async-function/{name}`: store the call durably, answer 202, run it later."""

from __future__ import annotations

import hashlib
import math

import nats.errors
import nats.js.errors
from nats.js.errors import KeyWrongLastSequenceError
from starlette.requests import Request
from starlette.responses import Response

from faas import bus
from faas.callback import check_url
from faas.records import CallRecord
from faas.retry import RetryPolicy
from faas.spec import FunctionSpec, split_namespace
from faas.wire import CallRequest, pack
from gateway.bodies import read_body
from gateway.errors import BusUnavailable
from gateway.invoke import new_call, run_spec
from gateway.state import Gateway


async def invoke_async(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    spec = gw.registry.get(split_namespace(request.path_params["name"]))
    body = await read_body(request, gw.max_body)
    callback = request.headers.get("x-callback-url", "")
    if callback:
        check_url(callback)
    policy = RetryPolicy.from_annotations(spec.annotations)
    call = new_call(request, spec, body, gw)
    call.kind, call.callback_url, call.start_by, call.reply_to = "async", callback, math.inf, ""
    _retry(call, policy)
    key = request.headers.get("x-idempotency-key")
    try:
        if key:
            call.call_id = await claim(gw, f"{spec.name}\0{key}", call.call_id)
        await accept(gw, call, spec.max_concurrency is not None)
    except (nats.errors.Error, nats.js.errors.Error) as exc:
        raise BusUnavailable(exc) from exc
    gw.metrics.accepted(spec.name)
    gw.counters.add(spec.name)
    return Response(status_code=202, headers={"X-Call-Id": call.call_id})


def async_call(
    gw: Gateway, spec: FunctionSpec, call_id: str, body: bytes, callback: str | None
) -> CallRequest:
    """An async call made by the gateway itself (a scheduled tick), with the retry policy."""
    call = CallRequest(
        call_id=call_id,
        function=spec.name,
        run=run_spec(spec, gw.max_body),
        method="POST",
        body=body,
        kind="async",
        callback_url=callback or "",
        start_by=math.inf,
    )
    _retry(call, RetryPolicy.from_annotations(spec.annotations))
    return call


def _retry(call: CallRequest, policy: RetryPolicy) -> None:
    call.max_attempts, call.retry_codes = policy.attempts, sorted(policy.codes)
    call.retry_min_wait, call.retry_max_wait = policy.min_wait, policy.max_wait


async def claim(gw: Gateway, key: str, call_id: str) -> str:
    """The call id an idempotency key stands for: this one, or the first one's."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    try:
        await gw.idempotency.create(digest, call_id.encode())
        return call_id
    except KeyWrongLastSequenceError:
        entry = await gw.idempotency.get(digest)
        return (entry.value or call_id.encode()).decode()


async def accept(gw: Gateway, call: CallRequest, capped: bool) -> CallRecord:
    """Record the call, then queue it; return its record (the first one's, for a repeat).

    202 follows only once JetStream has it on disk.

    A repeated call id is not queued again, unless its first submission may have been cut
    short between the two steps (still queued, never started): JetStream drops the copy if
    the first one made it, by the message id, within the deduplication window.
    """
    record = CallRecord(
        call.call_id,
        call.function,
        kind=call.kind,
        maxAttempts=call.max_attempts,
        callbackUrl=call.callback_url or None,
    )
    stored, new = await gw.records.create(record)
    if not new and not stored.unstarted:
        return stored
    call.created_at = stored.createdAt
    headers = {"Nats-Msg-Id": call.call_id}
    subject = bus.async_subject(call.function, capped)
    await gw.js.publish(subject, pack(call), headers=headers)
    return stored
