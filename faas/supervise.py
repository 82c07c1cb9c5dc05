"""Long-lived background work that never dies quietly: each failure is logged at error level
with its exception, and the work starts again after a growing wait, so a persistent error
(NATS gone, a consumer deleted) never turns into a busy loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from faas.retry import exponential_backoff

log = logging.getLogger(__name__)

MIN_WAIT, MAX_WAIT = 0.5, 30.0  # between restarts
HEALTHY = 60.0  # seconds of work without a failure that reset the wait


async def forever(
    name: str,
    work: Callable[[], Awaitable[None]],
    done: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run `work` until cancelled or, once it returns, until `done()` says it may stop."""
    failures = 0
    while True:
        began = clock()
        try:
            await work()
        except Exception:
            log.exception("%s failed", name)
        else:
            if done():
                return
            log.error("%s ended before it was asked to", name)
        failures = 1 if clock() - began >= HEALTHY else failures + 1
        wait = exponential_backoff(failures, MIN_WAIT, MAX_WAIT)
        log.error("%s: starting again in %.1fs", name, wait)
        await sleep(wait)


def start(
    name: str, work: Callable[[], Awaitable[None]], done: Callable[[], bool] = lambda: False
) -> asyncio.Task[None]:
    """`forever` as a task of its own, named after the work."""
    return asyncio.create_task(forever(name, work, done), name=name)
