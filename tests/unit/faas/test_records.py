"""Unit tests of faas.records: call records as JSON, and their store on a real nats-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from dataclasses import asdict, replace
from typing import Any

import pytest
from nats.js.api import DiscardPolicy, KeyValueConfig, StorageType
from nats.js.errors import KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from faas import bus, layout
from faas.errors import Error
from faas.records import (
    MAX_TEXT,
    AttemptRecord,
    CallbackAttempt,
    CallbackRecord,
    CallbackState,
    CallNotFound,
    CallRecord,
    CallState,
    RecordStore,
    RequestRecord,
    clip,
    now,
    record_key,
    stamped_id,
)
from faas.wire import CallKind
from tests.recordstore import BUCKET, Store, run
from tests.stamps import is_now

FULL_KEY = "hello.01714557600000000.c1"
FULL = CallRecord(
    callId="c1",
    function="hello",
    kind="async",
    state=CallState.GIVEN_UP,
    attempts=3,
    maxAttempts=3,
    exitCode=75,
    status=429,
    message="try later",
    createdAt="2024-05-01T10:00:00.000Z",
    startedAt="2024-05-01T10:00:01.000Z",
    finishedAt="2024-05-01T10:00:02.500Z",
    durationSeconds=1.5,
    output="héllo\n",
    outputTruncated=True,
    stderr="warn\n",
    watchdog="w1",
    callbackUrl="http://example.test/hook",
    callback=CallbackRecord(
        state=CallbackState.DELIVERED,
        attempts=2,
        status=204,
        error="",
        deliveredAt="2024-05-01T10:00:03.000Z",
        history=[
            CallbackAttempt("2024-05-01T10:00:02.600Z", None, "connection refused"),
            CallbackAttempt("2024-05-01T10:00:03.000Z", 204),
        ],
    ),
    request=RequestRecord("PUT", "/a/b", "x=1", [["Content-Type", "text/plain"]], "aGk=", 2),
    retryOf="c0",
    attemptLog=[
        AttemptRecord(
            attempt=3,
            watchdog="w1",
            image="faas/hello:latest",
            imageId="sha256:abc",
            takenAt="2024-05-01T10:00:01.000Z",
            exitedAt="2024-05-01T10:00:02.500Z",
            exitCode=75,
            outcome="failed",
            status=429,
            peakMemoryBytes=1 << 20,
            cpuSeconds=0.25,
        )
    ],
)


# the record as JSON


def test_round_trip_keeps_every_field_and_the_enums() -> None:
    record = CallRecord.loads(FULL.dumps())
    assert record == FULL
    assert record.state is CallState.GIVEN_UP
    assert type(record.callback) is CallbackRecord
    assert record.callback.state is CallbackState.DELIVERED
    assert type(record.callback.history[0]) is CallbackAttempt
    assert type(record.request) is RequestRecord
    assert type(record.attemptLog[0]) is AttemptRecord


def test_round_trip_of_a_new_record() -> None:
    fresh = CallRecord("c2", "f")
    record = CallRecord.loads(fresh.dumps())
    assert record == fresh
    assert record.state is CallState.QUEUED
    assert record.callback == CallbackRecord()
    assert record.callback.state is CallbackState.NONE


def test_json_uses_the_api_names_and_the_enum_strings() -> None:
    data = json.loads(FULL.dumps())
    assert data["callId"] == "c1"
    assert data["state"] == "given_up"
    assert data["outputTruncated"] is True
    assert data["callback"] == {
        "state": "delivered",
        "attempts": 2,
        "status": 204,
        "error": "",
        "deliveredAt": "2024-05-01T10:00:03.000Z",
        "history": [
            {"at": "2024-05-01T10:00:02.600Z", "status": None, "error": "connection refused"},
            {"at": "2024-05-01T10:00:03.000Z", "status": 204, "error": ""},
        ],
    }
    assert data["request"]["headers"] == [["Content-Type", "text/plain"]]
    assert data["attemptLog"][0]["peakMemoryBytes"] == 1 << 20
    assert FULL.to_json()["callback"]["status"] == 204


def test_to_json_is_asdict_without_sharing_a_list() -> None:
    """Written by hand for speed: it must say what dataclasses.asdict says, nested records
    included, and give lists of its own (a caller may change them)."""
    assert FULL.request is not None and FULL.attemptLog and FULL.callback.history
    data = FULL.to_json()
    assert data == asdict(FULL)
    assert data["attemptLog"] is not FULL.attemptLog
    assert data["request"]["headers"] is not FULL.request.headers
    assert data["callback"]["history"] is not FULL.callback.history
    bare = CallRecord("c2", "hello")
    assert bare.to_json() == asdict(bare)


def test_loads_drops_the_fields_of_a_newer_version() -> None:
    data = json.loads(FULL.dumps())
    data["later"] = 1
    data["callback"]["later"] = 2
    data["callback"]["history"][0]["later"] = 3
    data["request"]["later"] = 4
    data["attemptLog"][0]["later"] = 5
    assert CallRecord.loads(json.dumps(data).encode()) == FULL


def test_loads_a_record_from_before_the_attempt_log() -> None:
    data = json.loads(FULL.dumps())
    for name in ("request", "retryOf", "attemptLog"):
        del data[name]
    del data["callback"]["history"]
    record = CallRecord.loads(json.dumps(data).encode())
    assert (record.request, record.retryOf, record.attemptLog) == (None, None, [])
    assert record.callback.history == []


@pytest.mark.parametrize("callback", [None, {}], ids=["null", "empty"])
def test_loads_without_a_callback_gives_the_default(callback: Any) -> None:
    data = json.loads(CallRecord("c3", "f").dumps())
    data["callback"] = callback
    record = CallRecord.loads(json.dumps(data).encode())
    assert record.callback == CallbackRecord()
    assert record.callback.state is CallbackState.NONE


def test_loads_without_the_callback_key() -> None:
    data = json.loads(CallRecord("c3", "f").dumps())
    del data["callback"]
    assert CallRecord.loads(json.dumps(data).encode()).callback == CallbackRecord()


def test_loads_refuses_an_unknown_state() -> None:
    data = json.loads(CallRecord("c4", "f").dumps())
    data["state"] = "sleeping"
    with pytest.raises(ValueError, match="sleeping"):
        CallRecord.loads(json.dumps(data).encode())


def test_new_record_is_stamped_now() -> None:
    record = CallRecord("c5", "f")
    assert is_now(record.createdAt)
    assert is_now(now())


def test_key_is_function_creation_microseconds_call_id() -> None:
    assert record_key("hello", "2024-05-01T10:00:00.000Z", "c1") == "hello.01714557600000000.c1"
    assert record_key("f", "2024-05-01T10:00:00.123456Z", "x") == "f.01714557600123456.x"
    assert FULL.key == FULL_KEY


def test_keys_sort_as_their_creation_times() -> None:
    times = ["2001-09-09T01:46:39.999999Z", "2001-09-09T01:46:40.000000Z", "2024-05-01T10:00:00Z"]
    keys = [record_key("f", t, "c") for t in times]
    assert sorted(keys) == keys
    assert len({len(k) for k in keys}) == 1  # zero-padded


def test_key_of_a_time_with_an_offset_is_in_utc() -> None:
    assert record_key("f", "2024-05-01T12:00:00+02:00", "c") == "f.01714557600000000.c"


@pytest.mark.parametrize(
    ("state", "final"),
    [
        (CallState.QUEUED, False),
        (CallState.RUNNING, False),
        (CallState.SUCCEEDED, True),
        (CallState.FAILED, True),
        (CallState.TIMED_OUT, True),
        (CallState.GIVEN_UP, True),
        (CallState.CANCELLED, True),
    ],
)
def test_call_state_final(state: CallState, final: bool) -> None:
    assert state.final is final


def test_call_not_found_is_one_of_ours_and_a_lookup_error() -> None:
    error = CallNotFound("c9")
    assert isinstance(error, Error)
    assert isinstance(error, LookupError)
    assert error.call_id == "c9"
    assert str(error) == "call 'c9' not found"


# clip


def test_clip_keeps_short_text_whole() -> None:
    assert clip(b"hello\n") == ("hello\n", False)
    assert clip(b"") == ("", False)


def test_clip_at_exactly_the_limit_is_not_cut() -> None:
    assert clip(b"x" * MAX_TEXT) == ("x" * MAX_TEXT, False)


def test_clip_past_the_limit_is_cut() -> None:
    assert clip(b"x" * (MAX_TEXT + 1)) == ("x" * MAX_TEXT, True)


def test_clip_replaces_bytes_that_are_not_utf8() -> None:
    assert clip(b"a\xffb") == ("a\ufffdb", False)
    assert clip("é".encode()) == ("é", False)


# the store, on a real nats-server


def bump(record: CallRecord) -> CallRecord:
    return replace(record, attempts=record.attempts + 1)


def at(second: int) -> str:
    return f"2024-05-01T10:00:{second:02d}.000000Z"


def test_create_stores_the_record_and_indexes_its_call_id(nats_url: str) -> None:
    async def body(s: Store) -> None:
        stored, new = await s.records.create(FULL)
        assert (stored, new) == (FULL, True)
        assert await s.records.get_key(FULL_KEY) == FULL
        entry = await s.kv.get(FULL_KEY)
        assert entry.value is not None
        assert json.loads(entry.value)["callId"] == "c1"
        assert (await s.index.get("c1")).value == FULL_KEY.encode()

    run(nats_url, body)


def test_create_of_a_taken_call_id_returns_the_stored_record(nats_url: str) -> None:
    async def body(s: Store) -> None:
        first = CallRecord("dup", "f", message="first", createdAt=at(1))
        assert await s.records.create(first) == (first, True)
        again = CallRecord("dup", "f", message="second", createdAt=at(2))
        assert await s.records.create(again) == (first, False)
        assert (await s.records.get("dup")).message == "first"
        with pytest.raises(CallNotFound):  # the second one was not stored
            await s.records.get_key(again.key)

    run(nats_url, body)


def test_create_after_a_submission_that_stopped_at_the_index(nats_url: str) -> None:
    async def body(s: Store) -> None:
        key = record_key("f", at(1), "half")
        await s.index.create("half", key.encode())  # the record itself was never written
        stored, new = await s.records.create(CallRecord("half", "f", createdAt=at(5)))
        assert new is True
        assert stored.createdAt == at(1)  # the time the index holds, so the key matches
        assert stored.key == key
        assert await s.records.get("half") == stored

    run(nats_url, body)


def test_put_overwrites(nats_url: str) -> None:
    async def body(s: Store) -> None:
        record = CallRecord("p1", "f", createdAt=at(1))
        await s.records.put(record)
        await s.records.put(replace(record, state=CallState.RUNNING, attempts=1))
        stored = await s.records.get_key(record.key)
        assert (stored.state, stored.attempts) == (CallState.RUNNING, 1)
        assert (await s.records.get("p1")).attempts == 1

    run(nats_url, body)


def test_put_keeps_the_index_of_the_first_call_with_that_id(nats_url: str) -> None:
    async def body(s: Store) -> None:
        first = CallRecord("same", "f", createdAt=at(1), message="first")
        later = CallRecord("same", "f", createdAt=at(2), message="later")
        await s.records.put(first)
        await s.records.put(later)
        assert (await s.records.get("same")).message == "first"
        assert (await s.records.get_key(later.key)).message == "later"

    run(nats_url, body)


def test_get_finds_a_call_by_its_id_alone(nats_url: str) -> None:
    async def body(s: Store) -> None:
        await s.records.put(CallRecord("g1", "alpha", message="mine", createdAt=at(1)))
        await s.records.put(CallRecord("g2", "beta", message="other", createdAt=at(1)))
        record = await s.records.get("g1")
        assert (record.function, record.callId, record.message) == ("alpha", "g1", "mine")
        assert (await s.records.get("g2")).function == "beta"

    run(nats_url, body)


def test_get_of_an_unknown_call_raises_call_not_found(nats_url: str) -> None:
    async def body(s: Store) -> None:
        await s.records.put(CallRecord("known", "f", createdAt=at(1)))
        with pytest.raises(CallNotFound) as caught:
            await s.records.get("nope")
        assert caught.value.call_id == "nope"
        with pytest.raises(CallNotFound) as caught:
            await s.records.get_key(record_key("f", at(1), "nope"))
        assert caught.value.call_id == "nope"

    run(nats_url, body)


def test_a_deleted_record_is_not_found(nats_url: str) -> None:
    async def body(s: Store) -> None:
        record = CallRecord("d1", "f", createdAt=at(1))
        await s.records.put(record)
        await s.kv.delete(record.key)
        with pytest.raises(CallNotFound):
            await s.records.get_key(record.key)
        with pytest.raises(CallNotFound):
            await s.records.get("d1")
        assert await s.records.recent("f", 10) == []

    run(nats_url, body)


def test_update_applies_the_change_and_stores_it(nats_url: str) -> None:
    async def body(s: Store) -> None:
        record, _ = await s.records.create(CallRecord("u1", "f", createdAt=at(1)))
        changed = await s.records.update(
            record.key, lambda r: replace(r, state=CallState.RUNNING, attempts=1, watchdog="w1")
        )
        assert (changed.state, changed.attempts, changed.watchdog) == (CallState.RUNNING, 1, "w1")
        assert await s.records.get("u1") == changed

    run(nats_url, body)


def test_update_of_an_unknown_call_raises_call_not_found(nats_url: str) -> None:
    async def body(s: Store) -> None:
        with pytest.raises(CallNotFound) as caught:
            await s.records.update(record_key("f", at(1), "missing"), bump)
        assert caught.value.call_id == "missing"

    run(nats_url, body)


def test_two_concurrent_updates_both_apply(nats_url: str) -> None:
    async def body(s: Store) -> None:
        record, _ = await s.records.create(CallRecord("cc", "f", attempts=5, createdAt=at(1)))
        await asyncio.gather(s.records.update(record.key, bump), s.records.update(record.key, bump))
        assert (await s.records.get("cc")).attempts == 7

    run(nats_url, body)


class Interfering:
    """A bucket where someone else writes the key right after its first read."""

    def __init__(self, kv: KeyValue, write: bytes) -> None:
        self.kv = kv
        self.write = write
        self.reads = 0

    async def get(self, key: str) -> Any:
        entry = await self.kv.get(key)
        self.reads += 1
        if self.reads == 1:
            await self.kv.put(key, self.write)
        return entry

    async def update(self, key: str, value: bytes, last: int) -> int:
        return await self.kv.update(key, value, last=last)


def test_update_reads_again_after_a_concurrent_write(nats_url: str) -> None:
    async def body(s: Store) -> None:
        record, _ = await s.records.create(CallRecord("race", "f", attempts=1, createdAt=at(1)))
        other = replace(record, attempts=10, message="other writer")
        racing = Interfering(s.kv, other.dumps())
        store = RecordStore(s.nc, racing, s.index, BUCKET)  # type: ignore[arg-type]
        changed = await store.update(record.key, bump)
        assert racing.reads == 2
        assert (changed.attempts, changed.message) == (11, "other writer")
        assert (await s.records.get("race")).attempts == 11

    run(nats_url, body)


class Counting:
    """A bucket that counts its reads."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self.reads = 0

    async def get(self, key: str) -> Any:
        self.reads += 1
        return await self.kv.get(key)

    async def update(self, key: str, value: bytes, last: int) -> int:
        return await self.kv.update(key, value, last=last)


