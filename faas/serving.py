"""How the platform's servers (gateway and watchdog) run: on uvloop, the collector tuned."""

from __future__ import annotations

import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")

# Python's default runs the young generation's collection every 700 allocations: under load,
# a few times per request, for a server whose requests make few reference cycles. Every
# 50,000 instead took 5-10% off the CPU of a sync call in gateway and watchdog here (`bench/`).
YOUNG_COLLECTION = 50_000


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a server's main coroutine to its end."""
    gc.freeze()  # what was imported at start lives as long as the process: never scan it
    gc.set_threshold(YOUNG_COLLECTION, 10, 10)
    return uvloop.run(main)
