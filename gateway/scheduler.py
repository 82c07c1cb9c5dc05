"""Fire scheduled functions, once per tick, from every gateway at once.

There is no leader. Every gateway fires every tick, under a call id made from the function
and the tick's time. The first to claim that id (the atomic create of its record's index
entry) decides the tick: run or skip. The others find the decision and change nothing, and
JetStream's message-id deduplication drops their copies of the queued call. A leader would
have to be elected, and a tick falling while leadership moves is run twice or not at all;
here a gateway killed mid-tick costs nothing while one other gateway runs. The price is a
record lookup per tick per gateway, and a look in the functions bucket itself: a gateway's
copy of it can lag for seconds after a NATS server's loss, and a function removed must not
fire from a gateway that has not heard yet.

What one gateway remembers: for each function, the last tick it considered (`cursor`).
What all share, in the `faas_schedules` bucket: each function's last tick and the call id
of its last run, for overlap policies and for ticks missed while every gateway was down;
and whether its schedule is paused (gateway.pauses).

A paused schedule's ticks are not decided: no gateway claims them, so none is run or
recorded. A tick a gateway claimed before the pause was stored still runs. Resuming skips
the ticks that fell during the pause, whatever the `missed` policy (which is for ticks
nobody was there to fire): resuming is not asking for the runs one paused to avoid.
A run asked for by hand (`run_now`) is a call of its own, outside the ticks: it has a
fresh id, decides no tick, and runs whether the schedule is paused or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from dataclasses import replace
from typing import Any

import nats.errors
import nats.js.errors
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from faas import rfc3339
from faas.callrequests import request_record
from faas.errors import SpecError
from faas.inflight import create_first
from faas.records import CallNotFound, CallRecord, CallState, RecordStore, now
from faas.schedule import Missed, Overlap, Schedule
from faas.spec import FunctionSpec
from faas.wire import CallRequest
from gateway.errors import FunctionNotFound, NotScheduled
from gateway.pauses import Pauses
from gateway.registry import Registry
from gateway.schedulestatus import ScheduleDetail, ScheduleStatus, TickRun, status
from gateway.submissions import Submissions, async_call
from gateway.ticks import TICK_HEADER, LastTick, iso, tick_call_id

log = logging.getLogger(__name__)

MAX_SLEEP = 1.0  # how soon a new or changed schedule is noticed
RECENT = 3  # ticks after the last stored one whose runs overlap policies check
# to fire one tick, a second apart, before it is lost: a NATS cluster that lost a server takes
# seconds to elect its streams' new leaders (5 s seen in a test), and a tick waits that out
TRIES = 30
TICKS_SHOWN = 20  # the latest ticks a schedule's detail looks up


class Scheduler:
    def __init__(
        self,
        registry: Registry,
        submissions: Submissions,
        records: RecordStore,
        state: KeyValue,
        dedup_window: float,
        max_output: int,
    ) -> None:
        self.registry = registry
        self.submissions = submissions
        self.records = records
        self.state = state  # the faas_schedules bucket
        self.pauses = Pauses(state)
        self.dedup_window = dedup_window
        self.max_output = max_output
        self.cursors: dict[str, float] = {}
        self._parsed: dict[str, tuple[FunctionSpec, Schedule | None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._firing: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}  # one function's ticks, one at a time

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._firing) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def scheduled(self) -> list[tuple[FunctionSpec, Schedule]]:
        """Every deployed function that has a schedule; each spec is parsed once."""
        found = []
        for name in self.registry.names():
            try:
                spec = self.registry.get(name)
            except (FunctionNotFound, SpecError):  # removed meanwhile, or stored unreadable
                continue
            schedule = self._parse(spec)
            if schedule is not None:
                found.append((spec, schedule))
        return found

    def schedule_of(self, name: str) -> tuple[FunctionSpec, Schedule]:
        """The function and its schedule; FunctionNotFound, or NotScheduled."""
        spec = self.registry.get(name)
        schedule = self._parse(spec)
        if schedule is None:
            raise NotScheduled(name)
        return spec, schedule

    def _parse(self, spec: FunctionSpec) -> Schedule | None:
        parsed = self._parsed.get(spec.name)
        if parsed is None or parsed[0] is not spec:
            parsed = spec, _schedule(spec)
            self._parsed[spec.name] = parsed
        return parsed[1]

    async def forget(self, function: str) -> None:
        """Drop a removed function's last tick and pause: deployed again, it starts afresh.
        After a tick being fired here, which decided to run before the removal and would
        note itself as the last one after the drop."""
        async with self._locks.setdefault(function, asyncio.Lock()):
            with contextlib.suppress(KeyNotFoundError):
                await self.state.delete(function)
            await self.pauses.resume(function)

    async def last(self, function: str) -> LastTick | None:
        try:
            entry = await self.state.get(function)
        except KeyNotFoundError:
            return None
        return LastTick.loads(entry.value) if entry.value else None

    # What the API and the dashboard ask of schedules

    async def statuses(self) -> list[ScheduleStatus]:
        """Every scheduled function's row, by name."""
        at = time.time()
        rows = (self._status(spec, schedule, at) for spec, schedule in self.scheduled())
        return list(await asyncio.gather(*rows))

    async def status(self, name: str) -> ScheduleStatus:
        spec, schedule = self.schedule_of(name)
        return await self._status(spec, schedule, time.time())

    async def _status(self, spec: FunctionSpec, schedule: Schedule, at: float) -> ScheduleStatus:
        last = await self.last(spec.name)
        return status(spec, schedule, last, await self.pauses.paused_at(spec.name), at)

    async def detail(self, name: str) -> ScheduleDetail:
        """The row, with the latest TICKS_SHOWN ticks that have a record, newest first."""
        spec, schedule = self.schedule_of(name)
        at = time.time()
        row = await self._status(spec, schedule, at)
        ticks = schedule.ticks_between(0.0, at, TICKS_SHOWN)[::-1]
        found = await asyncio.gather(*(self._tick_run(name, tick) for tick in ticks))
        return ScheduleDetail(**vars(row), ticks=[t for t in found if t is not None])

    async def _tick_run(self, function: str, tick: float) -> TickRun | None:
        call_id = tick_call_id(function, tick)
        try:
            record = await self.records.get(call_id)
        except CallNotFound:  # not fired (paused, no gateway up, not yet deployed) or expired
            return None
        if record.function != function:  # the id taken by another call
            return None
        return TickRun(iso(tick), call_id, record.state)

    async def pause(self, name: str) -> ScheduleStatus:
        """Stop the function's ticks, on every gateway, until it is resumed."""
        self.schedule_of(name)
        await self.pauses.pause(name)
        log.info("%s: schedule paused", name)
        return await self.status(name)

    async def resume(self, name: str) -> ScheduleStatus:
        """Fire the function's ticks again from the next one; those of the pause are skipped."""
        _, schedule = self.schedule_of(name)
        if await self.pauses.paused_at(name) is not None:
            # stored as handled, so that no gateway catches them up after a restart either
            during = schedule.ticks_between(0.0, time.time(), 1)
            if during:
                await self._advance(name, during[-1], None)
            await self.pauses.resume(name)
            log.info("%s: schedule resumed", name)
        return await self.status(name)

    async def run_now(self, name: str) -> CallRecord:
        """One call of the function now, as a tick's but outside the ticks: its record."""
        spec, schedule = self.schedule_of(name)
        call = async_call(spec, uuid.uuid4().hex, b"", schedule.callback_url, self.max_output)
        record = await self.submissions.accept_new(call, spec.max_concurrency is not None)
        log.info("%s: run now as call %s", name, call.call_id)
        return record

    # Firing ticks

    async def _loop(self) -> None:
        while True:
            try:
                wake = self._step(time.time())
            except Exception:  # a bad stored spec must not stop every schedule
                log.exception("scheduler step failed")
                wake = time.time() + MAX_SLEEP
            await asyncio.sleep(max(0.0, min(wake, time.time() + MAX_SLEEP) - time.time()))

    def _step(self, at: float) -> float:
        """Fire what is due at `at`; return when to look again."""
        wake = math.inf
        seen = set()
        for spec, schedule in self.scheduled():
            seen.add(spec.name)
            cursor = self.cursors.get(spec.name)
            self.cursors[spec.name] = at
            if cursor is None:  # just started, or just deployed
                self._spawn(self._recover(spec, schedule, at))
            else:
                # more than one tick due: this gateway stalled, and missed the earlier ones
                limit = 1 + (schedule.catch_up_limit if schedule.missed is Missed.CATCH_UP else 0)
                for tick in schedule.ticks_between(cursor, at, limit):
                    self._spawn(self.fire(spec, schedule, tick))
            wake = min(wake, schedule.next_after(at))
        for gone in set(self.cursors) - seen:
            del self.cursors[gone]
            self._parsed.pop(gone, None)
            self._locks.pop(gone, None)
        return wake

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._firing.add(task)
        task.add_done_callback(self._firing.discard)

    async def _recover(self, spec: FunctionSpec, schedule: Schedule, at: float) -> None:
        """Ticks that passed while no gateway ran: skip them, or fire the last few."""
        try:
            last = await self.last(spec.name)
        except (nats.errors.Error, nats.js.errors.Error) as exc:
            log.warning("%s: missed ticks not looked for: %s", spec.name, exc)
            return
        if last is None:
            return
        if schedule.missed is Missed.SKIP:
            if schedule.ticks_between(last.tick, at, 1):
                log.info("%s: skipping the ticks missed since %s", spec.name, iso(last.tick))
            return
        missed = schedule.ticks_between(last.tick, at, schedule.catch_up_limit)
        log.info("%s: catching up %d missed tick(s)", spec.name, len(missed))
        for tick in missed:
            await self.fire(spec, schedule, tick)

    async def fire(self, spec: FunctionSpec, schedule: Schedule, tick: float) -> None:
        """Run (or skip) the function's tick, unless another gateway decided it already."""
        call = self._call(spec, schedule, tick)
        lock = self._locks.setdefault(spec.name, asyncio.Lock())
        decided: CallRecord | None = None  # the tick's record; None when it is not to run
        known = False  # whether it is decided: queued, skipped, or not to run
        for attempt in range(TRIES):
            try:
                async with lock:  # FIFO: ticks in order, each decided after the one before
                    if not known:
                        decided, known = await self._decide(spec, schedule, tick, call), True
                    if decided is not None:
                        await self._advance(spec.name, tick, _run(decided))
                return
            except (nats.errors.Error, nats.js.errors.Error, OSError) as exc:
                log.warning(
                    "%s: tick %s not fired (%s), attempt %d", spec.name, iso(tick), exc, attempt + 1
                )
                await asyncio.sleep(1.0)
        log.error("%s: tick %s lost: not fired after %d attempts", spec.name, iso(tick), TRIES)
        if not known:
            await self._give_up(call, f"not run: the tick could not be queued in {TRIES} attempts")

    async def _give_up(self, call: CallRequest, message: str) -> None:
        """A lost tick's record, if one was stored before its queueing failed, says it failed:
        it never ran and never will (a copy queued after all finds it final, and does not
        run), rather than reading queued forever."""

        def change(record: CallRecord) -> CallRecord:
            if not record.unstarted:
                return record
            return replace(record, state=CallState.FAILED, finishedAt=now(), message=message)

        try:
            found = await self.records.get(call.call_id)
            await self.records.update(found.key, change)
        except CallNotFound:
            return
        except (nats.errors.Error, nats.js.errors.Error, OSError) as exc:
            log.warning(
                "%s: the record of lost call %s not updated: %s", call.function, call.call_id, exc
            )

    async def _decide(
        self, spec: FunctionSpec, schedule: Schedule, tick: float, call: CallRequest
    ) -> CallRecord | None:
        """Queue the tick's call, or skip it; its record, or None when nothing is stored."""
        if not await self.registry.deployed(spec.name):
            return None  # removed since the tick came, maybe not yet in this gateway's copy
        capped = spec.max_concurrency is not None
        with contextlib.suppress(CallNotFound):
            decided = await self.records.get(call.call_id)
            if decided.function != spec.name:
                log.error("%s: tick %s not run: its call id is taken", spec.name, iso(tick))
                return None
            if self._maybe_lost(decided):  # its first gateway may have stopped before queuing
                await self.submissions.accept(call, capped)  # JetStream drops it if it was queued
            return decided
        if await self.pauses.paused_at(spec.name) is not None:
            return None  # neither run nor recorded; resuming skips it
        running = await self._running(spec.name, schedule, tick)
        if running is not None and schedule.overlap is Overlap.FORBID:
            return await self._skip(call, running)
        if running is not None:  # Overlap.REPLACE
            await self.submissions.cancel(running, f"replaced by the tick of {iso(tick)}")
        return await self.submissions.accept(call, capped)

    def _maybe_lost(self, record: CallRecord) -> bool:
        """Never started, and recent enough for JetStream to drop a second copy."""
        if not record.unstarted:
            return False
        created = rfc3339.parse(record.createdAt).timestamp()
        return time.time() - created < self.dedup_window / 2

    def _call(self, spec: FunctionSpec, schedule: Schedule, tick: float) -> CallRequest:
        call_id = tick_call_id(spec.name, tick)
        call = async_call(spec, call_id, b"", schedule.callback_url, self.max_output)
        call.headers = [(TICK_HEADER, iso(tick))]
        return call

    async def _running(self, function: str, schedule: Schedule, tick: float) -> CallRecord | None:
        """A scheduled run of the function that has not finished (when the policy cares).

        The last run stored, and the runs of any ticks after the stored one: a gateway may
        have queued those and not yet stored them.
        """
        if schedule.overlap is Overlap.ALLOW:
            return None
        last = await self.last(function)
        if last is None:
            return None
        since = schedule.ticks_between(last.tick, tick - 0.001, RECENT)
        candidates = [last.call_id, *(tick_call_id(function, t) for t in since)]
        for call_id in filter(None, candidates):
            try:
                record = await self.records.get(call_id)
            except CallNotFound:
                continue
            if record.function == function and not record.state.final:
                return record
        return None

    async def _skip(self, call: CallRequest, running: CallRecord) -> CallRecord:
        skipped = CallRecord(
            call.call_id,
            call.function,
            state=CallState.SKIPPED,
            finishedAt=now(),
            message=f"skipped: the previous run, {running.callId}, was still {running.state}",
            callbackUrl=call.callback_url or None,  # a retry of it is called back there
            request=request_record(call),  # retrying it runs the tick
        )
        record, new = await self.records.create(skipped)
        if new:
            log.info("%s: %s", call.function, skipped.message)
        return record

    async def _advance(self, function: str, tick: float, run: str | None) -> None:
        """Store the tick as the function's last (unless a later one is), and its run."""
        for _ in range(10):
            try:
                entry = await self.state.get(function)
            except KeyNotFoundError:
                entry = None
            last = LastTick.loads(entry.value) if entry is not None and entry.value else None
            if last is not None and last.tick > tick:
                return
            # a skipped tick keeps the run that is still going: the next tick checks it again
            new = LastTick(tick, run or (last.call_id if last else None))
            if new == last:
                return
            try:
                if entry is None or last is None:
                    await create_first(self.state, function, new.dumps())
                else:
                    await self.state.update(function, new.dumps(), last=entry.revision)
                return
            except KeyWrongLastSequenceError:
                continue


def _run(decided: CallRecord) -> str | None:
    """The call that ran a tick; None for a skipped one."""
    return None if decided.state is CallState.SKIPPED else decided.callId


def _schedule(spec: FunctionSpec) -> Schedule | None:
    try:
        return spec.schedule
    except SpecError as exc:  # stored before this gateway's checks: say so, run the rest
        log.error("%s: not scheduled: %s", spec.name, exc)
        return None
