import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import nats
import nats.errors
import pytest

from faas import bus, layout
from faas.errors import SpecError
from faas.layout import Layout
from faas.records import CallNotFound, CallState, RecordStore
from faas.schedule import from_annotations
from faas.spec import FunctionSpec
from faas.wire import CallRequest, unpack
from gateway import scheduler as scheduler_module
from gateway.errors import FunctionNotFound, NotScheduled
from gateway.kvcache import BucketCache
from gateway.registry import Registry
from gateway.scheduler import Scheduler
from gateway.submissions import Submissions
from gateway.ticks import LastTick, iso, tick_call_id

CALL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def test_tick_call_ids_are_the_same_everywhere_and_valid() -> None:
    assert tick_call_id("beat", 1_800_000_000) == "beat-20270115T080000Z"
    long_a, long_b = "a" * 60 + "x", "a" * 60 + "y"
    ids = {tick_call_id(name, 1_800_000_000) for name in (long_a, long_b)}
    assert len(ids) == 2 and all(CALL_ID.fullmatch(i) for i in ids)
    assert tick_call_id(long_a, 1_800_000_000) == tick_call_id(long_a, 1_800_000_000.0)


def test_last_tick_round_trips() -> None:
    last = LastTick(1_800_000_000.0, "beat-20270115T080000Z")
    assert LastTick.loads(last.dumps()) == last
    assert LastTick.loads(LastTick(5.0).dumps()) == LastTick(5.0, None)


class FakeRegistry:
    """Specs by name; a name mapped to an error raises it, as an unreadable stored spec does."""

    def __init__(self, specs: list[FunctionSpec | tuple[str, Exception]]) -> None:
        self.specs = {s.name if isinstance(s, FunctionSpec) else s[0]: s for s in specs}

    def names(self) -> list[str]:
        return sorted(self.specs)

    def get(self, name: str) -> FunctionSpec:
        found = self.specs[name]
        if isinstance(found, tuple):
            raise found[1]
        return found


def spec(name: str, **annotations: str) -> FunctionSpec:
    return FunctionSpec.from_deployment({"service": name, "image": "i", "annotations": annotations})


def every(seconds: int, **more: str) -> dict[str, str]:
    return {"topic": "cron-function", "schedule": f"@every {seconds}s", **more}


def steps(
    specs: list[FunctionSpec | tuple[str, Exception]], times: list[float]
) -> list[tuple[str, str, float]]:
    """What the scheduler starts at each time: ("recover", name, at) or ("fire", name, tick)."""
    done: list[tuple[str, str, float]] = []

    async def run() -> None:
        registry = FakeRegistry(specs)
        scheduler = Scheduler(registry, None, None, None, 600.0, 1)  # type: ignore[arg-type]

        async def recover(spec: FunctionSpec, schedule: Any, at: float) -> None:
            done.append(("recover", spec.name, at))

        async def fire(spec: FunctionSpec, schedule: Any, tick: float) -> None:
            done.append(("fire", spec.name, tick))

        scheduler._recover = recover  # type: ignore[method-assign]
        scheduler.fire = fire  # type: ignore[method-assign]
        for at in times:
            scheduler._step(at)
            await asyncio.sleep(0)
        await scheduler.stop()

    asyncio.run(run())
    return done


def test_first_sight_recovers_then_each_due_tick_fires_once() -> None:
    done = steps([spec("beat", **every(2)), spec("plain")], [100.5, 101.9, 102.0, 102.1, 104.3])
    assert done == [
        ("recover", "beat", 100.5),
        ("fire", "beat", 102.0),
        ("fire", "beat", 104.0),
    ]


def test_a_stalled_gateway_fires_the_latest_tick_or_catches_up_to_the_bound() -> None:
    skip = steps([spec("s", **every(1))], [10.0, 20.5])
    assert [d for d in skip if d[0] == "fire"] == [("fire", "s", 20.0)]
    catch = every(1, **{"com.faas.schedule.missed": "catch-up"})
    catch["com.faas.schedule.catch-up-limit"] = "2"
    caught = steps([spec("c", **catch)], [10.0, 20.5])
    assert [d[2] for d in caught if d[0] == "fire"] == [18.0, 19.0, 20.0]


