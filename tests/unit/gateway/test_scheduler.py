import asyncio
import logging
import re
from typing import Any

import nats.errors
import pytest

from faas.errors import SpecError
from faas.schedule import from_annotations
from faas.spec import FunctionSpec
from gateway import scheduler as scheduler_module
from gateway.scheduler import Scheduler
from gateway.ticks import LastTick, tick_call_id

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

    async def run() -> None:
        scheduler = Scheduler(FakeRegistry([beat]), None, None, None, 600.0, 1)  # type: ignore[arg-type]
        scheduler._fire = down  # type: ignore[method-assign,assignment]
        await scheduler.fire(beat, from_annotations(beat.annotations), 1_800_000_000.0)  # type: ignore[arg-type]

    monkeypatch.setattr("gateway.scheduler.asyncio.sleep", no_wait)
    asyncio.run(run())
    assert tries == [1_800_000_000.0] * scheduler_module.TRIES
    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in lost] == [
        (logging.ERROR, "beat: tick 2027-01-15T08:00:00Z lost: not fired after 3 attempts")
    ]
