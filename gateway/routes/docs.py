"""`GET /openapi.json`: the gateway's OpenAPI description."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.openapi import document


async def openapi(request: Request) -> Response:
    return JSONResponse(document())
