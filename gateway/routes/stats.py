"""`/system/stats`: the overview of functions and watchdogs over a recent window."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.callstats import DEFAULT_WINDOW
from gateway.errors import BadRequest
from gateway.routes.common import services

MIN_WINDOW, MAX_WINDOW = 60, 86_400  # seconds


async def get_stats(request: Request) -> Response:
    window = _window(request.query_params.get("window", ""))
    overview = await services(request).stats.overview(window)
    return JSONResponse(overview.to_json())


def _window(raw: str) -> float:
    if not raw:
        return DEFAULT_WINDOW
    if not raw.isascii() or not raw.isdigit() or not MIN_WINDOW <= int(raw) <= MAX_WINDOW:
        raise BadRequest(f"window must be whole seconds from {MIN_WINDOW} to {MAX_WINDOW}")
    return float(raw)
