"""Records of queued async calls, written again after their NATS server lost them.

A queued call's record lives in memory (the queued shelf) until its first change, and its
queued message, on disk, is the call's durable copy. A server restarted alone comes back
without its memory streams. The gateway then makes them again and, from the queue, writes
the record of every call queued before then, so that each is still found and listed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from faas import bus, layout, rfc3339
from faas.errors import WireError
from faas.layout import Layout
from faas.records import RecordStore
from faas.wire import CallRequest, unpack
from gateway.submissions import queued_record

log = logging.getLogger(__name__)


class Recovery:
    """What the gateway does in the background once it is connected, and again after each
    reconnection (its server may have restarted): make what the server lost of the
    platform's streams and buckets, then write the queued calls' lost records."""

    def __init__(self) -> None:
        self._parts: tuple[JetStreamContext, RecordStore, Layout] | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False  # a reconnection came while recovering: once more after

    def start(self, js: JetStreamContext, records: RecordStore, plan: Layout) -> None:
        """Once connected, with the layout made: restore the records lost, if any."""
        self._parts = (js, records, plan)
        self._task = asyncio.create_task(self._recover(made=True), name="recovery")

    def reconnected(self) -> None:
        if self._parts is None:
            return  # before the start, which recovers anyway
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._recover(made=False), name="recovery")

    async def _recover(self, made: bool) -> None:
        assert self._parts is not None
        js, records, plan = self._parts
        while True:
            self._again = False
            try:
                if not made:
                    await layout.ensure(js, plan)
                await restore(js, records)
            except Exception:  # the next reconnection tries again
                log.exception("cannot restore what NATS lost")
            if not self._again:
                return
            made = False

    async def stop(self) -> None:
        task, self._task, self._parts = self._task, None, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def lost_since(js: JetStreamContext) -> datetime | None:
    """When the memory shelf of records was made, if calls queued before then may have lost
    their records; None when none can have (the queue is empty, or newer)."""
    queue = await js.stream_info(bus.ASYNC_STREAM)
    if not queue.state.messages:
        return None
    shelf = await js.stream_info(f"KV_{bus.QUEUED_CALLS_BUCKET}")
    made = getattr(shelf, "created", None)
    first = await _first(js, queue.state.first_seq)
    if not isinstance(made, datetime) or first is None or first >= made:
        return None
    return made


async def restore(js: JetStreamContext, records: RecordStore) -> int:
    """Write the record of every call queued before the memory shelf was made (one kept
    meanwhile is left as it is); how many calls were looked at."""
    made = await lost_since(js)
    if made is None:
        return 0
    last = (await js.stream_info(bus.ASYNC_STREAM)).state.last_seq
    seq, seen = 1, 0
    while seq <= last:
        try:
            msg = await js.get_msg(bus.ASYNC_STREAM, seq, subject="faas.async.>", next=True)
        except NotFoundError:
            break
        stored = _time(msg.time)
        if msg.seq is None or msg.seq > last or (stored is not None and stored >= made):
            break  # queued since: its record was written as it was
        seq = msg.seq + 1
        try:
            call = unpack(msg.data or b"", CallRequest)
        except WireError as exc:
            log.warning("queued message %d skipped: %s", msg.seq, exc)
            continue
        if call.created_at:  # else from a gateway that wrote no record: the watchdog does
            await records.create_queued(queued_record(call))
            seen += 1
    log.info("the records of %d queued call(s) written again: NATS had lost them", seen)
    return seen


async def _first(js: JetStreamContext, seq: int) -> datetime | None:
    try:
        msg = await js.get_msg(bus.ASYNC_STREAM, seq, subject="faas.async.>", next=True)
    except NotFoundError:
        return None
    return _time(msg.time)


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return rfc3339.parse(value)
        except ValueError:
            return None
    return None
