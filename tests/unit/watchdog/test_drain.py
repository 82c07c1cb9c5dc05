"""Unit tests of watchdog.node.drain: a stopping watchdog waits for its calls, stops those
past the grace period, and never hangs on one that cannot record its end."""

from __future__ import annotations

import asyncio

from watchdog.node import drain


def test_calls_that_end_within_the_grace_period_are_not_stopped() -> None:
    async def main() -> None:
        aborts: list[int] = []
        calls = [asyncio.create_task(asyncio.sleep(0.01)) for _ in range(3)]
        await drain(calls, grace=5.0, abort=lambda: aborts.append(1))
        assert aborts == []
        assert all(c.done() and not c.cancelled() for c in calls)

    asyncio.run(main())


def test_calls_past_the_grace_period_are_stopped_and_waited_for() -> None:
    async def main() -> None:
        stop = asyncio.Event()

        async def call() -> None:
            await stop.wait()
            await asyncio.sleep(0.01)  # records its end

        calls = [asyncio.create_task(call()) for _ in range(2)]
        await drain(calls, grace=0.05, abort=stop.set, abort_wait=5.0)
        assert stop.is_set()
        assert all(c.done() and not c.cancelled() for c in calls)

    asyncio.run(main())


def test_a_stopped_call_that_cannot_record_its_end_is_left_after_a_while() -> None:
    async def main() -> None:
        stop = asyncio.Event()

        async def stuck() -> None:
            await stop.wait()
            await asyncio.sleep(3600)  # its end's write waits for a NATS that never comes

        async def ends() -> None:
            await stop.wait()

        calls = [asyncio.create_task(stuck()), asyncio.create_task(ends())]
        began = asyncio.get_running_loop().time()
        await drain(calls, grace=0.05, abort=stop.set, abort_wait=0.1)
        assert asyncio.get_running_loop().time() - began < 5
        assert calls[0].cancelled()
        assert calls[1].done() and not calls[1].cancelled()

    asyncio.run(main())


def test_no_calls_no_wait() -> None:
    asyncio.run(drain([], grace=3600.0, abort=lambda: None))