def test_revise_from_a_held_record_writes_without_reading(nats_url: str) -> None:
    async def body(s: Store) -> None:
        await s.records.create(CallRecord("h1", "f", attempts=1, createdAt=at(1)))
        counting = Counting(s.kv)
        store = RecordStore(s.nc, counting, s.index, BUCKET)  # type: ignore[arg-type]
        held = await store.read(record_key("f", at(1), "h1"))
        once = await store.revise(held.record.key, bump, held)
        twice = await store.revise(held.record.key, bump, once)
        assert counting.reads == 1
        assert (once.record.attempts, twice.record.attempts) == (2, 3)
        assert twice.revision > once.revision > held.revision
        assert (await s.records.get("h1")).attempts == 3

    run(nats_url, body)


def test_revise_from_a_stale_record_reads_again(nats_url: str) -> None:
    async def body(s: Store) -> None:
        record, _ = await s.records.create(CallRecord("h2", "f", attempts=1, createdAt=at(1)))
        held = await s.records.read(record.key)
        await s.records.update(record.key, lambda r: replace(r, message="other writer"))
        revised = await s.records.revise(record.key, bump, held)  # held is one write behind
        assert (revised.record.attempts, revised.record.message) == (2, "other writer")
        assert await s.records.get("h2") == revised.record

    run(nats_url, body)


