"""Submissions on a real nats-server: a new call's one durable write, its record, retries."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import replace

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError

from faas import bus, layout
from faas.jobspec import JOB_FUNCTION
from faas.layout import Layout
from faas.records import (
    MAX_TEXT,
    CallRecord,
    CallState,
    RecordStore,
    RequestRecord,
    now,
    stamped_id,
)
from faas.spec import FunctionSpec
from faas.wire import CallKind, CallRequest, RunSpec, unpack
from gateway.errors import BodyTooLarge, Conflict, FunctionNotFound
from gateway.kvcache import BucketCache
from gateway.registry import Registry
from gateway.submissions import Submissions, retry_call

MAX_BODY = 2 * MAX_TEXT
HOOK = "http://hook.test/done"


def call(call_id: str) -> CallRequest:
    return CallRequest(
        call_id, "echo", RunSpec(image="img"), kind=CallKind.ASYNC, start_by=math.inf
    )


def spec(name: str, **body: object) -> FunctionSpec:
    return FunctionSpec.from_deployment({"service": name, "image": "img", **body})


@contextlib.asynccontextmanager
async def opened(nats_url: str) -> AsyncIterator[tuple[Submissions, JetStreamContext]]:
    """Submissions with their buckets and streams on the server; a registry of its own."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await layout.ensure(js, Layout(nc.max_payload, 60.0))
        records = await RecordStore.open(nc, 3600.0)
        idempotency = await layout.bucket(js, bus.IDEMPOTENCY_BUCKET, 60.0)
        functions = BucketCache(await layout.bucket(js, bus.FUNCTIONS_BUCKET), "functions")
        yield Submissions(nc, js, records, idempotency, Registry(functions), MAX_BODY), js
    finally:
        await nc.close()


async def queued(js: JetStreamContext, function: str) -> CallRequest:
    """The last call queued for the function, as a watchdog would take it."""
    msg = await js.get_last_msg(bus.ASYNC_STREAM, bus.async_subject(function))
    assert msg.data is not None
    return unpack(msg.data, CallRequest)


def test_a_new_call_is_queued_then_recorded_and_read_back(nats_url: str) -> None:
    async def main() -> None:
        async with opened(nats_url) as (submissions, js):
            records = submissions.records
            sub = await js.pull_subscribe_bind(bus.ASYNC_CONSUMER, bus.ASYNC_STREAM)

            accepted = await submissions.accept_new(new := call("n1"), capped=False)
            [msg] = await sub.fetch(1, timeout=5)  # on disk when accept_new returns
            taken = unpack(msg.data, CallRequest)
            assert (taken.call_id, taken.created_at) == ("n1", new.created_at)
            await msg.ack()
            await submissions.settled("n1")
            record = await records.get("n1")
            assert (record.state, record.createdAt) == (CallState.QUEUED, new.created_at)
            assert record == accepted
            assert record.request == RequestRecord("POST", "/", "", [], "", 0, True)
            assert "n1" not in submissions.pending

            # a watchdog that took the call before its record was written keeps its own
            taken = call("n2")
            await submissions.accept_new(taken, capped=False)
            running = CallRecord("n2", "echo", state=CallState.RUNNING, createdAt=taken.created_at)
            await records.put(running)
            await submissions.all_settled()
            assert (await records.get("n2")).state is CallState.RUNNING

    asyncio.run(main())


def test_a_call_the_gateway_named_sent_again_at_once_is_the_first_one(nats_url: str) -> None:
    async def main() -> None:
        async with opened(nats_url) as (submissions, _):
            created = now()
            first = call(stamped_id(created))
            first.created_at = created
            accepted = await submissions.accept_new(first, capped=False)
            again = call(first.call_id)  # its X-Call-Id, sent back before its record is written
            again.created_at = now()
            assert await submissions.accept(again, capped=False) == accepted
            listed = [r.callId for r in await submissions.records.recent("echo", 1000)]
            assert listed.count(first.call_id) == 1
            index = await layout.bucket(submissions.js, bus.CALL_INDEX_BUCKET)
            with pytest.raises(KeyNotFoundError):  # its record was one write
                await index.get(first.call_id)

    asyncio.run(main())


def first_call(function: str, body: bytes, **fields: object) -> CallRequest:
    headers = [
        ("content-type", "text/plain"),
        ("content-length", str(len(body))),
        ("authorization", "Basic YWRtaW46cHc="),
        ("x-trace", "t1"),
    ]
    first = CallRequest(
        f"first-{function}",
        function,
        RunSpec(image="img"),
        method="PUT",
        path="/items/3",
        query="a=1",
        headers=headers,
        body=body,
        kind=CallKind.ASYNC,
        callback_url=HOOK,
        start_by=math.inf,
    )
    for name, value in fields.items():
        setattr(first, name, value)
    return first


