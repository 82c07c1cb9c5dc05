"""`/system/calls/events`: changes of calls as server-sent events, with the listing's filters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.callfeed import CallChange
from gateway.callindex import CallIndex
from gateway.callquery import CallQuery
from gateway.routes.common import services

EVENT_STREAM = "text/event-stream"
HEARTBEAT = 15.0  # seconds between comments that keep an idle stream (and its proxies) open
RETRY = 3000  # milliseconds a browser waits before it connects again


async def call_events(request: Request) -> Response:
    """Each call created or changed from now on: `event: call`, its summary as `data`;
    `event: removed` when its record is gone; `event: dropped` ends a stream that fell behind."""
    query = CallQuery.from_params(request.query_params)
    index = services(request).index
    await index.table()  # started now: a failure is an error status, not a stream cut short
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(index, query), media_type=EVENT_STREAM, headers=headers)


async def events(index: CallIndex, query: CallQuery) -> AsyncIterator[bytes]:
    """The stream, until the feed ends; the client going away cancels it, and unsubscribes."""
    async with index.subscribe(query) as changes:
        yield f"retry: {RETRY}\n\n".encode()
        while True:
            try:
                async with asyncio.timeout(HEARTBEAT):
                    change = await anext(changes)
            except TimeoutError:
                yield b": heartbeat\n\n"
                continue
            except StopAsyncIteration:
                break
            yield event(change)
        if changes.dropped:
            yield b"event: dropped\ndata: {}\n\n"


def event(change: CallChange) -> bytes:
    name = "removed" if change.removed else "call"
    return f"event: {name}\ndata: {json.dumps(change.summary.to_json())}\n\n".encode()