def test_read_of_an_unknown_key_raises_call_not_found(nats_url: str) -> None:
    async def body(s: Store) -> None:
        with pytest.raises(CallNotFound):
            await s.records.read(record_key("f", at(1), "nobody"))

    run(nats_url, body)


def test_recent_is_newest_first_by_creation_and_limited(nats_url: str) -> None:
    async def body(s: Store) -> None:
        # written out of order: the list follows the creation time, not the order of writes
        for call_id, second in [("r1", 1), ("r3", 3), ("r2", 2), ("r0", 0)]:
            await s.records.put(CallRecord(call_id, "f", createdAt=at(second)))
        await s.records.update(record_key("f", at(0), "r0"), bump)  # the last write of all
        assert [r.callId for r in await s.records.recent("f", 10)] == ["r3", "r2", "r1", "r0"]
        assert [r.callId for r in await s.records.recent("f", 2)] == ["r3", "r2"]
        assert await s.records.recent("f", 0) == []

    run(nats_url, body)


def test_recent_filters_by_function(nats_url: str) -> None:
    async def body(s: Store) -> None:
        await s.records.put(CallRecord("a1", "a", createdAt=at(1)))
        await s.records.put(CallRecord("ab1", "ab", createdAt=at(2)))  # "a" is a prefix of "ab"
        await s.records.put(CallRecord("b1", "b", createdAt=at(3)))
        await s.records.put(CallRecord("a2", "a", createdAt=at(4)))
        assert [r.callId for r in await s.records.recent("a", 10)] == ["a2", "a1"]
        assert [r.callId for r in await s.records.recent("ab", 10)] == ["ab1"]
        assert [r.callId for r in await s.records.recent(None, 10)] == ["a2", "b1", "ab1", "a1"]
        assert [r.callId for r in await s.records.recent(None, 1)] == ["a2"]
        assert await s.records.recent("nobody", 10) == []

    run(nats_url, body)


