"""Unit tests of gateway.kvcache on a real nats-server: a copy that follows its bucket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import nats
import pytest

from faas import layout
from gateway import kvcache
from gateway.kvcache import BucketCache

BUCKET = "faas_kvcache_test"


async def until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the copy did not follow its bucket"
        await asyncio.sleep(0.02)


def test_the_copy_follows_puts_and_deletes_made_elsewhere(nats_url: str) -> None:
    async def main() -> None:
        nc = await nats.connect(nats_url)
        try:
            kv = await layout.bucket(nc.jetstream(), BUCKET)
            await kv.put("kept", b"1")
            cache = BucketCache(kv, BUCKET)
            await cache.start()
            try:
                assert cache.values == {"kept": b"1"}
                revision = await kv.put("new", b"2")
                await kv.purge("kept")
                await until(lambda: cache.values == {"new": b"2"})
                assert cache.revisions == {"new": revision} and cache.seen >= revision
            finally:
                await cache.stop()
                await nc.jetstream().delete_key_value(BUCKET)
        finally:
            await nc.close()

    asyncio.run(main())


def test_a_watch_whose_consumer_is_gone_is_noticed_and_the_bucket_loaded_again(
    nats_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """As when the server holding the watch's consumer is lost: nats.py alone would notice
    after two missed heartbeats (10 s); the check notices within two of its intervals."""
    monkeypatch.setattr(kvcache, "CHECK_EVERY", 0.2)
    name = BUCKET + "_lost"

    async def main() -> None:
        nc = await nats.connect(nats_url)
        try:
            kv = await layout.bucket(nc.jetstream(), name)
            cache = BucketCache(kv, name)
            await cache.start()
            try:
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
            finally:
                await cache.stop()
                await nc.jetstream().delete_key_value(name)
        finally:
            await nc.close()

    asyncio.run(main())
