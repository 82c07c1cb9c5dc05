"""The secrets API, `/system/secrets`, with OpenFaaS's JSON shapes; values are never sent back."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from faas.secretstore import SecretStore, check_secret_name
from faas.spec import NAMESPACE
from gateway.errors import BadRequest, SecretsOff
from gateway.routes.common import json_body, services


def _store(request: Request) -> SecretStore:
    store = services(request).secrets
    if store is None:
        raise SecretsOff()
    return store


async def list_secrets(request: Request) -> Response:
    names = await _store(request).list()
    return JSONResponse([{"name": name, "namespace": NAMESPACE} for name in names])


async def create_secret(request: Request) -> Response:
    store = _store(request)
    name, value = _secret(await json_body(request))
    await store.create(name, value)
    return Response(status_code=201)


async def update_secret(request: Request) -> Response:
    store = _store(request)
    name, value = _secret(await json_body(request))
    await store.update(name, value)
    return Response(status_code=200)


async def delete_secret(request: Request) -> Response:
    store = _store(request)
    await store.delete(_name(await json_body(request)))
    # 200, not the 204 of OpenFaaS's OpenAPI file: faas-cli's `secret remove` takes 200 or 202.
    return Response(status_code=200)


def _name(body: Any) -> str:
    """The name of an OpenFaaS SecretDescription."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object with 'name'")
    namespace = body.get("namespace") or NAMESPACE
    if namespace != NAMESPACE:
        raise BadRequest(f"unknown namespace {namespace!r}: the only namespace is {NAMESPACE}")
    return check_secret_name(body.get("name"))


def _secret(body: Any) -> tuple[str, bytes]:
    """The name and value of an OpenFaaS Secret: `value` (text) or `rawValue` (base64)."""
    name = _name(body)
    value, raw = body.get("value"), body.get("rawValue")
    if (value is None) == (raw is None):
        raise BadRequest("give exactly one of 'value' (text) and 'rawValue' (base64)")
    if value is not None:
        if not isinstance(value, str):
            raise BadRequest("'value' must be a string")
        return name, value.encode()
    if not isinstance(raw, str):
        raise BadRequest("'rawValue' must be a base64 string")
    try:
        return name, base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("'rawValue' is not valid base64") from None