def test_sync_records_are_volatile_found_and_listed_with_the_others(nats_url: str) -> None:
    async def body(s: Store) -> None:
        store = await RecordStore.open(s.nc, 3600.0)
        await store.put(CallRecord("d1", "f", createdAt=at(1)))
        await store.put_volatile(CallRecord("s1", "f", kind=CallKind.SYNC, createdAt=at(2)))
        await s.nc.flush()  # written without waiting: the stream has it once the server does
        for _ in range(100):
            with contextlib.suppress(CallNotFound):
                found = await store.get("s1")
                break
            await asyncio.sleep(0.01)
        assert found.kind == CallKind.SYNC
        assert [r.callId for r in await store.recent("f", 10)] == ["s1", "d1"]
        assert [r.callId for r in await store.recent(None, 1)] == ["s1"]
        info = await s.js.stream_info(f"KV_{bus.SYNC_CALLS_BUCKET}")
        assert info.config.storage == StorageType.MEMORY
        assert info.config.discard == DiscardPolicy.OLD
        assert info.config.max_bytes == bus.SYNC_RECORDS_BYTES
        durable = await s.js.key_value(bus.CALL_INDEX_BUCKET)
        with pytest.raises(KeyNotFoundError):  # not on the durable shelf
            await durable.get("s1")
        # a sync call under an id the gateway made: found by its id, no index entry
        stamped = CallRecord(stamped_id(at(3)), "f", kind=CallKind.SYNC, createdAt=at(3))
        await store.put_volatile(stamped)
        await s.nc.flush()
        for _ in range(100):
            with contextlib.suppress(CallNotFound):
                assert await store.get(stamped.callId) == stamped
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the stamped sync record was not found")
        volatile = await s.js.key_value(bus.SYNC_CALL_INDEX_BUCKET)
        with pytest.raises(KeyNotFoundError):
            await volatile.get(stamped.callId)

    run(nats_url, body)


