"""The overview: per function, how its calls go; the watchdogs, with their capacity and use.
The figures are `GET /system/stats`'s."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.ui.render import show
from gateway.ui.visit import Visit

WINDOW = 15 * 60  # seconds of calls the figures are of


async def overview_page(request: Request, visit: Visit) -> Response:
    overview = await visit.gw.stats.overview(WINDOW)
    return show(
        request,
        visit,
        "overview.html",
        "Overview",
        overview=overview,
        window_minutes=WINDOW // 60,
    )
