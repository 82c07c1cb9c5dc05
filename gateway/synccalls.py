"""Send a sync call to a watchdog and wait for it to start, then to end.

A call is first offered over core NATS to one watchdog of the queue group, which takes it
at once if it has a free slot: one message each way, nothing stored. One that says it is
busy (or no watchdog listens) sends the call to the queue, a JetStream stream in memory,
where it waits for the first watchdog with a free slot, in order, until its deadline.

Replies travel over core NATS: one sent while this gateway reconnects (its server lost) is
gone. A call in flight across a reconnection therefore fails fast with 503 rather than
waiting out its timeout for an answer that cannot come; the caller may send it again.
"""

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
from faas.wire import CallBusy, CallRequest, CallResult, CallStarted, Outcome, pack, unpack_any
from gateway.instruments import GatewayMetrics
from gateway.presence import Presence

log = logging.getLogger(__name__)

START_MARGIN = 1.0  # a call taken just as it was given up still gets to say so
END_MARGIN = 30.0  # beyond its timeout, for Docker to stop and report a container
CHECK_EVERY = 1.0  # how often a silent watchdog is looked for among the living
LOST_CHECK = 0.1  # how often an offer's wait looks for a lost connection
OFFER_WAIT = 2.0  # an offer not taken by then is not (watchdogs check), and the call queued
NO_RESPONDERS = "503"  # the status NATS answers a message no one listens to with
CUT_OFF = (
    "the gateway's connection to NATS was lost while the call was in flight, "
    "so its answer cannot arrive: send it again"
)

Reply = CallStarted | CallBusy | CallResult


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
        self.waiting: dict[str, asyncio.Queue[Reply]] = {}

    async def start(self) -> None:
        await self.nc.subscribe(f"{self.reply_prefix}.*", cb=self._on_reply)

    def reply_subject(self, call_id: str) -> str:
        return f"{self.reply_prefix}.{call_id}"

    async def _on_reply(self, msg: Msg) -> None:
        call_id = msg.subject.rsplit(".", 1)[-1]
        queue = self.waiting.get(call_id)
        if not msg.data and msg.headers and msg.headers.get("Status") == NO_RESPONDERS:
            if queue is not None:  # an offer no watchdog listened to
                queue.put_nowait(CallBusy(call_id, ""))
            return
        try:
            record = unpack_any(msg.data)
        except WireError as exc:
            log.warning("bad reply on %s: %s", msg.subject, exc)
            return
        if queue is not None and isinstance(record, CallStarted | CallBusy | CallResult):
            queue.put_nowait(record)

    async def call(self, call: CallRequest) -> CallResult:
        """Queue the call; the result says how it ended, including when it never started."""
        queue: asyncio.Queue[Reply] = asyncio.Queue()
        self.waiting[call.call_id] = queue
        since = self._connection()
        try:
            with self.metrics.waiting_to_start(call.function):
                started = await self._offer(call, queue)
                if started is None and self._connection() != since:
                    return _result(call, Outcome.UNAVAILABLE, CUT_OFF)  # it may have started
                if started is None:
                    started = await self._started(call, queue, await self._publish(call), since)
            if isinstance(started, CallResult):
                return started
            return await self._ended(call, started, queue, since)
        finally:
            del self.waiting[call.call_id]

    def _connection(self) -> int:
        """Which connection this is: it changes when the client reconnects, -1 meanwhile."""
        return -1 if self.nc.is_reconnecting else int(self.nc.stats["reconnects"])

    async def _offer(
        self, call: CallRequest, queue: asyncio.Queue[Reply]
    ) -> CallStarted | CallResult | None:
        """Offer the call to one watchdog; None when it is to be queued instead.

        A watchdog takes an offer only before `take_by`, so once this has waited past it
        (by a margin for clocks apart) a silent offer never starts, and queueing the call
        cannot run it twice.
        """
        call.take_by = time.time() + OFFER_WAIT
        offer = pack(call)
        call.take_by = 0.0  # as queued: any watchdog takes it
        since = self._connection()
        await self.nc.publish(bus.offer_subject(call.function), offer, reply=call.reply_to)
        deadline = time.monotonic() + OFFER_WAIT + START_MARGIN
        while (left := deadline - time.monotonic()) > 0 and self._connection() == since:
            try:
                reply = await _next(queue, min(left, LOST_CHECK))
            except TimeoutError:
                continue
            return None if isinstance(reply, CallBusy) else reply
        if self._connection() == since:
            log.warning("call %s (%s): an offer was not answered", call.call_id, call.function)
        return None

    async def _publish(self, call: CallRequest) -> int:
        """Queue the call; return its sequence number in the stream."""
        ack = await self.js.publish(bus.sync_subject(call.function), pack(call))
        return int(ack.seq)

    async def _started(
        self, call: CallRequest, queue: asyncio.Queue[Reply], seq: int, since: int
    ) -> CallStarted | CallResult:
        """Wait for a watchdog to take the call; give up at its deadline, when none is left,
        or when the connection its answer would come on was lost."""
        while (left := call.start_by - time.time()) > 0:
            try:
                got = await _next(queue, min(left, CHECK_EVERY))
                if not isinstance(got, CallBusy):  # a late answer to the offer
                    return got
            except TimeoutError:
                if self._connection() != since:
                    failed = _result(call, Outcome.UNAVAILABLE, CUT_OFF)
                    break
                if not self.presence.live():
                    failed = _result(call, Outcome.UNAVAILABLE, "no watchdog is connected")
                    break
        else:
            failed = _result(call, Outcome.EXPIRED, "no watchdog had free capacity in time")
        if await self._withdraw(seq):
            return failed
        try:  # a watchdog took it just now: it says so at once
            got = await _next(queue, START_MARGIN)
        except TimeoutError:
            return failed
        return failed if isinstance(got, CallBusy) else got

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
        queue: asyncio.Queue[Reply],
        since: int,
    ) -> CallResult:
        deadline = time.monotonic() + call.run.timeout + END_MARGIN
        while time.monotonic() < deadline:
            try:
                record = await _next(queue, CHECK_EVERY)
            except TimeoutError:
                if self._connection() != since:
                    return _result(call, Outcome.UNAVAILABLE, CUT_OFF)
                if not self.presence.alive(started.watchdog):
                    return _result(call, Outcome.ERROR, f"watchdog {started.watchdog} was lost")
                continue
            if isinstance(record, CallResult):
                return record
        return _result(call, Outcome.ERROR, f"watchdog {started.watchdog} did not report back")


async def _next(queue: asyncio.Queue[Reply], seconds: float) -> Reply:
    """The next reply; TimeoutError after `seconds`. Unlike wait_for, no task per wait."""
    if not queue.empty():
        return queue.get_nowait()
    async with asyncio.timeout(seconds):
        return await queue.get()


def _result(call: CallRequest, outcome: Outcome, message: str) -> CallResult:
    return CallResult(call_id=call.call_id, outcome=outcome, message=message)
