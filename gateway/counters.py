"""Invocation counts summed across gateway replicas.

Each replica counts in memory and writes its own running total under `<function>.<gateway id>`
about once a second, so replicas never contend for one key; a reader sums the keys.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from gateway.kvcache import BucketCache

log = logging.getLogger(__name__)

FLUSH_EVERY = 1.0


class Counters:
    def __init__(self, cache: BucketCache, gateway_id: str) -> None:
        self.cache = cache
        self.gateway_id = gateway_id
        self.mine: Counter[str] = Counter()
        self._dirty: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, function: str) -> None:
        self.mine[function] += 1
        self._dirty.add(function)

    def total(self, function: str) -> int:
        prefix = f"{function}."
        own = f"{prefix}{self.gateway_id}"
        stored = sum(
            int(v) for k, v in self.cache.values.items() if k.startswith(prefix) and k != own
        )
        return stored + self.mine[function]

    async def forget(self, function: str) -> None:
        self.mine.pop(function, None)
        self._dirty.discard(function)
        for key in [k for k in self.cache.values if k.startswith(f"{function}.")]:
            await self.cache.delete(key)

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_forever())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()

    async def flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for function in dirty:
            key = f"{function}.{self.gateway_id}"
            await self.cache.put(key, str(self.mine[function]).encode())

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            try:
                await self.flush()
            except Exception:
                log.exception("cannot store invocation counts")
