"""The call index: a summary of every call record in memory, for listings, stats and live feeds.

It costs the call path nothing until someone looks: it starts on its first use (a listing, the
stats, a feed), loading the last value of every key of the record buckets, then follows their
changes, decoding only what a summary holds; once unused for `idle` seconds, with no feed
open, it stops following and lets its memory go. Records leave it when deleted, and when their
bucket drops them for age or room (its first sequence passes theirs).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Iterable

from nats.js.errors import InvalidKeyError, KeyNotFoundError

from faas import supervise
from faas.records import CallRecord, RecordStore
from gateway.callfeed import QUEUE, CallChange, CallFeed, Subscription
from gateway.callquery import CallQuery
from gateway.callsummary import BadRecord, CallSummary, summarize
from gateway.calltable import CallPage, CallTable
from gateway.shelfwatch import BucketRemade, BucketState, ShelfWatch

log = logging.getLogger(__name__)

IDLE = 300.0  # seconds without a use after which the index stops
UPKEEP = 60.0  # seconds between looks for records their bucket dropped
LOAD_PATIENCE = 30.0  # seconds the first load may make no progress before it answers anyway
CLOCK_MARGIN = 300 * 1_000_000  # microseconds the gateways' and NATS's clocks may differ


class _Run:
    """The index from one start to its stop: the table and the watches that fill it."""

    def __init__(self, records: RecordStore) -> None:
        self.table = CallTable()
        self.feed = CallFeed()
        self.watches = [
            ShelfWatch(records.nc, shelf.bucket, functools.partial(self.apply, number))
            for number, shelf in enumerate(records.shelves)
        ]
        self._loading: dict[str, CallSummary] | None = {}  # by key, until loaded

    async def start(self) -> None:
        """Follow every shelf; once each has handed on what it held, sort it all once."""
        began = time.perf_counter()
        try:
            for watch in self.watches:
                await watch.start()
            await asyncio.gather(*(w.caught_up(LOAD_PATIENCE) for w in self.watches))
        except BaseException:
            await self.stop()
            raise
        self.table.load((self._loading or {}).values())
        self._loading = None
        log.info(
            "call index: %d calls loaded in %.2fs", len(self.table), time.perf_counter() - began
        )

    async def stop(self) -> None:
        self.feed.end()
        for watch in self.watches:
            await watch.stop()

    async def caught_up(self) -> None:
        await asyncio.gather(*(w.caught_up() for w in self.watches))

    def apply(self, shelf: int, key: str, raw: bytes | None, revision: int) -> None:
        """A write to a shelf: a record stored (its summary replaces the call's), or deleted."""
        if raw is None:
            self._remove(key)
            return
        try:
            summary = summarize(key, raw, shelf, revision)
        except BadRecord as exc:
            log.warning("call index: skipping a record: %s", exc)
            return
        if self._loading is not None:
            self._loading[key] = summary
            return
        if self.table.put(summary) != summary:  # a change a summary shows
            self.feed.publish(CallChange(summary))

    def _remove(self, key: str) -> None:
        if self._loading is not None:
            self._loading.pop(key, None)
            return
        removed = self.table.remove(key)
        if removed is not None:
            self.feed.publish(CallChange(removed, removed=True))

    async def drop_expired(self) -> None:
        """Forget the calls whose records their bucket no longer holds; BucketRemade if a
        bucket is not the one followed."""
        for number, watch in enumerate(self.watches):
            gone = self._expired(number, watch.same_bucket(await watch.state()))
            self.table.remove_oldest(gone)
            for summary in gone:
                self.feed.publish(CallChange(summary, removed=True))

    def _expired(self, shelf: int, state: BucketState) -> list[CallSummary]:
        """The shelf's calls older than its first message: from the oldest call on, up to
        the time of that message (a call created later was written after it)."""
        horizon = state.first_micros + CLOCK_MARGIN if state.messages else None
        gone = []
        for summary in self.table.oldest():
            if horizon is not None and summary.created_micros > horizon:
                break
            if summary.shelf == shelf and summary.revision < state.first_seq:
                gone.append(summary)
        return gone


class CallIndex:
    """Every call's summary, started on first use and stopped when unused."""

    def __init__(self, records: RecordStore, idle: float = IDLE) -> None:
        self.store = records
        self.idle = idle
        self._start: asyncio.Task[_Run] | None = None  # starting or started: the run
        self._upkeep: asyncio.Task[None] | None = None
        self._used = 0.0  # time.monotonic() of the last use

    @property
    def running(self) -> bool:
        return self._start is not None

    async def page(
        self, query: CallQuery | None = None, limit: int = 20, before: str | None = None
    ) -> CallPage:
        """Up to `limit` calls the query matches, newest first, after the cursor `before` (a
        previous page's `next`); every write stored before the call is seen."""
        run = await self._caught_up()
        return run.table.page(query or CallQuery(), limit, before)

    async def find(self, call_id: str) -> CallSummary | None:
        """The call's summary, by the record store's index of call ids; every write stored
        before the call is seen."""
        run = await self._caught_up()
        for shelf in self.store.shelves:
            try:
                entry = await shelf.index.get(call_id)
            except (KeyNotFoundError, InvalidKeyError):  # InvalidKey: no call has such an id
                continue
            summary = run.table.get(entry.value.decode()) if entry.value else None
            if summary is not None:
                return summary
        return None

    async def table(self) -> CallTable:
        """The table as it is now (the stats read it), loaded first if the index was stopped."""
        return (await self._running()).table

    async def records(self, summaries: Iterable[CallSummary]) -> list[CallRecord]:
        """The full records of these calls, in their order; those gone meanwhile left out."""
        found = await asyncio.gather(*(self._record(s) for s in summaries))
        return [record for record in found if record is not None]

    async def _record(self, summary: CallSummary) -> CallRecord | None:
        kv = self.store.shelves[summary.shelf].kv
        try:
            entry = await kv.get(summary.key)
        except KeyNotFoundError:  # deleted, or expired
            return None
        return CallRecord.loads(entry.value) if entry.value else None

    @contextlib.asynccontextmanager
    async def subscribe(
        self, query: CallQuery | None = None, size: int = QUEUE
    ) -> AsyncIterator[Subscription]:
        """The changes of the calls the query matches, from now on, while the block runs; the
        iteration ends if the subscriber falls `size` changes behind (then `dropped` is set)."""
        run = await self._running()
        subscription = run.feed.subscribe(query or CallQuery(), size)
        try:
            yield subscription
        finally:
            run.feed.unsubscribe(subscription)
            self._used = time.monotonic()

    def subscribers(self) -> int:
        """Feeds open now."""
        if self._start is None or not self._start.done() or self._start.cancelled():
            return 0
        return 0 if self._start.exception() else len(self._start.result().feed)

    async def stop(self) -> None:
        """Stop following the records (the gateway stops); a later use starts it again."""
        upkeep, self._upkeep = self._upkeep, None
        if upkeep is not None:
            upkeep.cancel()
            await asyncio.gather(upkeep, return_exceptions=True)
        await self._halt()

    async def _caught_up(self) -> _Run:
        """The running index, with every write stored so far; started again, from what the
        buckets hold now, if one was made anew (NATS restarted alone)."""
        run = await self._running()
        try:
            await run.caught_up()
        except BucketRemade as exc:
            log.warning("call index: %s (NATS restarted): loading it again", exc)
            await self.stop()  # its feeds end: their subscribers come again
            run = await self._running()
            await run.caught_up()
        return run

    async def _running(self) -> _Run:
        """The running index, started (and loaded) if it was not."""
        self._used = time.monotonic()
        if self._start is None:
            self._start = asyncio.create_task(self._begin(), name="call index start")
            self._start.add_done_callback(self._started)
        return await asyncio.shield(self._start)

    async def _begin(self) -> _Run:
        run = _Run(self.store)
        await run.start()
        self._upkeep = supervise.start(
            "call index upkeep", functools.partial(self._keep, run), lambda: True
        )
        return run

    def _started(self, start: asyncio.Task[_Run]) -> None:
        """A start that failed is forgotten: the next use tries again."""
        if (start.cancelled() or start.exception()) and self._start is start:
            self._start = None

    async def _keep(self, run: _Run) -> None:
        """Drop what the buckets dropped, until unused for `idle` seconds; then stop. Stop
        too once a bucket was made anew, so that the next use (the stats, which read the
        table as it is) loads the index from what the buckets hold now."""
        tick = min(UPKEEP, self.idle / 4)
        last_drop = time.monotonic()
        while len(run.feed) or time.monotonic() - self._used < self.idle:
            await asyncio.sleep(tick)
            if time.monotonic() - last_drop >= UPKEEP:
                try:
                    await run.drop_expired()
                except BucketRemade as exc:
                    log.warning("call index: %s (NATS restarted): stopped until used", exc)
                    break
                last_drop = time.monotonic()
        else:
            log.info("call index: unused for %.0fs, stopped", self.idle)
        self._upkeep = None
        await self._halt()

    async def _halt(self) -> None:
        start, self._start = self._start, None
        if start is None:
            return
        if not start.done():
            start.cancel()  # a start cut short stops what it began
            await asyncio.gather(start, return_exceptions=True)
        elif not start.cancelled() and start.exception() is None:
            await start.result().stop()
