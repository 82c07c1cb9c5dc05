"""One attempt of an async call or job, and its record written as few times as it may be.

The record says the call runs once that is worth saying: at once for a job (run at most
once, so its start must be on record before it starts), after RUNNING_AFTER for a function.
An async call over sooner goes from queued to its end in one write, from the revision read
when it was taken.

An attempt whose lease lapsed (its watchdog cut off, or stalled) may still end, after the
call went to another watchdog: its end is then dropped, so that the call has one result,
one success on record and one callback.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable

from faas import failover
from faas.records import CallNotFound, CallRecord, CallState, Held, RecordStore, now
from faas.wire import CallKind, CallRequest
from watchdog.callrecords import begun, key_of, new_record

log = logging.getLogger(__name__)

RUNNING_AFTER = 0.2  # seconds into an async call before its record says it runs
UNSUPERSEDED_FOR = 2.0  # seconds a first delivery surely is the only attempt, at most


class Superseded(Exception):
    """Another attempt of the call has begun since this one, or has ended the call."""

    def __init__(self, record: CallRecord) -> None:
        self.record = record
        super().__init__(f"attempt {record.attempts} of call {record.callId} is {record.state}")

    @property
    def done(self) -> bool:
        """Whether the call has ended: its message is then to be acknowledged."""
        return self.record.state.final


class Attempt:
    def __init__(
        self,
        records: RecordStore,
        key: str,
        held: Held,
        start: Callable[[CallRecord], CallRecord],
        stored: bool,
        eager: bool,
        taken_at: str,
        delivery: int = 1,
    ) -> None:
        self.records = records
        self.key = key
        self.held = held  # the record as last read or written
        self.start = start
        self.stored = stored  # whether `held` is the started record
        self.eager = eager  # its start is stored before it runs
        self.taken_at = taken_at  # when this watchdog took the call, for its attempt log
        self.delivery = delivery  # of the call's message: 1 when no attempt came before
        self.began = time.monotonic()
        self.record = held.record if stored else start(held.record)
        self._timer: asyncio.TimerHandle | None = None
        self._writing: asyncio.Task[None] | None = None

    @classmethod
    async def take(
        cls, records: RecordStore, call: CallRequest, watchdog: str, delivery: int = 1
    ) -> Attempt:
        """The attempt of a call just taken, on its `delivery`; its record is read, nothing
        written yet (unless it had none: expired, or from a gateway that wrote none)."""
        at = now()
        start = functools.partial(begun, call=call, watchdog=watchdog, at=at, delivery=delivery)
        eager = call.kind == CallKind.JOB
        try:
            key = key_of(call)
            return cls(records, key, await records.read(key), start, False, eager, at, delivery)
        except CallNotFound:
            held = await records.put(start(new_record(call)))
            return cls(records, held.record.key, held, start, True, eager, at, delivery)

    @property
    def runs(self) -> bool:
        """False when the call is not to run: cancelled while queued, or a job run before."""
        return self.record.state is CallState.RUNNING

    async def settle(self) -> None:
        """Before the call runs, or instead: a job's start, or why it does not run."""
        if self.stored or self.record == self.held.record:
            return  # on record already, or cancelled while queued
        if self.runs and not self.eager:
            self._timer = asyncio.get_running_loop().call_later(RUNNING_AFTER, self._later)
            return
        await self._store()

    def _later(self) -> None:
        self._writing = asyncio.create_task(self._store())

    async def _store(self) -> None:
        try:
            self.held = await self.records.revise(
                self.key, self._unless_superseded(self.start), self.held
            )
        except Superseded as exc:
            log.warning("the start of call %s is not recorded: %s", self.record.callId, exc)
            return
        except Exception:  # its end is written all the same
            log.exception("cannot record the start of call %s", self.record.callId)
            return
        self.record, self.stored = self.held.record, True

    async def check(self, lease: float) -> None:
        """Superseded if, as the record reads now, another attempt has the call. A first
        delivery taken just now needs no read: no attempt came before it, and JetStream hands
        the call to another watchdog only once its `lease` has lapsed."""
        if self.delivery == 1 and time.monotonic() - self.began < min(lease / 2, UNSUPERSEDED_FOR):
            return
        self._unless_superseded(lambda record: record)((await self.records.read(self.key)).record)

    def _unless_superseded(
        self, change: Callable[[CallRecord], CallRecord]
    ) -> Callable[[CallRecord], CallRecord]:
        """`change`, unless the record read shows a later attempt begun or the call ended."""
        mine = self.record.attempts

        def step(record: CallRecord) -> CallRecord:
            if record.attempts > mine or (
                record.state.final and record.state is not CallState.CANCELLED
            ):
                raise Superseded(record)
            return change(record)

        return step

    def _ended_in(self, record: CallRecord) -> bool:
        """Whether the record has this attempt's end already: a write that timed out, and
        was tried again, had landed."""
        last = record.attemptLog[-1] if record.attemptLog else None
        mine = self.record.attempts
        return last is not None and (last.attempt, last.takenAt) == (mine, self.taken_at)

    async def end(self, change: Callable[[CallRecord], CallRecord]) -> CallRecord:
        """Write the attempt's end (with its start, if that is not stored yet); Superseded,
        writing nothing, when a later attempt has begun or another has ended the call."""
        if self._timer is not None:
            self._timer.cancel()
        if self._writing is not None:
            await asyncio.shield(self._writing)
        guarded = self._unless_superseded(
            lambda record: change(record if self.stored else self.start(record))
        )

        def step(record: CallRecord) -> CallRecord:
            return record if self._ended_in(record) else guarded(record)

        # tried again through a failover: a call whose end cannot be written is run again
        self.held = await failover.outlast(lambda: self.records.revise(self.key, step, self.held))
        self.record, self.stored = self.held.record, True
        return self.record
