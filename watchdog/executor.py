"""A call's life on a watchdog: record it, run its container, report, retry or finish."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from faas import bus, failover
from faas.callrequests import request_record
from faas.inflight import publish_once
from faas.records import (
    CallRecord,
    RecordStore,
    now,
)
from faas.retry import RetryPolicy
from faas.wire import (
    CallbackJob,
    CallKind,
    CallRequest,
    CallResult,
    CallStarted,
    LogBatch,
    Outcome,
    pack,
)
from watchdog import stderrlog
from watchdog.attempt import Attempt, Superseded
from watchdog.callrecords import attempt_of, finish, policy_of, retrying
from watchdog.deliver import Written
from watchdog.liveoutput import LiveOutput
from watchdog.runner import Runner

log = logging.getLogger(__name__)

STARTED_AFTER = 0.2  # seconds into a sync call before its caller is told it started


class Executor:
    """Runs calls on this watchdog; one instance per watchdog."""

    def __init__(
        self,
        name: str,
        nc: Client,
        js: JetStreamContext,
        records: RecordStore,
        runner: Runner,
        pool: ThreadPoolExecutor,
        lease: float,
        written: Written,
    ) -> None:
        self.name = name
        self.nc = nc
        self.js = js
        self.records = records
        self.runner = runner
        self.pool = pool
        self.lease = lease
        self.written = written  # final records whose callbacks are queued
        self.aborts: dict[str, threading.Event] = {}
        self.cancelled: set[str] = set()
        self.cleanups: set[asyncio.Future[None]] = set()

    def cancel(self, call_id: str) -> None:
        """Stop a call's container if it runs here."""
        if call_id in self.aborts:
            self.cancelled.add(call_id)
            self.aborts[call_id].set()

    def abort_all(self) -> None:
        for event in self.aborts.values():
            event.set()

    async def serve_sync(self, call: CallRequest) -> None:
        # A call over before STARTED_AFTER sends its result alone: one message fewer.
        says_started = asyncio.get_running_loop().call_later(STARTED_AFTER, self._say_started, call)
        started = now()
        try:
            result = await self._run(call)
        finally:
            says_started.cancel()
        await asyncio.shield(self.nc.publish(call.reply_to, pack(result)))
        # nats-py writes when this task yields: the answer goes out before the bookkeeping
        await asyncio.sleep(0)
        log.info(
            "call %s (%s): %s in %.3fs",
            call.call_id,
            call.function,
            result.outcome,
            result.duration,
        )
        record = CallRecord(
            call.call_id,
            call.function,
            kind=CallKind.SYNC,
            attempts=1,
            startedAt=started,
            createdAt=call.created_at or started,  # when the gateway made it
            request=request_record(call),  # so the dashboard can retry and reproduce it
        )
        entry = attempt_of(call, result, taken_at=started)
        await self._store(finish(record, result, RetryPolicy(attempts=1), False, entry))
        await stderrlog.publish(self.nc, call, result, self.name)

    def _say_started(self, call: CallRequest) -> None:
        started = pack(CallStarted(call.call_id, self.name))
        task = asyncio.ensure_future(self.nc.publish(call.reply_to, started))
        self.cleanups.add(task)
        task.add_done_callback(self.cleanups.discard)

    async def serve_async(self, call: CallRequest, msg: Msg) -> None:
        delivery = msg.metadata.num_delivered or 1
        attempt = await Attempt.take(self.records, call, self.name, delivery)
        await attempt.settle()
        if not attempt.runs:
            await msg.ack()  # cancelled while queued, or a job taken again
            return
        live = self._live(call)
        # renewed until its end is written, which may wait out a NATS failover
        renewal = asyncio.create_task(_keep_lease(msg, self.lease / 3))
        try:
            try:
                result = await self._run(call, live)
            finally:
                if live is not None:  # all of its lines are stored before its record is final
                    await asyncio.shield(live.close())
            await asyncio.shield(self._conclude(call, msg, result, attempt))
        finally:
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)
        if live is None:  # a job's stderr went out as it came
            await stderrlog.publish(self.nc, call, result, self.name)  # each attempt's stderr

    def _live(self, call: CallRequest) -> LiveOutput | None:
        """A job's output is published while it runs; a function's stderr once it ends."""
        if call.kind != CallKind.JOB:
            return None
        live = LiveOutput(call, self.name, self._publish_lines)
        live.start()
        return live

    async def _publish_lines(self, batch: LogBatch) -> None:
        """Acknowledged: once the job ends, every line of it is in the stream."""
        await self.js.publish(bus.logs_subject(batch.function), pack(batch))

    async def _conclude(
        self, call: CallRequest, msg: Msg, result: CallResult, attempt: Attempt
    ) -> None:
        policy = policy_of(call)
        cancelled = call.call_id in self.cancelled
        self.cancelled.discard(call.call_id)
        try:
            await self._end(call, msg, result, attempt, policy, cancelled)
        except Superseded as exc:  # its lease lapsed, or an earlier delivery ended the call
            log.warning(
                "call %s (%s): this attempt's result is dropped: %s (by watchdog %s)",
                call.call_id,
                call.function,
                exc,
                exc.record.watchdog,
            )
            if exc.done:  # its record and callback were stored by the attempt that ended it
                await msg.ack()

    async def _end(
        self,
        call: CallRequest,
        msg: Msg,
        result: CallResult,
        attempt: Attempt,
        policy: RetryPolicy,
        cancelled: bool,
    ) -> None:
        entry = attempt_of(call, result, attempt.taken_at)
        if not cancelled and policy.retries(result.status, attempt.record.attempts):
            delay = policy.backoff(attempt.record.attempts)
            await attempt.end(lambda r: retrying(r, result, delay, entry))
            log.info(
                "call %s (%s): %s, retry in %.1fs",
                call.call_id,
                call.function,
                result.outcome,
                delay,
            )
            await msg.nak(delay=delay)
            return
        calls_back = bool(call.callback_url) and not cancelled
        if calls_back:
            # queued before the record is final: a final record always has its callback
            await failover.outlast(lambda: attempt.check(self.lease))
            await failover.outlast(lambda: self._queue_callback(call, result, attempt.key))
        record = await attempt.end(lambda r: finish(r, result, policy, cancelled, entry))
        if calls_back:  # the callback's note on the record starts from this write
            self.written.put(attempt.key, attempt.held)
        log.info(
            "call %s (%s): %s after %d attempt(s)",
            call.call_id,
            call.function,
            record.state,
            record.attempts,
        )
        await msg.ack()

    async def _queue_callback(self, call: CallRequest, result: CallResult, key: str) -> None:
        """One callback per call: a second one (a rerun's) is dropped by JetStream."""
        job = CallbackJob(
            call_id=call.call_id,
            function=call.function,
            url=call.callback_url,
            status=result.status,
            record_key=key,
            body=result.body if result.outcome is Outcome.OK else result.failure_text(),
            content_type=result.content_type or "text/plain",
            duration=result.duration,
            exit_code=result.exit_code,
        )
        await publish_once(self.js, bus.CALLBACK_SUBJECT, pack(job), call.call_id)

    async def _run(self, call: CallRequest, live: LiveOutput | None = None) -> CallResult:
        """Run the call, in a thread of the pool if the runner blocks; its container's removal
        happens after, off the reply's path."""
        aborted = self.aborts[call.call_id] = threading.Event()
        loop = asyncio.get_running_loop()
        tap = live.write if live is not None else None
        try:
            if self.runner.blocking:
                result, container_id = await asyncio.shield(
                    loop.run_in_executor(self.pool, self.runner.run, call, aborted, tap)
                )
            else:  # it answers at once: no thread to hop to and back
                result, container_id = self.runner.run(call, aborted, tap)
        finally:
            del self.aborts[call.call_id]
        if container_id:
            self._remove_later(container_id)
        return result

    async def _store(self, record: CallRecord) -> None:
        try:
            await self.records.put_volatile(record)
        except Exception:
            log.exception("cannot record call %s", record.callId)

    def _remove_later(self, container_id: str) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(
            loop.run_in_executor(self.pool, self.runner.remove, container_id)
        )
        self.cleanups.add(task)
        task.add_done_callback(self.cleanups.discard)

    async def wait_cleanups(self) -> None:
        if self.cleanups:
            await asyncio.wait(list(self.cleanups))


async def _keep_lease(msg: Msg, every: float) -> None:
    """Tell JetStream the call is alive, so it is not handed to another watchdog."""
    while True:
        await asyncio.sleep(every)
        with contextlib.suppress(Exception):
            await msg.in_progress()
