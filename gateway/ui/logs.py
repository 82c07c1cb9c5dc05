"""Logs: a live tail of a function's stderr, or of one call's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from faas import rfc3339
from faas.jobspec import JOB_FUNCTION
from gateway.logstream import LogQuery, log_stream
from gateway.ui.render import show
from gateway.ui.visit import Visit

TAIL = 200  # stored lines shown before following


async def logs_page(request: Request, visit: Visit) -> Response:
    function = request.query_params.get("function", "")
    instance = request.query_params.get("instance", "")
    names = visit.gw.registry.names()
    known = function in names or function == JOB_FUNCTION
    return show(
        request,
        visit,
        "logs.html",
        "Logs",
        functions=names,
        function=function if known else "",
        instance=instance,
        unknown=function if function and not known else "",
    )


async def stream(request: Request, visit: Visit) -> Response:
    """The lines as text, one per line, the stored tail first, then live ones."""
    params = {
        "name": request.query_params.get("function", ""),
        "instance": request.query_params.get("instance", ""),
        "tail": request.query_params.get("tail", str(TAIL)),
        "follow": "true",
    }
    chunks = await log_stream(request, visit.gw, LogQuery.from_params(params))
    return StreamingResponse(_as_text(chunks), media_type="text/plain; charset=utf-8")


async def _as_text(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield "".join(_line(raw) for raw in chunk.splitlines() if raw).encode()


def _line(raw: bytes) -> str:
    entry = json.loads(raw)
    at = rfc3339.parse(entry["timestamp"]).strftime("%H:%M:%S")
    return f"{at} {entry['instance'][:12]} {entry['text']}\n"
