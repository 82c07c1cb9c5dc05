"""Unit tests of faas.kvreads: a bucket's reads, each answered as nats-py's own, on a real
nats-server."""

from __future__ import annotations

import asyncio
import contextlib

import nats
import pytest
from nats.js.api import KeyValueConfig
from nats.js.errors import InvalidKeyError, KeyNotFoundError, NotFoundError

from faas.kvreads import QuickReads

BUCKET = "test_kvreads"


def run(url: str, body: object) -> None:
    async def main() -> None:
        nc = await nats.connect(url)
        js = nc.jetstream()
        try:
            with contextlib.suppress(NotFoundError):
                await js.delete_key_value(BUCKET)
            plain = await js.create_key_value(KeyValueConfig(bucket=BUCKET, history=1))
            await body(plain, QuickReads(nc, js, BUCKET))  # type: ignore[operator]
        finally:
            await nc.close()

    asyncio.run(main())


def test_a_value_and_its_revision_are_read_as_nats_py_reads_them(nats_url: str) -> None:
    async def body(plain: object, quick: QuickReads) -> None:
        for key, value in (("a.b.c", b"\x00\xffbinary"), ("empty", b""), ("x=/_-1", b"v")):
            revision = await quick.put(key, value)
            mine, theirs = await quick.get(key), await plain.get(key)  # type: ignore[attr-defined]
            assert (mine.key, mine.value or b"", mine.revision) == (key, value, revision)
            assert (mine.value, mine.revision) == (theirs.value, theirs.revision)
        await quick.put("a.b.c", b"again")
        assert (await quick.get("a.b.c")).value == b"again"

    run(nats_url, body)


def test_missing_deleted_and_purged_keys_are_not_found(nats_url: str) -> None:
    async def body(plain: object, quick: QuickReads) -> None:
        await quick.put("gone", b"1")
        await quick.delete("gone")
        await quick.put("purged", b"1")
        await quick.purge("purged")
        for key in ("never", "gone", "purged", "a.b"):
            with pytest.raises(KeyNotFoundError):
                await quick.get(key)

    run(nats_url, body)


def test_a_key_nats_cannot_hold_is_refused_before_any_request(nats_url: str) -> None:
    """A wildcard would otherwise read another key's value."""

    async def body(plain: object, quick: QuickReads) -> None:
        await quick.put("k1", b"1")
        for key in ("*", "k*", ">", "", ".k1", "k1.", "with space"):
            with pytest.raises(InvalidKeyError):
                await quick.get(key)

    run(nats_url, body)


def test_a_missing_bucket_is_not_found(nats_url: str) -> None:
    async def body(plain: object, quick: QuickReads) -> None:
        other = QuickReads(quick.nc, quick._js, "test_kvreads_none")
        with pytest.raises(NotFoundError):
            await other.get("k")

    run(nats_url, body)
