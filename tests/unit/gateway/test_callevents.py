"""Unit tests of gateway.routes.callevents: changes of calls as server-sent events, through a
real uvicorn and HTTP client, on a real nats-server; a client gone leaves nothing running."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from faas.records import CallState, RecordStore
from gateway.callfeed import CallChange
from gateway.callindex import CallIndex
from gateway.callsummary import CallSummary
from gateway.errors import HANDLERS
from gateway.routes import callevents
from tests.callrecords import DEADLINE, index_of, record, run
from tests.natsserver import free_port


@contextlib.asynccontextmanager
async def served(index: CallIndex) -> AsyncIterator[str]:
    """The events route on a uvicorn of this loop, as the gateway serves it; yields its URL."""
    app = Starlette(
        routes=[Route("/system/calls/events", callevents.call_events)], exception_handlers=HANDLERS
    )
    app.state.gateway = SimpleNamespace(index=index)
    port = free_port()
    config = uvicorn.Config(app, "127.0.0.1", port, lifespan="off", ws="none", log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}/system/calls/events"
    finally:
        server.should_exit = True
        await serving


async def next_event(lines: AsyncIterator[str]) -> tuple[str, dict[str, object]]:
    """The next event's name and data, past heartbeats."""
    async with asyncio.timeout(DEADLINE):
        name = ""
        async for line in lines:
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                return name, json.loads(line.removeprefix("data: "))
    raise AssertionError("the stream ended")


def test_changes_stream_as_events_until_the_client_goes_away(
    nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(callevents, "HEARTBEAT", 0.05)

    async def body(records: RecordStore) -> None:
        async with index_of(records) as index, served(index) as url:
            await index.table()  # started: what runs now is the baseline
            before = asyncio.all_tasks()
            async with (
                httpx.AsyncClient(timeout=DEADLINE) as client,
                client.stream("GET", url, params={"function": "f"}) as reply,
            ):
                assert reply.status_code == 200
                assert reply.headers["content-type"].startswith("text/event-stream")
                assert reply.headers["cache-control"] == "no-cache"
                lines = reply.aiter_lines()
                assert await anext(lines) == "retry: 3000"
                assert await anext(lines) == ""
                assert await anext(lines) == ": heartbeat"  # idle: the comments keep it open
                await records.put(record(1, "g"))  # not wanted
                await records.put(record(2, "f"))
                assert await next_event(lines) == ("call", _summary_json(2))
                await records.kv.purge(record(2, "f").key)
                name, data = await next_event(lines)
                assert (name, data["callId"]) == ("removed", "c002")
                assert index.subscribers() == 1
            await _until_nothing_runs_but(before, index)

    run(nats_url, body)


def _summary_json(n: int) -> dict[str, object]:
    call = record(n, "f")
    summary = CallSummary(call.key.split(".", 1)[1], "f", "async", CallState.QUEUED)
    return summary.to_json()


async def _until_nothing_runs_but(before: set[asyncio.Task[object]], index: CallIndex) -> None:
    """Once the request's tasks are over and its subscription is gone; fails after DEADLINE."""
    deadline = time.monotonic() + DEADLINE
    while index.subscribers() or asyncio.all_tasks() - before:
        left = [t.get_coro() for t in asyncio.all_tasks() - before]
        assert time.monotonic() < deadline, f"left running: {left}, {index.subscribers()} feeds"
        await asyncio.sleep(0.02)


def test_a_bad_filter_is_refused_before_any_event(nats_url: str) -> None:
    async def body(records: RecordStore) -> None:
        async with index_of(records) as index, served(index) as url:
            async with httpx.AsyncClient(timeout=DEADLINE) as client:
                reply = await client.get(url, params={"state": "lost"})
            assert reply.status_code == 400
            assert "state must be among" in reply.text
            assert not index.running  # refused before the index was asked

    run(nats_url, body)


def test_an_event_is_its_name_and_one_line_of_json() -> None:
    summary = CallSummary("01777629600000000.c1", "f", "sync", CallState.SUCCEEDED, exit_code=0)
    text = callevents.event(CallChange(summary)).decode()
    assert text.startswith("event: call\ndata: {") and text.endswith("}\n\n")
    assert text.count("\n") == 3
    assert json.loads(text.split("data: ", 1)[1]) == summary.to_json()
    assert callevents.event(CallChange(summary, removed=True)).startswith(b"event: removed\n")
