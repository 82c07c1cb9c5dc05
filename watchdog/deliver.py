"""Deliver queued callbacks, retrying failed ones with backoff; record every outcome."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from faas import bus, callback, failover
from faas.callback import Delivery
from faas.errors import WireError
from faas.records import (
    CallbackAttempt,
    CallbackRecord,
    CallbackState,
    CallNotFound,
    CallRecord,
    Held,
    RecordStore,
    now,
)
from faas.retry import exponential_backoff
from faas.wire import CallbackJob, unpack
from watchdog.taker import Source, Taker

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MIN_WAIT, MAX_WAIT = 1.0, 60.0
MAX_HISTORY = 20  # the last POSTs a record keeps of its callback


def callback_headers(job: CallbackJob) -> dict[str, str]:
    headers = {
        "Content-Type": job.content_type,
        "X-Call-Id": job.call_id,
        "X-Function-Name": job.function,
        "X-Function-Status": str(job.status),
        "X-Duration-Seconds": f"{job.duration:.6f}",
    }
    if job.exit_code is not None:
        headers["X-Exit-Code"] = str(job.exit_code)
    return headers


class Written:
    """The records this watchdog wrote last, by key, with their revisions: a callback's note
    on its call's record then needs no read, unless someone wrote it since (then it reads).
    Bounded: the last `size` small records (a large one is read again)."""

    def __init__(self, size: int = 1024, largest: int = 16 * 1024) -> None:
        self.size = size
        self.largest = largest  # characters of output, stderr and request body
        self._held: OrderedDict[str, Held] = OrderedDict()

    def put(self, key: str, held: Held) -> None:
        record = held.record
        body = record.request.body if record.request else ""
        if len(record.output) + len(record.stderr) + len(body) > self.largest:
            self._held.pop(key, None)
            return
        self._held[key] = held
        self._held.move_to_end(key)
        if len(self._held) > self.size:
            self._held.popitem(last=False)

    def pop(self, key: str) -> Held | None:
        return self._held.pop(key, None)


class Deliverer:
    """Takes callback jobs from their stream, a few at a time, independent of call capacity."""

    def __init__(
        self, js: JetStreamContext, records: RecordStore, at_once: int, written: Written
    ) -> None:
        self.js = js
        self.records = records
        self.at_once = at_once
        self.written = written
        self.active: set[asyncio.Task[None]] = set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Deliver until `stopping` is set; a NATS error ends it (its supervisor restarts it)."""
        sub = await self.js.pull_subscribe_bind(bus.CALLBACK_CONSUMER, bus.CALLBACK_STREAM)
        taker = Taker([Source("callbacks", sub, 0)])  # a pull out per free delivery slot
        http = callback.Client()
        try:
            while not stopping.is_set():
                free = self.at_once - len(self.active)
                if free <= 0:
                    await asyncio.wait(self.active, return_when=asyncio.FIRST_COMPLETED)
                    continue
                for _, msg in await taker.take(free):
                    task = asyncio.create_task(self.deliver(msg, http))
                    self.active.add(task)
                    task.add_done_callback(self.active.discard)
        finally:
            for _, msg in await taker.close():
                task = asyncio.create_task(self.deliver(msg, http))  # caught: delivered now
                self.active.add(task)
            if self.active:
                await asyncio.wait(self.active)
            await http.close()
            await sub.unsubscribe()

    async def deliver(self, msg: Msg, http: callback.Client) -> None:
        """Deliver one job; a failure in the watchdog is logged, and the job comes back after
        its ack wait."""
        try:
            await self._deliver(msg, http)
        except Exception:
            log.exception("callback delivery failed in the watchdog")

    async def _deliver(self, msg: Msg, http: callback.Client) -> None:
        try:
            job = unpack(msg.data, CallbackJob)
        except WireError as exc:
            log.error("dropping undecodable callback: %s", exc)
            await msg.term()
            return
        attempt = msg.metadata.num_delivered or 1
        sent = now()
        delivery = await callback.post(http, job.url, job.body, callback_headers(job))
        if not delivery.ok and delivery.retry and attempt < MAX_ATTEMPTS:
            delay = exponential_backoff(attempt, MIN_WAIT, MAX_WAIT)
            pending = CallbackState.PENDING
            await self._note(job, lambda c: _attempted(c, attempt, delivery, pending, sent))
            log.info("callback %s: %s, retry in %.1fs", job.call_id, delivery.error, delay)
            await msg.nak(delay=delay)
            return
        state = CallbackState.DELIVERED if delivery.ok else CallbackState.FAILED
        await self._note(job, lambda c: _attempted(c, attempt, delivery, state, sent))
        log.info("callback %s: %s after %d attempt(s)", job.call_id, state, attempt)
        await msg.ack()

    async def _note(
        self, job: CallbackJob, change: Callable[[CallbackRecord], CallbackRecord]
    ) -> None:
        """Put the POST on the call's record. It was made: a record NATS cannot write now is
        tried for a while, then given up, so that the job is still acked, not POSTed again."""

        def apply(record: CallRecord) -> CallRecord:
            return replace(record, callback=change(record.callback))

        key = job.record_key
        try:
            held = await failover.outlast(
                lambda: self.records.revise(key, apply, self.written.pop(key))
            )
        except CallNotFound:
            log.warning("callback %s: its call record has expired", job.call_id)
            return
        except nats.errors.Error as exc:
            log.warning("callback %s: not put on its record: %s", job.call_id, exc)
            return
        self.written.put(key, held)


def _attempted(
    callback: CallbackRecord, attempt: int, delivery: Delivery, state: CallbackState, sent: str
) -> CallbackRecord:
    """The callback after the POST sent at `sent`, which its history keeps (the last few)."""
    posted = CallbackAttempt(sent, delivery.status, delivery.error)
    if callback.history and callback.history[-1] == posted:  # a write tried again had landed
        return callback
    return replace(
        callback,
        state=state,
        attempts=attempt,
        status=delivery.status,
        error=delivery.error,
        deliveredAt=now() if state is CallbackState.DELIVERED else callback.deliveredAt,
        history=[*callback.history, posted][-MAX_HISTORY:],
    )
