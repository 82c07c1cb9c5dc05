"""Writes that wait out a NATS cluster's failover rather than fail the work they record."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors

T = TypeVar("T")

PATIENCE = 20.0  # seconds: a cluster that lost a server elects new leaders in about 5
WAIT = 1.0  # between tries


async def outlast(
    write: Callable[[], Awaitable[T]], patience: float | None = None, wait: float | None = None
) -> T:
    """`write()`, tried again after NATS errors (timeouts, no leader yet) for `patience`
    seconds (default PATIENCE); then its last error is raised. Only for writes that are
    safe to repeat."""
    wait = WAIT if wait is None else wait
    give_up = time.monotonic() + (PATIENCE if patience is None else patience)
    while True:
        try:
            return await write()
        except nats.errors.Error:  # JetStream's errors and timeouts are ones too
            if time.monotonic() + wait > give_up:
                raise
            await asyncio.sleep(wait)
