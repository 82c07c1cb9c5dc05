"""Paused schedules, kept in the `faas_schedules` bucket so that every gateway sees them.

A pause is a key `paused.<function>` holding when it began; function names have no dots,
so no function's last tick (under its bare name) can take that key. It lasts until the
schedule is resumed or the function removed, across restarts of gateways and of NATS.
"""

from __future__ import annotations

import json

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from faas.inflight import create_first
from faas.records import now

PREFIX = "paused."


class Pauses:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def pause(self, function: str) -> str:
        """Pause the function's schedule; when it was paused (earlier, if it was already)."""
        while True:
            at = now()
            try:
                value = json.dumps({"pausedAt": at}).encode()
                await create_first(self.kv, PREFIX + function, value)
                return at
            except KeyWrongLastSequenceError:
                found = await self.paused_at(function)
                if found is not None:
                    return found  # else resumed meanwhile: pause it again

    async def resume(self, function: str) -> None:
        await self.kv.delete(PREFIX + function)

    async def paused_at(self, function: str) -> str | None:
        """When the function's schedule was paused; None when it runs."""
        try:
            entry = await self.kv.get(PREFIX + function)
        except KeyNotFoundError:
            return None
        if not entry.value:
            return None
        at: str = json.loads(entry.value)["pausedAt"]
        return at
