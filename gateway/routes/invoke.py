"""The invocation routes: `/function/{name}` and `/function/{name}/{path}`, any method."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from faas.records import now, stamped_id
from faas.spec import FunctionSpec, split_namespace
from faas.wire import CallRequest, CallResult, Outcome
from gateway.bodies import read_body
from gateway.invocations import make_call, run_sync
from gateway.routes.common import services
from gateway.state import Gateway

_CALL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TICK_ID = re.compile(r"-[0-9]{8}T[0-9]{6}Z$")  # kept for scheduled ticks (gateway.scheduler)


async def invoke(request: Request) -> Response:
    gw = services(request)
    name = split_namespace(request.path_params["name"])
    spec = gw.registry.get(name)
    with gw.metrics.sync_call(name) as timed:
        body = await read_body(request, gw.max_body)
        result = timed.answered(await run_sync(gw, new_call(request, spec, body, gw)))
    gw.counters.add(name)
    return respond(result, spec)


def new_call(request: Request, spec: FunctionSpec, body: bytes, gw: Gateway) -> CallRequest:
    path = "/" + request.path_params.get("path", "")
    headers = list(request.headers.items())
    created = now()
    call_id = call_id_of(request, gw) or stamped_id(created)
    query = request.scope.get("query_string", b"").decode()  # request.url.query, no URL made
    call = make_call(gw, spec, call_id, request.method, path, query, headers, body)
    call.created_at = created
    return call


def call_id_of(request: Request, gw: Gateway) -> str | None:
    """The request's `X-Call-Id` when it is a usable id, else None (for a fresh one)."""
    given = request.headers.get("x-call-id", "")
    if not _CALL_ID.fullmatch(given) or _TICK_ID.search(given) or given in gw.sync_calls.waiting:
        return None
    return given


def respond(result: CallResult, spec: FunctionSpec) -> Response:
    headers = {"X-Call-Id": result.call_id, "X-Duration-Seconds": f"{result.duration:.6f}"}
    if result.exit_code is not None:
        headers["X-Exit-Code"] = str(result.exit_code)
    if result.outcome is Outcome.OK:
        return Response(result.body, 200, headers, media_type=spec.content_type)
    return Response(result.failure_text(), result.status, headers, media_type="text/plain")