def test_schedule_of_a_spec_comes_from_its_annotations() -> None:
    assert spec("plain").schedule is None
    found = spec("beat", **every(2)).schedule
    assert found == from_annotations(every(2))


def test_an_unreadable_stored_spec_does_not_stop_the_other_schedules() -> None:
    bad = ("aaa", SpecError('schedule "*/5 * * *": a cron expression has five fields'))
    done = steps([bad, spec("beat", **every(2))], [100.5, 102.0])
    assert done == [("recover", "beat", 100.5), ("fire", "beat", 102.0)]


def test_a_tick_that_cannot_be_fired_is_logged_as_lost(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    beat = spec("beat", **every(2))
    tries: list[float] = []

    async def no_wait(seconds: float) -> None:
        pass

    async def down(*args: Any) -> None:
        tries.append(args[2])
        raise nats.errors.NoServersError()

    class NoRecords:
        async def get(self, call_id: str) -> None:
            raise CallNotFound(call_id)

    async def run() -> None:
        scheduler = Scheduler(FakeRegistry([beat]), None, NoRecords(), None, 600.0, 1)  # type: ignore[arg-type]
        scheduler._decide = down  # type: ignore[method-assign,assignment]
        await scheduler.fire(beat, from_annotations(beat.annotations), 1_800_000_000.0)  # type: ignore[arg-type]

    monkeypatch.setattr("gateway.scheduler.asyncio.sleep", no_wait)
    asyncio.run(run())
    assert tries == [1_800_000_000.0] * scheduler_module.TRIES
    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in lost] == [
        (
            logging.ERROR,
            "beat: tick 2027-01-15T08:00:00Z lost: "
            f"not fired after {scheduler_module.TRIES} attempts",
        )
    ]


# Pause, resume, run now and a schedule's detail, on a real nats-server


