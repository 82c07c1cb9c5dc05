"""Unit tests of faas.supervise: background work restarted with backoff, never quietly."""

from __future__ import annotations

import asyncio
import logging

import pytest

from faas import supervise


class Clock:
    """Time that moves only when the test sleeps or says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def run(work: object, clock: Clock, done: object = lambda: False) -> None:
    asyncio.run(supervise.forever("the work", work, done, clock.sleep, clock))  # type: ignore[arg-type]


def test_a_failing_work_is_logged_and_restarted_with_growing_waits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, runs = Clock(), []

    async def work() -> None:
        runs.append(clock.now)
        if len(runs) <= 4:
            raise ConnectionError("NATS is gone")

    run(work, clock, done=lambda: True)
    assert len(runs) == 5
    bounds = [(supervise.MIN_WAIT * 2**i) for i in range(4)]
    assert all(b / 2 <= w <= b for w, b in zip(clock.waits, bounds, strict=True)), clock.waits
    failed = [r for r in caplog.records if r.getMessage() == "the work failed"]
    assert len(failed) == 4
    assert all(r.levelno == logging.ERROR and r.exc_info for r in failed)


def test_the_wait_never_exceeds_the_bound() -> None:
    clock, runs = Clock(), []

    async def work() -> None:
        runs.append(1)
        if len(runs) < 30:
            raise OSError("down")

    run(work, clock, done=lambda: True)
    assert max(clock.waits) <= supervise.MAX_WAIT
    assert len(runs) == 30


def test_work_that_ends_unasked_is_started_again(caplog: pytest.LogCaptureFixture) -> None:
    clock, runs = Clock(), []
    asked = False

    async def work() -> None:
        nonlocal asked
        runs.append(1)
        asked = len(runs) == 3

    run(work, clock, done=lambda: asked)
    assert len(runs) == 3
    ended = [r for r in caplog.records if "ended before it was asked to" in r.getMessage()]
    assert [r.levelno for r in ended] == [logging.ERROR] * 2


def test_a_long_healthy_run_resets_the_wait() -> None:
    clock, runs = Clock(), []

    async def work() -> None:
        runs.append(1)
        if len(runs) == 4:
            clock.now += supervise.HEALTHY  # ran well for a long time before failing
        if len(runs) < 6:
            raise OSError("down")

    run(work, clock, done=lambda: True)
    assert clock.waits[3] <= supervise.MIN_WAIT  # the first wait again, not the fourth


def test_cancelling_stops_it() -> None:
    async def main() -> None:
        task = supervise.start("sleeper", lambda: asyncio.sleep(3600))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
