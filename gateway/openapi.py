"""`GET /openapi.json`: the gateway's OpenAPI description, read once from `openapi.yml`."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI description shipped with the package."""
    text = resources.files(__package__).joinpath("openapi.yml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


async def openapi(request: Request) -> Response:
    return JSONResponse(document())
