"""`POST /async-function/{name}`: store the call durably, answer 202, run it later."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response

from faas.callback import check_url
from faas.spec import split_namespace
from faas.wire import CallKind
from gateway.bodies import read_body
from gateway.routes.common import services
from gateway.routes.invoke import new_call
from gateway.submissions import with_retries


async def invoke_async(request: Request) -> Response:
    """202 only once JetStream has the call on disk."""
    gw = services(request)
    spec = gw.registry.get(split_namespace(request.path_params["name"]))
    body = await read_body(request, gw.max_body)
    callback = request.headers.get("x-callback-url", "")
    if callback:
        check_url(callback)
    policy = spec.retry
    call = new_call(request, spec, body, gw)
    call.kind, call.callback_url, call.start_by, call.reply_to = (
        CallKind.ASYNC,
        callback,
        math.inf,
        "",
    )
    with_retries(call, policy)
    key = request.headers.get("x-idempotency-key")
    capped = spec.max_concurrency is not None
    if key:
        call.call_id = await gw.submissions.claim(f"{spec.name}\0{key}", call.call_id)
    if key or request.headers.get("x-call-id") == call.call_id:  # may repeat an earlier call
        await gw.submissions.accept(call, capped)
    else:
        await gw.submissions.accept_new(call, capped)
    gw.metrics.accepted(spec.name)
    gw.counters.add(spec.name)
    return Response(status_code=202, headers={"X-Call-Id": call.call_id})
