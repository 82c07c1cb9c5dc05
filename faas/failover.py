"""Writes (and reads) that wait out a NATS failover, or a cluster's start, rather than fail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
import nats.js.errors

T = TypeVar("T")

# what passes once a cluster has elected its leaders and the client has reconnected
TRANSIENT = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionReconnectingError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.NoStreamResponseError,
)

PATIENCE = 20.0  # seconds: a cluster that lost a server elects new leaders in about 5
WAIT = 1.0  # between tries


async def outlast(
    attempt: Callable[[], Awaitable[T]],
    patience: float | None = None,
    wait: float | None = None,
    noted: Callable[[Exception], None] | None = None,
) -> T:
    """`attempt()`, tried again after NATS errors that pass (timeouts, no leader yet) for
    about `patience` seconds (default PATIENCE), each error given to `noted` first; then its
    last error is raised. Only for work that is safe to repeat: reads, idempotent writes."""
    wait = WAIT if wait is None else wait
    give_up = time.monotonic() + (PATIENCE if patience is None else patience)
    while True:
        try:
            return await attempt()
        except TRANSIENT as exc:
            if time.monotonic() + wait > give_up:
                raise
            if noted is not None:
                noted(exc)
            await asyncio.sleep(wait)
