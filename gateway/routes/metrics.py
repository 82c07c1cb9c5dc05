"""`GET /metrics`: Prometheus's text format."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.instruments import CONTENT_TYPE
from gateway.routes.common import services


async def scrape(request: Request) -> Response:
    gw = services(request)
    text = gw.metrics.render(gw.registry.names(), gw.presence.live())
    return Response(text, media_type=CONTENT_TYPE)
