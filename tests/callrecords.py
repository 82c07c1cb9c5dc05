"""Call records for the tests of what reads them: records at known times, and the gateway's
record store (both shelves) on fresh buckets of a real nats-server, read by a call index."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from faas import rfc3339
from faas.records import CallRecord, RecordStore
from gateway.callindex import CallIndex
from tests.recordstore import connected

BASE = 1_777_629_600.0  # POSIX seconds
DEADLINE = 30.0  # seconds a test waits for what must happen, at most


def record(n: int, function: str = "f", **fields: object) -> CallRecord:
    """The n-th call, created n seconds after BASE."""
    created = rfc3339.stamp(BASE + n)
    return CallRecord(f"c{n:03d}", function, createdAt=created, **fields)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def store(url: str, retention: float = 3600.0) -> AsyncIterator[RecordStore]:
    """The gateway's record store, with its volatile shelf, on fresh buckets."""
    async with connected(url) as fresh:  # removes the buckets earlier tests left
        yield await RecordStore.open(fresh.nc, retention)


@contextlib.asynccontextmanager
async def index_of(records: RecordStore, idle: float = 300.0) -> AsyncIterator[CallIndex]:
    index = CallIndex(records, idle)
    try:
        yield index
    finally:
        await index.stop()


async def put_sync(records: RecordStore, call: CallRecord) -> None:
    """A sync call's record on the volatile shelf, written as the watchdog's are (the put
    waits for the server, so a test knows it is stored)."""
    assert records.volatile is not None
    await records.volatile.kv.put(call.key, call.dumps())


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for `check` to hold; fail after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while not await check():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.02)


def run(
    url: str, body: Callable[[RecordStore], Awaitable[None]], retention: float = 3600.0
) -> None:
    async def main() -> None:
        async with store(url, retention) as records:
            await body(records)

    asyncio.run(main())