def test_a_retry_is_a_new_call_with_the_same_request_linked_to_the_first(nats_url: str) -> None:
    async def main() -> None:
        async with opened(nats_url) as (submissions, js):
            await submissions.registry.deploy(spec("same"))
            first = await submissions.accept(first_call("same", b"hello"), capped=False)
            retried = await submissions.retry(first)
            assert retried.callId != first.callId
            assert retried.retryOf == first.callId
            assert (retried.state, retried.kind) == (CallState.QUEUED, CallKind.ASYNC)
            assert retried.callbackUrl == HOOK
            assert retried.request == first.request
            assert await submissions.records.get(retried.callId) == retried
            again = await queued(js, "same")
            assert again.call_id == retried.callId
            assert (again.method, again.path, again.query, again.body) == (
                "PUT",
                "/items/3",
                "a=1",
                b"hello",
            )
            assert again.headers == [
                ("content-type", "text/plain"),
                ("content-length", "5"),
                ("x-trace", "t1"),
            ]
            assert (again.callback_url, again.kind, again.created_at) == (
                HOOK,
                CallKind.ASYNC,
                retried.createdAt,
            )
            # the first is left as it is, and can be retried again
            assert (await submissions.records.get(first.callId)).retryOf is None
            assert (await submissions.retry(first)).callId != retried.callId

    asyncio.run(main())


def test_a_retry_with_an_edited_body_says_its_length(nats_url: str) -> None:
    async def main() -> None:
        async with opened(nats_url) as (submissions, js):
            await submissions.registry.deploy(spec("edited"))
            first = await submissions.accept(first_call("edited", b"hello"), capped=False)
            retried = await submissions.retry(first, b"a longer body")
            again = await queued(js, "edited")
            assert again.body == b"a longer body"
            assert ("content-length", "13") in again.headers
            assert retried.request is not None
            assert base64.b64decode(retried.request.body) == b"a longer body"
            assert retried.request.bodyBytes == 13

    asyncio.run(main())


def test_a_retry_runs_with_the_function_s_spec_and_policy_as_they_are_now(
    nats_url: str,
) -> None:
    async def main() -> None:
        async with opened(nats_url) as (submissions, js):
            await submissions.registry.deploy(spec("moved", image="old"))
            first = await submissions.accept(first_call("moved", b""), capped=False)
            policy = {"com.openfaas.retry.attempts": "5"}
            await submissions.registry.deploy(spec("moved", image="new", annotations=policy))
            retried = await submissions.retry(first)
            again = await queued(js, "moved")
            assert (again.run.image, again.max_attempts, retried.maxAttempts) == ("new", 5, 5)

    asyncio.run(main())


def test_what_cannot_be_retried_says_why(nats_url: str) -> None:
    async def main() -> None:
        async with opened(nats_url) as (submissions, _):
            await submissions.registry.deploy(spec("big"))
            big = await submissions.accept(
                first_call("big", b"x" * (MAX_TEXT + 1), call_id="big-1"), capped=False
            )
            with pytest.raises(Conflict, match=r"call big-1 \(65537 bytes\) was not kept"):
                await submissions.retry(big)
            assert (await submissions.retry(big, b"smaller")).retryOf == "big-1"
            with pytest.raises(BodyTooLarge):
                await submissions.retry(big, b"x" * (MAX_BODY + 1))

            job = CallRecord("job-1", JOB_FUNCTION, kind=CallKind.JOB)
            with pytest.raises(Conflict, match="one-shot job"):
                await submissions.retry(job)
            old = CallRecord("old-1", "big", request=None)
            with pytest.raises(Conflict, match="no request on record"):
                await submissions.retry(old)
            gone = replace(big, function="gone")
            with pytest.raises(FunctionNotFound, match="'gone'"):
                await submissions.retry(gone)

    asyncio.run(main())


def test_a_retry_call_is_async_whatever_the_first_was() -> None:
    first = CallRecord(
        "s1", "echo", kind=CallKind.SYNC, request=RequestRecord("GET", "/", "q=1", [], "", 0)
    )
    again = retry_call(first, spec("echo"), None, MAX_BODY)
    assert (again.kind, again.method, again.query) == (CallKind.ASYNC, "GET", "q=1")
    assert again.body == b""
    assert (again.start_by, again.callback_url, again.reply_to) == (math.inf, "", "")
    assert again.call_id != "s1"
