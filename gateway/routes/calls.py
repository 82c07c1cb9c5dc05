"""`/system/calls`: look up, list and cancel calls."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from faas.jobspec import JOB_FUNCTION
from faas.records import CallState
from faas.spec import check_name
from gateway.errors import BadRequest, Conflict
from gateway.routes.common import services

MAX_LIMIT = 1000


async def get_call(request: Request) -> Response:
    gw, call_id = services(request), request.path_params["call_id"]
    await gw.submissions.settled(call_id)
    record = await gw.records.get(call_id)
    return JSONResponse(record.to_json())


async def list_calls(request: Request) -> Response:
    function = request.query_params.get("function") or None
    if function and function != JOB_FUNCTION:  # jobs are listed under their reserved name
        check_name(function)
    raw = request.query_params.get("limit", "20")
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    gw = services(request)
    await gw.submissions.all_settled()  # a call accepted here is listed from its 202 on
    records = await gw.records.recent(function, int(raw))
    return JSONResponse([r.to_json() for r in records])


async def cancel_call(request: Request) -> Response:
    """A queued call never runs; a running one has its container stopped."""
    gw, call_id = services(request), request.path_params["call_id"]
    await gw.submissions.settled(call_id)
    found = await gw.records.get(call_id)
    record = await gw.submissions.cancel(found, "cancelled")
    if record.state is not CallState.CANCELLED or found.state.final:
        raise Conflict(f"call {found.callId} already finished ({found.state})")
    return JSONResponse(record.to_json(), status_code=202)
