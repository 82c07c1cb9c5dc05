"""Read a request body without ever holding more than the limit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request

from gateway.errors import BadRequest, BodyTooLarge

# A refused body is still read, and dropped, up to this much and this long before the answer:
# a client that sends it all before it reads (urllib, requests) then sees the 413 rather than
# a connection reset (nginx's lingering close).
LINGER_BYTES = 2**30
LINGER_SECONDS = 10.0


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise BadRequest(f"invalid Content-Length {declared!r}")
        if int(declared) > limit:
            await _discard(request, request.stream())
            raise BodyTooLarge(limit)
    body = bytearray()
    chunks = request.stream()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            await _discard(request, chunks)
            raise BodyTooLarge(limit)
    return bytes(body)


async def _discard(request: Request, chunks: AsyncIterator[bytes]) -> None:
    """Read and drop the rest of a refused body, within bounds; none when the client waits
    for `100 Continue` before it sends (curl does for large bodies): it never sends it."""
    if request.headers.get("expect", "").lower() == "100-continue":
        return
    dropped = 0
    with contextlib.suppress(TimeoutError, ClientDisconnect):
        async with asyncio.timeout(LINGER_SECONDS):
            async for chunk in chunks:
                dropped += len(chunk)
                if dropped > LINGER_BYTES:
                    return
