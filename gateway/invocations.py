"""Calls as the invocation routes and the dashboard make them: one sync call run on a
watchdog, one async call accepted, one job queued; the routes only read HTTP around these."""

from __future__ import annotations

import math
import time

from faas.callback import check_url
from faas.jobspec import JOB_FUNCTION, JobSpec
from faas.spec import FunctionSpec
from faas.wire import CallKind, CallRequest, CallResult
from gateway.errors import NoWatchdog
from gateway.state import Gateway
from gateway.submissions import run_spec, with_retries

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer"}


def make_call(
    gw: Gateway,
    spec: FunctionSpec,
    call_id: str,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> CallRequest:
    """A sync call of the function as asked; `submit` makes it an async one."""
    return CallRequest(
        call_id=call_id,
        function=spec.name,
        run=run_spec(spec, gw.max_body),
        method=method,
        path=path,
        query=query,
        headers=[(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP],
        body=body,
        reply_to=gw.sync_calls.reply_subject(call_id),
        start_by=time.time() + spec.timeout,
    )


async def run_sync(gw: Gateway, call: CallRequest) -> CallResult:
    """Run a sync call on a watchdog and wait for its end."""
    if not await gw.presence.any_connected():
        raise NoWatchdog()
    return await gw.sync_calls.call(call)


async def submit(
    gw: Gateway,
    spec: FunctionSpec,
    call: CallRequest,
    callback: str,
    key: str | None = None,
    repeat: bool = False,
) -> str:
    """Make `call` async and accept it: on disk once this returns. Its id, or an earlier
    call's for a repeated idempotency `key`; `repeat`: the caller chose the id, so it may be
    an earlier call's."""
    if callback:
        check_url(callback)
    call.kind, call.callback_url, call.start_by, call.reply_to = (
        CallKind.ASYNC,
        callback,
        math.inf,
        "",
    )
    with_retries(call, spec.retry)
    capped = spec.max_concurrency is not None
    if key:
        call.call_id = await gw.submissions.claim(f"{spec.name}\0{key}", call.call_id)
    if key or repeat:
        await gw.submissions.accept(call, capped)
    else:
        await gw.submissions.accept_new(call, capped)
    gw.metrics.accepted(spec.name)
    gw.counters.add(spec.name)
    return call.call_id


def job_call(call_id: str, job: JobSpec) -> CallRequest:
    """An async call that runs once, never retried, on any watchdog with capacity."""
    return CallRequest(
        call_id=call_id,
        function=JOB_FUNCTION,
        run=job.run_spec(),
        kind=CallKind.JOB,
        callback_url=job.callback_url,
        start_by=math.inf,
        max_attempts=1,
    )
