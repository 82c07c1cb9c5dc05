"""`/system/schedules`: each scheduled function, its ticks; pause, resume and run one now."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from faas.spec import split_namespace
from gateway.routes.common import services


async def list_schedules(request: Request) -> Response:
    rows = await services(request).scheduler.statuses()
    return JSONResponse([row.to_json() for row in rows])


async def get_schedule(request: Request) -> Response:
    """The row, and the recent ticks with their calls."""
    detail = await services(request).scheduler.detail(_name(request))
    return JSONResponse(detail.to_json())


async def pause_schedule(request: Request) -> Response:
    row = await services(request).scheduler.pause(_name(request))
    return JSONResponse(row.to_json())


async def resume_schedule(request: Request) -> Response:
    row = await services(request).scheduler.resume(_name(request))
    return JSONResponse(row.to_json())


async def run_schedule(request: Request) -> Response:
    """One call now, outside the ticks: 202 with its record, as an async call is."""
    record = await services(request).scheduler.run_now(_name(request))
    headers = {"X-Call-Id": record.callId}
    return JSONResponse(record.to_json(), status_code=202, headers=headers)


def _name(request: Request) -> str:
    return split_namespace(request.path_params["name"])
