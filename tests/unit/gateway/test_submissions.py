"""Submissions on a real nats-server: a new call's one durable write, and its record."""

from __future__ import annotations

import asyncio
import math

import nats

from faas import bus, layout
from faas.layout import Layout
from faas.records import CallRecord, CallState, RecordStore
from faas.wire import CallKind, CallRequest, RunSpec, unpack
from gateway.submissions import Submissions


def call(call_id: str) -> CallRequest:
    return CallRequest(
        call_id, "echo", RunSpec(image="img"), kind=CallKind.ASYNC, start_by=math.inf
    )


def test_a_new_call_is_queued_then_recorded_and_read_back(nats_url: str) -> None:
    async def main() -> None:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await layout.ensure(js, Layout(nc.max_payload, 60.0))
            records = await RecordStore.open(nc, 3600.0)
            idempotency = await layout.bucket(js, bus.IDEMPOTENCY_BUCKET, 60.0)
            submissions = Submissions(nc, js, records, idempotency)
            sub = await js.pull_subscribe_bind(bus.ASYNC_CONSUMER, bus.ASYNC_STREAM)

            await submissions.accept_new(new := call("n1"), capped=False)
            [msg] = await sub.fetch(1, timeout=5)  # on disk when accept_new returns
            queued = unpack(msg.data, CallRequest)
            assert (queued.call_id, queued.created_at) == ("n1", new.created_at)
            await msg.ack()
            await submissions.settled("n1")
            record = await records.get("n1")
            assert (record.state, record.createdAt) == (CallState.QUEUED, new.created_at)
            assert "n1" not in submissions.pending

            # a watchdog that took the call before its record was written keeps its own
            taken = call("n2")
            await submissions.accept_new(taken, capped=False)
            running = CallRecord("n2", "echo", state=CallState.RUNNING, createdAt=taken.created_at)
            await records.put(running)
            await submissions.all_settled()
            assert (await records.get("n2")).state is CallState.RUNNING
        finally:
            await nc.close()

    asyncio.run(main())