@contextlib.asynccontextmanager
async def gateway_scheduler(nats_url: str, *specs: FunctionSpec) -> AsyncIterator[Scheduler]:
    """One gateway's scheduler, not started (its ticks are fired by hand), on shared buckets."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await layout.ensure(js, Layout(nc.max_payload, 60.0))
        records = await RecordStore.open(nc, 3600.0)
        idempotency = await layout.bucket(js, bus.IDEMPOTENCY_BUCKET, 60.0)
        registry = Registry(BucketCache(await layout.bucket(js, bus.FUNCTIONS_BUCKET), "fns"))
        for deployed in specs:
            await registry.deploy(deployed)
        submissions = Submissions(nc, js, records, idempotency, registry, 2**20)
        state = await layout.bucket(js, bus.SCHEDULES_BUCKET)
        yield Scheduler(registry, submissions, records, state, 60.0, 2**20)
    finally:
        await nc.close()


async def tick_state(scheduler: Scheduler, function: str, tick: float) -> CallState | None:
    try:
        return (await scheduler.records.get(tick_call_id(function, tick))).state
    except CallNotFound:
        return None


def test_a_paused_schedule_fires_on_no_gateway_and_resuming_skips_the_pause_s_ticks(
    nats_url: str,
) -> None:
    catch_up = every(1, **{"com.faas.schedule.missed": "catch-up"})
    catch_up["com.faas.schedule.catch-up-limit"] = "5"
    beat = spec("paused-beat", **catch_up)

    async def main() -> None:
        async with (
            gateway_scheduler(nats_url, beat) as one,
            gateway_scheduler(nats_url, beat) as other,
        ):
            schedule = one.schedule_of("paused-beat")[1]
            start = math.floor(time.time()) - 10.0
            await other.fire(beat, schedule, start)
            assert await tick_state(one, "paused-beat", start) is CallState.QUEUED

            paused = await one.pause("paused-beat")
            assert paused.paused and paused.pausedAt is not None
            assert (await other.status("paused-beat")).paused  # every gateway sees it
            await other.fire(beat, schedule, start + 1)
            await other._recover(beat, schedule, time.time())  # a gateway started meanwhile
            for tick in range(1, 11):
                assert await tick_state(one, "paused-beat", start + tick) is None

            resumed = await one.resume("paused-beat")
            assert (resumed.paused, resumed.pausedAt) == (False, None)
            assert not (await other.status("paused-beat")).paused
            # a gateway started after the resume catches up none of the pause's ticks
            async with gateway_scheduler(nats_url, beat) as restarted:
                await restarted._recover(beat, schedule, time.time())
            for tick in range(1, 11):
                assert await tick_state(one, "paused-beat", start + tick) is None
            # and the next tick fires again
            after = math.floor(time.time()) + 1.0
            await other.fire(beat, schedule, after)
            assert await tick_state(one, "paused-beat", after) is CallState.QUEUED

    asyncio.run(main())


def test_a_lost_tick_s_record_says_it_failed_and_a_queued_one_is_left_to_run(
    nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "TRIES", 2)
    beat = spec("lost-beat", **every(1))

    async def unreachable(*args: Any) -> None:
        raise nats.errors.TimeoutError()

    async def main() -> None:
        async with gateway_scheduler(nats_url, beat) as scheduler:
            schedule = scheduler.schedule_of("lost-beat")[1]
            tick = math.floor(time.time())
            # stored as queued, then its queueing fails every time: it is given up
            scheduler.submissions._queue = unreachable  # type: ignore[method-assign,assignment]
            await scheduler.fire(beat, schedule, tick)
            lost = await scheduler.records.get(tick_call_id("lost-beat", tick))
            assert (lost.state, lost.attempts) == (CallState.FAILED, 0)
            assert lost.message == "not run: the tick could not be queued in 2 attempts"
            assert lost.finishedAt is not None
            # queued, then only storing the tick as the last fails: it stays queued, to run
            del scheduler.submissions._queue
            scheduler._advance = unreachable  # type: ignore[method-assign,assignment]
            await scheduler.fire(beat, schedule, tick + 1)
            assert await tick_state(scheduler, "lost-beat", tick + 1) is CallState.QUEUED

    asyncio.run(main())


def test_run_now_is_one_call_outside_the_ticks_paused_or_not(nats_url: str) -> None:
    hook = "http://hook.test/ticks"
    now_beat = spec("now-beat", **every(3600, **{"com.faas.schedule.callback-url": hook}))

    async def main() -> None:
        async with gateway_scheduler(nats_url, now_beat) as scheduler:
            await scheduler.pause("now-beat")
            record = await scheduler.run_now("now-beat")
            await scheduler.submissions.settled(record.callId)
            assert await scheduler.records.get(record.callId) == record
            assert (record.function, record.kind, record.state) == ("now-beat", "async", "queued")
            assert record.callbackUrl == hook
            assert record.request is not None and record.request.headers == []  # no tick's header
            assert not re.search(r"T[0-9]{6}Z$", record.callId)
            assert await scheduler.last("now-beat") is None  # it decided no tick
            js = scheduler.submissions.js
            msg = await js.get_last_msg(bus.ASYNC_STREAM, bus.async_subject("now-beat"))
            assert msg.data is not None
            queued = unpack(msg.data, CallRequest)
            assert (queued.call_id, queued.callback_url, queued.body) == (record.callId, hook, b"")

    asyncio.run(main())


def test_a_schedule_s_detail_has_its_next_ticks_and_its_recorded_ticks_newest_first(
    nats_url: str,
) -> None:
    shown = spec("shown", **every(1))

    async def main() -> None:
        async with gateway_scheduler(nats_url, shown) as scheduler:
            schedule = scheduler.schedule_of("shown")[1]
            now = math.floor(time.time())
            for tick in (now - 5.0, now - 2.0):
                await scheduler.fire(shown, schedule, tick)
            detail = await scheduler.detail("shown")
            assert [(t.tick, t.callId, t.state) for t in detail.ticks] == [
                (iso(t), tick_call_id("shown", t), CallState.QUEUED) for t in (now - 2, now - 5)
            ]
            assert (detail.lastTick, detail.lastRun) == (
                iso(now - 2),
                tick_call_id("shown", now - 2),
            )
            assert len(detail.nextTicks) == 5 and detail.nextTick == detail.nextTicks[0]
            assert detail.nextTicks == sorted(detail.nextTicks)
            assert detail.to_json()["ticks"][0] == {
                "tick": iso(now - 2),
                "callId": tick_call_id("shown", now - 2),
                "state": "queued",
            }
            assert [row.name for row in await scheduler.statuses()] == ["shown"]

    asyncio.run(main())


def test_schedules_of_unknown_or_unscheduled_functions_are_not_found(nats_url: str) -> None:
    async def main() -> None:
        async with gateway_scheduler(nats_url, spec("plain")) as scheduler:
            for ask in (scheduler.pause, scheduler.resume, scheduler.run_now, scheduler.detail):
                with pytest.raises(FunctionNotFound, match="'nope'"):
                    await ask("nope")
                with pytest.raises(NotScheduled, match="'plain' is not scheduled"):
                    await ask("plain")

    asyncio.run(main())


def test_a_function_removed_from_the_bucket_fires_no_tick_from_a_gateway_not_told_yet(
    nats_url: str,
) -> None:
    gone = spec("stale-beat", **every(1))

    async def main() -> None:
        async with gateway_scheduler(nats_url, gone) as scheduler:
            schedule = scheduler.schedule_of("stale-beat")[1]
            tick = math.floor(time.time())
            await scheduler.fire(gone, schedule, tick)
            assert await tick_state(scheduler, "stale-beat", tick) is CallState.QUEUED
            # removed by another gateway: this one's copy still has it (its watch lags)
            await scheduler.registry.cache.kv.purge("stale-beat")
            assert "stale-beat" in scheduler.registry
            await scheduler.fire(gone, schedule, tick + 1)
            assert await tick_state(scheduler, "stale-beat", tick + 1) is None

    asyncio.run(main())


def test_a_removed_function_forgets_its_pause(nats_url: str) -> None:
    gone = spec("gone-beat", **every(1))

    async def main() -> None:
        async with gateway_scheduler(nats_url, gone) as scheduler:
            await scheduler.pause("gone-beat")
            await scheduler.forget("gone-beat")
            assert await scheduler.pauses.paused_at("gone-beat") is None

    asyncio.run(main())


def test_a_function_removed_while_its_tick_fires_forgets_that_tick_too(nats_url: str) -> None:
    """A DELETE that lands while a tick is being queued: the tick's last-tick note must not
    outlive the removal (deployed again, the function would catch the gap's ticks up)."""
    racing = spec("racing-beat", **every(1, missed="catch-up"))

    async def main() -> None:
        async with gateway_scheduler(nats_url, racing) as scheduler:
            schedule = scheduler.schedule_of("racing-beat")[1]
            tick = math.floor(time.time())
            await scheduler.fire(racing, schedule, tick)
            entered, release = asyncio.Event(), asyncio.Event()
            accept = scheduler.submissions.accept

            async def held(*args: Any, **kwargs: Any) -> Any:
                entered.set()
                await release.wait()
                return await accept(*args, **kwargs)

            scheduler.submissions.accept = held  # type: ignore[method-assign]
            firing = asyncio.create_task(scheduler.fire(racing, schedule, tick + 1))
            await entered.wait()  # decided to run: the function was still deployed
            await scheduler.registry.remove("racing-beat")  # as DELETE does, then forget
            forgetting = asyncio.create_task(scheduler.forget("racing-beat"))
            await asyncio.sleep(0.2)
            release.set()
            await asyncio.gather(firing, forgetting)
            assert await scheduler.last("racing-beat") is None

    asyncio.run(main())
