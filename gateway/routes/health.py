"""`/healthz`, `/readyz` and `/system/info`."""

from __future__ import annotations

import platform

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from faas import __version__
from gateway.routes.common import services


async def healthz(request: Request) -> Response:
    """200 while the gateway answers."""
    return PlainTextResponse("OK\n")


async def readyz(request: Request) -> Response:
    """200 while a call can be served: NATS is connected and so is a watchdog; else 503, why."""
    gw = services(request)
    if not gw.nc.is_connected:
        return PlainTextResponse("not ready: the gateway is not connected to NATS\n", 503)
    if not await gw.presence.any_connected():
        return PlainTextResponse("not ready: no watchdog is connected\n", 503)
    return PlainTextResponse(f"ready: {len(gw.presence.live())} watchdog(s) connected\n")


async def info(request: Request) -> Response:
    release = {"release": __version__, "sha": "", "commit_message": ""}
    return JSONResponse(
        {
            "provider": {"provider": "faas-oneshot", "orchestration": "docker", "version": release},
            "version": release,
            "arch": platform.machine(),
        }
    )
