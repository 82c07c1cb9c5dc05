"""Unit tests of gateway.callstats: counting a window of calls, and the overview on a real
nats-server (the registry, the watchdogs' heartbeats, the async queue)."""

from __future__ import annotations

import asyncio
import time

from faas import bus, layout, rfc3339
from faas.records import CallRecord, CallState, RecordStore
from faas.spec import FunctionSpec
from faas.wire import Heartbeat, WatchdogState, pack
from gateway.callindex import CallIndex
from gateway.callstats import CallStats, FunctionStats, count_window
from gateway.callsummary import CallSummary
from gateway.kvcache import BucketCache
from gateway.presence import Presence
from gateway.registry import Registry
from tests.recordstore import Store, connected

AT = 1_777_629_600.0  # POSIX seconds: the end of the window


def summary(
    ago: float,
    function: str = "f",
    state: CallState = CallState.SUCCEEDED,
    duration: float | None = 1.0,
) -> CallSummary:
    order = f"{int((AT - ago) * 1_000_000):017d}.c{ago}"
    return CallSummary(order, function, "async", state, duration=duration)


def counted(*summaries: CallSummary, window: float = 300) -> dict[str, FunctionStats]:
    newest_first = sorted(summaries, key=lambda s: s.order, reverse=True)
    return count_window(newest_first, AT, window)


def test_calls_are_counted_in_the_minute_they_were_created() -> None:
    stats = counted(summary(1), summary(59), summary(61), summary(200), summary(299, "g"))
    assert stats["f"].per_minute == [0, 1, 0, 1, 2]  # the oldest minute first
    assert stats["f"].calls == 4
    assert stats["g"].per_minute == [1, 0, 0, 0, 0]
    assert counted(summary(10), window=90)["f"].per_minute == [0, 1]  # a partial first minute


def test_errors_are_final_and_not_succeeded_cancelled_aside() -> None:
    stats = counted(
        summary(1, state=CallState.SUCCEEDED, duration=0.5),
        summary(2, state=CallState.FAILED, duration=1.5),
        summary(3, state=CallState.TIMED_OUT, duration=30.0),
        summary(4, state=CallState.GIVEN_UP, duration=2.0),
        summary(5, state=CallState.CANCELLED, duration=99.0),
        summary(6, state=CallState.SKIPPED, duration=None),
        summary(7, state=CallState.RUNNING, duration=None),
        summary(8, state=CallState.QUEUED, duration=None),
    )["f"]
    json = stats.to_json(300)
    assert (json["calls"], json["succeeded"], json["errors"], json["cancelled"]) == (8, 1, 3, 2)
    assert json["errorRate"] == 0.75
    assert sorted(stats.durations) == [0.5, 1.5, 2.0, 30.0]
    assert json["callsPerMinute"] == 8 / 5


def test_durations_are_nearest_rank_percentiles() -> None:
    stats = FunctionStats("f", durations=[float(n) for n in range(100, 0, -1)])
    assert [stats.percentile(p) for p in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert FunctionStats("f", durations=[3.0]).percentile(50) == 3.0
    empty = FunctionStats("f", per_minute=[0])
    assert empty.percentile(99) is None
    assert empty.error_rate is None
    assert empty.to_json(60)["durationSeconds"] == {"p50": None, "p95": None, "p99": None}


def test_the_overview_joins_calls_functions_watchdogs_and_the_queue(nats_url: str) -> None:
    async def main() -> None:
        async with connected(nats_url) as fresh:
            await overview_of(fresh)

    asyncio.run(main())


async def overview_of(fresh: Store) -> None:
    js, nc = fresh.js, fresh.nc
    await layout.ensure(js, layout.Layout(nc.max_payload))
    await js.purge_stream(bus.ASYNC_STREAM)
    records = await RecordStore.open(nc, 3600)
    now = time.time()
    for n, (function, state, duration) in enumerate(
        [
            ("capped", CallState.SUCCEEDED, 0.1),
            ("capped", CallState.SUCCEEDED, 0.2),
            ("capped", CallState.FAILED, 0.4),
            ("capped", CallState.RUNNING, None),
            ("capped", CallState.QUEUED, None),
            ("other", CallState.CANCELLED, 1.0),
        ]
    ):
        created = rfc3339.stamp(now - 10 + n)
        await records.put(
            CallRecord(f"c{n}", function, state=state, durationSeconds=duration, createdAt=created)
        )
    await records.put(
        CallRecord("old", "gone", state=CallState.SUCCEEDED, createdAt=rfc3339.stamp(now - 3000))
    )
    for subject in ("faas.async.cap.capped", "faas.async.cap.capped", "faas.async.run.other"):
        await js.publish(subject, b"call")
    cache = BucketCache(await layout.bucket(js, "faas_functions_test"), "faas_functions_test")
    await cache.start()
    registry = Registry(cache)
    annotations = {"com.faas.max-concurrency": "2"}
    await registry.deploy(FunctionSpec("capped", "img", annotations=annotations))
    await registry.deploy(FunctionSpec("quiet", "img"))
    presence = Presence(nc, 60)
    await presence.start()
    await nc.publish(bus.HEARTBEAT_SUBJECT, pack(Heartbeat("w2", 4, 1, WatchdogState.DRAINING)))
    await nc.publish(bus.HEARTBEAT_SUBJECT, pack(Heartbeat("w1", 8, 3)))
    deadline = time.monotonic() + 30
    while len(presence.heard()) < 2:
        assert time.monotonic() < deadline, "the heartbeats never came"
        await asyncio.sleep(0.02)
    index = CallIndex(records)
    try:
        overview = (await CallStats(index, registry, presence, nc).overview(300)).to_json()
    finally:
        await index.stop()
        await cache.stop()
    by_name = {f["function"]: f for f in overview["functions"]}
    assert list(by_name) == ["capped", "other", "quiet"]  # "gone" had calls, none lately
    capped = by_name["capped"]
    assert (capped["calls"], capped["succeeded"], capped["errors"]) == (5, 2, 1)
    assert capped["errorRate"] == 1 / 3
    assert capped["durationSeconds"] == {"p50": 0.2, "p95": 0.4, "p99": 0.4}
    assert (capped["running"], capped["queued"], capped["maxConcurrency"]) == (1, 1, 2)
    assert capped["backlog"] == 2
    assert sum(capped["perMinute"]) == 5 and len(capped["perMinute"]) == 5
    assert (by_name["other"]["cancelled"], by_name["other"]["backlog"]) == (1, 1)
    assert by_name["other"]["maxConcurrency"] is None  # not deployed: no cap known
    assert by_name["quiet"]["calls"] == 0
    assert overview["watchdogs"] == [
        {"watchdog": "w1", "capacity": 8, "inUse": 3, "state": "ready"},
        {"watchdog": "w2", "capacity": 4, "inUse": 1, "state": "draining"},
    ]
    assert overview["windowSeconds"] == 300
