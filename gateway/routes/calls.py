"""`/system/calls`: look up, list and cancel calls."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from faas.records import CallState
from gateway.callquery import CallQuery, cursor
from gateway.errors import BadRequest, Conflict
from gateway.routes.common import services

MAX_LIMIT = 1000


async def get_call(request: Request) -> Response:
    gw, call_id = services(request), request.path_params["call_id"]
    await gw.submissions.settled(call_id)
    record = await gw.records.get(call_id)
    return JSONResponse(record.to_json())


async def list_calls(request: Request) -> Response:
    """The newest records the filters match; a page after it is at `X-Next-Cursor` (and in
    `Link`), from the call index, which reads only this page's records."""
    query = CallQuery.from_params(request.query_params)
    before = cursor(request.query_params)
    limit = _limit(request.query_params.get("limit", "20"))
    gw = services(request)
    await gw.submissions.all_settled()  # a call accepted here is listed from its 202 on
    page = await gw.index.page(query, limit, before)
    records = await gw.index.records(page.calls)
    headers = {}
    if page.next is not None:
        url = request.url.include_query_params(before=page.next)
        headers = {"X-Next-Cursor": page.next, "Link": f'<{url.path}?{url.query}>; rel="next"'}
    return JSONResponse([r.to_json() for r in records], headers=headers)


def _limit(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


async def cancel_call(request: Request) -> Response:
    """A queued call never runs; a running one has its container stopped."""
    gw, call_id = services(request), request.path_params["call_id"]
    await gw.submissions.settled(call_id)
    found = await gw.records.get(call_id)
    record = await gw.submissions.cancel(found, "cancelled")
    if record.state is not CallState.CANCELLED or found.state.final:
        raise Conflict(f"call {found.callId} already finished ({found.state})")
    return JSONResponse(record.to_json(), status_code=202)
