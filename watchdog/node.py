"""The watchdog's life: take calls while it has free capacity, run them, report, clean up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext

from faas import bus
from faas.errors import WireError
from faas.settings import WatchdogSettings
from faas.wire import (
    CallRequest,
    CallResult,
    CallStarted,
    Heartbeat,
    WatchdogState,
    pack,
    unpack,
)
from watchdog.runner import Runner

log = logging.getLogger(__name__)

FETCH_WAIT = 1.0  # a pull request lingers this long; also bounds how fast shutdown is seen


class Watchdog:
    """An executor node: its capacity is the number of calls it runs at once."""

    def __init__(self, settings: WatchdogSettings, runner: Runner) -> None:
        self.settings = settings
        self.runner = runner
        self.stopping = asyncio.Event()
        self.calls: dict[str, asyncio.Task[None]] = {}
        self.cleanups: set[asyncio.Future[None]] = set()
        self.aborted = threading.Event()
        self._slot_free = asyncio.Event()
        self._beat_now = asyncio.Event()
        self._nc: Client | None = None
        self._pool = ThreadPoolExecutor(
            max_workers=settings.capacity * 2 + 2, thread_name_prefix="container"
        )

    @property
    def free(self) -> int:
        return self.settings.capacity - len(self.calls)

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
        self._nc = nc = await bus.connect(self.settings.nats_url, f"watchdog {self.name}")
        js = nc.jetstream()
        await bus.ensure_streams(js, nc.max_payload)
        ping = await nc.subscribe(bus.PING_SUBJECT, cb=self._on_ping)
        heartbeat = asyncio.create_task(self._heartbeats())
        log.info("watchdog %s: capacity %d, taking calls", self.name, self.settings.capacity)
        try:
            await self._take(js)
        finally:
            await self._drain()
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            with contextlib.suppress(nats.errors.Error):
                await ping.unsubscribe()
                await self._publish_heartbeat(WatchdogState.GONE)
            await bus.close(nc)
            self._pool.shutdown(wait=True)
            log.info("watchdog %s: stopped", self.name)

    @property
    def name(self) -> str:
        return self.settings.watchdog_id

    async def _take(self, js: JetStreamContext) -> None:
        sub = await js.pull_subscribe_bind(bus.SYNC_CONSUMER, bus.SYNC_STREAM)
        try:
            while not self.stopping.is_set():
                if self.free <= 0:
                    self._slot_free.clear()
                    await self._slot_free.wait()
                    continue
                try:
                    msgs = await sub.fetch(1, timeout=FETCH_WAIT)
                except (TimeoutError, NatsTimeoutError):
                    continue
                for msg in msgs:
                    await self._accept(msg)
        finally:
            await sub.unsubscribe()

    async def _accept(self, msg: Msg) -> None:
        if self.stopping.is_set():
            await msg.nak()  # another watchdog takes it at once
            return
        await msg.ack()  # sync calls run at most once: acked before the container starts
        try:
            call = unpack(msg.data, CallRequest)
        except WireError as exc:
            log.error("dropping undecodable call: %s", exc)
            return
        if time.time() > call.start_by:
            log.info("call %s (%s): expired in the queue, dropped", call.call_id, call.function)
            return
        task = asyncio.create_task(self._serve(call))
        self.calls[call.call_id] = task

    async def _serve(self, call: CallRequest) -> None:
        assert self._nc is not None
        log.debug("call %s (%s): start", call.call_id, call.function)
        container_id: str | None = None
        try:
            await self._nc.publish(call.reply_to, pack(CallStarted(call.call_id, self.name)))
            loop = asyncio.get_running_loop()
            result, container_id = await asyncio.shield(
                loop.run_in_executor(self._pool, self.runner.run, call, self.aborted)
            )
            await asyncio.shield(self._reply(call, result))
            log.info(
                "call %s (%s): %s in %.3fs",
                call.call_id,
                call.function,
                result.outcome,
                result.duration,
            )
        finally:
            self.calls.pop(call.call_id, None)
            self._slot_free.set()
            if container_id:
                self._remove_later(container_id)

    async def _reply(self, call: CallRequest, result: CallResult) -> None:
        assert self._nc is not None
        await self._nc.publish(call.reply_to, pack(result))

    def _remove_later(self, container_id: str) -> None:
        """Remove the container off the reply's critical path."""
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(
            loop.run_in_executor(self._pool, self.runner.remove, container_id)
        )
        self.cleanups.add(task)
        task.add_done_callback(self.cleanups.discard)

    async def _drain(self) -> None:
        """Let running calls finish within the grace period, then stop their containers."""
        if self.calls:
            log.info("waiting up to %gs for %d call(s)", self.settings.grace, len(self.calls))
            _, late = await asyncio.wait(list(self.calls.values()), timeout=self.settings.grace)
            if late:
                log.warning("grace period over: stopping %d call(s)", len(late))
                self.aborted.set()
                await asyncio.wait(late)
        if self.cleanups:
            await asyncio.wait(list(self.cleanups))

    @property
    def state(self) -> WatchdogState:
        return WatchdogState.DRAINING if self.stopping.is_set() else WatchdogState.READY

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