def test_a_full_memory_bucket_drops_its_oldest_entries(nats_url: str) -> None:
    async def body(s: Store) -> None:
        name = "faas_memory_test"
        with contextlib.suppress(NotFoundError):
            await s.js.delete_key_value(name)
        kv = await layout.memory_bucket(s.js, name, 3600.0, 64 * 1024)
        for n in range(200):  # 200 KiB into 64
            await kv.put(f"k{n}", b"x" * 1024)
        assert (await kv.get("k199")).value == b"x" * 1024
        with pytest.raises(KeyNotFoundError):
            await kv.get("k0")
        await s.js.delete_key_value(name)

    run(nats_url, body)


def test_create_if_absent_never_overwrites_a_record_written_first(nats_url: str) -> None:
    async def body(s: Store) -> None:
        queued = CallRecord("q1", "f", createdAt=at(1))
        running = replace(queued, state=CallState.RUNNING)
        await s.records.put(running)  # the watchdog took the call before the gateway wrote
        assert await s.records.create_if_absent(queued) is False
        assert (await s.records.get("q1")).state is CallState.RUNNING
        fresh = CallRecord("q2", "f", createdAt=at(2))
        assert await s.records.create_if_absent(fresh) is True
        assert await s.records.get("q2") == fresh
        await s.index.delete("q2")  # index gone, record there: still not overwritten
        assert await s.records.create_if_absent(replace(fresh, message="x")) is False
        assert (await s.records.get_key(fresh.key)).message == fresh.message

    run(nats_url, body)


