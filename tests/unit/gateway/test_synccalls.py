"""SyncCalls on a real nats-server, with the test as the watchdog: offers, and the queue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from faas import bus, layout
from faas.layout import Layout
from faas.wire import (
    CallBusy,
    CallRequest,
    CallResult,
    CallStarted,
    Outcome,
    RunSpec,
    pack,
    unpack,
)
from gateway.instruments import GatewayMetrics
from gateway.presence import Presence
from gateway.synccalls import OFFER_WAIT, SyncCalls

PREFIX = "_FAAS.reply.test"


def call(call_id: str) -> CallRequest:
    return CallRequest(
        call_id=call_id,
        function="echo",
        run=RunSpec(image="img"),
        body=b"hi",
        reply_to=f"{PREFIX}.{call_id}",
        start_by=time.time() + 5,
    )


def ok(request: CallRequest) -> bytes:
    return pack(CallResult(request.call_id, Outcome.OK, exit_code=0, body=request.body))


Test = Callable[[Client, JetStreamContext, SyncCalls], Awaitable[None]]


def run(url: str, test: Test) -> None:
    async def main() -> None:
        nc = await nats.connect(url)
        js = nc.jetstream()
        try:
            await layout.ensure(js, Layout(nc.max_payload, 60.0))
            await js.purge_stream(bus.SYNC_STREAM)
            calls = SyncCalls(nc, js, Presence(nc, 5.0), PREFIX, GatewayMetrics())
            await calls.start()
            await test(nc, js, calls)
        finally:
            await nc.close()

    asyncio.run(main())


async def queued(js: JetStreamContext) -> int:
    return (await js.stream_info(bus.SYNC_STREAM)).state.messages


def test_an_offer_taken_answers_without_the_queue(nats_url: str) -> None:
    offers: list[CallRequest] = []

    async def test(nc: Client, js: JetStreamContext, calls: SyncCalls) -> None:
        async def watchdog(msg: Msg) -> None:
            offers.append(request := unpack(msg.data, CallRequest))
            await nc.publish(msg.reply, ok(request))  # fast: its result alone

        await nc.subscribe(bus.offer_subject("*"), bus.OFFER_GROUP, cb=watchdog)
        sent = time.time()
        result = await calls.call(call("c1"))
        assert (result.outcome, result.body) == (Outcome.OK, b"hi")
        assert await queued(js) == 0
        assert sent < offers[0].take_by <= time.time() + OFFER_WAIT

    run(nats_url, test)


def test_an_offer_refused_is_queued_and_taken_from_the_queue(nats_url: str) -> None:
    async def test(nc: Client, js: JetStreamContext, calls: SyncCalls) -> None:
        async def busy(msg: Msg) -> None:
            request = unpack(msg.data, CallRequest)
            await nc.publish(msg.reply, pack(CallBusy(request.call_id, "w1")))

        await nc.subscribe(bus.offer_subject("*"), bus.OFFER_GROUP, cb=busy)
        pending = asyncio.create_task(calls.call(call("c2")))
        sub = await js.pull_subscribe_bind(bus.SYNC_CONSUMER, bus.SYNC_STREAM)
        [msg] = await sub.fetch(1, timeout=5)
        request = unpack(msg.data, CallRequest)
        assert (request.call_id, request.take_by) == ("c2", 0.0)  # any watchdog may take it
        await msg.ack()
        await nc.publish(request.reply_to, pack(CallStarted("c2", "w2")))
        await nc.publish(request.reply_to, ok(request))
        result = await pending
        assert (result.outcome, result.body) == (Outcome.OK, b"hi")

    run(nats_url, test)


def test_an_offer_nobody_listens_to_is_queued(nats_url: str) -> None:
    async def test(nc: Client, js: JetStreamContext, calls: SyncCalls) -> None:
        pending = asyncio.create_task(calls.call(call("c3")))
        sub = await js.pull_subscribe_bind(bus.SYNC_CONSUMER, bus.SYNC_STREAM)
        [msg] = await sub.fetch(1, timeout=OFFER_WAIT / 2)  # NATS said: no responders
        request = unpack(msg.data, CallRequest)
        await msg.ack()
        await nc.publish(request.reply_to, ok(request))
        assert (await pending).outcome is Outcome.OK

    run(nats_url, test)


def test_a_started_offer_waits_for_its_result(nats_url: str) -> None:
    async def test(nc: Client, js: JetStreamContext, calls: SyncCalls) -> None:
        taken = asyncio.Event()
        got: list[CallRequest] = []

        async def slow(msg: Msg) -> None:
            got.append(unpack(msg.data, CallRequest))
            await nc.publish(msg.reply, pack(CallStarted(got[0].call_id, "w1")))
            taken.set()

        await nc.subscribe(bus.offer_subject("*"), bus.OFFER_GROUP, cb=slow)
        pending = asyncio.create_task(calls.call(call("c4")))
        await taken.wait()
        await asyncio.sleep(0.1)
        assert not pending.done()
        await nc.publish(got[0].reply_to, ok(got[0]))
        assert (await pending).body == b"hi"
        assert await queued(js) == 0

    run(nats_url, test)


def test_a_call_in_flight_across_a_reconnection_fails_fast(nats_url: str) -> None:
    async def test(nc: Client, js: JetStreamContext, calls: SyncCalls) -> None:
        taken = asyncio.Event()

        async def started(msg: Msg) -> None:
            request = unpack(msg.data, CallRequest)
            await nc.publish(msg.reply, pack(CallStarted(request.call_id, "w1")))
            taken.set()

        await nc.subscribe(bus.offer_subject("*"), bus.OFFER_GROUP, cb=started)
        request = call("c9")
        request.run = RunSpec(image="img", timeout=300.0)
        pending = asyncio.create_task(calls.call(request))
        await taken.wait()
        nc.stats["reconnects"] += 1  # as the client counts one: its answer could be lost
        result = await pending
        assert result.outcome == Outcome.UNAVAILABLE  # 503 now, not after the 300 s timeout
        assert "connection to NATS was lost while the call was in flight" in result.message

    run(nats_url, test)
