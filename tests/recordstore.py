"""A record store on fresh buckets of a real nats-server, for the unit tests of what
writes records."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ServerError
from nats.js.kv import KeyValue

from faas import bus, layout
from faas.records import RecordStore

BUCKET = "faas_calls_test"
INDEX_BUCKET = "faas_calls_test_index"
STORE_NOT_MADE = 10049  # JetStream's "error creating store for stream"


@dataclass
class Store:
    """A record store on fresh buckets, and the buckets and JetStream behind it."""

    records: RecordStore
    kv: KeyValue
    index: KeyValue
    js: JetStreamContext
    nc: NatsClient


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[Store]:
    """A store on fresh buckets; the connection is closed at the end."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        buckets = (BUCKET, INDEX_BUCKET, bus.CALLS_BUCKET, bus.CALL_INDEX_BUCKET)
        for name in (*buckets, bus.SYNC_CALLS_BUCKET, bus.SYNC_CALL_INDEX_BUCKET):
            with contextlib.suppress(NotFoundError):  # left by an earlier test of this module
                await js.delete_key_value(name)
        kv = await _made_again(js, BUCKET)
        index = await _made_again(js, INDEX_BUCKET)
        yield Store(RecordStore(nc, kv, index, BUCKET), kv, index, js, nc)
    finally:
        await nc.close()


async def _made_again(js: JetStreamContext, name: str, tries: int = 50) -> KeyValue:
    """The bucket, made just after its namesake was deleted: nats-server may still be
    removing the old one's files, and then fails to make the new store (error 10049) for
    a moment."""
    for _ in range(tries - 1):
        try:
            return await layout.bucket(js, name, max_age=None)
        except ServerError as exc:
            if exc.err_code != STORE_NOT_MADE:
                raise
            await asyncio.sleep(0.1)
    return await layout.bucket(js, name, max_age=None)


def run(url: str, body: Callable[[Store], Awaitable[None]]) -> None:
    async def main() -> None:
        async with connected(url) as store:
            await body(store)

    asyncio.run(main())
