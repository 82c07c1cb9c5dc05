"""Paused schedules on a real nats-server, as every gateway sees them."""

from __future__ import annotations

import asyncio

import nats

from faas import bus, layout
from gateway.pauses import Pauses
from tests.stamps import is_now


def test_a_pause_is_seen_by_another_gateway_until_resumed(nats_url: str) -> None:
    async def main() -> None:
        one, other = await nats.connect(nats_url), await nats.connect(nats_url)
        try:
            here = Pauses(await layout.bucket(one.jetstream(), bus.SCHEDULES_BUCKET))
            there = Pauses(await layout.bucket(other.jetstream(), bus.SCHEDULES_BUCKET))
            assert await there.paused_at("beat") is None
            at = await here.pause("beat")
            assert is_now(at)
            assert await there.paused_at("beat") == at
            assert await there.pause("beat") == at  # paused already: since then
            assert await here.paused_at("other") is None
            await there.resume("beat")
            assert await here.paused_at("beat") is None
            await here.resume("beat")  # not paused: nothing to do
            again = await here.pause("beat")  # a key deleted before is made again
            assert await there.paused_at("beat") == again
        finally:
            await one.close()
            await other.close()

    asyncio.run(main())


def test_a_pause_is_not_a_function_s_last_tick(nats_url: str) -> None:
    async def main() -> None:
        nc = await nats.connect(nats_url)
        try:
            kv = await layout.bucket(nc.jetstream(), bus.SCHEDULES_BUCKET)
            await Pauses(kv).pause("tock")
            assert "tock" not in await kv.keys()
        finally:
            await nc.close()

    asyncio.run(main())
