"""Read a request body without ever holding more than the limit."""

from __future__ import annotations

from starlette.requests import Request

from gateway.errors import BadRequest, BodyTooLarge


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise BadRequest(f"invalid Content-Length {declared!r}")
        if int(declared) > limit:
            raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)