def test_recent_of_an_empty_bucket(nats_url: str) -> None:
    async def body(s: Store) -> None:
        assert await s.records.recent(None, 5) == []
        assert await s.records.recent("f", 5) == []

    run(nats_url, body)


def test_open_uses_the_calls_bucket_and_its_index(nats_url: str) -> None:
    async def body(s: Store) -> None:
        store = await RecordStore.open(s.nc, 3600.0)
        record = CallRecord("o1", "f", createdAt=at(1))
        assert await store.create(record) == (record, True)
        calls = await s.js.key_value(bus.CALLS_BUCKET)
        index = await s.js.key_value(bus.CALL_INDEX_BUCKET)
        assert (await index.get("o1")).value == record.key.encode()
        assert (await calls.get(record.key)).value == record.dumps()
        assert [r.callId for r in await store.recent(None, 5)] == ["o1"]
        assert await s.records.recent(None, 5) == []  # the test buckets are others

    run(nats_url, body)


def test_recent_past_the_servers_subject_page_still_lists_the_newest(nats_url: str) -> None:
    async def body(s: Store) -> None:
        # in memory: the file store syncs every write, and this one writes 100,001 records
        big = "faas_calls_test_big"
        with contextlib.suppress(NotFoundError):
            await s.js.delete_key_value(big)
        config = KeyValueConfig(bucket=big, history=1, storage=StorageType.MEMORY)
        store = RecordStore(s.nc, await s.js.create_key_value(config), s.index, big)
        filler = CallRecord("old", "f", createdAt=at(0), message="filler").dumps()
        older = 100_000
        for n in range(older):  # older calls, written straight to the bucket's stream
            await s.nc.publish(f"$KV.{big}.f.{1_000_000_000 + n:017d}.old{n}", filler)
        await s.nc.flush()
        for _ in range(200):  # core publishes: wait until the stream holds them all
            if (await s.js.stream_info(f"KV_{big}")).state.messages >= older:
                break
            await asyncio.sleep(0.05)
        assert (await s.js.stream_info(f"KV_{big}")).state.messages == older
        newest = CallRecord("newest", "f", createdAt=at(59))
        await store.put(newest)
        assert [r.callId for r in await store.recent("f", 1)] == ["newest"]
        await s.js.delete_key_value(big)

    run(nats_url, body)


# call ids that tell their record's key


def test_a_stamped_id_carries_its_record_s_time_and_is_a_valid_call_id() -> None:
    created = "2026-12-04T19:12:16.123457Z"
    call_id = stamped_id(created)
    assert re.fullmatch(r"[0-9a-f]{16}t[0-9a-f]{14}", call_id)
    key = CallRecord(call_id, "hello", createdAt=created).key
    assert key == f"hello.{int(key.split('.')[1]):017d}.{call_id}"
    assert int(call_id[17:], 16) == int(key.split(".")[1])  # the key's time, exactly
    assert stamped_id(created) != call_id  # and its random part


def test_a_stamped_record_is_one_write_found_by_its_id_and_never_made_twice(
    nats_url: str,
) -> None:
    async def body(s: Store) -> None:
        created = "2024-05-01T10:00:00.000001Z"
        first = CallRecord(stamped_id(created), "hello", createdAt=created)
        assert await s.records.create_if_absent(first)
        with pytest.raises(KeyNotFoundError):  # no index entry: the id tells the key
            await s.index.get(first.callId)
        assert await s.records.get(first.callId) == first
        assert not await s.records.create_if_absent(first)
        # the id sent again, as a caller may: the first call's record, not a second
        again = replace(first, createdAt="2024-05-01T10:00:09.000000Z", function="other")
        assert await s.records.create(again) == (first, False)
        # a stamped-looking id whose record has another time is indexed, and found
        other = CallRecord(stamped_id(created), "hello", createdAt="2024-05-01T11:00:00.0Z")
        assert await s.records.create(other) == (other, True)
        assert (await s.index.get(other.callId)).value == other.key.encode()
        assert await s.records.get(other.callId) == other
        with pytest.raises(CallNotFound):
            await s.records.get(stamped_id(created))

    run(nats_url, body)
