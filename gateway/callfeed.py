"""Changes of calls handed to subscribers, each through a bounded queue: a slow subscriber is
dropped (its feed ends) rather than slowing whoever publishes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gateway.callquery import CallQuery
from gateway.callsummary import CallSummary

QUEUE = 1000  # changes a subscriber may be behind before it is dropped


@dataclass(frozen=True, slots=True)
class CallChange:
    """A call's summary as it now is; `removed`: its record is gone (deleted or expired)."""

    summary: CallSummary
    removed: bool = False


class Subscription:
    """The changes of the calls a query matches, in the order they were seen."""

    def __init__(self, query: CallQuery, size: int = QUEUE) -> None:
        self.query = query
        self.dropped = False  # True: it fell `size` changes behind, and its feed ended
        self._queue: asyncio.Queue[CallChange | None] = asyncio.Queue(size + 1)  # None: the end
        self._size = size
        self._ended = False

    def offer(self, change: CallChange) -> None:
        """Queue the change if the query wants it; never waits."""
        if self._ended or not self.query.matches(change.summary):
            return
        if self._queue.qsize() >= self._size:
            self.dropped = True
            self.end()
            return
        self._queue.put_nowait(change)

    def end(self) -> None:
        """End the feed: what is still queued is dropped, the iteration stops."""
        if self._ended:
            return
        self._ended = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> CallChange:
        change = await self._queue.get()
        if change is None:
            self._queue.put_nowait(None)  # a later look ends too
            raise StopAsyncIteration
        return change


class CallFeed:
    """Every subscriber of changes of calls."""

    def __init__(self) -> None:
        self.subscriptions: set[Subscription] = set()

    def __len__(self) -> int:
        return len(self.subscriptions)

    def subscribe(self, query: CallQuery, size: int = QUEUE) -> Subscription:
        subscription = Subscription(query, size)
        self.subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)
        subscription.end()

    def publish(self, change: CallChange) -> None:
        for subscription in self.subscriptions:
            subscription.offer(change)

    def end(self) -> None:
        """End every feed (the index stops)."""
        for subscription in self.subscriptions:
            subscription.end()
        self.subscriptions.clear()
