"""`POST /async-function/{name}`: store the call durably, answer 202, run it later."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from faas.spec import split_namespace
from gateway.bodies import read_body
from gateway.invocations import submit
from gateway.routes.common import services
from gateway.routes.invoke import new_call


async def invoke_async(request: Request) -> Response:
    """202 only once JetStream has the call on disk."""
    gw = services(request)
    spec = gw.registry.get(split_namespace(request.path_params["name"]))
    body = await read_body(request, gw.max_body)
    call = new_call(request, spec, body, gw)
    key = request.headers.get("x-idempotency-key")
    repeat = request.headers.get("x-call-id") == call.call_id
    await submit(gw, spec, call, request.headers.get("x-callback-url", ""), key, repeat)
    return Response(status_code=202, headers={"X-Call-Id": call.call_id})
