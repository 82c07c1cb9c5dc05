"""Send a call to the watchdogs' queue and wait for it to start, then to end."""

from __future__ import annotations

import asyncio
import logging
import time

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from faas import bus
from faas.errors import WireError
from faas.wire import CallRequest, CallResult, CallStarted, Outcome, pack, unpack_any
from gateway.instruments import GatewayMetrics
from gateway.presence import Presence

log = logging.getLogger(__name__)

START_MARGIN = 1.0  # a call taken just as it was given up still gets to say so
END_MARGIN = 30.0  # beyond its timeout, for Docker to stop and report a container
CHECK_EVERY = 1.0  # how often a silent watchdog is looked for among the living


class SyncCalls:
    """Sync calls in flight from this gateway, each waiting for its watchdog's replies."""

    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        presence: Presence,
        reply_prefix: str,
        metrics: GatewayMetrics,
    ) -> None:
        self.nc = nc
        self.js = js
        self.presence = presence
        self.reply_prefix = reply_prefix
        self.metrics = metrics
        self.waiting: dict[str, asyncio.Queue[CallStarted | CallResult]] = {}

    async def start(self) -> None:
        await self.nc.subscribe(f"{self.reply_prefix}.*", cb=self._on_reply)

    def reply_subject(self, call_id: str) -> str:
        return f"{self.reply_prefix}.{call_id}"

    async def _on_reply(self, msg: Msg) -> None:
        try:
            record = unpack_any(msg.data)
        except WireError as exc:
            log.warning("bad reply on %s: %s", msg.subject, exc)
            return
        queue = self.waiting.get(msg.subject.rsplit(".", 1)[-1])
        if queue is not None and isinstance(record, CallStarted | CallResult):
            queue.put_nowait(record)

    async def call(self, call: CallRequest) -> CallResult:
        """Queue the call; the result says how it ended, including when it never started."""
        queue: asyncio.Queue[CallStarted | CallResult] = asyncio.Queue()
        self.waiting[call.call_id] = queue
        try:
            seq = await self._publish(call)
            with self.metrics.waiting_to_start(call.function):
                started = await self._started(call, queue, seq)
            if isinstance(started, CallResult):
                return started
            return await self._ended(call, started, queue)
        finally:
            del self.waiting[call.call_id]

    async def _publish(self, call: CallRequest) -> int:
        """Queue the call; return its sequence number in the stream."""
        ack = await self.js.publish(bus.sync_subject(call.function), pack(call))
        return int(ack.seq)

    async def _started(
        self, call: CallRequest, queue: asyncio.Queue[CallStarted | CallResult], seq: int
    ) -> CallStarted | CallResult:
        """Wait for a watchdog to take the call; give up at its deadline or when none is left."""
        while (left := call.start_by - time.time()) > 0:
            try:
                return await asyncio.wait_for(queue.get(), min(left, CHECK_EVERY))
            except TimeoutError:
                if not self.presence.live():
                    failed = _result(call, Outcome.UNAVAILABLE, "no watchdog is connected")
                    break
        else:
            failed = _result(call, Outcome.EXPIRED, "no watchdog had free capacity in time")
        if await self._withdraw(seq):
            return failed
        try:  # a watchdog took it just now: it says so at once
            return await asyncio.wait_for(queue.get(), START_MARGIN)
        except TimeoutError:
            return failed

    async def _withdraw(self, seq: int) -> bool:
        """Take a queued call back so that it never runs; False if a watchdog has it."""
        try:
            return bool(await self.js.delete_msg(bus.SYNC_STREAM, seq))
        except (nats.errors.Error, nats.js.errors.Error):
            return False

    async def _ended(
        self,
        call: CallRequest,
        started: CallStarted,
        queue: asyncio.Queue[CallStarted | CallResult],
    ) -> CallResult:
        deadline = time.monotonic() + call.run.timeout + END_MARGIN
        while time.monotonic() < deadline:
            try:
                record = await asyncio.wait_for(queue.get(), CHECK_EVERY)
            except TimeoutError:
                if not self.presence.alive(started.watchdog):
                    return _result(call, Outcome.ERROR, f"watchdog {started.watchdog} was lost")
                continue
            if isinstance(record, CallResult):
                return record
        return _result(call, Outcome.ERROR, f"watchdog {started.watchdog} did not report back")


def _result(call: CallRequest, outcome: Outcome, message: str) -> CallResult:
    return CallResult(call_id=call.call_id, outcome=outcome, message=message)
