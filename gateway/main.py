"""Serve the gateway with uvicorn."""

from __future__ import annotations

import uvicorn

from faas.settings import GatewaySettings
from gateway.app import create_app, services
from gateway.state import Gateway


async def serve(settings: GatewaySettings) -> None:
    """Serve until SIGTERM or SIGINT (uvicorn handles both and shuts down gracefully). The
    services start first: one that cannot (no NATS, a cluster too small) stops the gateway
    with its own message, not a traceback of the app's start."""
    async with services(settings) as gw:
        await _serve(settings, gw)


async def _serve(settings: GatewaySettings, gw: Gateway) -> None:
    config = uvicorn.Config(
        create_app(settings, gw),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=30,
    )
    await uvicorn.Server(config).serve()
