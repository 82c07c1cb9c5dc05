"""Unit tests of gateway.callfeed: changes handed to subscribers through bounded queues."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from faas.records import CallState
from gateway.callfeed import CallChange, CallFeed, Subscription
from gateway.callquery import CallQuery
from gateway.callsummary import CallSummary


def change(n: int, function: str = "f", removed: bool = False) -> CallChange:
    summary = CallSummary(f"{n:017d}.c{n}", function, "async", CallState.RUNNING)
    return CallChange(summary, removed)


async def drain(subscription: Subscription) -> list[CallChange]:
    return [c async for c in subscription]


def test_a_subscriber_gets_the_changes_its_query_wants_in_order() -> None:
    async def run() -> None:
        feed = CallFeed()
        wanted = feed.subscribe(CallQuery(function="f"))
        every = feed.subscribe(CallQuery())
        for published in (change(1), change(2, "g"), change(3, removed=True)):
            feed.publish(published)
        assert [c async for c in _take(wanted, 2)] == [change(1), change(3, removed=True)]
        gone = change(3, removed=True)
        assert [c async for c in _take(every, 3)] == [change(1), change(2, "g"), gone]
        feed.end()
        assert len(feed) == 0
        assert await drain(wanted) == []

    asyncio.run(run())


def test_a_slow_subscriber_is_dropped_and_the_others_keep_theirs() -> None:
    async def run() -> None:
        feed = CallFeed()
        slow = feed.subscribe(CallQuery(), size=3)
        fast = feed.subscribe(CallQuery(), size=100)
        for n in range(10):
            feed.publish(change(n))  # never waits, whatever the subscribers do
        assert slow.dropped
        assert await drain(slow) == []  # what it had queued is dropped with it
        assert [c async for c in _take(fast, 10)] == [change(n) for n in range(10)]
        assert not fast.dropped

    asyncio.run(run())


async def _take(subscription: Subscription, n: int) -> AsyncIterator[CallChange]:
    for _ in range(n):
        yield await anext(subscription)


def test_an_ended_feed_ends_every_iteration_once_and_for_all() -> None:
    async def run() -> None:
        feed = CallFeed()
        subscription = feed.subscribe(CallQuery())
        waiting = asyncio.ensure_future(drain(subscription))
        await asyncio.sleep(0)
        feed.unsubscribe(subscription)
        assert await waiting == []
        assert await drain(subscription) == []
        feed.publish(change(1))
        assert await drain(subscription) == []
        assert not subscription.dropped

    asyncio.run(run())
