"""The watchdog's life: take calls while it has free capacity, run them, report, clean up."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from faas import bus, layout, supervise
from faas.errors import WireError
from faas.images import ImageBank
from faas.layout import Layout
from faas.records import RecordStore
from faas.settings import WatchdogSettings
from faas.wire import CallBusy, CallRequest, Heartbeat, WatchdogState, pack, unpack
from watchdog.clusterimages import ClusterImages
from watchdog.deliver import Deliverer, Written
from watchdog.executor import Executor
from watchdog.runner import Runner
from watchdog.secretfiles import SecretSource
from watchdog.taker import Source, Taker

log = logging.getLogger(__name__)

SYNC, ASYNC = "sync", "async"
CAPPED_REFRESH = 2.0  # seconds between looks for functions with a concurrency cap
PULLS = 8  # pulls out at once per consumer, at most (and never more than free slots)
ABORT_WAIT = 30.0  # seconds for stopped calls to record their end before they are left


class Watchdog:
    """An executor node: its capacity is the number of calls it runs at once."""

    def __init__(
        self,
        settings: WatchdogSettings,
        runner: Runner,
        secrets: SecretSource | None = None,
        images: ClusterImages | None = None,
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.secrets = secrets  # opened in run(); the runner reads values through it
        self.images = images  # attached in run(); the runner fetches images through it
        self.stopping = asyncio.Event()
        self.calls: dict[str, asyncio.Task[None]] = {}
        self._slot_free = asyncio.Event()
        self._beat_now = asyncio.Event()
        self._nc: Client | None = None
        self._executor: Executor | None = None
        self._pool = ThreadPoolExecutor(
            max_workers=settings.capacity * 2 + 2,
            thread_name_prefix="container",
        )

    @property
    def name(self) -> str:
        return self.settings.watchdog_id

    @property
    def free(self) -> int:
        return self.settings.capacity - len(self.calls)

    @property
    def state(self) -> WatchdogState:
        return WatchdogState.DRAINING if self.stopping.is_set() else WatchdogState.READY

    def stop(self) -> None:
        """Ask the watchdog to stop taking calls; safe to call from a signal handler."""
        self.stopping.set()
        self._slot_free.set()
        self._beat_now.set()

    async def run(self) -> None:
        """Serve until `stop()`, then finish the running calls within the grace period."""
        loop = asyncio.get_running_loop()
        removed = await loop.run_in_executor(self._pool, self.runner.remove_orphans)
        if removed:
            log.info("removed %d orphaned container(s) of watchdog %s", removed, self.name)
        restore = functools.partial(layout.restore_for, self.settings)
        self._nc = nc = await bus.connect(self.settings.nats_url, f"watchdog {self.name}", restore)
        js = nc.jetstream()
        await layout.ensure(js, Layout.of(self.settings, nc.max_payload))
        records = await RecordStore.open(nc, self.settings.retention)
        if self.secrets is not None:
            await self.secrets.start(js)
        if self.images is not None:
            await self.images.attach(await ImageBank.open(js))
        written = Written()  # final records, for their callbacks' notes
        self._executor = Executor(
            self.name, nc, js, records, self.runner, self._pool, self.settings.lease, written
        )
        deliverer = Deliverer(js, records, self.settings.deliverers, written)
        subs = [
            await nc.subscribe(bus.offer_subject("*"), bus.OFFER_GROUP, cb=self._on_offer),
            await nc.subscribe(bus.PING_SUBJECT, cb=self._on_ping),
            await nc.subscribe(f"{bus.CANCEL_PREFIX}.*", cb=self._on_cancel),
        ]
        background = [
            supervise.start("heartbeats", self._heartbeats),
            supervise.start(
                "callbacks", lambda: deliverer.run(self.stopping), self.stopping.is_set
            ),
            supervise.start("function watch", lambda: self._follow_functions(js)),
        ]
        log.info("watchdog %s: capacity %d, taking calls", self.name, self.settings.capacity)
        try:
            await self._take(js)
        finally:
            await self._drain()
            background[0].cancel()
            background[2].cancel()
            await asyncio.gather(*background, return_exceptions=True)
            with contextlib.suppress(nats.errors.Error):
                for sub in subs:
                    await sub.unsubscribe()
                await self._publish_heartbeat(WatchdogState.GONE)
            await bus.close(nc)
            self._pool.shutdown(wait=True)
            log.info("watchdog %s: stopped", self.name)

    async def _take(self, js: JetStreamContext) -> None:
        """Sync calls first, then async ones, and never more than the free capacity."""
        base = [
            Source(SYNC, await js.pull_subscribe_bind(bus.SYNC_CONSUMER, bus.SYNC_STREAM), 0),
            Source(ASYNC, await js.pull_subscribe_bind(bus.ASYNC_CONSUMER, bus.ASYNC_STREAM), 1),
        ]
        taker = Taker(base)
        refreshed = 0.0
        try:
            while not self.stopping.is_set():
                if time.monotonic() - refreshed > CAPPED_REFRESH:
                    await self._follow_capped(js, taker, base)
                    refreshed = time.monotonic()
                for _, msg in await taker.stale():
                    await msg.nak()
                if self.free <= 0:
                    self._slot_free.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._slot_free.wait(), CAPPED_REFRESH)
                    continue
                for source, msg in await taker.take(min(self.free, PULLS)):
                    await self._accept(source, msg)
        finally:
            for _, msg in await taker.close():
                await msg.nak()  # another watchdog takes it at once
            for source in taker.sources:
                await source.sub.unsubscribe()

    async def _follow_capped(self, js: JetStreamContext, taker: Taker, base: list[Source]) -> None:
        """Pull from one consumer per function with a concurrency cap, as they come and go."""
        try:
            names = await layout.capped_functions(js)
        except nats.errors.Error as exc:
            log.warning("cannot list capped functions: %s", exc)
            return
        current = {s.name: s for s in taker.sources}
        sources = [*base]
        for name in names:
            sub = current[name].sub if name in current else None
            sub = sub or await js.pull_subscribe_bind(name, bus.ASYNC_STREAM)
            sources.append(Source(name, sub, 2))
        for idle in taker.set_sources(sources):
            await idle.sub.unsubscribe()

    async def _accept(self, source: Source, msg: Msg) -> None:
        """Start the call in a free slot, taken before any wait: an offer may come meanwhile."""
        if self.stopping.is_set() or self.free <= 0:
            await msg.nak()
            return
        try:
            call = unpack(msg.data, CallRequest)
        except WireError as exc:
            log.error("dropping undecodable call: %s", exc)
            await msg.term()
            return
        assert self._executor is not None
        if source.name != SYNC:
            self._start(call.call_id, self._executor.serve_async(call, msg))
        elif time.time() > call.start_by:  # the caller has been answered already
            log.info("call %s (%s): expired in the queue", call.call_id, call.function)
            await msg.ack()
        else:
            self._start(call.call_id, self._serve_queued(call, msg))

    async def _serve_queued(self, call: CallRequest, msg: Msg) -> None:
        assert self._executor is not None
        await msg.ack()  # sync calls run at most once: acked before the container starts
        await self._executor.serve_sync(call)

    async def _on_offer(self, msg: Msg) -> None:
        """A sync call offered to this watchdog alone: taken into a free slot, else refused."""
        try:
            call = unpack(msg.data, CallRequest)
        except WireError as exc:
            log.error("dropping undecodable offer: %s", exc)
            return
        late = time.time() > call.take_by  # the gateway has queued it, or is about to
        if self.stopping.is_set() or self.free <= 0 or late or self._executor is None:
            assert self._nc is not None
            await self._nc.publish(call.reply_to, pack(CallBusy(call.call_id, self.name)))
            return
        self._start(call.call_id, self._executor.serve_sync(call))

    def _start(self, call_id: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.calls[call_id] = task
        task.add_done_callback(lambda t: self._done(call_id, t))

    def _done(self, call_id: str, task: asyncio.Task[None]) -> None:
        if self.calls.get(call_id) is task:
            del self.calls[call_id]
        self._slot_free.set()
        if not task.cancelled() and task.exception():
            log.error("call %s failed in the watchdog", call_id, exc_info=task.exception())

    async def _drain(self) -> None:
        """Let running calls finish within the grace period, then stop their containers."""
        assert self._executor is not None
        await drain(list(self.calls.values()), self.settings.grace, self._executor.abort_all)
        await self._executor.wait_cleanups()

    async def _follow_functions(self, js: JetStreamContext) -> None:
        """Tell the runner of every function deployed again or removed: what it keeps for one
        (containers made ahead) is for its old spec."""
        loop = asyncio.get_running_loop()
        functions = await layout.bucket(js, bus.FUNCTIONS_BUCKET)
        watcher = await functions.watch(">", meta_only=True)
        async for entry in watcher:
            if entry is not None:
                await loop.run_in_executor(self._pool, self.runner.forget, entry.key)

    async def _heartbeats(self) -> None:
        """Beat every interval, and at once when stopping begins."""
        while True:
            await self._publish_heartbeat(self.state)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._beat_now.wait(), self.settings.heartbeat_interval)
            self._beat_now.clear()

    def _heartbeat(self, state: WatchdogState) -> bytes:
        return pack(Heartbeat(self.name, self.settings.capacity, len(self.calls), state))

    async def _publish_heartbeat(self, state: WatchdogState) -> None:
        assert self._nc is not None
        await self._nc.publish(bus.HEARTBEAT_SUBJECT, self._heartbeat(state))

    async def _on_ping(self, msg: Msg) -> None:
        if msg.reply and not self.stopping.is_set():
            await self._nc.publish(msg.reply, self._heartbeat(self.state))  # type: ignore[union-attr]

    async def _on_cancel(self, msg: Msg) -> None:
        if self._executor is not None:
            self._executor.cancel(msg.subject.rsplit(".", 1)[-1])


async def drain(
    calls: list[asyncio.Task[None]],
    grace: float,
    abort: Callable[[], None],
    abort_wait: float = ABORT_WAIT,
) -> None:
    """Wait up to `grace` for the calls, then `abort` them (their containers are stopped) and
    wait up to `abort_wait` for them to record their end. One still writing then (NATS gone,
    say) is cancelled: its message, unacknowledged, goes to another watchdog once its lease
    lapses, so a stop never hangs on a write."""
    if not calls:
        return
    log.info("waiting up to %gs for %d call(s)", grace, len(calls))
    _, late = await asyncio.wait(calls, timeout=grace)
    if not late:
        return
    log.warning("grace period over: stopping %d call(s)", len(late))
    abort()
    _, stuck = await asyncio.wait(late, timeout=abort_wait)
    if stuck:
        log.warning(
            "%d stopped call(s) could not record their end within %gs: left to run again",
            len(stuck),
            abort_wait,
        )
        for task in stuck:
            task.cancel()
        await asyncio.wait(stuck)
