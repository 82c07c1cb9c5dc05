"""What every route needs: the gateway's services, and a JSON body."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from gateway.errors import BadRequest
from gateway.state import Gateway


def services(request: Request) -> Gateway:
    """The services the app's lifespan built."""
    return request.app.state.gateway  # type: ignore[no-any-return]


async def json_body(request: Request) -> Any:
    """Parse the body as JSON whatever its Content-Type (faas-cli may send none)."""
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from exc
