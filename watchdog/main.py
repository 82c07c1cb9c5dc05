"""Start a watchdog: Docker client, runner, signal handling."""

from __future__ import annotations

import asyncio
import signal

import docker
from docker.errors import DockerException

from faas.errors import Error
from faas.settings import WatchdogSettings
from watchdog.node import Watchdog
from watchdog.runner import DockerRunner
from watchdog.secretfiles import SecretSource


def docker_client(settings: WatchdogSettings) -> docker.DockerClient:
    """A client whose connection pool fits the capacity (one call uses one connection)."""
    pool = settings.capacity * 2 + 4
    try:
        if settings.docker_url:
            client = docker.DockerClient(
                base_url=settings.docker_url, max_pool_size=pool, timeout=60
            )
        else:
            client = docker.from_env(max_pool_size=pool, timeout=60)
        client.ping()
    except DockerException as exc:
        raise Error(f"cannot reach the Docker engine: {exc}") from exc
    return client


async def serve(settings: WatchdogSettings) -> None:
    """Run a watchdog until SIGTERM or SIGINT, then shut down gracefully."""
    client = docker_client(settings)
    key = settings.secrets_key_file
    secrets = SecretSource(key) if key else None
    node = Watchdog(settings, DockerRunner(client, settings.watchdog_id, secrets), secrets)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, node.stop)
    try:
        await node.run()
    finally:
        client.close()
