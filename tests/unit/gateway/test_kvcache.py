"""Unit tests of gateway.kvcache on a real nats-server: a copy that follows its bucket."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import nats
import pytest
from nats.aio.client import Client
from nats.js.kv import KeyValue

from faas import layout
from gateway import kvcache
from gateway.kvcache import BucketCache

BUCKET = "faas_kvcache_test"


async def until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the copy did not follow its bucket"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def copied(
    nats_url: str, name: str, **stored: bytes
) -> AsyncIterator[tuple[Client, KeyValue, BucketCache]]:
    """A bucket holding `stored` and a started copy of it; both gone at the end."""
    nc = await nats.connect(nats_url)
    try:
        kv = await layout.bucket(nc.jetstream(), name)
        for key, value in stored.items():
            await kv.put(key, value)
        cache = BucketCache(kv, name)
        await cache.start()
        try:
            yield nc, kv, cache
        finally:
            await cache.stop()
            await nc.jetstream().delete_key_value(name)
    finally:
        await nc.close()


def test_the_copy_follows_puts_and_deletes_made_elsewhere(nats_url: str) -> None:
    async def main() -> None:
        async with copied(nats_url, BUCKET, kept=b"1") as (_, kv, cache):
            assert cache.values == {"kept": b"1"}
            revision = await kv.put("new", b"2")
            await kv.purge("kept")
            await until(lambda: cache.values == {"new": b"2"})
            assert cache.revisions == {"new": revision} and cache.seen >= revision

    asyncio.run(main())


def test_a_watch_whose_consumer_is_gone_is_noticed_and_the_bucket_loaded_again(
    nats_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """As when the server holding the watch's consumer is lost: nats.py alone would notice
    after two missed heartbeats (10 s); the check notices within two of its intervals."""
    monkeypatch.setattr(kvcache, "CHECK_EVERY", 0.2)
    name = BUCKET + "_lost"

    async def main() -> None:
        async with copied(nats_url, name) as (nc, kv, cache):
            await asyncio.sleep(0.5)  # idle checks of a healthy watch load nothing
            assert "missed a change" not in caplog.text
            jsm = nc.jsm()
            for consumer in await jsm.consumers_info(f"KV_{name}"):
                await jsm.delete_consumer(f"KV_{name}", consumer.name)
            await kv.put("deployed", b"while the watch was gone")
            await until(lambda: "deployed" in cache.values, seconds=5.0)
            assert f"watch of bucket {name} missed a change: loading it" in caplog.text
            await kv.put("after", b"followed again")
            await until(lambda: "after" in cache.values, seconds=5.0)
            assert len(await jsm.consumers_info(f"KV_{name}")) == 1  # the old one stopped

    asyncio.run(main())
