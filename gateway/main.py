"""Serve the gateway with uvicorn."""

from __future__ import annotations

import uvicorn

from faas.settings import GatewaySettings
from gateway.app import create_app


async def serve(settings: GatewaySettings) -> None:
    """Serve until SIGTERM or SIGINT (uvicorn handles both and shuts down gracefully)."""
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=30,
    )
    await uvicorn.Server(config).serve()
