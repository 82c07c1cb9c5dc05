"""Unit tests of gateway.restore on a real nats-server: the records of queued calls that the
server lost with its memory shelf are written again from the queue."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace

import nats
import pytest
from nats.js import JetStreamContext

from faas import bus, layout
from faas.layout import Layout
from faas.records import CallNotFound, CallState, RecordStore, now, stamped_id
from faas.wire import CallKind, CallRequest, RunSpec, pack
from gateway.restore import Recovery, restore
from gateway.submissions import queued_record

PLAN = Layout(max_msg_size=1 << 20)


def call(n: int) -> CallRequest:
    created = now()
    return CallRequest(
        call_id=stamped_id(created),
        function="f",
        run=RunSpec(image="faas/f:latest"),
        body=f"body {n}".encode(),
        kind=CallKind.ASYNC,
        created_at=created,
    )


async def queue(js: JetStreamContext, store: RecordStore, made: CallRequest) -> None:
    """As the gateway accepts a call: queued on disk, its record in memory."""
    await js.publish(bus.async_subject(made.function), pack(made))
    await store.create_queued(queued_record(made))


async def lose_memory(js: JetStreamContext) -> None:
    """What a server restarted alone does to the memory shelf; made again as the gateway does."""
    await js.delete_key_value(bus.QUEUED_CALLS_BUCKET)
    await layout.ensure(js, PLAN)


def run(url: str, body: Callable[[JetStreamContext, RecordStore], Awaitable[None]]) -> None:
    async def main() -> None:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            await layout.ensure(js, PLAN)
            await js.purge_stream(bus.ASYNC_STREAM)
            await body(js, await RecordStore.open(nc, 3600.0))
        finally:
            await nc.close()

    asyncio.run(main())


def test_queued_calls_lost_records_are_written_again_and_kept_ones_left(nats_url: str) -> None:
    async def body(js: JetStreamContext, store: RecordStore) -> None:
        taken, *queued = [call(n) for n in range(4)]
        for made in (taken, *queued):
            await queue(js, store, made)
        running = replace(queued_record(taken), state=CallState.RUNNING, attempts=1)
        await store.revise(running.key, lambda _: running)  # on disk, as a watchdog writes
        assert await restore(js, store) == 0  # nothing lost yet
        await lose_memory(js)
        for made in queued:
            with pytest.raises(CallNotFound):
                await store.get(made.call_id)
        later = call(9)  # queued after the shelf was made again: its record is as written
        await queue(js, store, later)
        assert await restore(js, store) == 4
        for made in queued:
            assert await store.get(made.call_id) == queued_record(made)
        assert await store.get(taken.call_id) == running
        listed = [r.callId for r in await store.recent("f", 10)]
        assert sorted(listed) == sorted(c.call_id for c in (taken, *queued, later))

    run(nats_url, body)


def test_nothing_is_restored_from_an_empty_queue(nats_url: str) -> None:
    async def body(js: JetStreamContext, store: RecordStore) -> None:
        await lose_memory(js)
        assert await restore(js, store) == 0

    run(nats_url, body)


def test_a_reconnection_makes_the_lost_shelf_again_and_restores_its_records(
    nats_url: str,
) -> None:
    async def body(js: JetStreamContext, store: RecordStore) -> None:
        recovery = Recovery()
        recovery.reconnected()  # before its start: nothing to recover with yet
        recovery.start(js, store, PLAN)
        made = call(1)
        await queue(js, store, made)
        await js.delete_key_value(bus.QUEUED_CALLS_BUCKET)  # gone, as with its server
        recovery.reconnected()
        for _ in range(200):
            try:
                assert await store.get(made.call_id) == queued_record(made)
                break
            except CallNotFound:
                await asyncio.sleep(0.02)
        else:
            raise AssertionError("the lost record was never written again")
        await recovery.stop()

    run(nats_url, body)
