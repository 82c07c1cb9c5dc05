"""Unit tests of gateway.callindex on a real nats-server: the summaries of both shelves of
records, kept current, paged, fed to subscribers; stopped when unused, started on use."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

import pytest

from faas import bus, layout, rfc3339
from faas.records import CallbackState, CallRecord, CallState, RecordStore
from gateway import callindex
from gateway.callfeed import CallChange, Subscription
from gateway.callindex import CallIndex
from gateway.callquery import CallQuery
from tests.callrecords import BASE, DEADLINE, index_of, put_sync, record, run, until


async def ids(index: CallIndex, query: CallQuery | None = None, limit: int = 100) -> list[str]:
    return [s.call_id for s in (await index.page(query, limit)).calls]


def test_calls_of_both_shelves_are_listed_newest_first_a_page_at_a_time(nats_url: str) -> None:
    async def body(records: RecordStore) -> None:
        for n in (1, 3, 5, 7):
            await records.put(record(n, "f", kind="async"))
        for n in (2, 4, 6):
            await put_sync(records, record(n, "g", kind="sync", state=CallState.SUCCEEDED))
        async with index_of(records) as index:
            first = await index.page(CallQuery(), 3)
            assert [s.call_id for s in first.calls] == ["c007", "c006", "c005"]
            assert first.next is not None
            second = await index.page(CallQuery(), 3, first.next)
            assert [s.call_id for s in second.calls] == ["c004", "c003", "c002"]
            last = await index.page(CallQuery(), 3, second.next)
            assert ([s.call_id for s in last.calls], last.next) == (["c001"], None)
            full = await index.records(first.calls)
            assert full == [
                record(7, "f"),
                record(6, "g", kind="sync", state=CallState.SUCCEEDED),
                record(5, "f"),
            ]

    run(nats_url, body)


def test_filters_read_the_stored_records(nats_url: str) -> None:
    async def body(records: RecordStore) -> None:
        await records.put(record(1, "f", state=CallState.SUCCEEDED, exitCode=0))
        await records.put(record(2, "f", state=CallState.FAILED, exitCode=3))
        await records.put(record(3, "g", state=CallState.TIMED_OUT, kind="job"))
        await put_sync(records, record(4, "g", state=CallState.FAILED, exitCode=3, kind="sync"))
        async with index_of(records) as index:
            failed = frozenset({CallState.FAILED, CallState.TIMED_OUT})
            assert await ids(index, CallQuery(states=failed)) == ["c004", "c003", "c002"]
            assert await ids(index, CallQuery(exit_code=3)) == ["c004", "c002"]
            assert await ids(index, CallQuery(function="g", kind="sync")) == ["c004"]
            assert await ids(index, CallQuery(call="c00")) == ["c004", "c003", "c002", "c001"]
            since = int((BASE + 2) * 1_000_000)
            assert await ids(index, CallQuery(since=since, until=since + 1)) == ["c002"]

    run(nats_url, body)


def test_every_write_stored_before_a_listing_is_in_it(nats_url: str) -> None:
    async def body(records: RecordStore) -> None:
        async with index_of(records) as index:
            assert await ids(index) == []
            for n in range(20):  # each listed at once: no wait between the write and the look
                await records.put(record(n))
                assert (await ids(index, limit=1)) == [f"c{n:03d}"]
            await put_sync(records, record(30, "g"))
            assert await ids(index, limit=1) == ["c030"]

    run(nats_url, body)


def test_a_bucket_made_anew_is_loaded_again(nats_url: str) -> None:
    async def body(records: RecordStore) -> None:
        await records.put(record(1, "f"))
        await put_sync(records, record(2, "g", kind="sync"))
        async with index_of(records) as index:
            assert await ids(index) == ["c002", "c001"]
            # a lone server's restart: the in-memory bucket is gone, then made again
            js = records.nc.jetstream()
            await js.delete_key_value(bus.SYNC_CALLS_BUCKET)
            await layout.memory_bucket(js, bus.SYNC_CALLS_BUCKET, 3600.0, 2**20)
            await put_sync(records, record(3, "g", kind="sync"))
            assert await ids(index) == ["c003", "c001"]
            await put_sync(records, record(4, "g", kind="sync"))  # and followed from there
            assert await ids(index) == ["c004", "c003", "c001"]

    run(nats_url, body)


def test_the_table_the_stats_read_is_loaded_again_once_a_bucket_is_made_anew(
    nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(callindex, "UPKEEP", 0.1)

    async def keys(index: CallIndex) -> list[str]:  # as the stats read it: no catching up
        return [s.call_id for s in (await index.table()).page(CallQuery(), 100).calls]

    async def body(records: RecordStore) -> None:
        await records.put(record(1, "f"))
        await put_sync(records, record(2, "g", kind="sync"))
        async with index_of(records, idle=60) as index:
            assert await keys(index) == ["c002", "c001"]
            js = records.nc.jetstream()  # a lone server's restart, as above
            await js.delete_key_value(bus.SYNC_CALLS_BUCKET)
            await layout.memory_bucket(js, bus.SYNC_CALLS_BUCKET, 3600.0, 2**20)
            await put_sync(records, record(3, "g", kind="sync"))

            async def reloaded() -> bool:
                return await keys(index) == ["c003", "c001"]

            await until(reloaded, "the stats' table holds what the buckets hold now")

    run(nats_url, body)


def test_updates_and_deletes_are_seen(nats_url: str) -> None:
    async def body(records: RecordStore) -> None:
        first, second = record(1), record(2)
        await records.put(first)
        await records.put(second)
        async with index_of(records) as index:
            running = CallQuery(states=frozenset({CallState.RUNNING}))
            assert await ids(index, running) == []
            await records.update(first.key, lambda r: replace(r, state=CallState.RUNNING))
            assert await ids(index, running) == ["c001"]
            found = await index.find("c001")
            assert found is not None and found.state is CallState.RUNNING
            await records.kv.purge(first.key)
            assert await ids(index) == ["c002"]
            assert await index.find("c001") is None
            await records.kv.delete(second.key)
            assert await ids(index) == []
            assert await index.find("no-such-call") is None
            assert await index.find("not a key!") is None

    run(nats_url, body)


def test_a_record_that_cannot_be_read_is_skipped(
    nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(records: RecordStore) -> None:
        await records.kv.put(record(1).key, b"not a record")
        await records.put(record(2))
        with caplog.at_level(logging.WARNING, "gateway.callindex"):
            async with index_of(records) as index:
                assert await ids(index) == ["c002"]
        assert "skipping a record" in caplog.text

    run(nats_url, body)


async def next_change(subscription: Subscription) -> CallChange:
    async with asyncio.timeout(DEADLINE):
        return await anext(subscription)


def test_a_subscriber_gets_the_changes_its_query_matches(nats_url: str) -> None:
    async def body(records: RecordStore) -> None:
        async with index_of(records) as index, index.subscribe(CallQuery(function="f")) as feed:
            await records.put(record(1, "g"))  # not wanted
            await records.put(record(2, "f"))
            created = await next_change(feed)
            assert (created.summary.call_id, created.removed) == ("c002", False)
            key = record(2, "f").key
            delivered = CallbackState.DELIVERED
            await records.update(
                key, lambda r: replace(r, callback=replace(r.callback, state=delivered))
            )
            await records.update(key, lambda r: replace(r, state=CallState.SUCCEEDED, exitCode=0))
            changed = await next_change(feed)  # the callback is no part of a summary: no event
            assert (changed.summary.state, changed.summary.exit_code) == (CallState.SUCCEEDED, 0)
            await records.kv.purge(key)
            removed = await next_change(feed)
            assert (removed.summary.call_id, removed.removed) == ("c002", True)
            assert index.subscribers() == 1
        assert index.subscribers() == 0

    run(nats_url, body)


def _delivered(r: CallRecord) -> CallRecord:
    return replace(r, callback=replace(r.callback, state=CallbackState.DELIVERED))


def test_a_subscriber_that_falls_behind_is_dropped(nats_url: str) -> None:
    async def body(records: RecordStore) -> None:
        async with index_of(records) as index, index.subscribe(size=2) as feed:
            for n in range(5):
                await records.put(record(n))
            await until(lambda: _dropped(feed), "the slow subscriber dropped")
            assert [c async for c in feed] == []
            assert await ids(index, limit=1) == ["c004"]  # the index went on regardless

    run(nats_url, body)


async def _dropped(feed: Subscription) -> bool:
    return feed.dropped


def test_a_stop_ends_every_feed(nats_url: str) -> None:
    async def body(records: RecordStore) -> None:
        index = CallIndex(records)
        async with index.subscribe() as feed:
            reading = asyncio.ensure_future(_all(feed))
            await index.stop()
            assert await reading == []
        assert not index.running

    run(nats_url, body)


async def _all(feed: Subscription) -> list[CallChange]:
    return [c async for c in feed]


def test_an_unused_index_stops_and_starts_again_on_use(nats_url: str) -> None:
    async def body(records: RecordStore) -> None:
        await records.put(record(1))
        async with index_of(records, idle=0.2) as index:
            assert not index.running  # nothing runs until the first use
            assert await ids(index) == ["c001"]
            assert index.running
            await until(lambda: _stopped(index), "the index stopped when unused")
            await records.put(record(2))  # while stopped
            await records.kv.purge(record(1).key)
            assert await ids(index) == ["c002"]
            assert index.running

    run(nats_url, body)


async def _stopped(index: CallIndex) -> bool:
    return not index.running


def test_an_open_feed_keeps_the_index_running(nats_url: str) -> None:
    async def body(records: RecordStore) -> None:
        async with index_of(records, idle=0.1) as index:
            async with index.subscribe() as feed:
                await asyncio.sleep(1.0)  # ten idle periods
                assert index.running
                await records.put(record(1))
                assert (await next_change(feed)).summary.call_id == "c001"
            await until(lambda: _stopped(index), "the index stopped once the feed closed")

    run(nats_url, body)


def test_records_their_bucket_drops_for_age_leave_the_index(
    nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(callindex, "UPKEEP", 0.1)

    async def body(records: RecordStore) -> None:
        async with index_of(records, idle=60) as index, index.subscribe() as feed:
            await records.put(replace(record(1), createdAt=rfc3339.stamp(time.time())))
            created = await next_change(feed)
            assert (created.summary.call_id, created.removed) == ("c001", False)
            removed = await next_change(feed)  # once the bucket expired it (1s) and upkeep ran
            assert (removed.summary.call_id, removed.removed) == ("c001", True)
            assert await ids(index) == []

    run(nats_url, body, retention=1.0)
